/**
 * How the npm scripts start a TypeScript entry (package.json): `node --require tsx/cjs ENTRY`,
 * one node process. tsx is named by its path, so a process started in another folder finds it.
 */
export const NODE_TS_ARGS: readonly string[] = ['--require', require.resolve('tsx/cjs')];
