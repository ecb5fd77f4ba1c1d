import * as fs from 'fs';
import * as path from 'path';

/**
 * This repository's folder: the nearest folder above this module that holds package.json.
 * Found by walking up rather than by a count of `..`: the npm scripts run the code as one
 * bundle in .cache/bundle/ (bin/node-ts), where every module's `__dirname` is the bundle's.
 */
export const REPO_ROOT = findRoot(__dirname);

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json in ${from} or any folder above it`);
  }
}
