/**
 * The change preview and its confirmation, server-side apply, and a rejected
 * apply, against the stand-in kubectl: the live objects and the server-side dry
 * run's answer are scripted (STANDIN_LIVE_OBJECTS, STANDIN_DRYRUN_OBJECTS), and
 * the tests assert on the recorded calls and on the table the operator sees.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DeployRun, fixtureConfig, health, LOCK_RELEASE, release, Release, repoRoot, runDeploy as run, RunSetup, sandbox, SSA, useDeployFixtures } from './deploy-helpers';

useDeployFixtures();

const runDeploy = (args: string[], setup: RunSetup = {}): Promise<DeployRun> => run(sandbox, args, setup);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The objects of one release file, as plain JSON. */
function objectsOf(path: string): any[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS()).filter((o) => o !== null);
}
const find = (path: string, kind: string, name: string) => {
  const found = objectsOf(path).find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`${kind}/${name} not in ${path}`);
  return structuredClone(found);
};
/** A live object as the API server returns it: the bookkeeping the preview must ignore. */
const asLive = (object: any, extra: (o: any) => void = () => undefined) => {
  const live = structuredClone(object);
  live.metadata.uid = 'u-1';
  live.metadata.resourceVersion = '42';
  live.metadata.managedFields = [{ manager: 'kubectl-client-side-apply', operation: 'Update' }];
  live.status = { observedGeneration: 3 };
  extra(live);
  return live;
};

function scenario(live: unknown[], dryRun: unknown[] = []): Record<string, string> {
  return {
    STANDIN_LIVE_OBJECTS: sandbox.json('live.json', live),
    STANDIN_DRYRUN_OBJECTS: sandbox.json('dryrun.json', dryRun),
  };
}

/** The fixture release with the HPA on: its api Deployment no longer sets spec.replicas. */
function releaseWithHpa(): Release {
  const config = join(sandbox.dir, 'config');
  mkdirSync(config);
  const text = readFileSync(join(fixtureConfig, 'production.yaml'), 'utf8');
  writeFileSync(join(config, 'production.yaml'), text.replace('  # autoscaling: {', '  autoscaling: {'));
  return new Release(config);
}
/** What a client-side `kubectl apply` of the api with 3 replicas left in the annotation. */
const lastAppliedReplicas = (o: any) => {
  o.metadata.annotations = { [LAST_APPLIED]: JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'honeydue' }, spec: { replicas: 3 } }) };
};

