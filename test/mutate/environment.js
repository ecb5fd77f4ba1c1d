/**
 * jest's node environment for `npm run mutate` (runs.js): under Stryker it records which file holds
 * which test during the run of every test, and in a mutant's run skips the tests after one failed.
 */
const { TestEnvironment } = require('jest-environment-node');
const { fullName, record, run } = require('./runs');

class MutateEnvironment extends TestEnvironment {
  #rootDir;
  #testPath;
  #started = Date.now();
  #names = [];
  // Stryker's first run runs every test and records; a mutant's run (Stryker names the mutant in the environment) stops at a failure.
  #mutantRun = process.env.__STRYKER_ACTIVE_MUTANT__ !== undefined;

  constructor(config, context) {
    super(config, context);
    this.#rootDir = config.projectConfig.rootDir;
    this.#testPath = context.testPath;
  }

  async handleTestEvent(event) {
    if (this.#mutantRun) {
      if (event.name === 'test_start' && run.failed) event.test.mode = 'skip';
      if (event.name === 'test_done' && event.test.errors.length > 0) run.failed = true;
    } else if (event.name === 'test_start') {
      this.#names.push(fullName(event.test));
    }
  }

  async teardown() {
    // Stryker's environment (a subclass of this one) puts its context on the global: outside Stryker nothing is written.
    if (!this.#mutantRun && this.global.__stryker__ !== undefined && this.#names.length > 0) {
      record(this.#rootDir, this.#testPath, Date.now() - this.#started, this.#names);
    }
    await super.teardown();
  }
}

module.exports = MutateEnvironment;
