import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { deepMerge, listEnvironments, loadConfig } from '../app/config';
import { renderEnvironment, synthesize } from '../app/synth';

const REPO = path.resolve(__dirname, '..');
const CONFIG_DIR = path.join(REPO, 'config');
const quiet = () => undefined;

const objectsOf = (env: string, configDir?: string) => renderEnvironment(env, { configDir, log: quiet }).flatMap((f) => f.objects);
const find = (objects: any[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
};
const containerOf = (o: any) => o.spec.template.spec.containers[0];

/** CPU in cores, memory in bytes: enough of the quantity grammar for the values this repo writes. */
function quantity(value: string): number {
  const units: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 };
  const [, number, unit] = /^([\d.]+)([a-zA-Z]*)$/.exec(value)!;
  return Number(number) * (unit ? units[unit] : 1);
}

/** Every [path, value] of a parsed YAML tree whose value is not a mapping. */
function leaves(node: Record<string, unknown>, prefix: string[] = []): [string[], unknown][] {
  return Object.entries(node).flatMap(([key, value]) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? leaves(value as Record<string, unknown>, [...prefix, key]) : [[[...prefix, key], value] as [string[], unknown]],
  );
}
const at = (node: any, where: string[]) => where.reduce((n, key) => n?.[key], node);

let production: any[];
let staging: any[];
beforeAll(() => {
  production = objectsOf('production');
  staging = objectsOf('staging');
});

describe('staging', () => {
  test('extends production and states only its differences', () => {
    const read = (env: string) => YAML.parse(fs.readFileSync(path.join(CONFIG_DIR, `${env}.yaml`), 'utf8'));
    const { extends: base, ...own } = read('staging');
    expect(base).toBe('production');
    // Every value staging writes differs from what it would inherit; shared values live once, in production.yaml.
    const repeated = leaves(own).filter(([where, value]) => value !== null && JSON.stringify(at(read('production'), where)) === JSON.stringify(value));
    expect(repeated.map(([where]) => where.join('.'))).toEqual([]);
  });

  test('puts every namespaced object in honeydue-staging', () => {
    expect(find(staging, 'Namespace', 'honeydue-staging').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const elsewhere = staging.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'honeydue-staging');
    expect(elsewhere.map((o) => `${o.kind}/${o.metadata.name} in ${o.metadata.namespace}`)).toEqual([]);
    expect(staging.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)).toEqual(['honeydue-staging']);
  });

  test('runs 1 api replica with a PodDisruptionBudget that never blocks a drain, and no HPA', () => {
    expect(find(staging, 'Deployment', 'api').spec.replicas).toBe(1);
    expect(find(staging, 'PodDisruptionBudget', 'api-pdb').spec.minAvailable).toBe(0);
    expect(staging.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  });

  test('serves its own domains', () => {
    expect(find(staging, 'ConfigMap', 'honeydue-config').data.NEXT_PUBLIC_API_URL).toBe('https://staging-api.myhoneydue.com/api');
    const hosts = staging.filter((o) => o.kind === 'Ingress').flatMap((o) => o.spec.rules.map((r: any) => r.host));
    for (const host of hosts) expect(host).toMatch(/^staging(-[a-z]+)?\.myhoneydue\.com$/);
  });

  test.each([
    ['Deployment', 'api'],
    ['Deployment', 'admin'],
    ['Deployment', 'worker'],
    ['Deployment', 'redis'],
    ['Job', 'honeydue-migrate'],
  ])('asks less of the cluster than production for %s %s', (kind, name) => {
    const small = containerOf(find(staging, kind, name)).resources;
    const large = containerOf(find(production, kind, name)).resources;
    let smaller = 0;
    for (const side of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        expect(quantity(small[side][resource])).toBeLessThanOrEqual(quantity(large[side][resource]));
        if (quantity(small[side][resource]) < quantity(large[side][resource])) smaller++;
      }
    }
    expect(smaller).toBeGreaterThan(0);
  });

  test('pulls the same release from the same registry, with the same Secret names in its own namespace', () => {
    for (const name of ['api', 'worker', 'admin']) {
      const [ours, theirs] = [find(staging, 'Deployment', name), find(production, 'Deployment', name)];
      expect(containerOf(ours).image).toBe(containerOf(theirs).image);
      expect(ours.spec.template.spec.imagePullSecrets).toEqual([{ name: 'gitea-credentials' }]);
      const secretNames = new Set((containerOf(ours).env ?? []).flatMap((e: any) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : [])));
      expect([...secretNames].every((n) => n === 'honeydue-secrets')).toBe(true);
    }
    const apnsVolume = find(staging, 'Deployment', 'api').spec.template.spec.volumes.find((v: any) => v.name === 'apns-key');
    expect(apnsVolume.secret.secretName).toBe('honeydue-apns-key');
  });

  test('keeps Redis memory limit at twice maxmemory, as production does', () => {
    const script = containerOf(find(staging, 'Deployment', 'redis')).command[2];
    expect(script).toMatch(/^maxmemory 64mb$/m);
    expect(containerOf(find(staging, 'Deployment', 'redis')).resources.limits.memory).toBe('128Mi');
    expect(find(staging, 'PersistentVolumeClaim', 'redis-data').spec.resources.requests.storage).toBe('1Gi');
  });
});

