/**
 * bin/run and the start-up snapshot (bin/build-snapshot.js, bin/snapshot.ts): a command
 * starts from the snapshot only while every file it was built from is unchanged, from the
 * Node that built it; otherwise the snapshot is built again, and when it cannot be built
 * the command still runs, through bin/run.js. Run on a copy of the repository's sources,
 * so a test can edit one.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const SOURCES = ['app', 'bin', 'check', 'config', 'constructs', 'dist', 'imports', 'main.ts', 'package.json', 'tsconfig.json', '.swcrc'];

let copy: string;
beforeEach(() => {
  copy = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-snapshot-test-'));
  for (const name of SOURCES) fs.cpSync(path.join(ROOT, name), path.join(copy, name), { recursive: true });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
});
afterEach(() => fs.rmSync(copy, { recursive: true, force: true }));

/** `bin/run ENTRY ARGS` of the copy (or of `root`), as an npm script starts it, saying on stderr which way it started. */
function run(args: string[], env: Record<string, string> = {}, cwd = copy, root = copy) {
  const result = spawnSync(path.join(root, 'bin', 'run'), args, { cwd, encoding: 'utf8', env: { ...process.env, HONEYDUE_RUN_TRACE: '1', ...env } });
  const trace = result.stderr.split('\n').filter((line) => line.startsWith('bin/run: '));
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, trace };
}

const currentBuild = () => fs.readlinkSync(path.join(copy, '.cache', 'run', 'snapshot', 'current'));

