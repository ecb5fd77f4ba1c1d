/**
 * The folders a killed test run left behind: each run names a folder of its own after
 * its pid (the run's temporary folder, test/temp-setup.js; its control plane,
 * test/cluster/global-setup.js), and a run killed before its global teardown leaves it.
 */
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

/** Whether a process of that pid is running. */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** The folders in `parent` whose name `pattern` matches with the pid of a run no longer running (its first group). */
function foldersOfDeadRuns(parent, pattern) {
  if (!existsSync(parent)) return [];
  return readdirSync(parent)
    .filter((name) => {
      const pid = Number(pattern.exec(name)?.[1]);
      return pid > 0 && !alive(pid);
    })
    .map((name) => join(parent, name));
}

module.exports = { foldersOfDeadRuns };
