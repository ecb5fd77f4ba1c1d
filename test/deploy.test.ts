/**
 * The deploy command against a stand-in kubectl (test/fixtures/deploy/kubectl-standin.sh)
 * placed first on PATH: the tests assert on the kubectl calls the command made,
 * in order, and on what it told the operator.
 * The release is the fixture config synthesized by the real synth; the health
 * URL is a local server. Faults are in deploy-lock.test.ts, deploy-signals.test.ts and deploy-faults.test.ts,
 * the change preview in deploy-preview.test.ts.
 *
 * Why a stand-in and not the control plane of cluster/ (test/cluster/ has what the
 * API server does): these lock the exact sequence of calls and the
 * words for answers a real server gives only by chance or slowly (a Job that
 * times out after 10 minutes, a rollout past its progress deadline, a kubectl
 * diff that fails), in milliseconds a test.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { formatCommand } from '../app/deploy/process';
import { DEPLOY_PHASES } from '../app/deploy/manifests';
import { phaseName } from '../app/shared/stack-files';
import { listEnvironments } from '../app/config';
import { renderEnvironment } from '../app/synth';
import { DeployRun, fixtureConfig, LOCK_READ, LOCK_RELEASE, plainDeploy, release, repoRoot, runDeploy as run, RunSetup, sandbox, SELECTOR, SSA, useDeployFixtures } from './deploy-helpers';
import { NODE_TS } from './node-ts';

useDeployFixtures();

const runDeploy = (args: string[], setup: RunSetup = {}): Promise<DeployRun> => run(sandbox, args, setup);

const waitFor = (condition: 'complete' | 'failed') =>
  `wait --for=condition=${condition} --timeout=10m job/honeydue-migrate -n honeydue`;
/** The poll of the new helm-install Job's pods, by the uid read after the apply (repeated every 2 s until a pod succeeded, failed or restarted). */
const HELM_PODS =
  'get pods -n kube-system -l batch.kubernetes.io/controller-uid=uid-new -o jsonpath={range .items[*]}{.status.phase}:{.status.containerStatuses[*].restartCount}{"\\n"}{end}';

/**
 * The migrate Job's two waits run at once and the one that loses is killed as
 * soon as the other decides, sometimes before the stand-in got to record it:
 * drop the loser so the rest of the order can be compared exactly.
 */
function withoutLosingWait(lines: string[], loser: 'complete' | 'failed'): string[] {
  return lines.filter((line) => line !== waitFor(loser));
}

const manifests = () => ['--manifests', release.arg];
const file = (name: string) => release.file(name);
const apply = (name: string) => `${SSA} -f ${file(name)} -o name`;
const rolloutStatus = (name: string) => `rollout status deployment/${name} -n honeydue --timeout=15m`;
const PRUNE_KINDS =
  'configmap,service,serviceaccount,persistentvolumeclaim,deployment.apps,statefulset.apps,daemonset.apps,' +
  'poddisruptionbudget.policy,horizontalpodautoscaler.autoscaling,ingress.networking.k8s.io,' +
  'networkpolicy.networking.k8s.io,role.rbac.authorization.k8s.io,rolebinding.rbac.authorization.k8s.io,' +
  'helmchartconfig.helm.cattle.io';
const pruneList = (namespace: string) => `get ${PRUNE_KINDS} -n ${namespace} -l ${SELECTOR} -o json`;
const APP_FILES = ['api.yaml', 'worker.yaml', 'admin.yaml', 'web.yaml', 'observability.yaml', 'ingress.yaml'];
const DIFFED = ['namespace.yaml', 'config.yaml', 'redis.yaml', 'network-policy.yaml', 'traefik.yaml', ...APP_FILES];
const ALL_FILES = ['namespace.yaml', 'config.yaml', 'redis.yaml', 'network-policy.yaml', 'traefik.yaml', 'migrate.yaml', ...APP_FILES];
/** One line per Secret found (kubectl answers a List for several names, the object itself for one). */
const KEYS_OF_ONE = '{{.metadata.name}}{{range $key, $value := .data}} {{$key}}{{end}}{{"\\n"}}';
const secretsGet = (names: string[]) =>
  `get secret ${names.join(' ')} -n honeydue --ignore-not-found -o go-template={{if .items}}{{range .items}}${KEYS_OF_ONE}{{end}}{{else}}{{if .metadata}}${KEYS_OF_ONE}{{end}}{{end}}`;
const HELM_UID = 'get job helm-install-traefik -n kube-system --ignore-not-found -o jsonpath={.metadata.uid}';
/** A failed Job's log is its newest pod's (`logs job/` reads the oldest attempt): the pods by age, then that pod's log. */
const jobPods = (job: string, namespace: string) =>
  `get pods -n ${namespace} -l batch.kubernetes.io/job-name=${job} --sort-by=.metadata.creationTimestamp -o jsonpath={.items[*].metadata.name}`;
const MIGRATE_LOGS = [jobPods('honeydue-migrate', 'honeydue'), 'logs pod/honeydue-migrate-newest -n honeydue --tail=200'];
const LOCK_CREATE = /^create -f .*\/\.deploy\/production-\d{8}T\d{6}Z-\d+\/lease\.json -o name$/;

