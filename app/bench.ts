/**
 * `npm run bench [-- --runs N --scale 1,10,50 --tests --no-write]`: how long
 * the commands take, judged against their targets from this run's own figures,
 * recorded in docs/benchmark.md with the date, the machine and its load.
 *
 * - `npm run synth` as a process, end to end: what a user waits for (npm,
 *   esbuild bundling the TypeScript, node loading it, rendering, the manifest check,
 *   writing). Every environment, checked and written, to a scratch folder
 *   (never dist/). Once on an unchanged tree, and once as the first synth
 *   after an edit of a `.ts` file (a comment appended to app/synth.ts before
 *   each run; the file is restored afterwards).
 * - `kubectl kustomize` over the files that synth wrote, as the reference of a
 *   tool that only reads and prints YAML.
 * - `npm run deploy -- --dry-run`, which synthesizes production itself and
 *   prints the kubectl plan: its cost beyond `npm run synth` is the deploy's.
 * - `npm test`, once, only with `--tests` (it takes many times the rest).
 * - The synth command and rendering in process, and a scale run: the work of
 *   this code alone, after loading.
 *
 * A benchmark reports; it fails nothing. A figure that cannot be measured (no
 * kubectl, a command that fails) is recorded with the reason, its target is
 * "not judged", and the run still exits 0.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from './shared/repo-root';
import { listEnvironments } from './config';
import { renderEnvironment, synthesize } from './synth';
import { runSynth } from './synth-cli';

/** Where a run records its figures: docs/, so reviews and commit messages can point at one measured record. */
export const BENCHMARK_DOC_FILE = path.join(REPO_ROOT, 'docs', 'benchmark.md');

/**
 * The targets, in seconds or as a ratio. Synth is a step of every review and
 * every deploy, so it should cost about what reading the YAML costs
 * (`kubectl kustomize`), not several times it; the deploy's own work before its
 * first kubectl call, and the whole test suite, are bounded for the same reason.
 */
export const TARGETS = {
  /** `npm run synth` median, on a 2-core machine. */
  synthSeconds: 0.5,
  /** `npm run synth` median over `kubectl kustomize` median, same files, nothing edited. */
  synthOverKustomize: 8,
  /** The first `npm run synth` after an edit of a `.ts` file, median over `kubectl kustomize` median. */
  editedSynthOverKustomize: 10,
  /** `npm run deploy -- --dry-run` median minus `npm run synth` median. */
  deployBeyondSynthSeconds: 1,
  /** One `npm test`, wall clock. */
  testSeconds: 20,
} as const;

/** The image tag of the deploy's dry run: any commit SHA; it only changes image strings. */
const DRY_RUN_TAG = 'abcdef1';
/** Runs per scale point: the 50-environment run is short enough to repeat, and GC makes single runs jumpy. */
const SCALE_RUNS = 5;

interface BenchOptions {
  readonly runs: number;
  readonly scale: number[];
  readonly tests: boolean;
  readonly write: boolean;
}

interface ScalePoint {
  readonly environments: number;
  readonly objects: number;
  /** Median wall-clock time. */
  readonly medianMs: number;
  /** Median CPU time of this process: what other work on the machine barely moves. */
  readonly cpuMs: number;
}

/**
 * A figure: the median and every run's wall time (and the median CPU time of
 * the processes, where the system reports it), or why it could not be measured.
 */
export type Figure = { readonly medianMs: number; readonly runsMs: number[]; readonly cpuMs?: number } | { readonly missing: string };

/** The figures the targets are judged on; any of them may be missing. */
export interface TargetFigures {
  readonly npmSynth: Figure;
  /** `npm run synth`, each run the first after an edit of a `.ts` file. */
  readonly editedSynth: Figure;
  readonly kustomize: Figure;
  readonly deployDryRun: Figure;
  readonly npmTest: Figure;
}

/** One target's line in the record: what was promised, the figure it was judged on, and the verdict. */
export interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly verdict: 'met' | 'NOT met' | 'not judged';
}

const quiet = () => undefined;
const say = (line: string) => console.log(line);
const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
const has = (figure: Figure): figure is Extract<Figure, { medianMs: number }> => 'medianMs' in figure;

