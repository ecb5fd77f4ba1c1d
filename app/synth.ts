import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './shared/repo-root';
import { listEnvironments, loadEnvironment } from './config';
import { CheckedEnvironment, checkEnvironments } from './environments';
import { outputFolderError, recoverInterruptedSwaps, refuseFileInPlace, swapIntoPlace, SwapHooks } from './output-swap';
import { renderFiles, RenderedFile } from './render';

export type { RenderedFile } from './render';

export interface SynthOptions {
  /** Environments to synthesize. @default every `config/*.yaml` */
  readonly envs?: string[];
  /** Replaces every environment's image tag. */
  readonly imageTag?: string;
  /**
   * Where {@link imageTag} came from (`--tag`, `HONEYDUE_IMAGE_TAG`): its problems
   * and the line saying it replaced the config's tag name it.
   * @default 'the imageTag override'
   */
  readonly imageTagSource?: string;
  /** Where the manifests land. @default '<repo>/dist' */
  readonly outDir?: string;
  /** @default '<repo>/config' */
  readonly configDir?: string;
  /**
   * Runs on the rendered files before anything is written; throwing aborts
   * the synth with `dist/` untouched. The manifest check plugs in here.
   */
  readonly beforeWrite?: (files: RenderedFile[]) => void;
  /** Progress lines. @default console.log */
  readonly log?: (line: string) => void;
  /** Test hooks of the swap (see app/output-swap.ts); the app never sets them. */
  readonly swapHooks?: SwapHooks;
}

export interface SynthResult {
  readonly outDir: string;
  readonly files: RenderedFile[];
  /** What changed in the output folder; synth prints it. */
  readonly changes: OutputChanges;
}


/** Builds an environment's stack in memory: config -> constructs -> one file per chart. */
export function renderEnvironment(env: string, options: Pick<SynthOptions, 'imageTag' | 'imageTagSource' | 'configDir' | 'log'> = {}): RenderedFile[] {
  const loaded = loadEnvironment(env, { configDir: options.configDir, imageTag: options.imageTag, imageTagSource: options.imageTagSource });
  return renderLoaded({ loaded, files: renderFiles(loaded) }, options.log ?? console.log);
}

/** The files of an environment the check rendered, after the lines of each value an override replaced and what the stack left out. */
function renderLoaded(checked: CheckedEnvironment, log: (line: string) => void): RenderedFile[] {
  const { env } = checked.loaded;
  for (const line of checked.loaded.overridden) log(`  ${env}: ${line}`);
  // What the stack left out on purpose (observability without a token Secret, ...), one line each.
  for (const notice of checked.loaded.stack.notices) log(`  ${env}: ${notice}`);
  return checked.files;
}

/** writeFileSync, with the path on its error (a failed write, ENOSPC, names none). */
function writeFile(target: string, content: string): void {
  try {
    fs.writeFileSync(target, content);
  } catch (error) {
    (error as NodeJS.ErrnoException).path ??= target;
    throw error;
  }
}

/**
 * Synthesizes into a staging folder and swaps it into place only when every
 * environment rendered and passed `beforeWrite`. A failed synth leaves the
 * previous output byte for byte as it was; a write that fails for the file
 * system's sake (read-only, full, no permission) says so, naming the folder.
 * Each run first repairs what a killed run left (app/output-swap.ts) and
 * prints a `recovered:` line for each repair.
 */
