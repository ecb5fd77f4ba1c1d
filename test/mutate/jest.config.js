/**
 * The tests `npm run mutate` runs against each mutant (stryker.config.js): the unit tests that run
 * in jest's own process. Left out are the cluster tests and the tests that start the commands as
 * processes: a mutant lives in this process's modules only, so a child process never sees it, and
 * each of those takes seconds where a mutant's tests take milliseconds. The docs tests read the
 * sources' text, which Stryker's sandbox holds instrumented. The tests that render whole
 * environments once per file in a beforeAll (the config files' relations, the architecture graph,
 * dist/'s order) run the constructs outside any test, which would make every mutant re-run every
 * test file; those that render them in each test (the YAML writer, the check of the rendered
 * stack, the environment label, the commands) take 0.2-1 s a test, which every surviving mutant
 * of a construct would pay. The constructs' own tests cover those lines test by test. The environment, sequencer
 * and runner run a mutant's tests without loading the files that hold none of them, and stop at the
 * first failure (runs.js).
 */
const path = require('path');
const base = require('../../jest.config.js').projects.find((project) => project.displayName === 'unit');

const OUT_OF_PROCESS = [
  'bench', 'contract-skips', 'environment-data', 'imports', 'kubernetes-models-reads', 'package', 'synth', 'synth-swap',
  'deploy', 'deploy-faults', 'deploy-labels', 'deploy-lock', 'deploy-preview', 'deploy-refusal', 'deploy-signals',
  'review', 'review-effects', 'review-flows', 'review-git', 'review-stale',
];
const READ_SOURCES = ['api-docs', 'docs'];
const RENDER_IN_BEFORE_ALL = ['architecture', 'environments', 'ordering'];
const RENDER_IN_EACH_TEST = ['check-stack', 'command-line', 'deploy-environment-label', 'manifest-yaml'];

module.exports = {
  ...base,
  rootDir: path.join(__dirname, '..', '..'),
  displayName: undefined,
  testEnvironment: path.join(__dirname, 'environment.js'),
  testSequencer: path.join(__dirname, 'sequencer.js'),
  runner: path.join(__dirname, 'runner.js'),
  globalSetup: path.join(__dirname, '..', 'temp-setup.js'),
  globalTeardown: path.join(__dirname, '..', 'temp-teardown.js'),
  testPathIgnorePatterns: [
    '/test/cluster/',
    '/test/contracts/',
    `/test/(${[...OUT_OF_PROCESS, ...READ_SOURCES, ...RENDER_IN_BEFORE_ALL, ...RENDER_IN_EACH_TEST].join('|')})\\.test\\.ts$`,
  ],
};
