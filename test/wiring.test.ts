import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { ApiObject, Chart, Testing } from 'cdk8s';
import { apiGroupOf, isClusterScopedBuiltin } from '../manifest-check/manifests';
import { HoneydueApi, HoneydueConfigMap, HoneydueNamespace, HoneydueStack, MigrateJob, NetworkPolicies, NextjsApp, VmAgent, Worker } from '../constructs';
import { claimObjectNames } from '../constructs/shared/unique-names';
import { APP_WIRING, BACKEND_WIRING, container, envVar, imageOf, PRODUCTION, productionChart, synthOf } from './helpers';

/** A ConfigMap construct with these entries, as a consumer builds one. */
const configWith = (data: Record<string, string>) => (chart: any) => new HoneydueConfigMap(chart, 'config', { name: PRODUCTION.configMapName, data });

describe('a construct checks the ConfigMap keys it reads when it is handed the ConfigMap construct', () => {
  const admin = (data: Record<string, string>, props: Partial<{ apiUrlKey: string }> = {}) => () =>
    synthOf((chart) => new NextjsApp(chart, 'admin', { ...APP_WIRING, ...props, configMap: configWith(data)(chart), name: 'admin', image: imageOf('admin') }));

  test('NextjsApp fails naming NEXT_PUBLIC_API_URL, the ConfigMap and the fix when the ConfigMap lacks it', () => {
    expect(admin({ DB_HOST: 'db' })).toThrow(
      "NextjsApp: apiUrlKey: admin reads NEXT_PUBLIC_API_URL from ConfigMap honeydue-config, which does not have it; " +
        'add NEXT_PUBLIC_API_URL to the ConfigMap\'s data, or set apiUrlKey to the key that holds the public API URL',
    );
  });

  test('NextjsApp reads the key apiUrlKey names, as NEXT_PUBLIC_API_URL', () => {
    const objects = admin({ ADMIN_API_URL: 'https://api.example.com/api' }, { apiUrlKey: 'ADMIN_API_URL' })();
    const deployment = objects.find((o) => o.kind === 'Deployment');
    expect(envVar(container(deployment), 'NEXT_PUBLIC_API_URL')).toEqual({
      name: 'NEXT_PUBLIC_API_URL', valueFrom: { configMapKeyRef: { name: 'honeydue-config', key: 'ADMIN_API_URL' } },
    });
  });

  test('NextjsApp handed only a ConfigMap name is built unchecked: the entries are unknown', () => {
    expect(() => synthOf((chart) => new NextjsApp(chart, 'admin', { ...APP_WIRING, name: 'admin', image: imageOf('admin') }))).not.toThrow();
  });

  test('MigrateJob fails naming each key its script reads that the ConfigMap lacks', () => {
    const build = () => synthOf((chart) =>
      new MigrateJob(chart, 'migrate', { ...APP_WIRING, configMap: configWith({ DB_HOST: 'db', DB_PORT: '5432' })(chart), jobName: 'migrate', image: imageOf('api') }));
    expect(build).toThrow(
      'MigrateJob: configMap: the migrate script reads POSTGRES_USER, POSTGRES_DB from ConfigMap honeydue-config, which does not have them; ' +
        "add them to the ConfigMap's data",
    );
  });

  test('MigrateJob with every key it reads builds', () => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', {
      ...APP_WIRING, configMap: configWith({ DB_HOST: 'db', POSTGRES_USER: 'u', POSTGRES_DB: 'd' })(chart), jobName: 'migrate', image: imageOf('api'),
    }))).not.toThrow();
  });
});

