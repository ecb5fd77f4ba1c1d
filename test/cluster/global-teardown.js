/** Stops every process global-setup.js started (by PID) and removes its folder. */
const { spawnSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const { join } = require('node:path');

module.exports = async function stopControlPlane() {
  const dir = process.env.HONEYDUE_TEST_CLUSTER_DIR;
  if (dir === undefined) return;
  spawnSync(join(__dirname, '..', '..', 'cluster', 'cluster.sh'), ['down', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(dir, { recursive: true, force: true });
};
