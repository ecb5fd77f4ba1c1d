import { LABEL_MANAGED_BY, LABEL_PART_OF, MANAGED_BY, PART_OF } from '../../constructs/shared/labels';
import { lastErrorLine } from './kubectl';
import { groupOf, resourceRef, resourceType, StackManifests, StackObject } from './manifests';
import { DeployError } from './options';
import { kubectlCall, note, PlanLine, Step } from './step';

/** Both stack labels: an object that lacks either is never listed, so never pruned. */
export const STACK_SELECTOR = `${LABEL_PART_OF}=${PART_OF},${LABEL_MANAGED_BY}=${MANAGED_BY}`;

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
const KEPT_KINDS = new Set(['persistentvolumeclaim']);

interface LiveObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly ownerReferences?: unknown[];
  };
}

export const listArgs = (kinds: readonly string[], namespace: string): string[] => [
  'get', kinds.join(','), '-n', namespace, '-l', STACK_SELECTOR, '-o', 'json',
];

export const deleteArgs = (refs: readonly string[], namespace: string): string[] => [
  'delete', ...refs, '-n', namespace, '--ignore-not-found',
];

/**
 * Deletes what left the stack: live objects carrying both stack labels, in the
 * namespaces the stack uses, that the synthesized release no longer contains.
 * Cluster-scoped objects (the Namespace, RBAC cluster roles) are never pruned:
 * labels cannot tell one environment's from another's, and deleting a
 * Namespace deletes everything in it.
 */
export function pruneStep(manifests: StackManifests): Step {
  const namespaces = [...new Set(manifests.objects.flatMap((o) => (o.namespace === undefined ? [] : [o.namespace])))];
  const synthesizedKinds = manifests.objects.filter((o) => o.namespace !== undefined).map(resourceType);
  const kinds = [...new Set([...PRUNE_KINDS, ...synthesizedKinds])].filter((kind) => !NEVER_LISTED.has(kind));
  const inRelease = new Set(manifests.objects.map(objectKey));

  const plan: PlanLine[] = [
    ...namespaces.map((namespace) => kubectlCall(listArgs(kinds, namespace))),
    note(`the listed objects that are not among the ${manifests.objects.length} objects of ${manifests.dir} are printed, then:`),
    ...namespaces.map(
      (namespace): PlanLine => ({
        kind: 'only-if',
        when: `objects left the stack in ${namespace}`,
        calls: [deleteArgs(['<kind>/<name>...'], namespace)],
      }),
    ),
  ];

  return {
    title: 'prune objects that left the stack',
    plan,
    async run({ kubectl, output }) {
      const removed: Array<{ namespace: string; refs: string[] }> = [];
      for (const namespace of namespaces) {
        const listed = await kubectl.run(listArgs(kinds, namespace), { showOutput: false });
        if (listed.code !== 0) {
          throw new DeployError(
            `could not list the stack's objects in ${namespace}: ${lastErrorLine(listed)}. The release is applied ` +
              'and rolled out; only pruning did not run. Re-run the deploy, or delete leftovers by hand',
          );
        }
        const stale = parseList(listed.stdout, namespace).filter((live) => isPrunable(live) && !inRelease.has(liveKey(live)));
        const kept = stale.filter((live) => KEPT_KINDS.has(liveType(live)));
        const deleted = stale.filter((live) => !KEPT_KINDS.has(liveType(live)));
        for (const live of kept) {
          output.err(
            `kept ${liveRef(live)} in ${namespace}: it left the stack but holds data; ` +
              `delete it by hand once it is no longer needed (kubectl -n ${namespace} delete ${liveRef(live)})\n`,
          );
        }
        if (deleted.length > 0) removed.push({ namespace, refs: deleted.map(liveRef) });
      }
      if (removed.length === 0) {
        output.out('nothing to prune: every labelled object in the cluster is part of the release\n');
        return;
      }
      output.out('left the stack, deleting:\n');
      for (const { namespace, refs } of removed) for (const ref of refs) output.out(`  ${namespace}  ${ref}\n`);
      for (const { namespace, refs } of removed) {
        const result = await kubectl.run(deleteArgs(refs, namespace));
        if (result.code !== 0) {
          throw new DeployError(
            `pruning in ${namespace} failed: ${lastErrorLine(result)}. The release is applied and rolled out; ` +
              `delete by hand: kubectl -n ${namespace} delete ${refs.join(' ')}`,
          );
        }
      }
    },
  };
}

function parseList(json: string, namespace: string): LiveObject[] {
  try {
    const list = JSON.parse(json) as { items?: LiveObject[] };
    return list.items ?? [];
  } catch {
    throw new DeployError(`kubectl get in ${namespace} did not return JSON; nothing was pruned`);
  }
}

/**
 * The selector already asks for both labels; checking the listed objects again
 * means a mistake in the selector can never widen what gets deleted.
 */
function isPrunable(live: LiveObject): boolean {
  const labels = live.metadata.labels ?? {};
  const ownedByController = (live.metadata.ownerReferences ?? []).length > 0;
  return labels[LABEL_PART_OF] === PART_OF && labels[LABEL_MANAGED_BY] === MANAGED_BY && !ownedByController;
}

const objectKey = (o: Pick<StackObject, 'group' | 'kind' | 'namespace' | 'name'>): string =>
  `${o.group}/${o.kind}/${o.namespace ?? ''}/${o.name}`;

const asStackShape = (live: LiveObject) => ({
  group: groupOf(live.apiVersion),
  kind: live.kind,
  namespace: live.metadata.namespace,
  name: live.metadata.name,
});

const liveKey = (live: LiveObject): string => objectKey(asStackShape(live));
const liveType = (live: LiveObject): string => resourceType(asStackShape(live));
const liveRef = (live: LiveObject): string => resourceRef(asStackShape(live));
