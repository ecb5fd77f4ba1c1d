/**
 * The library as another project meets it: `npm pack`, install the tarball
 * into a fresh project, compile a cdk8s app against the published `.d.ts`
 * with non-default props, run it, read what it wrote.
 *
 * Offline by construction: the tarball is unpacked where npm would put it
 * and its declared dependencies and peers are linked from this repo's
 * node_modules. Only what package.json declares is linked, so a runtime
 * import the manifest forgot fails here, as it would for a user.
 * Slow (a build, a pack and a tsc run); every other test is fast.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { NODE_TS } from './node-ts';

const REPO = path.resolve(__dirname, '..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
/** Where the consumer's tsc keeps its incremental build info (.cache/ is git-ignored; safe to delete). */
const CONSUMER_BUILD_INFO = path.join(REPO, '.cache', 'package-test', 'consumer.tsbuildinfo');

let work: string;
let tarball: string;
let tarballFiles: string[];
let consumer: string;
let objects: any[];
let consumerRuntimeMs: number;

/** Runs a command; on failure throws with its stdout too (tsc reports its errors there). */
function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

beforeAll(() => {
  const started = Date.now();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-k8s-package-'));
  const packDir = path.join(work, 'pack');
  fs.mkdirSync(packDir);
  // `prepack` runs `npm run build`, so this compiles constructs/ afresh before packing.
  run('npm', ['pack', '--pack-destination', packDir, '--silent'], REPO);
  const packed = fs.readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  if (packed.length !== 1) throw new Error(`npm pack should write one tarball to ${packDir}, found: ${packed.join(', ') || 'none'}`);
  tarball = path.join(packDir, packed[0]);
  tarballFiles = run('tar', ['-tzf', tarball], work).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));

  consumer = path.join(work, 'consumer');
  const installed = path.join(consumer, 'node_modules', 'honeydue-k8s');
  fs.mkdirSync(installed, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], work);
  linkDeclaredDependencies(installed, path.join(consumer, 'node_modules'));

  fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'shop-k8s', version: '0.0.0', private: true }, null, 2));
  fs.writeFileSync(
    path.join(consumer, 'tsconfig.json'),
    JSON.stringify({
      // node16 resolution honours `exports`, as a current TypeScript consumer does. Incremental, with its
      // build info kept between runs: tsc then skips checking the dependencies' declarations (cdk8s,
      // cdk8s-plus-28, constructs) while their content is unchanged, about half of the compile. This
      // package's declarations and main.ts are at a new path on every run, so they are always checked and emitted.
      compilerOptions: {
        target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, outDir: 'out', skipLibCheck: false, types: [],
        incremental: true, tsBuildInfoFile: CONSUMER_BUILD_INFO,
      },
      files: ['main.ts'],
    }),
  );
  fs.writeFileSync(path.join(consumer, 'main.ts'), CONSUMER_APP);
  fs.mkdirSync(path.dirname(CONSUMER_BUILD_INFO), { recursive: true });
  run(process.execPath, [TSC, '-p', '.'], consumer);
  const appStarted = Date.now();
  run(process.execPath, ['out/main.js'], consumer);
  consumerRuntimeMs = Date.now() - appStarted;

  const synthDir = path.join(consumer, 'dist');
  objects = fs
    .readdirSync(synthDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => YAML.parseAllDocuments(fs.readFileSync(path.join(synthDir, f), 'utf8')).map((d) => d.toJS()))
    .filter(Boolean);
  console.log(`package test setup (pack + install + tsc + synth): ${Date.now() - started} ms; consumer synth ${consumerRuntimeMs} ms`);
}, 120_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/**
 * Another product, "acme", built from the generic constructs in its own Chart:
 * its namespace (set once, on the Chart), registry, domain, labels, Secret and
 * endpoints. Nothing of honeyDue is passed in, so anything of honeyDue's in the
 * output came from a library default.
 */
