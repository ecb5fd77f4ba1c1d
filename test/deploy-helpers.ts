/**
 * Shared by the deploy tests: a sandbox with the stand-in kubectl
 * (test/fixtures/deploy/kubectl-standin.sh) first on PATH, the release fixture
 * synthesized from production's config with web on, a local health endpoint on
 * 127.0.0.1 (the tests never reach the internet), and readers for the calls
 * the stand-in recorded.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDeployCli } from '../app/deploy/cli';
import { phaseName } from '../app/shared/stack-files';
import { parseDocument } from 'yaml';
import { synthesize } from '../app/synth';
import { NODE_TS } from './node-ts';

export const repoRoot = join(__dirname, '..');
export const fixtures = join(__dirname, 'fixtures', 'deploy');
/**
 * The deploy tests' config folder: production's own file, with web on (so every
 * phase has a file) and a fixed tag. Made from config/production.yaml at load,
 * so the fixture never drifts from what production synthesizes.
 */
export const fixtureConfig = productionWithWeb();

function productionWithWeb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-config-'));
  const doc = parseDocument(readFileSync(join(repoRoot, 'config', 'production.yaml'), 'utf8'));
  doc.set('imageTag', 'abc1234');
  doc.setIn(['web', 'enabled'], true);
  writeFileSync(join(dir, 'production.yaml'), doc.toString());
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
/**
 * Where the stand-in's helper keeps the objects of each manifest file it parsed, by
 * content (see standin-objects.js): one per test process, removed at its exit.
 */
const yamlCache = mkdtempSync(join(tmpdir(), 'deploy-standin-yaml-'));
process.on('exit', () => rmSync(yamlCache, { recursive: true, force: true }));

export const SELECTOR =
  'app.kubernetes.io/part-of=honeydue,app.kubernetes.io/managed-by=honeydue-k8s,honeydue.io/environment=production';
export const RT = '--request-timeout=30s';

/** The lock release: the Lease is read, then deleted on that resourceVersion (a raw DELETE with DeleteOptions). */
export const LOCK_READ = 'get lease honeydue-deploy-production -n kube-system -o json';
export const LOCK_DELETE =
  /^delete --raw \/apis\/coordination\.k8s\.io\/v1\/namespaces\/kube-system\/leases\/honeydue-deploy-production -f \S+\/\.deploy\/production-[^/]+\/lease-delete-options\.json$/;
/** The calls of a release of the lock this deploy holds, as the last entries of `lines`. */
export const LOCK_RELEASE = [LOCK_READ, expect.stringMatching(LOCK_DELETE)];
export const releasesLock = (lines: readonly string[]): boolean => lines.some((line) => LOCK_DELETE.test(line));

/** The Secrets (key names only) the fixture release reads, as an operator created them. */
export const FIXTURE_SECRETS: Record<string, string[]> = {
  'honeydue-secrets': ['POSTGRES_PASSWORD', 'SECRET_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'EMAIL_HOST_PASSWORD', 'B2_KEY_ID', 'B2_APP_KEY'],
  'honeydue-apns-key': ['apns_auth_key.p8'],
  'gitea-credentials': ['.dockerconfigjson'],
  'vmagent-ingest-token': ['token'],
};

export interface DeployRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Each recorded call's arguments (the `kubectl` itself left out), in the order they were made. */
  readonly calls: string[][];
  /** Calls as lines without the cluster flags and without `--request-timeout=30s`, for readable order assertions. */
  readonly lines: string[];
  readonly seconds: number;
  /** Requests the local health endpoint answered during this run. */
  readonly healthHits: number;
}

export interface RunSetup {
  /** STANDIN_* scenario variables (see the stand-in's header). */
  readonly scenario?: Record<string, string>;
  /** Replace PATH entirely (for the missing-kubectl case). */
  readonly path?: string;
  /** Leave out the default `--yes` and `--health-url <local server>`. */
  readonly bare?: boolean;
  readonly interactive?: boolean;
  readonly confirm?: (question: string) => Promise<boolean>;
  readonly stop?: AbortSignal;
  readonly lockRenewMs?: number;
  readonly lockDurationSeconds?: number;
  readonly watchdogGraceMs?: number;
  readonly configDir?: string;
}