/** Every call of a successful deploy of the fixture into an empty cluster, in order (the lock file path matched apart). */
const happyPath = () => [
  // Both versions (kubectl's own proves it is installed), then the cluster's answer.
  'version -o json',
  'get namespace kube-system -o name',
  expect.stringMatching(LOCK_CREATE),
  // The namespaces the Secrets are in first, in one call: a Secret cannot exist in a namespace that does not.
  'get namespace honeydue --ignore-not-found -o name',
  // Every Secret of the namespace in one call, by name; only Secrets a pod needs (redis reads honeydue-secrets optionally).
  secretsGet(['gitea-credentials', 'honeydue-apns-key', 'honeydue-secrets', 'vmagent-ingest-token']),
  // Every file, the migrate file included (its ServiceAccount is compared like any object); nothing is live, so no dry run.
  `get ${ALL_FILES.map((name) => `-f ${file(name)}`).join(' ')} -o json --ignore-not-found --show-managed-fields`,
  pruneList('honeydue'),
  pruneList('kube-system'),
  HELM_UID,
  apply('namespace.yaml'),
  apply('config.yaml'),
  apply('redis.yaml'),
  apply('network-policy.yaml'),
  apply('traefik.yaml'),
  HELM_UID,
  HELM_PODS,
  'rollout status daemonset/traefik -n kube-system --timeout=15m',
  rolloutStatus('redis'),
  'delete job honeydue-migrate -n honeydue --ignore-not-found --wait=true --cascade=foreground --timeout=2m',
  apply('migrate.yaml'),
  waitFor('complete'),
  apply('api.yaml'),
  apply('worker.yaml'),
  rolloutStatus('api'),
  rolloutStatus('worker'),
  apply('admin.yaml'),
  apply('web.yaml'),
  apply('observability.yaml'),
  rolloutStatus('admin'),
  rolloutStatus('web'),
  rolloutStatus('vmagent'),
  apply('ingress.yaml'),
  pruneList('honeydue'),
  pruneList('kube-system'),
  ...LOCK_RELEASE,
];

describe('happy path', () => {
  test('runs every step in order: cluster objects, the migration gate, then the app, then prune', async () => {
    const run = await plainDeploy();

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(withoutLosingWait(run.lines, 'failed')).toEqual(happyPath());
  });

  test('the migrate Job is applied and waited strictly before any app manifest is applied', async () => {
    const { lines } = await plainDeploy();

    const jobApplied = lines.indexOf(apply('migrate.yaml'));
    const jobDone = lines.indexOf(waitFor('complete'));
    const previousJobDeleted = lines.indexOf('delete job honeydue-migrate -n honeydue --ignore-not-found --wait=true --cascade=foreground --timeout=2m');
    const firstAppApply = Math.min(...APP_FILES.map((name) => lines.indexOf(apply(name))));
    expect(previousJobDeleted).toBeGreaterThan(-1);
    expect(previousJobDeleted).toBeLessThan(jobApplied);
    expect(jobApplied).toBeLessThan(jobDone);
    expect(jobDone).toBeLessThan(firstAppApply);
  });

  test('waits for the rollout of every Deployment found in the applied files, vmagent included', async () => {
    const { lines } = await plainDeploy();

    const waited = lines.filter((line) => line.startsWith('rollout status')).map((line) => line.split(' ')[2]);
    // The Traefik DaemonSet first: the HelmChartConfig is new, so k3s upgrades Traefik (see deploy-faults.test.ts).
    expect(waited).toEqual(['daemonset/traefik', 'deployment/redis', 'deployment/api', 'deployment/worker', 'deployment/admin', 'deployment/web', 'deployment/vmagent']);
    // Each phase's rollouts are waited before the next phase is applied.
    expect(lines.indexOf(rolloutStatus('worker'))).toBeLessThan(lines.indexOf(apply('admin.yaml')));
  });

  test('prints each step with its elapsed time', async () => {
    const { stdout } = await plainDeploy();

    expect(stdout).toMatch(/==> step 1: check the manifests in \S+ \(schema and policy, as synth does\)\n/);
    expect(stdout).toMatch(/==> step 2: check kubectl and the cluster\n/);
    expect(stdout).toMatch(/==> step \d+: run the migration gate \(Job honeydue-migrate\)\n/);
    expect(stdout.match(/<== step \d+ done in \d+\.\ds\n/g)).toHaveLength(17);
    expect(stdout.endsWith(`lock kube-system/honeydue-deploy-production released\n\ndeployed ${release.arg}\n`)).toBe(true);
  });
});

