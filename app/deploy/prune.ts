import { carriesStackLabels, stackSelector } from '../shared/stack-labels';
import { Kubectl, kubectlObjects, lastErrorLine } from './kubectl';
import { apiGroupOf } from '../../manifest-check/manifests';
import { objectKey, resourceRef, resourceType } from '../shared/manifest-object';
import { KEPT_KINDS, PruneScope } from '../shared/prune-scope';
import { DeployError } from './options';
import { Output } from './process';
import { kubectlCall, note, PlanLine, Step } from './step';

export interface LiveObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly ownerReferences?: unknown[];
    readonly deletionTimestamp?: string;
    readonly finalizers?: readonly string[];
  };
}

/**
 * Lists by every stack label plus the environment's: an object that lacks one
 * is never listed, so never pruned, and a listing in a namespace two
 * environments share (kube-system) returns only this environment's objects.
 */
export const listArgs = (kinds: readonly string[], namespace: string, scope: Pick<PruneScope, 'env' | 'labels'>): string[] => [
  'get', kinds.join(','), '-n', namespace, '-l', stackSelector(scope.labels, scope.env), '-o', 'json',
];

/**
 * `--wait=false`: the delete returns once the API server accepted it. kubectl's
 * default waits until each object is gone, and an object with a finalizer
 * stays until its controller removes it: minutes, or never.
 */
export const deleteArgs = (refs: readonly string[], namespace: string): string[] => [
  'delete', ...refs, '-n', namespace, '--ignore-not-found', '--wait=false',
];

/** Which of the deleted objects are still there (the finalizers that hold them are read from the answer). */
const finalizingArgs = (refs: readonly string[], namespace: string): string[] => ['get', ...refs, '-n', namespace, '--ignore-not-found', '-o', 'json'];

/** An object that left the stack, found in the namespace it was listed in. */
export interface PruneCandidate {
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  readonly ref: string;
  /** Holds data (a PVC): reported, never deleted. */
  readonly kept: boolean;
}

/** The listing calls, for the plan of the change preview and of the prune step. */
export const listCalls = (scope: PruneScope): PlanLine[] =>
  scope.namespaces.map((namespace) => kubectlCall(listArgs(scope.kinds, namespace, scope)));

/**
 * Lists each namespace and returns what left the stack. Every listed object is
 * checked again, so a mistake in the selector or an odd answer can never widen
 * what gets deleted: it must be in the namespace that was listed, of a kind the
 * stack manages, carry the stack and environment labels, and have no owner.
 */
export async function findStale(kubectl: Kubectl, scope: PruneScope, output: Output): Promise<PruneCandidate[]> {
  const found: PruneCandidate[] = [];
  const listings = await kubectl.runAtOnce(
    scope.namespaces.map((namespace) => [listArgs(scope.kinds, namespace, scope), { showOutput: false, requests: scope.kinds.length + 4 }] as const),
  );
  for (const [index, namespace] of scope.namespaces.entries()) {
    const listed = listings[index];
    if (listed.code !== 0) {
      throw new DeployError(
        `could not list the stack's objects in ${namespace}: ${lastErrorLine(listed)}. Re-run the deploy, or delete leftovers by hand`,
      );
    }
    for (const live of parseList(listed.stdout, namespace)) {
      if (live.metadata.namespace !== namespace) {
        output.err(`prune: ignored ${liveRef(live)}: listed in ${namespace} but its namespace is ${live.metadata.namespace ?? '(none)'}\n`);
        continue;
      }
      if (!scope.kinds.includes(liveType(live))) {
        output.err(`prune: ignored ${liveRef(live)} in ${namespace}: the stack does not manage that kind, so prune never deletes it\n`);
        continue;
      }
      if (!isPrunable(live, scope) || scope.inRelease.has(liveKey(live))) continue;
      if (live.metadata.deletionTimestamp !== undefined) {
        output.err(`prune: ${liveRef(live)} in ${namespace} is already being deleted: ${finalizing(live)}\n`);
        continue;
      }
      found.push({ namespace, kind: live.kind, name: live.metadata.name, ref: liveRef(live), kept: KEPT_KINDS.has(liveType(live)) });
    }
  }
  return found;
}

/**
 * Deletes what left the stack and what the change preview showed as pruned:
 * the namespaces are listed again, and only objects found stale both times are
 * deleted, each in the namespace it was listed in. Cluster-scoped objects (the
 * Namespace, RBAC cluster roles) are never pruned: deleting a Namespace
 * deletes everything in it.
 */
