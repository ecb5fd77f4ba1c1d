import { DeployError } from './options';
import { CommandNotFoundError, formatCommand, runProcess } from './process';
import { Step } from './step';

/**
 * Where the deploy synthesizes, relative to the repository root. Not dist/: the
 * release tag usually differs from the config's, and the committed dist/ must
 * stay what the committed config makes (CI fails on a stale dist/).
 */
export const DEPLOY_OUT_DIR = '.deploy';

export interface SynthesizeInput {
  readonly env: string;
  readonly tag: string;
  /** The repository root: main.ts runs there and writes .deploy/<env>/. */
  readonly repoRoot: string;
  /** The synth command before `--env` and `--tag`. */
  readonly command: readonly string[];
  readonly processEnv: NodeJS.ProcessEnv;
}

/**
 * Synthesizes the release into .deploy/<env>/. main.ts writes atomically and
 * leaves its output untouched when it fails, and nothing is applied then.
 */
export function synthesizeStep(input: SynthesizeInput): Step {
  const argv = [...input.command, '--env', input.env, '--tag', input.tag, '--out', DEPLOY_OUT_DIR];
  return {
    title: `synthesize ${input.env} with tag ${input.tag}`,
    local: true,
    plan: [],
    async run({ output }) {
      output.out(`$ ${formatCommand(argv)}\n`);
      const [command, ...args] = argv;
      let result;
      try {
        result = await runProcess(command, args, {
          cwd: input.repoRoot,
          // main.ts also reads the tag from HONEYDUE_IMAGE_TAG; a stale value in the
          // operator's shell must not win over --tag.
          env: { ...input.processEnv, HONEYDUE_IMAGE_TAG: input.tag },
          forward: output,
        });
      } catch (error) {
        if (error instanceof CommandNotFoundError) {
          throw new DeployError(`${command} was not found on PATH: synthesis needs Node and npm; nothing was applied`);
        }
        throw error;
      }
      if (result.code !== 0) {
        throw new DeployError(
          `synthesis failed (exit ${result.code}): nothing was applied; ` +
            'fix the error printed above and re-run',
        );
      }
    },
  };
}
