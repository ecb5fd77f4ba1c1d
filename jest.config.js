const { availableParallelism } = require('node:os');

/** Tests run through @swc/jest (about 3x faster than ts-jest); `npm run typecheck` covers types. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest'] },
  snapshotResolver: '<rootDir>/test/snapshot-resolver.js',
  testTimeout: 60000,
  // Half again as many workers as cores (jest's default is one fewer than the cores): the deploy,
  // synth and check tests spend much of their time starting and waiting on processes (each deploy
  // test starts about 40 stand-in kubectl calls one after another), so another file runs meanwhile.
  // On 2 cores that is 3 workers: the deploy, synth, review, check and config files together took
  // 31-35 s with 3 and 35-46 s with 2; the files that start no process took the same either way.
  // (A percentage over 100% is not accepted by jest, hence the number.)
  maxWorkers: Math.max(2, Math.ceil(availableParallelism() * 1.5)),
};
