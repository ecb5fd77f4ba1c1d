/**
 * A contract test skipped for a missing binary says so in the run's closing
 * summary, with the install command, not only in the middle of the output.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const { CONTRACT_PACKAGES, skipSummary } = require('./contracts/skip-reporter.js');

const ROOT = join(__dirname, '..');
const pending = (ancestor: string, title: string) => ({ status: 'pending', ancestorTitles: [ancestor], title });

test('the summary names each missing binary once and the packages .ci/run installs', () => {
  const results = {
    testResults: [
      { testResults: [pending('Redis container contract (skipped: busybox, redis-server not installed)', 'a'), pending('Redis container contract (skipped: busybox, redis-server not installed)', 'b')] },
      { testResults: [pending('vmagent container contract (skipped: vmagent not installed)', 'c'), { status: 'passed', ancestorTitles: ['x'], title: 'y' }] },
    ],
  };
  expect(skipSummary(results)).toBe(`contract tests skipped: busybox, redis-server, vmagent not installed; install: sudo apt-get install ${CONTRACT_PACKAGES.join(' ')}`);
});

test('nothing skipped for a binary: no line', () => {
  expect(skipSummary({ testResults: [{ testResults: [pending('other', 'test.skip of its own')] }] })).toBeUndefined();
});

test('the packages are the ones .ci/run installs', () => {
  const line = /^contract_packages=\(([^)]*)\)$/m.exec(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'));
  expect(CONTRACT_PACKAGES).toEqual((line as RegExpExecArray)[1].split(' '));
});

test('jest on a contract test without its binary ends with the line', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: '/nonexistent' };
  delete env.CI;
  const run = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js'), '--selectProjects', 'unit', '--maxWorkers=1', 'test/contracts/vmagent.contract.test.ts'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  expect(run.status).toBe(0);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines[lines.length - 1]).toBe(`contract tests skipped: vmagent not installed; install: sudo apt-get install ${CONTRACT_PACKAGES.join(' ')}`);
  expect(run.stderr).toMatch(/Tests: +\d+ skipped/);
});
