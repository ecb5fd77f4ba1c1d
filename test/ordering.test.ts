import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { ApiObject, App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import {
  HoneydueApi, HoneydueConfigMap, HoneydueIngress, HoneydueNamespace, HoneydueStack, MigrateJob, NetworkPolicies, NextjsApp, Redis, Worker,
} from '../constructs';
import { listEnvironments, loadEnvironment } from '../app/config';
import { concernFileName, isStackConcern } from '../constructs/shared/concerns';
import { PRODUCTION, TAG } from './helpers';

const ROOT = path.join(__dirname, '..');

/** `Kind/namespace/name`: one object, wherever it is written. */
const keyOf = (kind: string, namespace: string | undefined, name: string) => `${kind}/${namespace ?? ''}/${name}`;
const keyOfManifest = (o: any) => keyOf(o.kind, o.metadata.namespace, o.metadata.name);
const keyOfObject = (o: ApiObject) => keyOf(o.kind, o.metadata.namespace, o.name);
/** `Kind/name`, for the orders asserted below (one namespace each). */
const shortOf = (o: any) => `${o.kind}/${o.metadata.name}`;

/** Every YAML document of a folder's files, in the order `kubectl apply -f <dir>` reads them: files by name, documents in order. */
function applyOrder(dir: string, extension: string): any[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(extension))
    .sort()
    .flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS()).filter(Boolean));
}

/** Every dependency edge between ApiObjects of an app, as cdk8s orders by them (construct and chart dependencies resolved). */
function objectEdges(app: Construct): { dependant: ApiObject; dependency: ApiObject }[] {
  const charts = app.node.findAll().filter((c): c is Chart => c instanceof Chart);
  // toJson resolves the app's construct and chart dependencies into ApiObject dependencies, as synth does.
  charts[0].toJson();
  return app.node
    .findAll()
    .filter((c): c is ApiObject => c instanceof ApiObject)
    .flatMap((dependant) => dependant.node.dependencies.filter((d): d is ApiObject => d instanceof ApiObject).map((dependency) => ({ dependant, dependency })));
}

describe.each(listEnvironments())("dist/%s/ and the constructs' dependency graph", (env) => {
  const dir = path.join(ROOT, 'dist', env);
  // Where each object is written: its file, and its place in the file.
  const positions = new Map<string, { file: string; index: number }>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const objects = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8')).map((d) => d.toJS()).filter(Boolean);
    objects.forEach((o, index) => positions.set(keyOfManifest(o), { file, index }));
  }
  const { stack } = loadEnvironment(env);
  const edges = objectEdges(stack.node.root).map(({ dependant, dependency }) => ({ dependant: keyOfObject(dependant), dependency: keyOfObject(dependency) }));
  const has = (dependant: string, dependency: string) => edges.some((e) => e.dependant === dependant && e.dependency === dependency);
  const ns = stack.namespace;

  test('the graph declares what a one-pass apply needs', () => {
    expect(has(keyOf('Deployment', ns, 'api'), keyOf('Namespace', undefined, ns))).toBe(true);
    expect(has(keyOf('Deployment', ns, 'api'), keyOf('ConfigMap', ns, stack.config.name))).toBe(true);
    expect(has(keyOf('Deployment', ns, 'api'), keyOf('ServiceAccount', ns, 'api'))).toBe(true);
    expect(has(keyOf('Deployment', ns, 'redis'), keyOf('PersistentVolumeClaim', ns, stack.redis.claim.name))).toBe(true);
    expect(has(keyOf('Job', ns, stack.migrate.jobName), keyOf('ConfigMap', ns, stack.config.name))).toBe(true);
    expect(has(keyOf('NetworkPolicy', ns, 'default-deny'), keyOf('NetworkPolicy', ns, 'allow-dns'))).toBe(true);
    expect(has(keyOf('Ingress', ns, stack.ingress.name), keyOf('Service', ns, 'api'))).toBe(true);
    expect(has(keyOf('Ingress', ns, stack.ingress.name), keyOf('Service', ns, 'admin'))).toBe(true);
  });

  test("every dependency is written first: in an earlier file, or earlier in the dependant's file", () => {
    // Positions are read from dist/: each object of the graph is there, in its chart's file.
    for (const chart of stack.node.children.filter((c): c is Chart => c instanceof Chart)) {
      expect(isStackConcern(chart.node.id)).toBe(true);
      for (const o of chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject)) {
        expect(positions.get(keyOfObject(o))?.file).toBe(concernFileName(chart.node.id as never));
      }
    }
    // Not vacuous: the stack declares edges in every file but Traefik's.
    expect(new Set(edges.map((e) => positions.get(e.dependant)!.file)).size).toBeGreaterThan(5);
    const misordered = edges.filter(({ dependant, dependency }) => {
      const [a, b] = [positions.get(dependant)!, positions.get(dependency)!];
      return b.file > a.file || (b.file === a.file && b.index >= a.index);
    });
    expect(misordered).toEqual([]);
  });
});

