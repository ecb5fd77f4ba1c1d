import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { HoneydueApi, honeydueApiProblems, MigrateJob, NextjsApp, Redis, ServiceEndpoint, VmAgent, Worker, Workload } from '../constructs';
import type { WorkloadPodDefinition } from '../constructs/workload';
import { APP_WIRING, BACKEND_WIRING, imageOf, PRODUCTION, productionChart } from './helpers';

const REDIS: ServiceEndpoint = { name: 'redis', namespace: PRODUCTION.namespace, port: 6379 };
const VMAGENT = { tokenSecret: { name: 'vmagent-ingest-token' }, remoteWriteUrl: PRODUCTION.observability!.remoteWriteUrl! };

/** Each workload construct, built with production's wiring plus `traffic` (its externalPorts or its endpoints). */
const WORKLOADS: Record<string, (chart: Chart, traffic: { externalPorts?: number[]; redis?: ServiceEndpoint }) => Workload> = {
  HoneydueApi: (chart, traffic) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api'), ...traffic }),
  Worker: (chart, traffic) => new Worker(chart, 'worker', { ...BACKEND_WIRING, image: imageOf('worker'), ...traffic }),
  MigrateJob: (chart, traffic) => new MigrateJob(chart, 'migrate', { ...APP_WIRING, jobName: 'honeydue-migrate', image: imageOf('api'), ...traffic }),
  NextjsApp: (chart, traffic) => new NextjsApp(chart, 'admin', { ...APP_WIRING, name: 'admin', image: imageOf('admin'), ...traffic }),
  VmAgent: (chart, traffic) =>
    new VmAgent(chart, 'vmagent', { ...VMAGENT, targets: [{ ...REDIS, path: '/metrics', port: traffic.redis?.port ?? 6379 }] }),
  Redis: (chart) => new Redis(chart, 'redis', {}),
};

describe.each(Object.entries(WORKLOADS))('%s is a Workload', (_owner, build) => {
  test('name, namespace, ServiceAccount and traffic from the one skeleton', () => {
    const workload = build(productionChart(), { redis: REDIS });
    expect(workload).toBeInstanceOf(Workload);
    expect(workload.namespace).toBe(PRODUCTION.namespace);
    expect(workload.serviceAccount.name).toBe(workload.name);
    expect(workload.serviceAccount.node.id).toBe('ServiceAccount');
    expect(workload.traffic.name).toBe(workload.name);
    expect(workload.traffic.namespace).toBe(PRODUCTION.namespace);
  });
});

describe('traffic is validated before the workload creates any object', () => {
  const childrenAfterFailure = (build: (chart: Chart) => Construct, id: string, message: RegExp) => {
    const chart = productionChart();
    expect(() => build(chart)).toThrow(message);
    return chart.node.findChild(id).node.children.map((c) => c.node.id);
  };

  test.each(['HoneydueApi', 'Worker', 'MigrateJob', 'NextjsApp'])('%s: a bad external port', (owner) => {
    const id = { HoneydueApi: 'api', Worker: 'worker', MigrateJob: 'migrate', NextjsApp: 'admin' }[owner]!;
    const children = childrenAfterFailure((chart) => WORKLOADS[owner](chart, { externalPorts: [5432, 70000] }), id,
      new RegExp(`${owner}: externalPorts\\[1\\]: 70000 is not a port`));
    expect(children).toEqual([]);
  });

  test.each(['HoneydueApi', 'Worker', 'MigrateJob'])('%s: a Redis endpoint with a bad port', (owner) => {
    const id = { HoneydueApi: 'api', Worker: 'worker', MigrateJob: 'migrate' }[owner]!;
    const children = childrenAfterFailure((chart) => WORKLOADS[owner](chart, { redis: { ...REDIS, port: 0 } }), id,
      new RegExp(`${owner}: connection to 'redis': 0 is not a port`));
    expect(children).toEqual([]);
  });

  test('VmAgent: a target with a bad port fails before the ServiceAccount and Roles', () => {
    const children = childrenAfterFailure((chart) => WORKLOADS.VmAgent(chart, { redis: { ...REDIS, port: 0 } }), 'vmagent',
      /VmAgent: targets\[0\]\.port: 0 is not a port/);
    expect(children).toEqual([]);
  });
});

