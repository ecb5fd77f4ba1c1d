/** `npm run check [DIR]`: see app/check/cli.ts and docs/check.md. Run by bin/run, which calls main. */
import { runCheckCli } from '../app/check/cli';

export function main(argv: string[]): void {
  process.exitCode = runCheckCli(argv);
}
