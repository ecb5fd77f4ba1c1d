/**
 * `npm run review` reading the old side from git: the merge base with main by
 * default, a named revision, and the clone shapes CI has (no main, shallow,
 * unrelated histories), each of which must end in a message, never a crash.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST, review, section } from './review-helpers';

const run = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8').trim();

const API = join('dist', 'production', '40-api.yaml');

/** A repository whose main holds dist/production as committed; the project may sit in a sub-folder. */
function repository(project = ''): { root: string; dir: string; base: string } {
  const root = mkdtempSync(join(tmpdir(), 'review-git-'));
  const dir = join(root, project);
  run(root, 'init', '-q', '-b', 'main');
  run(root, 'config', 'user.email', 'review@example.test');
  run(root, 'config', 'user.name', 'review test');
  mkdirSync(join(dir, 'dist'), { recursive: true });
  cpSync(join(DIST, 'production'), join(dir, 'dist', 'production'), { recursive: true });
  run(root, 'add', '.');
  run(root, 'commit', '-q', '-m', 'base');
  return { root, dir, base: run(root, 'rev-parse', 'HEAD') };
}

/** Bumps the api image tag in the working tree. */
function bumpApi(dir: string, tag: string): void {
  const path = join(dir, API);
  writeFileSync(path, readFileSync(path, 'utf8').replace(/(honeydue-api:)[0-9a-f]+/, `$1${tag}`));
}

function commitAll(root: string, message: string): string {
  run(root, 'commit', '-q', '-am', message);
  return run(root, 'rev-parse', 'HEAD');
}

test('on a branch, the default base is the merge base with main, and uncommitted dist/ counts', () => {
  const { root, dir, base } = repository();
  run(root, 'switch', '-q', '-c', 'feature');
  bumpApi(dir, 'aaaaaaa');
  commitAll(root, 'release aaaaaaa');
  run(root, 'switch', '-q', 'main');
  writeFileSync(join(dir, 'README.md'), 'main moves on\n');
  run(root, 'add', '.');
  commitAll(root, 'main moves on');
  run(root, 'switch', '-q', 'feature');
  bumpApi(dir, 'bbbbbbb');

  const result = review([], dir);
  expect(result.code).toBe(0);
  expect(result.out.split('\n')[0]).toBe(`dist/ review: main (merge base ${base.slice(0, 7)}) -> working tree`);
  expect(section(result.out, 'Rolls')[1]).toMatch(/^ {8}why: image tag \(api: [0-9a-f]+ -> bbbbbbb\)$/);
});

test('on main with a clean tree nothing changed, which is what CI sees on main', () => {
  const { dir } = repository();
  const result = review([], dir);
  expect(result.code).toBe(0);
  expect(result.out).toMatch(/^dist\/ review: main \(merge base [0-9a-f]{7}\) -> working tree\n\nproduction: no change \(\d+ objects\)\n$/);
});

test('a named base (argument or --base) and --head compare two revisions without touching the working tree', () => {
  const { root, dir, base } = repository();
  bumpApi(dir, 'ccccccc');
  const head = commitAll(root, 'release ccccccc');
  bumpApi(dir, 'ddddddd');
  for (const argv of [[base, '--head', head], ['--base', base, '--head', 'HEAD']]) {
    const result = review(argv, dir);
    expect(section(result.out, 'Rolls')[1]).toMatch(/ -> ccccccc\)$/);
  }
  expect(review(['HEAD~1'], dir).out.split('\n')[0]).toBe(`dist/ review: HEAD~1 (${base.slice(0, 7)}) -> working tree`);
  expect(review([base.slice(0, 10)], dir).out.split('\n')[0]).toBe(`dist/ review: ${base.slice(0, 10)} -> working tree`);
  expect(readFileSync(join(dir, API), 'utf8')).toContain('honeydue-api:ddddddd');
});

test('a base without dist/ makes every object added', () => {
  const root = mkdtempSync(join(tmpdir(), 'review-git-'));
  run(root, 'init', '-q', '-b', 'main');
  run(root, 'config', 'user.email', 'review@example.test');
  run(root, 'config', 'user.name', 'review test');
  writeFileSync(join(root, 'README.md'), 'before dist/\n');
  run(root, 'add', '.');
  commitAll(root, 'no dist yet');
  cpSync(join(DIST, 'production'), join(root, 'dist', 'production'), { recursive: true });
  const result = review([], root);
  expect(result.out).toMatch(/\nproduction: new environment \(no dist\/production\/ on the old side\): \d+ added, 0 removed, 0 changed, 0 unchanged; 0 to roll\n/);
  expect(section(result.out, 'Added')).toContain('    + Deployment honeydue/api (40-api.yaml)');
});

test('the project may sit in a sub-folder of the repository', () => {
  const { dir } = repository('deploy/k8s');
  bumpApi(dir, 'eeeeeee');
  expect(section(review([], dir).out, 'Rolls')[1]).toMatch(/ -> eeeeeee\)$/);
});

test('a clone with only origin/main takes the merge base with it', () => {
  const { root } = repository();
  run(root, 'switch', '-q', '-c', 'feature');
  const clone = mkdtempSync(join(tmpdir(), 'review-git-'));
  run(clone, 'clone', '-q', '-b', 'feature', root, 'c');
  const result = review([], join(clone, 'c'));
  expect(result.out.split('\n')[0]).toMatch(/^dist\/ review: origin\/main \(merge base [0-9a-f]{7}\) -> working tree$/);
});

