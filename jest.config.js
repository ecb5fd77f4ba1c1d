/** Tests run through @swc/jest (about 3x faster than ts-jest); `npm run typecheck` covers types. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest'] },
  snapshotResolver: '<rootDir>/test/snapshot-resolver.js',
  testTimeout: 60000,
};
