/**
 * k3s's Traefik, configured through the cluster's one kube-system/traefik
 * HelmChartConfig, and the committed dist/ applied with plain kubectl. The
 * helm-controller is simulated as the real one behaves
 * (../shared/reference/k3s/helm-controller/chart.go): it replaces
 * helm-install-traefik only when the values or the failurePolicy change, and
 * the Job retries up to 1000 times. The tests of this file share that one
 * object, so they run in order, in this one file.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { repoRoot, TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(300_000);

let env: TestEnvironment;
beforeAll(() => {
  env = new TestEnvironment('traefik', { config: [[['traefik', 'enabled'], true]] });
  env.prepare();
});
afterAll(() => {
  env.kubectl.try(['annotate', 'namespace', 'kube-system', 'sim.honeydue.io/helm-install-traefik-']);
  env.remove();
});

const jobUid = () => env.get<any>('job', 'helm-install-traefik', 'kube-system').metadata.uid as string;

test('a new values content waits for the helm-controller\'s new Job and the DaemonSet, then deploys the app', async () => {
  const before = jobUid();

  const run = await env.deploy(env.release());

  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/==> step \d+: wait for the Traefik upgrade \(Job kube-system\/helm-install-traefik, then daemonset\/traefik\)/);
  const job = env.get<any>('job', 'helm-install-traefik', 'kube-system');
  expect(run.calls).toContain(`get pods -n kube-system -l batch.kubernetes.io/controller-uid=${job.metadata.uid} -o 'jsonpath={range .items[*]}{.status.phase}:{.status.containerStatuses[*].restartCount}{"\\n"}{end}'`);
  expect(job.metadata.uid).not.toBe(before);
  expect(job.status.succeeded).toBe(1);
  // The Job carries the hash of the values the deploy applied, as helm-controller stamps it (hashObjects
  // over the values Secret's data, which the unstructured converter spells in base64).
  const values = env.get<any>('helmchartconfig', 'traefik', 'kube-system').spec.valuesContent as string;
  expect(job.spec.template.metadata.annotations['helmcharts.helm.cattle.io/configHash']).toBe(
    `SHA256=${createHash('sha256').update('HelmChartConfigValuesContent').update(Buffer.from(values).toString('base64')).digest('hex').toUpperCase()}`,
  );
});

test('a change of the HelmChartConfig\'s metadata only starts no Job, and the deploy does not wait for one', async () => {
  const before = jobUid();
  const dist = env.synth();
  const file = join(dist, '25-traefik.yaml');
  const config = parse(readFileSync(file, 'utf8'));
  config.metadata.annotations = { ...(config.metadata.annotations ?? {}), 'honeydue.io/reviewed-by': 'ops' };
  writeFileSync(file, stringify(config));

  const run = await env.deploy(['--manifests', dist]);

  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/~ +update +kube-system +HelmChartConfig\/traefik/);
  expect(run.stdout).toContain("the HelmChartConfig's values and failurePolicy are unchanged: k3s starts no helm-install Job");
  expect(run.calls.some((call) => call.includes('controller-uid'))).toBe(false);
  expect(jobUid()).toBe(before);
});

test('a failing Traefik upgrade stops the deploy at the first failed pod, although the Job never says Failed', async () => {
  env.kubectl(['annotate', '--overwrite', 'namespace', 'kube-system', 'sim.honeydue.io/helm-install-traefik=fail']);
  env.writeConfig({ config: [[['traefik', 'enabled'], true], [['traefik', 'forwardedHeadersTrustedIps'], ['173.245.48.0/20']]] });

  const run = await env.deploy(env.release());

  env.kubectl(['annotate', 'namespace', 'kube-system', 'sim.honeydue.io/helm-install-traefik-']);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain("the Traefik upgrade failed: the pod of Job kube-system/helm-install-traefik failed (the helm-controller's Job restarts it and retries up to 1000 times");
  // What the cluster recorded: a restarting pod, a Job that neither failed nor counts a failure.
  const job = env.get<any>('job', 'helm-install-traefik', 'kube-system');
  expect(job.spec.backoffLimit).toBe(1000);
  expect(job.status.failed ?? 0).toBe(0);
  expect((job.status.conditions ?? []).map((c: { type: string }) => c.type)).not.toContain('Failed');
  const pods = env.kubectl.json<{ items: any[] }>(['get', 'pods', '-n', 'kube-system', '-l', `batch.kubernetes.io/controller-uid=${job.metadata.uid}`]).items;
  expect(pods[0].status.containerStatuses[0].restartCount).toBeGreaterThanOrEqual(1);
  // Stopped before the app: the api still runs the release of the first test.
  expect(env.get<any>('deployment', 'api').metadata.generation).toBe(1);
});

test('a plain kubectl apply --server-side -f dist/production/ creates every object in one pass', () => {
  const dist = join(repoRoot, 'dist', 'production');
  try {
    const applied = env.kubectl.try(['apply', '--server-side', '--force-conflicts', '-f', dist]);

    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const names = applied.stdout.trim().split('\n');
    const objects = env.kubectl(['get', '-f', dist, '-o', 'name']).trim().split('\n');
    expect(names).toHaveLength(objects.length);
    expect(names.every((line) => line.endsWith('serverside-applied'))).toBe(true);
  } finally {
    env.kubectl.try(['delete', 'namespace', 'honeydue', '--wait=false']);
  }
});
