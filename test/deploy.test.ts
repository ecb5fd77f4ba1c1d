/**
 * The deploy command against a stand-in kubectl (test/fixtures/deploy/kubectl-standin.sh)
 * placed first on PATH: there is no cluster here, so the tests assert on the
 * kubectl calls the command made, in order, and on what it told the operator.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDeployCli } from '../app/deploy/cli';
import { formatCommand } from '../app/deploy/process';
import { DEPLOY_PHASES } from '../app/deploy/manifests';
import { listEnvironments } from '../app/config';
import { renderEnvironment } from '../app/synth';

const repoRoot = join(__dirname, '..');
const fixtures = join(__dirname, 'fixtures', 'deploy');
const fixtureDist = join(fixtures, 'dist', 'production');
const SELECTOR = 'app.kubernetes.io/part-of=honeydue,app.kubernetes.io/managed-by=honeydue-k8s';

interface DeployRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Each recorded call's arguments (the `kubectl` itself left out), in the order they were made. */
  readonly calls: string[][];
  /** Calls as `kubectl ...` lines without the cluster flags, for readable order assertions. */
  readonly lines: string[];
  readonly seconds: number;
}

interface RunSetup {
  /** STANDIN_* scenario variables (see the stand-in's header). */
  readonly scenario?: Record<string, string>;
  /** Replace PATH entirely (for the missing-kubectl case). */
  readonly path?: string;
  /** Repository root the synth step runs in. */
  readonly repoRoot?: string;
}

let sandbox: string;
let callLog: string;

beforeEach(() => {
  sandbox = mkdtempSync(join(tmpdir(), 'deploy-test-'));
  mkdirSync(join(sandbox, 'bin'));
  copyFileSync(join(fixtures, 'kubectl-standin.sh'), join(sandbox, 'bin', 'kubectl'));
  chmodSync(join(sandbox, 'bin', 'kubectl'), 0o755);
  callLog = join(sandbox, 'calls.log');
});

afterEach(() => rmSync(sandbox, { recursive: true, force: true }));

async function runDeploy(args: string[], setup: RunSetup = {}): Promise<DeployRun> {
  let stdout = '';
  let stderr = '';
  const started = Date.now();
  const code = await runDeployCli(args, {
    env: {
      ...process.env,
      PATH: setup.path ?? `${join(sandbox, 'bin')}:${process.env.PATH}`,
      STANDIN_LOG: callLog,
      STANDIN_STATE: sandbox,
      FAKE_SYNTH_SOURCE: fixtureDist,
      ...setup.scenario,
    },
    output: { out: (text) => (stdout += text), err: (text) => (stderr += text) },
    cwd: repoRoot,
    repoRoot: setup.repoRoot ?? repoRoot,
    synthCommand: [process.execPath, join(fixtures, 'fake-synth.js')],
  });
  const calls = readCalls();
  return { code, stdout, stderr, calls, lines: calls.map(withoutClusterFlags).map((c) => c.join(' ')), seconds: (Date.now() - started) / 1000 };
}

