/**
 * Schema rules: the Kubernetes OpenAPI schema through kubernetes-models, the
 * unknown-field gap closed, custom resources against their CRD schema.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crdCatalog, loadCrdCatalog, runChecks } from '../app/check';
import { CRD_DIR, CRDS, check, expectFindings, goodDocs, goodPlus, goodWith, meta, objectIn } from './check-helpers';

const API = 'Deployment honeydue/api';
const container = 'spec.template.spec.containers[0]';

/** The schema/object-meta findings of a report, as [path, message]. */
const objectMetaFindings = (report: ReturnType<typeof check>) =>
  report.findings.filter((f) => f.rule === 'schema/object-meta').map((f) => [f.path, f.message]);

describe('schema/unknown-field', () => {
  test('fails on a misspelled container field, naming the path and the likely field', () => {
    const report = check(goodWith('Deployment', 'api', (d) => {
      const c = d.spec.template.spec.containers[0];
      delete c.imagePullPolicy;
      c.imagePullPolicyy = 'Always';
    }));
    expectFindings(report, [{ rule: 'schema/unknown-field', object: API, path: `${container}.imagePullPolicyy` }]);
    expect(report.findings[0].message).toMatch(/unknown field "imagePullPolicyy" \(value "Always"\): did you mean "imagePullPolicy"\?.*--validate=strict/);
  });

  test.each([
    ['the top of the spec', (d: any) => { d.spec.replica = 3; }, 'spec.replica'],
    ['metadata', (d: any) => { d.metadata.lables = { a: 'b' }; }, 'metadata.lables'],
    ['a securityContext', (d: any) => { d.spec.template.spec.containers[0].securityContext.readOnlyRootFS = true; }, `${container}.securityContext.readOnlyRootFS`],
    ['a probe handler', (d: any) => { d.spec.template.spec.containers[0].readinessProbe.httpGet.scheme2 = 'HTTP'; }, `${container}.readinessProbe.httpGet.scheme2`],
    ['a volume', (d: any) => { d.spec.template.spec.volumes[1].emptyDir.size = '64Mi'; }, 'spec.template.spec.volumes[1].emptyDir.size'],
  ])('fails on an unknown field in %s', (_where, edit, path) => {
    expectFindings(check(goodWith('Deployment', 'api', edit)), [{ rule: 'schema/unknown-field', object: API, path }]);
  });

  test('passes the fields kubernetes-models forgets: description and x-kubernetes-* in a CRD, a PriorityClass description', () => {
    const crdDocs = require('../app/check').loadManifestDir(CRD_DIR).filter((d: any) => d.object.kind === 'CustomResourceDefinition');
    const priority = { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'honeydue-high' }, value: 1000, description: 'api first' };
    const report = check([...goodDocs(), ...crdDocs, { file: 'extra.yaml', object: priority }]);
    expect(report.findings).toEqual([]);
  });

  test('passes free-form maps: labels, annotations, resource quantities, ConfigMap data', () => {
    const report = check(goodWith('Deployment', 'api', (d) => {
      d.metadata.annotations = { 'any.example/key': 'value' };
      d.spec.template.spec.containers[0].resources.limits['ephemeral-storage'] = '1Gi';
    }));
    expect(report.findings).toEqual([]);
    expect(report.byRule.get('schema/unknown-field')!.passed).toBeGreaterThan(20);
  });
});

