import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { HoneydueApi, HoneydueApiProps } from './honeydue-api';
import { APNS_KEY_DIRECTORY, APNS_KEY_FILE, ApnsKey } from './shared/apns';
import { HoneydueConfigMap } from './honeydue-config-map';
import { HoneydueIngress } from './honeydue-ingress';
import { HoneydueNamespace } from './honeydue-namespace';
import { MigrateJob, MigrateJobProps } from './migrate-job';
import { NetworkPolicies, networkPoliciesProblems, NetworkPoliciesProps } from './network-policies';
import { NextjsApp, nextjsAppProblems, NextjsAppProps } from './nextjs-app';
import { Redis, RedisProps } from './redis';
import { TraefikConfig, traefikConfigProblems, TraefikConfigProps } from './traefik-config';
import { StackConcern } from './shared/concerns';
import { AppWorkloadProps } from './shared/app-workload';
import { HTTPS_PORT, portsOf } from './shared/network';
import {
  atParentKeys, collectProblems, hostnameProblem, httpUrlProblem, imageRepositoryProblem, imageTagProblem, isRecord, nonEmptyProblem, portProblem,
  ProblemList, PropKeys, registryProblem, throwProblems, ValueProblem,
} from './shared/validation';
import { VmAgent, vmAgentProblems, VmAgentProps } from './vm-agent';
import { Worker, WorkerProps } from './worker';

/** The props a workload section may set; the stack supplies image, namespace and wiring. */
type WorkloadSettings<P extends AppWorkloadProps, K extends keyof P> = Pick<P, K | 'resources' | 'secretKeys'>;

/** Hostnames the stack serves. */
export interface HoneydueDomains {
  /** Marketing page: routed to api (or web when enabled), like `example.com`. */
  readonly apex: string;
  /** The mobile apps' and the admin panel's API host, like `api.example.com`. */
  readonly api: string;
  /** The admin panel's host, like `admin.example.com`. */
  readonly admin: string;
}

/** Repository names of the stack's images under `registry`, each tagged `imageTag`. */
export interface HoneydueImages {
  /** The Go API's image; the migrate Job runs it too (goose is baked in). */
  readonly api: string;
  /** The Asynq worker's image. */
  readonly worker: string;
  /** The admin panel's image. */
  readonly admin: string;
  /** The web app's image; required once `web.enabled`. @default undefined */
  readonly web?: string;
}

/** The Postgres database; the password is the `POSTGRES_PASSWORD` Secret key, never here. */
export interface HoneydueDatabase {
  /**
   * The app's `DB_HOST`: Neon's `-pooler` endpoint (PgBouncer). The migrate
   * Job derives the direct endpoint by stripping `-pooler`.
   */
  readonly host: string;
  /** Postgres port (`DB_PORT`). @default 5432 */
  readonly port?: number;
  /** Database user (`POSTGRES_USER`). */
  readonly user: string;
  /** Database name (`POSTGRES_DB`). */
  readonly name: string;
}

/** Outgoing mail (SMTP with STARTTLS). */
export interface HoneydueEmail {
  /** SMTP host (`EMAIL_HOST`). */
  readonly smtpHost: string;
  /** SMTP port (`EMAIL_PORT`), STARTTLS. @default 587 */
  readonly smtpPort?: number;
}

/** Object storage (Backblaze B2). */
export interface HoneydueStorage {
  /** B2 bucket (`B2_BUCKET_NAME`). */
  readonly bucket: string;
  /** B2 region (`B2_REGION`). */
  readonly region: string;
}

/**
 * vmagent, scraping the api and remote-writing to VictoriaMetrics.
 * `remoteWriteUrl` is required once `tokenSecret` is set (vmagent is emitted then).
 */
export type HoneydueObservability = Partial<Pick<VmAgentProps, 'tokenSecret' | 'remoteWriteUrl'>> &
  Pick<VmAgentProps, 'scrapeInterval' | 'bufferChunks' | 'resources' | 'scrapeJobName'> & {
    /**
     * Off, no vmagent object is emitted. On, vmagent is emitted once
     * `tokenSecret` names the Secret with the ingest token; until then synth
     * prints one line saying it skipped observability.
     * @default true
     */
    readonly enabled?: boolean;
  };

/** The namespace's NetworkPolicies: default deny plus the allows the wiring declares. */
export type HoneydueNetworkPolicy = Pick<NetworkPoliciesProps, 'nodeCidrs'> & {
  /** Default deny plus the allows the wiring declares. @default true */
  readonly enabled?: boolean;
};

