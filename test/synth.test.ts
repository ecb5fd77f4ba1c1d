import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { fingerprint, PRODUCTION } from './helpers';
import { startFakeApiServer } from './fake-apiserver';
import { renderEnvironment, synthesize } from '../app/synth';
import { runSynth } from '../app/synth-cli';
import { listEnvironments } from '../app/config';
import { App, Chart } from 'cdk8s';
import { HoneydueStack } from '../constructs';
import { CONCERNS_IN_ORDER, concernFileName, STACK_CONCERNS, StackConcern } from '../constructs/shared/concerns';
import { DEPLOY_PHASES } from '../app/deploy/manifests';
import { phaseName } from '../app/shared/stack-files';
import { NODE_TS } from './node-ts';

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
    ['00-namespace', '10-config', '15-redis', '20-network-policy', '25-traefik', '30-migrate', '40-api', '45-worker', '50-admin', '60-observability', '90-ingress'].map((f) => `production/${f}.yaml`),
  );
});

describe('files in apply order', () => {
  /** What `kubectl apply -f dist/<env>/` reads: the folder's files in lexical order (it walks the folder, no reordering by kind). */
  const kubectlOrder = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  const objectsOf = (file: string) => YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJS()).filter(Boolean);

  test.each(listEnvironments())('dist/%s/: the first file holds the Namespace and only it; nothing namespaced sorts before it', (env) => {
    const dir = path.join(ROOT, 'dist', env);
    const [first, ...rest] = kubectlOrder(dir);
    expect(first).toBe('00-namespace.yaml');
    const namespaceObjects = objectsOf(path.join(dir, first));
    expect(namespaceObjects.map((o) => o.kind)).toEqual(['Namespace']);
    // Every other object is either namespaced in a namespace that exists by then or cluster-scoped.
    const namespaces = new Set([namespaceObjects[0].metadata.name, 'kube-system']);
    for (const file of rest) {
      for (const object of objectsOf(path.join(dir, file))) {
        expect(object.kind).not.toBe('Namespace');
        expect(namespaces).toContain(object.metadata.namespace);
      }
    }
  });

  /** The real kubectl's plain `apply -f <dir>` against a fresh stand-in cluster (test/fake-apiserver.ts). */
  async function applyToFreshCluster(dir: string) {
    const cluster = await startFakeApiServer();
    try {
      const args = ['--server', cluster.url, 'apply', '--validate=false', '-f', dir];
      const child = spawn('kubectl', args, { env: { ...process.env, KUBECONFIG: '/dev/null' } });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      return { code, output, created: [...cluster.created], refused: [...cluster.refused] };
    } finally {
      await cluster.close();
    }
  }

  test.each(listEnvironments())('kubectl apply -f dist/%s/ creates every object on a fresh cluster in one pass, the Namespace first', async (env) => {
    const dir = path.join(ROOT, 'dist', env);
    const objects = kubectlOrder(dir).flatMap((file) => objectsOf(path.join(dir, file)));
    const run = await applyToFreshCluster(dir);
    expect(run.refused).toEqual([]);
    expect(run.code).toBe(0);
    expect(run.created[0]).toBe(`Namespace ${objects[0].metadata.name}`);
    expect(run.created).toEqual(objects.map((o) => (o.metadata.namespace ? `${o.kind} ${o.metadata.namespace}/${o.metadata.name}` : `${o.kind} ${o.metadata.name}`)));
  });

  test('the same files without their numbers fail that apply: the stand-in cluster refuses what sorts before the Namespace', async () => {
    const unnumbered = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-unnumbered-'));
    for (const file of kubectlOrder(path.join(ROOT, 'dist', 'production'))) {
      fs.copyFileSync(path.join(ROOT, 'dist', 'production', file), path.join(unnumbered, file.replace(/^\d\d-/, '')));
    }
    const run = await applyToFreshCluster(unnumbered);
    fs.rmSync(unnumbered, { recursive: true, force: true });
    expect(run.code).toBe(1);
    expect(run.refused[0]).toBe('ServiceAccount honeydue/admin: namespaces "honeydue" not found');
    expect(run.output).toContain('namespaces "honeydue" not found');
  });

  test('production sorts namespace, config, redis, network-policy, traefik, migrate, api, worker, admin, observability, ingress', () => {
    expect(kubectlOrder(path.join(ROOT, 'dist', 'production'))).toEqual([
      '00-namespace.yaml', '10-config.yaml', '15-redis.yaml', '20-network-policy.yaml', '25-traefik.yaml', '30-migrate.yaml',
      '40-api.yaml', '45-worker.yaml', '50-admin.yaml', '60-observability.yaml', '90-ingress.yaml',
    ]);
  });

  test('a plain apply and the deploy take the files in the same order: DEPLOY_PHASES is the lexical order of every concern', () => {
    // DEPLOY_PHASES names files without the prefix (phaseName); numbered, they sort as the phases run.
    const phased = Object.values(DEPLOY_PHASES).flat().map((name) => concernFileName(name.replace(/\.yaml$/, '') as StackConcern));
    expect(phased).toEqual(CONCERNS_IN_ORDER.map(concernFileName));
    expect(phased).toEqual([...phased].sort());
    expect(Object.values(DEPLOY_PHASES).flat().map(phaseName)).toEqual(Object.values(DEPLOY_PHASES).flat());
    expect(concernFileName('web')).toBe('55-web.yaml');
  });

  test('every chart of the stack is a concern with its place in the order, and the numbers are two digits, rising', () => {
    const numbers = Object.values(STACK_CONCERNS);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) expect(n).toBeLessThan(100);
    const charts = new HoneydueStack(new App(), 'all', { ...PRODUCTION, imageTag: 'abcdef9', web: { enabled: true } })
      .node.children.filter((c) => c instanceof Chart).map((c) => c.node.id).sort();
    expect(charts).toEqual([...CONCERNS_IN_ORDER].sort());
  });
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
  const run = spawnSync(NODE_TS, ['main.ts', '--config', configDir, '--out', outDir], { cwd: ROOT, encoding: 'utf8' });
  expect(run.status).not.toBe(0);
  expect(run.stderr).toMatch(/redis\.maxMemory: '256Mi' is not a Redis size; write it like '256mb' or '1gb' \(got "256Mi"\)/);
  expect(run.stderr).toContain(`${outDir} was left as it was`);
  expect(fingerprint(outDir)).toEqual(before);
});

