import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { namedEnvironment, reviewedEnvironment, reviewedStackLabels, StackLabels, stackLabelsOf, unlabelledObjects } from '../shared/stack-labels';
import { ConfigError, configuredImageTag, listEnvironments, shownPath } from '../config';
import { deployRefusal } from '../environments';
import { defaultHealthUrl } from './health';
import { Kubectl } from './kubectl';
import { defaultHolder, DeployLock, LOCK_RENEW_MS } from './lock';
import { loadManifests } from './manifests';
import { DeployError, DeployOptions } from './options';
import { releaseSteps, SKIP_MIGRATION_WARNING } from './plan';
import { preflightStep } from './preflight';
import { Preview, previewStep } from './preview';
import { formatCommand, Output } from './process';
import { secretsStep } from './secrets';
import { DeployStopped, exitCodeFor, stopReason } from './stop';
import { Journal, kubectlCall, note, PlanLine, Step } from './step';
import { checkStep, DEPLOY_OUT_DIR, deployFolderName, deployFolderPid, synthesizeStep } from './synthesize';
import { ChartUpgrade, chartUpgrades, currentJobUid, jobUidArgs } from './traefik';
import { StackManifests } from '../shared/manifest-object';
import { pruneScope } from '../shared/prune-scope';
import { StackError } from '../shared/stack-error';

/** What the deploy command needs from its surroundings; tests swap each part. */
export interface DeployRuntime {
  /** Environment of every child process; PATH decides which kubectl runs. */
  readonly env: NodeJS.ProcessEnv;
  readonly output: Output;
  /** Working directory: relative paths (--manifests, the printed plan) are relative to it. */
  readonly cwd: string;
  /** Repository root: each deploy writes its own folder under .deploy/ here. */
  readonly repoRoot: string;
  /** Config folder synthesis reads. @default config/ of the repository */
  readonly configDir?: string;
  /** Fires when the deploy must stop (bin/deploy.ts: SIGINT, SIGTERM, SIGHUP, the parent gone). */
  readonly stop?: AbortSignal;
  /** Both stdin and stdout are a terminal: the change preview may ask to continue. */
  readonly interactive: boolean;
  /**
   * Asks the operator; resolves true for yes. Required when interactive. `stop`
   * fires when the deploy stops during the question: the question must then be
   * closed (the deploy does not wait for its answer).
   */
  readonly confirm?: (question: string, stop: AbortSignal) => Promise<boolean>;
  /** Interval of the lock renewal. @default LOCK_RENEW_MS */
  readonly lockRenewMs?: number;
  /** The Lease's duration (tests shorten it to reach the stale threshold). @default LOCK_DURATION_SECONDS */
  readonly lockDurationSeconds?: number;
  /** How much longer than its bound a kubectl may run before the watchdog ends it. @default 15 s */
  readonly watchdogGraceMs?: number;
  /** The Lease's holderIdentity. @default `user@host pid N` */
  readonly holder?: string;
}

const DEFAULT_WATCHDOG_GRACE_MS = 15_000;

