/**
 * bin/run.js, which bin/run starts every entry through when there is no start-up
 * snapshot for it (test/snapshot.test.ts covers that one): it must never run stale code,
 * must be safe when runs start at once, and must run a file as tsx did (its
 * arguments, its real path, its exit code, its stack traces).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const RUN = path.join(__dirname, '..', 'bin', 'run.js');

let dir: string;
let cache: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-run-'));
  cache = path.join(dir, 'cache');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function run(entry: string, args: string[] = [], cacheDir = cache) {
  const result = spawnSync(process.execPath, [RUN, entry, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, HONEYDUE_RUN_CACHE: cacheDir },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every file under the cache, relative to it. */
function cacheFiles(): string[] {
  return fs.existsSync(cache) ? (fs.readdirSync(cache, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(cache, f)).isFile()).sort() : [];
}

const ENTRY = [
  '#!/usr/bin/env tsx',
  "import { greeting } from './greeting';",
  'const loaded = Object.keys(require.cache).filter((file) => file.includes(`${require("path").sep}@swc${require("path").sep}`));',
  'console.log(JSON.stringify({ greeting, args: process.argv.slice(2), dirname: __dirname, main: require.main === module, compilerLoaded: loaded.length > 0 }));',
  'process.exitCode = 3;',
  '',
].join('\n');
const greeting = (word: string) => `interface Unused { x: number }\nexport const greeting: string = '${word}';\n`;

test('runs a TypeScript entry with its arguments, its real folder, as the main module, and keeps its exit code', () => {
  write('entry.ts', ENTRY);
  write('greeting.ts', greeting('hello'));
  const result = run('entry.ts', ['--env', 'production']);
  expect(result.code).toBe(3);
  expect(JSON.parse(result.stdout)).toEqual({ greeting: 'hello', args: ['--env', 'production'], dirname: dir, main: true, compilerLoaded: true });
});

test('a run served from the cache compiles nothing: the compiler is not even loaded', () => {
  write('entry.ts', ENTRY);
  write('greeting.ts', greeting('hello'));
  expect(JSON.parse(run('entry.ts').stdout).compilerLoaded).toBe(true);
  const written = cacheFiles();
  expect(written.filter((f) => f.startsWith(`js${path.sep}`))).toHaveLength(2);
  expect(JSON.parse(run('entry.ts').stdout)).toMatchObject({ greeting: 'hello', compilerLoaded: false });
  expect(cacheFiles()).toEqual(written);
});

test('an edited source is compiled again, even with the same size and modification time', () => {
  write('entry.ts', ENTRY);
  const file = write('greeting.ts', greeting('hello'));
  const { mtime } = fs.statSync(file);
  expect(JSON.parse(run('entry.ts').stdout).greeting).toBe('hello');
  write('greeting.ts', greeting('howdy'));
  fs.utimesSync(file, mtime, mtime);
  expect(fs.statSync(file).size).toBe(greeting('hello').length);
  expect(JSON.parse(run('entry.ts').stdout)).toMatchObject({ greeting: 'howdy', compilerLoaded: true });
});

test('an edited JavaScript module runs its new code (its V8 code cache is keyed by content too)', () => {
  write('entry.ts', "console.log(require('./plain.js').word);\n");
  const file = write('plain.js', "exports.word = 'one';\n");
  const { mtime } = fs.statSync(file);
  expect(run('entry.ts').stdout).toBe('one\n');
  const v8Entries = () => cacheFiles().filter((f) => f.startsWith('v8-'));
  // The first run also caches the JavaScript of the compiler it loaded.
  const first = v8Entries();
  expect(first.length).toBeGreaterThanOrEqual(1);
  expect(run('entry.ts').stdout).toBe('one\n');
  expect(v8Entries()).toEqual(first);
  write('plain.js', "exports.word = 'two';\n");
  fs.utimesSync(file, mtime, mtime);
  expect(run('entry.ts').stdout).toBe('two\n');
  expect(v8Entries().filter((entry) => !first.includes(entry))).toHaveLength(1);
});