test('--tag pins every honeyDue image; --env replaces only that environment', () => {
  const { configDir, outDir } = workspace();
  // Its own namespace, hosts, database and bucket, and production's Traefik left to production: nothing it holds is production's.
  fs.writeFileSync(path.join(configDir, 'other.yaml'), [
    'extends: production',
    'traefik: { enabled: false }',
    'namespace: other',
    'domains: { apex: other.example.com, api: api.other.example.com, admin: admin.other.example.com }',
    'database: { name: other }',
    'storage: { bucket: other-bucket }',
    '',
  ].join('\n'));
  synthesize({ configDir, outDir, log: quiet });
  const otherBefore = fingerprint(path.join(outDir, 'other'));
  const run = spawnSync(NODE_TS, ['main.ts', '--config', configDir, '--out', outDir, '--env', 'production', '--tag', 'fedcba9876'], { cwd: ROOT, encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(fs.readFileSync(path.join(outDir, 'production', '40-api.yaml'), 'utf8')).toContain('honeydue-api:fedcba9876');
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

test('synth says which files changed, which are new or removed, and how many did not change', () => {
  const { configDir, outDir } = workspace();
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  const run = () => {
    lines.length = 0;
    return synthesize({ configDir, outDir, log });
  };
  run();
  expect(lines.filter((line) => line.startsWith('  new: '))).toEqual([]);
  expect(lines[lines.length - 1]).toMatch(/^wrote 11 files to \S+ in \d+ ms: 0 changed, 11 new, 0 removed, 0 unchanged$/);

  expect(run().changes).toEqual({ changed: [], added: [], removed: [] });
  expect(lines[lines.length - 1]).toMatch(/^wrote 11 files to \S+ in \d+ ms: nothing changed$/);

  // A smaller Redis cache touches Redis' file only; a file the stack no longer makes is removed by the swap.
  fs.writeFileSync(path.join(configDir, 'production.yaml'), productionYaml.replace('maxMemory: 256mb', 'maxMemory: 128mb'));
  fs.writeFileSync(path.join(outDir, 'production', '70-retired.yaml'), 'kind: ConfigMap\n');
  expect(run().changes).toEqual({ changed: ['production/15-redis.yaml'], added: [], removed: ['production/70-retired.yaml'] });
  expect(lines).toEqual(expect.arrayContaining(['  changed: production/15-redis.yaml', '  removed: production/70-retired.yaml']));
  expect(lines[lines.length - 1]).toMatch(/: 1 changed, 0 new, 1 removed, 10 unchanged$/);

  // A file the folder lacks is listed as new once others are there.
  fs.rmSync(path.join(outDir, 'production', '90-ingress.yaml'));
  expect(run().changes).toEqual({ changed: [], added: ['production/90-ingress.yaml'], removed: [] });
  expect(lines).toContain('  new: production/90-ingress.yaml');
  expect(lines[lines.length - 1]).toMatch(/: 0 changed, 1 new, 0 removed, 10 unchanged$/);
  expect(fs.existsSync(path.join(outDir, 'production', '70-retired.yaml'))).toBe(false);
});

test('a synth loads each environment once, and reads each config file once, also under --env: the render uses what the environment check loaded and built', () => {
  const outDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-synth-')), 'dist');
  jest.isolateModules(() => {
    const actual = jest.requireActual('../app/config');
    const loadEnvironment = jest.fn(actual.loadEnvironment);
    jest.doMock('../app/config', () => ({ ...actual, loadEnvironment }));
    try {
      const { synthesize: synth } = require('../app/synth') as typeof import('../app/synth');
      for (const envs of [undefined, ['staging']]) {
        loadEnvironment.mockClear();
        const lines: string[] = [];
        synth({ envs, outDir, imageTag: 'abc1234', log: (line) => lines.push(line) });
        expect(loadEnvironment.mock.calls.map(([env]) => env)).toEqual(listEnvironments());
        // One map of the files read for the whole run: production.yaml, which staging extends, is parsed once.
        const filesRead = loadEnvironment.mock.calls.map(([, options]) => options?.filesRead);
        expect(new Set(filesRead).size).toBe(1);
        expect([...filesRead[0]!.keys()].sort()).toEqual(listEnvironments().map((env) => path.join(ROOT, 'config', `${env}.yaml`)));
        // The line of the tag override, once per environment rendered.
        for (const env of envs ?? listEnvironments()) expect(lines.filter((line) => line.startsWith(`  ${env}: imageTag "abc1234"`))).toHaveLength(1);
      }
    } finally {
      jest.dontMock('../app/config');
    }
  });
});

describe('HONEYDUE_IMAGE_TAG', () => {
  const saved = process.env.HONEYDUE_IMAGE_TAG;
  afterEach(() => {
    if (saved === undefined) delete process.env.HONEYDUE_IMAGE_TAG;
    else process.env.HONEYDUE_IMAGE_TAG = saved;
  });
  const productionTag = YAML.parse(productionYaml).imageTag;
  const tagLine = productionYaml.split('\n').findIndex((line) => line.startsWith('imageTag: ')) + 1;

  test('a tag taken from it is printed, with the file and line of the tag it replaces', () => {
    const { configDir, outDir } = workspace();
    process.env.HONEYDUE_IMAGE_TAG = 'fedcba9';
    const lines: string[] = [];
    expect(runSynth(['--config', configDir, '--out', outDir], { out: (line) => lines.push(line), err: (line) => lines.push(line) })).toBe(0);
    expect(lines).toContain(`  production: imageTag "fedcba9" from HONEYDUE_IMAGE_TAG replaces imageTag "${productionTag}" of ${path.join(configDir, 'production.yaml')}:${tagLine}:11`);
    expect(fs.readFileSync(path.join(outDir, 'production', '40-api.yaml'), 'utf8')).toContain(':fedcba9');
  });

  test('a bad tag from it is blamed on it, and --tag on --tag, not on the config file', () => {
    const { configDir, outDir } = workspace();
    process.env.HONEYDUE_IMAGE_TAG = 'latest';
    const errors: string[] = [];
    expect(runSynth(['--config', configDir, '--out', outDir], { out: quiet, err: (line) => errors.push(line) })).toBe(1);
    expect(errors.join('\n')).toMatch(/\n {2}- HONEYDUE_IMAGE_TAG: imageTag: 'latest' is not allowed: .*\(got "latest"\)$/);
    errors.length = 0;
    expect(runSynth(['--config', configDir, '--out', outDir, '--tag', 'v1.2.3'], { out: quiet, err: (line) => errors.push(line) })).toBe(1);
    expect(errors.join('\n')).toMatch(/\n {2}- --tag: imageTag: 'v1\.2\.3' is not a commit SHA; .*\(got "v1\.2\.3"\)$/);
    expect(fs.existsSync(outDir)).toBe(false);
  });
});

test('the README example is what synth prints for a new imageTag', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Synth a release'), readme.indexOf('## Review a change'));
  const [, tag, previous] = /`imageTag: ([0-9a-f]+)` instead of `([0-9a-f]+)`/.exec(section)!;
  const example = /```\n( {2}[\s\S]*?)```/.exec(section)![1].trimEnd().split('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-readme-synth-'));
  const configDir = path.join(dir, 'config');
  const outDir = path.join(dir, 'dist');
  fs.cpSync(path.join(ROOT, 'config'), configDir, { recursive: true });
  fs.cpSync(path.join(ROOT, 'dist'), outDir, { recursive: true });
  const production = path.join(configDir, 'production.yaml');
  expect(fs.readFileSync(production, 'utf8')).toContain(`\nimageTag: ${previous}\n`);
  fs.writeFileSync(production, fs.readFileSync(production, 'utf8').replace(`\nimageTag: ${previous}\n`, `\nimageTag: ${tag}\n`));
  const lines: string[] = [];
  expect(runSynth(['--config', configDir, '--out', outDir], { out: (line) => lines.push(line), err: (line) => lines.push(line) })).toBe(0);
  // The scratch folders stand for config/ and dist/; the time is the README's.
  const printed = lines.join('\n').split('\n')
    .map((line) => line.split(`${configDir}${path.sep}`).join('config/').replace(/ to \S+ in \d+ ms:/, ' to dist in 611 ms:'));
  // Each line of the example is printed, in order; `...` stands for lines cut.
  let at = 0;
  for (const line of example.filter((l) => l.trim() !== '...')) {
    const found = printed.indexOf(line, at);
    expect([line, found >= 0]).toEqual([line, true]);
    at = found + 1;
  }
});

test('`npx cdk8s synth` as the README gives it runs offline: no upgrade check, no stack trace, the same files', () => {
  const command = /`npx cdk8s (synth[^`]*)`/.exec(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'))?.[1];
  expect(command).toBe('synth --no-check-upgrade');
  // cdk8s runs the app named in its cwd's cdk8s.yaml: the repo's app, writing to a scratch folder.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-cdk8s-'));
  const app = YAML.parse(fs.readFileSync(path.join(ROOT, 'cdk8s.yaml'), 'utf8')).app as string;
  // The app's files are named relative to the repo: name them from the scratch folder.
  const fromScratch = app.split(' ').map((word) => (/\.ts$|^bin\//.test(word) ? path.join(ROOT, word) : word)).join(' ');
  expect(fromScratch).toBe(`${path.join(ROOT, 'bin', 'node-ts')} ${path.join(ROOT, 'main.ts')}`);
  fs.writeFileSync(path.join(dir, 'cdk8s.yaml'), YAML.stringify({
    app: `${fromScratch} --out ${path.join(dir, 'dist')}`,
    output: '.cdk8s.out',
  }));
  // A HOME of its own: no cached answer from an earlier check hides one.
  const run = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'cdk8s-cli', 'bin', 'cdk8s'), ...command!.split(' ')], { cwd: dir, env: { ...process.env, HOME: dir }, encoding: 'utf8' });
  expect(run.stderr).not.toMatch(/http error|new version|\n\s+at /);
  expect(run.status).toBe(0);
  expect(run.stdout).toContain('.cdk8s.out/production/40-api.yaml');
  expect(fingerprint(path.join(dir, 'dist', 'production'))).toEqual(fingerprint(path.join(ROOT, 'dist', 'production')));
  expect(fs.existsSync(path.join(dir, '.cdk8s-cli.version'))).toBe(false);
});

test('the synth command started in another folder writes relative to it, says so, and keeps its exit code', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-synth-cwd-'));
  const synth = (...args: string[]) => spawnSync(NODE_TS, [path.join(ROOT, 'main.ts'), ...args, '--out', 'out'], { cwd: scratch, encoding: 'utf8' });
  try {
    const ok = synth();
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^wrote \d+ files to out in \d+ ms/m);
    expect(fingerprint(path.join(scratch, 'out'))).toEqual(fingerprint(path.join(ROOT, 'dist')));
    // A bad config: exit 1, the file and line named, nothing written.
    const config = path.join(scratch, 'config');
    fs.cpSync(path.join(ROOT, 'config'), config, { recursive: true });
    const staging = fs.readFileSync(path.join(config, 'staging.yaml'), 'utf8');
    const line = staging.split('\n').findIndex((text) => text.startsWith('namespace: ')) + 1;
    fs.writeFileSync(path.join(config, 'staging.yaml'), staging.replace(/^namespace: .*$/m, 'namespace: Not_A_Name'));
    fs.rmSync(path.join(scratch, 'out'), { recursive: true });
    const bad = synth('--config', config);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`config/staging.yaml:${line}:12: namespace: 'Not_A_Name' is not a valid Kubernetes name`);
    expect(fs.existsSync(path.join(scratch, 'out'))).toBe(false);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

test('an entry started as the npm scripts start one gets its arguments, and a stack trace names the line of the .ts source', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-ts-entry-'));
  try {
    fs.writeFileSync(path.join(scratch, 'hello.ts'), "const words: string[] = process.argv.slice(2);\nconsole.log(['hello', ...words].join(' '));\n");
    const hello = spawnSync(NODE_TS, ['hello.ts', 'a', '--b'], { cwd: scratch, encoding: 'utf8' });
    expect([hello.status, hello.stdout]).toEqual([0, 'hello a --b\n']);
    fs.writeFileSync(path.join(scratch, 'entry.ts'), "import { fail } from './fail';\nfail();\n");
    fs.writeFileSync(path.join(scratch, 'fail.ts'), 'interface A {\n  x: number;\n}\nexport function fail(): never {\n  throw new Error("on purpose");\n}\n');
    const failed = spawnSync(NODE_TS, ['entry.ts'], { cwd: scratch, encoding: 'utf8' });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(`at fail (${path.join(scratch, 'fail.ts')}:5:`);
    // The commands fail after the top level has run (their main is async): mapped as well.
    fs.writeFileSync(path.join(scratch, 'later.ts'), "import { fail } from './fail';\nsetTimeout(() => fail(), 1);\n");
    const later = spawnSync(NODE_TS, ['later.ts'], { cwd: scratch, encoding: 'utf8' });
    expect(later.status).toBe(1);
    expect(later.stderr).toContain(`at fail (${path.join(scratch, 'fail.ts')}:5:`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
