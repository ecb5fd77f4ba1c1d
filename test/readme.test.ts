/**
 * The README's construct table is the first thing a library user reads: it
 * must name every construct `constructs/index.ts` exports.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { Construct } from 'constructs';
import * as api from '../constructs';
import { CONCERNS_IN_ORDER, concernFileName } from '../constructs/shared/concerns';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

const exportedConstructs = Object.entries(api)
  .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Construct)
  .map(([name]) => name)
  .sort();

test('the library exports constructs', () => {
  expect(exportedConstructs).toEqual(expect.arrayContaining(['HoneydueApi', 'HoneydueStack', 'Worker', 'Redis']));
});

test.each(exportedConstructs)('the README construct table lists %s with its file', (name) => {
  const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
  expect(row).toBeDefined();
  const file = /`(constructs\/[a-z0-9-]+\.ts)`/.exec(row!)?.[1];
  expect(file).toBeDefined();
  expect(fs.existsSync(path.join(__dirname, '..', file!))).toBe(true);
});

test('every config key of the production file has a row in the config reference', () => {
  const config = YAML.parse(fs.readFileSync(path.join(__dirname, '..', 'config', 'production.yaml'), 'utf8'));
  for (const key of Object.keys(config)) {
    expect(readme).toMatch(new RegExp(`\\| \`${key}(\\.|\`)`));
  }
});

test('the README benchmark figures are the ones docs/benchmark.md recorded', () => {
  const recorded = fs.readFileSync(path.join(__dirname, '..', 'docs', 'benchmark.md'), 'utf8');
  const measuredLine = recorded.split('\n').find((line) => line.startsWith('Measured '));
  expect(measuredLine).toBeDefined();
  expect(readme).toContain(measuredLine);
  const synthRow = recorded.split('\n').find((line) => line.startsWith('| `npm run synth`, end to end'));
  expect(readme).toContain(synthRow);
  expect(readme).not.toContain('-->\n');
});

test('"What is in dist/" lists every file synth can write, in apply order', () => {
  const section = readme.slice(readme.indexOf('## What is in dist/'), readme.indexOf('## Reviewing a change'));
  const listed = [...section.matchAll(/^\| `(\d\d-[a-z-]+\.yaml)` \|/gm)].map((m) => m[1]);
  expect(listed).toEqual(CONCERNS_IN_ORDER.map(concernFileName));
  expect(section).toMatch(/kubectl apply\s+-f dist\/<env>\/` reads a folder's files in lexical order/);
  expect(section).toMatch(/What it skips is the migration gate/);
  expect(section).toMatch(/Release with `npm run deploy`/);
});