/** The middle value, or the mean of the two middle ones: a slow run (GC, other work) does not move it. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Each target met or not, from the figures of one run alone: nothing recorded
 * earlier is consulted, so the verdict in docs/benchmark.md is the run's own.
 */
export function judgeTargets(figures: TargetFigures): Verdict[] {
  const { npmSynth, editedSynth, kustomize, deployDryRun, npmTest } = figures;
  const why = (...missing: Figure[]) =>
    missing.flatMap((f) => (has(f) ? [] : [f.missing])).join('; ');
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met') as Verdict['verdict'];
  const rows: Verdict[] = [];
  rows.push(
    has(npmSynth)
      ? { target: `\`npm run synth\` at most ${TARGETS.synthSeconds} s (median)`, measured: seconds(npmSynth.medianMs), verdict: verdict(npmSynth.medianMs <= TARGETS.synthSeconds * 1000) }
      : { target: `\`npm run synth\` at most ${TARGETS.synthSeconds} s (median)`, measured: `not measured: ${why(npmSynth)}`, verdict: 'not judged' },
  );
  const ratio = (synth: Figure, bound: number, target: string) => {
    if (has(synth) && has(kustomize)) {
      const times = synth.medianMs / kustomize.medianMs;
      rows.push({ target, measured: `${times.toFixed(2)}x`, verdict: verdict(times <= bound) });
    } else {
      rows.push({ target, measured: `not measured: ${why(synth, kustomize)}`, verdict: 'not judged' });
    }
  };
  ratio(npmSynth, TARGETS.synthOverKustomize, `\`npm run synth\` on an unchanged tree at most ${TARGETS.synthOverKustomize}x \`kubectl kustomize\` over the same files (medians)`);
  ratio(editedSynth, TARGETS.editedSynthOverKustomize, `the first \`npm run synth\` after an edit of a \`.ts\` file at most ${TARGETS.editedSynthOverKustomize}x \`kubectl kustomize\` (medians)`);
  const deployTarget = `\`npm run deploy -- --dry-run\` at most ${TARGETS.deployBeyondSynthSeconds} s beyond \`npm run synth\` (medians)`;
  if (has(npmSynth) && has(deployDryRun)) {
    const beyond = deployDryRun.medianMs - npmSynth.medianMs;
    rows.push({ target: deployTarget, measured: `${beyond >= 0 ? '+' : '-'}${seconds(Math.abs(beyond))}`, verdict: verdict(beyond <= TARGETS.deployBeyondSynthSeconds * 1000) });
  } else {
    rows.push({ target: deployTarget, measured: `not measured: ${why(npmSynth, deployDryRun)}`, verdict: 'not judged' });
  }
  rows.push(
    has(npmTest)
      ? { target: `\`npm test\` at most ${TARGETS.testSeconds} s (one run)`, measured: seconds(npmTest.medianMs), verdict: verdict(npmTest.medianMs <= TARGETS.testSeconds * 1000) }
      : { target: `\`npm test\` at most ${TARGETS.testSeconds} s (one run)`, measured: `not measured: ${why(npmTest)}`, verdict: 'not judged' },
  );
  return rows;
}

/** Wall-clock time, and this process's own CPU time (user + system), of one run. */
function measure(work: () => void): { wallMs: number; cpuMs: number } {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  work();
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * One warm-up, then `runs` timed runs, each reported as it ends. The CPU times
 * count only in-process work (a child process's CPU is not this process's).
 */
function timeRuns(label: string, runs: number, work: () => void): { wall: number[]; cpu: number[] } {
  process.stdout.write(`  ${label}: warm-up`);
  work();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const run = measure(work);
    wall.push(run.wallMs);
    cpu.push(run.cpuMs);
    process.stdout.write(` ${run.wallMs.toFixed(0)}`);
  }
  process.stdout.write(' ms\n');
  return { wall, cpu };
}

