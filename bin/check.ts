/** `npm run check [DIR]`: see app/check/cli.ts and docs/check.md. */
import { runCheckCli } from '../app/check/cli';

process.exitCode = runCheckCli(process.argv.slice(2));
