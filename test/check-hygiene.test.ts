/**
 * Workload hygiene: pinned images, resources, probes that probe a declared port,
 * read-only root filesystems, no ServiceAccount token.
 */
import { imageTag } from '../manifest-check/rules/hygiene';
import { check, expectFindings, goodDocs, goodWith } from './check-helpers';

const API = 'Deployment honeydue/api';
const api = 'spec.template.spec.containers[0]';
const apiWith = (edit: (container: any, spec: any, deployment: any) => void) =>
  goodWith('Deployment', 'api', (d) => edit(d.spec.template.spec.containers[0], d.spec.template.spec, d));
const passedOnStack = (rule: string) => check(goodDocs()).byRule.get(rule)!;

describe('hygiene/image-tag', () => {
  test.each([
    ['tagged latest', 'gitea.treytartt.com/admin/honeydue-api:latest'],
    ['untagged', 'gitea.treytartt.com/admin/honeydue-api'],
    ['untagged behind a registry port', 'registry.local:5000/honeydue-api'],
  ])('fails on an image %s', (_what, image) => {
    const report = check(apiWith((c) => { c.image = image; }));
    expectFindings(report, [{ rule: 'hygiene/image-tag', object: API, path: `${api}.image` }]);
    expect(report.findings[0].message).toContain(JSON.stringify(image));
    expect(report.findings[0].message).toMatch(/pin the release tag/);
  });

  test('passes SHA tags, version tags and digests', () => {
    expect(imageTag('redis:7-alpine')).toBe('7-alpine');
    expect(imageTag('registry.local:5000/api:3f2c9e1')).toBe('3f2c9e1');
    expect(imageTag('redis@sha256:0123abcd')).toBe('sha256:0123abcd');
    expect(check(apiWith((c) => { c.image = 'gitea.treytartt.com/admin/honeydue-api@sha256:' + 'a'.repeat(64); })).findings).toEqual([]);
    expect(passedOnStack('hygiene/image-tag')).toEqual({ passed: 6, failed: 0 });
  });
});

describe('hygiene/resources', () => {
  test.each([
    ['the memory limit', (c: any) => { delete c.resources.limits.memory; }, `${api}.resources.limits.memory`],
    ['the cpu request', (c: any) => { delete c.resources.requests.cpu; }, `${api}.resources.requests.cpu`],
  ])('fails without %s', (_what, edit, path) => {
    expectFindings(check(apiWith(edit)), [{ rule: 'hygiene/resources', object: API, path }]);
  });

  test('fails on a request above its limit (the API server rejects the pod)', () => {
    const report = check(apiWith((c) => { c.resources.requests.memory = '1Gi'; }));
    expectFindings(report, [{ rule: 'hygiene/resources', object: API, path: `${api}.resources.requests.memory` }]);
    expect(report.findings[0].message).toMatch(/requests memory "1Gi" above its limit "512Mi"/);
  });

  test('fails on an init container without resources', () => {
    const report = check(apiWith((c, spec) => {
      spec.initContainers = [{ name: 'wait', image: c.image, securityContext: structuredClone(c.securityContext) }];
    }));
    expect(report.findings.map((f) => f.path)).toEqual([
      'spec.template.spec.initContainers[0].resources.requests.cpu', 'spec.template.spec.initContainers[0].resources.requests.memory',
      'spec.template.spec.initContainers[0].resources.limits.cpu', 'spec.template.spec.initContainers[0].resources.limits.memory',
    ]);
  });

  test('passes every container of the stack', () => {
    expect(passedOnStack('hygiene/resources')).toEqual({ passed: 6, failed: 0 });
  });
});