function readCalls(): string[][] {
  if (!existsSync(callLog)) return [];
  return readFileSync(callLog, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\x1f').slice(0, -1));
}

/** A copy of the fixture directory with files replaced (text) or removed (null). */
function fixtureCopy(name: string, changes: Record<string, string | null>): string {
  const dir = join(sandbox, name);
  cpSync(fixtureDist, dir, { recursive: true });
  for (const [file, text] of Object.entries(changes)) {
    if (text === null) rmSync(join(dir, file));
    else writeFileSync(join(dir, file), text);
  }
  return dir;
}

function withoutClusterFlags(call: string[]): string[] {
  const rest = [...call];
  while (rest[0] === '--kubeconfig' || rest[0] === '--context') rest.splice(0, 2);
  return rest;
}

const waitFor = (condition: 'complete' | 'failed') =>
  `wait --for=condition=${condition} --timeout=10m job/honeydue-migrate -n honeydue`;

/**
 * The two Job waits run at once and the one that loses is killed as soon as the
 * other decides, sometimes before the stand-in got to record it: drop the loser
 * so the rest of the order can be compared exactly.
 */
function withoutLosingWait(lines: string[], loser: 'complete' | 'failed'): string[] {
  return lines.filter((line) => line !== waitFor(loser));
}

const manifests = ['--manifests', 'test/fixtures/deploy/dist/production'];
const file = (name: string) => `test/fixtures/deploy/dist/production/${name}`;
const apply = (name: string) => `apply -f ${file(name)}`;
const rolloutStatus = (name: string) => `rollout status deployment/${name} -n honeydue --timeout=15m`;
const PRUNE_KINDS =
  'configmap,service,serviceaccount,persistentvolumeclaim,deployment.apps,statefulset.apps,daemonset.apps,' +
  'poddisruptionbudget.policy,horizontalpodautoscaler.autoscaling,ingress.networking.k8s.io,' +
  'networkpolicy.networking.k8s.io,role.rbac.authorization.k8s.io,rolebinding.rbac.authorization.k8s.io,' +
  'helmchartconfig.helm.cattle.io';
const pruneList = (namespace: string) => `get ${PRUNE_KINDS} -n ${namespace} -l ${SELECTOR} -o json`;
const APP_FILES = ['40-api.yaml', '45-worker.yaml', '50-admin.yaml', '55-web.yaml', '60-observability.yaml', '90-ingress.yaml'];

/** Every call of a successful deploy of the fixture, in order. */
const HAPPY_PATH = [
  'version --client -o json',
  'get namespace kube-system -o name --request-timeout=15s',
  apply('00-namespace.yaml'),
  apply('10-config.yaml'),
  apply('15-redis.yaml'),
  apply('20-network-policy.yaml'),
  apply('25-traefik.yaml'),
  rolloutStatus('redis'),
  'delete job honeydue-migrate -n honeydue --ignore-not-found --wait=true --cascade=foreground',
  apply('30-migrate.yaml'),
  waitFor('complete'),
  apply('40-api.yaml'),
  apply('45-worker.yaml'),
  rolloutStatus('api'),
  rolloutStatus('worker'),
  apply('50-admin.yaml'),
  apply('55-web.yaml'),
  apply('60-observability.yaml'),
  rolloutStatus('admin'),
  rolloutStatus('web'),
  rolloutStatus('vmagent'),
  apply('90-ingress.yaml'),
  pruneList('honeydue'),
  pruneList('kube-system'),
];

describe('happy path', () => {
  test('runs every step in order: cluster objects, the migration gate, then the app, then prune', async () => {
    const run = await runDeploy(manifests);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(withoutLosingWait(run.lines, 'failed')).toEqual(HAPPY_PATH);
  });

  test('the migrate Job is applied and waited strictly before any app manifest is applied', async () => {
    const { lines } = await runDeploy(manifests);

    const jobApplied = lines.indexOf(apply('30-migrate.yaml'));
    const jobDone = lines.indexOf(waitFor('complete'));
    const previousJobDeleted = lines.indexOf('delete job honeydue-migrate -n honeydue --ignore-not-found --wait=true --cascade=foreground');
    const firstAppApply = Math.min(...APP_FILES.map((name) => lines.indexOf(apply(name))));
    expect(previousJobDeleted).toBeGreaterThan(-1);
    expect(previousJobDeleted).toBeLessThan(jobApplied);
    expect(jobApplied).toBeLessThan(jobDone);
    expect(jobDone).toBeLessThan(firstAppApply);
  });

  test('waits for the rollout of every Deployment found in the applied files, vmagent included', async () => {
    const { lines } = await runDeploy(manifests);

    const waited = lines.filter((line) => line.startsWith('rollout status')).map((line) => line.split(' ')[2]);
    expect(waited).toEqual(['deployment/redis', 'deployment/api', 'deployment/worker', 'deployment/admin', 'deployment/web', 'deployment/vmagent']);
    // Each phase's rollouts are waited before the next phase is applied.
    expect(lines.indexOf(rolloutStatus('worker'))).toBeLessThan(lines.indexOf(apply('50-admin.yaml')));
  });

  test('prints each step with its elapsed time', async () => {
    const { stdout } = await runDeploy(manifests);

    expect(stdout).toMatch(/==> step 1: check kubectl and the cluster\n/);
    expect(stdout).toMatch(/==> step \d+: run the migration gate \(Job honeydue-migrate\)\n/);
    expect(stdout.match(/<== step \d+ done in \d+\.\ds\n/g)).toHaveLength(10);
    expect(stdout).toMatch(/deployed test\/fixtures\/deploy\/dist\/production\n$/);
  });
});

describe('--dry-run', () => {
  test('invokes no kubectl at all', async () => {
    const run = await runDeploy([...manifests, '--dry-run']);

    expect(run.code).toBe(0);
    expect(existsSync(callLog)).toBe(false);
    expect(run.stdout).toMatch(/dry run finished: nothing was applied/);
  });

  test('prints exactly the kubectl calls a real run makes, in the same order', async () => {
    const flags = ['--context', 'honeydue', '--kubeconfig', '/home/op/.kube/honeydue-k3s.yaml'];
    const dry = await runDeploy([...manifests, ...flags, '--dry-run']);
    const planned = dry.stdout.split('\n').filter((line) => line.startsWith('  $ ')).map((line) => line.slice(4));

    const real = await runDeploy([...manifests, ...flags]);
    const plannedCalls = planned.map((line) => line.replace(/^kubectl --kubeconfig \S+ --context honeydue /, ''));
    expect(plannedCalls).toContain(waitFor('failed'));
    expect(withoutLosingWait(plannedCalls, 'failed')).toEqual(withoutLosingWait(real.lines, 'failed'));
    expect(planned.every((line) => line.startsWith('kubectl --kubeconfig /home/op/.kube/honeydue-k3s.yaml --context honeydue '))).toBe(true);
  });

  test('shows the calls that run only on failure, and the prune deletion', async () => {
    const { stdout } = await runDeploy([...manifests, '--dry-run', '--rollback-on-failure']);

    expect(stdout).toContain(
      '  only if the Job fails or does not complete in time (then stop: nothing of the app is applied):\n' +
        '    $ kubectl logs job/honeydue-migrate -n honeydue --tail=200\n' +
        '    $ kubectl describe job honeydue-migrate -n honeydue\n',
    );
    expect(stdout).toContain('    $ kubectl rollout undo deployment/api -n honeydue\n');
    expect(stdout).toContain(`  $ kubectl ${pruneList('honeydue')}\n`);
    expect(stdout).toContain("    $ kubectl delete '<kind>/<name>...' -n honeydue --ignore-not-found\n");
  });
});

describe('migration gate', () => {
  test('a failed Job stops before any app apply, prints logs and describe, and says what to do', async () => {
    const run = await runDeploy(manifests, { scenario: { STANDIN_JOB: 'failed' } });

    expect(run.code).toBe(1);
    const afterGate = run.lines.slice(run.lines.indexOf(apply('30-migrate.yaml')) + 1);
    expect(withoutLosingWait(afterGate, 'complete')).toEqual([
      waitFor('failed'),
      'logs job/honeydue-migrate -n honeydue --tail=200',
      'describe job honeydue-migrate -n honeydue',
    ]);
    for (const name of APP_FILES) expect(run.lines).not.toContain(apply(name));
    expect(run.stdout).toContain('goose: ERROR 00042_add_chores.sql');
    expect(run.stderr).toMatch(/migration Job honeydue\/honeydue-migrate failed\. Nothing of the app was applied/);
    expect(run.stderr).toMatch(/fix the migration file/);
    expect(run.stderr).toMatch(/Recovering from a dirty\s+migration" in the README Deploy section/);
    expect(run.stderr).toMatch(/not run:\n  - apply the backend \(api, worker\)\n/);
  });

  test('a failed Job ends the wait at once instead of waiting out the timeout', async () => {
    // The stand-in's wait for condition=complete blocks for 30 s when the Job failed, as the real one would.
    const run = await runDeploy(manifests, { scenario: { STANDIN_JOB: 'failed' } });

    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(10);
  });

  test('a Job that does not complete in time is a failure with logs and describe', async () => {
    const run = await runDeploy(manifests, { scenario: { STANDIN_JOB: 'timeout' } });

    expect(run.code).toBe(1);
    // Neither wait wins here, so both ran to their end: the gate waited for complete and for failed at once.
    expect([...run.lines.slice(-4, -2)].sort()).toEqual([waitFor('complete'), waitFor('failed')]);
    expect(run.lines).toContain('logs job/honeydue-migrate -n honeydue --tail=200');
    expect(run.lines).toContain('describe job honeydue-migrate -n honeydue');
    for (const name of APP_FILES) expect(run.lines).not.toContain(apply(name));
    expect(run.stderr).toMatch(
      /migration Job honeydue\/honeydue-migrate did not complete within 10m \(error: timed out waiting for the condition on jobs\/honeydue-migrate\)/,
    );
  });

  test('--skip-migration applies the app without the Job, and says so loudly', async () => {
    const run = await runDeploy([...manifests, '--skip-migration']);

    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^!!! --skip-migration: the migrate Job will NOT run\./);
    expect(run.stdout).toMatch(/==> step \d+: migration gate SKIPPED \(--skip-migration\)/);
    expect(run.lines.some((line) => line.includes('honeydue-migrate') || line.includes('migrate.yaml'))).toBe(false);
    expect(run.lines).toContain(apply('40-api.yaml'));
  });

  test('a directory without 30-migrate.yaml is refused unless the migration is skipped explicitly', async () => {
    const dir = fixtureCopy('no-migrate', { '30-migrate.yaml': null });

    const run = await runDeploy(['--manifests', dir]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/has no 30-migrate\.yaml: .* pass --skip-migration/);
    expect(run.lines.filter((line) => line.startsWith('apply'))).toEqual([]);
  });
});

describe('rollouts', () => {
  test('a failed rollout names the Deployment, undoes nothing, and stops before the next phase', async () => {
    const run = await runDeploy(manifests, { scenario: { STANDIN_ROLLOUT_FAIL: 'api' } });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/rollout of deployment\/api in namespace honeydue failed: error: deployment "api" exceeded its progress deadline/);
    expect(run.stderr).toMatch(/kubectl -n honeydue rollout undo deployment\/api/);
    expect(run.lines.some((line) => line.startsWith('rollout undo'))).toBe(false);
    // worker is still waited so the report is complete; the edge phase and prune never start.
    expect(run.lines.slice(-2)).toEqual([rolloutStatus('api'), rolloutStatus('worker')]);
  });

  test('--rollback-on-failure undoes the failed Deployment and waits for the undo', async () => {
    const run = await runDeploy([...manifests, '--rollback-on-failure'], { scenario: { STANDIN_ROLLOUT_FAIL: 'web' } });

    expect(run.code).toBe(1);
    expect(run.lines.slice(run.lines.indexOf(rolloutStatus('web')))).toEqual([
      rolloutStatus('web'),
      rolloutStatus('vmagent'),
      'rollout undo deployment/web -n honeydue',
      rolloutStatus('web'),
    ]);
    expect(run.lines.filter((line) => line.startsWith('rollout undo'))).toEqual(['rollout undo deployment/web -n honeydue']);
    expect(run.stderr).toMatch(/rollout of deployment\/web in namespace honeydue failed/);
    expect(run.stderr).toMatch(/rolled back to the previous revision: deployment\/web/);
  });

  test('a rollback that cannot settle is reported', async () => {
    const run = await runDeploy([...manifests, '--rollback-on-failure'], {
      scenario: { STANDIN_ROLLOUT_FAIL: 'api', STANDIN_UNDO_FAIL: 'api' },
    });

    expect(run.code).toBe(1);
    expect(run.lines).toContain('rollout undo deployment/api -n honeydue');
    expect(run.stderr).toMatch(/rollback did not settle: deployment\/api \(error: no rollout history found/);
  });

  test('--timeout reaches every rollout status', async () => {
    const run = await runDeploy([...manifests, '--timeout', '20m']);

    const statuses = run.lines.filter((line) => line.startsWith('rollout status'));
    expect(statuses).toHaveLength(6);
    expect(statuses.every((line) => line.endsWith('--timeout=20m'))).toBe(true);
  });
});

describe('before anything is applied', () => {
  test('a missing kubectl is a clear error', async () => {
    const emptyPath = join(sandbox, 'empty');
    mkdirSync(emptyPath);

    const run = await runDeploy(manifests, { path: emptyPath });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kubectl was not found on PATH: install kubectl .* nothing was applied/);
    expect(run.calls).toEqual([]);
  });

  test('an unreachable cluster is a clear error, and nothing is applied', async () => {
    const run = await runDeploy([...manifests, '--context', 'honeydue'], { scenario: { STANDIN_UNREACHABLE: '1' } });

    expect(run.code).toBe(1);
    expect(run.lines).toEqual(['version --client -o json', 'get namespace kube-system -o name --request-timeout=15s']);
    expect(run.stderr).toMatch(
      /cannot reach the cluster \(context honeydue, default kubeconfig\): The connection to the server 10\.0\.0\.1:6443 was refused - did you specify the right host or port\?\nPoint kubectl at it.*nothing was applied/,
    );
  });

  test.each([
    ['latest', /--tag must be a git commit SHA, 7 to 40 lowercase hex characters \(got 'latest'\)/],
    ['abc12', /got 'abc12'/],
    ['ABC1234', /--tag must be lowercase hex \(got 'ABC1234'\): pass 'abc1234'/],
    ['abc1234; rm -rf /', /got 'abc1234; rm -rf \/'/],
  ])('tag %p is refused before anything runs', async (tag, message) => {
    const run = await runDeploy(['--tag', tag]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.calls).toEqual([]);
  });

  test('--tag is required when synthesizing', async () => {
    const run = await runDeploy([]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--tag is required/);
    expect(run.calls).toEqual([]);
  });

  test('--tag and --manifests together are refused: the manifests already carry their tags', async () => {
    const run = await runDeploy(['--tag', 'abc1234', ...manifests]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--tag <sha>' cannot be used with option '--manifests <dir>'/);
  });

  test('--env and --manifests together are refused: the directory is the environment', async () => {
    const run = await runDeploy(['--env', 'staging', ...manifests]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--env <name>' cannot be used with option '--manifests <dir>'/);
    expect(run.calls).toEqual([]);
  });

  test('a failed apply of a cluster object stops before the migration gate', async () => {
    const run = await runDeploy(manifests, { scenario: { STANDIN_APPLY_FAIL: '15-redis.yaml' } });

    expect(run.code).toBe(1);
    expect(run.lines.at(-1)).toBe(apply('15-redis.yaml'));
    expect(run.stderr).toMatch(/kubectl apply -f test\/fixtures\/deploy\/dist\/production\/15-redis\.yaml failed: Error from server/);
  });

  test('a file that belongs to no deploy phase is refused, naming the file and the fix', async () => {
    const dir = fixtureCopy('extra', {
      'cronjobs.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: honeydue}\n',
    });

    const run = await runDeploy(['--manifests', dir]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cronjobs\.yaml is in no deploy phase.*add it to DEPLOY_PHASES in app\/deploy\/manifests\.ts/);
    expect(run.lines.filter((line) => line.startsWith('apply'))).toEqual([]);
  });

  test('an object without both stack labels is deployed with a warning that prune cannot find it', async () => {
    const dir = fixtureCopy('unlabelled', {
      '10-config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: honeydue-config\n  namespace: honeydue\n',
    });

    const run = await runDeploy(['--manifests', dir]);

    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      'warning: ConfigMap honeydue-config in 10-config.yaml lacks the stack labels; prune will not find it once it leaves the stack\n',
    );
  });

  test('a namespaced object without metadata.namespace is refused', async () => {
    const dir = fixtureCopy('no-namespace', {
      '10-config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: honeydue-config\n',
    });

    const run = await runDeploy(['--manifests', dir]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ConfigMap honeydue-config has no metadata\.namespace/);
  });
});

describe('--context and --kubeconfig', () => {
  test.each([
    ['a full deploy with --diff', ['--diff'], {}],
    ['a failed migration', [], { STANDIN_JOB: 'failed' }],
    ['a rolled-back rollout', ['--rollback-on-failure'], { STANDIN_ROLLOUT_FAIL: 'worker' }],
  ])('reach every kubectl call of %s', async (_name, extra, scenario) => {
    const kubeconfig = join(sandbox, 'kube config.yaml');
    const run = await runDeploy([...manifests, ...extra, '--kubeconfig', kubeconfig, '--context', 'honeydue-prod'], {
      scenario,
    });

    expect(run.calls.length).toBeGreaterThan(10);
    for (const call of run.calls) expect(call.slice(0, 4)).toEqual(['--kubeconfig', kubeconfig, '--context', 'honeydue-prod']);
  });
});

describe('--diff', () => {
  test('differences (kubectl diff exit 1) are shown and the deploy goes on; 30-migrate.yaml is not diffed', async () => {
    const run = await runDeploy([...manifests, '--diff']);

    expect(run.code).toBe(0);
    const diff = run.lines[2];
    expect(diff).toMatch(/^diff -f .*00-namespace\.yaml -f .*10-config\.yaml/);
    expect(diff).not.toContain('migrate.yaml');
    expect(diff).toContain('-f test/fixtures/deploy/dist/production/90-ingress.yaml');
    expect(withoutLosingWait(run.lines.slice(3), 'failed')).toEqual(HAPPY_PATH.slice(2));
  });

  test('a kubectl diff error (exit above 1) stops before anything is applied', async () => {
    const run = await runDeploy([...manifests, '--diff'], { scenario: { STANDIN_DIFF_EXIT: '2' } });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kubectl diff failed \(exit 2\)/);
    expect(run.lines.filter((line) => line.startsWith('apply'))).toEqual([]);
  });
});