describe('a cluster-scoped object carries no metadata.namespace', () => {
  test("HoneydueNamespace in a chart with a namespace: the Namespace has none (the chart's applies to namespaced objects only)", () => {
    const objects = synthOf((chart) => new HoneydueNamespace(chart, 'namespace', { name: 'acme' }));
    expect(objects.map((o) => [o.kind, o.metadata.name])).toEqual([['Namespace', 'acme']]);
    expect(objects[0].metadata).not.toHaveProperty('namespace');
  });

  test.each(['production', 'staging'])('no cluster-scoped object of dist/%s has one', (env) => {
    const dir = path.join(__dirname, '..', 'dist', env);
    const objects = fs.readdirSync(dir).flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS()));
    const clusterScoped = objects.filter((o) => isClusterScopedBuiltin(apiGroupOf(o.apiVersion), o.kind));
    expect(clusterScoped.map((o) => o.kind)).toContain('Namespace');
    expect(clusterScoped.filter((o) => 'namespace' in o.metadata).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  test('HoneydueNamespace in a chart without one is the same', () => {
    const chart = new Chart(Testing.app(), 'cluster');
    new HoneydueNamespace(chart, 'namespace', { name: 'acme' });
    expect(Testing.synth(chart)[0].metadata).not.toHaveProperty('namespace');
  });
});

/** The fix every clash names, after the two constructs. */
const FIX = "applied, the second would overwrite the first; give one of them another name (a construct's name prop; an ApiObject's metadata.name, or its id when it has none), or build it once";

describe('two objects of one API group, kind, namespace and name are an error naming both constructs', () => {
  test('a second HoneydueApi in one chart (both named api by default) fails as it is built, naming both and the fix', () => {
    const chart = productionChart();
    new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api') });
    expect(() => new HoneydueApi(chart, 'api-copy', { ...BACKEND_WIRING, image: imageOf('api') })).toThrow(
      'HoneydueApi at test/api-copy: ServiceAccount honeydue/api, Deployment honeydue/api, Service honeydue/api, PodDisruptionBudget honeydue/api-pdb ' +
        `are already built by test/api: ${FIX}`,
    );
    // Another name, or the same name in another namespace, builds.
    expect(() => new HoneydueApi(chart, 'api-two', { ...BACKEND_WIRING, name: 'api-two', image: imageOf('api') })).not.toThrow();
    expect(() => new HoneydueApi(chart, 'api-elsewhere', { ...BACKEND_WIRING, namespace: 'other', image: imageOf('api') })).not.toThrow();
  });

  test('a Worker named like an api in its namespace fails as it is built: workloads of any kind share the names', () => {
    const chart = productionChart();
    new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api') });
    expect(() => new Worker(chart, 'worker', { ...BACKEND_WIRING, name: 'api', image: imageOf('worker') })).toThrow(
      /^Worker at test\/worker: ServiceAccount honeydue\/api, Deployment honeydue\/api, PodDisruptionBudget honeydue\/api-pdb are already built by test\/api: /,
    );
  });

  test('a construct refused for a clash claims none of its objects: a later clash names only the first builder', () => {
    const chart = productionChart();
    new Worker(chart, 'worker', { ...BACKEND_WIRING, name: 'api', image: imageOf('worker') });
    const clashOfApiAt = (id: string) =>
      `HoneydueApi at test/${id}: ServiceAccount honeydue/api, Deployment honeydue/api, PodDisruptionBudget honeydue/api-pdb are already built by test/worker: ${FIX}`;
    // The refused api's Service honeydue/api clashed with nothing, and stays unclaimed.
    // toThrow(Error) compares the whole message: no second clash with the refused api may be added.
    expect(() => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api') })).toThrow(new Error(clashOfApiAt('api')));
    expect(() => new HoneydueApi(chart, 'api-again', { ...BACKEND_WIRING, image: imageOf('api') })).toThrow(new Error(clashOfApiAt('api-again')));
  });

  test('a second HoneydueConfigMap of one name in one namespace fails as it is built, naming both and the fix', () => {
    const chart = productionChart();
    new HoneydueConfigMap(chart, 'config', { name: 'shared', data: {} });
    expect(() => new HoneydueConfigMap(chart, 'config-copy', { name: 'shared', data: {} })).toThrow(
      `HoneydueConfigMap at test/config-copy: ConfigMap honeydue/shared is already built by test/config: ${FIX}`,
    );
  });

  test('a second NetworkPolicies in one namespace fails as it is built, naming itself and the policies it would overwrite', () => {
    const chart = productionChart();
    new NetworkPolicies(chart, 'policies', { workloads: [] });
    expect(() => new NetworkPolicies(chart, 'policies-copy', { workloads: [] })).toThrow(
      `NetworkPolicies at test/policies-copy: NetworkPolicy honeydue/allow-dns, NetworkPolicy honeydue/default-deny are already built by test/policies: ${FIX}`,
    );
  });

  test('the same name in two charts of one App with one namespace is caught too', () => {
    const app = Testing.app();
    const chart = (id: string) => new Chart(app, id, { namespace: 'honeydue' });
    new HoneydueConfigMap(chart('one'), 'config', { name: 'shared', data: {} });
    expect(() => new HoneydueConfigMap(chart('two'), 'config', { name: 'shared', data: {} })).toThrow(
      /^HoneydueConfigMap at two\/config: ConfigMap honeydue\/shared is already built by one\/config: /,
    );
  });

  test('two VmAgents in charts of different namespaces that scrape one namespace clash on the Role and RoleBinding they put there', () => {
    const app = Testing.app();
    const agent = (id: string, namespace: string) => new VmAgent(new Chart(app, id, { namespace }), 'vmagent', {
      tokenSecret: { name: 'vmagent-ingest-token' }, remoteWriteUrl: 'https://metrics.example.com/api/v1/write',
      targets: [{ name: 'api', namespace: 'shop', port: 8000, path: '/metrics' }],
    });
    agent('one', 'a');
    expect(() => agent('two', 'b')).toThrow(
      `VmAgent at two/vmagent: Role shop/vmagent, RoleBinding shop/vmagent are already built by one/vmagent: ${FIX}`,
    );
  });

  test('the same name in two namespaces is no duplicate', () => {
    const app = Testing.app();
    new HoneydueConfigMap(new Chart(app, 'one', { namespace: 'a' }), 'config', { name: 'shared', data: {} });
    expect(() => new HoneydueConfigMap(new Chart(app, 'two', { namespace: 'b' }), 'config', { name: 'shared', data: {} })).not.toThrow();
    expect(() => new HoneydueApi(new Chart(app, 'three', { namespace: 'a' }), 'api', { ...BACKEND_WIRING, image: imageOf('api') })).not.toThrow();
    expect(() => new HoneydueApi(new Chart(app, 'four', { namespace: 'b' }), 'api', { ...BACKEND_WIRING, image: imageOf('api') })).not.toThrow();
    expect(() => app.synthYaml()).not.toThrow();
  });

  test('the same name of two kinds, or of a namespaced object and a cluster-scoped one, is no duplicate', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'one', { namespace: 'shared' });
    new HoneydueConfigMap(chart, 'config', { name: 'shared', data: {} });
    expect(() => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, name: 'shared', image: imageOf('api') })).not.toThrow();
    // The Namespace `shared` beside the ConfigMap and Deployment `shared` in it: the chart gives it `shared` in memory too.
    expect(() => new HoneydueNamespace(chart, 'namespace', { name: 'shared' })).not.toThrow();
    expect(() => app.synthYaml()).not.toThrow();
  });

  test('two Namespaces of one name, from charts with different namespaces, are one cluster-scoped name', () => {
    const app = Testing.app();
    new HoneydueNamespace(new Chart(app, 'one', { namespace: 'a' }), 'namespace', { name: 'acme' });
    expect(() => new HoneydueNamespace(new Chart(app, 'two', { namespace: 'b' }), 'namespace', { name: 'acme' })).toThrow(
      `HoneydueNamespace at two/namespace: Namespace acme is already built by one/namespace: ${FIX}`,
    );
  });

  test("an object built by hand is claimed at synth by the same rule: any cluster-scoped kind clashes across the charts' namespaces", () => {
    const app = Testing.app();
    new HoneydueNamespace(new Chart(app, 'ns'), 'namespace', { name: 'acme' });
    const clusterRole = (chart: Chart) => new ApiObject(chart, 'reader', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader' } });
    clusterRole(new Chart(app, 'one', { namespace: 'a' }));
    clusterRole(new Chart(app, 'two', { namespace: 'b' }));
    expect(() => app.synthYaml()).toThrow(`two/reader: ClusterRole reader is already built by one/reader: ${FIX}`);
  });

  test("an object built by hand that takes a construct's name fails the synth, naming the construct", () => {
    const chart = productionChart();
    new HoneydueConfigMap(chart, 'config', { name: 'shared', data: {} });
    new ApiObject(chart, 'mine', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared' } });
    expect(() => Testing.synth(chart)).toThrow(`test/mine: ConfigMap honeydue/shared is already built by test/config: ${FIX}`);
  });

  test('an App of several constructs checks the objects built by hand once: each clash is reported once', () => {
    const chart = productionChart();
    new HoneydueConfigMap(chart, 'config', { name: 'shared', data: {} });
    new HoneydueConfigMap(chart, 'other', { name: 'other', data: {} });
    new ApiObject(chart, 'mine', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared' } });
    let message = '';
    try {
      Testing.synth(chart);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split(`test/mine: ConfigMap honeydue/shared is already built by test/config: ${FIX}`)).toHaveLength(2);
  });

  test("every object of the stack is claimed as it is built, by its construct, with the identity synth writes", () => {
    const app = Testing.app();
    const stack = new HoneydueStack(app, 'production', PRODUCTION);
    const objects = stack.node.findAll().filter(ApiObject.isApiObject);
    // A copy of each object as synth writes it, claimed by one construct: it clashes with every one.
    const copies = new Chart(app, 'copies');
    objects.forEach((object, i) => {
      const { apiVersion, kind, metadata } = object.toJson();
      new ApiObject(copies, `copy-${i}`, { apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace } });
    });
    const builders = [...new Set(objects.map((object) => object.node.scope!.node.path))];
    expect(builders).toContain('production/api/api');
    let message = '';
    try {
      claimObjectNames(copies, 'Copies');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n').map((line) => /^Copies at copies: .* already built by (\S+): /.exec(line)?.[1])).toEqual(builders);
    expect(message.match(/(?<=: |, )[A-Za-z]+ [a-z0-9/-]+(?=, | (is|are) already)/g)).toHaveLength(objects.length);
  });
});