/**
 * CPU time (user + system) of every finished child process of this one and of
 * theirs (npm waits for its shell, the shell for node), from /proc/self/stat;
 * undefined where there is no /proc. Other work on the machine inflates wall
 * time far more than it does this.
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // The fields after the command name, which may hold spaces: cutime and cstime are the 16th and 17th of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / clockTicks();
  } catch {
    return undefined;
  }
}

let ticks: number | undefined;
function clockTicks(): number {
  ticks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
  return ticks;
}

/** Times a process-level figure; a failure becomes the figure's reason, never the benchmark's. */
function timeFigure(label: string, runs: number, work: () => void): Figure {
  try {
    const cpu: number[] = [];
    const { wall } = timeRuns(label, runs, () => {
      const before = childrenCpuMs();
      work();
      const after = childrenCpuMs();
      if (before !== undefined && after !== undefined) cpu.push(after - before);
    });
    // The warm-up is timed too: its CPU time is left out like its wall time.
    return { medianMs: median(wall), runsMs: wall, cpuMs: cpu.length > 1 ? median(cpu.slice(1)) : undefined };
  } catch (error) {
    const missing = (error as Error).message.split('\n')[0];
    process.stdout.write(`\n  ${label}: not measured: ${missing}\n`);
    return { missing };
  }
}

