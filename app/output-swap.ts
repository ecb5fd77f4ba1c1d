/**
 * How synth puts a finished output folder in place, and how the next run
 * repairs what a killed one left.
 *
 * The swap is two renames: the live folder moves aside to
 * `<folder>.retired-<pid>`, then the staging folder `<out>.staging-<pid>`
 * moves in. Rename is atomic, the pair is not: a synth killed between the two
 * leaves no `<folder>` at all. Every leftover carries the pid of the synth that
 * made it, so the next run can tell a dead synth's leftovers (repaired) from a
 * running synth's folders (never touched).
 */
import * as fs from 'fs';
import * as path from 'path';

/** Test hooks of the swap; nothing in the app sets them. */
export interface SwapHooks {
  /**
   * Runs after the live folder was moved aside and before the new one is
   * moved in: the moment a kill leaves the folder missing. The kill test
   * (test/synth-swap.test.ts) stops a real child process here.
   */
  readonly betweenRenames?: (retired: string, target: string) => void;
}

const LEFTOVER = /^(.+)\.(staging|retired)-(\d+)$/;

/**
 * Repairs what interrupted synths left around `outDir` and says what it did,
 * one line each: a retired folder whose live folder is missing is moved back
 * (the kill came between the renames), one whose live folder exists is removed
 * (the kill came after the swap), and a staging folder is removed (its run
 * never finished). Folders of a synth that is still running are left alone.
 */
export function recoverInterruptedSwaps(outDir: string, log: (line: string) => void): void {
  const candidates = [
    // `<out>.staging-<pid>` and, for a full run, `<out>.retired-<pid>`.
    ...entries(path.dirname(outDir)).filter((name) => LEFTOVER.exec(name)?.[1] === path.basename(outDir)).map((name) => path.join(path.dirname(outDir), name)),
    // `<out>/<env>.retired-<pid>` of a one-environment (--env) run.
    ...entries(outDir).filter((name) => LEFTOVER.exec(name)?.[2] === 'retired').map((name) => path.join(outDir, name)),
  ];
  // Retired folders first: restoring the output matters more than tidying.
  candidates.sort((a, b) => Number(a.includes('.staging-')) - Number(b.includes('.staging-')));
  for (const leftover of candidates) {
    const [, targetName, kind, pidText] = LEFTOVER.exec(path.basename(leftover))!;
    const pid = Number(pidText);
    if (pid !== process.pid && isRunning(pid)) continue;
    const target = path.join(path.dirname(leftover), targetName);
    const shown = display(leftover);
    if (kind === 'staging') {
      fs.rmSync(leftover, { recursive: true, force: true });
      log(`recovered: removed ${shown}, the unfinished output of a synth (pid ${pid}) that was stopped before its swap`);
    } else if (!fs.existsSync(target) && restore(leftover, target)) {
      log(`recovered: restored ${display(target)} from ${shown}: a synth (pid ${pid}) was stopped between the two renames of its swap`);
    } else if (fs.existsSync(leftover)) {
      fs.rmSync(leftover, { recursive: true, force: true });
      log(`recovered: removed ${shown}, the previous output a synth (pid ${pid}) had replaced before it was stopped`);
    }
  }
}

/**
 * Moves `from` into `to`'s place. Another synth may swap its own output in
 * after ours moved `to` aside (the rename then finds `to` not empty): what we
 * moved aside is older than theirs, so it is dropped and theirs is moved
 * aside in turn. On any other failure the previous output goes back.
 */
export function swapIntoPlace(from: string, to: string, hooks: SwapHooks, log: (line: string) => void): void {
  const retired = `${to}.retired-${process.pid}`;
  refuseFileInPlace(to);
  for (let attempt = 1; ; attempt++) {
    if (fs.existsSync(to)) fs.renameSync(to, retired);
    hooks.betweenRenames?.(retired, to);
    try {
      fs.renameSync(from, to);
      break;
    } catch (error) {
      const overtaken = hasCode(error, 'ENOTEMPTY', 'EEXIST') && attempt < 5;
      if (overtaken) {
        fs.rmSync(retired, { recursive: true, force: true });
        continue;
      }
      if (!fs.existsSync(to) && fs.existsSync(retired)) fs.renameSync(retired, to);
      throw error;
    }
  }
  try {
    fs.rmSync(retired, { recursive: true, force: true });
  } catch (error) {
    // The new output is in place; the old copy is only clutter, and the next run removes it.
    log(`warning: could not remove ${display(retired)} (${describeErrno(error)}); the next synth removes it`);
  }
}

/** Refuses to replace a file with the output folder (the swap would delete it). */
export function refuseFileInPlace(folder: string): void {
  if (fs.existsSync(folder) && !fs.statSync(folder).isDirectory()) {
    throw new Error(`${folder} is a file, not a folder: synth writes a folder there; move the file away or pass --out <dir>`);
  }
}

/** What an errno means, in words, for the messages below. */
const ERRNO_MEANING: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'a folder is where a file should be',
};

/** How to fix each, for the folder synth writes into and the parent that holds its staging folder. */
function errnoFix(code: string, outDir: string): string {
  const parent = path.dirname(outDir);
  switch (code) {
    case 'EROFS':
      return `remount the file system holding ${outDir} read-write, or write elsewhere with --out <dir>`;
    case 'EACCES':
    case 'EPERM':
      return `let this user write to ${outDir} and to ${parent} (synth stages beside the output folder), clear an immutable attribute (lsattr -d, chattr -i), or write elsewhere with --out <dir>`;
    case 'ENOSPC':
    case 'EDQUOT':
      return `free space on the file system holding ${outDir} (df -h ${parent}), or write elsewhere with --out <dir>`;
    case 'ENOTDIR':
      return `move the file in the path away, or write elsewhere with --out <dir>`;
    default:
      return `fix the folder or write elsewhere with --out <dir>`;
  }
}

/**
 * Turns a file system error of the write or the swap into a message that names
 * the folder, the path and syscall that failed, what the errno means and the
 * fix. Errors without an errno pass through unchanged.
 */
export function outputFolderError(error: unknown, outDir: string): Error {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return error as Error;
  return new Error(
    `cannot write the output folder ${outDir}: ${describeErrno(error)}; ${errnoFix(code, outDir)}. ` +
      'The previous output was left as it was.',
  );
}

/** `mkdir /x/dist.staging-12: EROFS (read-only file system)` */
function describeErrno(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { dest?: string };
  const where = [e.syscall, e.path, e.dest ? `-> ${e.dest}` : undefined].filter(Boolean).join(' ');
  const code = e.code ?? 'error';
  return `${where ? `${where}: ` : ''}${code} (${ERRNO_MEANING[code] ?? e.message})`;
}

function hasCode(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException)?.code ?? '');
}

function entries(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Signal 0 tests for existence; EPERM means it exists under another user. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return hasCode(error, 'EPERM');
  }
}

/**
 * Moves a retired folder back. False when a concurrent synth got there first:
 * it restored the folder (ours is gone) or swapped its own output in (ours is
 * then the older copy, removed by the caller).
 */
function restore(retired: string, target: string): boolean {
  try {
    fs.renameSync(retired, target);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTEMPTY', 'EEXIST')) return false;
    throw error;
  }
}

/** Relative to the working directory when inside it (`dist.retired-12`), else absolute. */
function display(target: string): string {
  const relative = path.relative(process.cwd(), target);
  return relative === '' ? '.' : relative.startsWith('..') ? target : relative;
}
