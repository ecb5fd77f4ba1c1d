/**
 * How the deploy and the review name a stack's dist files: by the concern's
 * file name (constructs/shared/concerns.ts), whatever apply-order prefix synth
 * gave the file.
 */
import type { StackConcern } from '../../constructs/shared/concerns';

/** The concern of the migrate Job, the deploy's gate: nothing after it is applied unless the Job completes. */
export const MIGRATE_CONCERN = 'migrate' satisfies StackConcern;

/** The migrate Job's file as phaseName names it. */
export const MIGRATE_FILE = `${MIGRATE_CONCERN}.yaml`;

/** The name a dist file has in the deploy's phases: its base name without a numeric apply-order prefix (`NN-`). */
export function phaseName(fileName: string): string {
  return fileName.replace(/^\d+-/, '');
}
