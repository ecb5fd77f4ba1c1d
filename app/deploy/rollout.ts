import { LABEL_NAME } from '../../constructs/shared/labels';
import { Kubectl, lastErrorLine } from './kubectl';
import { Output } from './process';
import { DeployError } from './options';
import { kubectlCall, note, PlanLine, Step } from './step';
import { ManifestObject } from '../shared/manifest-object';

export interface RolloutSettings {
  /** kubectl duration for each `rollout status`. */
  readonly timeout: string;
  readonly rollbackOnFailure: boolean;
}

type WorkloadRef = Pick<ManifestObject, 'kind' | 'name' | 'namespace'>;

/** `deployment/api`: the spelling the runbook uses for rollout commands. */
export const workloadRef = (workload: Pick<ManifestObject, 'kind' | 'name'>): string => `${workload.kind.toLowerCase()}/${workload.name}`;

export const rolloutStatusArgs = (workload: WorkloadRef, timeout: string): string[] => [
  'rollout', 'status', workloadRef(workload), '-n', workload.namespace as string, `--timeout=${timeout}`,
];

export const rolloutUndoArgs = (workload: WorkloadRef): string[] => [
  'rollout', 'undo', workloadRef(workload), '-n', workload.namespace as string,
];

/**
 * Waits for every rollout of a phase, then (when asked) undoes the ones that
 * failed. All are waited even after a failure, so the report names every
 * workload that did not make it, not just the first.
 */
export function rolloutStep(workloads: readonly ManifestObject[], settings: RolloutSettings): Step {
  const names = workloads.map((w) => w.name).join(', ');
  const recovery: PlanLine[] = settings.rollbackOnFailure
    ? workloads.map((workload) => ({
        kind: 'only-if',
        when: `the rollout of ${workloadRef(workload)} fails (--rollback-on-failure)`,
        calls: [rolloutUndoArgs(workload), rolloutStatusArgs(workload, settings.timeout)],
      }))
    : [note('a failed rollout stops the deploy here; without --rollback-on-failure nothing is undone')];
  return {
    title: `wait for rollouts: ${names}`,
    plan: [...workloads.map((w) => kubectlCall(rolloutStatusArgs(w, settings.timeout))), ...recovery],
    async run({ kubectl, output }) {
      const failed: Array<{ workload: ManifestObject; reason: string }> = [];
      // Waited all at once: the phase takes as long as its slowest rollout, not their sum.
      const results = await kubectl.runAtOnce(workloads.map((workload) => [rolloutStatusArgs(workload, settings.timeout)] as const));
      workloads.forEach((workload, index) => {
        if (results[index].code !== 0) failed.push({ workload, reason: lastErrorLine(results[index]) });
      });
      if (failed.length === 0) return;

      const { undone, undoFailed } = settings.rollbackOnFailure
        ? await rollBack(kubectl, output, failed.map(({ workload }) => workload), settings.timeout)
        : { undone: [], undoFailed: [] };
      throw new DeployError(rolloutFailureMessage(failed, undone, undoFailed, settings));
    },
  };
}

/** `rollout undo` each workload and wait for the undo; says which went back and which did not. */
export async function rollBack(
  kubectl: Kubectl,
  output: Output,
  workloads: readonly ManifestObject[],
  timeout: string,
): Promise<{ undone: string[]; undoFailed: string[] }> {
  const undone: string[] = [];
  const undoFailed: string[] = [];
  for (const workload of workloads) {
    output.err(`rolling back ${workloadRef(workload)} in ${workload.namespace}\n`);
    const undo = await kubectl.run(rolloutUndoArgs(workload));
    const settled = undo.code === 0 ? await kubectl.run(rolloutStatusArgs(workload, timeout)) : undo;
    if (settled.code === 0) undone.push(workloadRef(workload));
    else undoFailed.push(`${workloadRef(workload)} (${lastErrorLine(settled)})`);
  }
  return { undone, undoFailed };
}

function rolloutFailureMessage(
  failed: ReadonlyArray<{ workload: ManifestObject; reason: string }>,
  undone: readonly string[],
  undoFailed: readonly string[],
  settings: RolloutSettings,
): string {
  const lines = failed.map(
    ({ workload, reason }) => `rollout of ${workloadRef(workload)} in namespace ${workload.namespace} failed: ${reason}`,
  );
  if (undone.length > 0) lines.push(`rolled back to the previous revision: ${undone.join(', ')}`);
  if (undoFailed.length > 0) {
    lines.push(`rollback did not settle: ${undoFailed.join(', ')} (a first deploy has no previous revision to return to)`);
  }
  if (!settings.rollbackOnFailure) {
    lines.push(
      'Nothing was undone; with maxUnavailable 0 the old pods keep serving while the new ones fail. To go back: ' +
        failed.map(({ workload }) => `kubectl -n ${workload.namespace} rollout undo ${workloadRef(workload)}`).join(' ; ') +
        ' (or re-run with --rollback-on-failure)',
    );
  }
  const { workload } = failed[0];
  lines.push(
    `Debug: kubectl -n ${workload.namespace} describe ${workload.kind.toLowerCase()} ${workload.name} ; ` +
      `kubectl -n ${workload.namespace} logs -l ${LABEL_NAME}=${workload.name} --tail=100 --prefix ; ` +
      `kubectl -n ${workload.namespace} get events --sort-by=.lastTimestamp. ` +
      'The migration already ran: the previous release must run on the new schema (keep migrations backward compatible).',
  );
  return lines.join('\n');
}