export function pruneStep(scope: PruneScope, approved: () => readonly PruneCandidate[]): Step {
  const plan: PlanLine[] = [
    ...listCalls(scope),
    note(`the listed objects that are not among the ${scope.size} objects of ${scope.dir}, and that the preview showed, are deleted:`),
    ...scope.namespaces.map(
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
    async run({ kubectl, output, journal }) {
      const shown = new Set(approved().map((c) => `${c.namespace}/${c.ref}`));
      let stale: PruneCandidate[];
      try {
        stale = await findStale(kubectl, scope, output);
      } catch (error) {
        if (!(error instanceof DeployError)) throw error;
        throw new DeployError(
          `${error.message}. Nothing was pruned: the release is applied and rolled out, and the objects the preview ` +
            `showed as leaving the stack (${approved().map((c) => `${c.ref} in ${c.namespace}`).join(', ') || 'none'}) are still there; ` +
            're-run the deploy to prune them',
        );
      }
      for (const live of stale.filter((c) => c.kept)) {
        output.err(
          `kept ${live.ref} in ${live.namespace}: it left the stack but holds data; ` +
            `delete it by hand once it is no longer needed (kubectl -n ${live.namespace} delete ${live.ref})\n`,
        );
      }
      const deleted = stale.filter((c) => !c.kept && shown.has(`${c.namespace}/${c.ref}`));
      for (const late of stale.filter((c) => !c.kept && !shown.has(`${c.namespace}/${c.ref}`))) {
        output.err(`not pruned: ${late.ref} in ${late.namespace} left the stack after the preview; the next deploy shows it\n`);
      }
      if (deleted.length === 0) {
        output.out('nothing to prune: every labelled object in the cluster is part of the release\n');
        return;
      }
      output.out('left the stack, deleting:\n');
      for (const { namespace, ref } of deleted) output.out(`  ${namespace}  ${ref}\n`);
      for (const namespace of scope.namespaces) {
        const refs = deleted.filter((c) => c.namespace === namespace).map((c) => c.ref);
        if (refs.length === 0) continue;
        const result = await kubectl.run(deleteArgs(refs, namespace), { requests: refs.length + 4 });
        if (result.code !== 0) {
          throw new DeployError(
            `pruning in ${namespace} failed: ${lastErrorLine(result)}. The release is applied and rolled out; ` +
              `delete by hand: kubectl -n ${namespace} delete ${refs.join(' ')}`,
          );
        }
        journal.deleted.push(...refs.map((ref) => `${ref} (${namespace})`));
        const left = await kubectl.run(finalizingArgs(refs, namespace), { showOutput: false, requests: refs.length + 4 });
        for (const live of (left.code === 0 ? kubectlObjects<LiveObject>(left.stdout) : undefined) ?? []) output.err(`deleting ${liveRef(live)} in ${namespace}: ${finalizing(live)}\n`);
      }
    },
  };
}

/** Why a deleted object is still there: the finalizers that hold it, and who removes them. */
function finalizing(live: LiveObject): string {
  const finalizers = live.metadata.finalizers ?? [];
  return finalizers.length === 0
    ? 'its deletion is under way'
    : `it waits for its finalizer${finalizers.length > 1 ? 's' : ''} ${finalizers.join(', ')}, which the controller that set ${finalizers.length > 1 ? 'them' : 'it'} removes ` +
        `(watch: kubectl -n ${live.metadata.namespace} get ${liveRef(live)})`;
}

function parseList(json: string, namespace: string): LiveObject[] {
  const objects = kubectlObjects<LiveObject>(json);
  if (objects === undefined) throw new DeployError(`kubectl get in ${namespace} did not return JSON; nothing was pruned`);
  return objects;
}

/** The selector already asks for the labels; checking them again means a selector mistake cannot widen a delete. */
function isPrunable(live: LiveObject, scope: PruneScope): boolean {
  const ownedByController = (live.metadata.ownerReferences ?? []).length > 0;
  return carriesStackLabels(live.metadata.labels ?? {}, scope.labels, scope.env) && !ownedByController;
}

const asStackShape = (live: LiveObject) => ({
  group: apiGroupOf(live.apiVersion),
  kind: live.kind,
  namespace: live.metadata.namespace,
  name: live.metadata.name,
});

const liveKey = (live: LiveObject): string => objectKey(asStackShape(live));
const liveType = (live: LiveObject): string => resourceType(asStackShape(live));
const liveRef = (live: LiveObject): string => resourceRef(asStackShape(live));