describe('hygiene/probes', () => {
  test.each(['readinessProbe', 'livenessProbe'])('fails when a container that serves a port has no %s', (probe) => {
    const report = check(apiWith((c) => { delete c[probe]; }));
    expectFindings(report, [{ rule: 'hygiene/probes', object: API, path: `${api}.${probe}` }]);
  });

  test('passes an init container that declares a port: only regular containers serve traffic', () => {
    const docs = apiWith((c, spec) => {
      spec.initContainers = [{ ...structuredClone(c), name: 'warm', ports: [{ name: 'warm', containerPort: 9000 }], readinessProbe: undefined, livenessProbe: undefined, startupProbe: undefined }];
    });
    expect(check(docs).findings).toEqual([]);
  });

  test('passes a container whose ports list holds no mapping: it declares no port', () => {
    const docs = goodWith('Deployment', 'worker', (d) => { d.spec.template.spec.containers[0].ports = ['8000']; });
    expect(check(docs).findings.filter((f) => f.rule === 'hygiene/probes')).toEqual([]);
  });

  test('passes a container without ports (worker) and a Job that serves a port', () => {
    const docs = goodWith('Job', 'honeydue-migrate', (j) => { j.spec.template.spec.containers[0].ports = [{ containerPort: 9090 }]; });
    expect(check(docs).findings).toEqual([]);
    expect(passedOnStack('hygiene/probes')).toEqual({ passed: 6, failed: 0 });
  });
});

describe('hygiene/probe-port', () => {
  test.each([
    ['a port name the container does not declare', (c: any) => { c.readinessProbe.httpGet.port = 'web'; }, `${api}.readinessProbe.httpGet.port`],
    ['a port number the container does not declare', (c: any) => { c.startupProbe.httpGet.port = 8080; }, `${api}.startupProbe.httpGet.port`],
    ['a tcpSocket probe on an undeclared port', (c: any) => { c.livenessProbe = { tcpSocket: { port: 9000 } }; }, `${api}.livenessProbe.tcpSocket.port`],
    ['a grpc probe on an undeclared port', (c: any) => { c.livenessProbe = { grpc: { port: 9000 } }; }, `${api}.livenessProbe.grpc.port`],
  ])('fails on %s', (_what, edit, path) => {
    const report = check(apiWith(edit));
    expectFindings(report, [{ rule: 'hygiene/probe-port', object: API, path }]);
    expect(report.findings[0].message).toMatch(/declared: http \(8000\)/);
  });

  test('says the container declares no port when a probe targets one on a container without ports', () => {
    const report = check(goodWith('Deployment', 'worker', (d) => { d.spec.template.spec.containers[0].readinessProbe = { tcpSocket: { port: 8000 } }; }));
    expect(report.findings.map((f) => [f.rule, f.object, f.path, f.message])).toEqual([[
      'hygiene/probe-port', 'Deployment honeydue/worker', 'spec.template.spec.containers[0].readinessProbe.tcpSocket.port',
      'container "worker" readinessProbe probes port 8000, which the container does not declare (declared: none): probe a declared port, or declare it under ports',
    ]]);
  });

  test('skips a ports entry that is no mapping when it looks for the probed port', () => {
    const docs = apiWith((c) => { c.ports = [null, { name: 'http', containerPort: 8000 }]; });
    expect(check(docs).findings.filter((f) => f.rule === 'hygiene/probe-port')).toEqual([]);
  });

  test('passes probes by name and by number, and exec probes', () => {
    expect(check(apiWith((c) => { c.livenessProbe = { exec: { command: ['true'] } }; })).findings).toEqual([]);
    expect(passedOnStack('hygiene/probe-port')).toEqual({ passed: 6, failed: 0 });
  });
});

describe('hygiene/read-only-root-fs', () => {
  test.each([false, undefined])('fails when readOnlyRootFilesystem is %s', (value) => {
    const report = check(apiWith((c) => { c.securityContext.readOnlyRootFilesystem = value; }));
    expectFindings(report, [{ rule: 'hygiene/read-only-root-fs', object: API, path: `${api}.securityContext.readOnlyRootFilesystem` }]);
  });

  test('passes every container of the stack', () => {
    expect(passedOnStack('hygiene/read-only-root-fs')).toEqual({ passed: 6, failed: 0 });
  });
});

