/**
 * What the real API server admits and refuses, and which kinds it serves
 * without a namespace: Pod Security `restricted` for every pod of a release, a
 * ValidatingAdmissionPolicy that refuses a Deployment, and the immutable-field
 * changes `npm run review` names.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { runReviewCli } from '../../app/review/cli';
import { recordedClusterScopedKinds } from '../helpers';
import { kubectlFor, TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(240_000);

test("the API server's cluster-scoped kinds of its built-in groups are the ones test/fixtures/discovery records", () => {
  // NAME [SHORTNAMES] APIVERSION NAMESPACED KIND: the short names may be missing, so the columns count from the end.
  const served = kubectlFor()(['api-resources', '--namespaced=false', '--no-headers'])
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const columns = line.trim().split(/\s+/);
      const apiVersion = columns[columns.length - 3];
      return `${apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : ''}/${columns[columns.length - 1]}`;
    })
    .filter((entry) => entry.startsWith('/') || /^[^/]*k8s\.io\//.test(entry));
  expect(served.sort()).toEqual(recordedClusterScopedKinds().sort());
});

describe('a deployed release', () => {
  let env: TestEnvironment;
  let dist: string;
  beforeAll(async () => {
    env = new TestEnvironment('admission');
    env.prepare();
    const first = await env.deploy(env.release());
    expect(first.code).toBe(0);
    dist = env.synth();
  });
  afterAll(() => env.remove());

  test('every pod of the release was admitted under restricted Pod Security, which the API server enforces', () => {
    const pods = env.kubectl.json<{ items: any[] }>(['get', 'pods', '-n', env.namespace]).items;
    const running = (name: string) => pods.filter((pod) => pod.metadata.labels['app.kubernetes.io/name'] === name && pod.status.phase === 'Running').length;
    for (const deployment of env.kubectl.json<{ items: any[] }>(['get', 'deployments', '-n', env.namespace]).items) {
      expect({ workload: deployment.metadata.name, running: running(deployment.metadata.name) }).toEqual({ workload: deployment.metadata.name, running: deployment.spec.replicas });
    }
    const refusals = env.kubectl(['get', 'events', '-n', env.namespace, '--field-selector', 'reason=FailedCreate', '-o', 'name']);
    expect(refusals).toBe('');
    // The namespace enforces it: a privileged pod is refused by the API server itself.
    const privileged = env.kubectl.try([
      'run', 'intruder', '-n', env.namespace, '--image=busybox', '--restart=Never',
      '--overrides={"spec":{"containers":[{"name":"intruder","image":"busybox","securityContext":{"privileged":true}}]}}',
    ]);
    expect(privileged.code).not.toBe(0);
    expect(privileged.stderr).toContain('violates PodSecurity "restricted:latest"');
  });

  /** One object of the release, edited, as a file of its own. */
  function edited(file: string, kind: string, name: string, edit: (object: any) => void): any {
    const object = parseAllDocuments(readFileSync(join(dist, file), 'utf8')).map((doc) => doc.toJS()).find((o) => o.kind === kind && o.metadata.name === name);
    edit(object);
    return object;
  }

  const cases: Array<{ what: string; file: string; kind: string; name: string; edit: (object: any) => void; review: RegExp; server: RegExp; before?: (object: any) => void }> = [
    {
      what: "a Deployment's selector",
      file: '40-api.yaml', kind: 'Deployment', name: 'api',
      edit: (o) => {
        o.spec.selector.matchLabels.tier = 'backend';
        o.spec.template.metadata.labels.tier = 'backend';
      },
      review: /spec\.selector is immutable \(changed: spec\.selector\.matchLabels\.tier\)/,
      server: /field is immutable/,
    },
    {
      what: "a PersistentVolumeClaim's storage class",
      file: '15-redis.yaml', kind: 'PersistentVolumeClaim', name: 'redis-data',
      edit: (o) => (o.spec.storageClassName = 'fast'),
      review: /a PersistentVolumeClaim's spec, except growing spec\.resources\.requests\.storage, is immutable \(changed: spec\.storageClassName\)/,
      server: /spec is immutable after creation/,
    },
    {
      what: 'a PersistentVolumeClaim that shrinks',
      file: '15-redis.yaml', kind: 'PersistentVolumeClaim', name: 'redis-data',
      edit: (o) => (o.spec.resources.requests.storage = '1Gi'),
      review: /spec\.resources\.requests\.storage shrinks/,
      server: /spec\.resources\.requests\.storage: Forbidden: field can not be less than/,
    },
    {
      what: "a Service's clusterIP",
      file: '40-api.yaml', kind: 'Service', name: 'api',
      edit: (o) => (o.spec.clusterIP = '10.43.250.250'),
      review: /a Service's spec\.clusterIP is immutable/,
      server: /spec\.clusterIPs?(\[0\])?: Invalid value: .*(may not change once set|field is immutable)/,
    },
    {
      what: "a RoleBinding's roleRef",
      file: '60-observability.yaml', kind: 'RoleBinding', name: 'vmagent',
      edit: (o) => (o.roleRef.name = 'view'),
      review: /a binding's roleRef is immutable \(changed: roleRef\.name\)/,
      server: /cannot change roleRef/,
    },
  ];

  test.each(cases)('$what: named by the review, refused by the API server', ({ file, kind, name, edit, review: said, server }) => {
    // The review of the release against the same with the one edit.
    const to = mkdtempSync(join(env.dir, 'to-'));
    cpSync(dist, join(to, basename(dist)), { recursive: true });
    const docs = parseAllDocuments(readFileSync(join(dist, file), 'utf8')).map((doc) => doc.toJS());
    const changed = edited(file, kind, name, edit);
    writeFileSync(join(to, basename(dist), file), docs.map((o) => stringify(o.kind === kind && o.metadata.name === name ? changed : o)).join('---\n'));
    let out = '';
    runReviewCli(['--from', dirname(dist), '--to', to], { cwd: env.dir, repoDir: env.dir, configDir: env.configDir, io: { out: (t) => (out += t), err: (t) => (out += t) } });
    expect(out).toMatch(said);

    // The same change applied as the deploy applies it.
    const single = join(env.dir, `${kind}-${name}-edited.yaml`);
    writeFileSync(single, stringify(changed));
    const applied = env.kubectl.try(['apply', '--server-side', '--field-manager=honeydue-k8s', '--force-conflicts', '-f', single]);
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toMatch(server);
  });

  test("an immutable ConfigMap's data: named by the review, refused by the API server", () => {
    const frozen = (data: Record<string, string>) => ({
      apiVersion: 'v1', kind: 'ConfigMap', immutable: true, data,
      metadata: { name: 'frozen', namespace: env.namespace, labels: env.get<any>('configmap', 'honeydue-config').metadata.labels },
    });
    const from = mkdtempSync(join(env.dir, 'from-'));
    const to = mkdtempSync(join(env.dir, 'to-'));
    for (const [root, data] of [[from, { mode: 'a' }], [to, { mode: 'b' }]] as const) {
      cpSync(dist, join(root, basename(dist)), { recursive: true });
      writeFileSync(join(root, basename(dist), '10-config.yaml'), `${readFileSync(join(dist, '10-config.yaml'), 'utf8')}---\n${stringify(frozen(data))}`);
    }
    let out = '';
    runReviewCli(['--from', from, '--to', to], { cwd: env.dir, repoDir: env.dir, configDir: env.configDir, io: { out: (t) => (out += t), err: (t) => (out += t) } });
    expect(out).toMatch(/an immutable ConfigMap's data is immutable \(changed: data\.mode\)/);

    env.kubectl(['apply', '--server-side', '--field-manager=honeydue-k8s', '-f', '-'], stringify(frozen({ mode: 'a' })));
    const applied = env.kubectl.try(['apply', '--server-side', '--field-manager=honeydue-k8s', '--force-conflicts', '-f', '-'], stringify(frozen({ mode: 'b' })));
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toMatch(/field is immutable when `immutable` is set/);
  });
});