/** A consumer's own Workload: its pods as `pods` defines them, beside a small default. */
class OwnWorkload extends Workload {
  public readonly template: ReturnType<Workload['buildPods']>;
  constructor(scope: Construct, id: string, pods: Pick<WorkloadPodDefinition, 'owner' | 'name'> & Partial<WorkloadPodDefinition>) {
    super(scope, id);
    this.template = this.buildPods({
      namespace: 'honeydue', image: `${pods.name}:1.0`, runAsUser: 1000,
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
      ...pods,
    });
  }
}

test("a consumer's own Workload gets the same traffic check: a bad outside port fails before any object", () => {
  const exporter = (chart: Chart, externalPorts: number[]) => new OwnWorkload(chart, 'exporter', { owner: 'Exporter', name: 'exporter', externalPorts });
  const chart = productionChart();
  expect(() => exporter(chart, [443, 70000])).toThrow(/Exporter: externalPorts\[1\]: 70000 is not a port/);
  expect(chart.node.findChild('exporter').node.children).toEqual([]);
  expect(exporter(productionChart(), [443]).traffic.externalPorts).toEqual([443]);
});

test('Redis declares its traffic too: it opens no connection, so its egress stays denied', () => {
  const redis = WORKLOADS.Redis(productionChart(), {});
  expect(redis.traffic).toEqual({ name: 'redis', namespace: PRODUCTION.namespace, connectsTo: [], externalPorts: [] });
});

test("MigrateJob's name is its pods' and ServiceAccount's; the Job keeps its own jobName", () => {
  const job = WORKLOADS.MigrateJob(productionChart(), {}) as MigrateJob;
  expect([job.name, job.jobName, job.job.name]).toEqual(['migrate', 'honeydue-migrate', 'honeydue-migrate']);
});

test('a Workload whose pods call the Kubernetes API must say why: the reason is annotated, an empty one fails naming the fix', () => {
  const apiCaller = (reason: string) => new OwnWorkload(productionChart(), 'caller', { owner: 'ApiCaller', name: 'api-caller', kubernetesApiAccess: reason });
  expect(apiCaller('lists the pods it scrapes').serviceAccount.toJson().metadata.annotations).toEqual({ 'kubernetes-api-access': 'lists the pods it scrapes' });
  expect(() => apiCaller(' ')).toThrow(
    'kubernetesApiAccess: " " is an empty reason; say why the pod calls the Kubernetes API (the reason lands in the manifest), or leave it unset',
  );
});

describe('the Secret an app workload reads is named whenever it reads a key of it', () => {
  test('HoneydueApi with secretKeys and no secretName fails, listing every key and the fix', () => {
    const build = () => new HoneydueApi(productionChart(), 'api', { ...APP_WIRING, secretName: undefined, image: imageOf('api'), secretKeys: ['POSTGRES_PASSWORD', 'SECRET_KEY'] });
    expect(build).toThrow('HoneydueApi: secretName: not set, but secretKeys lists POSTGRES_PASSWORD, SECRET_KEY; name the Secret that holds them, or list no keys');
  });

  test('MigrateJob without secretName fails on the key it reads by default', () => {
    const build = () => new MigrateJob(productionChart(), 'migrate', { ...APP_WIRING, secretName: undefined, jobName: 'honeydue-migrate', image: imageOf('api') });
    expect(build).toThrow('MigrateJob: secretName: not set, but secretKeys lists POSTGRES_PASSWORD; name the Secret that holds them, or list no keys');
  });
});

test('a secretKeys that is not a list is left to the type checker (or the config schema): the rules judge no key of it', () => {
  const props = { ...BACKEND_WIRING, image: imageOf('api'), secretKeys: 'SECRET_KEY' as unknown as string[] };
  expect(honeydueApiProblems(props, PRODUCTION.namespace)).toEqual([]);
});

test('a Workload given no imagePullSecret lists no pull secret in its pods', () => {
  const puller = (imagePullSecret?: string) => new OwnWorkload(productionChart(), 'puller', { owner: 'Puller', name: 'puller', imagePullSecret });
  expect(puller().template.spec?.imagePullSecrets).toBeUndefined();
  expect(puller('registry-credentials').template.spec?.imagePullSecrets).toEqual([{ name: 'registry-credentials' }]);
});