/**
 * Props of {@link HoneydueStack}: the typed config file has exactly this shape.
 * Every fact of the organisation (registry, images, names, hosts, database,
 * storage, SMTP, labels) is required or off by default: the stack never fills
 * one in from another product. honeyDue's own values are config/production.yaml.
 */
export interface HoneydueStackProps {
  /** The release: a commit SHA, the tag of every image. Never `latest`. */
  readonly imageTag: string;
  /** Namespace of every app object: each chart's namespace, which the constructs take as theirs. */
  readonly namespace: string;
  /**
   * The environment this stack is, written as the `environmentLabel` label on
   * every object. @default the construct id
   */
  readonly environment?: string;
  /**
   * The label key that carries `environment` on every object's metadata (not
   * on pod templates, so adding it rolls no pod). A prune that selects by it
   * never touches another environment's objects.
   * @default undefined (no environment label)
   */
  readonly environmentLabel?: string;
  /**
   * Labels on every object's metadata (through each chart's `labels`) and on
   * every pod template, like `app.kubernetes.io/part-of`. A construct's own
   * labels (`app.kubernetes.io/name`) win over them.
   * @default {} (only the constructs' own labels)
   */
  readonly labels?: Record<string, string>;
  /** Registry and owner the images live under, like `registry.example.com/team`. */
  readonly registry: string;
  /** Repository name of each image under `registry`. */
  readonly images: HoneydueImages;
  /** docker-registry Secret every app pod pulls with, created by the operator. @default undefined (no pull secret) */
  readonly imagePullSecret?: string;
  /**
   * The Secret with every app secret, created by the operator out of band. The
   * keys read from it: each workload's `secretKeys` (the migrate Job's default
   * `POSTGRES_PASSWORD`) and Redis' optional `REDIS_PASSWORD`.
   */
  readonly secretName: string;
  /** The ConfigMap every app workload reads. */
  readonly configMapName: string;
  /** The Ingress's name. */
  readonly ingressName: string;
  /**
   * Annotation keys the stack writes: `configHash` (the ConfigMap's hash on pod
   * templates), `kubernetesApiAccess` (why vmagent's pods hold an API token).
   * @default the constructs' generic keys, 'checksum/config' and 'kubernetes-api-access'
   */
  readonly annotationKeys?: { readonly configHash?: string; readonly kubernetesApiAccess?: string };
  /**
   * The Secret with the APNs auth key, mounted on api and worker, with
   * `APNS_AUTH_KEY_PATH` in the ConfigMap naming the file.
   * @default undefined (no APNs volume, no APNS_AUTH_KEY_PATH)
   */
  readonly apnsKey?: ApnsKey;
  /** Hostnames the Ingress routes and `NEXT_PUBLIC_API_URL` derives from. */
  readonly domains: HoneydueDomains;
  /** The Postgres the app and the migrate Job reach (ConfigMap `DB_*`). */
  readonly database: HoneydueDatabase;
  /** SMTP server (ConfigMap `EMAIL_HOST`, `EMAIL_PORT`). */
  readonly email: HoneydueEmail;
  /** B2 bucket and region (ConfigMap `B2_*`). */
  readonly storage: HoneydueStorage;
  /**
   * `NEXT_PUBLIC_API_URL` for the Next.js apps.
   * @default 'https://<domains.api>/api'
   */
  readonly publicApiUrl?: string;
  /**
   * More non-secret ConfigMap entries. A key the stack already derives
   * (DB_HOST, ...) is an error: set it through its typed field instead.
   * @default {}
   */
  readonly extraConfig?: Record<string, string>;
  /**
   * The api's `replicas`, `autoscaling`, `probes`, `minAvailable`, `metricsPort`,
   * `metricsPath`, `preStopDelaySeconds`, `terminationGracePeriodSeconds`,
   * `resources` and `secretKeys`, meaning what they mean in
   * {@link HoneydueApiProps}.
   * @default {} (the construct's defaults)
   */
  readonly api?: WorkloadSettings<HoneydueApiProps, 'replicas' | 'autoscaling' | 'probes' | 'minAvailable' | 'metricsPort' | 'metricsPath' | 'preStopDelaySeconds' | 'terminationGracePeriodSeconds'>;
  /**
   * The admin panel's `replicas`, `probes`, `runAsUser`, `cacheSizeLimit`, `resources` and `secretKeys`,
   * as in {@link NextjsAppProps}.
   * @default {} (the construct's defaults)
   */
  readonly admin?: WorkloadSettings<NextjsAppProps, 'replicas' | 'probes' | 'runAsUser' | 'cacheSizeLimit'>;
  /**
   * The optional fourth app: `enabled` (default false) plus the fields `admin`
   * takes, as in {@link NextjsAppProps}. When enabled it takes the apex domain.
   * @default { enabled: false } (no web objects)
   */
  readonly web?: WorkloadSettings<NextjsAppProps, 'replicas' | 'probes' | 'runAsUser' | 'cacheSizeLimit'> & {
    /** @default false */
    readonly enabled?: boolean;
  };
  /**
   * The worker's `replicas`, `leaderElectedScheduler`, `healthProbe`, `replicasAnnotation`,
   * `resources` and `secretKeys`, as in {@link WorkerProps}.
   * @default {} (one replica: see WorkerProps.replicas)
   */
  readonly worker?: WorkloadSettings<WorkerProps, 'replicas' | 'leaderElectedScheduler' | 'healthProbe' | 'replicasAnnotation'>;
  /**
   * The migrate Job's `jobName` (required), `backoffLimit`, `activeDeadlineSeconds`,
   * `migrationsDir`, `resources` and `secretKeys`, as in {@link MigrateJobProps}.
   */
  readonly migrate: WorkloadSettings<MigrateJobProps, 'jobName' | 'backoffLimit' | 'activeDeadlineSeconds' | 'migrationsDir'>;
  /**
   * Redis' `evictionPolicy`, `maxMemory`, `storage`, `storageClassName`,
   * `nodeSelector` and `resources`, as in {@link RedisProps}.
   * @default {} (noeviction, 256mb, 5Gi on local-path, not pinned to a node)
   */
  readonly redis?: Pick<RedisProps, 'evictionPolicy' | 'maxMemory' | 'storage' | 'storageClassName' | 'nodeSelector' | 'resources'>;
  /**
   * The k3s-bundled Traefik, configured through its HelmChartConfig in kube-system:
   * `enabled` plus `webPort`, `websecureEnabled`, `websecurePort`, `maxUnavailable` and
   * `forwardedHeadersTrustedIps`,
   * as in {@link TraefikConfigProps}.
   * @default {} (hostNetwork DaemonSet on :80, rolled one node at a time)
   */
  readonly traefik?: Pick<TraefikConfigProps, 'webPort' | 'websecureEnabled' | 'websecurePort' | 'maxUnavailable' | 'forwardedHeadersTrustedIps'> & {
    /**
     * Whether this stack writes the HelmChartConfig. The cluster has one Traefik
     * and one `kube-system/traefik`; a second environment on the same cluster
     * turns it off, or deploying it would reconfigure (and prune beside) the
     * first one's ingress controller.
     * @default true
     */
    readonly enabled?: boolean;
  };
  /**
   * vmagent scraping the api and remote-writing to VictoriaMetrics, as in
   * {@link HoneydueObservability}; emitted only once `tokenSecret` is set.
   * @default { enabled: true } (no vmagent until tokenSecret names the Secret; synth says so)
   */
  readonly observability?: HoneydueObservability;
  /**
   * Default deny in the namespace plus the allows the wiring declares, as in
   * {@link HoneydueNetworkPolicy}.
   * @default { enabled: true } (with NetworkPoliciesProps' nodeCidrs default)
   */
  readonly networkPolicy?: HoneydueNetworkPolicy;
}

