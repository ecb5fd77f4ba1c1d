/**
 * What `npm run mutate` shares between the jest environment, sequencer and runner of one Stryker
 * test process (jest runs in band there, so node loads each once):
 *
 * - Which test file holds which test, and how long the file took. Stryker names the tests that
 *   cover a mutant by their full names (`testNamePattern`), and jest would load every test file
 *   (cdk8s, the constructs) only to skip most of them. The environment records each test's file
 *   during Stryker's first run, which runs every test; the sequencer keeps the files whose tests
 *   the pattern names, quickest first.
 * - Whether a test of the current run failed: the mutant is killed, so the environment skips the
 *   file's remaining tests and the runner the remaining files (Stryker's jest runner cannot make
 *   jest bail).
 */
const fs = require('fs');
const path = require('path');

/** In Stryker's sandbox (the jest rootDir), made again by each run. */
const indexFile = (rootDir) => path.join(rootDir, '.stryker-test-index.tsv');

/** Jest's full name of a test: its describe blocks' names and its own, as Stryker names tests. */
function fullName(test) {
  const names = [];
  for (let block = test.parent; block?.parent; block = block.parent) names.unshift(block.name);
  return [...names, test.name].join(' ');
}

function record(rootDir, testPath, milliseconds, names) {
  fs.appendFileSync(indexFile(rootDir), names.map((name) => `${testPath}\t${milliseconds}\t${name.replace(/[\t\n]/g, ' ')}\n`).join(''));
}

/** Test file path -> its milliseconds and the full names of its tests, or undefined before the first run. */
function readIndex(rootDir) {
  if (!fs.existsSync(indexFile(rootDir))) return undefined;
  const files = new Map();
  for (const line of fs.readFileSync(indexFile(rootDir), 'utf8').split('\n').filter(Boolean)) {
    const [file, milliseconds, name] = line.split('\t');
    if (!files.has(file)) files.set(file, { milliseconds: Number(milliseconds), names: [] });
    files.get(file).names.push(name);
  }
  return files;
}

/** The current run: the sequencer starts it, the environment marks a failure. */
const run = { failed: false };

module.exports = { fullName, record, readIndex, run };
