/**
 * jest's sequencer for `npm run mutate` (runs.js): in a mutant's run, a file that failed in the last
 * run first, then the quickest, so a killed mutant stops early; when the run names its tests, only
 * the files holding them (a static mutant's run names none: it runs every file). It starts the run
 * with no test failed.
 */
const Sequencer = require('@jest/test-sequencer').default;
const { readIndex, run } = require('./runs');

class MutateSequencer extends Sequencer {
  #globalConfig;

  constructor(options) {
    super(options);
    this.#globalConfig = options.globalConfig;
  }

  sort(tests) {
    run.failed = false;
    const pattern = this.#globalConfig.testNamePattern;
    // Stryker's first run records the index (environment.js); it runs every test, in jest's order.
    const index = readIndex(this.#globalConfig.rootDir);
    if (!index) return super.sort(tests);
    const named = pattern ? new RegExp(pattern, 'i') : /(?:)/;
    // A file the first run did not record (none should be) runs, last.
    const cost = (test) => index.get(test.path)?.milliseconds ?? Infinity;
    // A file that failed in the last run first: neighbouring mutants die in the same file.
    const failedLast = (test) => (this.hasFailed(test) ? 0 : 1);
    return tests
      .filter((test) => !index.has(test.path) || index.get(test.path).names.some((name) => named.test(name)))
      .sort((a, b) => failedLast(a) - failedLast(b) || cost(a) - cost(b));
  }
}

module.exports = MutateSequencer;
