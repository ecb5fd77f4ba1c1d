/**
 * The run's own temporary folder (test/temp-setup.js): what a test makes with
 * mkdtemp, cdk8s's Testing.app() included, goes with the run instead of
 * staying in the machine's /tmp.
 */
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { Testing } from 'cdk8s';

test('os.tmpdir() is the run\'s folder, named after the jest process that removes it', () => {
  expect(tmpdir()).toBe(process.env.HONEYDUE_TEST_TMPDIR);
  // The jest process: this worker's parent, or this process when jest runs in band.
  expect([`honeydue-test-run-${process.ppid}`, `honeydue-test-run-${process.pid}`]).toContain(basename(tmpdir()));
  expect(existsSync(tmpdir())).toBe(true);
});

test('cdk8s\'s Testing.app() writes its outdir inside the run\'s folder', () => {
  const app = Testing.app();
  expect(dirname(app.outdir)).toBe(tmpdir());
  expect(readdirSync(tmpdir())).toContain(basename(app.outdir));
});