/** Runs (or, with --dry-run, prints) the whole deploy; resolves to the process exit code. */
export async function deploy(options: DeployOptions, runtime: DeployRuntime): Promise<number> {
  const { output } = runtime;
  const journal = new Journal();
  // A lost lock stops the deploy like a signal does (nothing more is applied), but it is a failure.
  const lockLost = new AbortController();
  const stop = runtime.stop === undefined ? lockLost.signal : AbortSignal.any([runtime.stop, lockLost.signal]);
  const kubectl = new Kubectl(
    options,
    { requestTimeout: options.requestTimeout, watchdogGraceMs: runtime.watchdogGraceMs ?? DEFAULT_WATCHDOG_GRACE_MS },
    runtime.env,
    output,
    runtime.cwd,
    stop,
  );
  const reporter = new StepReporter(kubectl, output, options.dryRun, journal, stop);
  const folders = new DeployFolders(runtime.repoRoot);
  let lock: DeployLock | undefined;
  let notRun: string[] = [];
  // What a dry run synthesized stays after it, so every path its plan printed can be opened.
  let keptFolder: string | undefined;
  try {
    if (options.dryRun) output.out('DRY RUN: printing the kubectl plan; no kubectl command is run.\n');
    if (options.skipMigration) output.err(`${SKIP_MIGRATION_WARNING}\n`);
    folders.removeLeftovers(output);

    // Local work first: a release that does not synthesize or pass the check never reaches the cluster.
    let dir: string;
    let releaseTag: string | undefined;
    let manifests: StackManifests;
    let labels: StackLabels;
    if (options.manifestsDir === undefined) {
      refuseUndeployable(options.env, runtime.configDir, true);
      const tag = options.tag ?? reviewedTag(options.env, runtime.configDir, output);
      const folder = folders.create(options.env);
      await reporter.run(synthesizeStep({ env: options.env, tag, fromFlag: options.tag !== undefined, folder, configDir: runtime.configDir }));
      releaseTag = tag;
      dir = printablePath(join(folder, options.env), runtime.cwd);
      manifests = loadManifests(dir);
      labels = stackLabelsOf(options.env, runtime.configDir);
    } else {
      dir = options.manifestsDir;
      // Which file goes when is checked first (it names the file); then schema and policy, as synth does.
      manifests = loadManifests(dir);
      await reporter.run(checkStep(manifests));
      const named = reviewedEnvironment(manifests, runtime.configDir);
      // Reviewed files of a not-deployable environment (dist/staging) are refused like a synthesized release.
      if (listEnvironments(runtime.configDir).includes(named)) refuseUndeployable(named, runtime.configDir, false);
      labels = reviewedStackLabels(named, manifests, runtime.configDir);
    }
    const env = environmentOf(manifests, labels, options);
    const folder = folders.current ?? folders.create(env);
    describeManifests(manifests, labels, output);
    const healthUrl = options.healthUrl === null ? null : (options.healthUrl ?? defaultHealthUrl(manifests));
    if (healthUrl === undefined) {
      throw new DeployError(
        `${dir} has no ConfigMap with NEXT_PUBLIC_API_URL, so the public health URL is unknown: pass --health-url URL ` +
          '(or --no-health-check to deploy without one)',
      );
    }

    lock = new DeployLock(
      {
        env,
        workDir: folder,
        takeOverStale: options.takeOverStaleLock,
        renewMs: runtime.lockRenewMs ?? LOCK_RENEW_MS,
        durationSeconds: runtime.lockDurationSeconds,
        holder: runtime.holder ?? defaultHolder(),
      },
      (why) => lockLost.abort({ signal: 'SIGTERM', why }),
    );
    const scope = pruneScope(manifests, env, labels);
    const upgrades = chartUpgrades(manifests.objects);
    let preview: Preview | undefined;
    const jobUids = new Map<ChartUpgrade, string>();
    const steps: Step[] = [
      preflightStep(options),
      lock.step(),
      secretsStep(manifests),
      previewStep(manifests, scope, folder, (result) => (preview = result)),
      confirmStep(options, runtime, stop, upgrades, jobUids),
      ...releaseSteps(manifests, options, {
        scope,
        healthUrl,
        rolled: () => preview?.rolls ?? [],
        approvedPrune: () => preview?.prune ?? [],
        takeovers: () => (preview?.changes ?? []).filter((c) => c.takenOverFrom !== undefined).map((c) => `${c.kind}/${c.name}`),
        chartChanged: (upgrade) => preview?.chartConfigsChanged.has(`${upgrade.config.namespace}/${upgrade.config.name}`) ?? true,
        previousJobUid: (upgrade) => jobUids.get(upgrade),
        validated: (file) => preview?.validated.has(file.path) ?? false,
      }),
    ];
    for (const [index, step] of steps.entries()) {
      notRun = steps.slice(index + 1).map((s) => s.title);
      await reporter.run(step);
    }
    notRun = [];
    if (options.dryRun) {
      reporter.printPlan('release the deploy lock', DeployLock.releasePlan(env, folder));
    } else await lock.release(kubectl, output);
    output.out(options.dryRun ? '\ndry run finished: nothing was applied\n' : `\ndeployed ${describeRelease(options.env, releaseTag, dir)}\n`);
    if (options.dryRun && options.manifestsDir === undefined) {
      keptFolder = folder;
      output.out(`the release files the plan names are kept in ${printablePath(folder, runtime.cwd)}/ (remove it when done; the next deploy removes it too)\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof DeployStopped) {
      const lost = lockLost.signal.aborted && runtime.stop?.aborted !== true;
      const reason = lost ? stopReason(lockLost.signal) : error.reason;
      output.err(
        `\ndeploy STOPPED (${lost ? reason.why : `${reason.signal}: ${reason.why}`}) during step ${reporter.current ?? '(before the first step)'}.\n` +
          'Nothing was applied after that; every kubectl the deploy started has ended.\n' +
          stateReport(journal, notRun) +
          'To finish the release, re-run the same deploy: server-side apply is idempotent and the gate recreates the Job.\n',
      );
      return lost ? 1 : exitCodeFor(reason);
    }
    if (!(error instanceof StackError)) throw error;
    if (notRun.length > 0) output.err(`not run:\n${notRun.map((title) => `  - ${title}\n`).join('')}`);
    output.err(`\ndeploy failed: ${error.message}\n`);
    if (!options.dryRun && (journal.applied.length > 0 || journal.job !== undefined)) output.err(stateReport(journal, []));
    return 1;
  } finally {
    if (lock !== undefined) await lock.release(kubectl, output);
    folders.removeAll(keptFolder);
  }
}

/**
 * The tag a deploy without --tag releases: the environment's config `imageTag`,
 * which `dist/` and the review show. Said before anything else, with how to
 * deploy another build. A config that does not read is left to synthesis, which
 * names its problems.
 */
function reviewedTag(env: string, configDir: string | undefined, output: Output): string | undefined {
  let configured: { tag: unknown; file: string };
  try {
    configured = configuredImageTag(env, configDir);
  } catch (error) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
  if (typeof configured.tag !== 'string') return undefined;
  output.out(
    `deploying imageTag ${configured.tag} from ${shownPath(configured.file)} (the reviewed release); ` +
      'pass --tag <commit of the honeyDue application repository> to deploy another build\n',
  );
  return configured.tag;
}

/** The cluster state after a stop or failure: what this deploy applied, the Job, what did not run. */
function stateReport(journal: Journal, notRun: readonly string[]): string {
  const lines = ['cluster state:', ...journal.describe().map((line) => `  ${line}`)];
  if (notRun.length > 0) lines.push('not run:', ...notRun.map((title) => `  - ${title}`));
  return `${lines.join('\n')}\n`;
}

/**
 * Confirms the previewed changes: --yes goes on; on a terminal the operator is
 * asked; without a terminal and without --yes the deploy refuses. Then, for a
 * Traefik upgrade, reads the helm-install Job as it was before the apply.
 */
function confirmStep(
  options: DeployOptions,
  runtime: DeployRuntime,
  stop: AbortSignal,
  upgrades: readonly ChartUpgrade[],
  jobUids: Map<ChartUpgrade, string>,
): Step {
  const plan: PlanLine[] = [
    note(options.yes ? '--yes: no question' : 'asks "Apply these changes? [y/N]" on a terminal; without one, refuses (pass --yes)'),
    ...upgrades.map((upgrade) => kubectlCall(jobUidArgs(upgrade))),
  ];
  return {
    title: 'confirm the changes',
    plan,
    async run({ kubectl, output }) {
      if (options.yes) output.out('--yes: going on without asking\n');
      else if (!runtime.interactive || runtime.confirm === undefined) {
        throw new DeployError(
          'the changes above need a yes, and there is no terminal to ask on: nothing was applied. ' +
            'Read the preview, then re-run with --yes (as CI must)',
        );
      } else {
        const answer = await askUnlessStopped(runtime.confirm, 'Apply these changes? [y/N] ', stop);
        if (!answer) throw new DeployError('not confirmed: nothing was applied');
      }
      for (const upgrade of upgrades) jobUids.set(upgrade, await currentJobUid(kubectl, upgrade));
    },
  };
}

/**
 * The operator's answer, unless the deploy stops first: then DeployStopped,
 * even when the closed question answers "no" in the same moment (the stop is
 * seen first, so a stop is never reported as "not confirmed").
 */
function askUnlessStopped(
  confirm: (question: string, stop: AbortSignal) => Promise<boolean>,
  question: string,
  stop: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const stopped = () => reject(new DeployStopped(stopReason(stop)));
    if (stop.aborted) return stopped();
    stop.addEventListener('abort', stopped, { once: true });
    const settle = (settleWith: () => void) => {
      stop.removeEventListener('abort', stopped);
      if (stop.aborted) stopped();
      else settleWith();
    };
    confirm(question, stop).then(
      (answer) => settle(() => resolve(answer)),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}

/** The environment the objects name under the config's environment label, which must be the one synthesized. */
function environmentOf(manifests: StackManifests, labels: StackLabels, options: DeployOptions): string {
  const key = labels.environmentKey;
  const env = namedEnvironment(manifests, key);
  if (env === undefined) {
    throw new DeployError(
      `the objects in ${manifests.dir} carry no ${key} label (synthesized before the label existed): ` +
        'synthesize again (npm run synth) so the lock and prune know the environment',
    );
  }
  if (options.manifestsDir === undefined && env !== options.env) {
    throw new DeployError(
      `synthesized ${options.env} but its objects say ${key}: ${env}: the stack's environment prop must be ` +
        `the environment's name (app/synth.ts passes it), or the lock and prune would act for ${env}`,
    );
  }
  return env;
}

/**
 * An environment whose config says `deploy.enabled: false` (staging, until it has a
 * database and bucket of its own) stops the deploy here, before any kubectl call.
 */
function refuseUndeployable(env: string, configDir: string | undefined, synthesizes: boolean): void {
  let refusal: string | undefined;
  try {
    refusal = deployRefusal(env, configDir);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Synthesis reports a config that does not load, in its words, and stops there. Reviewed
    // files whose environment's config cannot be read fail safe: it may say not deployable.
    if (synthesizes) return;
    throw new DeployError(`cannot tell whether ${env} may be deployed: ${error.message}`);
  }
  if (refusal !== undefined) throw new DeployError(`${refusal}; nothing was run against the cluster`);
}

/** This deploy's folders under .deploy/: created on demand, all removed when the deploy ends. */
class DeployFolders {
  current: string | undefined;
  private readonly created: string[] = [];

  constructor(private readonly repoRoot: string) {}

  create(env: string): string {
    const root = join(this.repoRoot, DEPLOY_OUT_DIR);
    mkdirSync(root, { recursive: true });
    // Two deploys of one process (tests run them in process) can start in the same second: the
    // folder is made only if it does not exist, and the later deploy takes the next free second.
    for (let at = Date.now(); ; at += 1000) {
      const folder = join(root, deployFolderName(env, new Date(at), process.pid));
      try {
        mkdirSync(folder);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      this.created.push(folder);
      this.current = folder;
      return folder;
    }
  }

  /** @param keep a folder that outlives the deploy: a dry run's release files, which its plan names */
  removeAll(keep?: string): void {
    for (const folder of this.created) if (folder !== keep) rmSync(folder, { recursive: true, force: true });
  }

  /**
   * A deploy that was killed (kill -9, a closed laptop) never ran removeAll: its
   * folder is removed by the next deploy, once its pid (the last part of the
   * name) is not running. A folder whose pid runs is left alone, even if that
   * pid now belongs to another program: a running deploy's files are never touched.
   */
  removeLeftovers(output: Output): void {
    const root = join(this.repoRoot, DEPLOY_OUT_DIR);
    if (!existsSync(root)) return;
    for (const name of readdirSync(root)) {
      const pid = deployFolderPid(name);
      if (pid === undefined || pid === process.pid || isRunning(pid)) continue;
      rmSync(join(root, name), { recursive: true, force: true });
      output.out(`removed ${DEPLOY_OUT_DIR}/${name}: left by deploy pid ${pid}, which is no longer running\n`);
    }
  }
}

/** Signal 0 tests for the process: ESRCH means gone; EPERM means it runs (as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Printed plans stay short when run from the repository, and exact from anywhere else. */
function printablePath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel || '.';
}

function describeRelease(env: string, tag: string | undefined, dir: string): string {
  return tag === undefined ? dir : `${env} at tag ${tag}`;
}

function describeManifests(manifests: StackManifests, labels: StackLabels, output: Output): void {
  output.out(`\nrelease: ${manifests.objects.length} objects in ${manifests.files.length} files of ${manifests.dir}\n`);
  for (const file of manifests.files) {
    output.out(`  ${file.name}: ${file.objects.map((o) => `${o.kind}/${o.name}`).join(', ')}\n`);
  }
  for (const object of unlabelledObjects(manifests, labels)) {
    output.err(
      `warning: ${object.kind} ${object.name} in ${object.file} lacks the stack labels; ` +
        'prune will not find it once it leaves the stack\n',
    );
  }
}

/** Numbers the steps and prints each one's name and elapsed time (or, in a dry run, its plan). */
class StepReporter {
  private count = 0;
  /** `N: title` of the step running now (or the last one started). */
  current: string | undefined;

  constructor(
    private readonly kubectl: Kubectl,
    private readonly output: Output,
    private readonly dryRun: boolean,
    private readonly journal: Journal,
    private readonly stop: AbortSignal,
  ) {}

  async run(step: Step): Promise<void> {
    const number = ++this.count;
    this.current = `${number} (${step.title})`;
    this.output.out(`\n==> step ${number}: ${step.title}\n`);
    if (this.dryRun && step.local !== true) {
      for (const line of step.plan) this.output.out(this.planText(line));
      return;
    }
    const started = process.hrtime.bigint();
    const elapsed = () => `${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)}s`;
    try {
      await step.run({ kubectl: this.kubectl, output: this.output, journal: this.journal, stop: this.stop });
    } catch (error) {
      this.output.err(`<== step ${number} ${error instanceof DeployStopped ? 'stopped' : 'failed'} after ${elapsed()}\n`);
      throw error;
    }
    this.output.out(`<== step ${number} done in ${elapsed()}\n`);
  }

  /** A plan printed under its own heading, for what happens after the last step (the lock release). */
  printPlan(title: string, plan: readonly PlanLine[]): void {
    this.output.out(`\n==> then: ${title}\n`);
    for (const line of plan) this.output.out(this.planText(line));
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