/** Config keys the stack derives from typed fields; `extraConfig` may not set them. */
export const DERIVED_CONFIG_KEYS = [
  'DB_HOST', 'DB_PORT', 'POSTGRES_USER', 'POSTGRES_DB', 'REDIS_URL', 'EMAIL_HOST', 'EMAIL_PORT',
  'B2_BUCKET_NAME', 'B2_REGION', 'APNS_AUTH_KEY_PATH', 'NEXT_PUBLIC_API_URL',
] as const;

/** The web app's uid when the config sets none: the admin panel runs as 1001, and two apps share no uid. */
const WEB_RUN_AS_USER = 1002;

/** What every workload gets from the stack's top-level keys. */
const WIRING_KEYS = {
  namespace: ['namespace'], imagePullSecret: ['imagePullSecret'], secretName: ['secretName'], apnsKey: ['apnsKey'], podLabels: ['labels'],
  // A key a workload reads that the ConfigMap lacks.
  // Stryker disable next-line StringLiteral,ArrayDeclaration: only the migrate Job reports at configMap, a key it reads missing, and the stack's ConfigMap always holds DB_HOST, POSTGRES_USER and POSTGRES_DB
  configMap: ['configMapName'],
};
/** api, worker and migrate dial Postgres and SMTP (and HTTPS, which no key sets). */
const BACKEND_KEYS = { ...WIRING_KEYS, 'externalPorts[0]': ['database', 'port'], 'externalPorts[1]': ['email', 'smtpPort'] };
/** admin and web dial the public API URL. */
const FRONTEND_KEYS = { ...WIRING_KEYS, 'externalPorts[0]': ['publicApiUrl'], apiUrlKey: ['publicApiUrl'] };

