import { k8s } from './k8s';
import { Construct } from 'constructs';
import { namespaceOf, objectLabels, selectorLabels } from './labels';
import { ServiceEndpoint } from './network';
import { HardenedPodOptions, MountedVolume, WorkloadPodSpec } from './pod-security';
import { resolveResources, ResourceOverrides, Resources, resourcesProblems } from './resources';
import { dnsLabelProblem, envNameProblem, imageProblem, isRecord, portProblem, ProblemList, ValueProblem } from './validation';
import { WorkloadPodDefinition } from '../workload';

/**
 * The pod-template annotation holding a hash of the ConfigMap's content.
 * Pods do not reload env on a ConfigMap change; a changed hash changes the
 * template, so a reviewed config change rolls the pods on apply. This is the
 * default key (Helm charts' convention); a product names its own with
 * `hashAnnotation` on its ConfigMap.
 */
export const CONFIG_HASH_ANNOTATION = 'checksum/config';

/** A key of the app Secret that becomes an env var of the same name. */
export interface SecretKeyRef {
  /** The key in the Secret, and the env var's name. */
  readonly key: string;
  /** When true the pod starts without it (`REDIS_PASSWORD` while Redis has no auth). @default false */
  readonly optional?: boolean;
}

/** A secret key by name (required), or with options. */
export type SecretKey = string | SecretKeyRef;

/** The ConfigMap a workload reads; `HoneydueConfigMap` is one. */
export interface ConfigMapSource {
  /** The ConfigMap's name in the workload's namespace. */
  readonly name: string;
  /**
   * Hash of the content, stamped on pod templates so a config change rolls the pods.
   * @default undefined (no stamp: pods keep the old env until restarted)
   */
  readonly contentHash?: string;
  /** The pod-template annotation key the hash is stamped under. @default {@link CONFIG_HASH_ANNOTATION} */
  readonly hashAnnotation?: string;
  /**
   * The entries: a workload that reads a key of the map by name (`NextjsApp`'s
   * `apiUrlKey`, the migrate script's `DB_HOST`) refuses to build when the key is
   * not here. `HoneydueConfigMap` has them.
   * @default undefined (entries unknown: nothing is checked; each construct's props name the keys it reads)
   */
  readonly data?: Readonly<Record<string, string>>;
}

/**
 * The `keys` a workload reads from `configMap` that it lacks, in the order
 * given; none when its entries are unknown (only a name was passed).
 */
export function missingConfigKeys(configMap: unknown, keys: readonly string[]): string[] {
  if (!isRecord(configMap) || !isRecord(configMap.data)) return [];
  const data = configMap.data;
  return keys.filter((key) => !Object.prototype.hasOwnProperty.call(data, key));
}

/** Props every workload construct shares. */
export interface WorkloadProps {
  /**
   * Namespace of the workload's objects.
   * @default the enclosing Chart's namespace (an error when neither is set)
   */
  readonly namespace?: string;
  /**
   * Labels the pod templates carry beside `app.kubernetes.io/name` and
   * `version`: the stack's own (part-of, managed-by). The Chart's `labels`
   * reach every object's metadata but not the pod templates inside them.
   * @default {} (no labels beyond name and version)
   */
  readonly podLabels?: Record<string, string>;
}

/** Props every app workload (api, admin, web, worker, migrate Job) shares. */
export interface AppWorkloadProps extends WorkloadProps {
  /**
   * Full image reference with a pinned tag, like
   * `registry.example.com/team/api:237c6b8`. The tag becomes the
   * pod's `app.kubernetes.io/version` label.
   */
  readonly image: string;
  /**
   * docker-registry Secret used to pull the image, for a private registry.
   * @default undefined (no pull secret: the image is public or the nodes can pull it)
   */
  readonly imagePullSecret?: string;
  /**
   * The ConfigMap read with envFrom. Pass the `HoneydueConfigMap` construct so
   * its content hash is stamped on the pod template.
   */
  readonly configMap: ConfigMapSource;
  /** The Secret holding the keys in `secretKeys`; required once any key is listed. @default undefined (no Secret read) */
  readonly secretName?: string;
  /** Keys of `secretName` wired one by one as env vars (names only; values never appear). @default per workload: none, the migrate Job's POSTGRES_PASSWORD */
  readonly secretKeys?: readonly SecretKey[];
  /** Overrides of the workload's requests and limits. @default per workload (the named presets in shared/resources.ts) */
  readonly resources?: ResourceOverrides;
  /**
   * TCP ports the workload dials outside the cluster (Postgres 5432, SMTP 587,
   * HTTPS 443). Read by `NetworkPolicies`, which allows egress to exactly these.
   * @default [] (no egress beyond DNS and wired in-cluster services once policies are on)
   */
  readonly externalPorts?: readonly number[];
}

/** What a workload construct adds to the shared app wiring. */
export interface AppPodDefinition {
  /** Construct class name, for error messages. */
  readonly owner: string;
  readonly name: string;
  readonly runAsUser: number;
  readonly defaultSecretKeys: readonly SecretKey[];
  readonly defaultResources: Resources;
  readonly container?: Omit<HardenedPodOptions['container'], 'image' | 'resources' | 'envFrom'>;
  readonly volumes?: MountedVolume[];
  readonly podSpec?: WorkloadPodSpec;
  readonly annotations?: Record<string, string>;
  /** In-cluster endpoints the pods connect to (the Redis prop); `externalPorts` comes from the props. */
  readonly connectsTo?: readonly (ServiceEndpoint | undefined)[];
}