describe('--dry-run', () => {
  test('invokes no kubectl at all', async () => {
    const run = await runDeploy([...manifests(), '--dry-run']);

    expect(run.code).toBe(0);
    expect(existsSync(sandbox.callLog)).toBe(false);
    expect(run.stdout).toMatch(/dry run finished: nothing was applied/);
  });

  test('prints exactly the kubectl calls a real run makes, in the same order', async () => {
    const flags = ['--context', 'honeydue', '--kubeconfig', '/home/op/.kube/honeydue-k3s.yaml'];
    const dry = await runDeploy([...manifests(), ...flags, '--dry-run']);
    const planned = dry.stdout.split('\n').filter((line) => line.startsWith('  $ ')).map((line) => line.slice(4));

    const real = await runDeploy([...manifests(), ...flags]);
    // Each run has its own folder (the Lease manifest is written there): compare the calls around it.
    const sameFolder = (line: string) => line.replace(/\.deploy\/production-[^/]+\//, '.deploy/<this deploy>/');
    // The plan quotes arguments for a shell; the stand-in records them unquoted.
    // The plan names the helm-install Job's uid it cannot know yet; the real run reads it after the apply (the stand-in's uid-new).
    const newUid = (line: string) => line.replace(`'batch.kubernetes.io/controller-uid=<the new Job'\\''s uid>'`, 'batch.kubernetes.io/controller-uid=uid-new');
    const plannedCalls = planned.map((line) =>
      sameFolder(newUid(line).replace(/^kubectl --kubeconfig \S+ --context honeydue /, '').replace(/ --request-timeout=30s$/, '').replace(/'/g, '')),
    );
    expect(plannedCalls).toContain(HELM_PODS);
    expect(plannedCalls).toContain(waitFor('failed'));
    expect(plannedCalls.slice(-2)).toEqual([LOCK_READ, `delete --raw /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/honeydue-deploy-production -f ${sandbox.root}/.deploy/<this deploy>/lease-delete-options.json`]);
    expect(withoutLosingWait(plannedCalls, 'failed')).toEqual(withoutLosingWait(real.lines, 'failed').map(sameFolder));
    expect(planned.every((line) => line.startsWith('kubectl --kubeconfig /home/op/.kube/honeydue-k3s.yaml --context honeydue '))).toBe(true);
  });

  test('shows the calls that run only on failure, and the prune deletion', async () => {
    const { stdout } = await runDeploy([...manifests(), '--dry-run', '--rollback-on-failure']);

    expect(stdout).toContain(
      '  only if the Job fails or does not complete in time (then stop: nothing of the app is applied):\n' +
        `    $ kubectl get pods -n honeydue -l batch.kubernetes.io/job-name=honeydue-migrate --sort-by=.metadata.creationTimestamp -o 'jsonpath={.items[*].metadata.name}' --request-timeout=30s\n` +
        "    $ kubectl logs 'pod/<the newest pod>' -n honeydue --tail=200 --request-timeout=30s\n" +
        '    $ kubectl describe job honeydue-migrate -n honeydue --request-timeout=30s\n',
    );
    // The Traefik upgrade: the new Job's pods are polled (the Job itself never says Failed in time); on failure the newest pod's log.
    expect(stdout).toContain(
      `  $ kubectl get pods -n kube-system -l 'batch.kubernetes.io/controller-uid=<the new Job'\\''s uid>' -o 'jsonpath={range .items[*]}{.status.phase}:{.status.containerStatuses[*].restartCount}{"\\n"}{end}' --request-timeout=30s\n` +
        '  # repeated every 2s until its pod succeeded, failed or restarted (at most 5m; restarts OnFailure and a backoffLimit of 1000 mean the Job itself never fails in time)\n' +
        '  $ kubectl rollout status daemonset/traefik -n kube-system --timeout=15m\n' +
        '  only if the upgrade Job fails:\n' +
        `    $ kubectl get pods -n kube-system -l batch.kubernetes.io/job-name=helm-install-traefik --sort-by=.metadata.creationTimestamp -o 'jsonpath={.items[*].metadata.name}' --request-timeout=30s\n` +
        "    $ kubectl logs 'pod/<the newest pod>' -n kube-system --tail=50 --request-timeout=30s\n",
    );
    // The preview's dry run of renamed copies, for the defaults the server sets on what a takeover drops.
    const takeoverDefaults = `${sandbox.root}/\\.deploy/production-[^/]+/preview-takeover-defaults\\.yaml`;
    expect(stdout).toMatch(
      new RegExp(
        `\\n  only if an object is taken over from client-side kubectl \\(renamed copies in ${takeoverDefaults}: the defaults the server sets\\):\\n` +
          `    \\$ kubectl ${SSA} --dry-run=server -f ${takeoverDefaults} -o json --show-managed-fields --request-timeout=30s\\n`,
      ),
    );
    expect(stdout).toContain('    $ kubectl rollout undo deployment/api -n honeydue --request-timeout=30s\n');
    expect(stdout).toContain(`  $ kubectl ${pruneList('honeydue')} --request-timeout=30s\n`);
    expect(stdout).toContain("    $ kubectl delete '<kind>/<name>...' -n honeydue --ignore-not-found --wait=false --request-timeout=30s\n");
  });
});

describe('migration gate', () => {
  test('a failed Job stops before any app apply, prints logs and describe, and says what to do', async () => {
    const run = await runDeploy(manifests(), { scenario: { STANDIN_JOB: 'failed' } });

    expect(run.code).toBe(1);
    const afterGate = run.lines.slice(run.lines.indexOf(apply('migrate.yaml')) + 1);
    expect(withoutLosingWait(afterGate, 'complete')).toEqual([
      waitFor('failed'),
      ...MIGRATE_LOGS,
      'describe job honeydue-migrate -n honeydue',
      ...LOCK_RELEASE,
    ]);
    for (const name of APP_FILES) expect(run.lines).not.toContain(apply(name));
    expect(run.stderr).toContain("log of honeydue-migrate-newest, the newest of the Job's 2 pod(s):\n");
    expect(run.stdout).toContain('goose: ERROR 00042_add_chores.sql');
    expect(run.stderr).toMatch(/migration Job honeydue\/honeydue-migrate failed\. Nothing of the app was applied/);
    expect(run.stderr).toMatch(/fix the migration file/);
    expect(run.stderr).toContain(
      '1. read why: kubectl -n honeydue describe job honeydue-migrate ; the newest pod\'s log: kubectl -n honeydue logs --tail=200 ' +
        '$(kubectl -n honeydue get pods -l batch.kubernetes.io/job-name=honeydue-migrate --sort-by=.metadata.creationTimestamp -o name | tail -n 1)\n',
    );
    expect(run.stderr).toMatch(/Recovering from a dirty\s+migration" in docs\/deploy\.md/);
    expect(run.stderr).toMatch(/not run:\n  - apply the backend \(api, worker\)\n/);
  });

  test('a failed Job ends the wait at once instead of waiting out the timeout', async () => {
    // The stand-in's wait for condition=complete blocks for 30 s when the Job failed, as the real one would.
    const run = await runDeploy(manifests(), { scenario: { STANDIN_JOB: 'failed' } });

    expect(run.code).toBe(1);
    expect(run.seconds).toBeLessThan(10);
  });

  test('a Job that does not complete in time is a failure with logs and describe', async () => {
    const run = await runDeploy(manifests(), { scenario: { STANDIN_JOB: 'timeout' } });

    expect(run.code).toBe(1);
    // Neither wait wins here, so both ran to their end: the gate waited for complete and for failed at once.
    expect([...run.lines.slice(-7, -5)].sort()).toEqual([waitFor('complete'), waitFor('failed')]);
    expect(run.lines.slice(-5)).toEqual([...MIGRATE_LOGS, 'describe job honeydue-migrate -n honeydue', ...LOCK_RELEASE]);
    for (const name of APP_FILES) expect(run.lines).not.toContain(apply(name));
    expect(run.stderr).toMatch(
      /migration Job honeydue\/honeydue-migrate did not complete within 10m \(error: timed out waiting for the condition on jobs\/honeydue-migrate\)/,
    );
  });

  test('--skip-migration applies the app without the Job, and says so loudly', async () => {
    const run = await runDeploy([...manifests(), '--skip-migration']);

    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^!!! --skip-migration: the migrate Job will NOT run\./);
    expect(run.stdout).toMatch(/==> step \d+: migration gate SKIPPED \(--skip-migration\)/);
    // The change preview still reads the migrate file's objects (read-only); nothing else touches the Job or its file.
    expect(run.lines.filter((line) => line.includes('honeydue-migrate') || line.includes('migrate.yaml'))).toEqual([
      `get ${ALL_FILES.map((name) => `-f ${file(name)}`).join(' ')} -o json --ignore-not-found --show-managed-fields`,
    ]);
    expect(run.lines).toContain(apply('api.yaml'));
  });

  test('a directory without migrate.yaml is refused unless the migration is skipped explicitly', async () => {
    const dir = release.copy(sandbox, 'no-migrate', { 'migrate.yaml': null });

    const run = await runDeploy(['--manifests', dir]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/has no migrate\.yaml: .* pass --skip-migration/);
    expect(run.lines.filter((line) => line.startsWith('apply'))).toEqual([]);
  });
});

describe('rollouts', () => {
  test('a failed rollout names the Deployment, undoes nothing, and stops before the next phase', async () => {
    const run = await runDeploy(manifests(), { scenario: { STANDIN_ROLLOUT_FAIL: 'api' } });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/rollout of deployment\/api in namespace honeydue failed: error: deployment "api" exceeded its progress deadline/);
    expect(run.stderr).toMatch(/kubectl -n honeydue rollout undo deployment\/api/);
    expect(run.lines.some((line) => line.startsWith('rollout undo'))).toBe(false);
    // worker is still waited so the report is complete; the edge phase and prune never start.
    expect(run.lines.slice(-4)).toEqual([rolloutStatus('api'), rolloutStatus('worker'), ...LOCK_RELEASE]);
  });

  test('--rollback-on-failure undoes the failed Deployment and waits for the undo', async () => {
    const run = await runDeploy([...manifests(), '--rollback-on-failure'], { scenario: { STANDIN_ROLLOUT_FAIL: 'web' } });

    expect(run.code).toBe(1);
    expect(run.lines.slice(run.lines.indexOf(rolloutStatus('web')))).toEqual([
      rolloutStatus('web'),
      rolloutStatus('vmagent'),
      'rollout undo deployment/web -n honeydue',
      rolloutStatus('web'),
      ...LOCK_RELEASE,
    ]);
    expect(run.lines.filter((line) => line.startsWith('rollout undo'))).toEqual(['rollout undo deployment/web -n honeydue']);
    expect(run.stderr).toMatch(/rollout of deployment\/web in namespace honeydue failed/);
    expect(run.stderr).toMatch(/rolled back to the previous revision: deployment\/web/);
  });

  test('a rollback that cannot settle is reported', async () => {
    const run = await runDeploy([...manifests(), '--rollback-on-failure'], {
      scenario: { STANDIN_ROLLOUT_FAIL: 'api', STANDIN_UNDO_FAIL: 'api' },
    });

    expect(run.code).toBe(1);
    expect(run.lines).toContain('rollout undo deployment/api -n honeydue');
    expect(run.stderr).toMatch(/rollback did not settle: deployment\/api \(error: no rollout history found/);
  });

  test('--timeout reaches every rollout status', async () => {
    const run = await runDeploy([...manifests(), '--timeout', '20m']);

    const statuses = run.lines.filter((line) => line.startsWith('rollout status'));
    expect(statuses).toHaveLength(7);
    expect(statuses.every((line) => line.endsWith('--timeout=20m'))).toBe(true);
  });
});

describe('before anything is applied', () => {
  test('a missing kubectl is a clear error', async () => {
    const emptyPath = join(sandbox.dir, 'empty');
    mkdirSync(emptyPath);

    const run = await runDeploy(manifests(), { path: emptyPath });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kubectl was not found on PATH: install kubectl .* nothing was applied/);
    expect(run.calls).toEqual([]);
  });

  test('an unreachable cluster is a clear error, and nothing is applied', async () => {
    const run = await runDeploy([...manifests(), '--context', 'honeydue'], { scenario: { STANDIN_UNREACHABLE: '1' } });

    expect(run.code).toBe(1);
    expect(run.calls.map((call) => call.join(' '))).toEqual([
      '--context honeydue version -o json --request-timeout=30s',
      '--context honeydue get namespace kube-system -o name --request-timeout=30s',
    ]);
    // kubectl printed its own version though the server did not answer: it is installed, and the cluster check says why the deploy stops.
    expect(run.stdout).toContain('kubectl v1.33.4-standin\n');
    expect(run.stderr).toMatch(
      /cannot reach the cluster \(context honeydue, default kubeconfig\): The connection to the server 10\.0\.0\.1:6443 was refused - did you specify the right host or port\?\nPoint kubectl at it.*nothing was applied/,
    );
  });

  test('a kubectl more than one minor version from the API server is refused before the lock is taken', async () => {
    const run = await runDeploy(manifests(), { scenario: { STANDIN_SERVER_VERSION: 'v1.36.0' } });

    expect(run.code).toBe(1);
    expect(run.lines).toEqual(['version -o json', 'get namespace kube-system -o name']);
    expect(run.stderr).toContain(
      'kubectl v1.33.4-standin is outside the supported skew of the API server v1.36.0 (kubectl supports one minor version ' +
        'older or newer than the server): install kubectl 1.36 and re-run; nothing was applied',
    );
  });

  test('a kubectl one minor version older than the API server is supported', async () => {
    const { stdout } = await plainDeploy();

    expect(stdout).toContain('API server v1.34.4\n');
  });

  test.each([
    ['latest', /--tag: 'latest' is not allowed: kubelet's IfNotPresent keeps a stale image under a reused tag/],
    ['abc12', /--tag: 'abc12' is not a commit SHA; use 7 to 40 lowercase hex characters/],
    ['ABC1234', /--tag must be lowercase hex \(got 'ABC1234'\): pass 'abc1234'/],
    ['abc1234; rm -rf /', /--tag: 'abc1234; rm -rf \/' is not a commit SHA/],
  ])('tag %p is refused before anything runs', async (tag, message) => {
    const run = await runDeploy(['--tag', tag]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.calls).toEqual([]);
  });

  test('without --tag the config\'s imageTag is deployed (the reviewed release), and the deploy says so first', async () => {
    const run = await runDeploy([]);

    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(
      `deploying imageTag abc1234 from ${join(fixtureConfig, 'production.yaml')} (the reviewed release); ` +
        'pass --tag <commit of the honeyDue application repository> to deploy another build',
    );
    expect(run.stdout).toContain('==> step 1: synthesize production with tag abc1234\n');
    expect(run.stdout).not.toMatch(/replaces imageTag/);
    expect(run.stdout).toMatch(/deployed production at tag abc1234\n$/);
  });

  test('a bad --tag is blamed on the application repository\'s commit, never this repository\'s HEAD', async () => {
    const run = await runDeploy(['--tag', 'abc12']);

    expect(run.stderr).toContain('the application repository the images were built from');
    expect(run.stderr).toContain('git -C <the application repository> rev-parse --short HEAD');
    expect(run.stderr).not.toMatch(/\(git rev-parse --short HEAD\)|"\$\(git rev-parse/);
  });

  test('--tag and --manifests together are refused: the manifests already carry their tags', async () => {
    const run = await runDeploy(['--tag', 'abc1234', ...manifests()]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--tag <sha>' cannot be used with option '--manifests <dir>'/);
  });

  test('--env and --manifests together are refused: the directory is the environment', async () => {
    const run = await runDeploy(['--env', 'staging', ...manifests()]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--env <name>' cannot be used with option '--manifests <dir>'/);
    expect(run.calls).toEqual([]);
  });

  test('a failed apply of a cluster object stops before the migration gate', async () => {
    const run = await runDeploy(manifests(), { scenario: { STANDIN_APPLY_FAIL: 'redis.yaml' } });

    expect(run.code).toBe(1);
    expect(run.lines.slice(-3)).toEqual([apply('redis.yaml'), ...LOCK_RELEASE]);
    expect(run.stderr).toContain(`kubectl apply -f ${file('redis.yaml')} failed: Error from server`);
  });

  test('a file that belongs to no deploy phase is refused, naming the file and the fix', async () => {
    const dir = release.copy(sandbox, 'extra', {
      'cronjobs.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: honeydue}\n',
    });

    const run = await runDeploy(['--manifests', dir]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cronjobs\.yaml is in no deploy phase.*add it to DEPLOY_PHASES in app\/deploy\/manifests\.ts/);
    expect(run.lines.filter((line) => line.startsWith('apply'))).toEqual([]);
  });

  test('two files of one concern (api.yaml beside 40-api.yaml) are refused, naming both, before the cluster is contacted', async () => {
    const dir = release.copy(sandbox, 'both-layouts', {});
    const numbered = readdirSync(dir).find((name) => name.endsWith('-api.yaml')) as string;
    expect(numbered).toMatch(/^\d+-api\.yaml$/);
    copyFileSync(join(dir, numbered), join(dir, 'api.yaml'));

    const run = await runDeploy(['--manifests', dir]);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${join(dir, numbered)} and ${join(dir, 'api.yaml')}: all are api.yaml`);
    expect(run.stderr).toMatch(/deploy would apply both\. Keep the one synth wrote last/);
    expect(run.calls).toEqual([]);
  });

  test('an object without both stack labels is deployed with a warning that prune cannot find it', async () => {
    // The release's own ConfigMap with its keys (the check verifies every key the pods read) but no labels.
    const configMap = parse(readFileSync(file('config.yaml'), 'utf8'));
    delete configMap.metadata.labels;
    const dir = release.copy(sandbox, 'unlabelled', { 'config.yaml': stringify(configMap) });

    const run = await runDeploy(['--manifests', dir]);

    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      'warning: ConfigMap honeydue-config in 10-config.yaml lacks the stack labels; prune will not find it once it leaves the stack\n',
    );
  });

  test('a namespaced object without metadata.namespace is refused', async () => {
    const dir = release.copy(sandbox, 'no-namespace', {
      'config.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: honeydue-config\n',
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
    const kubeconfig = join(sandbox.dir, 'kube config.yaml');
    const run = await runDeploy([...manifests(), ...extra, '--kubeconfig', kubeconfig, '--context', 'honeydue-prod'], {
      scenario,
    });

    expect(run.calls.length).toBeGreaterThan(10);
    for (const call of run.calls) expect(call.slice(0, 4)).toEqual(['--kubeconfig', kubeconfig, '--context', 'honeydue-prod']);
  });
});

describe('--diff', () => {
  test('differences (kubectl diff exit 1) are shown and the deploy goes on; migrate.yaml is not diffed', async () => {
    const run = await runDeploy([...manifests(), '--diff']);

    expect(run.code).toBe(0);
    const diff = run.lines.find((line) => line.startsWith('diff')) as string;
    expect(diff).toBe(`diff --server-side --field-manager=honeydue-k8s --force-conflicts ${DIFFED.map((name) => `-f ${file(name)}`).join(' ')}`);
    expect(diff).not.toContain('migrate.yaml');
    // Nothing is live, so nothing is taken over: no note on what the diff leaves out.
    expect(run.stdout).not.toContain('takeover');
    // After the preview and the confirmation, before the first apply.
    expect(run.lines.indexOf(diff)).toBe(run.lines.indexOf(apply('namespace.yaml')) - 1);
    expect(withoutLosingWait(run.lines.filter((line) => line !== diff), 'failed')).toEqual(happyPath());
  });

  test('a kubectl diff error (exit above 1) stops before anything is applied', async () => {
    const run = await runDeploy([...manifests(), '--diff'], { scenario: { STANDIN_DIFF_EXIT: '2' } });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/kubectl diff failed \(exit 2\)/);
    expect(run.lines.filter((line) => line.startsWith('apply'))).toEqual([]);
  });
});

describe('prune', () => {
  const labels = {
    'app.kubernetes.io/part-of': 'honeydue',
    'app.kubernetes.io/managed-by': 'honeydue-k8s',
    'honeydue.io/environment': 'production',
  };
  const live = (apiVersion: string, kind: string, name: string, extra: object = {}, namespace = 'honeydue') => ({
    apiVersion,
    kind,
    metadata: { name, namespace, labels, ...extra },
  });

  function writeLiveObjects(items: object[], kubeSystem: object[] = []): Record<string, string> {
    const dir = join(sandbox.dir, 'live');
    mkdirSync(dir);
    writeFileSync(join(dir, 'honeydue.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    writeFileSync(join(dir, 'kube-system.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: kubeSystem }));
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

    // The delete does not wait for the objects to go: the HPA is gone, the Service still waits for two controllers' finalizers.
    const finalizing = sandbox.json('finalizing.json', [
      live('v1', 'Service', 'old-frontend', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['example.com/cleanup', 'example.com/audit'] }),
    ]);
    const run = await runDeploy(manifests(), { scenario: { ...scenario, STANDIN_FINALIZING: finalizing } });

    expect(run.code).toBe(0);
    expect(run.lines.slice(-6)).toEqual([
      pruneList('honeydue'),
      pruneList('kube-system'),
      'delete horizontalpodautoscaler.autoscaling/api service/old-frontend -n honeydue --ignore-not-found --wait=false',
      // Which of them are still there, and the finalizers that hold them.
      'get horizontalpodautoscaler.autoscaling/api service/old-frontend -n honeydue --ignore-not-found -o json',
      ...LOCK_RELEASE,
    ]);
    // The preview showed them before anything was applied.
    expect(run.stdout).toMatch(/-  delete +honeydue +HorizontalPodAutoscaler\/api\n/);
    expect(run.stdout).toMatch(/-  delete +honeydue +Service\/old-frontend\n/);
    expect(run.stdout.indexOf('Service/old-frontend')).toBeLessThan(run.stdout.indexOf(`$ kubectl ${apply('namespace.yaml')}`));
    const listing = run.stdout.indexOf('left the stack, deleting:\n  honeydue  horizontalpodautoscaler.autoscaling/api\n  honeydue  service/old-frontend\n');
    expect(listing).toBeGreaterThan(-1);
    expect(listing).toBeLessThan(run.stdout.indexOf('$ kubectl delete horizontalpodautoscaler'));
    expect(run.stderr).toMatch(/kept persistentvolumeclaim\/redis-data-old in honeydue: it left the stack but holds data/);
    expect(run.stderr).toContain(
      'deleting service/old-frontend in honeydue: it waits for its finalizers example.com/cleanup, example.com/audit, which the controller ' +
        'that set them removes (watch: kubectl -n honeydue get service/old-frontend)\n',
    );
    expect(run.stderr).not.toContain('deleting horizontalpodautoscaler');
  });

  test('one object still there after its delete: kubectl answers the object itself, and its one finalizer is named', async () => {
    const scenario = writeLiveObjects([live('v1', 'Service', 'old-frontend')]);
    const finalizing = sandbox.json('finalizing.json', [
      live('v1', 'Service', 'old-frontend', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['example.com/cleanup'] }),
    ]);

    const run = await runDeploy(manifests(), { scenario: { ...scenario, STANDIN_FINALIZING: finalizing } });

    expect(run.code).toBe(0);
    expect(run.lines.slice(-4)).toEqual([
      'delete service/old-frontend -n honeydue --ignore-not-found --wait=false',
      'get service/old-frontend -n honeydue --ignore-not-found -o json',
      ...LOCK_RELEASE,
    ]);
    expect(run.stderr).toContain(
      'deleting service/old-frontend in honeydue: it waits for its finalizer example.com/cleanup, which the controller that set it removes ' +
        '(watch: kubectl -n honeydue get service/old-frontend)\n',
    );
  });

  test('an object already being deleted is not a prune candidate: it is named with its finalizer, not shown or deleted again', async () => {
    const scenario = writeLiveObjects([
      live('v1', 'Service', 'old-frontend'),
      live('v1', 'ConfigMap', 'held', { deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: ['example.com/hold'] }),
    ]);

    const run = await runDeploy(manifests(), { scenario });

    expect(run.code).toBe(0);
    // Said by the preview's listing and again by the prune step's.
    const said =
      'prune: configmap/held in honeydue is already being deleted: it waits for its finalizer example.com/hold, which the controller ' +
      'that set it removes (watch: kubectl -n honeydue get configmap/held)\n';
    expect(run.stderr.split(said)).toHaveLength(3);
    expect(run.stdout).toMatch(/-  delete +honeydue +Service\/old-frontend\n/);
    expect(run.stdout).not.toMatch(/delete +honeydue +ConfigMap\/held/);
    expect(run.stdout).toContain('left the stack, deleting:\n  honeydue  service/old-frontend\n$ kubectl delete');
    expect(run.lines.filter((line) => line.startsWith('delete ') && !line.startsWith('delete job') && !line.startsWith('delete --raw'))).toEqual([
      'delete service/old-frontend -n honeydue --ignore-not-found --wait=false',
    ]);
  });

  test('deletes only in the namespace an object was listed in, never a kind it does not manage, never another environment', async () => {
    const scenario = writeLiveObjects(
      [
        // A listing that (wrongly) returns an object of another namespace: never deleted here, nor there.
        live('v1', 'Service', 'staging-only', {}, 'honeydue-staging'),
        // A kind the stack does not manage, even with every label.
        live('v1', 'Secret', 'honeydue-secrets'),
        live('batch/v1', 'CronJob', 'backup'),
        live('v1', 'Service', 'old-frontend'),
      ],
      [
        // Staging's HelmChartConfig with the same stack labels: another environment's, so untouched.
        live('helm.cattle.io/v1', 'HelmChartConfig', 'traefik-staging', { labels: { ...labels, 'honeydue.io/environment': 'staging' } }, 'kube-system'),
        live('helm.cattle.io/v1', 'HelmChartConfig', 'traefik-old', {}, 'kube-system'),
      ],
    );

    const run = await runDeploy(manifests(), { scenario });

    expect(run.code).toBe(0);
    expect(run.lines.filter((line) => line.startsWith('delete ') && !line.startsWith('delete job') && !line.startsWith('delete --raw'))).toEqual([
      'delete service/old-frontend -n honeydue --ignore-not-found --wait=false',
      'delete helmchartconfig.helm.cattle.io/traefik-old -n kube-system --ignore-not-found --wait=false',
    ]);
    expect(run.stderr).toContain('prune: ignored service/staging-only: listed in honeydue but its namespace is honeydue-staging');
    expect(run.stderr).toContain('prune: ignored secret/honeydue-secrets in honeydue: the stack does not manage that kind');
    expect(run.stderr).toContain('prune: ignored cronjob.batch/backup in honeydue: the stack does not manage that kind');
    expect(run.stdout).not.toContain('traefik-staging');
  });

  test('a listing that fails in the prune step prunes nothing and names what the preview showed as leaving', async () => {
    const scenario = writeLiveObjects([live('v1', 'Service', 'old-frontend')]);

    // The preview's two listings answer; the prune step's two (run at once) cannot reach the server.
    const run = await runDeploy(manifests(), { scenario: { ...scenario, STANDIN_LIST_FAIL_FROM: '3' } });

    expect(run.code).toBe(1);
    expect(run.lines.slice(-4)).toEqual([pruneList('honeydue'), pruneList('kube-system'), ...LOCK_RELEASE]);
    expect(run.lines.some((line) => line.startsWith('delete service'))).toBe(false);
    expect(run.stderr).toContain(
      "deploy failed: could not list the stack's objects in honeydue: The connection to the server 10.0.0.1:6443 was refused - " +
        'did you specify the right host or port?. Re-run the deploy, or delete leftovers by hand. Nothing was pruned: the release ' +
        'is applied and rolled out, and the objects the preview showed as leaving the stack (service/old-frontend in honeydue) ' +
        'are still there; re-run the deploy to prune them\n',
    );
  });

  test('the listing selects by the environment label, so kube-system is listed for this environment only', async () => {
    const { lines } = await plainDeploy();

    const listings = lines.filter((line) => line.startsWith(`get ${PRUNE_KINDS}`));
    expect(listings).toHaveLength(4);
    for (const listing of listings) expect(listing).toContain('-l app.kubernetes.io/part-of=honeydue,app.kubernetes.io/managed-by=honeydue-k8s,honeydue.io/environment=production ');
  });

  test('never lists Secrets or Jobs, so never deletes them', async () => {
    const { lines } = await plainDeploy();

    const kinds = lines.filter((line) => line.startsWith('get ') && line.endsWith('-o json')).map((line) => line.split(' ')[1].split(','));
    for (const listed of kinds) {
      expect(listed).not.toContain('secret');
      expect(listed).not.toContain('job.batch');
    }
  });
});

describe('synthesis', () => {
  test('synthesizes in this process, with the tag, into its own folder under .deploy/, before any kubectl call', async () => {
    const kept = join(sandbox.dir, 'applied');

    const run = await runDeploy(['--tag', 'abc1234def'], { scenario: { STANDIN_KEEP_APPLIED: kept } });

    expect(run.code).toBe(0);
    expect(run.stdout.indexOf('==> step 1: synthesize production with tag abc1234def')).toBeGreaterThan(-1);
    // The line saying the tag replaced the config's names the flag it came from.
    expect(run.stdout).toMatch(/\n  production: imageTag "abc1234def" from --tag replaces imageTag "abc1234" of /);
    expect(run.stdout.indexOf('check: ')).toBeLessThan(run.stdout.indexOf('$ kubectl version'));
    const firstApply = run.lines.find((line) => line.startsWith(SSA)) as string;
    expect(firstApply).toMatch(new RegExp(`^${SSA} -f ${sandbox.root}/\\.deploy/production-\\d{8}T\\d{6}Z-${process.pid}/production/00-namespace\\.yaml -o name$`));
    // What was applied carries the release tag, not the config's.
    const api = readFileSync(join(kept, readdirSync(kept).find((name) => phaseName(name) === 'api.yaml') as string), 'utf8');
    expect(api).toContain('image: gitea.treytartt.com/admin/honeydue-api:abc1234def');
    expect(api).not.toContain(':abc1234\n');
    // The per-deploy folder is removed when the deploy ends; the committed dist/ is never written.
    expect(readdirSync(join(sandbox.root, '.deploy'))).toEqual([]);
    expect(existsSync(join(sandbox.root, 'dist'))).toBe(false);
    expect(run.stdout).toMatch(/deployed production at tag abc1234def\n$/);
  });

  test('a failed synthesis applies nothing and contacts no cluster', async () => {
    const config = join(sandbox.dir, 'config');
    mkdirSync(config);
    writeFileSync(
      join(config, 'production.yaml'),
      readFileSync(join(fixtureConfig, 'production.yaml'), 'utf8').replace(/worker:\n  # Must stay 1.*\n  replicas: 1/, 'worker:\n  replicas: 2'),
    );

    const run = await runDeploy(['--tag', 'abc1234'], { configDir: config });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/worker\.replicas: must be 1: Asynq's Scheduler is not leader-elected.*\(got 2\)/);
    expect(run.stderr).toMatch(/synthesis failed: nothing was applied/);
    expect(run.calls).toEqual([]);
    expect(readdirSync(join(sandbox.root, '.deploy'))).toEqual([]);
  });

  test('--dry-run still synthesizes (local) but calls no kubectl', async () => {
    const run = await runDeploy(['--tag', 'abc1234', '--dry-run', '--env', 'production']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/production: 12 files, 45 objects/);
    expect(run.calls).toEqual([]);
  });

  test('--dry-run keeps the release files its plan names, and says where', async () => {
    const run = await runDeploy(['--tag', 'abc1234', '--dry-run']);

    expect(run.code).toBe(0);
    const kept = /^the release files the plan names are kept in (\S+)\/ \(remove it when done; the next deploy removes it too\)$/m.exec(run.stdout);
    expect(kept).not.toBeNull();
    const folder = (kept as RegExpExecArray)[1];
    expect(folder).toMatch(/\.deploy\/production-\d{8}T\d{6}Z-\d+$/);
    // Every release file a planned kubectl call names is on disk after the run.
    const named = [...run.stdout.matchAll(/-f (\S+\.yaml)/g)].map((m) => m[1]).filter((path) => path.includes('/.deploy/') && path.includes('/production/'));
    expect(named.length).toBeGreaterThan(5);
    for (const path of named) expect(existsSync(path.startsWith('/') ? path : join(repoRoot, path))).toBe(true);
  });
});

describe('npm run deploy', () => {
  test('is wired to bin/deploy.ts', () => {
    const result = spawnSync('npm', ['run', '-s', 'deploy', '--', ...manifests(), '--dry-run'], { cwd: repoRoot, encoding: 'utf8' });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`$ kubectl ${apply('migrate.yaml')} --request-timeout=30s`);
  });

  test('exits 2 on an invalid tag', () => {
    const result = spawnSync(NODE_TS, ['bin/deploy.ts', '--tag', 'latest'], { cwd: repoRoot, encoding: 'utf8' });

    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--tag: 'latest' is not allowed/);
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
      expect(phased).toContain(phaseName(file.relativePath.split('/')[1]));
    }
  }
});