describe('clones that cannot name the default base end in a message and exit 2', () => {
  test('a shallow single-branch clone (a CI checkout) has no main', () => {
    const { root } = repository();
    run(root, 'switch', '-q', '-c', 'feature');
    const clone = mkdtempSync(join(tmpdir(), 'review-git-'));
    run(clone, 'clone', '-q', '--depth', '1', '-b', 'feature', `file://${root}`, 'c');
    const result = review([], join(clone, 'c'));
    expect(result).toEqual({
      code: 2,
      out: '',
      err: 'review: no branch main nor origin/main to take the merge base with (a single-branch or shallow clone?): name the base, npm run review -- <BASE>, or fetch main (git fetch origin main)\n',
    });
  });

  test('a history unrelated to main has no merge base', () => {
    const { root, dir } = repository();
    run(root, 'switch', '-q', '--orphan', 'unrelated');
    cpSync(join(DIST, 'production'), join(dir, 'dist', 'production'), { recursive: true });
    run(root, 'add', '.');
    run(root, 'commit', '-q', '-m', 'unrelated');
    expect(review([], dir).err).toBe(
      'review: HEAD and main have no merge base in this clone (a shallow clone cuts the history): git fetch --unshallow, or name the base: npm run review -- <BASE>\n',
    );
  });

  test('a revision that is not there, and a folder outside git', () => {
    const { dir } = repository();
    expect(review(['no-such-branch'], dir)).toEqual({
      code: 2,
      out: '',
      err: 'review: no-such-branch is not a commit of this repository: name a branch, tag or commit (git log --oneline shows them)\n',
    });
    const outside = mkdtempSync(join(tmpdir(), 'review-nogit-'));
    cpSync(join(DIST, 'production'), join(outside, 'dist', 'production'), { recursive: true });
    expect(review([], outside).err).toBe(`review: ${outside} is not in a git repository: compare two folders instead (--from DIR --to DIR)\n`);
  });

  test('a working tree without dist/ says to synthesize', () => {
    const { dir } = repository();
    rmSync(join(dir, 'dist'), { recursive: true });
    expect(review([], dir).err).toBe(`review: ${join(dir, 'dist')} does not exist: synthesize first (npm run synth), or name the new side with --to DIR\n`);
  });
});

test('.ci/run runs the review after the dist/ check and never fails the run on it', () => {
  const script = readFileSync(join(__dirname, '..', '.ci', 'run'), 'utf8');
  const distCheck = script.indexOf('step "dist/ matches a fresh synth"');
  const reviewStep = script.indexOf('step "npm run review');
  expect(distCheck).toBeGreaterThan(0);
  expect(reviewStep).toBeGreaterThan(distCheck);
  const command = script.slice(reviewStep).split('\n').find((line) => line.startsWith('npm run -s review'));
  expect(command).toMatch(/^npm run -s review -- "\$\{review_base\[@\]\}" \|\| echo "[^"]+"$/);
});

/** Runs .ci/run's review step in `dir` with `npm` standing in: returns what it printed and the review's arguments. */
function ciReviewStep(dir: string, npmExit = 0): { printed: string; args: string[] } {
  const script = readFileSync(join(__dirname, '..', '.ci', 'run'), 'utf8');
  const step = script.slice(script.indexOf('step "npm run review')).split('\n');
  const body = step.slice(0, step.findIndex((line) => line.startsWith('npm run -s review')) + 1).join('\n');
  const argsFile = join(dir, '.review-args');
  const stub = `set -euo pipefail\nstep() { echo "== $*"; }\nnpm() { shift 4; printf '%s\\n' "$@" > '${argsFile}'; return ${npmExit}; }\n`;
  const printed = execFileSync('bash', ['-c', stub + body], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
  const args = readFileSync(argsFile, 'utf8').split('\n').filter((line) => line !== '');
  return { printed, args };
}

test('.ci/run on main reviews the newest change to dist/ against its parent, naming it', () => {
  const { root, dir, base } = repository();
  bumpApi(dir, 'ccccccc');
  const release = commitAll(root, 'release ccccccc');
  writeFileSync(join(dir, 'README.md'), 'no dist/ change\n');
  run(root, 'add', '.');
  commitAll(root, 'docs only');

  const { printed, args } = ciReviewStep(dir);
  expect(printed).toContain(`on main: the newest change to dist/ is ${release.slice(0, 7)} release ccccccc\n`);
  expect(args).toEqual([base.slice(0, 7)]);
  const result = review(args, dir);
  expect(result.out.split('\n')[0]).toBe(`dist/ review: ${base.slice(0, 7)} -> working tree`);
  expect(section(result.out, 'Rolls')[1]).toMatch(/why: image tag \(api: [0-9a-f]+ -> ccccccc\)$/);
});

test('.ci/run on a branch leaves the base to the review (the merge base with main), and a failed review does not fail CI', () => {
  const { root, dir } = repository();
  run(root, 'switch', '-q', '-c', 'feature');
  bumpApi(dir, 'ddddddd');
  commitAll(root, 'release ddddddd');
  expect(ciReviewStep(dir).args).toEqual([]);
  expect(ciReviewStep(dir, 2).printed).toContain('review: no summary for this clone (the line above says why); CI goes on');
});