/** A scratch output folder. */
const outdir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-ordering-'));
const image = (service: string) => `registry.acme.test/shop/acme-${service}:abc1234`;

test("a consumer's app, its charts made Ingress first and Namespace last, synthesizes to files a one-pass apply takes", () => {
  const app = new App({ outdir: outdir() });
  const namespace = 'acme';
  const inNamespace = { namespace, disableResourceNameHashes: true };
  // Charts made in the worst order, named so that their names sort the Namespace's after the workloads'.
  const edge = new Chart(app, 'edge', inNamespace);
  const policies = new Chart(app, 'policies', inNamespace);
  const apps = new Chart(app, 'apps', inNamespace);
  const settings = new Chart(app, 'settings', inNamespace);
  const cluster = new Chart(app, 'namespace', { disableResourceNameHashes: true });

  const redis = new Redis(apps, 'redis', {});
  const config = new HoneydueConfigMap(settings, 'config', { name: 'acme-config', data: { DB_HOST: 'db.acme.test', POSTGRES_USER: 'acme', POSTGRES_DB: 'acme', NEXT_PUBLIC_API_URL: 'https://api.acme.test' } });
  const wiring = { configMap: config, secretName: 'acme-secrets', redis, externalPorts: [5432, 443] };
  const api = new HoneydueApi(apps, 'api', { ...wiring, image: image('api') });
  new Worker(apps, 'worker', { ...wiring, image: image('worker') });
  new MigrateJob(apps, 'migrate', { ...wiring, image: image('api'), jobName: 'acme-migrate' });
  const admin = new NextjsApp(apps, 'admin', { configMap: config, name: 'admin', image: image('admin') });
  const ingress = new HoneydueIngress(edge, 'ingress', { name: 'acme', rules: [{ host: 'api.acme.test', backend: api }, { host: 'admin.acme.test', backend: admin }] });
  new NetworkPolicies(policies, 'network-policy', { ingressRoutes: ingress.routes });
  const ns = new HoneydueNamespace(cluster, 'namespace', { name: namespace });
  // What the consumer declares: the constructs take the namespace by name, so only the app knows its Namespace object.
  for (const chart of [edge, policies, apps, settings]) chart.addDependency(ns);
  app.synth();

  const files = fs.readdirSync(app.outdir).sort();
  expect(files).toEqual(['0000-namespace.k8s.yaml', '0001-settings.k8s.yaml', '0002-apps.k8s.yaml', '0003-edge.k8s.yaml', '0004-policies.k8s.yaml']);
  const order = applyOrder(app.outdir, '.k8s.yaml').map(shortOf);
  expect(order).toEqual([
    'Namespace/acme',
    'ConfigMap/acme-config',
    'PersistentVolumeClaim/redis-data',
    'ServiceAccount/redis',
    'Deployment/redis',
    'Service/redis',
    'PodDisruptionBudget/redis-pdb',
    'ServiceAccount/api',
    'Deployment/api',
    'Service/api',
    'PodDisruptionBudget/api-pdb',
    'ServiceAccount/worker',
    'Deployment/worker',
    'PodDisruptionBudget/worker-pdb',
    'ServiceAccount/migrate',
    'Job/acme-migrate',
    'ServiceAccount/admin',
    'Deployment/admin',
    'Service/admin',
    'PodDisruptionBudget/admin-pdb',
    'Ingress/acme',
    'NetworkPolicy/allow-dns',
    'NetworkPolicy/api-egress',
    'NetworkPolicy/worker-egress',
    'NetworkPolicy/migrate-egress',
    'NetworkPolicy/redis-ingress',
    'NetworkPolicy/api-ingress-traefik',
    'NetworkPolicy/admin-ingress-traefik',
    'NetworkPolicy/default-deny',
  ]);
});