/**
 * The stack key behind each child's props, by the child's id: a problem a child
 * finds is reported at the key the operator sets (the api's `replicas` is
 * `api.replicas`, the Ingress's `rules[1].host` is `domains.admin`). The config
 * file has the stack's shape, so these are its keys.
 */
const CHILD_KEYS: Readonly<Record<string, PropKeys>> = {
  namespace: { section: [], renamed: { name: ['namespace'] } },
  redis: { section: ['redis'], renamed: WIRING_KEYS },
  config: {
    // Stryker disable next-line ArrayDeclaration: every prop the ConfigMap judges (name, namespace, data) is renamed below, so no problem lands at the section
    section: [],
    renamed: {
      namespace: ['namespace'], name: ['configMapName'], hashAnnotation: ['annotationKeys', 'configHash'], data: ['extraConfig'],
      'data.DB_HOST': ['database', 'host'], 'data.DB_PORT': ['database', 'port'], 'data.POSTGRES_USER': ['database', 'user'], 'data.POSTGRES_DB': ['database', 'name'],
      'data.EMAIL_HOST': ['email', 'smtpHost'], 'data.EMAIL_PORT': ['email', 'smtpPort'], 'data.B2_BUCKET_NAME': ['storage', 'bucket'], 'data.B2_REGION': ['storage', 'region'],
      'data.NEXT_PUBLIC_API_URL': ['publicApiUrl'],
    },
  },
  api: { section: ['api'], renamed: { ...BACKEND_KEYS, image: ['images', 'api'] } },
  worker: { section: ['worker'], renamed: { ...BACKEND_KEYS, image: ['images', 'worker'] } },
  migrate: { section: ['migrate'], renamed: { ...BACKEND_KEYS, image: ['images', 'api'] } },
  admin: { section: ['admin'], renamed: { ...FRONTEND_KEYS, image: ['images', 'admin'] } },
  web: { section: ['web'], renamed: { ...FRONTEND_KEYS, image: ['images', 'web'] } },
  traefik: { section: ['traefik'] },
  ingress: {
    // Stryker disable next-line ArrayDeclaration: every prop the Ingress judges for the stack (name, namespace, rules[i]) is renamed below, so no problem lands at the section
    section: [],
    renamed: {
      namespace: ['namespace'], name: ['ingressName'],
      'rules[0]': ['domains', 'api'], 'rules[1]': ['domains', 'admin'], 'rules[2]': ['domains', 'apex'],
      'rules[0].host': ['domains', 'api'], 'rules[1].host': ['domains', 'admin'], 'rules[2].host': ['domains', 'apex'],
    },
  },
  vmagent: {
    section: ['observability'],
    renamed: {
      namespace: ['namespace'], podLabels: ['labels'], annotationKeys: ['annotationKeys'],
      // vmagent scrapes the api's metrics endpoint, and its traffic connects to it.
      'targets[0].namespace': ['namespace'], 'targets[0].port': ['api', 'metricsPort'], "connection to 'api'": ['api', 'metricsPort'],
    },
  },
  'network-policy': { section: ['networkPolicy'], renamed: { namespace: ['namespace'] } },
};

/**
 * The stack's own rules: the values it reads itself (tag, registry, images,
 * database, SMTP, storage, public URL, extraConfig) rather than hands to a
 * child, which judges its own. A value of the wrong type is skipped, and a
 * section that is not a mapping is read as empty: the config loader builds the
 * stack on what its schema accepted, and reports both at once.
 */
