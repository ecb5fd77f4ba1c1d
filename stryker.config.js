/**
 * `npm run mutate`: mutation testing of the constructs and the checker's rules (docs/testing.md).
 * Each mutant runs only the tests that executed its line (per-test coverage), so a test builds its
 * objects inside test() or beforeEach(): code run at import, in a describe body or in beforeAll
 * runs outside any test, and a mutant there re-runs every test file.
 */
module.exports = {
  mutate: ['constructs/**/*.ts', 'manifest-check/rules/**/*.ts'],
  testRunner: 'jest',
  // The sequencer picks a mutant's test files (test/mutate/runs.js); jest's related-files search would miss
  // the tests that reach the constructs through app/, which is not among the roots.
  jest: { configFile: 'test/mutate/jest.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  // Two cores: one test process each.
  concurrency: 2,
  // `--incremental` is on: a run tests again only the mutants whose code or covering tests changed. The
  // file is not committed (reports/ is ignored): it holds one machine's results of one tree, and every
  // source or test change would rewrite a megabyte of JSON; a fresh clone starts with a full run.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // Stryker's sandbox is a copy of the repository: not the local control plane's binaries or old outputs.
  ignorePatterns: ['.cache', '.deploy', 'build', 'coverage', 'reports', '.cdk8s.out'],
  // event-recorder writes each mutant's result as it is known (reports/mutation/events/), so a run stopped
  // before its end still leaves what it found: the other reporters write only at the end.
  reporters: ['clear-text', 'progress', 'html', 'json', 'event-recorder'],
  eventReporter: { baseDir: 'reports/mutation/events' },
  // The per-file score table, without the list of every test.
  clearTextReporter: { logTests: false },
  thresholds: { high: 95, low: 90, break: null },
  timeoutMS: 10000,
  tempDirName: '.stryker-tmp',
};
