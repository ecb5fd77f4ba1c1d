import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { HoneydueApi, HoneydueApiProps } from './honeydue-api';
import { APNS_KEY_DIRECTORY, APNS_KEY_FILE } from './shared/apns';
import { HoneydueConfigMap } from './honeydue-config-map';
import { HoneydueIngress } from './honeydue-ingress';
import { HoneydueNamespace } from './honeydue-namespace';
import { MigrateJob, MigrateJobProps } from './migrate-job';
import { NetworkPolicies, NetworkPoliciesProps } from './network-policies';
import { NextjsApp, NextjsAppProps } from './nextjs-app';
import { Redis, RedisProps } from './redis';
import { TraefikConfig, TraefikConfigProps } from './traefik-config';
import { StackConcern } from './shared/concerns';
import { AppWorkloadProps, DEFAULT_IMAGE_PULL_SECRET, DEFAULT_NAMESPACE, DEFAULT_SECRET_NAME } from './shared/app-workload';
import { HTTPS_PORT, portOf } from './shared/network';
import { LABEL_ENVIRONMENT } from './shared/labels';
import { check, dnsLabelProblem, hostnameProblem, imageTagProblem, portProblem } from './shared/validation';
import { VmAgent, VmAgentProps } from './vm-agent';
import { Worker, WorkerProps } from './worker';

/** The props a workload section may set; the stack supplies image, namespace and wiring. */
type WorkloadSettings<P extends AppWorkloadProps, K extends keyof P> = Pick<P, K | 'resources' | 'secretKeys'>;

/** Hostnames the stack serves. */
export interface HoneydueDomains {
  /** Marketing page: routed to api (or web when enabled). @default 'myhoneydue.com' */
  readonly apex?: string;
  /** The mobile apps' and the admin panel's API host. @default 'api.myhoneydue.com' */
  readonly api?: string;
  /** The admin panel's host. @default 'admin.myhoneydue.com' */
  readonly admin?: string;
}

/** The Postgres database; the password is the `POSTGRES_PASSWORD` Secret key, never here. */
export interface HoneydueDatabase {
  /**
   * The app's `DB_HOST`: Neon's `-pooler` endpoint (PgBouncer). The migrate
   * Job derives the direct endpoint by stripping `-pooler`.
   * @default 'ep-floral-truth-amttbc5a-pooler.c-5.us-east-1.aws.neon.tech'
   */
  readonly host?: string;
  /** Postgres port (`DB_PORT`). @default 5432 */
  readonly port?: number;
  /** Database user (`POSTGRES_USER`). @default 'neondb_owner' */
  readonly user?: string;
  /** Database name (`POSTGRES_DB`). @default 'honeyDue' */
  readonly name?: string;
}

/** Outgoing mail (Fastmail, STARTTLS). */
export interface HoneydueEmail {
  /** SMTP host (`EMAIL_HOST`). @default 'smtp.fastmail.com' */
  readonly smtpHost?: string;
  /** SMTP port (`EMAIL_PORT`), STARTTLS. @default 587 */
  readonly smtpPort?: number;
}

/** Object storage (Backblaze B2). */
export interface HoneydueStorage {
  /** B2 bucket (`B2_BUCKET_NAME`). @default 'honeyDueProd' */
  readonly bucket?: string;
  /** B2 region (`B2_REGION`). @default 'us-east-005' */
  readonly region?: string;
}

/** vmagent, scraping the api and remote-writing to VictoriaMetrics (SPEC "Observability"). */
export type HoneydueObservability = Partial<Pick<VmAgentProps, 'tokenSecret'>> &
  Pick<VmAgentProps, 'remoteWriteUrl' | 'scrapeInterval' | 'bufferChunks' | 'resources'> & {
    /**
     * Off, no vmagent object is emitted. On, vmagent is emitted once
     * `tokenSecret` names the Secret with the ingest token; until then synth
     * prints one line saying it skipped observability.
     * @default true
     */
    readonly enabled?: boolean;
  };

/** The namespace's NetworkPolicies (SPEC "Not yet in production"). */
export type HoneydueNetworkPolicy = Pick<NetworkPoliciesProps, 'nodeCidrs'> & {
  /** Default deny plus the allows the wiring declares. @default true */
  readonly enabled?: boolean;
};