function runProcess(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}; is it installed and on PATH?`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
  return result.stdout;
}

function kubectlVersion(): string {
  try {
    return runProcess('kubectl', ['version', '--client'], REPO_ROOT).split('\n').filter(Boolean).join('; ');
  } catch (error) {
    return `kubectl: ${(error as Error).message}`;
  }
}

const loadAverage = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function machine() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cores: os.availableParallelism(),
    cpuModel,
    node: process.version,
    kubectl: kubectlVersion(),
    loadAverage: loadAverage(),
  };
}

/**
 * Environment config files for a scale run: production plus n-1 copies, each with
 * its own namespace, hosts, database and bucket (synth refuses environments that
 * share data undeclared) and no Traefik (the cluster's one is production's), so
 * every copy renders the objects production does but its HelmChartConfig.
 */
export function scaleConfigDir(root: string, environments: number): string {
  const configDir = path.join(root, `config-${environments}`);
  fs.mkdirSync(configDir, { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'config', 'production.yaml'), path.join(configDir, 'production.yaml'));
  for (let i = 2; i <= environments; i++) {
    const name = `scale-${String(i).padStart(3, '0')}`;
    fs.writeFileSync(path.join(configDir, `${name}.yaml`), [
      'extends: production',
      `namespace: honeydue-${name}`,
      `domains: { apex: ${name}.example.com, api: api.${name}.example.com, admin: admin.${name}.example.com }`,
      `database: { name: ${name} }`,
      `storage: { bucket: ${name} }`,
      // The cluster has one Traefik: synth refuses a second environment that writes kube-system/traefik.
      'traefik: { enabled: false }',
      '',
    ].join('\n'));
  }
  return configDir;
}

/** Measures, prints and (unless `write` is false) records the benchmark; returns the record's text. */
export function runBenchmark(options: BenchOptions): string {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-bench-'));
  try {
    const host = machine();
    say(`honeydue-k8s benchmark, ${host.date}: ${host.cores} cores (${host.cpuModel}), node ${host.node}, load average ${host.loadAverage}`);
    const envs = listEnvironments().filter((env) => !env.startsWith('_'));
    const rendered = envs.flatMap((env) => renderEnvironment(env, { log: quiet }));
    const objects = rendered.reduce((n, f) => n + f.objects.length, 0);
    const files = rendered.length;
    say(`full synth: ${envs.length} environments (${envs.join(', ')}), ${files} files, ${objects} objects; ${options.runs} runs each after a warm-up`);

    const processOut = path.join(scratch, 'process-dist');
    const synthProcess = () => runProcess('npm', ['run', '--silent', 'synth', '--', '--out', processOut], REPO_ROOT);
    const npmSynth = timeFigure('npm run synth (process)', options.runs, synthProcess);
    // Each run after a new edit: a comment no earlier run saw.
    const edited = path.join(REPO_ROOT, 'app', 'synth.ts');
    const original = fs.readFileSync(edited, 'utf8');
    let edits = 0;
    let editedSynth: Figure;
    try {
      editedSynth = timeFigure('npm run synth after an edit of app/synth.ts (process)', options.runs, () => {
        fs.writeFileSync(edited, `${original}// bench edit ${process.pid}-${Date.now()}-${++edits}\n`);
        synthProcess();
      });
    } finally {
      fs.writeFileSync(edited, original);
    }

    // The reference reads the very files `npm run synth` wrote (a copy, with a kustomization listing them).
    let kustomize: Figure = { missing: '`npm run synth` wrote no output to read' };
    if (has(npmSynth)) {
      const kustomizeDir = path.join(scratch, 'kustomize');
      fs.cpSync(processOut, kustomizeDir, { recursive: true });
      const resources = envs.flatMap((env) => fs.readdirSync(path.join(kustomizeDir, env)).sort().map((f) => `${env}/${f}`));
      fs.writeFileSync(path.join(kustomizeDir, 'kustomization.yaml'), `resources:\n${resources.map((r) => `  - ${r}`).join('\n')}\n`);
      let kustomizeObjects = 0;
      kustomize = timeFigure('kubectl kustomize (process)', options.runs, () => {
        kustomizeObjects = runProcess('kubectl', ['kustomize', kustomizeDir], REPO_ROOT).split(/^---$/m).filter((d) => d.trim()).length;
      });
      if (has(kustomize) && kustomizeObjects !== objects) {
        kustomize = { missing: `kubectl kustomize read ${kustomizeObjects} objects where synth wrote ${objects}, so it did not read the same output` };
      }
    }

    const deployDryRun = timeFigure('npm run deploy -- --dry-run (process)', options.runs, () =>
      runProcess('npm', ['run', '--silent', 'deploy', '--', '--dry-run', '--tag', DRY_RUN_TAG], REPO_ROOT),
    );

    let npmTest: Figure = { missing: 'not run (`npm run bench -- --tests` runs it once)' };
    if (options.tests) {
      say('  npm test (process, one run): running');
      try {
        const cpuBefore = childrenCpuMs();
        const run = measure(() => runProcess('npm', ['test', '--silent'], REPO_ROOT));
        const cpuAfter = childrenCpuMs();
        npmTest = { medianMs: run.wallMs, runsMs: [run.wallMs], cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore };
        say(`  npm test: ${run.wallMs.toFixed(0)} ms`);
      } catch (error) {
        npmTest = { missing: (error as Error).message.split('\n')[0] };
        say(`  npm test: not measured: ${npmTest.missing}`);
      }
    }

    const inProcessOut = path.join(scratch, 'in-process-dist');
    const synthInProcess = timeRuns('synth command in process', options.runs, () => {
      const failures: string[] = [];
      if (runSynth(['--out', inProcessOut], { out: quiet, err: (line) => failures.push(line) }) !== 0) {
        throw new Error(`synth failed in process:\n${failures.join('\n')}`);
      }
    });
    const renderOnly = timeRuns('render only, no check or writes', options.runs, () => envs.forEach((env) => renderEnvironment(env, { log: quiet })));

    say(`scale run: ${options.scale.join(', ')} environments, synthesize() in process (render and write), ${SCALE_RUNS} runs each after a warm-up`);
    const points: ScalePoint[] = options.scale.map((environments) => {
      const configDir = scaleConfigDir(scratch, environments);
      const outDir = path.join(scratch, `scale-dist-${environments}`);
      let count = 0;
      const times = timeRuns(`${environments} environment(s)`, SCALE_RUNS, () => {
        count = synthesize({ configDir, outDir, log: quiet }).files.reduce((n, f) => n + f.objects.length, 0);
      });
      return { environments, objects: count, medianMs: median(times.wall), cpuMs: median(times.cpu) };
    });

    const report = benchmarkReport(host, loadAverage(), {
      envs,
      files,
      objects,
      runs: options.runs,
      targets: { npmSynth, editedSynth, kustomize, deployDryRun, npmTest },
      synthInProcessMs: median(synthInProcess.wall),
      renderOnlyMs: median(renderOnly.wall),
      points,
    });
    say('');
    say(report);
    if (options.write) {
      fs.mkdirSync(path.dirname(BENCHMARK_DOC_FILE), { recursive: true });
      fs.writeFileSync(BENCHMARK_DOC_FILE, `${report.trimEnd()}\n${deploySection()}`);
      say(`recorded in ${path.relative(process.cwd(), BENCHMARK_DOC_FILE)}`);
    }
    return report;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** A straight line through the scale points: fixed cost plus cost per object. */
