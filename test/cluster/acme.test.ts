/**
 * The README's acme example on the real control plane: its output, in the
 * order `app.synth()` wrote it, taken by one plain `kubectl apply` into an
 * empty cluster, with nothing created by hand first. The example is read
 * from the README (test/acme-example.ts) and built from this repository's
 * constructs: test/package.test.ts proves the packed library builds the same.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { acmeExample } from '../acme-example';
import { NODE_TS } from '../node-ts';
import { kubectlFor, repoRoot, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(120_000);

const kubectl = kubectlFor();
let outdir: string;
let objects: any[];
let applied: ReturnType<typeof kubectl.try>;

beforeAll(() => {
  const work = mkdtempSync(join(tmpdir(), 'acme-cluster-'));
  outdir = join(work, 'dist');
  const example = acmeExample(readFileSync(join(repoRoot, 'README.md'), 'utf8')).replace("from 'honeydue-k8s'", `from '${join(repoRoot, 'constructs')}'`);
  writeFileSync(join(work, 'main.ts'), example);
  execFileSync(NODE_TS, [join(work, 'main.ts')], { env: { ...process.env, CDK8S_OUTDIR: outdir }, stdio: 'pipe' });
  objects = readdirSync(outdir).sort().flatMap((f) => parseAllDocuments(readFileSync(join(outdir, f), 'utf8')).map((d) => d.toJS()));
  // One pass, in the files' order: no namespace made first, no retry.
  applied = kubectl.try(['apply', '--server-side', '--field-manager=acme', '-f', outdir]);
});
afterAll(() => {
  kubectl.try(['delete', 'namespace', 'acme', '--wait=false']);
});

test('one plain kubectl apply takes the whole output into an empty cluster', () => {
  expect(objects[0].kind).toBe('Namespace');
  expect(objects.length).toBeGreaterThan(20);
  expect([applied.code, applied.stderr]).toEqual([0, '']);
  expect(applied.stdout.trim().split('\n')).toHaveLength(objects.length);
});

test('the cluster recorded every object of the output, each in its namespace', () => {
  const missing = objects.filter((o) => {
    const ns = o.metadata.namespace ? ['-n', o.metadata.namespace] : [];
    return kubectl.try(['get', `${o.kind}.${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''}`.replace(/\.$/, ''), o.metadata.name, ...ns]).code !== 0;
  });
  expect(missing.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
});

test('the Namespace enforces Pod Security restricted, and the API server admitted every pod template of the output under it', () => {
  const namespace = kubectl.json<any>(['get', 'namespace', 'acme']);
  expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  // A template that broke `restricted` would have drawn a warning from the apply.
  expect(applied.stderr).not.toMatch(/violate PodSecurity/);
  const deny = kubectl.json<any>(['get', 'networkpolicy', 'default-deny', '-n', 'acme']);
  expect(deny.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  const ingress = kubectl.json<any>(['get', 'ingress', 'acme', '-n', 'acme']);
  expect(ingress.spec.rules.map((r: any) => r.host)).toEqual(['api.acme.test', 'admin.acme.test']);
});
