import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import {
  appPodDefinition, appWorkloadProblems, AppWorkloadProps, clusterIpService, missingConfigKeys, SURGE_ONE_UNAVAILABLE_ZERO, workloadDeployment,
} from './shared/app-workload';
import { drainSafePdb, minAvailableProblems } from './shared/disruption-budget';
import { namespaceOf } from './shared/labels';
import { httpProbe, LIVENESS_TIMING, probeOverridesProblems, ProbeOverrides, READINESS_TIMING } from './shared/probes';
import { SMALL_RESOURCES } from './shared/resources';
import { envNameProblem, httpPathProblem, memoryProblem, portProblem, ProblemList, reportProblems, ValueProblem, wholeNumberAtLeast } from './shared/validation';
import { Workload } from './workload';
import { applyAfter } from './shared/ordering';
import { claimObjectNames } from './shared/unique-names';

/** Props of {@link NextjsApp}. Defaults fit a low-traffic internal panel; nothing organisation-specific. */
export interface NextjsAppProps extends AppWorkloadProps {
  /** Deployment, Service and ServiceAccount name: `admin` or `web`. */
  readonly name: string;
  /** An internal tool with low traffic: Kubernetes restarts a crashed pod in seconds. @default 1 */
  readonly replicas?: number;
  /** Container and Service port, also passed as `PORT`. @default 3000 */
  readonly port?: number;
  /**
   * Path the probes GET. Next.js serves at the root: the scaffold's `/admin/`
   * returned 404 and the startup probe killed every pod in production.
   * @default '/'
   */
  readonly healthPath?: string;
  /**
   * Probe timing overrides. Defaults: startup failureThreshold 24 x periodSeconds 5,
   * readiness initialDelay 5 / period 10 / timeout 5, liveness initialDelay 30 /
   * period 30 / timeout 10 (liveness is this project's addition: production's
   * admin had none, so a hung server was never restarted).
   * @default {} (those timings)
   */
  readonly probes?: ProbeOverrides;
  /**
   * uid, gid and fsGroup. Each app gets its own so a compromised one does not
   * share a uid with the others.
   * @default 1001 (admin's)
   */
  readonly runAsUser?: number;
  /**
   * `sizeLimit` of the `nextjs-cache` emptyDir at `/app/.next/cache` (rendered
   * pages, fetch and image-optimizer cache, none of which Next.js bounds itself).
   * A pod that writes past it is evicted, instead of filling the node's disk.
   * @default '256Mi' (far above what the admin panel caches, small beside the node's disk)
   */
  readonly cacheSizeLimit?: string;
  /** minAvailable of the PodDisruptionBudget. @default replicas - 1 (0 for a singleton) */
  readonly minAvailable?: number;
  /**
   * The key of `configMap` the server reads as `NEXT_PUBLIC_API_URL`, the API
   * it renders against. Handed a ConfigMap construct (`HoneydueConfigMap`), the
   * app refuses to build when the key is not in its data; handed only a name,
   * the key must be in that ConfigMap or the pod does not start.
   * @default 'NEXT_PUBLIC_API_URL' (the key `HoneydueStack` writes from `publicApiUrl`)
   */
  readonly apiUrlKey?: string;
}


/** One replica: the panels are low-traffic, and the PDB then allows a drain. */
const DEFAULT_REPLICAS = 1;

/** The env var Next.js inlines as the API's URL, and the ConfigMap key it is read from unless `apiUrlKey` names another. */
const API_URL_ENV = 'NEXT_PUBLIC_API_URL';

/**
 * Every problem of {@link NextjsAppProps}, each naming its prop and value; the
 * constructor throws them all at once before it builds anything. Values of the
 * wrong type are left to the type checker (or the config schema). `namespace` is
 * the resolved one (the Chart's when the prop is unset).
 */
