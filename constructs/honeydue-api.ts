import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { appPodDefinition, appWorkloadProblems, AppWorkloadProps, clusterIpService, SURGE_ONE_UNAVAILABLE_ZERO, workloadDeployment } from './shared/app-workload';
import { ApnsKey, apnsKeyProblems, apnsKeyVolumes } from './shared/apns';
import { drainSafePdb, minAvailableProblems } from './shared/disruption-budget';
import { namespaceOf, objectLabels, selectorLabels } from './shared/labels';
import { MetricsEndpoint, SCRAPE_ANNOTATIONS, ServiceEndpoint } from './shared/network';
import { httpProbe, LIVENESS_TIMING, probeOverridesProblems, ProbeOverrides, READINESS_TIMING } from './shared/probes';
import { BACKEND_RESOURCES } from './shared/resources';
import { httpPathProblem, isRecord, portProblem, ProblemList, reportProblems, ValueProblem, wholeNumberAtLeast } from './shared/validation';
import { Workload } from './workload';
import { applyAfter } from './shared/ordering';
import { claimObjectNames } from './shared/unique-names';

/** Horizontal autoscaling of the api. */
export interface ApiAutoscaling {
  /** Fewest pods the HPA keeps. @default 3 (one per node, as without the HPA) */
  readonly minReplicas?: number;
  /** Most pods the HPA scales to: two per node. @default 6 */
  readonly maxReplicas?: number;
  /** Target average CPU utilization, percent of requests. @default 70 */
  readonly cpuUtilization?: number;
  /** Target average memory utilization, percent of requests. @default 80 */
  readonly memoryUtilization?: number;
}

/** Props of {@link HoneydueApi}. Defaults are what the Go API needs on a 3-node cluster; nothing organisation-specific. */
export interface HoneydueApiProps extends AppWorkloadProps {
  /** Deployment, Service and ServiceAccount name. @default 'api' */
  readonly name?: string;
  /**
   * Pods when no autoscaler runs: one per node on the 3-node cluster, so one
   * pod down still leaves two serving.
   * @default 3
   */
  readonly replicas?: number;
  /**
   * Turns on the HorizontalPodAutoscaler. Off in production (metrics-server
   * runs, the HPA was never applied). With it on, the Deployment does not pin
   * `spec.replicas`, or every apply would fight the autoscaler.
   * @default undefined (no HPA)
   */
  readonly autoscaling?: ApiAutoscaling;
  /** Container and Service port. @default 8000 */
  readonly port?: number;
  /** Path all three probes GET. Cheap, no database call. @default '/api/health/' */
  readonly healthPath?: string;
  /**
   * Probe timing overrides. Defaults: startup failureThreshold 48 x periodSeconds 5
   * (240 s of grace for a cold boot), readiness initialDelay 5 / period 10 /
   * timeout 5, liveness initialDelay 30 / period 30 / timeout 10.
   * @default {} (those timings)
   */
  readonly probes?: ProbeOverrides;
  /** uid, gid and fsGroup: the image's `app` user. @default 1000 */
  readonly runAsUser?: number;
  /**
   * Seconds a terminating pod goes on serving before it gets SIGTERM (a preStop
   * sleep). The pod leaves the Service's endpoints when termination starts, but
   * Traefik only stops routing to it once its Kubernetes provider has seen the
   * change, which it batches (a 2 s throttle) after the EndpointSlice update;
   * a pod that exits before then answers those requests with a 502. 0 turns it off.
   * @default 10 (the throttle, the EndpointSlice propagation and a margin; a rollout of 3 pods takes 30 s longer)
   */
  readonly preStopDelaySeconds?: number;
  /**
   * Seconds from the start of termination until the kubelet kills the pod. It
   * covers the preStop delay, then leaves the app its own shutdown time.
   * @default preStopDelaySeconds + 30 (Kubernetes' own 30 s, after the delay)
   */
  readonly terminationGracePeriodSeconds?: number;
  /**
   * The Secret holding the APNs auth key file, mounted read-only at
   * `APNS_KEY_DIRECTORY`: the Go app stats the key at startup even while push
   * is off, so an app built that way needs it. `false` or unset mounts nothing.
   * @default undefined (no APNs volume)
   */
  readonly apnsKey?: ApnsKey | false;
  /**
   * Writes the `prometheus.io/scrape`, `port` and `path` pod annotations
   * vmagent's discovery keeps targets by. Off, the pods carry none and no
   * scraper that honours them picks the api up.
   * @default true
   */
  readonly scrapeAnnotations?: boolean;
  /**
   * minAvailable of the PodDisruptionBudget.
   * @default one below the replicas (or the HPA minimum): 2 of 3
   */
  readonly minAvailable?: number;
  /**
   * Port of the Prometheus endpoint (the api exports request histograms).
   * Written to the `prometheus.io/port` pod annotation vmagent honours; a port
   * other than `port` is also declared on the container.
   * @default the serving port (8000): the Go API serves /metrics on its main listener
   */
  readonly metricsPort?: number;
  /** Path of the Prometheus endpoint, the `prometheus.io/path` annotation. @default '/metrics' */
  readonly metricsPath?: string;
  /**
   * The Redis the api uses (pass the `Redis` construct). `NetworkPolicies`
   * reads it: the api gets egress to Redis, Redis gets ingress from the api.
   * @default undefined (no Redis traffic allowed once policies are on)
   */
  readonly redis?: ServiceEndpoint;
}