describe('hygiene/empty-dir-size-limit', () => {
  test('fails naming an emptyDir without sizeLimit (the nextjs-cache shipped unbounded)', () => {
    const report = check(goodWith('Deployment', 'admin', (d) => { d.spec.template.spec.volumes[0].emptyDir = {}; }));
    expectFindings(report, [{ rule: 'hygiene/empty-dir-size-limit', object: 'Deployment honeydue/admin', path: 'spec.template.spec.volumes[0].emptyDir.sizeLimit' }]);
    expect(report.findings[0].message).toMatch(/emptyDir volume "nextjs-cache" has no sizeLimit: .*set emptyDir.sizeLimit/);
  });

  test('passes every pod of the stack', () => {
    expect(passedOnStack('hygiene/empty-dir-size-limit')).toEqual({ passed: 6, failed: 0 });
  });
});

describe('hygiene/service-account-token', () => {
  const path = 'spec.template.spec.automountServiceAccountToken';

  test('fails when the pod asks for the token', () => {
    expectFindings(check(apiWith((_c, spec) => { spec.automountServiceAccountToken = true; })), [{ rule: 'hygiene/service-account-token', object: API, path }]);
  });

  test('fails when neither the pod nor its ServiceAccount disables it', () => {
    const docs = goodWith('ServiceAccount', 'api', (sa) => { delete sa.automountServiceAccountToken; });
    const deployment = docs.find((d: any) => d.object.kind === 'Deployment' && d.object.metadata.name === 'api')!.object as any;
    delete deployment.spec.template.spec.automountServiceAccountToken;
    const report = check(docs);
    expectFindings(report, [{ rule: 'hygiene/service-account-token', object: API, path }]);
    expect(report.findings[0].message).toMatch(/ServiceAccount "api" does not disable it/);
  });

  test('fails for a pod on the default ServiceAccount that says nothing', () => {
    const report = check(apiWith((_c, spec) => { delete spec.serviceAccountName; delete spec.automountServiceAccountToken; }));
    expectFindings(report, [{ rule: 'hygiene/service-account-token', object: API, path }]);
    expect(report.findings[0].message).toMatch(/ServiceAccount "default" is not in the set/);
  });

  test('passes when only the ServiceAccount disables it', () => {
    expect(check(apiWith((_c, spec) => { delete spec.automountServiceAccountToken; })).findings).toEqual([]);
    expect(passedOnStack('hygiene/service-account-token')).toEqual({ passed: 6, failed: 0 });
  });
});