export function nextjsAppProblems(props: NextjsAppProps, namespace: unknown = props.namespace): ValueProblem[] {
  const owner = 'NextjsApp';
  const problems = new ProblemList(owner);
  problems.number('port', props.port, portProblem);
  problems.number('replicas', props.replicas, wholeNumberAtLeast(1));
  problems.number('runAsUser', props.runAsUser, wholeNumberAtLeast(1));
  problems.string('healthPath', props.healthPath, httpPathProblem);
  problems.string('cacheSizeLimit', props.cacheSizeLimit, memoryProblem);
  problems.string('apiUrlKey', props.apiUrlKey, envNameProblem);
  const apiUrlKey = props.apiUrlKey ?? API_URL_ENV;
  if (typeof apiUrlKey === 'string' && missingConfigKeys(props.configMap, [apiUrlKey]).length > 0) {
    const read = apiUrlKey === API_URL_ENV ? API_URL_ENV : `${apiUrlKey} (as ${API_URL_ENV})`;
    problems.add(
      'apiUrlKey',
      `${props.name} reads ${read} from ConfigMap ${props.configMap.name}, which does not have it; ` +
        `add ${apiUrlKey} to the ConfigMap's data, or set apiUrlKey to the key that holds the public API URL`,
      apiUrlKey,
    );
  }
  problems.addAll(probeOverridesProblems(owner, props.probes));
  problems.addAll(minAvailableProblems(owner, props.minAvailable, props.replicas ?? DEFAULT_REPLICAS, 'replicas'));
  problems.addAll(appWorkloadProblems(owner, props, { name: props.name, namespace, defaultSecretKeys: [] }));
  return problems.problems;
}

/**
 * A Next.js 16 standalone server (the `admin` panel, and the optional `web`
 * app): Deployment, Service, ServiceAccount and PodDisruptionBudget. The read-only
 * root filesystem gets an emptyDir at `/app/.next/cache` so Next can cache
 * rendered pages.
 *
 * A {@link Workload}: it also has `name`, `namespace`, `serviceAccount` and `traffic`.
 *
 * @example new NextjsApp(chart, 'admin', { name: 'admin', image: 'registry.example.com/team/admin:237c6b8', configMap: config });
 */
export class NextjsApp extends Workload {
  /** The Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** The ClusterIP Service. */
  public readonly service: k8s.KubeService;
  /** The PodDisruptionBudget `<name>-pdb`, drain-safe. */
  public readonly disruptionBudget: k8s.KubePodDisruptionBudget;
  /** The container and Service port. */
  public readonly port: number;

  public constructor(scope: Construct, id: string, props: NextjsAppProps) {
    super(scope, id);
    reportProblems(this, nextjsAppProblems(props, namespaceOf(scope, 'NextjsApp', props.namespace)));
    const replicas = props.replicas ?? DEFAULT_REPLICAS;
    const port = props.port ?? 3000;
    const healthPath = props.healthPath ?? '/';
    const runAsUser = props.runAsUser ?? 1001;
    const configMapName = props.configMap.name;
    const apiUrlKey = props.apiUrlKey ?? API_URL_ENV;
    const cacheSizeLimit = props.cacheSizeLimit ?? '256Mi';

    const owner = 'NextjsApp';

    const template = this.buildPods(appPodDefinition(this, props, {
      owner,
      name: props.name,
      runAsUser,
      defaultSecretKeys: [],
      defaultResources: SMALL_RESOURCES,
      container: {
        ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
        env: [
          { name: 'PORT', value: String(port) },
          // Next binds to the pod IP only when told; 0.0.0.0 lets the kubelet's probes and the Service reach it.
          { name: 'HOSTNAME', value: '0.0.0.0' },
          { name: API_URL_ENV, valueFrom: { configMapKeyRef: { name: configMapName, key: apiUrlKey } } },
        ],
        startupProbe: httpProbe(healthPath, port, { failureThreshold: 24, periodSeconds: 5 }, props.probes?.startup),
        readinessProbe: httpProbe(healthPath, port, READINESS_TIMING, props.probes?.readiness),
        livenessProbe: httpProbe(healthPath, port, LIVENESS_TIMING, props.probes?.liveness),
      },
      volumes: [{ volume: { name: 'nextjs-cache', emptyDir: { sizeLimit: k8s.Quantity.fromString(cacheSizeLimit) } }, mountPath: '/app/.next/cache' }],
    }));

    const { name, namespace } = this;
    this.port = port;
    this.deployment = workloadDeployment(this, {
      name,
      namespace,
      replicas,
      strategy: SURGE_ONE_UNAVAILABLE_ZERO,
      template,
    });
    applyAfter(this.deployment, this.serviceAccount, props.configMap);
    this.service = clusterIpService(this, name, namespace, port);
    this.disruptionBudget = drainSafePdb(this, { name, namespace, minimumReplicas: replicas, minAvailable: props.minAvailable });
    claimObjectNames(this, 'NextjsApp');
  }
}
