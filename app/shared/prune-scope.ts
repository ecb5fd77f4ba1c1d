/**
 * What the deploy's prune looks at, read from the release alone: the
 * namespaces it uses, the kinds it lists, and what it keeps. The deploy lists
 * the cluster by it; the review says by it what a removed object's fate is.
 */
import { objectKey, resourceType, type StackManifests } from './manifest-object';
import type { StackLabels } from './stack-labels';

/**
 * Namespaced kinds the stack writes (or wrote once: a kind can leave the stack
 * entirely, like the HPA when it is switched off, and its last object must
 * still be found). Deliberately absent:
 * - Secret: the stack never writes one, and listing them would fetch their values;
 * - Job: the only Job is the migrate Job, which the gate recreates and whose pods
 *   hold the last migration's logs;
 * - Pod, ReplicaSet, EndpointSlice: created by controllers, they copy our labels.
 */
const PRUNE_KINDS = [
  'configmap',
  'service',
  'serviceaccount',
  'persistentvolumeclaim',
  'deployment.apps',
  'statefulset.apps',
  'daemonset.apps',
  'poddisruptionbudget.policy',
  'horizontalpodautoscaler.autoscaling',
  'ingress.networking.k8s.io',
  'networkpolicy.networking.k8s.io',
  'role.rbac.authorization.k8s.io',
  'rolebinding.rbac.authorization.k8s.io',
  'helmchartconfig.helm.cattle.io',
];

const NEVER_LISTED = new Set(['secret', 'job.batch']);

/** A PVC holds data (redis's append-only file): one that left the stack is reported, not deleted. */
export const KEPT_KINDS = new Set(['persistentvolumeclaim']);

/** What prune looks at: the namespaces the release uses and the kinds the stack manages. */
export interface PruneScope {
  readonly env: string;
  /** The environment's stack labels (its config's `labels` and `environmentLabel`). */
  readonly labels: StackLabels;
  readonly namespaces: readonly string[];
  readonly kinds: readonly string[];
  readonly inRelease: ReadonlySet<string>;
  readonly size: number;
  readonly dir: string;
}

export function pruneScope(manifests: StackManifests, env: string, labels: StackLabels): PruneScope {
  const namespaces = [...new Set(manifests.objects.flatMap((o) => (o.namespace === undefined ? [] : [o.namespace])))];
  const synthesizedKinds = manifests.objects.filter((o) => o.namespace !== undefined).map(resourceType);
  const kinds = [...new Set([...PRUNE_KINDS, ...synthesizedKinds])].filter((kind) => !NEVER_LISTED.has(kind));
  return { env, labels, namespaces, kinds, inRelease: new Set(manifests.objects.map(objectKey)), size: manifests.objects.length, dir: manifests.dir };
}
