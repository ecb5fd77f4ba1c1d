/** Removes the run's temporary folder (test/temp-setup.js). */
const { rmSync } = require('node:fs');

module.exports = async function removeRunTempFolder() {
  const folder = process.env.HONEYDUE_TEST_TMPDIR;
  if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
};