describe('what each hygiene finding says: what is wrong, why it matters, the fix', () => {
  const c0 = 'spec.template.spec.containers[0]';
  test.each<[string, (c: any, spec: any) => void, string, string, string]>([
    ['an empty image', (c) => { c.image = ''; }, 'hygiene/image-tag', `${c0}.image`, 'container "api" has no image (got ""): set the release image'],
    ['no image at all', (c) => { delete c.image; }, 'hygiene/image-tag', `${c0}.image`, 'container "api" has no image (got nothing): set the release image'],
    ['an image tagged latest', (c) => { c.image = 'x/api:latest'; }, 'hygiene/image-tag', `${c0}.image`,
      'container "api" image "x/api:latest" is tagged latest: with imagePullPolicy IfNotPresent a node keeps running a stale image; pin the release tag (the git SHA)'],
    ['an untagged image', (c) => { c.image = 'x/api'; }, 'hygiene/image-tag', `${c0}.image`,
      'container "api" image "x/api" has no tag (it means latest): with imagePullPolicy IfNotPresent a node keeps running a stale image; pin the release tag (the git SHA)'],
    ['no memory limit', (c) => { delete c.resources.limits.memory; }, 'hygiene/resources', `${c0}.resources.limits.memory`,
      'container "api" sets no memory limit: one pod can starve the node; set resources.limits.memory'],
    ['no cpu request', (c) => { delete c.resources.requests.cpu; }, 'hygiene/resources', `${c0}.resources.requests.cpu`,
      'container "api" sets no cpu request: the scheduler cannot place it fairly; set resources.requests.cpu'],
    ['no readinessProbe', (c) => { delete c.readinessProbe; }, 'hygiene/probes', `${c0}.readinessProbe`,
      'container "api" serves ports but has no readinessProbe: its Service sends traffic before it is ready; add a readinessProbe'],
    ['no livenessProbe', (c) => { delete c.livenessProbe; }, 'hygiene/probes', `${c0}.livenessProbe`,
      'container "api" serves ports but has no livenessProbe: a hung process is never restarted; add a livenessProbe'],
    ['a probe on an undeclared port, among two declared', (c) => { c.ports = [{ name: 'http', containerPort: 8000 }, { containerPort: 9090 }]; c.readinessProbe.httpGet.port = 9000; },
      'hygiene/probe-port', `${c0}.readinessProbe.httpGet.port`,
      'container "api" readinessProbe probes port 9000, which the container does not declare (declared: http (8000), 9090): probe a declared port, or declare it under ports'],
    ['a writable root filesystem', (c) => { c.securityContext.readOnlyRootFilesystem = false; }, 'hygiene/read-only-root-fs', `${c0}.securityContext.readOnlyRootFilesystem`,
      'container "api" has readOnlyRootFilesystem false: an intruder could rewrite the image; set it to true and mount an emptyDir where the app writes (/tmp)'],
    ['a ServiceAccount token', (_c, spec) => { spec.automountServiceAccountToken = true; }, 'hygiene/service-account-token', 'spec.template.spec.automountServiceAccountToken',
      'automountServiceAccountToken is true: every container carries an API token that anyone who gets into the pod can use; ' +
      'set it to false (a workload that needs the API can mount a projected serviceAccountToken volume in one container)'],
  ])('%s', (_what, edit, rule, path, message) => {
    expect(check(apiWith(edit)).findings.map((f) => ({ rule: f.rule, path: f.path, message: f.message }))).toEqual([{ rule, path, message }]);
  });

  test('a container without a securityContext is named, not a crash', () => {
    const report = check(apiWith((c) => { delete c.securityContext; }));
    expect(report.findings.filter((f) => f.rule === 'hygiene/read-only-root-fs').map((f) => f.message)).toEqual([
      'container "api" has readOnlyRootFilesystem nothing: an intruder could rewrite the image; set it to true and mount an emptyDir where the app writes (/tmp)',
    ]);
  });

  test('a pod that turns the token off passes whatever its ServiceAccount says; one that leaves it to the account is told the fix', () => {
    const accountAllows = goodWith('ServiceAccount', 'api', (sa) => { delete sa.automountServiceAccountToken; });
    expect(check(accountAllows).findings).toEqual([]);
    const deployment = accountAllows.find((d: any) => d.object.kind === 'Deployment' && d.object.metadata.name === 'api')!.object as any;
    delete deployment.spec.template.spec.automountServiceAccountToken;
    expect(check(accountAllows).findings.map((f) => f.message)).toEqual([
      'automountServiceAccountToken is unset and ServiceAccount "api" does not disable it: every pod would carry an API token; set automountServiceAccountToken: false on the pod spec',
    ]);
  });

  test('a request equal to its limit passes', () => {
    expect(check(apiWith((c) => { c.resources.requests.cpu = '1000m'; })).findings).toEqual([]);
  });

  test('a probe may name a declared port that is not the first', () => {
    expect(check(apiWith((c) => { c.ports = [{ name: 'metrics', containerPort: 9090 }, { name: 'http', containerPort: 8000 }]; c.readinessProbe.httpGet.port = 'http'; })).findings).toEqual([]);
    expect(check(apiWith((c) => { c.ports = [{ containerPort: 9090 }, { containerPort: 8000 }]; c.readinessProbe.httpGet.port = 8000; })).findings).toEqual([]);
  });
});