export function fitLine(points: { objects: number; medianMs: number }[]): { perObjectMs: number; fixedMs: number; r2: number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.objects, 0) / n;
  const my = points.reduce((s, p) => s + p.medianMs, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.objects - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.objects - mx) * (p.medianMs - my), 0);
  const perObjectMs = sxx === 0 ? 0 : sxy / sxx;
  const fixedMs = my - perObjectMs * mx;
  const ssTotal = points.reduce((s, p) => s + (p.medianMs - my) ** 2, 0);
  const ssResidual = points.reduce((s, p) => s + (p.medianMs - (fixedMs + perObjectMs * p.objects)) ** 2, 0);
  return { perObjectMs, fixedMs, r2: ssTotal === 0 ? 1 : 1 - ssResidual / ssTotal };
}

function benchmarkReport(
  host: ReturnType<typeof machine>,
  loadAtEnd: string,
  r: {
    envs: string[]; files: number; objects: number; runs: number;
    targets: TargetFigures; synthInProcessMs: number; renderOnlyMs: number; points: ScalePoint[];
  },
): string {
  const s = seconds;
  const figure = (f: Figure) => (has(f) ? s(f.medianMs) : `not measured: ${f.missing}`);
  const runs = (f: Figure) => (has(f) ? f.runsMs.map((ms) => (ms / 1000).toFixed(2)).join(', ') : '');
  const cpu = (f: Figure) => (has(f) && f.cpuMs !== undefined ? s(f.cpuMs) : '');
  const { npmSynth, editedSynth, kustomize, deployDryRun, npmTest } = r.targets;
  // Linearity is judged on CPU time: wall time on a shared machine also counts everyone else's work.
  const fit = fitLine(r.points.map((p) => ({ objects: p.objects, medianMs: p.cpuMs })));
  const wallFit = fitLine(r.points);
  const perObject = r.points.map((p) => p.cpuMs / p.objects);
  // Growth is linear when the CPU time per object at the largest run is close to that at the second
  // largest: a fixed start-up cost makes small runs dearer per object, a superlinear cost makes large ones.
  const [previous, largest] = perObject.slice(-2);
  const growth = largest / previous;
  const linear = r.points.length >= 2 && growth <= 1.25 && fit.r2 >= 0.98;
  const verdicts = judgeTargets(r.targets);
  return [
    '# Benchmark',
    '',
    '<!-- Written by `npm run bench` (app/bench.ts). Measured figures only; rerun to refresh. -->',
    '',
    '`npm run bench` times each command as a process; `npm run bench -- --tests` adds one `npm test`. It fails nothing: a figure it cannot measure is recorded with the reason, and its target is not judged. Wall times from a loaded machine say little (the CPU column less so): rerun on a quiet one.',
    '',
    `Measured ${host.date} on ${host.cores} cores (${host.cpuModel}), node ${host.node}, ${host.kubectl}.`,
    `Load average when it started: ${host.loadAverage}; when it ended: ${loadAtEnd} (other work on the machine inflates every figure alike).`,
    '',
    `Full synth: ${r.envs.length} environments (${r.envs.join(', ')}), ${r.files} files, ${r.objects} objects. Median of ${r.runs} runs after one warm-up.`,
    '',
    '## Targets',
    '',
    'Judged from this run\'s figures alone.',
    '',
    '| Target | Measured | Verdict |',
    '| --- | --- | --- |',
    ...verdicts.map((v) => `| ${v.target} | ${v.measured} | ${v.verdict} |`),
    '',
    '## Figures',
    '',
    'Median wall time, every run\'s wall time, and the median CPU time (user + system) of the processes, which other work on the machine inflates far less than wall time.',
    '',
    '| What | Median | Runs (s) | CPU |',
    '| --- | --- | --- | --- |',
    `| \`npm run synth\`, end to end as a process, nothing edited (npm, esbuild, node loading the bundle, render, manifest check, write) | ${figure(npmSynth)} | ${runs(npmSynth)} | ${cpu(npmSynth)} |`,
    `| \`npm run synth\` as a process, each run the first after an edit of app/synth.ts | ${figure(editedSynth)} | ${runs(editedSynth)} | ${cpu(editedSynth)} |`,
    `| reference: \`kubectl kustomize\` over the files that synth wrote, as a process | ${figure(kustomize)} | ${runs(kustomize)} | ${cpu(kustomize)} |`,
    `| \`npm run deploy -- --dry-run --tag ${DRY_RUN_TAG}\` as a process (synthesizes and checks production, prints the plan) | ${figure(deployDryRun)} | ${runs(deployDryRun)} | ${cpu(deployDryRun)} |`,
    `| \`npm test\`, one run | ${figure(npmTest)} | ${runs(npmTest)} | ${cpu(npmTest)} |`,
    `| the synth command in process (\`runSynth\`: render, manifest check, write; modules already loaded) | ${s(r.synthInProcessMs)} | | |`,
    `| rendering only, in process (no check, no writes) | ${s(r.renderOnlyMs)} | | |`,
    '',
    '## Scale',
    '',
    `The stack synthesized for more environments (production plus copies in their own namespaces), \`synthesize()\` in process (render and write; the manifest check is left out because its exemptions name production's objects), median of ${SCALE_RUNS} runs after a warm-up.`,
    '',
    '| Environments | Objects | Median wall time | Per object | Median CPU time | Per object |',
    '| --- | --- | --- | --- | --- | --- |',
    ...r.points.map(
      (p) => `| ${p.environments} | ${p.objects} | ${s(p.medianMs)} | ${(p.medianMs / p.objects).toFixed(2)} ms | ${s(p.cpuMs)} | ${(p.cpuMs / p.objects).toFixed(2)} ms |`,
    ),
    '',
    `Least-squares line, CPU time: ${fit.fixedMs.toFixed(1)} ms + ${fit.perObjectMs.toFixed(2)} ms per object (R² ${fit.r2.toFixed(4)}); ` +
      `wall time: ${wallFit.fixedMs.toFixed(1)} ms + ${wallFit.perObjectMs.toFixed(2)} ms per object (R² ${wallFit.r2.toFixed(4)}).`,
    `CPU time per object from ${r.points[r.points.length - 2]?.environments} to ${r.points[r.points.length - 1]?.environments} environments changed by a factor of ${growth.toFixed(2)}: ` +
      `${linear ? 'growth is linear in objects' : 'growth is NOT linear in objects'} (linear means a factor of at most 1.25 and R² of at least 0.98).`,
    '',
  ].join('\n');
}

