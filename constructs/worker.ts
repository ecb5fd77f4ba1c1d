import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { appPodDefinition, appWorkloadProblems, AppWorkloadProps, RECREATE, workloadDeployment } from './shared/app-workload';
import { ApnsKey, apnsKeyProblems, apnsKeyVolumes } from './shared/apns';
import { drainSafePdb } from './shared/disruption-budget';
import { namespaceOf } from './shared/labels';
import { ServiceEndpoint } from './shared/network';
import { httpProbe, LIVENESS_TIMING, probeTimingProblems, ProbeTiming } from './shared/probes';
import { SMALL_RESOURCES } from './shared/resources';
import { httpPathProblem, isRecord, nonEmptyProblem, portProblem, ProblemList, reportProblems, ValueProblem, wholeNumberAtLeast } from './shared/validation';
import { Workload } from './workload';
import { applyAfter } from './shared/ordering';
import { claimObjectNames } from './shared/unique-names';

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
 * Every problem of {@link WorkerProps}, each naming its prop and value; the
 * constructor throws them all at once before it builds anything. Values of the
 * wrong type are left to the type checker (or the config schema). `namespace` is
 * the resolved one (the Chart's when the prop is unset).
 */
export function workerProblems(props: WorkerProps, namespace: unknown = props.namespace): ValueProblem[] {
  const owner = 'Worker';
  const problems = new ProblemList(owner);
  problems.number('replicas', props.replicas, wholeNumberAtLeast(1));
  problems.number('runAsUser', props.runAsUser, wholeNumberAtLeast(1));
  const replicas: unknown = props.replicas;
  if (typeof replicas === 'number' && replicas > 1 && props.leaderElectedScheduler !== true) {
    problems.add(
      'replicas',
      `must be 1: Asynq's Scheduler is not leader-elected, so ${replicas} replicas fire every cron task ${replicas} times; ` +
        'set leaderElectedScheduler: true once PeriodicTaskManager is wired',
      replicas,
      ['leaderElectedScheduler'],
    );
  }
  const healthProbe: unknown = props.healthProbe;
  if (isRecord(healthProbe)) {
    problems.number('healthProbe.port', healthProbe.port, portProblem);
    problems.string('healthProbe.path', healthProbe.path, httpPathProblem);
    problems.addAll(probeTimingProblems(owner, 'healthProbe', healthProbe));
  }
  const annotation: unknown = props.replicasAnnotation;
  if (isRecord(annotation)) {
    problems.string('replicasAnnotation.key', annotation.key, nonEmptyProblem);
    problems.string('replicasAnnotation.reason', annotation.reason, nonEmptyProblem);
  }
  problems.addAll(apnsKeyProblems(owner, props.apnsKey));
  problems.addAll(appWorkloadProblems(owner, props, { name: props.name ?? 'worker', namespace, defaultSecretKeys: [] }));
  return problems.problems;
}

/**
 * The Go + Asynq background worker: Deployment, ServiceAccount and a
 * PodDisruptionBudget `worker-pdb`. No Service: it is a queue consumer. The
 * rollout is Recreate, so two schedulers never run at once, even for the
 * seconds a surge pod would overlap.
 *
 * A {@link Workload}: it also has `name`, `namespace`, `serviceAccount` and `traffic`.
 *
 * @example new Worker(chart, 'worker', { image: 'registry.example.com/team/worker:237c6b8', configMap: config });
 */
export class Worker extends Workload {
  /** The Deployment (Recreate, one replica unless the scheduler is leader-elected). */
  public readonly deployment: k8s.KubeDeployment;
  /** The PodDisruptionBudget `<name>-pdb`, drain-safe. */
  public readonly disruptionBudget: k8s.KubePodDisruptionBudget;

  public constructor(scope: Construct, id: string, props: WorkerProps) {
    super(scope, id);
    reportProblems(this, workerProblems(props, namespaceOf(scope, 'Worker', props.namespace)));
    const name = props.name ?? 'worker';
    const replicas = props.replicas ?? 1;
    const leaderElectedScheduler = props.leaderElectedScheduler ?? false;
    const runAsUser = props.runAsUser ?? 1000;
    const { port: healthPort = 6060, path: healthPath = '/health', ...healthTiming } = props.healthProbe ?? {};

    const owner = 'Worker';

    const template = this.buildPods(appPodDefinition(this, props, {
      owner,
      name,
      runAsUser,
      defaultSecretKeys: [],
      defaultResources: SMALL_RESOURCES,
      volumes: apnsKeyVolumes(props.apnsKey),
      container: props.healthProbe
        ? { livenessProbe: httpProbe(healthPath, healthPort, LIVENESS_TIMING, healthTiming) }
        : undefined,
      connectsTo: [props.redis],
    }));

    this.deployment = workloadDeployment(this, {
      name,
      namespace: this.namespace,
      replicas,
      strategy: RECREATE,
      template,
      annotations: leaderElectedScheduler || !props.replicasAnnotation ? undefined : { [props.replicasAnnotation.key]: props.replicasAnnotation.reason },
    });
    applyAfter(this.deployment, this.serviceAccount, props.configMap);
    this.disruptionBudget = drainSafePdb(this, { name, namespace: this.namespace, minimumReplicas: replicas });
    claimObjectNames(this, 'Worker');
  }
}
