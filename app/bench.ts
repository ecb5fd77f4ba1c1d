/**
 * `npm run bench [-- --runs N --scale 1,10,50 --no-write]`: how long synth
 * takes, against `kubectl kustomize` over the same YAML as the reference, and
 * how it grows with the number of environments. Prints the figures and records
 * them in docs/benchmark.md with the date and the machine.
 *
 * Two synth figures, because they answer different questions:
 * - `npm run synth` as a process, end to end: what a user waits for (npm, tsx
 *   compiling TypeScript, loading cdk8s, rendering, writing). The 1.0 s target
 *   is about this one.
 * - synthesize() in process: the work of this code alone, after loading.
 * Every synth here writes to a scratch folder, never to dist/.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listEnvironments } from './config';
import { renderEnvironment, synthesize } from './synth';
import { runSynth } from './synth-cli';

const REPO_ROOT = path.resolve(__dirname, '..');
export const BENCHMARK_DOC_FILE = path.join(REPO_ROOT, 'docs', 'benchmark.md');
const TARGET_SECONDS = 1.0;
/** Runs per scale point: the 50-environment run is short enough to repeat, and GC makes single runs jumpy. */
const SCALE_RUNS = 5;

interface BenchOptions {
  readonly runs: number;
  readonly scale: number[];
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

const quiet = () => undefined;
const say = (line: string) => console.log(line);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
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

function runProcess(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}; is it installed and on PATH?`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

function machine() {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const nproc = runProcess('nproc', [], REPO_ROOT).trim();
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc,
    cpuModel,
    node: process.version,
    kubectl: runProcess('kubectl', ['version', '--client'], REPO_ROOT).split('\n').filter(Boolean).join('; '),
    loadAverage: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

/**
 * Environment config files for a scale run: production plus n-1 copies, each with
 * its own namespace, hosts, database and bucket (synth refuses environments that
 * share data undeclared), so every copy renders the same objects production does.
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
      '',
    ].join('\n'));
  }
  return configDir;
}

export function runBenchmark(options: BenchOptions): string {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-bench-'));
  try {
    const host = machine();
    say(`honeydue-k8s benchmark, ${host.date}: ${host.nproc} cores (${host.cpuModel}), node ${host.node}, load average ${host.loadAverage}`);
    const envs = listEnvironments().filter((env) => !env.startsWith('_'));
    const rendered = envs.flatMap((env) => renderEnvironment(env, { log: quiet }));
    const objects = rendered.reduce((n, f) => n + f.objects.length, 0);
    const files = rendered.length;
    say(`full synth: ${envs.length} environments (${envs.join(', ')}), ${files} files, ${objects} objects; ${options.runs} runs each after a warm-up`);

    const processOut = path.join(scratch, 'process-dist');
    const npmSynth = timeRuns('npm run synth (process)', options.runs, () => runProcess('npm', ['run', '--silent', 'synth', '--', '--out', processOut], REPO_ROOT));
    const inProcessOut = path.join(scratch, 'in-process-dist');
    const synthInProcess = timeRuns('synth command in process', options.runs, () => {
      const failures: string[] = [];
      if (runSynth(['--out', inProcessOut], { out: quiet, err: (line) => failures.push(line) }) !== 0) {
        throw new Error(`synth failed in process:\n${failures.join('\n')}`);
      }
    });
    const renderOnly = timeRuns('render only, no check or writes', options.runs, () => envs.forEach((env) => renderEnvironment(env, { log: quiet })));

    // The reference: kustomize reading the same files (a copy of dist/, so nothing is added to dist/).
    const kustomizeDir = path.join(scratch, 'kustomize');
    fs.cpSync(path.join(REPO_ROOT, 'dist'), kustomizeDir, { recursive: true });
    const resources = envs.flatMap((env) => fs.readdirSync(path.join(kustomizeDir, env)).sort().map((f) => `${env}/${f}`));
    fs.writeFileSync(path.join(kustomizeDir, 'kustomization.yaml'), `resources:\n${resources.map((r) => `  - ${r}`).join('\n')}\n`);
    let kustomizeObjects = 0;
    const kustomize = timeRuns('kubectl kustomize (process)', options.runs, () => {
      kustomizeObjects = runProcess('kubectl', ['kustomize', kustomizeDir], REPO_ROOT).split(/^---$/m).filter((d) => d.trim()).length;
    });
    if (kustomizeObjects !== objects) {
      throw new Error(`kubectl kustomize read ${kustomizeObjects} objects from dist/, synth renders ${objects}; run \`npm run synth\` so dist/ is current`);
    }

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

    const report = benchmarkReport(host, {
      envs,
      files,
      objects,
      runs: options.runs,
      npmSynthMs: median(npmSynth.wall),
      synthInProcessMs: median(synthInProcess.wall),
      renderOnlyMs: median(renderOnly.wall),
      kustomizeMs: median(kustomize.wall),
      points,
    });
    say('');
    say(report);
    if (options.write) {
      fs.mkdirSync(path.dirname(BENCHMARK_DOC_FILE), { recursive: true });
      fs.writeFileSync(BENCHMARK_DOC_FILE, report);
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
  r: {
    envs: string[]; files: number; objects: number; runs: number;
    npmSynthMs: number; synthInProcessMs: number; renderOnlyMs: number; kustomizeMs: number; points: ScalePoint[];
  },
): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
  // Linearity is judged on CPU time: wall time on a shared 2-core machine also counts everyone else's work.
  const fit = fitLine(r.points.map((p) => ({ objects: p.objects, medianMs: p.cpuMs })));
  const wallFit = fitLine(r.points);
  const perObject = r.points.map((p) => p.cpuMs / p.objects);
  // Growth is linear when the CPU time per object at the largest run is close to that at the second
  // largest: a fixed start-up cost makes small runs dearer per object, a superlinear cost makes large ones.
  const [previous, largest] = perObject.slice(-2);
  const growth = largest / previous;
  const linear = r.points.length >= 2 && growth <= 1.25 && fit.r2 >= 0.98;
  const within = r.npmSynthMs / 1000 <= TARGET_SECONDS;
  return [
    '# Benchmark',
    '',
    '<!-- Written by `npm run bench` (app/bench.ts). Measured figures only; rerun to refresh. -->',
    '',
    `Measured ${host.date} on ${host.nproc} cores (${host.cpuModel}), node ${host.node}, ${host.kubectl}.`,
    `Load average when it started: ${host.loadAverage} (other work on the machine inflates every figure alike).`,
    '',
    `Full synth: ${r.envs.length} environments (${r.envs.join(', ')}), ${r.files} files, ${r.objects} objects. Median of ${r.runs} runs after one warm-up.`,
    '',
    '| What | Median |',
    '| --- | --- |',
    `| \`npm run synth\`, end to end as a process (npm, tsx, module loading, render, manifest check, write) | ${s(r.npmSynthMs)} |`,
    `| the synth command in process (\`runSynth\`: render, manifest check, write; modules already loaded) | ${s(r.synthInProcessMs)} |`,
    `| rendering only, in process (no check, no writes) | ${s(r.renderOnlyMs)} |`,
    `| reference: \`kubectl kustomize\` over the same files, as a process | ${s(r.kustomizeMs)} |`,
    `| ratio \`npm run synth\` / \`kubectl kustomize\` | ${(r.npmSynthMs / r.kustomizeMs).toFixed(2)} |`,
    `| ratio synth command in process / \`kubectl kustomize\` | ${(r.synthInProcessMs / r.kustomizeMs).toFixed(2)} |`,
    '',
    `Target: full synth at most ${TARGET_SECONDS.toFixed(1)} s median as a process: ${within ? 'met' : 'NOT met'} (${s(r.npmSynthMs)}).`,
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

function parseArgs(argv: string[]): BenchOptions {
  let runs = 7;
  let scale = [1, 10, 50];
  let write = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--runs') {
      runs = Number(argv[++i]);
      if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs ${argv[i]}: give a whole number of runs, at least 1`);
    } else if (arg === '--scale') {
      scale = (argv[++i] ?? '').split(',').map(Number);
      if (scale.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--scale ${argv[i]}: give environment counts like 1,10,50`);
    } else if (arg === '--no-write') {
      write = false;
    } else {
      throw new Error(`unknown option '${arg}'; use --runs N, --scale 1,10,50 or --no-write`);
    }
  }
  return { runs, scale, write };
}

if (require.main === module) {
  try {
    runBenchmark(parseArgs(process.argv.slice(2)));
  } catch (error) {
    console.error(`bench failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