function stackProblems(props: HoneydueStackProps): ValueProblem[] {
  const stack: Record<string, any> = isRecord(props) ? props : {};
  const section = (key: string): Record<string, any> => (isRecord(stack[key]) ? stack[key] : {});
  const { images, database, email, storage, observability } = {
    images: section('images'), database: section('database'), email: section('email'), storage: section('storage'), observability: section('observability'),
  };
  const own = new ProblemList('HoneydueStack');
  own.string('imageTag', stack.imageTag, imageTagProblem);
  own.string('registry', stack.registry, registryProblem);
  for (const image of ['api', 'worker', 'admin', 'web']) own.string(`images.${image}`, images[image], imageRepositoryProblem);
  own.string('environmentLabel', stack.environmentLabel, nonEmptyProblem);
  own.string('database.host', database.host, hostnameProblem);
  own.number('database.port', database.port, portProblem);
  own.string('database.user', database.user, nonEmptyProblem);
  own.string('database.name', database.name, nonEmptyProblem);
  own.string('email.smtpHost', email.smtpHost, hostnameProblem);
  own.number('email.smtpPort', email.smtpPort, portProblem);
  own.string('storage.bucket', storage.bucket, nonEmptyProblem);
  own.string('storage.region', storage.region, nonEmptyProblem);
  own.string('publicApiUrl', stack.publicApiUrl, httpUrlProblem);
  for (const key of Object.keys(section('extraConfig'))) {
    if ((DERIVED_CONFIG_KEYS as readonly string[]).includes(key)) {
      own.add(`extraConfig.${key}`, `the stack derives '${key}' from a typed field; set that field instead`, stack.extraConfig[key]);
    }
  }
  if (section('web').enabled === true && images.web === undefined) {
    own.add('images.web', "not set while web.enabled is true; name the web app's image repository, or turn web off", undefined, ['web.enabled']);
  }
  if (observability.enabled !== false && observability.tokenSecret && observability.remoteWriteUrl === undefined) {
    own.add(
      'observability.remoteWriteUrl',
      'not set while observability.tokenSecret is; name the remote-write endpoint the token belongs to, or set observability.enabled: false',
      undefined,
      ['observability.tokenSecret', 'observability.enabled'],
    );
  }
  return own.problems;
}

/** Each problem once: every child checks `namespace`, and one bad namespace is one problem. */
function unique(problems: readonly ValueProblem[]): ValueProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}\n${problem.problem}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/**
 * The whole honeyDue stack, one chart per concern so each synthesizes to its
 * own file (`namespace`, `config`, `redis`, `network-policy`, `traefik`,
 * `migrate`, `api`, `worker`, `admin`, `web`, `observability`, `ingress`: the
 * chart ids, in the apply order `STACK_CONCERNS` in constructs/shared/concerns.ts
 * defines, which numbers the files, e.g. `00-namespace.yaml`).
 * Every chart gets `namespace` and the stack's labels, so each construct takes
 * its namespace from its chart. vmagent needs `observability.tokenSecret` and
 * `remoteWriteUrl`; without the token Secret synth says it skipped it.
 *
 * Each child judges its own props as the stack builds it. The stack takes
 * their problems at its own keys, which are the config file's (the api's
 * `replicas` is `api.replicas`, the Ingress's `rules[1].host` is
 * `domains.admin`), builds on so every child is judged, a concern that is off
 * included, and throws them all at once in a {@link ValueProblems}: building
 * the stack is validating its props.
 *
 * @example new HoneydueStack(app, 'production', loadConfig('production'));
 */
export class HoneydueStack extends Construct {
  /** The namespace of every app object. */
  public readonly namespace: string;
  /** The Namespace, with Pod Security Admission labels (`namespace` chart). */
  public readonly namespaceObject: HoneydueNamespace;
  /** The ConfigMap every app workload reads (`config` chart). */
  public readonly config: HoneydueConfigMap;
  /** Redis with its volume (`redis` chart). */
  public readonly redis: Redis;
  /** The goose migration Job the deploy gate waits on (`migrate` chart). */
  public readonly migrate: MigrateJob;
  /** The Go REST API (`api` chart). */
  public readonly api: HoneydueApi;
  /** The Asynq worker (`worker` chart). */
  public readonly worker: Worker;
  /** The admin panel (`admin` chart). */
  public readonly admin: NextjsApp;
  /** The web app (`web` chart); present only when `web.enabled`. */
  public readonly web?: NextjsApp;
  /** Traefik's HelmChartConfig in kube-system (`traefik` chart); present unless `traefik.enabled` is false. */
  public readonly traefik?: TraefikConfig;
  /** The hostnames the Ingress routes. */
  public readonly domains: HoneydueDomains;
  /** The Ingress for Traefik: api, admin and apex hosts (`ingress` chart). */
  public readonly ingress: HoneydueIngress;
  /** Present only when observability is enabled and `observability.tokenSecret` is set. */
  public readonly vmAgent?: VmAgent;
  /** Present only when `networkPolicy.enabled` (the default). */
  public readonly networkPolicies?: NetworkPolicies;
  /** One line per concern the stack skipped on purpose, for synth to print. */
  public readonly notices: readonly string[];