export { APNS_KEY_DIRECTORY, APNS_KEY_FILE } from './shared/apns';
export type { ApnsKey } from './shared/apns';

/** What a pod gets after SIGTERM to shut down, as Kubernetes' own default grace period. */
const DEFAULT_SHUTDOWN_SECONDS = 30;

/** The defaults the constructor resolves and the rules judge against: written once, so a rule never reads a stale copy. */
const DEFAULTS = { replicas: 3, minReplicas: 3, maxReplicas: 6, preStopDelaySeconds: 10 } as const;

/**
 * Every problem of {@link HoneydueApiProps}, each naming its prop and value; the
 * constructor throws them all at once before it builds anything. Values of the
 * wrong type are left to the type checker (or the config schema). `namespace` is
 * the resolved one (the Chart's when the prop is unset).
 */
export function honeydueApiProblems(props: HoneydueApiProps, namespace: unknown = props.namespace): ValueProblem[] {
  const owner = 'HoneydueApi';
  const problems = new ProblemList(owner);
  problems.number('port', props.port, portProblem);
  problems.number('metricsPort', props.metricsPort, portProblem);
  problems.number('replicas', props.replicas, wholeNumberAtLeast(1));
  problems.number('runAsUser', props.runAsUser, wholeNumberAtLeast(1));
  const autoscaling: unknown = props.autoscaling;
  if (isRecord(autoscaling)) {
    problems.number('autoscaling.minReplicas', autoscaling.minReplicas, wholeNumberAtLeast(1));
    problems.number('autoscaling.maxReplicas', autoscaling.maxReplicas, wholeNumberAtLeast(1));
    const minReplicas = autoscaling.minReplicas ?? DEFAULTS.minReplicas;
    const maxReplicas = autoscaling.maxReplicas ?? DEFAULTS.maxReplicas;
    if (typeof minReplicas === 'number' && typeof maxReplicas === 'number' && maxReplicas < minReplicas) {
      const min = autoscaling.minReplicas === undefined ? `${minReplicas}, its default` : String(minReplicas);
      const max = autoscaling.maxReplicas === undefined ? `${maxReplicas} (its default)` : String(maxReplicas);
      problems.add(
        'autoscaling.maxReplicas',
        `${max} is below autoscaling.minReplicas (${min}); the HPA needs maxReplicas >= minReplicas, raise it to at least ${minReplicas}`,
        autoscaling.maxReplicas,
        ['autoscaling.minReplicas'],
      );
    }
    problems.number('autoscaling.cpuUtilization', autoscaling.cpuUtilization, percentProblem);
    problems.number('autoscaling.memoryUtilization', autoscaling.memoryUtilization, percentProblem);
  }
  problems.string('healthPath', props.healthPath, httpPathProblem);
  problems.string('metricsPath', props.metricsPath, httpPathProblem);
  problems.number('preStopDelaySeconds', props.preStopDelaySeconds, wholeNumberAtLeast(0));
  problems.number('terminationGracePeriodSeconds', props.terminationGracePeriodSeconds, wholeNumberAtLeast(1));
  const preStopDelaySeconds = props.preStopDelaySeconds ?? DEFAULTS.preStopDelaySeconds;
  const grace = props.terminationGracePeriodSeconds;
  if (typeof grace === 'number' && typeof preStopDelaySeconds === 'number' && grace <= preStopDelaySeconds) {
    problems.add(
      'terminationGracePeriodSeconds',
      `${grace} must exceed preStopDelaySeconds (${preStopDelaySeconds}): ` +
        'the grace period counts from the start of termination, so the kubelet would kill the pod before it got SIGTERM; ' +
        `use at least ${preStopDelaySeconds + DEFAULT_SHUTDOWN_SECONDS}`,
      grace,
      ['preStopDelaySeconds'],
    );
  }
  problems.addAll(probeOverridesProblems(owner, props.probes));
  problems.addAll(apnsKeyProblems(owner, props.apnsKey));
  problems.addAll(
    isRecord(autoscaling)
      ? minAvailableProblems(owner, props.minAvailable, autoscaling.minReplicas ?? DEFAULTS.minReplicas, 'autoscaling.minReplicas')
      : minAvailableProblems(owner, props.minAvailable, props.replicas ?? DEFAULTS.replicas, 'replicas'),
  );
  problems.addAll(appWorkloadProblems(owner, props, { name: props.name ?? 'api', namespace, defaultSecretKeys: [] }));
  return problems.problems;
}


