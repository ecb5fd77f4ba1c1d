/**
 * Reading one side of a review: the `dist/` tree of a folder or of a git
 * revision, as objects per environment. The review reads files only; it never
 * asks the cluster, so it runs wherever the repository is.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ManifestObject, parseManifestText } from '../shared/manifest-object';
import { StackError } from '../shared/stack-error';
import { reviewedEnvironment } from '../shared/stack-labels';

/** A review that cannot run (no such revision, unreadable YAML): the CLI prints it and exits 2. */
export class ReviewError extends Error {}

/** One YAML file of a side, before parsing. */
export interface DistFile {
  /** The environment folder (`production`), or '' for a file directly in the tree's root. */
  readonly env: string;
  /** Base name, `40-api.yaml`. */
  readonly name: string;
  /** Where a message points the reader: `dist/production/40-api.yaml` or `main:dist/production/40-api.yaml`. */
  readonly where: string;
  readonly text: string;
}

/** The objects of one environment on one side, in file order, then document order. */
export interface EnvironmentObjects {
  readonly name: string;
  readonly objects: readonly ManifestObject[];
}

/** One side of the review: its environments by name, sorted. */
export type DistTree = ReadonlyMap<string, EnvironmentObjects>;

const YAML_FILE = /\.ya?ml$/;

/**
 * The YAML files of a folder laid out as dist/ is: each sub-folder is an
 * environment; files directly in the folder are one environment of their own
 * (an older flat layout, or a single environment's folder given to --from/--to).
 */
export function readDistDir(dir: string): DistFile[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ReviewError(`${dir} is not a folder: give a dist/-like folder (one sub-folder per environment)`);
  }
  const files: DistFile[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isFile() && YAML_FILE.test(entry.name)) {
      files.push({ env: '', name: entry.name, where: join(dir, entry.name), text: readFileSync(join(dir, entry.name), 'utf8') });
    } else if (entry.isDirectory()) {
      for (const name of readdirSync(join(dir, entry.name)).filter((n) => YAML_FILE.test(n)).sort()) {
        const path = join(dir, entry.name, name);
        if (statSync(path).isFile()) files.push({ env: entry.name, name, where: path, text: readFileSync(path, 'utf8') });
      }
    }
  }
  return files;
}

/**
 * The YAML files under `dist/` at a git revision, read from the object store
 * (two git processes, whatever the number of files): the working tree is not
 * touched, so uncommitted work stays as it is. A revision without `dist/`
 * gives no files: every object of the other side is then added.
 *
 * @param repoDir the folder git runs in; `distPath` is relative to it
 * @param distPath the dist folder in the repository. @default 'dist', where synth writes
 */
export function readDistAtRevision(repoDir: string, revision: string, distPath = 'dist'): DistFile[] {
  const listing = git(repoDir, ['ls-tree', '-r', '-z', revision, '--', `${distPath}/`]).toString('utf8');
  const blobs = listing
    .split('\0')
    .filter((line) => line !== '')
    .map((line) => {
      const [meta, path] = line.split('\t');
      const [, type, id] = meta.split(' ');
      return { type, id, path };
    })
    .filter((entry) => entry.type === 'blob' && YAML_FILE.test(entry.path));
  if (blobs.length === 0) return [];
  const contents = catBlobs(repoDir, blobs.map((b) => b.id));
  const files: DistFile[] = [];
  blobs.forEach((blob, index) => {
    const parts = blob.path.slice(distPath.length + 1).split('/');
    // dist/<env>/<file> or dist/<file>; anything deeper is not a manifest of the layout.
    if (parts.length > 2) return;
    const env = parts.length === 2 ? parts[0] : '';
    files.push({ env, name: parts[parts.length - 1], where: `${revision}:${blob.path}`, text: contents[index] });
  });
  return files;
}

function catBlobs(repoDir: string, ids: readonly string[]): string[] {
  const output = git(repoDir, ['cat-file', '--batch'], ids.join('\n') + '\n');
  const texts: string[] = [];
  let at = 0;
  for (const id of ids) {
    const headerEnd = output.indexOf(0x0a, at);
    const header = output.subarray(at, headerEnd).toString('utf8');
    const size = Number(header.split(' ')[2]);
    if (!header.startsWith(id) || !Number.isInteger(size)) {
      throw new ReviewError(`git cat-file answered '${header}' for blob ${id}: the repository may be damaged (git fsck)`);
    }
    texts.push(output.subarray(headerEnd + 1, headerEnd + 1 + size).toString('utf8'));
    at = headerEnd + 1 + size + 1;
  }
  return texts;
}

/** Runs git in the repository; a failure becomes a ReviewError carrying git's own last line. */
export function git(repoDir: string, args: readonly string[], input?: string): Buffer {
  try {
    return execFileSync('git', args, { cwd: repoDir, input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString('utf8').trim().split('\n').pop() ?? '';
    throw new ReviewError(`git ${args.join(' ')} failed in ${repoDir}: ${stderr || (error as Error).message}`);
  }
}

/**
 * Parses the files into environments. Files directly in the root are named
 * after the environment their objects name under a config's
 * `environmentLabel` (as the deploy reads reviewed files), else after `rootName`.
 *
 * @param configDir the config folder whose `environmentLabel`s name environments. @default config/ of the repository
 */
export function distTree(files: readonly DistFile[], rootName: string, configDir?: string): DistTree {
  const tree = new Map<string, ManifestObject[]>();
  for (const file of files) {
    const objects = objectsOf(file);
    const env = file.env !== '' ? file.env : rootFileEnvironment(file, objects, configDir) ?? rootName;
    tree.set(env, [...(tree.get(env) ?? []), ...objects]);
  }
  return new Map([...tree.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, objects]) => [name, { name, objects }]));
}

/** The one environment a root file's objects name; undefined when they name none, or several. */
function rootFileEnvironment(file: DistFile, objects: readonly ManifestObject[], configDir: string | undefined): string | undefined {
  try {
    return reviewedEnvironment({ dir: file.where, files: [], objects }, configDir);
  } catch (error) {
    if (error instanceof StackError) return undefined;
    throw error;
  }
}

/** The file's objects as the deploy reads them; what the deploy would refuse stops the review, with the same words. */
function objectsOf(file: DistFile): ManifestObject[] {
  try {
    return parseManifestText(file.text, file.where, file.name);
  } catch (error) {
    if (!(error instanceof StackError)) throw error;
    // The first line: under it, the YAML parser draws the line it stopped at, too long for a review's one-line error.
    throw new ReviewError(`${error.message.split('\n')[0]}; fix the file or synthesize again (npm run synth)`);
  }
}

/**
 * Reads a side given as a folder: `--from DIR`, `--to DIR` or the working tree's dist/.
 *
 * @param configDir the config folder whose `environmentLabel`s name environments. @default config/ of the repository
 */
export function treeOfDir(dir: string, configDir?: string): DistTree {
  return distTree(readDistDir(dir), basename(dir), configDir);
}