/**
 * The pods of an app workload, for {@link Workload.buildPods}: the image, pull
 * secret, ConfigMap, Secret keys, resources and traffic every app workload
 * shares, written once. Creates nothing; the workload has judged the props with
 * {@link appWorkloadProblems} before it builds anything.
 */
export function appPodDefinition(scope: Construct, props: AppWorkloadProps, definition: AppPodDefinition): WorkloadPodDefinition {
  const { owner, name } = definition;
  const namespace = namespaceOf(scope, owner, props.namespace);
  const { imagePullSecret, configMap, secretName } = props;
  const secretKeys = (props.secretKeys ?? definition.defaultSecretKeys).map(toSecretKeyRef);
  const resources = resolveResources(definition.defaultResources, props.resources);

  const secretEnv: k8s.EnvVar[] = secretKeys.map((ref) => ({
    name: ref.key,
    valueFrom: { secretKeyRef: { name: secretName!, key: ref.key, optional: ref.optional || undefined } },
  }));
  const env = [...(definition.container?.env ?? []), ...secretEnv];

  return {
    owner,
    name,
    namespace,
    image: props.image,
    runAsUser: definition.runAsUser,
    imagePullSecret,
    podLabels: props.podLabels,
    annotations: {
      ...definition.annotations,
      ...(configMap.contentHash ? { [configMap.hashAnnotation ?? CONFIG_HASH_ANNOTATION]: configMap.contentHash } : {}),
    },
    resources,
    podSpec: definition.podSpec,
    volumes: definition.volumes,
    container: {
      ...definition.container,
      envFrom: [{ configMapRef: { name: configMap.name } }],
      env: env.length > 0 ? env : undefined,
    },
    connectsTo: definition.connectsTo,
    externalPorts: props.externalPorts,
  };
}

/**
 * The problems of the props every app workload shares: image, names, pull
 * secret, Secret keys (each a valid env var name, listed once, with the Secret
 * named), resources and external ports. `name` and `namespace` are the
 * resolved ones (a default, the Chart's namespace).
 */
export function appWorkloadProblems(
  owner: string,
  props: Partial<AppWorkloadProps>,
  resolved: { readonly name: unknown; readonly namespace: unknown; readonly defaultSecretKeys: readonly SecretKey[] },
): ValueProblem[] {
  const problems = new ProblemList(owner);
  problems.string('image', props.image, imageProblem);
  problems.string('namespace', resolved.namespace, dnsLabelProblem);
  problems.string('name', resolved.name, dnsLabelProblem);
  problems.string('imagePullSecret', props.imagePullSecret, dnsLabelProblem);
  problems.string('secretName', props.secretName, dnsLabelProblem);
  const listed: unknown = props.secretKeys ?? resolved.defaultSecretKeys;
  const keys = Array.isArray(listed) ? listed.map((key: unknown) => (isRecord(key) ? key.key : key)) : [];
  keys.forEach((key, i) => {
    problems.string(`secretKeys[${i}]`, key, envNameProblem);
    if (typeof key === 'string' && keys.indexOf(key) !== i) problems.add(`secretKeys[${i}]`, `'${key}' is listed twice; list each key once`, key);
  });
  if (keys.length > 0 && props.secretName === undefined) {
    problems.add('secretName', `not set, but secretKeys lists ${keys.join(', ')}; name the Secret that holds them, or list no keys`);
  }
  problems.addAll(resourcesProblems(owner, props.resources));
  const ports: unknown = props.externalPorts;
  if (Array.isArray(ports)) ports.forEach((port, i) => problems.number(`externalPorts[${i}]`, port, portProblem));
  return problems.problems;
}

/** A {@link SecretKey} in its object form. */
export function toSecretKeyRef(key: SecretKey): SecretKeyRef {
  return typeof key === 'string' ? { key } : key;
}

/** How a Deployment replaces its pods. */
export type RolloutStrategy = k8s.DeploymentStrategy;

/**
 * Zero-downtime rollout: start one new pod before removing any old one.
 * Depends on an honest readiness probe.
 */
export const SURGE_ONE_UNAVAILABLE_ZERO: RolloutStrategy = {
  type: 'RollingUpdate',
  rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) },
};

/** Stop the old pod before starting the new one (singletons, ReadWriteOnce volumes). */
export const RECREATE: RolloutStrategy = { type: 'Recreate' };

/** A Deployment selecting by `app.kubernetes.io/name` only, as the live objects do. */
export function workloadDeployment(
  scope: Construct,
  options: {
    readonly name: string;
    readonly namespace: string;
    /** Undefined leaves replicas to an autoscaler. */
    readonly replicas: number | undefined;
    readonly strategy: RolloutStrategy;
    readonly template: k8s.PodTemplateSpec;
    readonly annotations?: Record<string, string>;
  },
): k8s.KubeDeployment {
  return new k8s.KubeDeployment(scope, 'Resource', {
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels: objectLabels(options.name),
      annotations: options.annotations,
    },
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: selectorLabels(options.name) },
      strategy: options.strategy,
      template: options.template,
    },
  });
}

/** A ClusterIP Service on one TCP port, selecting the workload by name. */
export function clusterIpService(scope: Construct, name: string, namespace: string, port: number, portName = 'http'): k8s.KubeService {
  return new k8s.KubeService(scope, 'Service', {
    metadata: { name, namespace, labels: objectLabels(name) },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(name),
      ports: [{ name: portName, port, targetPort: k8s.IntOrString.fromNumber(port), protocol: 'TCP' }],
    },
  });
}
