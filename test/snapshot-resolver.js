// Keep snapshots in the top-level __snapshots__/ folder, where reviewers expect them.
const path = require('path');
const root = path.resolve(__dirname, '..');
module.exports = {
  resolveSnapshotPath: (testPath, ext) => path.join(root, '__snapshots__', path.basename(testPath) + ext),
  resolveTestPath: (snapshotPath, ext) => path.join(root, 'test', path.basename(snapshotPath).slice(0, -ext.length)),
  testPathForConsistencyCheck: path.join(root, 'test', 'example.test.ts'),
};
