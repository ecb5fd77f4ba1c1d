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

export interface StepContext {
  readonly kubectl: Kubectl;
  readonly output: Output;
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
