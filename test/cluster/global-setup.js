/**
 * Starts the run's control plane (cluster/cluster.sh: built from the Kubernetes
 * sources on first use, with progress on the terminal) before any cluster test,
 * and tells the test workers its kubeconfig. Jest runs this only when a test of
 * the cluster project is selected. A control plane that cannot be built or
 * started fails the run: the deploy tests are never skipped in silence.
 */
const { spawnSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const { join } = require('node:path');
const { foldersOfDeadRuns } = require('../dead-runs');

const repo = join(__dirname, '..', '..');
const clusters = join(repo, '.cache', 'cluster');

/**
 * A run that was killed (Ctrl-C twice, SIGKILL) never reaches the global teardown: its
 * control plane keeps running and its folder stays. Stopped and removed here, by the
 * pid in the folder's name, before this run starts its own.
 */
function stopLeftovers() {
  for (const dir of foldersOfDeadRuns(clusters, /^test-(\d+)$/)) {
    process.stderr.write(`cluster tests: stopping the control plane a killed run left in ${dir}\n`);
    spawnSync(join(repo, 'cluster', 'cluster.sh'), ['down', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = async function startControlPlane() {
  stopLeftovers();
  const dir = join(clusters, `test-${process.pid}`);
  process.stderr.write(`\ncluster tests: starting the control plane in ${dir}\n`);
  const up = spawnSync(join(repo, 'cluster', 'cluster.sh'), ['up', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const match = /^export KUBECONFIG=(.+)$/m.exec(up.stdout ?? '');
  if (up.status !== 0 || match === null) {
    throw new Error(
      `cluster/cluster.sh up failed (exit ${up.status}${up.error ? `, ${up.error.message}` : ''}): the deploy tests need the ` +
        'control plane. The lines above say why; cluster/README.md says what it needs (Go, the module proxy).',
    );
  }
  process.env.HONEYDUE_TEST_KUBECONFIG = match[1];
  // The kubectl built with the control plane (1.34), first on PATH as `up` says: the workers inherit it.
  const path = /^export PATH="(.+):\$PATH"$/m.exec(up.stdout);
  if (path !== null) process.env.PATH = `${path[1]}:${process.env.PATH}`;
  process.env.HONEYDUE_TEST_CLUSTER_DIR = dir;
  // kubectl's discovery cache, kept with the control plane (removed with it) rather than in ~/.kube/cache,
  // where every run's new port would leave one more folder behind.
  process.env.KUBECACHEDIR = join(dir, 'kube-cache');
};