const CONSUMER_APP = `
import { App, Chart } from 'cdk8s';
import { HoneydueApi, HoneydueConfigMap, HoneydueIngress, MigrateJob, NetworkPolicies, Redis, VmAgent, Worker } from 'honeydue-k8s';

const app = new App({ outdir: 'dist' });
const chart = new Chart(app, 'acme', {
  namespace: 'acme',
  disableResourceNameHashes: true,
  labels: { 'app.kubernetes.io/part-of': 'acme', 'app.kubernetes.io/managed-by': 'acme-ops' },
});
const image = (service: string) => 'registry.acme.test/shop/acme-' + service + ':abc1234';
const redis = new Redis(chart, 'redis', {});
const config = new HoneydueConfigMap(chart, 'config', {
  name: 'acme-config',
  data: { DB_HOST: 'db.acme.test', POSTGRES_USER: 'acme', POSTGRES_DB: 'acme', REDIS_URL: 'redis://' + redis.name + ':' + redis.port + '/0' },
});
const wiring = { configMap: config, secretName: 'acme-secrets', redis, externalPorts: [5432, 443] };
const api = new HoneydueApi(chart, 'api', { ...wiring, image: image('api'), replicas: 2, secretKeys: ['POSTGRES_PASSWORD'] });
new Worker(chart, 'worker', { ...wiring, image: image('worker'), secretKeys: ['POSTGRES_PASSWORD'] });
new MigrateJob(chart, 'migrate', { ...wiring, image: image('api'), jobName: 'acme-migrate', secretKeys: ['POSTGRES_PASSWORD'] });
const ingress = new HoneydueIngress(chart, 'ingress', { name: 'acme', rules: [{ host: 'api.acme.test', backend: api }] });
new VmAgent(chart, 'vmagent', {
  tokenSecret: { name: 'acme-metrics-token' },
  targets: [api.metrics],
  remoteWriteUrl: 'https://metrics.acme.test/api/v1/write',
});
new NetworkPolicies(chart, 'network-policy', { ingressRoutes: ingress.routes });
if (api.namespace !== 'acme') throw new Error('the exported construct properties do not reach the consumer');
app.synth();
`;

/**
 * Links each dependency and peer the installed package.json declares from
 * this repo's node_modules, after checking the version there satisfies the
 * declared range (the repo's tests ran against exactly that version).
 */
function linkDeclaredDependencies(installed: string, nodeModules: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  const wanted: Record<string, string> = { ...manifest.peerDependencies, ...manifest.dependencies };
  for (const [name, range] of Object.entries(wanted)) {
    const source = path.join(REPO, 'node_modules', name);
    const version = JSON.parse(fs.readFileSync(path.join(source, 'package.json'), 'utf8')).version;
    if (!satisfies(version, range)) {
      throw new Error(`package.json declares ${name}@${range}, but this repo tests with ${version}; widen the range or update the pin`);
    }
    fs.symlinkSync(source, path.join(nodeModules, name), 'dir');
  }
}

/** Exact pins and caret ranges: the two forms this package.json uses. */
function satisfies(version: string, range: string): boolean {
  const parse = (v: string) => v.split('.').map(Number);
  if (!range.startsWith('^')) return version === range;
  const [have, floor] = [parse(version), parse(range.slice(1))];
  if (have[0] !== floor[0]) return false;
  for (let i = 1; i < 3; i++) {
    if (have[i] !== floor[i]) return have[i] > floor[i];
  }
  return true;
}

const find = (kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the consumer's output: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
};
const podSpecOf = (o: any) => o.spec.template.spec;

