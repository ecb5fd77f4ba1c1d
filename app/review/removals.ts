/**
 * The fate of an object that left the release: pruned by the deploy, kept
 * because it holds data, or left to delete by hand.
 */
import { ManifestObject, resourceType } from '../shared/manifest-object';
import { KEPT_KINDS, pruneScope } from '../shared/prune-scope';
import { stackLabelPairs, StackLabels } from '../shared/stack-labels';
import { nameOf } from './objects';
import type { EnvironmentReview, RemovedObject } from './types';

/**
 * What the deploy does with an object that left the release, by the prune's
 * rules (app/shared/prune-scope.ts): it lists the kinds of its scope in the release's namespaces, by the
 * stack labels and this environment's, and keeps what holds data.
 */
export function removedFate(
  object: ManifestObject,
  env: string,
  release: readonly ManifestObject[],
  presence: EnvironmentReview['presence'],
  labelsOf: () => StackLabels,
): RemovedObject {
  const base = nameOf(object);
  const ref = `${resourceType(object)}/${object.name}`;
  const byHand = (why: string): RemovedObject => ({
    ...base,
    fate: 'not pruned',
    why: `${why}; delete it by hand once the release is out (kubectl ${object.namespace === undefined ? '' : `-n ${object.namespace} `}delete ${ref})`,
  });
  if (presence === 'removed') return byHand(`dist/${env}/ is gone, so no deploy of ${env} runs to prune it`);
  if (object.namespace === undefined) return byHand('cluster-scoped objects are never pruned');
  const labels = labelsOf();
  const scope = pruneScope({ dir: `dist/${env}`, files: [], objects: release }, env, labels);
  if (!scope.namespaces.includes(object.namespace)) return byHand(`the release has nothing left in namespace ${object.namespace}, and prune lists only the release's namespaces`);
  if (!scope.kinds.includes(resourceType(object))) return byHand(`prune never lists ${resourceType(object)} objects`);
  // The labels of the deploy's prune selector, in its order.
  const missing = stackLabelPairs(labels, env)
    .filter(([key, value]) => object.labels[key] !== value)
    .map(([key, value]) => `${key}=${value}`);
  if (missing.length > 0) return byHand(`it lacks the label${missing.length > 1 ? 's' : ''} prune selects by (${missing.join(', ')})`);
  if (KEPT_KINDS.has(resourceType(object))) {
    return { ...base, fate: 'kept', why: `the deploy keeps it: it holds data; delete it by hand once the data is not needed (kubectl -n ${object.namespace} delete ${ref})` };
  }
  return { ...base, fate: 'pruned', why: 'the deploy deletes it (prune)' };
}