/**
 * The Go REST API: Deployment, Service, ServiceAccount, PodDisruptionBudget and
 * an optional HorizontalPodAutoscaler. It also serves the marketing page at
 * `/`, which is why the apex domain can route to it.
 *
 * A {@link Workload}: it also has `name`, `namespace`, `serviceAccount` and `traffic`.
 *
 * @example new HoneydueApi(chart, 'api', { image: 'registry.example.com/team/api:237c6b8', configMap: config });
 */
export class HoneydueApi extends Workload {
  /** The Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** The ClusterIP Service. */
  public readonly service: k8s.KubeService;
  /** The PodDisruptionBudget `<name>-pdb`, drain-safe. */
  public readonly disruptionBudget: k8s.KubePodDisruptionBudget;
  /** Present only when `autoscaling` is set. */
  public readonly autoscaler?: k8s.KubeHorizontalPodAutoscalerV2;
  /** The container and Service port. */
  public readonly port: number;
  /** Where vmagent scrapes the api's metrics (pass it to `VmAgent` targets). */
  public readonly metrics: MetricsEndpoint;

  public constructor(scope: Construct, id: string, props: HoneydueApiProps) {
    super(scope, id);
    reportProblems(this, honeydueApiProblems(props, namespaceOf(scope, 'HoneydueApi', props.namespace)));
    const name = props.name ?? 'api';
    const port = props.port ?? 8000;
    const healthPath = props.healthPath ?? '/api/health/';
    const replicas = props.replicas ?? DEFAULTS.replicas;
    const runAsUser = props.runAsUser ?? 1000;
    const scrapeAnnotations = props.scrapeAnnotations ?? true;
    const preStopDelaySeconds = props.preStopDelaySeconds ?? DEFAULTS.preStopDelaySeconds;
    const terminationGracePeriodSeconds = props.terminationGracePeriodSeconds ?? preStopDelaySeconds + DEFAULT_SHUTDOWN_SECONDS;
    const metricsPort = props.metricsPort ?? port;
    const metricsPath = props.metricsPath ?? '/metrics';
    const autoscaling = props.autoscaling && {
      minReplicas: props.autoscaling.minReplicas ?? DEFAULTS.minReplicas,
      maxReplicas: props.autoscaling.maxReplicas ?? DEFAULTS.maxReplicas,
      cpuUtilization: props.autoscaling.cpuUtilization ?? 70,
      memoryUtilization: props.autoscaling.memoryUtilization ?? 80,
    };

    const owner = 'HoneydueApi';

    const template = this.buildPods(appPodDefinition(this, props, {
      owner,
      name,
      runAsUser,
      defaultSecretKeys: [],
      defaultResources: BACKEND_RESOURCES,
      annotations: scrapeAnnotations
        ? { [SCRAPE_ANNOTATIONS.scrape]: 'true', [SCRAPE_ANNOTATIONS.port]: String(metricsPort), [SCRAPE_ANNOTATIONS.path]: metricsPath }
        : undefined,
      container: {
        ports: [
          { name: 'http', containerPort: port, protocol: 'TCP' },
          // vmagent keeps the target whose declared container port equals the annotation, so a separate port is declared.
          ...(metricsPort === port ? [] : [{ name: 'metrics', containerPort: metricsPort, protocol: 'TCP' }]),
        ],
        startupProbe: httpProbe(healthPath, port, { failureThreshold: 48, periodSeconds: 5 }, props.probes?.startup),
        readinessProbe: httpProbe(healthPath, port, READINESS_TIMING, props.probes?.readiness),
        livenessProbe: httpProbe(healthPath, port, LIVENESS_TIMING, props.probes?.liveness),
        // `sleep` from the image, which has a shell and its tools (the migrate Job's sh script runs in it). The
        // kubelet's own sleep action needs no binary, but the generated Kubernetes 1.28
        // classes this library builds with do not know it and drop it from the output.
        lifecycle: preStopDelaySeconds > 0 ? { preStop: { exec: { command: ['sleep', String(preStopDelaySeconds)] } } } : undefined,
      },
      volumes: apnsKeyVolumes(props.apnsKey),
      podSpec: {
        terminationGracePeriodSeconds,
        // One pod per node when it can; "ScheduleAnyway" so a 2-node cluster still runs all replicas.
        // matchLabelKeys counts only pods of the same ReplicaSet: during a rollout the old
        // ReplicaSet's pods would otherwise skew the count and the new pods bunch up per node.
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: 'kubernetes.io/hostname',
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: selectorLabels(name) },
            matchLabelKeys: ['pod-template-hash'],
          },
        ],
      },
      connectsTo: [props.redis],
    }));

    const namespace = this.namespace;
    this.port = port;
    this.metrics = { name, namespace, port: metricsPort, path: metricsPath };
    this.deployment = workloadDeployment(this, {
      name,
      namespace,
      replicas: autoscaling ? undefined : replicas,
      strategy: SURGE_ONE_UNAVAILABLE_ZERO,
      template,
    });
    applyAfter(this.deployment, this.serviceAccount, props.configMap);
    this.service = clusterIpService(this, name, namespace, port);
    this.disruptionBudget = drainSafePdb(this, {
      name,
      namespace,
      minimumReplicas: autoscaling ? autoscaling.minReplicas : replicas,
      minAvailable: props.minAvailable,
    });
    if (autoscaling) {
      this.autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: { name, namespace, labels: objectLabels(name) },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
          minReplicas: autoscaling.minReplicas,
          maxReplicas: autoscaling.maxReplicas,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: autoscaling.cpuUtilization } } },
            { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: autoscaling.memoryUtilization } } },
          ],
        },
      });
    }
    claimObjectNames(this, 'HoneydueApi');
  }
}

function percentProblem(value: number): string | undefined {
  return Number.isInteger(value) && value >= 1 && value <= 100 ? undefined : `${value} must be a whole percent from 1 to 100`;
}
