/** Tests run through @swc/jest (about 3x faster than ts-jest); `npm run typecheck` covers types. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest'] },
  snapshotResolver: '<rootDir>/test/snapshot-resolver.js',
  testTimeout: 60000,
  // One worker per core, not jest's default of one fewer: the deploy, synth and check tests spend
  // much of their time waiting on the processes they start, so a second file runs meanwhile. On
  // 2 cores that is 2 workers instead of 1, and about half the wall time for the same CPU time.
  maxWorkers: '100%',
};