describe('the change preview', () => {
  test('a ConfigMap last applied client-side: every live key the release lacks is listed as removed, before anything is written', async () => {
    // What `kubectl create configmap --from-env-file | kubectl apply -f -` left: all keys, in the last-applied annotation too.
    const configMap = find(release.file('config.yaml'), 'ConfigMap', 'honeydue-config');
    const live = asLive(configMap, (o) => {
      o.data.LEGACY_FLAG = 'on';
      o.data.OLD_SMTP_USER = 'ops';
      o.metadata.annotations = { [LAST_APPLIED]: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: o.metadata, data: o.data }) };
    });
    // A dry run that did not migrate the client-side fields still shows the keys: the last-applied annotation says they go.
    const dryRun = asLive(configMap, (o) => (o.data.LEGACY_FLAG = 'on'));

    const run = await runDeploy(['--manifests', release.arg], { scenario: scenario([live], [dryRun]) });

    expect(run.code).toBe(0);
    // Only the file with a live object is dry-run, with the same server-side settings as the apply.
    const dry = run.lines.filter((line) => line.includes('--dry-run=server'));
    expect(dry).toEqual([`${SSA} --dry-run=server -f ${release.file('config.yaml')} -o json`]);
    expect(run.lines.indexOf(dry[0])).toBeLessThan(run.lines.findIndex((line) => line.startsWith(`${SSA} -f`)));
    expect(run.stdout).toMatch(
      /~  update +honeydue +ConfigMap\/honeydue-config\n {8}removed from the live object: data\.LEGACY_FLAG\n {8}removed from the live object: data\.OLD_SMTP_USER\n/,
    );
    expect(run.stdout.indexOf('data.OLD_SMTP_USER')).toBeLessThan(run.stdout.indexOf(`$ kubectl ${SSA} -f`));
    expect(run.stdout).toMatch(/summary: 44 to create, 1 to update, 0 unchanged, 0 to recreate, 0 to prune; 0 workload\(s\) roll\n/);
  });

  test('an unchanged object is unchanged; a changed pod template rolls, with the strategy and its downtime named', async () => {
    const api = find(release.file('api.yaml'), 'Deployment', 'api');
    const worker = find(release.file('worker.yaml'), 'Deployment', 'worker');
    const service = find(release.file('api.yaml'), 'Service', 'api');
    const oldImage = (o: any) => (o.spec.template.spec.containers[0].image = o.spec.template.spec.containers[0].image.replace(':abc1234', ':0ld0ld0'));

    const run = await runDeploy(['--manifests', release.arg], {
      scenario: scenario([asLive(api, oldImage), asLive(worker, oldImage), asLive(service)]),
    });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ {3}unchanged +honeydue +Service\/api\n/);
    expect(run.stdout).toMatch(
      /~  update +honeydue +Deployment\/api +rolls: RollingUpdate maxSurge 1, maxUnavailable 0 \(new pods start before old ones stop: no downtime\)\n {8}changed: spec\.template\.spec\.containers\[api\]\.image: "gitea\.treytartt\.com\/admin\/honeydue-api:0ld0ld0" -> "gitea\.treytartt\.com\/admin\/honeydue-api:abc1234"\n/,
    );
    expect(run.stdout).toMatch(/~  update +honeydue +Deployment\/worker +rolls: Recreate: every old pod stops before the new one starts \(downtime\)\n/);
    expect(run.stdout).toMatch(/2 workload\(s\) roll \(with downtime: Deployment\/worker\)\n/);
    const dry = run.lines.find((line) => line.includes('--dry-run=server')) as string;
    expect(dry).toBe(`${SSA} --dry-run=server -f ${release.file('api.yaml')} -f ${release.file('worker.yaml')} -o json`);
  });

  test('turning the HPA on: losing spec.replicas is shown, with a warning that points at the handoff', async () => {
    const withHpa = releaseWithHpa();
    const live = asLive(find(release.file('api.yaml'), 'Deployment', 'api'), lastAppliedReplicas);
    expect(find(withHpa.file('api.yaml'), 'Deployment', 'api').spec.replicas).toBeUndefined();
    const dir = withHpa.dir;

    const run = await runDeploy(['--manifests', dir], { scenario: scenario([live]) });

    withHpa.remove();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/~  update +honeydue +Deployment\/api\n {8}removed from the live object: spec\.replicas\n/);
    expect(run.stdout).toMatch(/\+  create +honeydue +HorizontalPodAutoscaler\/api\n/);
    expect(run.stderr).toContain(
      'warning: honeydue/api loses spec.replicas: unless an HPA already owns the field, the API server sets it to 1 and the Deployment scales down once. ' +
        'Hand replicas to the HPA first (README, Deploy: "Handing replicas to the HPA")',
    );
  });

  test('after the handoff (handover-to-hpa co-owns spec.replicas) the last-applied replicas are not reported as removed', async () => {
    const withHpa = releaseWithHpa();
    const live = asLive(find(release.file('api.yaml'), 'Deployment', 'api'), (o) => {
      lastAppliedReplicas(o);
      o.metadata.managedFields = [
        { manager: 'kubectl-client-side-apply', operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
        { manager: 'handover-to-hpa', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
      ];
    });
    // The server's dry run keeps a field another manager still owns.
    const afterDryRun = structuredClone(find(withHpa.file('api.yaml'), 'Deployment', 'api'));
    afterDryRun.spec.replicas = 3;

    const run = await runDeploy(['--manifests', withHpa.dir], { scenario: scenario([live], [afterDryRun]) });

    withHpa.remove();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\n +unchanged +honeydue +Deployment\/api\n/);
    expect(run.stdout).not.toContain('removed from the live object: spec.replicas');
    expect(run.stderr).not.toContain('loses spec.replicas');
  });

  test('a dry run the API server refuses stops the deploy before anything is written', async () => {
    const service = find(release.file('api.yaml'), 'Service', 'api');

    const run = await runDeploy(['--manifests', release.arg], { scenario: { ...scenario([asLive(service)]), STANDIN_DRYRUN_FAIL: '1' } });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the API server refused the release in a dry run: Error from server \(Forbidden\): admission webhook "policy\.example" denied the request: dry run refused\. Nothing was applied/);
    expect(run.lines.filter((line) => line.startsWith(`${SSA} -f`))).toEqual([]);
    expect(run.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });
});

