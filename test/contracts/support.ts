/**
 * Shared by the container-contract tests: they run each container's command,
 * args, env and probes exactly as the synthesized manifests carry them, with
 * the real binaries from Debian packages (`.ci/run` installs them).
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { renderEnvironment } from '../../app/synth';

/** Every object of `dist/<env>/`, rendered from the sources as `npm run synth` writes them. */
export function renderedObjects(env = 'production'): any[] {
  return renderEnvironment(env, { log: () => undefined }).flatMap((file) => file.objects);
}

/** The one object of `kind` named `name`. */
export function objectOf(objects: any[], kind: string, name: string): any {
  const matches = objects.filter((o) => o.kind === kind && o.metadata?.name === name);
  if (matches.length !== 1) throw new Error(`expected one ${kind} '${name}' in the rendered manifests, found ${matches.length}`);
  return matches[0];
}

/** The pod spec of a Deployment or Job. */
export function podSpecOf(workload: any): any {
  return workload.spec.template.spec;
}

/** The Debian packages that hold the binaries, for the messages. */
const PACKAGE_OF: Record<string, string> = {
  'redis-server': 'redis-server',
  'redis-cli': 'redis-tools',
  busybox: 'busybox',
  vmagent: 'victoria-metrics',
  initdb: 'postgresql',
  psql: 'postgresql-client',
  openssl: 'openssl',
  setpriv: 'util-linux',
};

/** An executable on PATH (or an absolute path), or undefined. */
export function findBinary(name: string): string | undefined {
  const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(':').filter(Boolean).map((dir) => path.join(dir, name));
  return candidates.find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** The newest PostgreSQL server's bin directory (Debian keeps servers off PATH, under /usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const majors = fs.readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
  return majors.map((m) => path.join(root, m, 'bin')).find((dir) => fs.existsSync(path.join(dir, 'initdb')));
}

/**
 * `describe` when every binary is there. Missing on a developer's machine, the
 * block is skipped and says so; under `CI=true` a missing binary fails the run
 * (CI installs them; a skip there would hide a broken contract).
 */
export function describeWithBinaries(title: string, binaries: Record<string, string | undefined>, body: () => void): void {
  const missing = Object.entries(binaries).filter(([, found]) => found === undefined).map(([name]) => name);
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const install = `apt-get install -y --no-install-recommends ${[...new Set(missing.map((m) => PACKAGE_OF[m] ?? m))].join(' ')}`;
  if (process.env.CI === 'true') {
    describe(title, () => {
      test(`needs ${missing.join(', ')}`, () => {
        throw new Error(`${title}: ${missing.join(', ')} not found on PATH; CI must run the contract tests (.ci/run installs them: ${install})`);
      });
    });
    return;
  }
  console.warn(`SKIPPED contract tests "${title}": ${missing.join(', ')} not found (${install}); under CI=true this fails`);
  // The title carries the reason to the run's closing summary (test/contracts/skip-reporter.js).
  describe.skip(`${title} (skipped: ${missing.join(', ')} not installed)`, body);
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh temporary directory, removed by {@link cleanup}. */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `honeydue-contract-${prefix}-`));
  created.dirs.push(dir);
  return dir;
}

const created: { dirs: string[]; children: { child: ChildProcess; stopSignal: NodeJS.Signals }[] } = { dirs: [], children: [] };

/**
 * Starts a process and remembers it, so {@link cleanup} stops it even when a
 * test fails: `stopSignal` first (postgres' SIGQUIT takes its backends with
 * it), SIGKILL after 2 s.
 */
export function startTracked(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; stopSignal?: NodeJS.Signals }): TrackedProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  created.children.push({ child, stopSignal: options.stopSignal ?? 'SIGKILL' });
  const tracked: TrackedProcess = { child, output: '', exited: undefined };
  child.stdout!.on('data', (chunk) => (tracked.output += chunk));
  child.stderr!.on('data', (chunk) => (tracked.output += chunk));
  child.on('exit', (code, signal) => (tracked.exited = { code, signal }));
  return tracked;
}

/** A started process, its output so far and how it ended. */
export interface TrackedProcess {
  readonly child: ChildProcess;
  output: string;
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** Stops every process a test started (nothing of theirs is kept) and removes the temp dirs. */
export async function cleanup(): Promise<void> {
  for (const { child, stopSignal } of created.children.splice(0)) {
    for (const signal of [stopSignal, 'SIGKILL'] as const) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      const gone = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        child.once('exit', () => (clearTimeout(timer), resolve()));
      });
      child.kill(signal);
      await gone;
    }
  }
  for (const dir of created.dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `ready` every 50 ms until it holds; throws with `describe()` after `timeoutMs`. */
export async function waitUntil(ready: () => Promise<boolean> | boolean, timeoutMs: number, describeFailure: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${describeFailure()}`);
}

/**
 * The environment a container gets from its manifest: `envFrom` ConfigMaps,
 * then `env` entries, with `secretKeyRef`s looked up in `secrets` (a Secret
 * name to its data). A required key the Secret lacks throws, as the kubelet
 * refuses to start such a container (CreateContainerConfigError).
 */
export function containerEnv(container: any, configMaps: Record<string, Record<string, string>>, secrets: Record<string, Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    if (name === undefined) throw new Error(`envFrom ${JSON.stringify(source)} is not a configMapRef; the contract tests model only those`);
    const data = configMaps[name];
    if (data === undefined) throw new Error(`envFrom names ConfigMap '${name}', which the rendered manifests do not hold`);
    Object.assign(env, data);
  }
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) {
      env[entry.name] = entry.value;
      continue;
    }
    const ref = entry.valueFrom?.secretKeyRef;
    if (!ref) throw new Error(`env ${entry.name}: only value and secretKeyRef are modelled`);
    const value = secrets[ref.name]?.[ref.key];
    if (value !== undefined) env[entry.name] = value;
    else if (!ref.optional) {
      throw new Error(`env ${entry.name}: Secret '${ref.name}' has no key '${ref.key}' and the reference is not optional: the kubelet would not start the container (CreateContainerConfigError)`);
    }
  }
  return env;
}

/** Runs a command to completion (bounded), returning status and output. */
export function runSync(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}) {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env,
    input: options.input,
    timeout: options.timeoutMs ?? 20000,
    encoding: 'utf8',
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/**
 * A directory of stand-ins for the external programs a script runs, each of
 * which appends its argv (NUL-separated, one record per line) to `argvLog`
 * and then execs its command line (`busybox od "$@"`). With this directory
 * first on PATH, the log holds every argv an exec'd program of the script got.
 */
export function argvLoggingBin(dir: string, argvLog: string, programs: Record<string, string>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, commandLine] of Object.entries(programs)) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\nprintf '%s\\0' "$0" "$@" >> '${argvLog}'\necho >> '${argvLog}'\nexec ${commandLine}\n`, { mode: 0o755 });
  }
}
