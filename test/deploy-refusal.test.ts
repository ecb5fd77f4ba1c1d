/**
 * An environment marked not deployable (staging, until it has its own database and
 * bucket) is refused before the deploy contacts the cluster, synthesized or as
 * reviewed files; synth still writes it for review.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesize } from '../app/synth';
import { fixtureConfig, health, repoRoot, runDeploy, Sandbox } from './deploy-helpers';

const configDir = mkdtempSync(join(tmpdir(), 'deploy-refusal-config-'));
cpSync(fixtureConfig, configDir, { recursive: true });
// The repository's staging: its own namespace and hosts, its declared shares, deploy.enabled false.
writeFileSync(join(configDir, 'staging.yaml'), readFileSync(join(repoRoot, 'config', 'staging.yaml'), 'utf8'));
const reason = /environment 'staging' is not deployable \(deploy\.enabled: false, set in .*staging\.yaml\): staging has no database or B2 bucket of its own: .*; nothing was run against the cluster/;

let sandbox: Sandbox;
beforeAll(() => health.start());
beforeEach(() => (sandbox = new Sandbox()));
afterEach(() => sandbox.remove());
afterAll(async () => {
  rmSync(configDir, { recursive: true, force: true });
  await health.stop();
});

test('--env staging refuses with the config\'s reason before synthesizing or calling kubectl', async () => {
  const run = await runDeploy(sandbox, ['--env', 'staging', '--tag', 'abc1234def'], { configDir });
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(reason);
  expect(run.calls).toEqual([]);
  expect(run.stdout).not.toMatch(/check: \d+ passed/);
});

test('a --dry-run of staging is refused the same way', async () => {
  const run = await runDeploy(sandbox, ['--env', 'staging', '--tag', 'abc1234def', '--dry-run'], { configDir });
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(reason);
  expect(run.calls).toEqual([]);
});

test('--manifests of staging\'s reviewed files is refused, read from their environment label', async () => {
  const out = join(sandbox.dir, 'dist');
  synthesize({ envs: ['staging'], outDir: out, configDir, log: () => undefined });
  const run = await runDeploy(sandbox, ['--manifests', join(out, 'staging')], { configDir });
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(reason);
  expect(run.calls).toEqual([]);
});

test('production in the same config folder still deploys', async () => {
  const run = await runDeploy(sandbox, ['--env', 'production', '--tag', 'abc1234def'], { configDir });
  expect(run.stderr).not.toMatch(/not deployable/);
  expect(run.code).toBe(0);
});