/** Props of {@link HoneydueStack}: the typed config file has exactly this shape. */
export interface HoneydueStackProps {
  /** The release: a commit SHA, the tag of every honeyDue image. Never `latest`. */
  readonly imageTag: string;
  /** Namespace of every app object. @default 'honeydue' */
  readonly namespace?: string;
  /**
   * The environment this stack is, stamped on every object as the
   * `honeydue.io/environment` label; the deploy's prune selects by it, so one
   * environment's prune never touches another's objects. @default the construct id
   */
  readonly environment?: string;
  /** Registry and owner the `honeydue-<svc>` images live under. @default 'gitea.treytartt.com/admin' */
  readonly registry?: string;
  /** docker-registry Secret every honeyDue pod pulls with, created by the operator. @default 'gitea-credentials' */
  readonly imagePullSecret?: string;
  /** The Secret with every app secret, created by the operator out of band. @default 'honeydue-secrets' */
  readonly secretName?: string;
  /** Hostnames the Ingress routes and `NEXT_PUBLIC_API_URL` derives from. @default production's myhoneydue.com names */
  readonly domains?: HoneydueDomains;
  /** The Postgres the app and the migrate Job reach (ConfigMap `DB_*`). @default production's Neon database */
  readonly database?: HoneydueDatabase;
  /** SMTP server (ConfigMap `EMAIL_HOST`, `EMAIL_PORT`). @default Fastmail on 587 */
  readonly email?: HoneydueEmail;
  /** B2 bucket and region (ConfigMap `B2_*`). @default production's bucket */
  readonly storage?: HoneydueStorage;
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
   * @default {} (SPEC's api)
   */
  readonly api?: WorkloadSettings<HoneydueApiProps, 'replicas' | 'autoscaling' | 'probes' | 'minAvailable' | 'metricsPort' | 'metricsPath' | 'preStopDelaySeconds' | 'terminationGracePeriodSeconds'>;
  /**
   * The admin panel's `replicas`, `probes`, `runAsUser`, `cacheSizeLimit`, `resources` and `secretKeys`,
   * as in {@link NextjsAppProps}.
   * @default {} (SPEC's admin)
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
   * The worker's `replicas`, `leaderElectedScheduler`, `healthProbe`, `resources` and `secretKeys`,
   * as in {@link WorkerProps}.
   * @default {} (one replica: see WorkerProps.replicas)
   */
  readonly worker?: WorkloadSettings<WorkerProps, 'replicas' | 'leaderElectedScheduler' | 'healthProbe'>;
  /**
   * The migrate Job's `backoffLimit`, `activeDeadlineSeconds`, `migrationsDir`,
   * `resources` and `secretKeys`, as in {@link MigrateJobProps}.
   * @default {} (backoffLimit 2, deadline 540 s)
   */
  readonly migrate?: WorkloadSettings<MigrateJobProps, 'backoffLimit' | 'activeDeadlineSeconds' | 'migrationsDir'>;
  /**
   * Redis' `evictionPolicy`, `maxMemory`, `storage`, `storageClassName`,
   * `nodeSelector` and `resources`, as in {@link RedisProps}.
   * @default {} (noeviction, 256mb, 5Gi on local-path)
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

/**
 * The whole honeyDue stack, one chart per concern so each synthesizes to its
 * own file (`namespace`, `config`, `redis`, `network-policy`, `traefik`,
 * `migrate`, `api`, `worker`, `admin`, `web`, `observability`, `ingress`: the
 * chart ids, in the apply order `STACK_CONCERNS` in constructs/shared/concerns.ts
 * defines, which numbers the files, e.g. `00-namespace.yaml`).
 * With only `imageTag` set it is production, all but vmagent: that needs
 * `observability.tokenSecret` (the ingest token has no default Secret).
 *
 * @example new HoneydueStack(app, 'production', { imageTag: '237c6b8' });
 */
export class HoneydueStack extends Construct {
  /** The Namespace, with Pod Security Admission labels (`namespace` chart). */
  public readonly namespace: HoneydueNamespace;
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
  /** The hostnames in force, defaults filled in. */
  public readonly domains: Required<HoneydueDomains>;
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
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const registry = props.registry ?? 'gitea.treytartt.com/admin';
    const domains: Required<HoneydueDomains> = {
      apex: props.domains?.apex ?? 'myhoneydue.com',
      api: props.domains?.api ?? 'api.myhoneydue.com',
      admin: props.domains?.admin ?? 'admin.myhoneydue.com',
    };
    const database: Required<HoneydueDatabase> = {
      host: props.database?.host ?? 'ep-floral-truth-amttbc5a-pooler.c-5.us-east-1.aws.neon.tech',
      port: props.database?.port ?? 5432,
      user: props.database?.user ?? 'neondb_owner',
      name: props.database?.name ?? 'honeyDue',
    };
    const email: Required<HoneydueEmail> = {
      smtpHost: props.email?.smtpHost ?? 'smtp.fastmail.com',
      smtpPort: props.email?.smtpPort ?? 587,
    };
    const storage: Required<HoneydueStorage> = {
      bucket: props.storage?.bucket ?? 'honeyDueProd',
      region: props.storage?.region ?? 'us-east-005',
    };
    const publicApiUrl = props.publicApiUrl ?? `https://${domains.api}/api`;
    const extraConfig = props.extraConfig ?? {};
    const webEnabled = props.web?.enabled ?? false;
    const { enabled: observabilityEnabled = true, tokenSecret, ...vmAgentSettings } = props.observability ?? {};
    const { enabled: networkPolicyEnabled = true, ...networkPolicySettings } = props.networkPolicy ?? {};

    const owner = 'HoneydueStack';
    check(owner, 'imageTag', imageTagProblem(props.imageTag));
    check(owner, 'namespace', dnsLabelProblem(namespace));
    for (const [field, host] of Object.entries(domains)) {
      check(owner, `domains.${field}`, hostnameProblem(host));
    }
    check(owner, 'database.host', hostnameProblem(database.host));
    check(owner, 'database.port', portProblem(database.port));
    check(owner, 'email.smtpHost', hostnameProblem(email.smtpHost));
    check(owner, 'email.smtpPort', portProblem(email.smtpPort));
    for (const key of Object.keys(extraConfig)) {
      if ((DERIVED_CONFIG_KEYS as readonly string[]).includes(key)) {
        throw new Error(`${owner}: extraConfig.${key}: the stack derives '${key}' from a typed field; set that field instead`);
      }
    }

    const image = (service: string) => `${registry}/honeydue-${service}:${props.imageTag}`;
    const labels = { [LABEL_ENVIRONMENT]: props.environment ?? id };
    const chart = (name: StackConcern) => new Chart(this, name, { disableResourceNameHashes: true, labels });
    const shared = {
      namespace,
      imagePullSecret: props.imagePullSecret ?? DEFAULT_IMAGE_PULL_SECRET,
      secretName: props.secretName ?? DEFAULT_SECRET_NAME,
    };

    this.domains = domains;
    this.namespace = new HoneydueNamespace(chart('namespace'), 'namespace', { name: namespace });
    this.redis = new Redis(chart('redis'), 'redis', { ...props.redis, namespace, secretName: shared.secretName });
    this.config = new HoneydueConfigMap(chart('config'), 'config', {
      namespace,
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
        APNS_AUTH_KEY_PATH: `${APNS_KEY_DIRECTORY}/${APNS_KEY_FILE}`,
        NEXT_PUBLIC_API_URL: publicApiUrl,
        ...extraConfig,
      },
    });
    const wiring = { ...shared, configMap: this.config };
    // api, worker and migrate: Redis, Postgres, SMTP, and HTTPS (B2, APNs). The NetworkPolicies are derived from this.
    const backend = { ...wiring, redis: this.redis, externalPorts: [database.port, email.smtpPort, HTTPS_PORT] };
    // The Next.js servers render against the public API URL, through Cloudflare.
    const frontend = { ...wiring, externalPorts: [portOf(publicApiUrl)] };
    this.migrate = new MigrateJob(chart('migrate'), 'migrate', { ...props.migrate, ...backend, image: image('api') });
    this.api = new HoneydueApi(chart('api'), 'api', { ...props.api, ...backend, image: image('api') });
    this.worker = new Worker(chart('worker'), 'worker', { ...props.worker, ...backend, image: image('worker') });
    this.admin = new NextjsApp(chart('admin'), 'admin', { ...props.admin, ...frontend, name: 'admin', image: image('admin') });
    if (webEnabled) {
      const { enabled: _enabled, ...web } = props.web ?? {};
      this.web = new NextjsApp(chart('web'), 'web', { runAsUser: 1002, ...web, ...frontend, name: 'web', image: image('web') });
    }
    if (props.traefik?.enabled ?? true) {
      const { enabled: _enabled, ...traefik } = props.traefik ?? {};
      this.traefik = new TraefikConfig(chart('traefik'), 'traefik', traefik);
    }

    this.ingress = new HoneydueIngress(chart('ingress'), 'ingress', {
      namespace,
      rules: [
        { host: domains.api, backend: this.api },
        { host: domains.admin, backend: this.admin },
        // The api serves the marketing page at `/`; web takes the apex once it runs.
        { host: domains.apex, backend: this.web ?? this.api },
      ],
    });

    const notices: string[] = [];
    if (!observabilityEnabled) {
      notices.push('observability: skipped, observability.enabled is false (no vmagent objects emitted)');
    } else if (!tokenSecret) {
      notices.push('observability: skipped, no observability.tokenSecret configured (create the ingest-token Secret and name it there; see the README, Observability)');
    } else {
      this.vmAgent = new VmAgent(chart('observability'), 'vmagent', { ...vmAgentSettings, tokenSecret, namespace, targets: [this.api.metrics] });
    }

    if (networkPolicyEnabled) {
      const workloads = [this.api, this.worker, this.migrate, this.admin, this.web, this.vmAgent];
      this.networkPolicies = new NetworkPolicies(chart('network-policy'), 'network-policy', {
        ...networkPolicySettings,
        namespace,
        ingressRoutes: this.ingress.routes,
        workloads: workloads.flatMap((w) => (w ? [w.traffic] : [])),
      });
    } else {
      notices.push('network-policy: skipped, networkPolicy.enabled is false (every pod accepts and opens any connection)');
    }
    this.notices = notices;
  }
}
