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
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { acmeExample } from './acme-example';
import { NODE_TS } from './node-ts';

const REPO = path.resolve(__dirname, '..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const CDK8S = path.join(REPO, 'node_modules', '.bin', 'cdk8s');
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
  // The acme example of the packed README, as a consumer copies it: another product, nothing of honeyDue passed in.
  fs.writeFileSync(path.join(consumer, 'main.ts'), acmeExample(fs.readFileSync(path.join(installed, 'README.md'), 'utf8')));
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

/** A consumer's app with one careless Deployment: privileged, as plain JavaScript. */
const PRIVILEGED_APP = `
const { ApiObject, App, Chart } = require('cdk8s');
const app = new App();
const chart = new Chart(app, 'legacy', { namespace: 'legacy', disableResourceNameHashes: true });
new ApiObject(chart, 'legacy', {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'legacy' },
  spec: {
    selector: { matchLabels: { app: 'legacy' } },
    template: { metadata: { labels: { app: 'legacy' } }, spec: { containers: [{ name: 'legacy', image: 'registry.acme.test/legacy:1.0', securityContext: { privileged: true } }] } },
  },
});
app.synth();
`;

/**
 * The real `cdk8s synth` in the consumer, with the package's plugin named in
 * its cdk8s.yaml as the README says (a local path: offline), and `app` as its command.
 */
function cdk8sSynth(app: string) {
  const version = JSON.parse(fs.readFileSync(path.join(consumer, 'node_modules', 'honeydue-k8s', 'package.json'), 'utf8')).version;
  fs.writeFileSync(path.join(consumer, 'cdk8s.yaml'), YAML.stringify({
    language: 'typescript', app, output: 'cdk8s.out',
    validations: [{ package: './node_modules/honeydue-k8s', version, class: 'ManifestCheck' }],
  }));
  return spawnSync(CDK8S, ['synth', '--no-check-upgrade'], { cwd: consumer, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
}

/** What an object needs applied before it, as `[kind, name]`: its Namespace, what its pods read, an Ingress's Services, the deny's allows. */
function needsOf(o: any): [string, string][] {
  const needs: [string, string][] = o.metadata.namespace ? [['Namespace', o.metadata.namespace]] : [];
  const pod = o.spec?.template?.spec;
  if (pod) {
    if (pod.serviceAccountName) needs.push(['ServiceAccount', pod.serviceAccountName]);
    for (const c of pod.containers) {
      for (const from of c.envFrom ?? []) if (from.configMapRef) needs.push(['ConfigMap', from.configMapRef.name]);
      for (const env of c.env ?? []) if (env.valueFrom?.configMapKeyRef) needs.push(['ConfigMap', env.valueFrom.configMapKeyRef.name]);
    }
    for (const v of pod.volumes ?? []) {
      if (v.persistentVolumeClaim) needs.push(['PersistentVolumeClaim', v.persistentVolumeClaim.claimName]);
      if (v.configMap) needs.push(['ConfigMap', v.configMap.name]);
    }
  }
  if (o.kind === 'Ingress') for (const rule of o.spec.rules) for (const p of rule.http.paths) needs.push(['Service', p.backend.service.name]);
  if (o.kind === 'NetworkPolicy' && o.metadata.name === 'default-deny') {
    for (const other of objects) if (other.kind === 'NetworkPolicy' && other !== o) needs.push(['NetworkPolicy', other.metadata.name]);
  }
  return needs;
}

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
    // A scoped name (@kubernetes-models/apimachinery) sits in its scope's folder.
    fs.mkdirSync(path.dirname(path.join(nodeModules, name)), { recursive: true });
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

  test("puts every object but the Namespace in the Chart's namespace; the cluster-scoped Namespace has none", () => {
    expect(objects.length).toBeGreaterThan(10);
    expect(objects.filter((o) => o.metadata.namespace !== 'acme').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Namespace/acme']);
    expect(find('Namespace', 'acme').metadata).not.toHaveProperty('namespace');
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

  test('routes only its hosts and ships metrics only to its own endpoint', () => {
    expect(find('Ingress', 'acme').spec.rules.map((r: any) => r.host)).toEqual(['api.acme.test', 'admin.acme.test']);
    expect(podSpecOf(find('Deployment', 'vmagent')).containers[0].args).toContain('-remoteWrite.url=https://metrics.acme.test/api/v1/write');
  });

  test('runs 2 api replicas with a PodDisruptionBudget keeping 1', () => {
    expect(find('Deployment', 'api').spec.replicas).toBe(2);
    expect(find('PodDisruptionBudget', 'api-pdb').spec.minAvailable).toBe(1);
  });

  test('gives every Deployment and Job but Redis and the admin its egress policy; the default deny holds those two, which dial nothing', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const selects = (p: any, podLabels: Record<string, string>) => {
      const wanted = Object.entries(p.spec.podSelector.matchLabels ?? {});
      return wanted.length > 0 && wanted.every(([k, v]) => podLabels[k] === v);
    };
    const uncovered = objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
      .filter((o) => !policies.some((p) => p.spec.policyTypes?.includes('Egress') && selects(p, o.spec.template.metadata.labels)))
      .map((o) => `${o.kind}/${o.metadata.name}`);
    expect(uncovered).toEqual(['Deployment/redis', 'Deployment/admin']);
    const deny = find('NetworkPolicy', 'default-deny');
    expect([deny.spec.podSelector, deny.spec.policyTypes]).toEqual([{}, ['Ingress', 'Egress']]);
  });

  test('is the complete product: Namespace, ConfigMap, Redis, api, worker, migrate Job, Next.js admin, Ingress, NetworkPolicies', () => {
    for (const [kind, name] of [
      ['Namespace', 'acme'], ['ConfigMap', 'acme-config'], ['Deployment', 'redis'], ['Deployment', 'api'], ['Deployment', 'worker'],
      ['Job', 'acme-migrate'], ['Deployment', 'admin'], ['Ingress', 'acme'], ['NetworkPolicy', 'default-deny'], ['NetworkPolicy', 'admin-ingress-traefik'],
    ]) expect(find(kind, name).kind).toBe(kind);
    expect(podSpecOf(find('Deployment', 'admin')).containers[0].env).toContainEqual({
      name: 'NEXT_PUBLIC_API_URL', valueFrom: { configMapKeyRef: { name: 'acme-config', key: 'NEXT_PUBLIC_API_URL' } },
    });
  });

  test('builds its Namespace last and writes it first, and every object after what it needs', () => {
    const example = fs.readFileSync(path.join(consumer, 'main.ts'), 'utf8');
    const built = [...example.matchAll(/new (\w+)\(chart,/g)].map((m) => m[1]);
    expect(built[built.length - 1]).toBe('HoneydueNamespace');
    expect(objects[0].kind).toBe('Namespace');
    const at = (kind: string, name: string) => objects.findIndex((o) => o.kind === kind && o.metadata.name === name);
    const misordered: string[] = [];
    objects.forEach((o, index) => {
      for (const [kind, name] of needsOf(o)) {
        if (at(kind, name) < 0 || at(kind, name) > index) misordered.push(`${o.kind}/${o.metadata.name} before ${kind}/${name}`);
      }
    });
    // Not vacuous: pods need their ServiceAccount, ConfigMap and claim, the Ingress its Services, the deny its allows.
    expect(objects.flatMap(needsOf).length).toBeGreaterThan(30);
    expect(misordered).toEqual([]);
  });

  test("refuses to build when the ConfigMap lacks the key the Next.js admin reads", () => {
    const compiled = fs.readFileSync(path.join(consumer, 'out', 'main.js'), 'utf8');
    const without = compiled.replace(/NEXT_PUBLIC_API_URL: 'https:\/\/api\.acme\.test',?/, '');
    expect(without).not.toBe(compiled);
    fs.writeFileSync(path.join(consumer, 'out', 'without-api-url.js'), without);
    const result = spawnSync(process.execPath, ['out/without-api-url.js'], { cwd: consumer, encoding: 'utf8', env: { ...process.env, CDK8S_OUTDIR: path.join(work, 'without-api-url') } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/NextjsApp: .*NEXT_PUBLIC_API_URL/);
  });

  test('passes the check of `cdk8s synth`, the validation plugin of the package, named in its cdk8s.yaml', () => {
    const result = cdk8sSynth('node out/main.js');
    expect([result.status, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/Validation Report \(.*honeydue-k8s@0\.1\.0\)/);
    expect(result.stdout).toMatch(/Status\s*│\s*success/);
    expect(result.stdout).toContain('Validations ended succesfully');
  });

  test("has `cdk8s synth` refuse a privileged pod, naming the rule, the object and its construct", () => {
    fs.writeFileSync(path.join(consumer, 'privileged.js'), PRIVILEGED_APP);
    const result = cdk8sSynth('node privileged.js');
    expect(result.status).not.toBe(0);
    expect(result.stdout).toContain('pss/privileged');
    expect(result.stdout).toContain('Construct Path: legacy/legacy');
    expect(result.stdout).toContain('Resource Name: legacy');
    expect(result.stdout).toMatch(/Deployment legacy\/legacy spec\.template\.spec\.containers\[0\]\.securityContext\.privileged: /);
    expect(result.stderr).toContain('Validation failed');
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