test('runs started at once on an empty cache all succeed, each with the right code, and leave no temporary file', async () => {
  write('entry.ts', ENTRY);
  write('greeting.ts', greeting('hello'));
  const runs = Array.from({ length: 4 }, (_, i) =>
    new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [RUN, 'entry.ts', String(i)], { cwd: dir, env: { ...process.env, HONEYDUE_RUN_CACHE: cache } });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.on('close', (code) => resolve({ code, stdout }));
    }),
  );
  const results = await Promise.all(runs);
  results.forEach((result, i) => {
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ greeting: 'hello', args: [String(i)] });
  });
  expect(cacheFiles().filter((f) => f.endsWith('.tmp'))).toEqual([]);
  expect(cacheFiles().filter((f) => f.startsWith(`js${path.sep}`))).toHaveLength(2);
});

/** A package `word` under `<folder>/node_modules` whose main file exports the word. */
function writePackage(folder: string, main: string, word: string): void {
  const pkg = path.join(dir, folder, 'node_modules', 'word');
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'word', main }));
  fs.writeFileSync(path.join(pkg, main), `exports.word = '${word}';\n`);
}

test('a package is resolved from each folder as Node resolves it, also when the kept file is gone or was missing', () => {
  const entry = "try { console.log(require('word').word); } catch (error) { console.log(error.code); }\n";
  write('entry.ts', entry);
  fs.mkdirSync(path.join(dir, 'inner'));
  write(path.join('inner', 'entry.ts'), entry);
  // Not installed yet: the failure is not kept.
  expect(run('entry.ts').stdout).toBe('MODULE_NOT_FOUND\n');
  writePackage('.', 'one.js', 'one');
  writePackage('inner', 'index.js', 'inner');
  expect(run('entry.ts').stdout).toBe('one\n');
  expect(run(path.join('inner', 'entry.ts')).stdout).toBe('inner\n');
  expect(run('entry.ts').stdout).toBe('one\n');
  // The kept file is removed and the package now has another main file.
  fs.rmSync(path.join(dir, 'node_modules', 'word'), { recursive: true });
  writePackage('.', 'two.js', 'two');
  expect(run('entry.ts').stdout).toBe('two\n');
  // A kept map that cannot be read is no map.
  const kept = cacheFiles().filter((f) => f.startsWith(`resolve${path.sep}`));
  expect(kept).toHaveLength(1);
  fs.writeFileSync(path.join(cache, kept[0]), '{"truncated');
  expect(run('entry.ts').stdout).toBe('two\n');
  fs.writeFileSync(path.join(cache, kept[0]), 'null');
  expect(run('entry.ts').stdout).toBe('two\n');
});

test('a stack trace names the line of the .ts source', () => {
  write('entry.ts', "import { fail } from './fail';\nfail();\n");
  write('fail.ts', 'interface A {\n  x: number;\n}\nexport function fail(): never {\n  throw new Error("on purpose");\n}\n');
  const result = run('entry.ts');
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`at fail (${path.join(dir, 'fail.ts')}:5:`);
});

test('entries older than 7 days are removed by the next run that compiles; younger ones stay', () => {
  write('entry.ts', "console.log('ok');\n");
  expect(run('entry.ts').stdout).toBe('ok\n');
  const jsDir = path.join(cache, 'js');
  const old = path.join(jsDir, 'f'.repeat(64) + '.js');
  const young = path.join(jsDir, 'e'.repeat(64) + '.js');
  fs.writeFileSync(old, '');
  fs.writeFileSync(young, '');
  const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
  fs.utimesSync(old, eightDaysAgo, eightDaysAgo);
  write('entry.ts', "console.log('changed');\n");
  expect(run('entry.ts').stdout).toBe('changed\n');
  expect(fs.existsSync(old)).toBe(false);
  expect(fs.existsSync(young)).toBe(true);
});

test('a cache that cannot be written only costs a compile: the run succeeds', () => {
  write('entry.ts', "console.log('ok');\n");
  const notADirectory = write('file', '');
  const result = run('entry.ts', [], path.join(notADirectory, 'cache'));
  expect(result).toMatchObject({ code: 0, stdout: 'ok\n' });
});

test('without an entry, or with one that does not exist, it says how to call it and exits 2', () => {
  expect(run('')).toMatchObject({ code: 2, stderr: expect.stringMatching(/usage: node bin\/run\.js <file\.ts> \[args\.\.\.\]/) });
  expect(run('missing.ts')).toMatchObject({
    code: 2,
    stderr: `bin/run.js: missing.ts: no such file (resolved to ${path.join(dir, 'missing.ts')}); give the path of a .ts file\n`,
  });
});
