/**
 * The deploy against the real control plane (cluster/: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler built from the Kubernetes
 * sources, nodes and kubelets simulated), started once per test run by
 * test/cluster/global-setup.js. Each test gets an environment of its own: a
 * config file named after it (so its own deploy Lease) whose namespace, hosts,
 * database and bucket are its own, and the real kubectl on PATH.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { runDeployCli } from '../../app/deploy/cli';
import { synthesize } from '../../app/synth';

export const repoRoot = join(__dirname, '..', '..');

/** The kubeconfig of the run's control plane (set by global-setup.js; never a developer's own cluster). */
export function kubeconfig(): string {
  const path = process.env.HONEYDUE_TEST_KUBECONFIG;
  if (path === undefined || path === '') throw new Error('HONEYDUE_TEST_KUBECONFIG is unset: run the cluster tests through jest (test/cluster/global-setup.js starts the control plane)');
  return path;
}

export interface Kubectl {
  (args: readonly string[], input?: string): string;
  /** Runs and returns the exit code and output instead of throwing. */
  try(args: readonly string[], input?: string): { code: number; stdout: string; stderr: string };
  json<T = Record<string, unknown>>(args: readonly string[]): T;
}

/** The real kubectl against the run's control plane (or another kubeconfig). */
export function kubectlFor(config = kubeconfig(), extraEnv: NodeJS.ProcessEnv = {}): Kubectl {
  const env = { ...process.env, KUBECONFIG: config, ...extraEnv };
  const run = ((args: readonly string[], input?: string) =>
    execFileSync('kubectl', [...args], { env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })) as Kubectl;
  run.try = (args, input) => {
    const result = spawnSync('kubectl', [...args], { env, input, encoding: 'utf8' });
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  };
  run.json = <T>(args: readonly string[]) => JSON.parse(run([...args, '-o', 'json'])) as T;
  return run;
}