describe('confirmation', () => {
  const applies = (r: DeployRun) => r.lines.filter((line) => line.startsWith(`${SSA} -f`));

  test('without a terminal and without --yes the deploy refuses after the preview, applies nothing and releases the lock', async () => {
    const run = await runDeploy(['--manifests', release.arg, '--health-url', health.url], { bare: true });

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/summary: 45 to create/);
    expect(run.stderr).toMatch(/the changes above need a yes, and there is no terminal to ask on: nothing was applied\. Read the preview, then re-run with --yes/);
    expect(applies(run)).toEqual([]);
    expect(run.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });

  test('on a terminal the operator is asked once; no stops before any write, yes goes on', async () => {
    const questions: string[] = [];
    const no = await runDeploy(['--manifests', release.arg, '--health-url', health.url], {
      bare: true,
      interactive: true,
      confirm: async (question) => (questions.push(question), false),
    });
    expect(no.code).toBe(1);
    expect(no.stderr).toMatch(/not confirmed: nothing was applied/);
    expect(applies(no)).toEqual([]);
    expect(questions).toEqual(['Apply these changes? [y/N] ']);

    const yes = await runDeploy(['--manifests', release.arg, '--health-url', health.url], {
      bare: true,
      interactive: true,
      confirm: async (question) => (questions.push(question), true),
    });
    expect(yes.code).toBe(0);
    expect(applies(yes).length).toBeGreaterThan(0);
    expect(questions).toHaveLength(2);
  });

  test.each([
    ['y', 0],
    ['n', 1],
  ])('a real terminal (a pty): the deploy asks, and answering %s decides', async (answer, code) => {
    // Asynchronous: the health endpoint lives in this process and must answer meanwhile.
    const child = spawn(
      'python3',
      [join(__dirname, 'fixtures', 'deploy', 'on-a-terminal.py'), 'Apply these changes? [y/N]', answer,
        join(repoRoot, 'bin', 'run'), 'bin/deploy.ts', '--manifests', release.arg, '--health-url', health.url],
      { cwd: repoRoot, env: sandbox.env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const result = { status, stdout };

    expect(result.status).toBe(code);
    expect(result.stdout).toContain('Apply these changes? [y/N] ');
    const lines = sandbox.readCalls().map((call) => call.join(' '));
    const applies = lines.filter((line) => line.startsWith(`${SSA} -f`));
    if (answer === 'y') expect(applies.length).toBe(12);
    else {
      expect(applies).toEqual([]);
      expect(result.stdout).toContain('not confirmed: nothing was applied');
    }
  });

  test('--yes skips the question even on a terminal', async () => {
    const asked: string[] = [];
    const run = await runDeploy(['--manifests', release.arg, '--yes', '--health-url', health.url], {
      bare: true,
      interactive: true,
      confirm: async (question) => (asked.push(question), false),
    });

    expect(run.code).toBe(0);
    expect(asked).toEqual([]);
    expect(run.stdout).toContain('--yes: going on without asking\n');
  });
});

describe('server-side apply', () => {
  test('every apply is server-side with the stack field manager, taking over conflicting fields, printing what it applied', async () => {
    const run = await runDeploy(['--manifests', release.arg]);

    const applies = run.lines.filter((line) => line.startsWith('apply'));
    expect(applies).toHaveLength(12);
    for (const line of applies) {
      expect(line).toMatch(/^apply --server-side --field-manager=honeydue-k8s --force-conflicts (--dry-run=server )?-f \S+ -o (name|json)$/);
    }
    expect(run.calls.filter((call) => call[0] === 'apply').every((call) => call.includes('--request-timeout=30s'))).toBe(true);
  });

  test('a rejected apply names the rejected object and what of the file was applied', async () => {
    const run = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_REJECT: 'deployment.apps/api' } });

    expect(run.code).toBe(1);
    const apiApply = `${SSA} -f ${release.file('api.yaml')} -o name`;
    expect(run.lines.slice(-3)).toEqual([apiApply, ...LOCK_RELEASE]);
    expect(run.stderr).toContain(
      `kubectl apply -f ${release.file('api.yaml')} failed: Error from server (Forbidden): error when applying patch to api: admission webhook "policy.example" denied the request: image registry not allowed\n` +
        '  rejected or not applied: deployment.apps/api (honeydue)\n' +
        '  applied from this file: serviceaccount/api, service/api, poddisruptionbudget.policy/api-pdb\n',
    );
    expect(run.stderr).toMatch(/cut off part-way: \S+api\.yaml/);
    expect(run.stderr).toMatch(/applied \(\d+ objects\): namespace\/honeydue, configmap\/honeydue-config \(honeydue\), /);
    expect(run.stderr).toContain('migration Job honeydue/honeydue-migrate: complete');
    expect(run.stderr).toMatch(/not run:\n  - wait for rollouts: api, worker\n/);
  });
});