describe('environments on one cluster', () => {
  test('never write the same object twice: namespaces differ and only production configures kube-system/traefik', () => {
    const owners = new Map<string, string>();
    const clashes: string[] = [];
    for (const env of listEnvironments(CONFIG_DIR).filter((e) => !e.startsWith('_'))) {
      for (const o of objectsOf(env)) {
        const key = `${o.kind} ${o.metadata.namespace ?? '(cluster)'}/${o.metadata.name}`;
        if (owners.has(key)) clashes.push(`${key} is written by ${owners.get(key)} and ${env}`);
        owners.set(key, env);
      }
    }
    expect(clashes).toEqual([]);
    expect(staging.filter((o) => o.metadata.namespace === 'kube-system')).toEqual([]);
    expect(find(production, 'HelmChartConfig', 'traefik').metadata.namespace).toBe('kube-system');
  });
});

describe('production', () => {
  test('keeps its SPEC values while staging exists', () => {
    const appObjects = production.filter((o) => o.kind !== 'Namespace' && o.kind !== 'HelmChartConfig');
    expect(appObjects.every((o) => o.metadata.namespace === 'honeydue')).toBe(true);
    expect(find(production, 'Deployment', 'api').spec.replicas).toBe(3);
    expect(find(production, 'PodDisruptionBudget', 'api-pdb').spec.minAvailable).toBe(2);
    expect(containerOf(find(production, 'Deployment', 'api')).resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '1000m', memory: '512Mi' },
    });
    expect(find(production, 'ConfigMap', 'honeydue-config').data.NEXT_PUBLIC_API_URL).toBe('https://api.myhoneydue.com/api');
  });
});

describe('the committed dist/', () => {
  test('holds one folder per environment, each byte for byte what synth renders now', () => {
    const envs = listEnvironments(CONFIG_DIR).filter((env) => !env.startsWith('_'));
    expect(envs).toEqual(['production', 'staging']);
    expect(fs.readdirSync(path.join(REPO, 'dist')).sort()).toEqual(envs);
    for (const env of envs) {
      const rendered = renderEnvironment(env, { log: quiet });
      expect(fs.readdirSync(path.join(REPO, 'dist', env)).sort()).toEqual(rendered.map((f) => path.basename(f.relativePath)).sort());
      for (const file of rendered) {
        if (fs.readFileSync(path.join(REPO, 'dist', file.relativePath), 'utf8') !== file.content) {
          throw new Error(`dist/${file.relativePath} is stale; run \`npm run synth\` and commit dist/`);
        }
      }
    }
  });
});

describe('environments are files', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-envs-'));
  });
  afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

  const configDirWith = (extra: Record<string, string>) => {
    const configDir = path.join(scratch, 'config');
    fs.mkdirSync(configDir);
    for (const file of fs.readdirSync(CONFIG_DIR)) fs.copyFileSync(path.join(CONFIG_DIR, file), path.join(configDir, file));
    for (const [file, text] of Object.entries(extra)) fs.writeFileSync(path.join(configDir, file), text);
    return configDir;
  };

  test('adding one file adds an environment to a full synth', () => {
    const configDir = configDirWith({
      // Its own namespace and hosts; staging's database and bucket (production's) declared, since shares are not inherited.
      'qa.yaml': [
        'extends: staging',
        'namespace: honeydue-qa',
        'domains: { apex: qa.myhoneydue.com, api: qa-api.myhoneydue.com, admin: qa-admin.myhoneydue.com }',
        'shares: { database: [production, staging], bucket: [production, staging] }',
        '',
      ].join('\n'),
      '_notes.yaml': 'not: an environment\n',
    });
    const outDir = path.join(scratch, 'dist');
    synthesize({ configDir, outDir, log: quiet });
    expect(fs.readdirSync(outDir).sort()).toEqual(['production', 'qa', 'staging']);
    const qa = objectsOf('qa', configDir);
    expect(qa.filter((o) => o.kind !== 'Namespace').every((o) => o.metadata.namespace === 'honeydue-qa')).toBe(true);
    // qa inherits staging's size through staging's own extends of production.
    expect(find(qa, 'Deployment', 'api').spec.replicas).toBe(1);
  });

  test('--env synthesizes one environment and leaves the others as they were', () => {
    const outDir = path.join(scratch, 'dist');
    fs.mkdirSync(path.join(outDir, 'production'), { recursive: true });
    fs.writeFileSync(path.join(outDir, 'production', 'marker'), 'untouched');
    synthesize({ envs: ['staging'], outDir, log: quiet });
    expect(fs.readFileSync(path.join(outDir, 'production', 'marker'), 'utf8')).toBe('untouched');
    expect(fs.readdirSync(path.join(outDir, 'staging'))).toContain('40-api.yaml');
  });

  test("an environment switches off its base's HPA with null", () => {
    const base = fs.readFileSync(path.join(CONFIG_DIR, 'production.yaml'), 'utf8').replace(/^api:\n/m, 'api:\n  autoscaling: { minReplicas: 3 }\n');
    const configDir = configDirWith({ 'production.yaml': base });
    expect(objectsOf('production', configDir).filter((o) => o.kind === 'HorizontalPodAutoscaler')).toHaveLength(1);
    expect(loadConfig('staging', { configDir }).api?.autoscaling).toBeUndefined();
    expect(objectsOf('staging', configDir).filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  });

  test('null removes a key; mappings merge; lists replace', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, d: [1, 2] }, { a: { c: null, e: 3 }, d: [3] })).toEqual({ a: { b: 1, e: 3 }, d: [3] });
  });

  test('an unknown environment is an error naming the known ones', () => {
    expect(() => renderEnvironment('stagign')).toThrow(/environment 'stagign' has no config file .*known environments: production, staging/);
  });
});
