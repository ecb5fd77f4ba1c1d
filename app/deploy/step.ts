import { Kubectl } from './kubectl';
import { Output } from './process';

/** One line of the printed plan (--dry-run), built from the same argument lists the step runs. */
export type PlanLine =
  /** A kubectl call the step always makes. */
  | { readonly kind: 'kubectl'; readonly args: readonly string[] }
  /** kubectl calls made only in the named situation (a failure, a non-empty listing). */
  | { readonly kind: 'only-if'; readonly when: string; readonly calls: ReadonlyArray<readonly string[]> }
  /** Anything else the step does. */
  | { readonly kind: 'note'; readonly text: string };

/** The migrate Job as far as this deploy knows, for the report after a stop or failure. */
export type JobState = 'not started' | 'running' | 'complete' | 'failed' | 'unfinished';

/**
 * What this deploy has done to the cluster so far, kept as it happens so a
 * deploy that is stopped or fails can say exactly what state it left.
 */
export class Journal {
  /** `kind.group/name` of every object an apply reported applied, with its namespace. */
  readonly applied: string[] = [];
  /** Files whose apply was cut off (by a signal or a rejection): part of them may be applied. */
  readonly partial: string[] = [];
  readonly deleted: string[] = [];
  job: { readonly name: string; readonly namespace: string; state: JobState } | undefined;

  /** Lines for the operator: what was applied, the Job, what was deleted. */
  describe(): string[] {
    const lines = [
      this.applied.length === 0 ? 'applied: nothing' : `applied (${this.applied.length} objects): ${this.applied.join(', ')}`,
    ];
    for (const file of this.partial) lines.push(`cut off part-way: ${file} (only the objects listed above of it were applied)`);
    if (this.job !== undefined) {
      const note =
        this.job.state === 'running'
          ? ` (it keeps running in the cluster and gates nothing now: kubectl -n ${this.job.namespace} get job ${this.job.name})`
          : '';
      lines.push(`migration Job ${this.job.namespace}/${this.job.name}: ${this.job.state}${note}`);
    } else lines.push('migration Job: not started by this deploy');
    if (this.deleted.length > 0) lines.push(`deleted: ${this.deleted.join(', ')}`);
    return lines;
  }
}

export interface StepContext {
  readonly kubectl: Kubectl;
  readonly output: Output;
  readonly journal: Journal;
  /** Fires when the deploy is told to stop (a signal); long waits that are not kubectl watch it. */
  readonly stop?: AbortSignal;
}

/** A named stage of the deploy; the reporter prints its name and elapsed time. */
export interface Step {
  readonly title: string;
  /** The step touches only the local disk, so --dry-run runs it (synthesis) instead of printing its plan. */
  readonly local?: boolean;
  /** What --dry-run prints for the step. */
  readonly plan: readonly PlanLine[];
  run(context: StepContext): Promise<void>;
}

export const kubectlCall = (args: readonly string[]): PlanLine => ({ kind: 'kubectl', args });
export const note = (text: string): PlanLine => ({ kind: 'note', text });
