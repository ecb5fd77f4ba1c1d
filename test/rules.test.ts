import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import * as YAML from 'yaml';
import { ConfigError, loadConfig } from '../app/config';
import {
  HoneydueApi, HoneydueStack, HoneydueStackProps, MigrateJob, NetworkPolicies, Redis, ValueProblem, ValueProblems, VmAgent, Worker,
} from '../constructs';
import { APP_WIRING, BACKEND_WIRING, imageOf, MIGRATE_WIRING, PRODUCTION, productionChart, REDIS_WIRING, WORKER_WIRING } from './helpers';

const production = YAML.parse(fs.readFileSync(path.join(__dirname, '..', 'config', 'production.yaml'), 'utf8'));

/**
 * The problems loading production's config with `change` applied reports, each
 * without the `bad.yaml:<line>:<column>: ` that locates it (asserted present);
 * a failure when it loads.
 */
function configProblems(change: (config: any) => void): string[] {
  const config = structuredClone(production);
  change(config);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-rules-'));
  fs.writeFileSync(path.join(dir, 'bad.yaml'), YAML.stringify(config));
  try {
    loadConfig('bad', { configDir: dir });
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems.map((line) => {
        const located = line.split(`${dir}${path.sep}`).join('');
        expect(located).toMatch(/^bad\.yaml:\d+:\d+: /);
        return located.replace(/^bad\.yaml:\d+:\d+: /, '');
      });
    }
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

/** The problems a construct built directly (no config involved) throws. */
function libraryProblems(build: (chart: Chart) => void): readonly ValueProblem[] {
  try {
    build(productionChart());
  } catch (error) {
    if (error instanceof ValueProblems) return error.problems;
    throw error;
  }
  throw new Error('expected the construct to refuse its props');
}

/** A HoneydueStack built from production's props with `change` applied. */
const stack = (change: (props: any) => void) => (_chart: Chart) => {
  const props = structuredClone(PRODUCTION) as any;
  change(props);
  new HoneydueStack(new App(), 'production', props as HoneydueStackProps);
};

interface Rule {
  readonly name: string;
  /** Builds the construct that owns the rule, with the bad value, outside any config. */
  readonly library: (chart: Chart) => void;
  readonly owner: string;
  readonly prop: string;
  /** The same mistake in production's config file. */
  readonly config: (config: any) => void;
  readonly key: string;
  readonly value: unknown;
  /** Props the sentence names, and the config keys they read as there. */
  readonly renamed?: Record<string, string>;
}

const RULES: Rule[] = [
  // The seven rules the schema and the constructs once both wrote, each with its own message.
  {
    name: 'a probe period of 0',
    library: (chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api'), probes: { readiness: { periodSeconds: 0 } } }),
    owner: 'HoneydueApi', prop: 'probes.readiness.periodSeconds',
    config: (c) => { c.api.probes = { readiness: { periodSeconds: 0 } }; }, key: 'api.probes.readiness.periodSeconds', value: 0,
  },
  {
    name: 'a secret key listed twice',
    library: (chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image: imageOf('worker'), secretKeys: ['SECRET_KEY', { key: 'SECRET_KEY' }] }),
    owner: 'Worker', prop: 'secretKeys[1]',
    config: (c) => { c.worker.secretKeys = ['SECRET_KEY', { key: 'SECRET_KEY' }]; }, key: 'worker.secretKeys.1', value: 'SECRET_KEY',
  },
  {
    name: 'an HPA maximum below the default minimum',
    library: (chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api'), autoscaling: { maxReplicas: 2 } }),
    owner: 'HoneydueApi', prop: 'autoscaling.maxReplicas',
    config: (c) => { c.api.autoscaling = { maxReplicas: 2 }; }, key: 'api.autoscaling.maxReplicas', value: 2,
    renamed: { 'autoscaling.minReplicas': 'api.autoscaling.minReplicas' },
  },
  {
    name: 'a second worker replica',
    library: (chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image: imageOf('worker'), replicas: 2 }),
    owner: 'Worker', prop: 'replicas',
    config: (c) => { c.worker.replicas = 2; }, key: 'worker.replicas', value: 2,
    renamed: { leaderElectedScheduler: 'worker.leaderElectedScheduler' },
  },
  {
    name: 'a migration deadline past the gate',
    library: (chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image: imageOf('api'), activeDeadlineSeconds: 601 }),
    owner: 'MigrateJob', prop: 'activeDeadlineSeconds',
    config: (c) => { c.migrate.activeDeadlineSeconds = 601; }, key: 'migrate.activeDeadlineSeconds', value: 601,
  },
  {
    name: 'a vmagent buffer of no chunk',
    library: (chart) => new VmAgent(chart, 'vmagent', {
      tokenSecret: { name: 'vmagent-ingest-token' }, remoteWriteUrl: 'https://metrics.example.com/api/v1/write',
      targets: [{ name: 'api', namespace: PRODUCTION.namespace, port: 8000, path: '/metrics' }], bufferChunks: 0,
    }),
    owner: 'VmAgent', prop: 'bufferChunks',
    config: (c) => { c.observability.bufferChunks = 0; }, key: 'observability.bufferChunks', value: 0,
  },
  {
    name: 'a node CIDR with a /33 prefix',
    library: (chart) => new NetworkPolicies(chart, 'network-policy', { workloads: [], nodeCidrs: ['10.42.0.0/33'] }),
    owner: 'NetworkPolicies', prop: 'nodeCidrs[0]',
    config: (c) => { c.networkPolicy = { nodeCidrs: ['10.42.0.0/33'] }; }, key: 'networkPolicy.nodeCidrs.0', value: '10.42.0.0/33',
  },
  // Rules only the schema knew: the library accepted these values.
  {
    name: 'a public API URL that is no URL',
    library: stack((p) => { p.publicApiUrl = 'not a url'; }),
    owner: 'HoneydueStack', prop: 'publicApiUrl',
    config: (c) => { c.publicApiUrl = 'not a url'; }, key: 'publicApiUrl', value: 'not a url',
  },
  {
    name: 'an empty database user',
    library: stack((p) => { p.database.user = ''; }),
    owner: 'HoneydueStack', prop: 'database.user',
    config: (c) => { c.database.user = ''; }, key: 'database.user', value: '',
  },
  {
    name: 'an empty database name',
    library: stack((p) => { p.database.name = ''; }),
    owner: 'HoneydueStack', prop: 'database.name',
    config: (c) => { c.database.name = ''; }, key: 'database.name', value: '',
  },
  {
    name: 'an empty bucket',
    library: stack((p) => { p.storage.bucket = ''; }),
    owner: 'HoneydueStack', prop: 'storage.bucket',
    config: (c) => { c.storage.bucket = ''; }, key: 'storage.bucket', value: '',
  },
  {
    name: 'an empty storage region',
    library: stack((p) => { p.storage.region = ''; }),
    owner: 'HoneydueStack', prop: 'storage.region',
    config: (c) => { c.storage.region = ''; }, key: 'storage.region', value: '',
  },
  {
    name: 'a registry with a scheme',
    library: stack((p) => { p.registry = 'https://registry.example.com/team'; }),
    owner: 'HoneydueStack', prop: 'registry',
    config: (c) => { c.registry = 'https://registry.example.com/team'; }, key: 'registry', value: 'https://registry.example.com/team',
  },
  {
    name: 'an image name with its own tag',
    library: stack((p) => { p.images.admin = 'honeydue-admin:v2'; }),
    owner: 'HoneydueStack', prop: 'images.admin',
    config: (c) => { c.images.admin = 'honeydue-admin:v2'; }, key: 'images.admin', value: 'honeydue-admin:v2',
  },
  {
    name: 'an empty environment label key',
    library: stack((p) => { p.environmentLabel = ''; }),
    owner: 'HoneydueStack', prop: 'environmentLabel',
    config: (c) => { c.environmentLabel = ''; }, key: 'environmentLabel', value: '',
  },
  {
    name: 'a migrate Job name with capitals',
    library: (chart) => new MigrateJob(chart, 'migrate', { ...APP_WIRING, image: imageOf('api'), jobName: 'Migrate' }),
    owner: 'MigrateJob', prop: 'jobName',
    config: (c) => { c.migrate.jobName = 'Migrate'; }, key: 'migrate.jobName', value: 'Migrate',
  },
  {
    name: 'a relative migrations folder',
    library: (chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image: imageOf('api'), migrationsDir: 'app/migrations' }),
    owner: 'MigrateJob', prop: 'migrationsDir',
    config: (c) => { c.migrate.migrationsDir = 'app/migrations'; }, key: 'migrate.migrationsDir', value: 'app/migrations',
  },
  {
    name: 'a pull secret name with an underscore',
    library: (chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api'), imagePullSecret: 'gitea_credentials' }),
    owner: 'HoneydueApi', prop: 'imagePullSecret',
    config: (c) => { c.imagePullSecret = 'gitea_credentials'; }, key: 'imagePullSecret', value: 'gitea_credentials',
  },
  {
    name: 'an APNs Secret name with capitals',
    library: (chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image: imageOf('worker'), apnsKey: { secretName: 'APNs' } }),
    owner: 'Worker', prop: 'apnsKey.secretName',
    config: (c) => { c.apnsKey.secretName = 'APNs'; }, key: 'apnsKey.secretName', value: 'APNs',
  },
  {
    name: 'a Redis storage class with a space',
    library: (chart) => new Redis(chart, 'redis', { ...REDIS_WIRING, storageClassName: 'local path' }),
    owner: 'Redis', prop: 'storageClassName',
    config: (c) => { c.redis.storageClassName = 'local path'; }, key: 'redis.storageClassName', value: 'local path',
  },
  {
    name: 'an empty reason for the worker singleton',
    library: (chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image: imageOf('worker'), replicasAnnotation: { key: 'example.com/why', reason: ' ' } }),
    owner: 'Worker', prop: 'replicasAnnotation.reason',
    config: (c) => { c.worker.replicasAnnotation.reason = ' '; }, key: 'worker.replicasAnnotation.reason', value: ' ',
  },
  {
    name: 'an empty scrape job name',
    library: (chart) => new VmAgent(chart, 'vmagent', {
      tokenSecret: { name: 'vmagent-ingest-token' }, remoteWriteUrl: 'https://metrics.example.com/api/v1/write',
      targets: [{ name: 'api', namespace: PRODUCTION.namespace, port: 8000, path: '/metrics' }], scrapeJobName: '',
    }),
    owner: 'VmAgent', prop: 'scrapeJobName',
    config: (c) => { c.observability.scrapeJobName = ''; }, key: 'observability.scrapeJobName', value: '',
  },
];