/** The Secrets every release reads, with placeholder values (the deploy reads key names only). */
export const RELEASE_SECRETS: Record<string, string[]> = {
  'honeydue-secrets': ['POSTGRES_PASSWORD', 'SECRET_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'EMAIL_HOST_PASSWORD', 'B2_KEY_ID', 'B2_APP_KEY'],
  'honeydue-apns-key': ['apns_auth_key.p8'],
  'vmagent-ingest-token': ['token'],
};

let counter = 0;

export interface EnvironmentSetup {
  /** Edits of the environment's config document (paths into production.yaml), applied after the test's own names. */
  readonly config?: ReadonlyArray<[readonly (string | number)[], unknown]>;
}

/**
 * One test's environment: production's config with its own namespace, hosts,
 * database and bucket, under a name of its own (the config file's name, so the
 * deploy Lease is its own too). Traefik is off unless the test turns it on: the
 * kube-system/traefik HelmChartConfig is one per cluster.
 */
export class TestEnvironment {
  readonly name: string;
  readonly namespace: string;
  readonly dir = mkdtempSync(join(tmpdir(), 'cluster-env-'));
  readonly configDir = join(this.dir, 'config');
  readonly repo = join(this.dir, 'repo');
  readonly kubectl = kubectlFor();

  constructor(label: string, setup: EnvironmentSetup = {}) {
    this.name = `${label}-${process.pid % 10000}-${++counter}`.slice(0, 40).replace(/-+$/, '');
    this.namespace = `hd-${this.name}`.slice(0, 63);
    mkdirSync(this.configDir);
    mkdirSync(this.repo);
    this.writeConfig(setup);
  }

  writeConfig(setup: EnvironmentSetup = {}): void {
    const doc = parseDocument(readFileSync(join(repoRoot, 'config', 'production.yaml'), 'utf8'));
    doc.set('imageTag', 'abc1234');
    doc.set('namespace', this.namespace);
    doc.setIn(['domains', 'apex'], `${this.name}.test`);
    doc.setIn(['domains', 'api'], `api.${this.name}.test`);
    doc.setIn(['domains', 'admin'], `admin.${this.name}.test`);
    doc.setIn(['database', 'name'], `db_${this.name.replace(/-/g, '_')}`);
    doc.setIn(['storage', 'bucket'], `bucket-${this.name}`);
    doc.setIn(['traefik', 'enabled'], false);
    for (const [path, value] of setup.config ?? []) doc.setIn(path, value);
    writeFileSync(join(this.configDir, `${this.name}.yaml`), doc.toString());
  }

  /** Synthesizes the environment into a fresh folder and returns it (as `--manifests` takes it). */
  synth(tag = 'abc1234'): string {
    const out = mkdtempSync(join(this.dir, 'dist-'));
    synthesize({ envs: [this.name], outDir: out, configDir: this.configDir, imageTag: tag, log: () => undefined });
    return join(out, this.name);
  }

  /** The namespace (as the release writes it, so the deploy finds it its own) and every Secret the release reads. */
  prepare(): void {
    this.kubectl(['apply', '--server-side', '--field-manager=honeydue-k8s', '-f', join(this.synth(), '00-namespace.yaml')]);
    this.createSecrets();
  }

  createSecrets(): void {
    for (const [name, keys] of Object.entries(RELEASE_SECRETS)) {
      this.kubectl(['-n', this.namespace, 'create', 'secret', 'generic', name, ...keys.map((key) => `--from-literal=${key}=placeholder`)]);
    }
    this.kubectl([
      '-n', this.namespace, 'create', 'secret', 'docker-registry', 'gitea-credentials',
      '--docker-server=registry.test', '--docker-username=u', '--docker-password=p',
    ]);
  }

  /** Annotates the namespace with a simulated kubelet scenario for a workload (cluster/README.md). */
  scenario(workload: string, behaviour: 'ready' | 'never-ready' | 'crash-loop' | 'succeed' | 'fail' | 'hang'): void {
    this.kubectl(['annotate', '--overwrite', 'namespace', this.namespace, `sim.honeydue.io/${workload}=${behaviour}`]);
  }

  get<T = Record<string, any>>(kind: string, name: string, namespace = this.namespace): T {
    return this.kubectl.json<T>(['get', kind, name, '-n', namespace]);
  }

  /** Runs the deploy command in this process, as `npm run deploy -- ...` would, against the run's control plane. */
  async deploy(args: readonly string[], options: DeployOptions = {}): Promise<DeployResult> {
    let stdout = '';
    let stderr = '';
    const started = Date.now();
    const defaults = options.bare ? [] : ['--yes', '--health-url', health.url];
    const code = await runDeployCli([...args, ...defaults], {
      env: { ...process.env, KUBECONFIG: kubeconfig(), ...options.env },
      output: {
        out: (text) => {
          stdout += text;
          options.onOutput?.(text);
        },
        err: (text) => {
          stderr += text;
          options.onOutput?.(text);
        },
      },
      cwd: repoRoot,
      repoRoot: this.repo,
      configDir: this.configDir,
      interactive: false,
      stop: options.stop,
      lockRenewMs: options.lockRenewMs ?? 600_000,
      lockDurationSeconds: options.lockDurationSeconds,
      watchdogGraceMs: options.watchdogGraceMs,
      holder: options.holder ?? `test ${this.name}`,
    });
    return { code, stdout, stderr, seconds: (Date.now() - started) / 1000, calls: kubectlCalls(stdout) };
  }

  /** `--env <name> --tag <tag>`: the deploy synthesizes the environment itself. */
  release(tag = 'abc1234'): string[] {
    return ['--env', this.name, '--tag', tag];
  }

  remove(): void {
    this.kubectl.try(['delete', 'namespace', this.namespace, '--wait=false']);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface DeployOptions {
  readonly bare?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly stop?: AbortSignal;
  readonly onOutput?: (text: string) => void;
  readonly lockRenewMs?: number;
  readonly lockDurationSeconds?: number;
  readonly watchdogGraceMs?: number;
  readonly holder?: string;
}

export interface DeployResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
  /** The kubectl calls the deploy echoed (`$ kubectl ...`), cluster flags and --request-timeout left out. */
  readonly calls: string[];
}

/** Every `$ kubectl ...` line the deploy printed, as the call without its bounds. */
export function kubectlCalls(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('$ kubectl '))
    .map((line) => line.slice('$ kubectl '.length).replace(/ --request-timeout=\S+/, ''));
}

/** A local stand-in for the public health URL (the tests never reach the internet). */
export const health = {
  server: undefined as Server | undefined,
  url: '',
  async start(): Promise<void> {
    this.server = createServer((_request, response) => response.end('{}'));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/health/`;
  },
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  },
};

/** What each cluster test file sets up: the local health endpoint. */
export function useClusterFixtures(): void {
  beforeAll(() => health.start());
  afterAll(() => health.stop());
}

/** Polls until `check` returns a value other than undefined (or fails after `ms`). */
export async function eventually<T>(check: () => T | undefined, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