test('a command starts from the snapshot once it is built, and again only while nothing it was built from changed', () => {
  const first = run(['main.ts', '--help']);
  expect(first.trace).toEqual(['bin/run: building the snapshot', `bin/run: main.ts from the snapshot ${currentBuild()}`]);
  expect(first.stdout).toContain('Synthesize the honeyDue stack');
  const built = currentBuild();
  const inputs = fs.readFileSync(path.join(copy, '.cache', 'run', 'snapshot', built, 'inputs'), 'utf8');
  for (const file of ['main.ts', 'app/synth-cli.ts', 'constructs/honeydue-stack.ts', 'bin/snapshot.ts', 'bin/run', 'node_modules/.package-lock.json']) {
    expect(inputs).toMatch(new RegExp(`^[0-9a-f]{64}  ${file.replace(/[.]/g, '\\.')}$`, 'm'));
  }
  expect(inputs).not.toMatch(/^[0-9a-f]{64} {2}(config|dist)\//m);
  // One byte a character for V8 (a non-ASCII comment would double the script it keeps), and no zod locale but English.
  const bundle = fs.readFileSync(path.join(copy, '.cache', 'run', 'snapshot', built, 'bundle.js'), 'utf8');
  expect(bundle).not.toMatch(/[^\x00-\x7f]/);
  expect(bundle.match(/^\/\/ \S*node_modules\/zod\/v4\/locales\/\S+$/gm)?.map((line) => line.split('/').pop()).sort()).toEqual(['en.js', 'index.js']);

  // Named from another folder, the entry is the same file.
  expect(run(['../main.ts', '--help'], {}, path.join(copy, 'app')).trace).toEqual([`bin/run: main.ts from the snapshot ${built}`]);

  const again = run(['bin/check.ts', 'dist/production']);
  expect(again.trace).toEqual([`bin/run: bin/check.ts from the snapshot ${built}`]);
  expect(again.stdout).toMatch(/^[1-9]\d* passed, 0 failed$/m);
  expect(again.code).toBe(0);

  // A kind dist/ does not hold is not in the snapshot: the check started from it loads that kind's schema itself.
  const quota = path.join(copy, 'quota');
  fs.mkdirSync(quota);
  fs.writeFileSync(path.join(quota, 'quota.yaml'), 'apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: quota\n  namespace: honeydue\nspec:\n  hardd:\n    pods: "10"\n');
  const unknownKind = run(['bin/check.ts', quota]);
  expect(unknownKind.trace).toEqual([`bin/run: bin/check.ts from the snapshot ${built}`]);
  expect(unknownKind.stdout).toContain('ResourceQuota honeydue/quota spec.hardd: unknown field "hardd" (value {"pods":"10"}): did you mean "hard"?');
  expect(unknownKind.code).toBe(1);

  // A CRD file is data the check reads on every run, not part of the snapshot (whose warm-up parsed
  // it): edited, the same snapshot starts, and the check judges by the edited file.
  const crd = path.join(copy, 'imports', 'helm.cattle.io_helmchartconfigs.yaml');
  fs.writeFileSync(crd, fs.readFileSync(crd, 'utf8').replace(/^( +)kind: HelmChartConfig$/m, '$1kind: HelmChartConfigRenamed'));
  const crdEdited = run(['bin/check.ts', 'dist/production']);
  expect(crdEdited.trace).toEqual([`bin/run: bin/check.ts from the snapshot ${built}`]);
  expect(crdEdited.stdout).toContain('no CustomResourceDefinition for helm.cattle.io/v1 HelmChartConfig was found');
  expect(crdEdited.code).toBe(1);

  // An edited module: the snapshot is built again before anything runs, and the edit is what runs.
  const cli = path.join(copy, 'app', 'synth-cli.ts');
  fs.writeFileSync(cli, fs.readFileSync(cli, 'utf8').replace('Synthesize the honeyDue stack', 'Synthesize the EDITED stack'));
  const edited = run(['main.ts', '--help']);
  expect(edited.trace[0]).toBe('bin/run: building the snapshot');
  expect(currentBuild()).not.toBe(built);
  expect(edited.stdout).toContain('Synthesize the EDITED stack');

  // A snapshot written by another Node binary is not started.
  fs.writeFileSync(path.join(copy, '.cache', 'run', 'snapshot', currentBuild(), 'node'), '/elsewhere/node 1 2 3\n');
  expect(run(['main.ts', '--help']).trace[0]).toBe('bin/run: building the snapshot');
});

test('a synth from the snapshot writes and says what bin/run.js does, relative to the folder it was started in, with the exit code', () => {
  // The repository's own bin/run and snapshot (the other process tests share it), its sources untouched.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-snapshot-out-'));
  const both = (args: string[]) => {
    const fromSnapshot = run([path.join(ROOT, 'main.ts'), ...args, '--out', 'from-snapshot'], {}, scratch, ROOT);
    const compiled = run([path.join(ROOT, 'main.ts'), ...args, '--out', 'compiled'], { HONEYDUE_RUN_SNAPSHOT: '0' }, scratch, ROOT);
    expect(fromSnapshot.trace.pop()).toMatch(/^bin\/run: main\.ts from the snapshot build-/);
    expect(compiled.trace).toEqual([`bin/run: ${path.join(ROOT, 'main.ts')} through bin/run.js (not from the snapshot)`]);
    const words = (text: string) => text.replace(/^bin\/run: .*\n/gm, '').replace(/from-snapshot|compiled/g, 'OUT').replace(/ in \d+ ms/, ' in N ms');
    expect([fromSnapshot.code, words(fromSnapshot.stdout), words(fromSnapshot.stderr)]).toEqual([compiled.code, words(compiled.stdout), words(compiled.stderr)]);
    return fromSnapshot;
  };
  try {
    expect(both([]).code).toBe(0);
    const files = (dir: string) => (fs.readdirSync(path.join(scratch, dir), { recursive: true }) as string[]).sort();
    expect(files('from-snapshot')).toEqual(files('compiled'));
    expect(files('from-snapshot')).toContain(path.join('production', '40-api.yaml'));
    for (const file of files('compiled').filter((f) => f.endsWith('.yaml'))) {
      expect(fs.readFileSync(path.join(scratch, 'from-snapshot', file), 'utf8')).toBe(fs.readFileSync(path.join(scratch, 'compiled', file), 'utf8'));
    }
    // A bad config fails the same way from the snapshot: exit 1, the same words, nothing written.
    const config = path.join(scratch, 'config');
    fs.cpSync(path.join(ROOT, 'config'), config, { recursive: true });
    const staging = fs.readFileSync(path.join(config, 'staging.yaml'), 'utf8');
    const line = staging.split('\n').findIndex((text) => text.startsWith('namespace: ')) + 1;
    fs.writeFileSync(path.join(config, 'staging.yaml'), staging.replace(/^namespace: .*$/m, 'namespace: Not_A_Name'));
    fs.rmSync(path.join(scratch, 'from-snapshot'), { recursive: true });
    fs.rmSync(path.join(scratch, 'compiled'), { recursive: true });
    const bad = both(['--config', config]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`config/staging.yaml:${line}:12: namespace: 'Not_A_Name' is not a valid Kubernetes name`);
    expect(fs.existsSync(path.join(scratch, 'from-snapshot'))).toBe(false);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

test('when the snapshot cannot be built the command still runs, through bin/run.js, and says why', () => {
  // A cache "folder" that is a file: nothing can be written under it.
  const notAFolder = path.join(copy, 'cache-file');
  fs.writeFileSync(notAFolder, '');
  const result = run(['bin/check.ts', 'dist/staging'], { HONEYDUE_RUN_CACHE: notAFolder });
  expect(result.stderr).toMatch(/^bin\/run: no start-up snapshot \(.*ENOTDIR.*\); running without it$/m);
  expect(result.trace.pop()).toBe('bin/run: bin/check.ts through bin/run.js (no snapshot)');
  expect(result.stdout.trim().split('\n').pop()).toMatch(/^[1-9]\d* passed, 0 failed$/);
  expect(result.code).toBe(0);
});

test('without npm\'s record of the installed tree no snapshot is built: an install could not be told from another', () => {
  // The same packages, without node_modules/.package-lock.json.
  fs.rmSync(path.join(copy, 'node_modules'));
  fs.mkdirSync(path.join(copy, 'node_modules'));
  for (const entry of fs.readdirSync(path.join(ROOT, 'node_modules')).filter((name) => name !== '.package-lock.json')) {
    fs.symlinkSync(path.join(ROOT, 'node_modules', entry), path.join(copy, 'node_modules', entry));
  }
  const result = run(['main.ts', '--help']);
  expect(result.stderr).toContain('bin/run: no start-up snapshot (no node_modules/.package-lock.json, so a later change of it could not be noticed; run npm ci); running without it\n');
  expect(result.trace.pop()).toBe('bin/run: main.ts through bin/run.js (no snapshot)');
  expect(result.stdout).toContain('Synthesize the honeyDue stack');
  expect(result.code).toBe(0);
});

test('an entry the snapshot does not hold runs through bin/run.js with its arguments', () => {
  fs.writeFileSync(path.join(copy, 'hello.ts'), "const words: string[] = process.argv.slice(2);\nconsole.log(['hello', ...words].join(' '));\n");
  const result = run(['hello.ts', 'a', '--b']);
  expect(result.trace).toEqual(['bin/run: hello.ts through bin/run.js (not from the snapshot)']);
  expect(result.stdout).toBe('hello a --b\n');
  expect(fs.existsSync(path.join(copy, '.cache', 'run', 'snapshot'))).toBe(false);
});
