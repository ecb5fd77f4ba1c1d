/**
 * The change preview and its confirmation, server-side apply, and a rejected
 * apply, against the stand-in kubectl: the live objects and the server-side dry
 * run's answer are scripted (STANDIN_LIVE_OBJECTS, STANDIN_DRYRUN_OBJECTS), and
 * the tests assert on the recorded calls and on the table the operator sees.
 *
 * Why a stand-in and not the control plane of cluster/ (test/cluster/ has what the
 * API server does): each scripted live object stands for a
 * case (a co-owning HPA, a refused defaults dry run, a rejecting webhook) the
 * table must word exactly; test/cluster/takeover.test.ts checks on the real
 * server that what the preview says is removed is what it removed.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DeployRun, fixtureConfig, health, LOCK_RELEASE, release, Release, repoRoot, runDeploy as run, RunSetup, sandbox, SELECTOR, SSA, useDeployFixtures } from './deploy-helpers';
import { NODE_TS } from './node-ts';

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
/**
 * The `fieldsV1` of the fields an object sets, as the API server records them in
 * metadata.managedFields: a map key as `f:<key>`, an item of a list of named
 * objects as `k:{"name":...}`, any other list as one field.
 */
function fieldsV1(value: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const named = Array.isArray(item) && item.length > 0 && item.every((i) => typeof i?.name === 'string');
    if (named) fields[`f:${key}`] = Object.fromEntries(item.map((i: any) => [`k:${JSON.stringify({ name: i.name })}`, { '.': {}, ...fieldsV1(i) }]));
    else if (item !== null && typeof item === 'object' && !Array.isArray(item)) fields[`f:${key}`] = fieldsV1(item as Record<string, unknown>);
    else fields[`f:${key}`] = {};
  }
  return fields;
}
/** What a manager that wrote `object` owns: everything but its identity (kind, name, namespace) and the server's bookkeeping. */
function ownedFields(object: any): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, status: _s, metadata, ...rest } = object;
  const { name: _n, namespace: _ns, uid: _u, resourceVersion: _r, managedFields: _m, ...owned } = metadata;
  return fieldsV1({ ...rest, metadata: owned });
}
const managedBy = (manager: string, operation: 'Apply' | 'Update', object: any) => ({
  manager,
  operation,
  apiVersion: object.apiVersion,
  time: '2025-06-01T10:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: ownedFields(object),
});
/** A live object as the API server returns it, last applied by this deploy: the bookkeeping the preview must ignore. */
const asLive = (object: any, extra: (o: any) => void = () => undefined) => {
  const live = structuredClone(object);
  live.metadata.uid = 'u-1';
  live.metadata.resourceVersion = '42';
  live.metadata.managedFields = [managedBy('honeydue-k8s', 'Apply', object)];
  live.status = { observedGeneration: 3 };
  extra(live);
  return live;
};
/**
 * A live object that `kubectl apply` (client-side) wrote: the last-applied
 * annotation, and kubectl-client-side-apply owning every field it set, the
 * annotation included (what `--show-managed-fields` returns).
 */
const clientSideApplied = (object: any) =>
  asLive(object, (o) => {
    o.metadata.annotations = { ...o.metadata.annotations, [LAST_APPLIED]: JSON.stringify(object) };
    o.metadata.managedFields = [managedBy('kubectl-client-side-apply', 'Update', o)];
  });
/**
 * The server-side dry run's answer for a client-side-applied live object: the
 * dry run does not migrate the client-side manager, so the object keeps every
 * field it owns, and honeydue-k8s's Apply entry owns what the release sets.
 */
const dryRunOverClientSide = (live: any, release: any) => {
  const after = structuredClone(live);
  after.metadata.managedFields = [...live.metadata.managedFields, managedBy('honeydue-k8s', 'Apply', release)];
  return after;
};
/** The release's object as the takeover's defaults dry run reads it: renamed, so the live one is not touched. */
const renamed = (object: any) => ({ ...object, metadata: { ...object.metadata, name: `${object.metadata.name}-takeover-preview` } });
const TAKEOVER_NOTE = (objects: string) =>
  `takeover: ${objects} was last written by kubectl-client-side-apply; the apply moves those fields to honeydue-k8s ` +
  'and removes the ones listed above (kubectl diff does not show this step)\n';
