import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { fingerprint } from './helpers';
import { renderEnvironment, synthesize } from '../app/synth';
import { runSynth } from '../app/synth-cli';
import { listEnvironments } from '../app/config';

const ROOT = path.join(__dirname, '..');
const productionYaml = fs.readFileSync(path.join(ROOT, 'config', 'production.yaml'), 'utf8');

/** A scratch folder with config/production.yaml and an output folder. */
function workspace() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-synth-'));
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir);
  fs.writeFileSync(path.join(configDir, 'production.yaml'), productionYaml);
  return { configDir, outDir: path.join(dir, 'dist') };
}


const quiet = () => undefined;

test('writes one file per concern under dist/<env>/', () => {
  const { configDir, outDir } = workspace();
  synthesize({ configDir, outDir, log: quiet });
  expect(Object.keys(fingerprint(outDir)).sort()).toEqual(
    ['admin', 'api', 'config', 'ingress', 'migrate', 'namespace', 'network-policy', 'observability', 'redis', 'traefik', 'worker'].map((f) => `production/${f}.yaml`),
  );
});

test('a failed synth (bad config) leaves the previous output byte for byte intact', () => {
  const { configDir, outDir } = workspace();
  synthesize({ configDir, outDir, log: quiet });
  const before = fingerprint(outDir);
  const config = YAML.parse(productionYaml);
  config.worker.replicas = 2;
  fs.writeFileSync(path.join(configDir, 'production.yaml'), YAML.stringify(config));
  expect(() => synthesize({ configDir, outDir, log: quiet })).toThrow(/worker\.replicas: must be 1: Asynq's Scheduler is not leader-elected.*\(got 2\)/);
  expect(fingerprint(outDir)).toEqual(before);
  expect(fs.readdirSync(path.dirname(outDir)).filter((f) => f.includes('staging') || f.includes('retired'))).toEqual([]);
});

test('a failed check before writing leaves the previous output intact', () => {
  const { configDir, outDir } = workspace();
  synthesize({ configDir, outDir, log: quiet });
  const before = fingerprint(outDir);
  expect(() => synthesize({ configDir, outDir, imageTag: 'abcdef9', log: quiet, beforeWrite: () => { throw new Error('check failed'); } })).toThrow('check failed');
  expect(fingerprint(outDir)).toEqual(before);
});

test('the synth command exits non-zero naming the field and leaves dist/ intact', () => {
  const { configDir, outDir } = workspace();
  synthesize({ configDir, outDir, log: quiet });
  const before = fingerprint(outDir);
  fs.writeFileSync(path.join(configDir, 'production.yaml'), productionYaml.replace('maxMemory: 256mb', 'maxMemory: 256Mi'));
  const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'main.ts', '--config', configDir, '--out', outDir], { cwd: ROOT, encoding: 'utf8' });
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/redis\.maxMemory: '256Mi' is not a Redis size; write it like '256mb' or '1gb' \(got "256Mi"\)/);
  expect(run.stderr).toContain(`${outDir} was left as it was`);
  expect(fingerprint(outDir)).toEqual(before);
});

test('--tag pins every honeyDue image; --env replaces only that environment', () => {
  const { configDir, outDir } = workspace();
  // Its own namespace, hosts, database and bucket: nothing it holds is production's.
  fs.writeFileSync(path.join(configDir, 'other.yaml'), [
    'extends: production',
    'namespace: other',
    'domains: { apex: other.example.com, api: api.other.example.com, admin: admin.other.example.com }',
    'database: { name: other }',
    'storage: { bucket: other-bucket }',
    '',
  ].join('\n'));
  synthesize({ configDir, outDir, log: quiet });
  const otherBefore = fingerprint(path.join(outDir, 'other'));
  const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'main.ts', '--config', configDir, '--out', outDir, '--env', 'production', '--tag', 'fedcba9876'], { cwd: ROOT, encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(fs.readFileSync(path.join(outDir, 'production', 'api.yaml'), 'utf8')).toContain('honeydue-api:fedcba9876');
  expect(fingerprint(path.join(outDir, 'other'))).toEqual(otherBefore);
});

test('the committed dist/ is what synth makes from the committed sources', () => {
  for (const env of listEnvironments()) {
    for (const file of renderEnvironment(env)) {
      expect(fs.readFileSync(path.join(ROOT, 'dist', file.relativePath), 'utf8')).toBe(file.content);
    }
    const committed = fs.readdirSync(path.join(ROOT, 'dist', env)).sort();
    expect(committed).toEqual(renderEnvironment(env).map((f) => path.basename(f.relativePath)).sort());
  }
});

test('the synth command runs the manifest check on what it is about to write', () => {
  const { configDir, outDir } = workspace();
  const lines: string[] = [];
  const exitCode = runSynth(['--config', configDir, '--out', outDir], { out: (line) => lines.push(line), err: (line) => lines.push(line) });
  expect(exitCode).toBe(0);
  expect(lines.join('\n')).toMatch(/check: [1-9]\d* passed, 0 failed/);
});