test('a Deployment a ValidatingAdmissionPolicy refuses stops the deploy, naming it, with the app not applied', async () => {
  const env = new TestEnvironment('policy');
  const policy = `registry-${env.name}`;
  try {
    env.prepare();
    const file = join(env.dir, 'policy.yaml');
    writeFileSync(
      file,
      [
        {
          apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: policy },
          spec: {
            failurePolicy: 'Fail',
            matchConstraints: {
              resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['deployments'] }],
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': env.namespace } },
            },
            validations: [{ expression: "object.spec.template.spec.containers.all(c, c.image.startsWith('registry.example/'))", message: 'images must come from registry.example' }],
          },
        },
        { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: policy }, spec: { policyName: policy, validationActions: ['Deny'] } },
      ].map((doc) => stringify(doc)).join('---\n'),
    );
    env.kubectl(['apply', '-f', file]);
    // The policy is in force once the API server refuses a Deployment in a dry run.
    const probe = join(env.synth(), '40-api.yaml');
    for (let i = 0; i < 40 && env.kubectl.try(['apply', '--dry-run=server', '-f', probe]).code === 0; i++) await new Promise((r) => setTimeout(r, 250));

    const run = await env.deploy(env.release());

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/redis.*ValidatingAdmissionPolicy '[^']+' with binding '[^']+' denied request: images must come from registry\.example/s);
    expect(env.kubectl.try(['get', 'deployment', 'redis', '-n', env.namespace]).code).not.toBe(0);
    expect(env.kubectl.try(['get', 'deployment', 'api', '-n', env.namespace]).code).not.toBe(0);
  } finally {
    env.kubectl.try(['delete', 'validatingadmissionpolicybinding,validatingadmissionpolicy', policy]);
    env.remove();
  }
});
