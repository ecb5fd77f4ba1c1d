/**
 * `npm run bench:deploy`: the deploy's figures on the local control plane (docs/benchmark.md).
 * The cluster project of jest.config.js, running deploy.bench.ts instead of the tests.
 */
const { projects } = require('../../jest.config.js');

const cluster = projects.find((project) => project.displayName === 'cluster');
module.exports = { ...cluster, rootDir: '../..', testMatch: ['**/test/cluster/*.bench.ts'], testTimeout: 600000 };