describe('the packed tarball', () => {
  test('holds the compiled library and its declarations, nothing of the app', () => {
    expect(tarballFiles).toContain('build/constructs/index.js');
    expect(tarballFiles).toContain('build/constructs/index.d.ts');
    const offending = tarballFiles.filter(
      (f) => f === 'main.ts' || /^(dist|test|config|app|bin|__snapshots__)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
    );
    expect(offending).toEqual([]);
  });

  test("its main, types and exports name files that are in it", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules', 'honeydue-k8s', 'package.json'), 'utf8'));
    const named = [manifest.main, manifest.types, manifest.exports['.'].types, manifest.exports['.'].default].map((p: string) => p.replace(/^\.\//, ''));
    for (const file of named) expect(tarballFiles).toContain(file);
  });
});

/** honeyDue's organisation facts, read from its config: none may reach the package or another product. */
function honeydueFacts(): string[] {
  const production = YAML.parse(fs.readFileSync(path.join(REPO, 'config', 'production.yaml'), 'utf8'));
  return [
    production.registry, production.registry.split('/')[0],
    ...Object.values(production.domains as Record<string, string>),
    production.database.host, production.database.host.replace('-pooler', ''), production.database.user,
    // The database is named like the product, which prose may name: match it as a quoted value.
    `'${production.database.name}'`, `"${production.database.name}"`,
    production.email.smtpHost, production.storage.bucket,
  ];
}

describe('the library holds no honeyDue facts', () => {
  test('no file of the package, the README included, names honeyDue\'s hosts, bucket, database or registry', () => {
    const installed = path.join(consumer, 'node_modules', 'honeydue-k8s');
    const facts = honeydueFacts();
    expect(facts).toContain('honeyDueProd');
    // The code, its declarations, and the README, which npm packs whatever `files` says: a consumer reads it.
    expect(tarballFiles).toContain('README.md');
    const found = tarballFiles.filter((file) => file.startsWith('build/') || file === 'README.md').flatMap((file) => {
      const text = fs.readFileSync(path.join(installed, file), 'utf8');
      return facts.filter((fact) => text.includes(fact)).map((fact) => `${file}: ${fact}`);
    });
    expect(found).toEqual([]);
  });
});

describe('the acme product built on the package', () => {
  const output = () => fs.readdirSync(path.join(consumer, 'dist')).map((f) => fs.readFileSync(path.join(consumer, 'dist', f), 'utf8')).join('\n');

  test('carries none of honeyDue\'s hosts, registry, database, bucket, SMTP, Secrets or labels', () => {
    const text = output();
    for (const fact of [...honeydueFacts(), 'honeydue-secrets', 'honeydue-apns-key', 'gitea-credentials', 'part-of: honeydue', 'honeydue/redis']) {
      expect([fact, text.includes(fact)]).toEqual([fact, false]);
    }
  });

  test('carries no honeyDue name at all, annotation keys included', () => {
    expect(output().split('\n').filter((line) => /honey/i.test(line))).toEqual([]);
  });

  test("puts every object in the Chart's namespace", () => {
    expect(objects.length).toBeGreaterThan(10);
    expect(objects.filter((o) => o.metadata.namespace !== 'acme').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
  });

  test("labels every object with acme's labels, the Chart's", () => {
    for (const o of objects) {
      expect([o.kind, o.metadata.labels?.['app.kubernetes.io/part-of'], o.metadata.labels?.['app.kubernetes.io/managed-by']]).toEqual([o.kind, 'acme', 'acme-ops']);
    }
  });

  test('pulls its images from its registry at its tag, reads its ConfigMap and Secret', () => {
    for (const workload of ['api', 'worker']) {
      const pod = podSpecOf(find('Deployment', workload));
      expect(pod.containers[0].image).toBe(`registry.acme.test/shop/acme-${workload}:abc1234`);
      expect(pod.imagePullSecrets).toBeUndefined();
      expect(pod.containers[0].envFrom).toEqual([{ configMapRef: { name: 'acme-config' } }]);
      expect(pod.containers[0].env.find((e: any) => e.name === 'POSTGRES_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'acme-secrets', key: 'POSTGRES_PASSWORD' });
      // No APNs key: acme did not ask for one.
      expect(pod.volumes?.map((v: any) => v.name) ?? []).not.toContain('apns-key');
    }
    expect(podSpecOf(find('Job', 'acme-migrate')).containers[0].image).toBe('registry.acme.test/shop/acme-api:abc1234');
    expect(podSpecOf(find('Deployment', 'redis')).nodeSelector).toBeUndefined();
  });

  test('routes only its host and ships metrics only to its own endpoint', () => {
    expect(find('Ingress', 'acme').spec.rules.map((r: any) => r.host)).toEqual(['api.acme.test']);
    expect(podSpecOf(find('Deployment', 'vmagent')).containers[0].args).toContain('-remoteWrite.url=https://metrics.acme.test/api/v1/write');
  });

  test('runs 2 api replicas with a PodDisruptionBudget keeping 1', () => {
    expect(find('Deployment', 'api').spec.replicas).toBe(2);
    expect(find('PodDisruptionBudget', 'api-pdb').spec.minAvailable).toBe(1);
  });

  test('gives every Deployment and Job but Redis its egress policy; the default deny holds Redis, which dials nothing', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const selects = (p: any, podLabels: Record<string, string>) => {
      const wanted = Object.entries(p.spec.podSelector.matchLabels ?? {});
      return wanted.length > 0 && wanted.every(([k, v]) => podLabels[k] === v);
    };
    const uncovered = objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
      .filter((o) => !policies.some((p) => p.spec.policyTypes?.includes('Egress') && selects(p, o.spec.template.metadata.labels)))
      .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(uncovered).toEqual(['Deployment/redis']);
    const deny = find('NetworkPolicy', 'default-deny');
    expect([deny.spec.podSelector, deny.spec.policyTypes]).toEqual([{}, ['Ingress', 'Egress']]);
  });

  test('passes the manifest check', () => {
    const checked = path.join(work, 'checked');
    fs.mkdirSync(path.join(checked, 'acme'), { recursive: true });
    for (const f of fs.readdirSync(path.join(consumer, 'dist'))) fs.copyFileSync(path.join(consumer, 'dist', f), path.join(checked, 'acme', f));
    const emptyExemptions = path.join(work, 'exemptions.yaml');
    fs.writeFileSync(emptyExemptions, 'exemptions: []\n');
    const report = run(NODE_TS, ['bin/check.ts', checked, '--exemptions', emptyExemptions], REPO);
    expect(report).toMatch(/ 0 failed/);
  });
});