describe('schema/invalid', () => {
  test('fails on a quoted containerPort, saying how to fix it', () => {
    const report = check(goodWith('Deployment', 'api', (d) => { d.spec.template.spec.containers[0].ports[0].containerPort = '8000'; }));
    expectFindings(report, [
      { rule: 'schema/invalid', object: API, path: `${container}.ports[0].containerPort` },
      // The probes and the Service now point at a port the container no longer declares as a number.
      ...['startupProbe', 'readinessProbe', 'livenessProbe'].map((probe) => ({ rule: 'hygiene/probe-port', object: API, path: `${container}.${probe}.httpGet.port` })),
      { rule: 'wiring/service-target-port', object: 'Service honeydue/api', path: 'spec.ports[0].targetPort' },
    ]);
    expect(report.findings.find((f) => f.rule === 'schema/invalid')!.message).toBe('must be an integer (got "8000"): write it without quotes');
  });

  test('fails on a missing required field', () => {
    const report = check(goodWith('Deployment', 'api', (d) => { delete d.spec.template.spec.containers[0].name; }));
    expect(report.findings.filter((f) => f.rule === 'schema/invalid').map((f) => [f.path, f.message])).toEqual([
      [`${container}.name`, 'required field "name" is missing: add it'],
    ]);
  });

  test('fails on a bad quantity', () => {
    const report = check(goodWith('Deployment', 'api', (d) => { d.spec.template.spec.containers[0].resources.limits.memory = '512 megs'; }));
    expect(report.findings.map((f) => [f.rule, f.path])).toContainEqual(['schema/invalid', `${container}.resources.limits.memory`]);
    expect(report.findings.find((f) => f.rule === 'schema/invalid')!.message).toMatch(/must be a Kubernetes quantity such as 500m, 2 or 128Mi \(got "512 megs"\)/);
  });

  test('fails on a value outside an enum, listing the allowed ones', () => {
    const report = check(goodWith('Service', 'api', (s) => { s.spec.type = 'Clusterip'; }));
    expectFindings(report, [{ rule: 'schema/invalid', object: 'Service honeydue/api', path: 'spec.type' }]);
    expect(report.findings[0].message).toMatch(/must be one of "ClusterIP", "ExternalName", "LoadBalancer", "NodePort" \(got "Clusterip"\)/);
  });

  test('fails on a boolean where an int-or-string goes', () => {
    const report = check(goodWith('Service', 'api', (s) => { s.spec.ports[0].targetPort = true; }));
    expect(report.findings.map((f) => [f.rule, f.path, f.message])).toContainEqual(
      ['schema/invalid', 'spec.ports[0].targetPort', 'must be a string or an integer (got true)'],
    );
  });

  test('fails on a number where a string goes (an unquoted label value)', () => {
    const report = check(goodWith('ConfigMap', 'honeydue-config', (c) => { c.data.DB_PORT = 5432; }));
    expectFindings(report, [{ rule: 'schema/invalid', object: 'ConfigMap honeydue/honeydue-config', path: 'data.DB_PORT' }]);
    expect(report.findings[0].message).toMatch(/must be a string \(got 5432\): quote it/);
  });
});

