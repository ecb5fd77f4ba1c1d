const { availableParallelism } = require('node:os');

/** Tests run through @swc/jest, which strips types without checking them; `npm run typecheck` covers types. */
const common = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest'] },
  snapshotResolver: '<rootDir>/test/snapshot-resolver.js',
};

module.exports = {
  testTimeout: 60000,
  // Half again as many workers as cores: the deploy, synth and check tests spend much of their time
  // waiting on processes (docs/benchmark.md has the figures).
  maxWorkers: Math.max(2, Math.ceil(availableParallelism() * 1.5)),
  // The default summary, then which contract tests were skipped for a missing binary and how to install it.
  reporters: ['default', '<rootDir>/test/contracts/skip-reporter.js'],
  // One temporary folder per run, removed after it (test/temp-setup.js).
  globalSetup: '<rootDir>/test/temp-setup.js',
  globalTeardown: '<rootDir>/test/temp-teardown.js',
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/test'], testPathIgnorePatterns: ['/test/cluster/'] },
    {
      ...common,
      displayName: 'cluster',
      roots: ['<rootDir>/test/cluster'],
      // One control plane for the whole run, started only when a cluster test is selected.
      globalSetup: '<rootDir>/test/cluster/global-setup.js',
      globalTeardown: '<rootDir>/test/cluster/global-teardown.js',
    },
  ],
};
