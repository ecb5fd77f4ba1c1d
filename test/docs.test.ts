/**
 * The docs name what the code has: the construct table of docs/library.md
 * every construct `constructs/index.ts` exports, docs/config.md every key of
 * the production file, docs/stack.md every file synth can write; and every
 * relative link of the README and the docs leads to a file and heading.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { Construct } from 'constructs';
import * as api from '../constructs';
import { CONCERNS_IN_ORDER, concernFileName } from '../constructs/shared/concerns';

const ROOT = path.join(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

const exportedConstructs = Object.entries(api)
  .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Construct)
  .map(([name]) => name)
  .sort();

test('the library exports constructs', () => {
  expect(exportedConstructs).toEqual(expect.arrayContaining(['HoneydueApi', 'HoneydueStack', 'Worker', 'Redis']));
});

test.each(exportedConstructs)('the construct table of docs/library.md lists %s with its file', (name) => {
  const row = read('docs/library.md').split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
  expect(row).toBeDefined();
  const file = /`(constructs\/[a-z0-9-]+\.ts)`/.exec(row!)?.[1];
  expect(file).toBeDefined();
  expect(fs.existsSync(path.join(ROOT, file!))).toBe(true);
});

test('every config key of the production file has a row in docs/config.md', () => {
  const config = YAML.parse(read('config/production.yaml'));
  const reference = read('docs/config.md');
  for (const key of Object.keys(config)) {
    expect(reference).toMatch(new RegExp(`\\| \`${key}(\\.|\`)`));
  }
});

test('"What is in dist/" of docs/stack.md lists every file synth can write, in apply order', () => {
  const stack = read('docs/stack.md');
  const section = stack.slice(stack.indexOf('## What is in dist/'), stack.indexOf('## Traefik (edge)'));
  const listed = [...section.matchAll(/^\| `(\d\d-[a-z-]+\.yaml)` \|/gm)].map((m) => m[1]);
  expect(listed).toEqual(CONCERNS_IN_ORDER.map(concernFileName));
  expect(section).toMatch(/kubectl apply\s+-f dist\/<env>\/` reads a folder's files in lexical order/);
  expect(section).toMatch(/What it skips is the migration gate/);
  expect(section).toMatch(/Release with `npm run deploy`/);
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

function headings(file: string): string[] {
  const outsideCode = read(file).split(/^```.*$/m).filter((_, i) => i % 2 === 0).join('\n');
  return [...outsideCode.matchAll(/^#+ (.+)$/gm)].map((m) => anchor(m[1]));
}

const written = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

test.each(written)('every relative link of %s leads to a file and heading', (file) => {
  const broken: string[] = [];
  for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/.test(target)) continue;
    const [linked, fragment] = target.split('#');
    const resolved = linked ? path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), linked)) : file;
    if (!fs.existsSync(path.join(ROOT, resolved))) broken.push(`${target}: no file ${resolved}`);
    else if (fragment && resolved.endsWith('.md') && !headings(resolved).includes(fragment)) broken.push(`${target}: no heading #${fragment} in ${resolved}`);
  }
  expect(broken).toEqual([]);
});