describe('schema/unknown-kind', () => {
  test('fails on a misspelled kind', () => {
    const report = check(goodWith('Deployment', 'api', (d) => { d.kind = 'Deploymnet'; }));
    expect(report.findings.filter((f) => f.rule === 'schema/unknown-kind').map((f) => [f.object, f.path])).toEqual([
      ['Deploymnet honeydue/api', 'kind'],
    ]);
  });

  test('fails on a custom resource whose CRD is not kept in imports/', () => {
    const report = runChecks([{ name: '', docs: goodDocs() }], { crds: new Map() });
    expectFindings(report, [{ rule: 'schema/unknown-kind', object: 'HelmChartConfig kube-system/traefik', path: 'kind' }]);
    expect(report.findings[0].message).toMatch(/no CustomResourceDefinition for helm\.cattle\.io\/v1 HelmChartConfig.*keep the CRD yaml in imports\//);
  });

  test.each([
    ['the core group', 'v1', 'ConfigMapp'],
    ['apps', 'apps/v1', 'Deploymnet'],
    ['batch', 'batch/v1', 'CronJobs'],
    ['autoscaling', 'autoscaling/v2', 'HorizontalPodAutoscalr'],
    ['policy', 'policy/v1', 'PodDisruptionBudgett'],
    ['extensions', 'extensions/v1', 'Ingres'],
    ['a *.k8s.io group', 'networking.k8s.io/v1', 'NetworkPolicyy'],
  ])('fails on a kind %s does not have, blaming kubernetes-models rather than a missing CRD', (_group, apiVersion, kind) => {
    const report = check(goodPlus({ apiVersion, kind, metadata: meta('odd') }));
    expect(report.findings.filter((f) => f.rule === 'schema/unknown-kind').map((f) => [f.object, f.path, f.message])).toEqual([[
      `${kind} honeydue/odd`, 'kind',
      `no schema for apiVersion "${apiVersion}" kind "${kind}": kubernetes-models (Kubernetes 1.33) has no ${apiVersion} ${kind}; fix the apiVersion/kind spelling, or keep the CRD yaml in imports/`,
    ]]);
  });

  test('fails on a kind of any other group, asking for its CRD', () => {
    const report = check(goodPlus({ apiVersion: 'k8s.io.example.com/v1', kind: 'Widget', metadata: meta('odd') }));
    expect(report.findings.filter((f) => f.rule === 'schema/unknown-kind').map((f) => [f.object, f.path, f.message])).toEqual([[
      'Widget honeydue/odd', 'kind',
      'no schema for apiVersion "k8s.io.example.com/v1" kind "Widget": no CustomResourceDefinition for k8s.io.example.com/v1 Widget was found in imports/ or in the set; fix the apiVersion/kind spelling, or keep the CRD yaml in imports/',
    ]]);
  });

  test('passes every built-in kind of the stack and the CRD-backed HelmChartConfig', () => {
    expect(check(goodDocs()).byRule.get('schema/unknown-kind')).toEqual({ passed: goodDocs().length, failed: 0 });
  });
});

describe('schema/api-version', () => {
  test.each(['policy/v1beta1', 'policy/v1beta', 'policy/v2alpha1', 'policy/v1alpha'])(
    'fails on %s, an alpha or beta version with or without a number after it, asking for the GA version', (apiVersion) => {
      const report = check(goodWith('PodDisruptionBudget', 'api-pdb', (p) => { p.apiVersion = apiVersion; }));
      expect(report.findings.filter((f) => f.rule === 'schema/api-version').map((f) => [f.object, f.path, f.message])).toEqual([[
        'PodDisruptionBudget honeydue/api-pdb', 'apiVersion',
        `apiVersion "${apiVersion}" is not served by a default k3s 1.34 API server (beta APIs of built-in groups were removed or are off by default): use the GA version of the group`,
      ]]);
    });

  test('passes GA versions and custom resource versions, even in a k8s.io group', () => {
    expect(check(goodDocs()).byRule.get('schema/api-version')!.failed).toBe(0);
    const crdDocs = require('../app/check').loadManifestDir(CRD_DIR).filter((d: any) => d.object.kind === 'CustomResourceDefinition');
    const gatewayCrd = structuredClone(crdDocs.find((d: any) => d.object.spec.names.kind === 'Backup').object);
    gatewayCrd.metadata.name = 'backups.gateway.networking.k8s.io';
    gatewayCrd.spec.group = 'gateway.networking.k8s.io';
    const resource = { apiVersion: 'gateway.networking.k8s.io/v1alpha1', kind: 'Backup', metadata: meta('nightly'), spec: { schedule: '@daily', target: { bucket: 'b-1' } } };
    expect(check(goodPlus(gatewayCrd, resource)).findings).toEqual([]);
  });
});

describe('schema/object-meta', () => {
  test.each([
    ['an uppercase name', 'ConfigMap', 'honeydue-config', (o: any) => { o.metadata.name = 'Honeydue_Config'; }, 'ConfigMap honeydue/Honeydue_Config', 'metadata.name'],
    ['a Service name that is not a DNS-1035 label', 'Service', 'api', (o: any) => { o.metadata.name = '8api'; }, 'Service honeydue/8api', 'metadata.name'],
    ['a label value with a space', 'Deployment', 'worker', (o: any) => { o.metadata.labels['app.kubernetes.io/version'] = 'v 1'; }, 'Deployment honeydue/worker', 'metadata.labels["app.kubernetes.io/version"]'],
    ['a bad label key', 'Deployment', 'worker', (o: any) => { o.metadata.labels['-bad'] = 'x'; }, 'Deployment honeydue/worker', 'metadata.labels["-bad"]'],
    ['a missing name', 'ConfigMap', 'honeydue-config', (o: any) => { delete o.metadata.name; }, 'ConfigMap honeydue/<no name>', 'metadata.name'],
  ])('fails on %s', (_what, kind, name, edit, object, path) => {
    const report = check(goodWith(kind, name, edit));
    expect(report.findings.filter((f) => f.rule === 'schema/object-meta').map((f) => [f.object, f.path])).toEqual([[object, path]]);
  });

  test('fails on a namespace that is not a DNS-1123 label, saying to fix it', () => {
    const report = check(goodWith('NetworkPolicy', 'default-deny', (n) => { n.metadata.namespace = 'Honeydue'; }));
    expect(report.findings.filter((f) => f.rule === 'schema/object-meta').map((f) => [f.object, f.path, f.message])).toEqual([
      ['NetworkPolicy Honeydue/default-deny', 'metadata.namespace', 'namespace "Honeydue" must be a DNS-1123 label: fix it'],
    ]);
  });

  test('fails on a label key whose prefix is not a DNS subdomain, saying so', () => {
    const report = check(goodWith('Deployment', 'worker', (d) => { d.metadata.labels['Honeydue.io/tier'] = 'jobs'; }));
    expect(report.findings.filter((f) => f.rule === 'schema/object-meta').map((f) => [f.path, f.message])).toEqual([
      ['metadata.labels["Honeydue.io/tier"]', 'label key "Honeydue.io/tier" has a prefix that is not a DNS subdomain: fix the key'],
    ]);
  });

  test.each([
    ['nothing', (o: any) => { delete o.metadata.name; }],
    ['""', (o: any) => { o.metadata.name = ''; }],
  ])('fails on a name of %s, saying apply needs a fixed one', (got, edit) => {
    expect(objectMetaFindings(check(goodWith('ConfigMap', 'honeydue-config', edit)))).toEqual([
      ['metadata.name', `ConfigMap has no metadata.name (got ${got}): apply needs a fixed name; set one`],
    ]);
  });

  const SUBDOMAIN = 'a DNS-1123 subdomain (lowercase letters, digits, "-" and ".")';
  const DNS_1035 = 'a DNS-1035 label (lowercase letters, digits, "-", starting with a letter)';
  const DNS_1123 = 'a DNS-1123 label (lowercase letters, digits, "-")';

  test.each([
    ['ConfigMap', 253, 'honeydue-config', SUBDOMAIN],
    ['Service', 63, 'api', DNS_1035],
    ['Namespace', 63, 'honeydue', DNS_1123],
  ])('passes a %s name of exactly %i characters and fails one character more, naming the rule', (kind, max, name, what) => {
    expect(objectMetaFindings(check(goodWith(kind, name, (o) => { o.metadata.name = 'a'.repeat(max); })))).toEqual([]);
    expect(objectMetaFindings(check(goodWith(kind, name, (o) => { o.metadata.name = 'a'.repeat(max + 1); })))).toEqual([
      ['metadata.name', `name "${'a'.repeat(56)}... must be ${what}, at most ${max} characters: rename it`],
    ]);
  });

  test.each([
    ['a ConfigMap name may start with a digit and hold dots', 'ConfigMap', 'honeydue-config', '1.honeydue-config', undefined],
    ['a Service name may not start with a digit', 'Service', 'api', '8api', DNS_1035],
    ['a Service name may not hold dots', 'Service', 'api', 'api.v1', DNS_1035],
    ['a Namespace name may start with a digit', 'Namespace', 'honeydue', '1honeydue', undefined],
    ['a Namespace name may not hold dots', 'Namespace', 'honeydue', 'honeydue.prod', DNS_1123],
  ])('%s', (_sentence, kind, name, rename, what) => {
    const report = check(goodWith(kind, name, (o) => { o.metadata.name = rename; }));
    expect(objectMetaFindings(report)).toEqual(what === undefined ? [] : [
      ['metadata.name', `name "${rename}" must be ${what}, at most 63 characters: rename it`],
    ]);
  });

  test('passes a label value of exactly 63 characters and fails one of 64, saying to shorten it', () => {
    const withValue = (value: string) => check(goodWith('Deployment', 'worker', (d) => { d.metadata.labels.tier = value; }));
    expect(objectMetaFindings(withValue('a'.repeat(63)))).toEqual([]);
    expect(objectMetaFindings(withValue('a'.repeat(64)))).toEqual([
      ['metadata.labels.tier', `label value "${'a'.repeat(56)}... must be at most 63 characters of letters, digits, "-", "_" and ".", starting and ending alphanumeric: shorten or clean it`],
    ]);
  });

  test('passes an empty label value', () => {
    expect(objectMetaFindings(check(goodWith('Deployment', 'worker', (d) => { d.metadata.labels.tier = ''; })))).toEqual([]);
  });

  test('leaves a label value that is not a string to schema/invalid', () => {
    const report = check(goodWith('Deployment', 'worker', (d) => { d.metadata.labels.tier = -1; }));
    expect(report.findings.map((f) => [f.rule, f.path])).toEqual([['schema/invalid', 'metadata.labels.tier']]);
  });

  test('passes label keys with a DNS-subdomain prefix, and a key without a prefix that holds uppercase letters', () => {
    const report = check(goodWith('Deployment', 'worker', (d) => { Object.assign(d.metadata.labels, { 'a/b': 'x', 'Tier': 'jobs', 'Z': 'z' }); }));
    expect(objectMetaFindings(report)).toEqual([]);
  });

  test('fails on a label key starting with "/": its empty prefix is not a DNS subdomain', () => {
    const report = check(goodWith('Deployment', 'worker', (d) => { d.metadata.labels['/tier'] = 'jobs'; }));
    expect(objectMetaFindings(report)).toEqual([
      ['metadata.labels["/tier"]', 'label key "/tier" has a prefix that is not a DNS subdomain: fix the key'],
    ]);
  });

  test('passes a namespace of exactly 63 characters and fails one of 64, and one that is no string', () => {
    const withNamespace = (namespace: unknown) => check(goodWith('NetworkPolicy', 'default-deny', (n) => { n.metadata.namespace = namespace; }));
    expect(objectMetaFindings(withNamespace('a'.repeat(63)))).toEqual([]);
    expect(objectMetaFindings(withNamespace('a'.repeat(64)))).toEqual([
      ['metadata.namespace', `namespace "${'a'.repeat(56)}... must be a DNS-1123 label: fix it`],
    ]);
    expect(objectMetaFindings(withNamespace(5))).toEqual([['metadata.namespace', 'namespace 5 must be a DNS-1123 label: fix it']]);
  });

  test('passes a label key prefix of 253 characters and a name of 63, and fails one character more of either', () => {
    const withKey = (key: string) => objectMetaFindings(check(goodWith('Deployment', 'worker', (d) => { d.metadata.labels[key] = 'x'; })));
    const prefix = (length: number) => `${'a'.repeat(length - 4)}.com`;
    expect(withKey(`${prefix(253)}/${'n'.repeat(63)}`)).toEqual([]);
    // A long key is shown by its first 56 characters.
    const shown = (key: string) => `"${key.slice(0, 56)}...`;
    const longPrefix = `${prefix(254)}/tier`;
    expect(withKey(longPrefix)).toEqual([
      [`metadata.labels["${longPrefix}"]`, `label key ${shown(longPrefix)} has a prefix that is not a DNS subdomain: fix the key`],
    ]);
    const longName = `example.com/${'n'.repeat(64)}`;
    expect(withKey(longName)).toEqual([
      [`metadata.labels["${longName}"]`, `label key ${shown(longName)} must end in a name of at most 63 letters, digits, "-", "_" or ".", starting and ending alphanumeric: fix the key`],
    ]);
  });

  test('judges a custom kind named Service or Namespace as any other kind: a DNS-1123 subdomain', () => {
    const custom = (kind: string) => ({ apiVersion: 'example.com/v1', kind, metadata: { name: '1.api', namespace: 'honeydue' }, spec: {} });
    expect(objectMetaFindings(check(goodPlus(custom('Service'), custom('Namespace'))))).toEqual([]);
  });

  test('passes the stack\'s names, label keys and 40-character SHA label values', () => {
    expect(check(goodDocs()).byRule.get('schema/object-meta')!.failed).toBe(0);
  });
});

describe('custom resources', () => {
  const backup = (spec: unknown) => ({ apiVersion: 'ops.honeydue.test/v1alpha1', kind: 'Backup', metadata: meta('nightly'), spec });
  const goodSpec = () => ({
    schedule: '@daily', retain: 7, port: 'postgres', mode: 'full',
    target: { bucket: 'honeyDueProd', tags: { env: 'production' } },
    hooks: [{ command: ['pg_dump', '--version'] }],
    extra: { anything: { goes: [1, 2] } },
  });
  const object = 'Backup honeydue/nightly';

  test('the CRD loader finds every served version in a folder (*.yaml and *.yml) and ignores other objects', () => {
    expect([...CRDS.keys()].sort()).toEqual(['helm.cattle.io/v1/HelmChartConfig', 'ops.honeydue.test/v1alpha1/Backup']);
    expect(CRDS.get('ops.honeydue.test/v1alpha1/Backup')).toMatchObject({ scope: 'Namespaced', source: expect.stringMatching(/backup\.yml$/) });
    expect(loadCrdCatalog([`${CRD_DIR}/missing`]).size).toBe(0);
  });

  test('a CRD file is read on every load: an edited file gives the edited schema, the same text the same parsed schema', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-crds-'));
    try {
      const file = path.join(dir, 'backup.yml');
      const text = fs.readFileSync(path.join(CRD_DIR, 'backup.yml'), 'utf8');
      fs.writeFileSync(file, text);
      const first = loadCrdCatalog([dir]).get('ops.honeydue.test/v1alpha1/Backup');
      expect(loadCrdCatalog([dir]).get('ops.honeydue.test/v1alpha1/Backup')?.schema).toBe(first?.schema);
      fs.writeFileSync(file, text.replace(/\bBackup\b/g, 'Snapshot').replace(/\bbackups\b/g, 'snapshots'));
      expect([...loadCrdCatalog([dir]).keys()]).toEqual(['ops.honeydue.test/v1alpha1/Snapshot']);
      fs.writeFileSync(path.join(dir, 'not-a-folder.yaml'), '');
      expect(() => loadCrdCatalog([path.join(dir, 'not-a-folder.yaml')])).toThrow(`${path.join(dir, 'not-a-folder.yaml')} is not a folder of manifests`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('passes a valid custom resource: int-or-string, maps, lists and a preserve-unknown-fields subtree', () => {
    expect(check(goodPlus(backup(goodSpec()))).findings).toEqual([]);
  });

  test.each([
    ['an unknown field', (s: any) => { s.target.buckt = 'x'; }, 'schema/unknown-field', 'spec.target.buckt'],
    ['a value outside the enum', (s: any) => { s.mode = 'differential'; }, 'schema/invalid', 'spec.mode'],
    ['a missing required field', (s: any) => { delete s.schedule; }, 'schema/invalid', 'spec.schedule'],
    ['a wrong type', (s: any) => { s.retain = 'seven'; }, 'schema/invalid', 'spec.retain'],
    ['a number below the minimum', (s: any) => { s.retain = 0; }, 'schema/invalid', 'spec.retain'],
    ['a string failing the pattern', (s: any) => { s.schedule = 'nightly'; }, 'schema/invalid', 'spec.schedule'],
    ['a bad int-or-string', (s: any) => { s.port = true; }, 'schema/invalid', 'spec.port'],
    ['a bad map value', (s: any) => { s.target.tags.env = 3; }, 'schema/invalid', 'spec.target.tags.env'],
    ['a bad list item', (s: any) => { s.hooks[0].command = 'pg_dump'; }, 'schema/invalid', 'spec.hooks[0].command'],
  ])('fails on %s', (_what, edit, rule, path) => {
    const spec = goodSpec();
    edit(spec);
    expectFindings(check(goodPlus(backup(spec))), [{ rule, object, path }]);
  });

  test('validates the metadata of a custom resource as ObjectMeta', () => {
    const resource: any = backup(goodSpec());
    resource.metadata.labelz = { a: 'b' };
    expectFindings(check(goodPlus(resource)), [{ rule: 'schema/unknown-field', object, path: 'metadata.labelz' }]);
  });

  test('fails on a custom resource whose metadata is not a mapping, saying to add a name', () => {
    const report = check(goodPlus({ ...backup(goodSpec()), metadata: 'nightly' }));
    expect(report.findings.filter((f) => f.rule === 'schema/invalid' || f.rule === 'schema/unknown-field').map((f) => [f.rule, f.path, f.message])).toEqual([
      ['schema/invalid', 'metadata', 'must be an object with at least a name: add metadata.name'],
    ]);
  });

  test('fails on a version the CRD does not serve', () => {
    const resource = { ...backup(goodSpec()), apiVersion: 'ops.honeydue.test/v0' };
    expectFindings(check(goodPlus(resource)), [{ rule: 'schema/unknown-kind', object, path: 'kind' }]);
  });

  test('uses a CRD shipped in the set itself, and takes the scope from it', () => {
    const crdDocs = require('../app/check').loadManifestDir(CRD_DIR).filter((d: any) => d.object.kind === 'CustomResourceDefinition');
    const docs = [...goodDocs(), ...crdDocs, { file: 'extra.yaml', object: { ...backup(goodSpec()), metadata: { name: 'nightly' } } }];
    const report = runChecks([{ name: '', docs }], { crds: crdCatalog([]) });
    expectFindings(report, [{ rule: 'wiring/namespace', object: 'Backup nightly', path: 'metadata.namespace' }]);
  });

  /** The Backup CRD with another openAPIV3Schema, shipped in the set beside a resource. */
  const withSchema = (openAPIV3Schema: unknown, spec: unknown) => {
    const crdDocs = require('../app/check').loadManifestDir(CRD_DIR).filter((d: any) => d.object.kind === 'CustomResourceDefinition');
    const crd = structuredClone(crdDocs.find((d: any) => d.object.spec.names.kind === 'Backup').object);
    crd.spec.versions = [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema } }];
    return check(goodPlus(crd, backup(spec)));
  };

  test('fails on a number that is not a multiple of the schema\'s multipleOf', () => {
    const schema = { type: 'object', properties: { spec: { type: 'object', properties: { everyMinutes: { type: 'integer', multipleOf: 5 } } } } };
    expect(withSchema(schema, { everyMinutes: 15 }).findings).toEqual([]);
    const report = withSchema(schema, { everyMinutes: 7 });
    expectFindings(report, [{ rule: 'schema/invalid', object, path: 'spec.everyMinutes' }]);
    expect(report.findings[0].message).toMatch(/must be a multiple of 5 \(got 7\)/);
  });

  test('passes apiVersion and kind at the root even when the schema does not declare them, as the API server does', () => {
    const schema = { type: 'object', properties: { spec: { type: 'object', properties: { mode: { type: 'string' } } } } };
    expect(withSchema(schema, { mode: 'full' }).findings).toEqual([]);
    expectFindings(withSchema(schema, { mode: 'full', modes: 'x' }), [{ rule: 'schema/unknown-field', object, path: 'spec.modes' }]);
  });

  test('words value errors as for built-in kinds: one finding per field, the fix hint, an int-or-string as two types', () => {
    const schema = { type: 'object', properties: { spec: { type: 'object', properties: {
      retain: { type: 'integer' },
      name: { type: 'string', minLength: 3, pattern: '^[a-z]+$' },
      port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
    } } } };
    const report = withSchema(schema, { retain: '7', name: 'A', port: true });
    expect(report.findings.map((f) => [f.path, f.message])).toEqual([
      ['spec.retain', 'must be an integer (got "7"): write it without quotes'],
      ['spec.name', 'must be at least 3 characters (got "A"); must match /^[a-z]+$/ (got "A")'],
      ['spec.port', 'must be an integer or a string (got true)'],
    ]);
  });

  test('reports null in a field the schema does not make nullable, and passes it where it does', () => {
    const schema = { type: 'object', properties: { spec: { type: 'object', properties: { note: { type: 'string', nullable: true }, mode: { type: 'string' } } } } };
    expect(withSchema(schema, { note: null, mode: 'full' }).findings).toEqual([]);
    const report = withSchema(schema, { mode: null });
    expectFindings(report, [{ rule: 'schema/invalid', object, path: 'spec.mode' }]);
    expect(report.findings[0].message).toBe('must not be null: set a value or remove the field');
  });

  test('fails on a CRD schema that cannot be compiled, saying where to fix it', () => {
    const report = withSchema({ type: 'object', properties: { spec: { type: 'int' } } }, {});
    expectFindings(report, [{ rule: 'schema/invalid', object, path: '' }]);
    expect(report.findings[0].message).toMatch(/the CRD's openAPIV3Schema cannot be compiled \(.*\): fix the CRD kept in imports\/ or shipped in the set/);
  });

  test('the good set\'s HelmChartConfig fails on an unknown spec field', () => {
    const report = check(goodWith('HelmChartConfig', 'traefik', (h) => { h.spec.valueContent = h.spec.valuesContent; delete h.spec.valuesContent; }));
    expectFindings(report, [{ rule: 'schema/unknown-field', object: 'HelmChartConfig kube-system/traefik', path: 'spec.valueContent' }]);
    expect(report.findings[0].message).toMatch(/the CRD schema declares "valuesContent", "failurePolicy"/);
    expect(objectIn(goodDocs(), 'HelmChartConfig', 'traefik').spec.valuesContent).toContain('hostNetwork: true');
  });
});
