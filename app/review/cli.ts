/**
 * `npm run review [BASE]`: a reviewer's summary of what the change of `dist/`
 * between BASE and the working tree does to the cluster, per environment.
 * Exit 0 when the summary is printed (whatever it says: it informs, the
 * reviewer decides), 2 when it cannot be made (no such revision, no base to
 * compare with, unreadable YAML, a bad option). A working tree's dist/ that is
 * not what the sources synthesize is said first, then reviewed as it is (exit 0).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { parseCommandLine } from '../shared/command';
import { distTree, DistTree, git, readDistAtRevision, ReviewError, treeOfDir } from './load';
import { renderReview, ReviewFormat } from './render';
import { reviewTrees } from './review';
import { staleDistWarning } from './stale';

/** Where the summary (out) and the messages of a review that cannot run (err) go. */
export interface ReviewIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

export interface ReviewContext {
  /** Where relative --from/--to folders are read from (the shell's working directory). */
  readonly cwd: string;
  /** The repository folder that holds dist/: git runs here and the working tree's dist/ is read here. */
  readonly repoDir: string;
  /**
   * The config folder the stack labels (`labels`, `environmentLabel`) are read
   * from, to know what the deploy prunes and which environment a file of the
   * tree's root belongs to. @default config/ of the repository, the one the deploy reads
   */
  readonly configDir?: string;
  readonly io: ReviewIo;
}

/**
 * The branches the default base is the merge base with, the first that exists:
 * `origin/main` serves a clone of another branch, which has main only as a remote branch.
 */
export const MAIN_BRANCHES = ['main', 'origin/main'];

interface Options {
  base?: string;
  head?: string;
  from?: string;
  to?: string;
  env?: string;
  format: ReviewFormat;
}

/** Runs the CLI on argv (without `node script`) and returns the exit code. */
export function runReviewCli(argv: readonly string[], context: ReviewContext): number {
  const { io } = context;
  const program = new Command('review')
    .description("Summarize what the change of dist/ does to the cluster: objects added, pruned and changed, rollouts, apply refusals, manual steps")
    .argument('[base]', 'the git revision to compare with (default: the merge base of HEAD with main)')
    .option('--base <revision>', 'the same as the BASE argument')
    .option('--head <revision>', 'compare with dist/ at this revision instead of the working tree')
    .option('--from <dir>', 'read the old side from this folder (one sub-folder per environment) instead of git')
    .option('--to <dir>', 'read the new side from this folder instead of the working tree\'s dist/')
    .option('--env <name>', 'review one environment only')
    .addOption(new Option('--format <format>', 'text for a terminal or a CI log, markdown for a pull request').choices(['text', 'markdown']).default('text'))
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const parsed = parseCommandLine(program, argv);
  if (parsed !== undefined) return parsed;
  const options = program.opts<Options>();
  const positional = program.processedArgs[0] as string | undefined;
  try {
    if (positional !== undefined && options.base !== undefined && positional !== options.base) {
      throw new ReviewError(`two bases given (${positional} and --base ${options.base}): give one`);
    }
    const base = positional ?? options.base;
    if (options.from !== undefined && base !== undefined) {
      throw new ReviewError(`both a base revision (${base}) and --from ${options.from} name the old side: give one`);
    }
    if (options.to !== undefined && options.head !== undefined) {
      throw new ReviewError(`both --head ${options.head} and --to ${options.to} name the new side: give one`);
    }
    const before = options.from !== undefined ? side(treeOfDir(resolve(context.cwd, options.from), context.configDir), options.from) : revisionSide(context, base);
    const after =
      options.to !== undefined
        ? side(treeOfDir(resolve(context.cwd, options.to), context.configDir), options.to)
        : options.head !== undefined
          ? revisionSide(context, options.head)
          : workingTreeSide(context);
    if (options.env !== undefined && !before.tree.has(options.env) && !after.tree.has(options.env)) {
      const known = [...new Set([...before.tree.keys(), ...after.tree.keys()])].sort();
      throw new ReviewError(`no environment ${options.env} on either side (they hold: ${known.join(', ') || 'none'}): name one of them with --env`);
    }
    // Only the working tree's dist/ is what the sources beside it should synthesize; a revision's or a folder's is as it was made.
    const warning = options.to === undefined && options.head === undefined ? staleDistWarning(context.repoDir, context.configDir, options.format) : undefined;
    if (warning !== undefined) io.out(warning);
    const review = reviewTrees(before.tree, after.tree, before.label, after.label, { only: options.env, configDir: context.configDir });
    io.out(renderReview(review, options.format));
    return 0;
  } catch (error) {
    if (error instanceof ReviewError) {
      io.err(`review: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

interface Side {
  readonly tree: DistTree;
  readonly label: string;
}

const side = (tree: DistTree, label: string): Side => ({ tree, label });

function workingTreeSide({ repoDir, configDir }: ReviewContext): Side {
  const dist = join(repoDir, 'dist');
  if (!existsSync(dist)) throw new ReviewError(`${dist} does not exist: synthesize first (npm run synth), or name the new side with --to DIR`);
  return side(treeOfDir(dist, configDir), 'working tree');
}

/**
 * dist/ at a revision; without one, at the merge base of HEAD with main. A
 * clone without main (single-branch CI checkouts) or too shallow to hold the
 * merge base cannot name the default base: the message says how to name one.
 */
function revisionSide({ repoDir, configDir }: ReviewContext, revision: string | undefined): Side {
  try {
    git(repoDir, ['rev-parse', '--is-inside-work-tree']);
  } catch {
    throw new ReviewError(`${repoDir} is not in a git repository: compare two folders instead (--from DIR --to DIR)`);
  }
  if (revision !== undefined) {
    const commit = verifyCommit(repoDir, revision);
    if (commit === undefined) {
      throw new ReviewError(`${revision} is not a commit of this repository: name a branch, tag or commit (git log --oneline shows them)`);
    }
    return side(distTree(readDistAtRevision(repoDir, commit), 'dist', configDir), commit.startsWith(revision) ? revision : `${revision} (${commit.slice(0, 7)})`);
  }
  const main = MAIN_BRANCHES.find((branch) => verifyCommit(repoDir, branch) !== undefined);
  if (main === undefined) {
    throw new ReviewError(
      `no branch ${MAIN_BRANCHES.join(' nor ')} to take the merge base with (a single-branch or shallow clone?): ` +
        'name the base, npm run review -- <BASE>, or fetch main (git fetch origin main)',
    );
  }
  let mergeBase: string;
  try {
    mergeBase = git(repoDir, ['merge-base', 'HEAD', main]).toString('utf8').trim();
  } catch {
    throw new ReviewError(
      `HEAD and ${main} have no merge base in this clone (a shallow clone cuts the history): ` +
        'git fetch --unshallow, or name the base: npm run review -- <BASE>',
    );
  }
  return side(distTree(readDistAtRevision(repoDir, mergeBase), 'dist', configDir), `${main} (merge base ${mergeBase.slice(0, 7)})`);
}

function verifyCommit(repoDir: string, revision: string): string | undefined {
  try {
    return git(repoDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`]).toString('utf8').trim();
  } catch {
    return undefined;
  }
}