const replicasWarning = (change: string) =>
  `warning: honeydue/api loses spec.replicas (${change}): the release leaves the field to an HPA, but no other field manager ` +
  'owns it yet, so the API server sets it to 1 and the Deployment scales down until the HPA acts. Hand replicas to the HPA first ' +
  '(docs: "Handing replicas to the HPA")\n';

/** The live read's `-f` arguments: every file of the release, the migrate file included. */
const readFiles = (of: Release) => readdirSync(of.dir).sort().map((name) => `-f ${join(of.arg, name)}`).join(' ');

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

/**
 * The release's ConfigMap as `kubectl create configmap --from-env-file | kubectl apply -f -` left it:
 * two keys more than the release, every key owned by kubectl-client-side-apply.
 */
function legacyConfigMap() {
  const configMap = find(release.file('config.yaml'), 'ConfigMap', 'honeydue-config');
  const applied = structuredClone(configMap);
  applied.data.LEGACY_FLAG = 'on';
  applied.data.OLD_SMTP_USER = 'ops';
  return { configMap, applied, live: clientSideApplied(applied) };
}

describe('the change preview', () => {
  test('a ConfigMap last applied client-side: every live key the release lacks is listed as removed, before anything is written', async () => {
    const { configMap, live } = legacyConfigMap();
    // The dry run still shows both keys (it does not migrate the client-side manager): its managedFields say they go.
    const dryRun = dryRunOverClientSide(live, configMap);

    const kept = join(sandbox.dir, 'dry-run');

    const run = await runDeploy(['--manifests', release.arg, '--diff'], { scenario: { ...scenario([live], [dryRun]), STANDIN_KEEP_DRYRUN: kept } });

    expect(run.code).toBe(0);
    // Every file is read, with who owns which field; only the file with a live object is dry-run, with the
    // same server-side settings as the apply. The takeover drops keys: a second dry run, of the release's
    // ConfigMap under a new name, answers the defaults the server would set (a ConfigMap's data has none).
    const read = run.lines.filter((line) => line.startsWith('get -f'));
    expect(read).toEqual([`get ${readFiles(release)} -o json --ignore-not-found --show-managed-fields`]);
    const dry = run.lines.filter((line) => line.includes('--dry-run=server'));
    expect(dry).toEqual([
      `${SSA} --dry-run=server -f ${release.file('config.yaml')} -o json --show-managed-fields`,
      expect.stringMatching(new RegExp(`^${SSA} --dry-run=server -f ${sandbox.root}/\\.deploy/production-[^/]+/preview-takeover-defaults\\.yaml -o json --show-managed-fields$`)),
    ]);
    expect(objectsOf(join(kept, 'preview-takeover-defaults.yaml'))).toEqual([renamed(configMap)]);
    expect(run.lines.indexOf(dry[1])).toBeLessThan(run.lines.findIndex((line) => line.startsWith(`${SSA} -f`)));
    expect(run.stdout).toMatch(
      /~  update +honeydue +ConfigMap\/honeydue-config\n {8}removed from the live object: data\.LEGACY_FLAG\n {8}removed from the live object: data\.OLD_SMTP_USER\n/,
    );
    expect(run.stdout.indexOf('data.OLD_SMTP_USER')).toBeLessThan(run.stdout.indexOf(`$ kubectl ${SSA} -f`));
    expect(run.stdout).toMatch(/summary: 44 to create, 1 to update, 0 unchanged, 0 to recreate, 0 to prune; 0 workload\(s\) roll\n/);
    expect(run.stdout).toContain(TAKEOVER_NOTE('ConfigMap/honeydue-config'));
    // kubectl diff cannot show the takeover's removals: --diff says so, and where they are listed.
    expect(run.stdout).toContain(
      'note: kubectl diff does not show what the takeover of ConfigMap/honeydue-config removes; the preview above lists it\n',
    );
  });

  test('a key another field manager also owns is kept on a takeover, so it is not listed as removed', async () => {
    const { configMap, applied, live } = legacyConfigMap();
    // Someone also patched LEGACY_FLAG (kubectl patch): that manager keeps owning it after the takeover.
    live.metadata.managedFields.push({ ...managedBy('kubectl-patch', 'Update', applied), fieldsV1: { 'f:data': { 'f:LEGACY_FLAG': {} } } });

    const run = await runDeploy(['--manifests', release.arg], { scenario: scenario([live], [dryRunOverClientSide(live, configMap)]) });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/~  update +honeydue +ConfigMap\/honeydue-config\n {8}removed from the live object: data\.OLD_SMTP_USER\n(?! {8})/);
    expect(run.stdout).not.toContain('removed from the live object: data.LEGACY_FLAG');
    expect(run.stdout).toContain(TAKEOVER_NOTE('ConfigMap/honeydue-config'));
  });

  test('live keys the release lacks, on an object this deploy applied before: the dry run drops them, with no takeover', async () => {
    const configMap = find(release.file('config.yaml'), 'ConfigMap', 'honeydue-config');
    const live = asLive(configMap, (o) => {
      o.data.LEGACY_FLAG = 'on';
      o.metadata.managedFields = [managedBy('honeydue-k8s', 'Apply', o)];
    });

    // The stand-in's dry run answers with the release's object: the key the release stopped setting is gone.
    const run = await runDeploy(['--manifests', release.arg], { scenario: scenario([live]) });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/~  update +honeydue +ConfigMap\/honeydue-config\n {8}removed from the live object: data\.LEGACY_FLAG\n/);
    expect(run.stdout).not.toContain('takeover:');
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
    expect(dry).toBe(`${SSA} --dry-run=server -f ${release.file('api.yaml')} -f ${release.file('worker.yaml')} -o json --show-managed-fields`);
    expect(run.stdout).not.toContain('takeover:');
  });

  test('turning the HPA on: the replicas the server defaults to 1 are shown, with a warning that points at the handoff', async () => {
    const withHpa = releaseWithHpa();
    // Applied by this deploy with 3 replicas; the release with the HPA stops setting the field.
    const live = asLive(find(release.file('api.yaml'), 'Deployment', 'api'));
    const next = find(withHpa.file('api.yaml'), 'Deployment', 'api');
    expect(next.spec.replicas).toBeUndefined();
    // No manager owns spec.replicas any more: the dry run answers with the field defaulted.
    const defaulted = structuredClone(next);
    defaulted.spec.replicas = 1;

    const run = await runDeploy(['--manifests', withHpa.dir], { scenario: scenario([live], [defaulted]) });

    withHpa.remove();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/~  update +honeydue +Deployment\/api\n {8}changed: spec\.replicas: 3 -> 1\n/);
    expect(run.stdout).toMatch(/\+  create +honeydue +HorizontalPodAutoscaler\/api\n/);
    expect(run.stderr).toBe(replicasWarning('3 -> 1'));
  });

  /** api applied client-side with 3 replicas, and the release with the HPA on, which leaves spec.replicas out. */
  function hpaOverClientSide() {
    const withHpa = releaseWithHpa();
    const live = clientSideApplied(find(release.file('api.yaml'), 'Deployment', 'api'));
    const next = find(withHpa.file('api.yaml'), 'Deployment', 'api');
    // The renamed copy is created in the dry run: the server defaults its replicas to 1.
    const defaulted = renamed(next);
    defaulted.spec = { ...next.spec, replicas: 1 };
    // The dry run keeps replicas 3 (kubectl-client-side-apply still owns it there); the takeover drops it, and the server sets 1.
    return { withHpa, scenario: scenario([live], [dryRunOverClientSide(live, next), defaulted]) };
  }

  test('turning the HPA on over a client-side-applied Deployment: the takeover drops spec.replicas and the server defaults it, shown as 3 -> 1', async () => {
    const { withHpa, scenario: script } = hpaOverClientSide();

    const run = await runDeploy(['--manifests', withHpa.dir], { scenario: script });

    withHpa.remove();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/~  update +honeydue +Deployment\/api\n {8}changed: spec\.replicas: 3 -> 1\n(?! {8})/);
    expect(run.stdout).toContain(TAKEOVER_NOTE('Deployment/api'));
  });

  // The takeover drops spec.replicas and the server defaults it: `changed: 3 -> 1` from the defaults' dry run, not the
  // first one (which still says 3), must warn too.
  test('turning the HPA on over a client-side-applied Deployment warns that api scales to one pod', async () => {
    const { withHpa, scenario: script } = hpaOverClientSide();

    const run = await runDeploy(['--manifests', withHpa.dir], { scenario: script });

    withHpa.remove();
    expect(run.stderr).toBe(replicasWarning('3 -> 1'));
  });

  test('an HPA already scaling a client-side-applied Deployment owns spec.replicas through the scale subresource: the takeover keeps it', async () => {
    const withHpa = releaseWithHpa();
    const live = clientSideApplied(find(release.file('api.yaml'), 'Deployment', 'api'));
    // The HPA controller writes replicas through /scale: an Update entry with a subresource.
    live.metadata.managedFields.push({
      ...managedBy('kube-controller-manager', 'Update', live),
      subresource: 'scale',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    });
    const next = find(withHpa.file('api.yaml'), 'Deployment', 'api');
    const apiFile = withHpa.file('api.yaml');

    const run = await runDeploy(['--manifests', withHpa.dir], { scenario: scenario([live], [dryRunOverClientSide(live, next)]) });

    withHpa.remove();
    expect(run.code).toBe(0);
    // Nothing the takeover drops: no dry run of renamed copies, nothing removed or changed, no warning.
    expect(run.lines.filter((line) => line.includes('--dry-run=server'))).toEqual([`${SSA} --dry-run=server -f ${apiFile} -o json --show-managed-fields`]);
    expect(run.stdout).toMatch(/\n {5}unchanged +honeydue +Deployment\/api\n/);
    expect(run.stdout).not.toContain('spec.replicas');
    // The client-side manager is still migrated (it owns the annotation).
    expect(run.stdout).toContain(TAKEOVER_NOTE('Deployment/api'));
    expect(run.stderr).toBe('');
  });

  /** api as hand-written YAML applied client-side: a label the release lacks, and two fields the server defaults. */
  function handWrittenApi() {
    const api = find(release.file('api.yaml'), 'Deployment', 'api');
    const written = structuredClone(api);
    written.metadata.labels['legacy-tier'] = 'backend';
    written.spec.progressDeadlineSeconds = 600;
    written.spec.revisionHistoryLimit = 5;
    const live = clientSideApplied(written);
    // The server's answer for the renamed copy of the release's api: a new Deployment, defaulted.
    const defaulted = renamed(api);
    defaulted.spec = { ...api.spec, progressDeadlineSeconds: 600, revisionHistoryLimit: 10 };
    return { api, live, dryRun: dryRunOverClientSide(live, api), defaulted };
  }

  test('a field the takeover drops that the server defaults: the same value is not reported, another is changed to the default', async () => {
    const { api, live, dryRun, defaulted } = handWrittenApi();
    const kept = join(sandbox.dir, 'dry-run');

    const run = await runDeploy(['--manifests', release.arg], { scenario: { ...scenario([live], [dryRun, defaulted]), STANDIN_KEEP_DRYRUN: kept } });

    expect(run.code).toBe(0);
    expect(objectsOf(join(kept, 'preview-takeover-defaults.yaml'))).toEqual([renamed(api)]);
    expect(run.stdout).toMatch(
      /~  update +honeydue +Deployment\/api\n {8}removed from the live object: metadata\.labels\.legacy-tier\n {8}changed: spec\.revisionHistoryLimit: 5 -> 10\n(?! {8})/,
    );
    expect(run.stdout).not.toContain('progressDeadlineSeconds');
    expect(run.stdout).toContain(TAKEOVER_NOTE('Deployment/api'));
    expect(run.stderr).toBe('');
  });

  test('a refused dry run of the renamed copies: the dropped fields are listed as removed, with a warning that some may have a default', async () => {
    const { live, dryRun, defaulted } = handWrittenApi();

    const run = await runDeploy(['--manifests', release.arg], { scenario: { ...scenario([live], [dryRun, defaulted]), STANDIN_DRYRUN_FAIL: 'takeover' } });

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /~  update +honeydue +Deployment\/api\n {8}removed from the live object: metadata\.labels\.legacy-tier\n {8}removed from the live object: spec\.progressDeadlineSeconds\n {8}removed from the live object: spec\.revisionHistoryLimit\n(?! {8})/,
    );
    expect(run.stderr).toBe(
      'warning: the API server did not answer a dry run of the taken-over objects under new names (Error from server (Forbidden): ' +
        'admission webhook "policy.example" denied the request: dry run refused): fields with a default that the takeover drops are ' +
        'listed as removed, though the server sets them to their default\n',
    );
  });

  test('after the handoff (handover-to-hpa co-owns spec.replicas) the last-applied replicas are not reported as removed', async () => {
    const withHpa = releaseWithHpa();
    const api = find(release.file('api.yaml'), 'Deployment', 'api');
    const next = find(withHpa.file('api.yaml'), 'Deployment', 'api');
    // What a client-side `kubectl apply` of the api with 3 replicas left, then the handoff's apply of the field alone.
    const lastApplied = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: 'honeydue' }, spec: { replicas: 3 } };
    const live = asLive(api, (o) => {
      o.metadata.annotations = { ...o.metadata.annotations, [LAST_APPLIED]: JSON.stringify(lastApplied) };
      o.metadata.managedFields = [
        { ...managedBy('kubectl-client-side-apply', 'Update', o), fieldsV1: { 'f:metadata': { 'f:annotations': { [`f:${LAST_APPLIED}`]: {} } }, 'f:spec': { 'f:replicas': {} } } },
        { ...managedBy('handover-to-hpa', 'Apply', o), fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
        managedBy('honeydue-k8s', 'Apply', api),
      ];
    });
    // The server's dry run keeps a field another manager still owns.
    const afterDryRun = structuredClone(next);
    afterDryRun.spec.replicas = 3;

    const run = await runDeploy(['--manifests', withHpa.dir], { scenario: scenario([live], [afterDryRun]) });

    withHpa.remove();
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\n +unchanged +honeydue +Deployment\/api\n/);
    expect(run.stdout).not.toContain('removed from the live object: spec.replicas');
    // The client-side manager is still migrated (it owns the annotation), but takes nothing with it.
    expect(run.stdout).toContain(TAKEOVER_NOTE('Deployment/api'));
    expect(run.stderr).not.toContain('loses spec.replicas');
  });

  test('a paused Deployment stops the deploy in the preview: its rollout would never finish', async () => {
    const live = asLive(find(release.file('api.yaml'), 'Deployment', 'api'), (o) => (o.spec.paused = true));

    const run = await runDeploy(['--manifests', release.arg], { scenario: scenario([live]) });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'Deployment honeydue/api is paused (kubectl rollout pause): its new pods would never roll out, rollout status would wait ' +
        'the whole --timeout, and rollout undo refuses a paused Deployment. Nothing was applied. Find out who paused it and why; ' +
        'once it may roll again: kubectl -n honeydue rollout resume deployment/api ; then re-run the deploy',
    );
    // Refused on the live read: no dry run, nothing applied (the prune listings ran alongside the read).
    expect(run.lines.filter((line) => line.startsWith('apply'))).toEqual([]);
    expect(run.lines.slice(-5).map((line) => line.replace(/^get configmap,\S+ /, 'get <kinds> '))).toEqual([
      `get ${readFiles(release)} -o json --ignore-not-found --show-managed-fields`,
      `get <kinds> -n honeydue -l ${SELECTOR} -o json`,
      `get <kinds> -n kube-system -l ${SELECTOR} -o json`,
      ...LOCK_RELEASE,
    ]);
  });

  test("the migrate file's ServiceAccount is compared like any object: the dry run reads it without the Job", async () => {
    const serviceAccount = find(release.file('migrate.yaml'), 'ServiceAccount', 'migrate');
    const kept = join(sandbox.dir, 'dry-run');

    const run = await runDeploy(['--manifests', release.arg], {
      scenario: { ...scenario([asLive(serviceAccount)]), STANDIN_KEEP_DRYRUN: kept },
    });

    expect(run.code).toBe(0);
    const dry = run.lines.filter((line) => line.includes('--dry-run=server'));
    expect(dry).toEqual([
      expect.stringMatching(new RegExp(`^${SSA} --dry-run=server -f ${sandbox.root}/\\.deploy/production-[^/]+/preview-migrate-without-job\\.yaml -o json --show-managed-fields$`)),
    ]);
    // The Job is deleted and created every deploy (its pod template is immutable): a dry run of it could only fail.
    expect(objectsOf(join(kept, 'preview-migrate-without-job.yaml'))).toEqual([serviceAccount]);
    expect(run.stdout).toMatch(/\n {5}unchanged +honeydue +ServiceAccount\/migrate\n/);
    expect(run.stdout).toMatch(/\+  create +honeydue +Job\/honeydue-migrate +runs the migration \(deleted and created every deploy\)\n/);
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
        NODE_TS, 'bin/deploy.ts', '--manifests', release.arg, '--health-url', health.url],
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
