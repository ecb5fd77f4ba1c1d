import * as fs from 'fs';
import { Command } from 'commander';
import { parseCommandLine } from './shared/command';
import { checkRenderedFiles } from './check';
import { synthesize, SynthOptions } from './synth';

/** Where the command writes; tests pass their own to read what an operator would see. */
export interface Output {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const consoleOutput: Output = { out: (line) => console.log(line), err: (line) => console.error(line) };

/**
 * The synth command: parses argv, synthesizes, and returns the exit code. A
 * failure prints every problem and leaves the output folder as it was.
 */
export function runSynth(argv: string[], io: Output = consoleOutput, extra: Pick<SynthOptions, 'beforeWrite'> = {}): number {
  const program = new Command()
    .name('synth')
    .description('Synthesize the honeyDue stack into dist/<env>/ (atomically: a failure leaves dist/ untouched)')
    .option('--env <name>', 'synthesize one environment (default: every config/*.yaml)')
    .option('--tag <sha>', 'image tag for every honeyDue image (also HONEYDUE_IMAGE_TAG)')
    .option('--out <dir>', 'output folder (default: dist/)')
    .option('--config <dir>', 'folder of <env>.yaml config files (default: config/)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const parsed = parseCommandLine(program, argv);
  if (parsed !== undefined) return parsed;
  const options = program.opts<{ env?: string; tag?: string; out?: string; config?: string }>();
  try {
    const result = synthesize({
      envs: options.env ? [options.env] : undefined,
      imageTag: options.tag ?? (process.env.HONEYDUE_IMAGE_TAG || undefined),
      imageTagSource: options.tag !== undefined ? '--tag' : 'HONEYDUE_IMAGE_TAG',
      outDir: options.out,
      configDir: options.config,
      log: io.out,
      // Schema and policy run on the rendered objects before anything is written, so a
      // manifest a cluster or a review would reject fails synth with dist/ untouched.
      // A one-environment run cannot judge exemptions that belong to another environment.
      beforeWrite: (files) => {
        const report = checkRenderedFiles(files, { reportStaleExemptions: !options.env });
        io.out(`  check: ${report.passed} passed, ${report.failed} failed`);
      },
      ...extra,
    });
    // Under `cdk8s synth` the CLI lists (and validates) what lands in CDK8S_OUTDIR; give it the same files.
    const cdk8sOutDir = process.env.CDK8S_OUTDIR;
    if (cdk8sOutDir) {
      fs.cpSync(result.outDir, cdk8sOutDir, { recursive: true });
    }
    return 0;
  } catch (error) {
    io.err(`synth failed; ${options.out ?? 'dist/'} was left as it was.\n${(error as Error).message}`);
    return 1;
  }
}