export function synthesize(options: SynthOptions = {}): SynthResult {
  const log = options.log ?? ((line: string) => console.log(line));
  const outDir = path.resolve(options.outDir ?? path.join(REPO_ROOT, 'dist'));
  refuseFileInPlace(outDir);
  try {
    recoverInterruptedSwaps(outDir, log);
  } catch (error) {
    throw outputFolderError(error, outDir);
  }
  const allEnvs = listEnvironments(options.configDir);
  const envs = options.envs ?? allEnvs.filter((env) => !env.startsWith('_'));
  const started = process.hrtime.bigint();

  // Every environment of the folder, also under --env: the data they share is declared or synth stops here.
  // The check loads and builds each environment once; the render below uses what it built.
  const { shares, environments } = checkEnvironments({ configDir: options.configDir, envs, imageTag: options.imageTag, imageTagSource: options.imageTagSource, outDir });
  for (const share of shares) log(`  ${share.line}`);
  const files: RenderedFile[] = [];
  for (const env of envs) {
    const checked = environments.get(env);
    if (!checked) throw new Error(`internal: the environment check returned no '${env}', which synth was asked for`);
    const rendered = renderLoaded(checked, log);
    log(`  ${env}: ${rendered.length} files, ${rendered.reduce((n, f) => n + f.objects.length, 0)} objects`);
    files.push(...rendered);
  }
  options.beforeWrite?.(files);
  const changes = compareWithOutput(outDir, files, options.envs ? envs : undefined);

  // pid-suffixed, so concurrent synths never share a staging folder.
  const staging = `${outDir}.staging-${process.pid}`;
  try {
    // One level at a time: a recursive mkdir on a read-only file system reports ENOENT, not EROFS.
    if (!fs.existsSync(path.dirname(outDir))) fs.mkdirSync(path.dirname(outDir), { recursive: true });
    fs.mkdirSync(staging);
    for (const env of envs) fs.mkdirSync(path.join(staging, env));
    for (const file of files) writeFile(path.join(staging, file.relativePath), file.content);
    // A partial run (--env) replaces only its own folders; a full run replaces the whole output.
    const swaps = options.envs ? envs.map((env) => [path.join(staging, env), path.join(outDir, env)]) : [[staging, outDir]];
    if (options.envs) fs.mkdirSync(outDir, { recursive: true });
    for (const [from, to] of swaps) swapIntoPlace(from, to, options.swapHooks ?? {}, log);
  } catch (error) {
    throw outputFolderError(error, outDir);
  } finally {
    try {
      fs.rmSync(staging, { recursive: true, force: true });
    } catch {
      // Nothing was written or the file system refuses even this; the next run removes it.
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  for (const file of changes.changed) log(`  changed: ${file}`);
  // Into an empty folder every file is new: the count says it, a line per file would bury the rest.
  const intoEmpty = changes.added.length === files.length;
  if (!intoEmpty) for (const file of changes.added) log(`  new: ${file}`);
  for (const file of changes.removed) log(`  removed: ${file}`);
  const unchanged = files.length - changes.changed.length - changes.added.length;
  const summary = changes.changed.length + changes.added.length + changes.removed.length === 0
    ? 'nothing changed'
    : `${changes.changed.length} changed, ${changes.added.length} new, ${changes.removed.length} removed, ${unchanged} unchanged`;
  log(`wrote ${files.length} files to ${path.relative(process.cwd(), outDir) || '.'} in ${ms.toFixed(0)} ms: ${summary}`);
  return { outDir, files, changes };
}

/**
 * What `npm run synth` would change in the output folder, with nothing written:
 * CI's "dist/ matches a fresh synth", in memory. Every environment of the config
 * folder is rendered as synth renders it (no tag override); the progress lines
 * synth prints are not.
 */
export function staleOutput(options: Pick<SynthOptions, 'outDir' | 'configDir'> = {}): OutputChanges {
  const outDir = path.resolve(options.outDir ?? path.join(REPO_ROOT, 'dist'));
  const envs = listEnvironments(options.configDir).filter((env) => !env.startsWith('_'));
  const { environments } = checkEnvironments({ configDir: options.configDir, envs, outDir });
  const files = envs.flatMap((env) => {
    const checked = environments.get(env);
    if (!checked) throw new Error(`internal: the environment check returned no '${env}'`);
    return renderLoaded(checked, () => undefined);
  });
  return compareWithOutput(outDir, files, undefined);
}

/** What a synth did to its output folder, file by file (paths as `<env>/<file>`). */
export interface OutputChanges {
  /** Files whose content differs from what was there. */
  readonly changed: string[];
  /** Files that were not there. */
  readonly added: string[];
  /** Files that were there and are gone (a concern turned off, an environment removed). */
  readonly removed: string[];
}

/**
 * The rendered files against the output folder as it is, before the swap:
 * the swap replaces every file, so the count written says nothing of what a
 * review of `git diff -- dist/` will find. A partial run (`envs`) compares only
 * its own folders, the only ones it replaces.
 */
function compareWithOutput(outDir: string, files: readonly RenderedFile[], envs: readonly string[] | undefined): OutputChanges {
  const existing = new Set(
    (envs ?? ['']).flatMap((env) => {
      const dir = path.join(outDir, env);
      if (!fs.existsSync(dir)) return [];
      return (fs.readdirSync(dir, { recursive: true }) as string[])
        .map((name) => path.join(env, name))
        .filter((name) => fs.statSync(path.join(outDir, name)).isFile());
    }).map((name) => name.split(path.sep).join('/')),
  );
  const changed: string[] = [];
  const added: string[] = [];
  for (const file of files) {
    if (!existing.has(file.relativePath)) added.push(file.relativePath);
    else if (fs.readFileSync(path.join(outDir, file.relativePath), 'utf8') !== file.content) changed.push(file.relativePath);
    existing.delete(file.relativePath);
  }
  return { changed, added, removed: [...existing].sort() };
}
