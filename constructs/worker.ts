import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appPod, AppWorkloadProps, DEFAULT_BACKEND_SECRET_KEYS, RECREATE, workloadDeployment } from './shared/app-workload';
import { apnsKeyVolume, DEFAULT_APNS_KEY_SECRET_NAME } from './shared/apns';
import { drainSafePdb } from './shared/disruption-budget';
import { ServiceEndpoint, workloadTraffic, WorkloadTraffic } from './shared/network';
import { httpProbe, LIVENESS_TIMING, ProbeTiming } from './shared/probes';
import { SMALL_RESOURCES } from './shared/resources';
import { check, httpPathProblem, portProblem, wholeNumberProblem } from './shared/validation';

/** Props of {@link Worker}. Defaults are production's (SPEC "worker"). */
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
   * Secret holding the APNs auth key file. The worker sends the task reminders
   * (push), and the Go app stats the key at startup, so it mounts the key as api does.
   * @default 'honeydue-apns-key'
   */
  readonly apnsKeySecretName?: string;
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

/** The annotation that carries the singleton reasoning into the manifest, where operators read it. */
export const WORKER_REPLICAS_ANNOTATION = 'honeydue.io/replicas-reason';

const SINGLETON_REASON =
  "Asynq's Scheduler is a singleton: more than 1 replica fires every cron task once per replica " +
  '(duplicate daily digests, onboarding emails). Keep at 1 until asynq.PeriodicTaskManager with Redis ' +
  'leader election is wired in cmd/worker/main.go.';


/**
 * The Go + Asynq background worker: Deployment, ServiceAccount and a
 * PodDisruptionBudget `worker-pdb`. No Service: it is a queue consumer. The
 * rollout is Recreate, so two schedulers never run at once, even for the
 * seconds a surge pod would overlap.
 *
 * @example new Worker(chart, 'worker', { image: 'gitea.treytartt.com/admin/honeydue-worker:237c6b8' });
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
    const apnsKeySecretName = props.apnsKeySecretName ?? DEFAULT_APNS_KEY_SECRET_NAME;
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
      defaultSecretKeys: DEFAULT_BACKEND_SECRET_KEYS,
      defaultResources: SMALL_RESOURCES,
      volumes: [apnsKeyVolume(apnsKeySecretName)],
      container: props.healthProbe
        ? { livenessProbe: httpProbe(owner, 'healthProbe', healthPath, healthPort, LIVENESS_TIMING, healthTiming) }
        : undefined,
    });

    this.name = name;
    this.namespace = pod.namespace;
    this.traffic = workloadTraffic(owner, this, { connectsTo: [props.redis], externalPorts: props.externalPorts });
    this.serviceAccount = pod.serviceAccount;
    this.deployment = workloadDeployment(this, {
      name,
      namespace: pod.namespace,
      replicas,
      strategy: RECREATE,
      template: pod.template,
      annotations: leaderElectedScheduler ? undefined : { [WORKER_REPLICAS_ANNOTATION]: SINGLETON_REASON },
    });
    this.disruptionBudget = drainSafePdb(this, owner, { name, namespace: pod.namespace, minimumReplicas: replicas });
  }
}
