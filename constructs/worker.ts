import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appPod, AppWorkloadProps, DEFAULT_BACKEND_SECRET_KEYS, RECREATE, workloadDeployment } from './shared/app-workload';
import { drainSafePdb } from './shared/disruption-budget';
import { ServiceEndpoint, workloadTraffic, WorkloadTraffic } from './shared/network';
import { SMALL_RESOURCES } from './shared/resources';
import { check, wholeNumberProblem } from './shared/validation';

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
   * The Redis the worker uses (pass the `Redis` construct). `NetworkPolicies`
   * reads it: the worker gets egress to Redis, Redis gets ingress from the worker.
   * @default undefined (no Redis traffic allowed once policies are on)
   */
  readonly redis?: ServiceEndpoint;
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

    const pod = appPod(this, props, {
      owner,
      name,
      runAsUser,
      defaultSecretKeys: DEFAULT_BACKEND_SECRET_KEYS,
      defaultResources: SMALL_RESOURCES,
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