  public constructor(scope: Construct, id: string, props: HoneydueStackProps) {
    super(scope, id);
    const found = stackProblems(props);
    // The image is registry/repository:tag, each part judged above: a child judging the whole would say it again.
    const partsRefused = found.some((p) => ['imageTag', 'registry'].includes(p.path) || p.path.startsWith('images.'));
    const judge = (child: string, problems: readonly ValueProblem[]) => {
      const keys = CHILD_KEYS[child];
      if (keys === undefined) throw new Error(`HoneydueStack: child '${child}' has no entry in CHILD_KEYS, so its problems have no config key; add one`);
      for (const problem of problems) if (!(partsRefused && problem.path === 'image')) found.push(atParentKeys('HoneydueStack', problem, keys));
    };
    // Each child hands its problems here as it is built, and is built all the same: they are thrown together at the end.
    const stopCollecting = collectProblems(this, (child, problems) => judge(child.node.id, problems));
    try {
      const { namespace, registry, domains, images } = props;
      const database: Required<HoneydueDatabase> = { ...props.database, port: props.database.port ?? 5432 };
      const email: Required<HoneydueEmail> = { ...props.email, smtpPort: props.email.smtpPort ?? 587 };
      const storage = props.storage;
      const publicApiUrl = props.publicApiUrl ?? `https://${domains.api}/api`;
      const extraConfig = props.extraConfig ?? {};
      const stackLabels = props.labels ?? {};
      const environment = props.environment ?? id;
      const { enabled: observabilityEnabled = true, tokenSecret, remoteWriteUrl, ...vmAgentSettings } = props.observability ?? {};
      const { enabled: networkPolicyEnabled = true, ...networkPolicySettings } = props.networkPolicy ?? {};

      const image = (repository: string) => `${registry}/${repository}:${props.imageTag}`;
      const labels = { ...stackLabels, ...(props.environmentLabel ? { [props.environmentLabel]: environment } : {}) };
      // The Namespace is cluster-scoped and the HelmChartConfig lives in kube-system: their charts get no namespace.
      const chart = (name: StackConcern) => {
        const inNamespace = name !== 'namespace' && name !== 'traefik';
        const made = new Chart(this, name, { disableResourceNameHashes: true, labels, namespace: inNamespace ? namespace : undefined });
        // On a fresh cluster an object applied before its Namespace is refused; cdk8s then writes this chart after it.
        if (inNamespace) made.addDependency(this.namespaceObject);
        return made;
      };
      const shared = { imagePullSecret: props.imagePullSecret, secretName: props.secretName, podLabels: stackLabels };

      this.namespace = namespace;
      this.domains = domains;
      this.namespaceObject = new HoneydueNamespace(chart('namespace'), 'namespace', { name: namespace });
      this.redis = new Redis(chart('redis'), 'redis', { ...props.redis, secretName: shared.secretName, podLabels: stackLabels });
      this.config = new HoneydueConfigMap(chart('config'), 'config', {
        name: props.configMapName,
        hashAnnotation: props.annotationKeys?.configHash,
        data: {
          DB_HOST: database.host,
          DB_PORT: String(database.port),
          POSTGRES_USER: database.user,
          POSTGRES_DB: database.name,
          REDIS_URL: `redis://${this.redis.name}:${this.redis.port}/0`,
          EMAIL_HOST: email.smtpHost,
          EMAIL_PORT: String(email.smtpPort),
          B2_BUCKET_NAME: storage.bucket,
          B2_REGION: storage.region,
          ...(props.apnsKey ? { APNS_AUTH_KEY_PATH: `${APNS_KEY_DIRECTORY}/${APNS_KEY_FILE}` } : {}),
          NEXT_PUBLIC_API_URL: publicApiUrl,
          ...extraConfig,
        },
      });
      const wiring = { ...shared, configMap: this.config };
      // api, worker and migrate: Redis, Postgres, SMTP, and HTTPS (B2, APNs). The NetworkPolicies are derived from this.
      const backend = { ...wiring, redis: this.redis, externalPorts: [database.port, email.smtpPort, HTTPS_PORT] };
      const apnsKey = props.apnsKey;
      // The Next.js servers render against the public API URL, through Cloudflare.
      const frontend = { ...wiring, externalPorts: portsOf(publicApiUrl) };
      // Built in the order NetworkPolicies lists them (it finds them in the tree): api, worker, migrate, admin, web, vmagent.
      this.api = new HoneydueApi(chart('api'), 'api', { ...props.api, ...backend, apnsKey, image: image(images.api) });
      this.worker = new Worker(chart('worker'), 'worker', { ...props.worker, ...backend, apnsKey, image: image(images.worker) });
      this.migrate = new MigrateJob(chart('migrate'), 'migrate', { ...props.migrate, ...backend, image: image(images.api) });
      this.admin = new NextjsApp(chart('admin'), 'admin', { ...props.admin, ...frontend, name: 'admin', image: image(images.admin) });
      // A concern that is off (web, traefik, vmagent, the NetworkPolicies) is judged all the same: it is read the day it is turned on.
      const { enabled: webEnabled = false, ...webSettings } = props.web ?? {};
      // Stryker disable next-line ConditionalExpression: with images.web unset a web that is on is refused at images.web (and its image is then not judged), and a web that is off is judged by its settings alone
      const webImage = images.web === undefined ? undefined : image(images.web);
      const web = { runAsUser: WEB_RUN_AS_USER, ...webSettings, ...frontend, name: 'web', image: webImage };
      if (webEnabled && webImage !== undefined) this.web = new NextjsApp(chart('web'), 'web', { ...web, image: webImage });
      else judge('web', nextjsAppProblems(web as NextjsAppProps, namespace));
      const { enabled: traefikEnabled = true, ...traefik } = props.traefik ?? {};
      if (traefikEnabled) this.traefik = new TraefikConfig(chart('traefik'), 'traefik', traefik);
      else judge('traefik', traefikConfigProblems(traefik));

      this.ingress = new HoneydueIngress(chart('ingress'), 'ingress', {
        name: props.ingressName,
        rules: [
          { host: domains.api, backend: this.api },
          { host: domains.admin, backend: this.admin },
          // The api serves the marketing page at `/`; web takes the apex once it runs.
          { host: domains.apex, backend: this.web ?? this.api },
        ],
      });

      const notices: string[] = [];
      const vmAgent = { ...vmAgentSettings, annotationKeys: props.annotationKeys, tokenSecret, remoteWriteUrl, podLabels: stackLabels, targets: [this.api.metrics] };
      if (!observabilityEnabled) {
        notices.push('observability: skipped, observability.enabled is false (no vmagent objects emitted)');
      } else if (!tokenSecret) {
        notices.push('observability: skipped, no observability.tokenSecret configured (create the ingest-token Secret and name it there; see docs/stack.md, Observability)');
      } else if (remoteWriteUrl !== undefined) {
        this.vmAgent = new VmAgent(chart('observability'), 'vmagent', { ...vmAgent, tokenSecret, remoteWriteUrl });
      }
      // Without a remoteWriteUrl the stack's own rule refuses the section; vmagent's settings are judged all the same.
      if (this.vmAgent === undefined) judge('vmagent', vmAgentProblems(vmAgent as VmAgentProps, namespace));

      const networkPolicies = { ...networkPolicySettings, ingressRoutes: this.ingress.routes };
      if (networkPolicyEnabled) {
        // Built last: it covers every workload built before it in this stack's namespace.
        this.networkPolicies = new NetworkPolicies(chart('network-policy'), 'network-policy', networkPolicies);
      } else {
        judge('network-policy', networkPoliciesProblems(networkPolicies, namespace));
        notices.push('network-policy: skipped, networkPolicy.enabled is false (every pod accepts and opens any connection)');
      }
      this.notices = notices;
    } finally {
      // A construct added under the stack later throws its own problems, even after this build threw.
      stopCollecting();
    }
    throwProblems(unique(found));
  }
}