describe.each(RULES)('$name', ({ library, owner, prop, config, key, value, renamed }) => {
  test('the library alone refuses it, naming the prop and the value', () => {
    const problems = libraryProblems(library);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ owner, path: prop, value });
    expect(problems[0].message).toBe(`${owner}: ${prop}: ${problems[0].problem}`);
  });

  test('the config file reports it at its key, in the same sentence', () => {
    const sentence = Object.entries(renamed ?? {}).reduce((text, [from, to]) => text.split(from).join(to), libraryProblems(library)[0].problem);
    expect(configProblems(config)).toEqual([`${key}: ${sentence} (got ${JSON.stringify(value)})`]);
  });
});

test("the stack's schema holds no value rule: no range, format or default of a construct is written in app/config/schema.ts", () => {
  const source = fs.readFileSync(path.join(__dirname, '..', 'app', 'config', 'schema.ts'), 'utf8');
  const between = (from: string, to: string) => source.slice(source.indexOf(from), source.indexOf(to));
  // `shares` and `deploy` sit between the two parts: they are about the environment, no construct reads them.
  const schema = (between('const cpuMemory', 'const environmentNames') + between('const nextjsApp', '/** The parsed config file.'))
    .replace(/^\s+(extends|shares|deploy): .*$/gm, '');
  expect(schema).toContain('export const configSchema');
  expect(schema).not.toMatch(/\.(min|max|int|regex|startsWith|url|trim)\(|Refine|judged\(|\?\? \d/);
});

test('the HPA bounds are judged against the api\'s own default minimum', () => {
  const [problem] = libraryProblems((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api'), autoscaling: { maxReplicas: 2 } }));
  expect(problem.problem).toBe('2 is below autoscaling.minReplicas (3, its default); the HPA needs maxReplicas >= minReplicas, raise it to at least 3');
});

test('a construct reports every problem at once, before it creates any child', () => {
  const chart = productionChart();
  let thrown: unknown;
  try {
    new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api'), replicas: 0, metricsPath: 'metrics', secretKeys: ['A', 'A'] });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValueProblems);
  expect((thrown as ValueProblems).problems.map((p) => p.path)).toEqual(['replicas', 'metricsPath', 'secretKeys[1]']);
  expect((thrown as Error).message).toBe([
    'HoneydueApi: replicas: 0 must be a whole number of at least 1',
    "HoneydueApi: metricsPath: 'metrics' must start with '/', like '/metrics'",
    "HoneydueApi: secretKeys[1]: 'A' is listed twice; list each key once",
  ].join('\n'));
  expect(chart.node.findChild('api').node.children).toHaveLength(0);
});

test('a built stack collects no more: a construct added under it later throws its own problems', () => {
  const built = new HoneydueStack(new App(), 'production', PRODUCTION);
  expect(() => new Worker(Chart.of(built.worker), 'second', { ...WORKER_WIRING, image: imageOf('worker'), replicas: 2 })).toThrow(/^Worker: replicas: must be 1/);
});

test('one config with several construct-rule problems and a type problem reports them all at once', () => {
  const problems = configProblems((c) => {
    c.api.replicas = 'three';
    c.worker.replicas = 2;
    c.migrate.activeDeadlineSeconds = 900;
    c.networkPolicy = { nodeCidrs: ['everything'] };
    c.database.user = '';
    c.publicApiUrl = 'api.myhoneydue.com';
    c.redis.resources = { limits: { memory: '300Mi' } };
  });
  expect(problems).toHaveLength(7);
  expect(problems).toEqual(expect.arrayContaining([
    expect.stringMatching(/^api\.replicas: .*expected number.*\(got "three"\)$/),
    expect.stringMatching(/^worker\.replicas: must be 1: .*\(got 2\)$/),
    expect.stringMatching(/^migrate\.activeDeadlineSeconds: 900 must be a whole number from 1 to 600: the deploy gate stops waiting after 10 minutes \(got 900\)$/),
    expect.stringMatching(/^networkPolicy\.nodeCidrs\.0: 'everything' is not an IPv4 CIDR block.*\(got "everything"\)$/),
    'database.user: "" is empty; write the value (got "")',
    "publicApiUrl: 'api.myhoneydue.com' is not a URL; write it like 'https://api.example.com/api' (got \"api.myhoneydue.com\")",
    expect.stringMatching(/^redis\.maxMemory: '256mb' needs a memory limit .*but redis\.resources\.limits\.memory is '300Mi'; raise the limit to 512Mi or lower maxMemory \(got "256mb"\)$/),
  ]));
});

test('a value of the wrong type is reported once, by the schema, not judged again by a construct', () => {
  expect(configProblems((c) => { c.redis.evictionPolicy = 'lru'; })).toEqual([expect.stringMatching(/^redis\.evictionPolicy: .*\(got "lru"\)$/)]);
  expect(configProblems((c) => { c.observability.bufferChunks = '1'; })).toEqual([expect.stringMatching(/^observability\.bufferChunks: .*expected number.*\(got "1"\)$/)]);
});

test('the stack names the config key behind a construct\'s prop: a host routed twice is domains.admin, against domains.api', () => {
  const sentence = "'api.myhoneydue.com' is already routed by domains.api; Traefik would pick one at random, keep one rule per host";
  expect(configProblems((c) => { c.domains.admin = c.domains.api; })).toEqual([`domains.admin: ${sentence} (got "api.myhoneydue.com")`]);
  expect(() => stack((p) => { p.domains.admin = p.domains.api; })(productionChart())).toThrow(`HoneydueStack: domains.admin: ${sentence}`);
});

test('a PDB message names the key whose replica count it quotes', () => {
  expect(configProblems((c) => { c.api.autoscaling = { minReplicas: 2 }; c.api.minAvailable = 2; })).toEqual([
    'api.minAvailable: 2 would block every node drain: api.autoscaling.minReplicas is 2; use at most 1 (got 2)',
  ]);
  expect(libraryProblems((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api'), minAvailable: 3 }))[0].message).toBe(
    'HoneydueApi: minAvailable: 3 would block every node drain: replicas is 3; use at most 2',
  );
});

test('one mistake seen by several constructs is one problem: a bad namespace', () => {
  expect(configProblems((c) => { c.namespace = 'Honey_Due'; })).toEqual([
    "namespace: 'Honey_Due' is not a valid Kubernetes name; use lowercase letters, digits and '-', at most 63 characters (got \"Honey_Due\")",
  ]);
});

test('a section that is off is judged all the same: its values are read the day it is turned on', () => {
  expect(configProblems((c) => { c.web = { enabled: false, replicas: 0 }; c.traefik.enabled = false; c.traefik.webPort = 0; })).toEqual([
    'web.replicas: 0 must be a whole number of at least 1 (got 0)',
    "traefik.webPort: 0 is not a port; use a whole number from 1 to 65535; set 'webPort: 80' (got 0)",
  ]);
});

test('a quantity written as a number is judged as its text by the construct, as Kubernetes reads it', () => {
  expect(configProblems((c) => { c.api.resources.limits.memory = -5; })).toEqual([
    "api.resources.limits.memory: '-5' is not a memory quantity; write a binary suffix like '512Mi' or '1Gi' (not 'MB') (got -5)",
  ]);
  expect(() => configProblems((c) => { c.api.resources.limits.cpu = 1; })).toThrow('expected the config to be rejected');
});
