/** `npm run review [BASE]`: see app/review/cli.ts and docs/review.md. */
import { runReviewCli } from '../app/review/cli';
import { REPO_ROOT } from '../app/shared/repo-root';

process.exitCode = runReviewCli(process.argv.slice(2), {
  cwd: process.cwd(),
  repoDir: REPO_ROOT,
  io: { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) },
});
