/**
 * jest's sequencer for `npm run mutate` (runs.js): when a run names its tests (a mutant's run), it
 * keeps only the files holding them, a file that failed in the last run first, then the quickest,
 * and starts the run with no test failed.
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
    const index = pattern ? readIndex(this.#globalConfig.rootDir) : undefined;
    if (!index) return super.sort(tests);
    const named = new RegExp(pattern, 'i');
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
