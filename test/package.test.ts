/**
 * The library as another project meets it: `npm pack`, install the tarball
 * into a fresh project, compile a cdk8s app against the published `.d.ts`
 * with non-default props, run it, read what it wrote.
 *
 * Offline by construction: the tarball is unpacked where npm would put it
 * and its declared dependencies and peers are linked from this repo's
 * node_modules. Only what package.json declares is linked, so a runtime
 * import the manifest forgot fails here, as it would for a user.
 * Slow (a build, a pack and a tsc run: about 15 s); every other test is fast.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

const REPO = path.resolve(__dirname, '..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

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
      // node16 resolution honours `exports`, as a current TypeScript consumer does.
      compilerOptions: { target: 'ES2022', module: 'node16', moduleResolution: 'node16', strict: true, outDir: 'out', skipLibCheck: false, types: [] },
      files: ['main.ts'],
    }),
  );
  fs.writeFileSync(path.join(consumer, 'main.ts'), CONSUMER_APP);
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

/** A user's app: the stack under another name, registry, domains and api size. */
const CONSUMER_APP = `
import { App } from 'cdk8s';
import { HoneydueStack, HoneydueStackProps, PART_OF } from 'honeydue-k8s';

const props: HoneydueStackProps = {
  imageTag: 'abc1234',
  namespace: 'shop',
  registry: 'registry.example.com/team',
  imagePullSecret: 'team-registry',
  domains: { apex: 'example.org', api: 'api.example.org', admin: 'admin.example.org' },
  api: { replicas: 2 },
};
const app = new App({ outdir: 'dist' });
const stack = new HoneydueStack(app, 'shop', props);
if (stack.api.deployment.metadata.namespace !== 'shop' || PART_OF !== 'honeydue') {
  throw new Error('the exported construct properties do not reach the consumer');
}
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

describe('a consumer app built on the package', () => {
  test('puts every namespaced object in its namespace', () => {
    expect(find('Namespace', 'shop').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // Traefik's HelmChartConfig belongs in kube-system, where k3s' helm-controller reads it.
    const elsewhere = objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'shop');
    expect(elsewhere.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['HelmChartConfig kube-system/traefik']);
  });

  test('pulls honeyDue images from its registry at its tag, with its pull Secret', () => {
    for (const [workload, image] of [['api', 'api'], ['worker', 'worker'], ['admin', 'admin']]) {
      const pod = podSpecOf(find('Deployment', workload));
      expect(pod.containers[0].image).toBe(`registry.example.com/team/honeydue-${image}:abc1234`);
      expect(pod.imagePullSecrets).toEqual([{ name: 'team-registry' }]);
    }
    expect(podSpecOf(find('Job', 'honeydue-migrate')).containers[0].image).toBe('registry.example.com/team/honeydue-api:abc1234');
    expect(podSpecOf(find('Deployment', 'redis')).containers[0].image).toBe('redis:7-alpine');
  });

  test('serves its domains', () => {
    expect(find('ConfigMap', 'honeydue-config').data.NEXT_PUBLIC_API_URL).toBe('https://api.example.org/api');
    const hosts = objects.filter((o) => o.kind === 'Ingress').flatMap((o) => o.spec.rules.map((r: any) => r.host));
    // The Ingress arrives with the edge constructs; once it does, it routes only the consumer's hosts.
    for (const host of hosts) expect(host).toMatch(/(^|\.)example\.org$/);
  });

  test('runs 2 api replicas with a PodDisruptionBudget keeping 1', () => {
    expect(find('Deployment', 'api').spec.replicas).toBe(2);
    expect(find('PodDisruptionBudget', 'api-pdb').spec.minAvailable).toBe(1);
    expect(find('PodDisruptionBudget', 'worker-pdb').spec.minAvailable).toBe(0);
  });
});