test("a consumer's one chart, its Namespace made last and its workloads grouped ahead of the ConfigMap, synthesizes in apply order", () => {
  const app = new App({ outdir: outdir() });
  const namespace = 'acme';
  const chart = new Chart(app, 'acme', { disableResourceNameHashes: true });
  // Groups made first sit first in the tree, whatever is built into them later.
  const edge = new Construct(chart, 'a-edge');
  const workloads = new Construct(chart, 'b-workloads');
  const policies = new Construct(chart, 'c-policies');

  const config = new HoneydueConfigMap(chart, 'config', { name: 'acme-config', namespace, data: { DB_HOST: 'db.acme.test', POSTGRES_USER: 'acme', POSTGRES_DB: 'acme', NEXT_PUBLIC_API_URL: 'https://api.acme.test' } });
  const redis = new Redis(workloads, 'redis', { namespace });
  const api = new HoneydueApi(workloads, 'api', { namespace, configMap: config, redis, image: image('api') });
  new NetworkPolicies(policies, 'network-policy', { namespace });
  new HoneydueIngress(edge, 'ingress', { name: 'acme', namespace, rules: [{ host: 'api.acme.test', backend: api }] });
  const ns = new HoneydueNamespace(chart, 'namespace', { name: namespace });
  chart.addDependency(ns);
  app.synth();

  expect(fs.readdirSync(app.outdir)).toEqual(['acme.k8s.yaml']);
  expect(applyOrder(app.outdir, '.k8s.yaml').map(shortOf)).toEqual([
    'Namespace/acme',
    'Service/api',
    'Ingress/acme',
    'PersistentVolumeClaim/redis-data',
    'ServiceAccount/redis',
    'Deployment/redis',
    'Service/redis',
    'PodDisruptionBudget/redis-pdb',
    'ServiceAccount/api',
    'ConfigMap/acme-config',
    'Deployment/api',
    'PodDisruptionBudget/api-pdb',
    'NetworkPolicy/allow-dns',
    'NetworkPolicy/api-egress',
    'NetworkPolicy/redis-ingress',
    'NetworkPolicy/default-deny',
  ]);
});

test("HoneydueStack's app.synth() numbers its files in an order a one-pass apply takes", () => {
  const app = new App({ outdir: outdir() });
  new HoneydueStack(app, 'production', { ...PRODUCTION, imageTag: TAG });
  app.synth();
  const files = fs.readdirSync(app.outdir).sort();
  expect(files[0]).toMatch(/^0000-production-namespace-[0-9a-f]+\.k8s\.yaml$/);
  const order = applyOrder(app.outdir, '.k8s.yaml');
  const at = (kind: string, name: string) => order.findIndex((o) => o.kind === kind && o.metadata.name === name);
  expect(order[0].kind).toBe('Namespace');
  for (const reader of [['Deployment', 'api'], ['Deployment', 'worker'], ['Job', PRODUCTION.migrate.jobName], ['Deployment', 'admin']]) {
    expect(at(reader[0], reader[1])).toBeGreaterThan(at('ConfigMap', PRODUCTION.configMapName));
  }
  expect(at('Ingress', PRODUCTION.ingressName)).toBeGreaterThan(Math.max(at('Service', 'api'), at('Service', 'admin')));
  expect(at('NetworkPolicy', 'default-deny')).toBeGreaterThan(at('NetworkPolicy', 'allow-dns'));
});
