/** `npm run review [BASE]`: see app/review/cli.ts and the README, "Reviewing a change through its dist/ diff". Run by bin/run, which calls main. */
import { join } from 'node:path';
import { runReviewCli } from '../app/review/cli';

export function main(argv: string[]): void {
  process.exitCode = runReviewCli(argv, {
    cwd: process.cwd(),
    repoDir: join(__dirname, '..'),
    io: { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) },
  });
}
