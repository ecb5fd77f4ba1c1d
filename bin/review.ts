/** `npm run review [BASE]`: see app/review/cli.ts and the README, "Reviewing a change through its dist/ diff". */
import { join } from 'node:path';
import { runReviewCli } from '../app/review/cli';

process.exitCode = runReviewCli(process.argv.slice(2), {
  cwd: process.cwd(),
  repoDir: join(__dirname, '..'),
  io: { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) },
});
