import * as path from 'path';

/**
 * How the npm scripts start a TypeScript entry (package.json): `bin/node-ts ENTRY [ARGS...]`,
 * which bundles it with esbuild and execs node: one node process. Named by its path, so a
 * process started in another folder finds it.
 */
export const NODE_TS = path.join(__dirname, '..', 'bin', 'node-ts');
