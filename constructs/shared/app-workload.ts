import { k8s } from './k8s';
import { Construct } from 'constructs';
import { namespaceOf, objectLabels, selectorLabels } from './labels';
import { hardenedPodTemplate, HardenedPodOptions, MountedVolume, workloadServiceAccount, WorkloadPodSpec } from './pod-security';
import { resolveResources, ResourceOverrides, Resources, toResourceRequirements } from './resources';
import { check, dnsLabelProblem, envNameProblem, imageProblem, imageTagOf } from './validation';

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
}

/** The resolved shared values, readable by the construct after the call. */
export interface AppPod {
  readonly namespace: string;
  readonly version: string;
  readonly template: k8s.PodTemplateSpec;
  readonly serviceAccount: k8s.KubeServiceAccount;
}

/**
 * Builds the ServiceAccount and pod template of an app workload: the image,
 * pull secret, ConfigMap, Secret keys, resources and hardening every app
 * workload shares, written once. Validates the shared props.
 */
export function appPod(scope: Construct, props: AppWorkloadProps, definition: AppPodDefinition): AppPod {
  const { owner, name } = definition;
  const namespace = namespaceOf(scope, owner, props.namespace);
  const { imagePullSecret, configMap, secretName } = props;
  const secretKeys = (props.secretKeys ?? definition.defaultSecretKeys).map(toSecretKeyRef);
  const resources = resolveResources(owner, definition.defaultResources, props.resources);

  check(owner, 'image', imageProblem(props.image));
  check(owner, 'namespace', dnsLabelProblem(namespace));
  check(owner, 'name', dnsLabelProblem(name));
  secretKeys.forEach((ref, i) => check(owner, `secretKeys[${i}]`, envNameProblem(ref.key)));
  const duplicate = secretKeys.find((ref, i) => secretKeys.findIndex((other) => other.key === ref.key) !== i);
  if (duplicate) {
    throw new Error(`${owner}: secretKeys: '${duplicate.key}' is listed twice; list each key once`);
  }

  if (secretKeys.length > 0 && secretName === undefined) {
    throw new Error(`${owner}: secretName: not set, but secretKeys lists ${secretKeys.map((ref) => ref.key).join(', ')}; name the Secret that holds them, or list no keys`);
  }

  const version = imageTagOf(props.image)!;
  const serviceAccount = workloadServiceAccount(scope, name, namespace);
  const secretEnv: k8s.EnvVar[] = secretKeys.map((ref) => ({
    name: ref.key,
    valueFrom: { secretKeyRef: { name: secretName!, key: ref.key, optional: ref.optional || undefined } },
  }));
  const definitionEnv = definition.container?.env ?? [];

  const template = hardenedPodTemplate({
    name,
    version,
    runAsUser: definition.runAsUser,
    serviceAccountName: name,
    imagePullSecrets: imagePullSecret === undefined ? undefined : [imagePullSecret],
    labels: props.podLabels,
    annotations: {
      ...definition.annotations,
      ...(configMap.contentHash ? { [configMap.hashAnnotation ?? CONFIG_HASH_ANNOTATION]: configMap.contentHash } : {}),
    },
    podSpec: definition.podSpec,
    volumes: definition.volumes,
    container: {
      ...definition.container,
      image: props.image,
      envFrom: [{ configMapRef: { name: configMap.name } }],
      env: [...definitionEnv, ...secretEnv].length > 0 ? [...definitionEnv, ...secretEnv] : undefined,
      resources: toResourceRequirements(resources),
    },
  });
  return { namespace, version, template, serviceAccount };
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