/**
 * The deploy's figures on the local control plane are measured by another run
 * (`npm run bench:deploy`) and recorded by hand under their own heading: a
 * synth benchmark keeps them as they are.
 */
const DEPLOY_SECTION = '## The deploy on the local control plane';

function deploySection(): string {
  const recorded = fs.existsSync(BENCHMARK_DOC_FILE) ? fs.readFileSync(BENCHMARK_DOC_FILE, 'utf8') : '';
  const at = recorded.indexOf(DEPLOY_SECTION);
  return at < 0 ? '' : `\n${recorded.slice(at)}`;
}

/**
 * The command line of `npm run bench`. Defaults: 7 runs (an odd count has a true
 * median), scale points 1, 10 and 50 environments, no `npm test` run (it takes
 * longer than everything else together), and the record written.
 */
export function parseArgs(argv: string[]): BenchOptions {
  let runs = 7;
  let scale = [1, 10, 50];
  let tests = false;
  let write = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--runs') {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${argv[i]}: give a whole number of runs, at least 1`);
    } else if (arg === '--scale') {
      scale = (argv[++i] ?? '').split(',').map(Number);
      if (scale.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--scale ${argv[i]}: give environment counts like 1,10,50`);
    } else if (arg === '--tests') {
      tests = true;
    } else if (arg === '--no-write') {
      write = false;
    } else {
      throw new Error(`unknown option '${arg}'; use --runs N, --scale 1,10,50, --tests or --no-write`);
    }
  }
  return { runs, scale, tests, write };
}

if (require.main === module) {
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    process.exit(2);
  }
  try {
    runBenchmark(options);
  } catch (error) {
    // Reports, never fails: an unforeseen error is printed, and nothing is recorded.
    console.error(`bench stopped before recording anything: ${(error as Error).stack ?? (error as Error).message}`);
  }
}