/** One test's sandbox: the stand-in on PATH, its call log and state, a scratch repository root. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'deploy-test-'));
  readonly bin = join(this.dir, 'bin');
  readonly callLog = join(this.dir, 'calls.log');
  readonly state = join(this.dir, 'state');
  readonly secrets = join(this.dir, 'secrets');
  readonly root = join(this.dir, 'repo');

  constructor() {
    mkdirSync(this.bin);
    mkdirSync(this.state);
    mkdirSync(this.root);
    copyFileSync(join(fixtures, 'kubectl-standin.sh'), join(this.bin, 'kubectl'));
    chmodSync(join(this.bin, 'kubectl'), 0o755);
    for (const [name, keys] of Object.entries(FIXTURE_SECRETS)) this.writeSecret('honeydue', name, keys);
  }

  writeSecret(namespace: string, name: string, keys: readonly string[] | null): void {
    mkdirSync(join(this.secrets, namespace), { recursive: true });
    const path = join(this.secrets, namespace, name);
    if (keys === null) rmSync(path, { force: true });
    else writeFileSync(path, keys.join(' '));
  }

  /** Environment of a deploy against the stand-in. */
  env(setup: RunSetup = {}): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: setup.path ?? `${this.bin}:${process.env.PATH}`,
      STANDIN_LOG: this.callLog,
      STANDIN_STATE: this.state,
      STANDIN_HELPER: join(fixtures, 'standin-objects.js'),
      STANDIN_YAML_CACHE: yamlCache,
      STANDIN_SECRETS_DIR: this.secrets,
      ...setup.scenario,
    };
  }

  /** Writes a JSON file in the sandbox and returns its path (for STANDIN_* scenarios). */
  json(name: string, value: unknown): string {
    const path = join(this.dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  }

  readCalls(): string[][] {
    if (!existsSync(this.callLog)) return [];
    return readFileSync(this.callLog, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('\x1f').slice(0, -1));
  }

  /** Pids of every stand-in kubectl that ran. */
  kubectlPids(): number[] {
    const dir = join(this.state, 'pids');
    return existsSync(dir) ? readdirSync(dir).map(Number) : [];
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function withoutClusterFlags(call: string[]): string[] {
  const rest = [...call];
  while (rest[0] === '--kubeconfig' || rest[0] === '--context') rest.splice(0, 2);
  return rest.filter((arg) => arg !== RT);
}

export const asLines = (calls: string[][]): string[] => calls.map(withoutClusterFlags).map((c) => c.join(' '));

/**
 * The stand-in's calls in the order the deploy started them. Independent calls start at
 * once (Kubectl.runAtOnce), so which of their processes reached the stand-in's log first is
 * a race; the deploy echoes each call (`$ kubectl ...`) as it starts it, in a fixed order.
 * Each logged call takes the place of the first echo of the same call not yet taken. A call
 * echoed but never logged (the losing Job wait, killed as it starts) is left out, as the
 * log leaves it out; a logged call never echoed keeps its place after the call before it.
 */
export function inStartOrder(calls: string[][], stdout: string): string[][] {
  const echoed = stdout.split('\n').filter((line) => line.startsWith('$ kubectl ')).map((line) => shellWords(line.slice(2)).slice(1).join('\x1f'));
  const taken = new Set<number>();
  let previous = -1;
  const ranked = calls.map((call, index) => {
    const at = echoed.findIndex((echo, i) => !taken.has(i) && echo === call.join('\x1f'));
    if (at >= 0) taken.add(at);
    previous = at >= 0 ? at : previous + 0.001;
    return { call, rank: previous, index };
  });
  return ranked.sort((a, b) => a.rank - b.rank || a.index - b.index).map(({ call }) => call);
}

/** The words of a line formatCommand printed: plain words, and single-quoted ones with `'\''` for a quote. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i];
    if (char === ' ') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (char === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (char === '\\') {
      word = (word ?? '') + line[++i];
    } else {
      word = (word ?? '') + char;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** Runs the deploy command in this process against the sandbox's stand-in. */
export async function runDeploy(sandbox: Sandbox, args: string[], setup: RunSetup = {}): Promise<DeployRun> {
  let stdout = '';
  let stderr = '';
  const started = Date.now();
  const hitsBefore = health.hits;
  const extra = setup.bare ? [] : ['--yes', ...(args.some((a) => a === '--health-url' || a === '--no-health-check') ? [] : ['--health-url', health.url])];
  const code = await runDeployCli([...args, ...extra], {
    env: sandbox.env(setup),
    output: { out: (text) => (stdout += text), err: (text) => (stderr += text) },
    cwd: repoRoot,
    repoRoot: sandbox.root,
    configDir: setup.configDir ?? fixtureConfig,
    interactive: setup.interactive ?? false,
    confirm: setup.confirm,
    stop: setup.stop,
    lockRenewMs: setup.lockRenewMs ?? 600_000,
    lockDurationSeconds: setup.lockDurationSeconds,
    watchdogGraceMs: setup.watchdogGraceMs,
    holder: 'test@sandbox pid 1',
  });
  const calls = inStartOrder(sandbox.readCalls(), stdout);
  return { code, stdout, stderr, calls, lines: asLines(calls), seconds: (Date.now() - started) / 1000, healthHits: health.hits - hitsBefore };
}

let plainRun: Promise<DeployRun> | undefined;

/**
 * The plain deploy of the fixture release (`--manifests`, no scenario, the
 * health check passing) into an empty cluster, run once per test file in a
 * sandbox of its own and shared by the tests that only read what it did: each
 * asserts on its own part of the same calls and output, and a deploy is most of
 * such a test's time.
 */
export function plainDeploy(): Promise<DeployRun> {
  plainRun ??= (async () => {
    const own = new Sandbox();
    try {
      return await runDeploy(own, ['--manifests', release.arg]);
    } finally {
      own.remove();
    }
  })();
  return plainRun;
}

/** The fixture release, synthesized once per test file: `<dir>/production/*.yaml`. */
export class Release {
  readonly root = mkdtempSync(join(tmpdir(), 'deploy-release-'));
  readonly dir: string;
  /** As passed to --manifests. */
  readonly arg: string;

  constructor(configDir = fixtureConfig) {
    synthesize({ envs: ['production'], outDir: this.root, configDir, log: () => undefined });
    this.dir = join(this.root, 'production');
    this.arg = this.dir;
  }

  /** The path of the file whose phase name is `name` (tolerates an `NN-` prefix). */
  file(name: string): string {
    const found = readdirSync(this.dir).find((entry) => phaseName(entry) === name);
    if (found === undefined) throw new Error(`the fixture release has no ${name}`);
    return join(this.arg, found);
  }

  /** A copy with files replaced (text, by phase name) or removed (null). */
  copy(sandbox: Sandbox, name: string, changes: Record<string, string | null>): string {
    const dir = join(sandbox.dir, name);
    cpSync(this.dir, dir, { recursive: true });
    for (const [file, text] of Object.entries(changes)) {
      const existing = readdirSync(dir).find((entry) => phaseName(entry) === file);
      const path = join(dir, existing ?? file);
      if (text === null) rmSync(path);
      else writeFileSync(path, text);
    }
    return dir;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** How the deploy applies: server-side, as its own field manager, taking over conflicting fields. */
export const SSA = 'apply --server-side --field-manager=honeydue-k8s --force-conflicts';
/** The recorded server-side applies of a file (not the dry runs or the reads). */
export const applied = (lines: string[]) => lines.filter((line) => line.startsWith(`${SSA} -f`));
/** The recorded waits on the migrate Job. */
export const migrateWaits = (lines: string[]) => lines.filter((line) => line.startsWith('wait ') && line.includes('job/honeydue-migrate'));
/** Where the stand-in keeps production's deploy Lease, under a sandbox's shared folder. */
export const leaseFile = (shared: string) => join(shared, 'leases', 'honeydue-deploy-production', 'lease.json');
/** The arguments of a deploy process that applies the fixture release without asking. */
export const procArgs = () => ['--manifests', release.arg, '--yes', '--health-url', health.url];

/** A local stand-in for the public health URL; `status` decides what it answers. */
export const health = {
  server: undefined as Server | undefined,
  url: '',
  status: 200,
  hits: 0,
  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      this.hits++;
      response.statusCode = request.url === '/api/health/' ? this.status : 404;
      response.end('{}');
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/health/`;
  },
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  },
};

/** The fixture release of the test file that called {@link useDeployFixtures} (an ES live binding, set in its beforeAll). */
export let release: Release;
/** The current test's sandbox (set in beforeEach by {@link useDeployFixtures}). */
export let sandbox: Sandbox;

/**
 * What every deploy test file sets up: one fixture release and the local health
 * endpoint per file, a fresh sandbox and a healthy endpoint per test. Read
 * `release` and `sandbox` from this module after calling it.
 */
export function useDeployFixtures(): void {
  beforeAll(async () => {
    release = new Release();
    await health.start();
  });
  afterAll(async () => {
    release.remove();
    await health.stop();
  });
  beforeEach(() => {
    sandbox = new Sandbox();
    health.status = 200;
    health.hits = 0;
  });
  afterEach(() => sandbox.remove());
}

/** A deploy as a real process: `bin/node-ts bin/deploy.ts` (what the npm script runs: one node process) or `npm run -s deploy --`. */
export interface DeployProcess {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves once the process has exited and closed its output. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnDeploy(
  sandbox: Sandbox,
  how: 'node' | 'npm',
  args: string[],
  setup: RunSetup & { detached?: boolean; extraEnv?: Record<string, string> } = {},
): DeployProcess {
  const command = how === 'node' ? [NODE_TS, 'bin/deploy.ts'] : ['npm', 'run', '-s', 'deploy', '--'];
  const child = spawn(command[0], [...command.slice(1), ...args], {
    cwd: repoRoot,
    env: { ...sandbox.env(setup), ...setup.extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: setup.detached ?? false,
  });
  const run: DeployProcess = {
    child,
    stdout: '',
    stderr: '',
    done: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
  return run;
}

/** Polls until `condition` holds (or fails the test after `ms`). */
export async function until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
