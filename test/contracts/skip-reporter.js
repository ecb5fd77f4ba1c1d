/**
 * A jest reporter (jest.config.js `reporters`): after the default reporter's
 * summary, one line naming the binaries whose contract tests were skipped and
 * the command that installs them. describeWithBinaries (support.ts) names them in
 * the skipped block's title, `(skipped: redis-server, busybox not installed)`.
 */

/** What .ci/run installs for the contract tests (`contract_packages`); a test holds the two equal. */
const CONTRACT_PACKAGES = ['redis-server', 'busybox', 'postgresql', 'victoria-metrics', 'openssl'];

const SKIPPED = /\(skipped: (.+) not installed\)$/;

/** The closing line for a run's results, or undefined when no contract test was skipped for a binary. */
function skipSummary(results) {
  const missing = new Set();
  for (const file of results.testResults) {
    for (const test of file.testResults) {
      if (test.status !== 'pending') continue;
      for (const title of test.ancestorTitles) {
        const match = SKIPPED.exec(title);
        if (match) for (const binary of match[1].split(', ')) missing.add(binary);
      }
    }
  }
  if (missing.size === 0) return undefined;
  return `contract tests skipped: ${[...missing].sort().join(', ')} not installed; install: sudo apt-get install ${CONTRACT_PACKAGES.join(' ')}`;
}

class ContractSkipReporter {
  onRunComplete(_contexts, results) {
    this.line = skipSummary(results);
    // Jest adds its own summary (the totals, `Ran all test suites`) after every custom reporter:
    // the line goes out as the process exits, so it is the run's last (stderr to a pipe or a terminal is synchronous).
    if (this.line !== undefined && !this.waiting) {
      this.waiting = true;
      process.once('exit', () => process.stderr.write(`${this.line}\n`));
    }
  }
}

module.exports = ContractSkipReporter;
module.exports.skipSummary = skipSummary;
module.exports.CONTRACT_PACKAGES = CONTRACT_PACKAGES;