describe('prune', () => {
  const labels = { 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' };
  const live = (apiVersion: string, kind: string, name: string, extra: object = {}) => ({
    apiVersion,
    kind,
    metadata: { name, namespace: 'honeydue', labels, ...extra },
  });

  function writeLiveObjects(items: object[]): Record<string, string> {
    const dir = join(sandbox, 'live');
    mkdirSync(dir);
    writeFileSync(join(dir, 'honeydue.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    return { STANDIN_LIVE_DIR: dir };
  }

  test('deletes labelled objects that left the stack, after listing them, and nothing else', async () => {
    const scenario = writeLiveObjects([
      live('apps/v1', 'Deployment', 'api'), // still in the release
      live('autoscaling/v2', 'HorizontalPodAutoscaler', 'api'), // the HPA was switched off
      live('v1', 'Service', 'old-frontend'),
      live('v1', 'ConfigMap', 'hand-made', { labels: { 'app.kubernetes.io/part-of': 'honeydue' } }),
      live('v1', 'ConfigMap', 'owned', { ownerReferences: [{ kind: 'Deployment', name: 'api' }] }),
      live('v1', 'PersistentVolumeClaim', 'redis-data-old'),
    ]);

    const run = await runDeploy(manifests, { scenario });

    expect(run.code).toBe(0);
    expect(run.lines.slice(-3)).toEqual([
      pruneList('honeydue'),
      pruneList('kube-system'),
      'delete horizontalpodautoscaler.autoscaling/api service/old-frontend -n honeydue --ignore-not-found',
    ]);
    const listing = run.stdout.indexOf('left the stack, deleting:\n  honeydue  horizontalpodautoscaler.autoscaling/api\n  honeydue  service/old-frontend\n');
    expect(listing).toBeGreaterThan(-1);
    expect(listing).toBeLessThan(run.stdout.indexOf('$ kubectl delete horizontalpodautoscaler'));
    expect(run.stderr).toMatch(/kept persistentvolumeclaim\/redis-data-old in honeydue: it left the stack but holds data/);
  });

  test('never lists Secrets or Jobs, so never deletes them', async () => {
    const { lines } = await runDeploy(manifests);

    const kinds = lines.filter((line) => line.startsWith('get ') && line.endsWith('-o json')).map((line) => line.split(' ')[1].split(','));
    for (const listed of kinds) {
      expect(listed).not.toContain('secret');
      expect(listed).not.toContain('job.batch');
    }
  });
});

describe('synthesis', () => {
  function scratchRepo(): string {
    const root = join(sandbox, 'repo');
    mkdirSync(root);
    return root;
  }

  test('synthesizes with --env and --tag into .deploy/ after the cluster check, then deploys what it wrote', async () => {
    const root = scratchRepo();

    const run = await runDeploy(['--tag', 'abc1234def'], { repoRoot: root });

    expect(run.code).toBe(0);
    const synth = run.lines.findIndex((line) => line.startsWith('SYNTH'));
    expect(run.lines[synth]).toBe(`SYNTH --env production --tag abc1234def --out .deploy HONEYDUE_IMAGE_TAG=abc1234def cwd=${root}`);
    expect(synth).toBe(2);
    expect(run.lines[synth + 1]).toBe(`apply -f ${join(root, '.deploy', 'production', '00-namespace.yaml')}`);
    // The committed dist/ is never rewritten with the release tag: CI checks it against the config.
    expect(existsSync(join(root, 'dist'))).toBe(false);
    expect(run.stdout).toMatch(/deployed production at tag abc1234def\n$/);
  });

  test('a failed synthesis applies nothing', async () => {
    const run = await runDeploy(['--tag', 'abc1234'], { repoRoot: scratchRepo(), scenario: { FAKE_SYNTH_FAIL: '1' } });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/worker replicas must be 1/);
    expect(run.stderr).toMatch(/synthesis failed \(exit 1\): nothing was applied/);
    expect(run.lines.filter((line) => !line.startsWith('SYNTH') && !line.startsWith('version') && !line.startsWith('get namespace'))).toEqual([]);
  });

  test('--dry-run still synthesizes (local) but calls no kubectl', async () => {
    const run = await runDeploy(['--tag', 'abc1234', '--dry-run', '--env', 'production'], { repoRoot: scratchRepo() });

    expect(run.code).toBe(0);
    expect(run.lines).toEqual([expect.stringMatching(/^SYNTH --env production --tag abc1234 /)]);
  });
});

describe('npm run deploy', () => {
  test('is wired to bin/deploy.ts', () => {
    const result = spawnSync('npm', ['run', '-s', 'deploy', '--', ...manifests, '--dry-run'], { cwd: repoRoot, encoding: 'utf8' });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`$ kubectl ${apply('30-migrate.yaml')}`);
  });

  test('exits 2 on an invalid tag', () => {
    const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx');
    const result = spawnSync(tsx, ['bin/deploy.ts', '--tag', 'latest'], { cwd: repoRoot, encoding: 'utf8' });

    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--tag must be a git commit SHA/);
  });
});

test('the printed command lines are pasteable: arguments with spaces are quoted', () => {
  expect(formatCommand(['kubectl', '--kubeconfig', '/home/op/my kube.yaml', 'get', 'ns'])).toBe(
    "kubectl --kubeconfig '/home/op/my kube.yaml' get ns",
  );
});

test('every file synth writes, in every environment, belongs to a deploy phase', () => {
  const phased = new Set<string>(Object.values(DEPLOY_PHASES).flat());
  for (const env of listEnvironments()) {
    for (const file of renderEnvironment(env)) {
      expect(phased).toContain(file.relativePath.split('/')[1]);
    }
  }
});
