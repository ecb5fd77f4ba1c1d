import { k8s } from './k8s';
import { Construct } from 'constructs';
import { UNHEALTHY_POD_EVICTION_POLICY } from './eviction-policy';
import { objectLabels, selectorLabels } from './labels';
import { ProblemList, ValueProblem, wholeNumberProblem } from './validation';

/**
 * The largest minAvailable that still lets `kubectl drain` evict a pod: one
 * below the fewest replicas the workload can run with. A PDB whose
 * minAvailable is >= the replicas blocks every node drain; production once
 * shipped `minAvailable: 1` on the singleton worker and could not drain.
 */
export function drainSafeMinAvailable(minimumReplicas: number): number {
  return Math.max(0, minimumReplicas - 1);
}


/**
 * The problems of a requested `minAvailable` against the fewest replicas the
 * workload runs with, read from the prop `replicasProp` (`replicas`, or
 * `autoscaling.minReplicas` under an HPA): the message names it, since the
 * number it quotes is that prop's, not minAvailable's.
 */
export function minAvailableProblems(owner: string, minAvailable: unknown, minimumReplicas: unknown, replicasProp: string): ValueProblem[] {
  const problems = new ProblemList(owner);
  if (typeof minAvailable !== 'number') return problems.problems;
  const notWhole = wholeNumberProblem(minAvailable, 0);
  if (notWhole) return problems.add('minAvailable', notWhole, minAvailable).problems;
  if (typeof minimumReplicas === 'number' && minAvailable > 0 && minAvailable >= minimumReplicas) {
    problems.add(
      'minAvailable',
      `${minAvailable} would block every node drain: ${replicasProp} is ${minimumReplicas}; use at most ${drainSafeMinAvailable(minimumReplicas)}`,
      minAvailable,
      [replicasProp],
    );
  }
  return problems.problems;
}

/**
 * A PodDisruptionBudget `<name>-pdb` for a workload, with
 * `unhealthyPodEvictionPolicy: AlwaysAllow`, so a pod that runs but is not Ready
 * (CrashLoopBackOff) never holds a drain. `minAvailable` defaults to the
 * drain-safe value. A requested value that would block drains is refused by
 * {@link minAvailableProblems}, which each workload runs before building anything.
 */
export function drainSafePdb(
  scope: Construct,
  options: { readonly name: string; readonly namespace: string; readonly minimumReplicas: number; readonly minAvailable?: number },
): k8s.KubePodDisruptionBudget {
  const minAvailable = options.minAvailable ?? drainSafeMinAvailable(options.minimumReplicas);
  return new k8s.KubePodDisruptionBudget(scope, 'DisruptionBudget', {
    metadata: { name: `${options.name}-pdb`, namespace: options.namespace, labels: objectLabels(options.name) },
    spec: {
      minAvailable: k8s.IntOrString.fromNumber(minAvailable),
      selector: { matchLabels: selectorLabels(options.name) },
      unhealthyPodEvictionPolicy: UNHEALTHY_POD_EVICTION_POLICY,
    },
  });
}
