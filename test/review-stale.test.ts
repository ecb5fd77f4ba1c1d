/**
 * `npm run review` of the working tree's dist/ first says when dist/ is not what
 * the sources synthesize (the comparison CI makes, in memory), then reviews
 * dist/ as it is on disk.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { review } from './review-helpers';

const ROOT = join(__dirname, '..');
const git = (cwd: string, ...args: string[]) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** A repository on main holding the project's config/ and dist/ as committed. */
function repository(): string {
  const dir = mkdtempSync(join(tmpdir(), 'review-stale-'));
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.email', 'review@example.test');
  git(dir, 'config', 'user.name', 'review test');
  cpSync(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'base');
  return dir;
}

test('config/ edited and not synthesized: the first line names the stale files and the fix, then dist/ is reviewed as it is', () => {
  const dir = repository();
  const file = join(dir, 'config', 'production.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^imageTag: \S+$/m, 'imageTag: 4f1e2d3'));

  const run = review([], dir);

  const [first, ...rest] = run.out.split('\n');
  expect(first).toMatch(/^WARNING: dist\/ is stale: it is not what config\/ and the constructs synthesize \(differ: .*production\/40-api\.yaml.*\)\. Run npm run synth to write it; the review below is of dist\/ as it is on disk, not of the sources\.$/);
  expect(first).toContain('staging/40-api.yaml');
  expect(first).not.toContain('production/00-namespace.yaml');
  expect(rest.find((line) => line.startsWith('dist/ review: '))).toBeDefined();
  expect(run.out).toMatch(/production: no change/);
  expect(run.code).toBe(0);
});

test('a file synth would not write and one it would are named too', () => {
  const dir = repository();
  writeFileSync(join(dir, 'dist', 'production', '99-extra.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: extra, namespace: honeydue }\n');
  execFileSync('rm', [join(dir, 'dist', 'staging', '90-ingress.yaml')]);

  const first = review([], dir).out.split('\n')[0];
  expect(first).toContain('missing: staging/90-ingress.yaml');
  expect(first).toContain('not synthesized: production/99-extra.yaml');
});

test('an unedited tree: no warning', () => {
  const run = review([], repository());

  expect(run.out).not.toMatch(/WARNING/);
  expect(run.out.split('\n')[0]).toMatch(/^dist\/ review: main \(merge base [0-9a-f]{7}\) -> working tree$/);
  expect(run.code).toBe(0);
});

test('--to and --head name the new side: no synth is compared', () => {
  const dir = repository();
  const file = join(dir, 'config', 'production.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^imageTag: \S+$/m, 'imageTag: 4f1e2d3'));

  expect(review(['main', '--head', 'HEAD'], dir).out).not.toMatch(/WARNING/);
  expect(review(['main', '--to', join(dir, 'dist')], dir).out).not.toMatch(/WARNING/);
});

test('markdown says it in bold, first', () => {
  const dir = repository();
  const file = join(dir, 'config', 'production.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^imageTag: \S+$/m, 'imageTag: 4f1e2d3'));

  expect(review(['--format', 'markdown'], dir).out).toMatch(/^\*\*Warning: dist\/ is stale:\*\* it is not what config\/ and the constructs synthesize/);
});

test('sources that do not synthesize: said first, and dist/ is still reviewed', () => {
  const dir = repository();
  const file = join(dir, 'config', 'production.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^imageTag: \S+$/m, 'imageTag: latest'));

  const run = review([], dir);
  expect(run.out.split('\n')[0]).toMatch(/^WARNING: dist\/ cannot be compared with the sources: they do not synthesize \(.*production\.yaml.*\)\. Fix that and run npm run synth; the review below is of dist\/ as it is on disk, not of the sources\.$/);
  expect(run.out).toMatch(/production: no change/);
  expect(run.code).toBe(0);
});
