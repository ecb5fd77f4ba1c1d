/** Removes the run's temporary folder (test/temp-setup.js) and puts TMPDIR back as it was before the run. */
const { rmSync } = require('node:fs');

module.exports = async function removeRunTempFolder() {
  const folder = process.env.HONEYDUE_TEST_TMPDIR;
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  delete process.env.HONEYDUE_TEST_TMPDIR;
  if (globalThis.tmpdirBeforeTheRun === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = globalThis.tmpdirBeforeTheRun;
};
