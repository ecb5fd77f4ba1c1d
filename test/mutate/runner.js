/** jest's runner for `npm run mutate` (runs.js): in a mutant's run, no file starts after a test failed. */
const TestRunner = require('jest-runner').default;
const { run } = require('./runs');

class MutateRunner extends TestRunner {
  async runTests(tests, watcher, options) {
    for (const test of tests) {
      if (run.failed) return;
      await super.runTests([test], watcher, options);
    }
  }
}

module.exports = MutateRunner;
