/**
 * The deploy finds the stack's objects by the labels the environment's config
 * sets (`labels`, `environmentLabel`), not by honeyDue's: another product's
 * config deploys, lists and prunes by its own words.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseDocument, stringify } from 'yaml';
import { fixtureConfig, release, Release, runDeploy, sandbox, useDeployFixtures } from './deploy-helpers';

useDeployFixtures();

const ACME_LABELS = { 'app.kubernetes.io/part-of': 'acme', 'app.kubernetes.io/managed-by': 'acme-deploy', team: 'payments' };
const ACME_ENV_LABEL = 'acme.example/environment';
const ACME_SELECTOR = 'app.kubernetes.io/part-of=acme,app.kubernetes.io/managed-by=acme-deploy,team=payments,acme.example/environment=production';

/** The fixture config with another product's labels (or, with `environmentLabel: null`, without an environment label). */
function acmeConfig(environmentLabel: string | null = ACME_ENV_LABEL): string {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-labels-config-'));
  const doc = parseDocument(readFileSync(join(fixtureConfig, 'production.yaml'), 'utf8'));
  doc.set('labels', ACME_LABELS);
  if (environmentLabel === null) doc.delete('environmentLabel');
  else doc.set('environmentLabel', environmentLabel);
  writeFileSync(join(dir, 'production.yaml'), doc.toString());
  return dir;
}

const configDir = acmeConfig();
let acme: Release;
beforeAll(() => {
  acme = new Release(configDir);
});
afterAll(() => {
  acme.remove();
  rmSync(configDir, { recursive: true, force: true });
});

/** The listings of the stack's objects by label (a Job's pods are selected by the labels the Job controller sets on them). */
const listings = (lines: readonly string[]) => lines.filter((line) => line.startsWith('get ') && !line.startsWith('get pods ') && line.includes(' -l '));

test('reviewed files of another product are listed for prune by its config\'s labels and environment label', async () => {
  const run = await runDeploy(sandbox, ['--manifests', acme.arg], { configDir });

  expect(run.code).toBe(0);
  expect(run.stderr).toBe('');
  const selectors = listings(run.lines).map((line) => line.split(' -l ')[1].split(' ')[0]);
  expect(selectors.length).toBeGreaterThan(0);
  for (const selector of selectors) expect(selector).toBe(ACME_SELECTOR);
  // The field manager names the deploy tool, whichever product it deploys: fields earlier deploys own stay owned.
  expect(run.lines.filter((line) => line.startsWith('apply --server-side')).every((line) => line.includes('--field-manager=honeydue-k8s'))).toBe(true);
});

test('a synthesized release of another product is listed by the same labels', async () => {
  const run = await runDeploy(sandbox, ['--env', 'production', '--tag', 'abc1234def'], { configDir });

  expect(run.code).toBe(0);
  for (const line of listings(run.lines)) expect(line).toContain(` -l ${ACME_SELECTOR} `);
});

test('prune deletes only objects with the product\'s labels: an object with honeyDue\'s labels is not its to delete', async () => {
  const item = (name: string, labels: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'honeydue', labels } });
  const live = join(sandbox.dir, 'live');
  mkdirSync(live);
  writeFileSync(join(live, 'honeydue.json'), JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      item('acme-old', { ...ACME_LABELS, [ACME_ENV_LABEL]: 'production' }),
      item('honeydue-old', { 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s', 'honeydue.io/environment': 'production' }),
      item('acme-staging', { ...ACME_LABELS, [ACME_ENV_LABEL]: 'staging' }),
    ],
  }));
  writeFileSync(join(live, 'kube-system.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));

  const run = await runDeploy(sandbox, ['--manifests', acme.arg], { configDir, scenario: { STANDIN_LIVE_DIR: live } });

  expect(run.code).toBe(0);
  expect(run.lines.filter((line) => line.startsWith('delete service'))).toEqual(['delete service/acme-old -n honeydue --ignore-not-found --wait=false']);
});

test('an object without one of the config\'s labels is deployed with the warning that prune cannot find it', async () => {
  const config = parse(readFileSync(acme.file('config.yaml'), 'utf8'));
  delete config.metadata.labels.team;
  const dir = acme.copy(sandbox, 'no-team', { 'config.yaml': stringify(config) });

  const run = await runDeploy(sandbox, ['--manifests', dir], { configDir });

  expect(run.code).toBe(0);
  expect(run.stderr).toBe(
    'warning: ConfigMap honeydue-config in 10-config.yaml lacks the stack labels; prune will not find it once it leaves the stack\n',
  );
});

test('reviewed files whose environment label no config names are refused before any kubectl call', async () => {
  // honeyDue's release carries honeydue.io/environment; this config folder names environments by acme.example/environment.
  const run = await runDeploy(sandbox, ['--manifests', release.arg], { configDir });

  expect(run.code).toBe(1);
  expect(run.stderr).toContain(
    `the objects in ${release.arg} carry no environment label (the environmentLabel of the configs in ${configDir}: ${ACME_ENV_LABEL}): ` +
      'synthesize again (npm run synth) so the lock and prune know the environment',
  );
  expect(run.calls).toEqual([]);
});

test('a config without environmentLabel is refused before any kubectl call: prune could not tell the environments apart', async () => {
  const bare = acmeConfig(null);
  try {
    const run = await runDeploy(sandbox, ['--env', 'production', '--tag', 'abc1234def'], { configDir: bare });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `${join(bare, 'production.yaml')} sets no environmentLabel: the deploy's lock and prune find production's objects by that label; ` +
        'set it (e.g. environmentLabel: example.com/environment) and synthesize again',
    );
    expect(run.calls).toEqual([]);
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
});

describe('reviewed files of an environment without a config file', () => {
  /** A config folder holding acme's production file under other names, one of them with `labels` replaced. */
  function othersOnly(changedLabels?: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-labels-others-'));
    const text = readFileSync(join(configDir, 'production.yaml'), 'utf8');
    writeFileSync(join(dir, 'qa.yaml'), text);
    if (changedLabels !== undefined) {
      const doc = parseDocument(text);
      doc.set('labels', changedLabels);
      writeFileSync(join(dir, 'preview.yaml'), doc.toString());
    }
    return dir;
  }

  test('take the labels of the configs that name environments by the same label', async () => {
    const others = othersOnly();
    try {
      const run = await runDeploy(sandbox, ['--manifests', acme.arg], { configDir: others });

      expect(run.code).toBe(0);
      for (const line of listings(run.lines)) expect(line).toContain(` -l ${ACME_SELECTOR} `);
    } finally {
      rmSync(others, { recursive: true, force: true });
    }
  });

  test('are refused when those configs set different labels', async () => {
    const others = othersOnly({ 'app.kubernetes.io/part-of': 'acme-preview' });
    try {
      const run = await runDeploy(sandbox, ['--manifests', acme.arg], { configDir: others });

      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `production has no config file in ${others}, and the configs that name environments by the same label set different labels: ` +
          `add ${join(others, 'production.yaml')} so the deploy knows the stack's labels`,
      );
      expect(run.calls).toEqual([]);
    } finally {
      rmSync(others, { recursive: true, force: true });
    }
  });
});
