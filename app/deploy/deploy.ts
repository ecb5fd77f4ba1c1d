import { isAbsolute, join, relative } from 'node:path';
import { Kubectl } from './kubectl';
import { loadManifests, StackManifests } from './manifests';
import { DeployError, DeployOptions } from './options';
import { releaseSteps, SKIP_MIGRATION_WARNING } from './plan';
import { preflightStep } from './preflight';
import { formatCommand, Output } from './process';
import { PlanLine, Step } from './step';
import { DEPLOY_OUT_DIR, synthesizeStep } from './synthesize';

/** What the deploy command needs from its surroundings; tests swap each part. */
export interface DeployRuntime {
  /** Environment of every child process; PATH decides which kubectl runs. */
  readonly env: NodeJS.ProcessEnv;
  readonly output: Output;
  /** Working directory: relative paths (--manifests, the printed plan) are relative to it. */
  readonly cwd: string;
  /** Repository root: synthesis runs here and writes .deploy/<env>/. */
  readonly repoRoot: string;
  /** The synth command before `--env` and `--tag` (`npx tsx main.ts`). */
  readonly synthCommand: readonly string[];
}

/** Runs (or, with --dry-run, prints) the whole deploy; resolves to the process exit code. */
export async function deploy(options: DeployOptions, runtime: DeployRuntime): Promise<number> {
  const { output } = runtime;
  const kubectl = new Kubectl(options, runtime.env, output, runtime.cwd);
  const reporter = new StepReporter(kubectl, output, options.dryRun);
  try {
    if (options.dryRun) output.out('DRY RUN: printing the kubectl plan; no kubectl command is run.\n');
    if (options.skipMigration) output.err(`${SKIP_MIGRATION_WARNING}\n`);

    await reporter.run(preflightStep(options));
    const dir = manifestDir(options, runtime);
    if (options.manifestsDir === undefined) {
      await reporter.run(
        synthesizeStep({
          env: options.env,
          tag: options.tag as string,
          repoRoot: runtime.repoRoot,
          command: runtime.synthCommand,
          processEnv: runtime.env,
        }),
      );
    }
    const manifests = loadManifests(dir);
    describeManifests(manifests, output);

    const steps = releaseSteps(manifests, options);
    for (const [index, step] of steps.entries()) {
      try {
        await reporter.run(step);
      } catch (error) {
        const notRun = steps.slice(index + 1).map((s) => s.title);
        if (notRun.length > 0) output.err(`not run:\n${notRun.map((title) => `  - ${title}\n`).join('')}`);
        throw error;
      }
    }
    output.out(options.dryRun ? '\ndry run finished: nothing was applied\n' : `\ndeployed ${describeRelease(options, dir)}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof DeployError)) throw error;
    output.err(`\ndeploy failed: ${error.message}\n`);
    return 1;
  }
}

function manifestDir(options: DeployOptions, runtime: DeployRuntime): string {
  if (options.manifestsDir !== undefined) return options.manifestsDir;
  const synthesized = join(runtime.repoRoot, DEPLOY_OUT_DIR, options.env);
  const dir = relative(runtime.cwd, synthesized);
  // Printed plans stay short when run from the repository, and exact from anywhere else.
  return dir.startsWith('..') || isAbsolute(dir) ? synthesized : dir || '.';
}

function describeRelease(options: DeployOptions, dir: string): string {
  return options.tag === undefined ? dir : `${options.env} at tag ${options.tag}`;
}

function describeManifests(manifests: StackManifests, output: Output): void {
  output.out(`\nrelease: ${manifests.objects.length} objects in ${manifests.files.length} files of ${manifests.dir}\n`);
  for (const file of manifests.files) {
    output.out(`  ${file.name}: ${file.objects.map((o) => `${o.kind}/${o.name}`).join(', ')}\n`);
  }
  for (const object of manifests.unlabelled) {
    output.err(
      `warning: ${object.kind} ${object.name} in ${object.file} lacks the stack labels; ` +
        'prune will not find it once it leaves the stack\n',
    );
  }
}

/** Numbers the steps and prints each one's name and elapsed time (or, in a dry run, its plan). */
class StepReporter {
  private count = 0;

  constructor(
    private readonly kubectl: Kubectl,
    private readonly output: Output,
    private readonly dryRun: boolean,
  ) {}

  async run(step: Step): Promise<void> {
    const number = ++this.count;
    this.output.out(`\n==> step ${number}: ${step.title}\n`);
    if (this.dryRun && step.local !== true) {
      for (const line of step.plan) this.output.out(this.planText(line));
      return;
    }
    const started = process.hrtime.bigint();
    const elapsed = () => `${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)}s`;
    try {
      await step.run({ kubectl: this.kubectl, output: this.output });
    } catch (error) {
      this.output.err(`<== step ${number} failed after ${elapsed()}\n`);
      throw error;
    }
    this.output.out(`<== step ${number} done in ${elapsed()}\n`);
  }

  private planText(line: PlanLine): string {
    switch (line.kind) {
      case 'kubectl':
        return `  $ ${formatCommand(this.kubectl.commandLine(line.args))}\n`;
      case 'only-if':
        return `  only if ${line.when}:\n${line.calls.map((args) => `    $ ${formatCommand(this.kubectl.commandLine(args))}\n`).join('')}`;
      case 'note':
        return `${line.text.split('\n').map((text) => `  # ${text}\n`).join('')}`;
    }
  }
}
