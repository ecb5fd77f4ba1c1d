/**
 * `npm run deploy -- --tag <sha>`: synthesize one release and roll it out behind
 * the migration gate. The logic lives in app/deploy/; this file wires it to the
 * terminal.
 */
import { join } from 'node:path';
import { runDeployCli } from '../app/deploy/cli';

const repoRoot = join(__dirname, '..');

runDeployCli(process.argv.slice(2), {
  env: process.env,
  output: { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) },
  cwd: process.cwd(),
  repoRoot,
  synthCommand: ['npx', 'tsx', 'main.ts'],
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`deploy crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
