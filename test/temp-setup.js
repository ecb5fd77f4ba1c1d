/**
 * Gives the whole test run one temporary folder of its own: jest's workers, and the
 * processes tests start with the workers' environment, inherit TMPDIR, so what the
 * tests create with mkdtemp (cdk8s's Testing.app() makes one per call) lands there
 * and goes with the run (test/temp-teardown.js, which also puts TMPDIR back for the
 * next run in this process: Stryker runs jest many times in one). Without it the
 * machine's /tmp kept every run's folders (377,000 entries on 2026-12-07), and each
 * synth into a folder there listed them all. A run that was killed never reaches its
 * teardown: its folder, named after its pid, is removed by the next run.
 */
const { mkdirSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { foldersOfDeadRuns } = require('./dead-runs');

module.exports = async function useRunTempFolder() {
  // Read by test/temp-teardown.js (jest shares a global setup's globals with its teardown).
  globalThis.tmpdirBeforeTheRun = process.env.TMPDIR;
  const parent = tmpdir();
  for (const folder of foldersOfDeadRuns(parent, /^honeydue-test-run-(\d+)$/)) rmSync(folder, { recursive: true, force: true });
  const folder = join(parent, `honeydue-test-run-${process.pid}`);
  mkdirSync(folder, { recursive: true });
  process.env.HONEYDUE_TEST_TMPDIR = folder;
  process.env.TMPDIR = folder;
};
