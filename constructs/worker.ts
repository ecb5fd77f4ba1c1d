import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { appPod, AppWorkloadProps, RECREATE, workloadDeployment } from './shared/app-workload';
import { ApnsKey, apnsKeyVolumes } from './shared/apns';
import { drainSafePdb } from './shared/disruption-budget';
import { ServiceEndpoint, declareTraffic, workloadTraffic, WorkloadTraffic } from './shared/network';
import { httpProbe, LIVENESS_TIMING, ProbeTiming } from './shared/probes';
import { SMALL_RESOURCES } from './shared/resources';
import { check, httpPathProblem, portProblem, wholeNumberProblem } from './shared/validation';

/** Props of {@link Worker}. Defaults keep Asynq's scheduler a singleton; nothing organisation-specific. */
export interface WorkerProps extends AppWorkloadProps {
  /** Deployment and ServiceAccount name. @default 'worker' */
  readonly name?: string;
  /**
   * Pods. Must be 1 unless `leaderElectedScheduler` is true: Asynq's Scheduler
   * is not leader-elected, so every extra replica fires every cron task again
   * (duplicate daily digests and onboarding emails).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Declares that cmd/worker runs asynq's PeriodicTaskManager with Redis
   * coordination, so more than one replica is safe.
   * @default false
   */
  readonly leaderElectedScheduler?: boolean;
  /** uid, gid and fsGroup. @default 1000 */
  readonly runAsUser?: number;
  /**
   * Secret holding the APNs auth key file. A worker that sends push (task
   * reminders) from the Go codebase stats the key at startup, so it mounts the
   * key as the api does. `false` or unset mounts nothing.
   * @default undefined (no APNs volume)
   */
  readonly apnsKey?: ApnsKey | false;
  /**
   * An annotation on the Deployment that says, where operators read the
   * manifest, why it runs one replica; written only while the scheduler is
   * not leader-elected.
   * @default undefined (no annotation)
   */
  readonly replicasAnnotation?: WorkerReplicasAnnotation;
  /**
   * An HTTP liveness probe on the worker's health endpoint, which restarts a
   * worker that hangs (a stuck Redis connection stops every queue). On Swarm the
   * worker served `:6060/health`; the image run on k3s does not serve it yet,
   * and a probe on a port nothing answers would restart the worker forever, so
   * it is opt-in: set it once the image serves the endpoint.
   * @default undefined (no probe)
   */
  readonly healthProbe?: WorkerHealthProbe;
  /**
   * The Redis the worker uses (pass the `Redis` construct). `NetworkPolicies`
   * reads it: the worker gets egress to Redis, Redis gets ingress from the worker.
   * @default undefined (no Redis traffic allowed once policies are on)
   */
  readonly redis?: ServiceEndpoint;
}

/** The worker's health endpoint and its liveness timing. */
export interface WorkerHealthProbe extends ProbeTiming {
  /** Port of the health endpoint. @default 6060 (the Swarm worker's) */
  readonly port?: number;
  /** Path of the health endpoint. @default '/health' */
  readonly path?: string;
}

/** The annotation that carries the singleton reasoning into the manifest. */
export interface WorkerReplicasAnnotation {
  /** The annotation key, in the organisation's own prefix (like `example.com/replicas-reason`). */
  readonly key: string;
  /** The sentence an operator reads before scaling the worker up. */
  readonly reason: string;
}


/**
 * The Go + Asynq background worker: Deployment, ServiceAccount and a
 * PodDisruptionBudget `worker-pdb`. No Service: it is a queue consumer. The
 * rollout is Recreate, so two schedulers never run at once, even for the
 * seconds a surge pod would overlap.
 *
 * @example new Worker(chart, 'worker', { image: 'registry.example.com/team/worker:237c6b8', configMap: config });
 */
export class Worker extends Construct {
  /** The Deployment (Recreate, one replica unless the scheduler is leader-elected). */
  public readonly deployment: k8s.KubeDeployment;
  /** The workload's own ServiceAccount (no token mounted). */
  public readonly serviceAccount: k8s.KubeServiceAccount;
  /** The PodDisruptionBudget `<name>-pdb`, drain-safe. */
  public readonly disruptionBudget: k8s.KubePodDisruptionBudget;
  /** The name of its objects, and its selector value. */
  public readonly name: string;
  /** The namespace its objects are in. */
  public readonly namespace: string;
  /** The connections the pods open, for `NetworkPolicies`. */
  public readonly traffic: WorkloadTraffic;

  public constructor(scope: Construct, id: string, props: WorkerProps) {
    super(scope, id);
    const name = props.name ?? 'worker';
    const replicas = props.replicas ?? 1;
    const leaderElectedScheduler = props.leaderElectedScheduler ?? false;
    const runAsUser = props.runAsUser ?? 1000;
    const { port: healthPort = 6060, path: healthPath = '/health', ...healthTiming } = props.healthProbe ?? {};

    const owner = 'Worker';
    check(owner, 'replicas', wholeNumberProblem(replicas, 1));
    check(owner, 'runAsUser', wholeNumberProblem(runAsUser, 1));
    if (replicas > 1 && !leaderElectedScheduler) {
      throw new Error(
        `${owner}: replicas must be 1 (got ${replicas}): Asynq's Scheduler is not leader-elected, ` +
          `${replicas} replicas fire every cron task ${replicas} times; set 'leaderElectedScheduler: true' ` +
          'once PeriodicTaskManager is wired',
      );
    }

    if (props.healthProbe) {
      check(owner, 'healthProbe.port', portProblem(healthPort));
      check(owner, 'healthProbe.path', httpPathProblem(healthPath));
    }

    const pod = appPod(this, props, {
      owner,
      name,
      runAsUser,
      defaultSecretKeys: [],
      defaultResources: SMALL_RESOURCES,
      volumes: apnsKeyVolumes(props.apnsKey),
      container: props.healthProbe
        ? { livenessProbe: httpProbe(owner, 'healthProbe', healthPath, healthPort, LIVENESS_TIMING, healthTiming) }
        : undefined,
    });

    this.name = name;
    this.namespace = pod.namespace;
    this.traffic = declareTraffic(this, workloadTraffic(owner, this, { connectsTo: [props.redis], externalPorts: props.externalPorts }));
    this.serviceAccount = pod.serviceAccount;
    this.deployment = workloadDeployment(this, {
      name,
      namespace: pod.namespace,
      replicas,
      strategy: RECREATE,
      template: pod.template,
      annotations: leaderElectedScheduler || !props.replicasAnnotation ? undefined : { [props.replicasAnnotation.key]: props.replicasAnnotation.reason },
    });
    this.disruptionBudget = drainSafePdb(this, owner, { name, namespace: pod.namespace, minimumReplicas: replicas });
  }
}
