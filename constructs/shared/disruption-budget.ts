import { k8s } from './k8s';
import { Construct } from 'constructs';
import { UNHEALTHY_POD_EVICTION_POLICY } from './eviction-policy';
import { objectLabels, selectorLabels } from './labels';

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
 * A PodDisruptionBudget `<name>-pdb` for a workload, with
 * `unhealthyPodEvictionPolicy: AlwaysAllow` (see eviction-policy.ts). `minAvailable` defaults to
 * the drain-safe value; a requested value that would block drains throws.
 */
export function drainSafePdb(
  scope: Construct,
  owner: string,
  options: { readonly name: string; readonly namespace: string; readonly minimumReplicas: number; readonly minAvailable?: number },
): k8s.KubePodDisruptionBudget {
  const minAvailable = options.minAvailable ?? drainSafeMinAvailable(options.minimumReplicas);
  if (!Number.isInteger(minAvailable) || minAvailable < 0) {
    throw new Error(`${owner}: minAvailable: ${minAvailable} must be a whole number of at least 0`);
  }
  if (minAvailable > 0 && minAvailable >= options.minimumReplicas) {
    throw new Error(
      `${owner}: minAvailable: ${minAvailable} would block every node drain with ${options.minimumReplicas} replica(s); ` +
        `use at most ${drainSafeMinAvailable(options.minimumReplicas)}`,
    );
  }
  return new k8s.KubePodDisruptionBudget(scope, 'DisruptionBudget', {
    metadata: { name: `${options.name}-pdb`, namespace: options.namespace, labels: objectLabels(options.name) },
    spec: {
      minAvailable: k8s.IntOrString.fromNumber(minAvailable),
      selector: { matchLabels: selectorLabels(options.name) },
      unhealthyPodEvictionPolicy: UNHEALTHY_POD_EVICTION_POLICY,
    },
  });
}
