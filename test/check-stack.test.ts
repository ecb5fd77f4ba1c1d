/**
 * The checker on what the constructs really synthesize, and as synth's beforeWrite
 * hook: the production config and its variants (HPA on, web enabled) pass with zero
 * findings, and a failing check stops synth with dist/ untouched.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { auditManifests, checkRenderedFiles, loadManifestSets } from '../app/check';
import { renderEnvironment, synthesize } from '../app/synth';

const ROOT = path.join(__dirname, '..');
const quiet = () => undefined;

/**
 * Production as it would render with one setting changed, to check: each holds
 * production's data (and the earlier variants'), shares its file declares (docs/environments.md).
 */
const sharesWith = (...envs: string[]) => {
  const list = `[${envs.join(', ')}]`;
  // Everything declared shared; the cluster's one Traefik, which no share covers, left to production.
  return `shares: { database: ${list}, bucket: ${list}, ingressHost: ${list}, namespace: ${list} }\ntraefik: { enabled: false }\n`;
};

/** A scratch config folder: production plus layered variants of it. */
function configs(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-check-'));
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir);
  fs.copyFileSync(path.join(ROOT, 'config', 'production.yaml'), path.join(configDir, 'production.yaml'));
  fs.writeFileSync(path.join(configDir, 'autoscaled.yaml'),
    `extends: production\n${sharesWith('production')}api:\n  autoscaling: { minReplicas: 3, maxReplicas: 6, cpuUtilization: 70, memoryUtilization: 80 }\n`);
  fs.writeFileSync(path.join(configDir, 'with-web.yaml'), `extends: production\n${sharesWith('production', 'autoscaled')}web:\n  enabled: true\n`);
  return configDir;
}

function digest(dir: string): string {
  const hash = crypto.createHash('sha256');
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(path.relative(dir, full)).update(fs.readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

test('the committed dist/ passes with zero findings and nothing waived', () => {
  const report = auditManifests(loadManifestSets(path.join(ROOT, 'dist')));
  expect(report.findings).toEqual([]);
  expect(report.failed).toBe(0);
  expect(report.waived).toEqual([]);
  // vmagent, the one pod with API credentials, holds the no-automount rule without a waiver.
  const pods = report.byRule.get('hygiene/service-account-token');
  expect(pods?.failed).toBe(0);
  expect(pods?.passed).toBeGreaterThanOrEqual(6);
});

test.each([
  ['production', 'wiring/pdb-blocks-drain', 5],
  ['autoscaled', 'wiring/hpa-target', 1],
  ['with-web', 'wiring/service-selector', 4],
])('the %s environment as synthesized passes every check (%s: %i checks)', (env, rule, times) => {
  const files = renderEnvironment(env, { configDir: configs() });
  const report = checkRenderedFiles(files);
  expect(report.findings).toEqual([]);
  expect(report.failed).toBe(0);
  expect(report.byRule.get(rule)).toEqual({ passed: times, failed: 0 });
});

test('as synth\'s beforeWrite hook, a failing check stops synth, prints the findings and the count, and leaves dist/ as it was', () => {
  const configDir = configs();
  const outDir = path.join(path.dirname(configDir), 'dist');
  synthesize({ configDir, envs: ['production'], outDir, log: quiet, beforeWrite: (files) => { checkRenderedFiles(files); } });
  const before = digest(outDir);
  const breakApi = (files: any[]) => {
    const api = files.flatMap((f) => f.objects).find((o) => o.kind === 'Deployment' && o.metadata.name === 'api');
    api.spec.template.spec.containers[0].securityContext.runAsUser = 0;
    checkRenderedFiles(files);
  };
  expect(() => synthesize({ configDir, envs: ['production'], outDir, imageTag: 'abcdef9', log: quiet, beforeWrite: breakApi })).toThrow(
    /manifest check failed:\ndist\/production\/40-api\.yaml: Deployment honeydue\/api spec\.template\.spec\.containers\[0\]\.securityContext\.runAsUser: .*\[pss\/run-as-user\]\n(waived: .*\n)*\d+ passed, 1 failed\n$/,
  );
  expect(digest(outDir)).toBe(before);
});
