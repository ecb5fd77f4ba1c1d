/**
 * Pairs of dist/ trees for the review tests: the committed dist/ on the old
 * side, the same with one edit on the new side, both written to a temporary
 * folder and compared with `npm run review --from --to` in process.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { runReviewCli } from '../app/review/cli';

export const DIST = join(__dirname, '..', 'dist');

/** One environment's files: base name -> its objects, in order. */
export type EnvFiles = Map<string, any[]>;

/** dist/<env>/ parsed once per test file: parsing YAML is most of a pair's cost, and no test changes dist/. */
const parsedEnvs = new Map<string, EnvFiles>();

/** The objects of dist/<env>/ as plain values (a copy of its own for each caller, to edit). */
export function readEnv(env: string): EnvFiles {
  let files = parsedEnvs.get(env);
  if (files === undefined) {
    files = new Map();
    for (const name of readdirSync(join(DIST, env)).filter((n) => n.endsWith('.yaml')).sort()) {
      files.set(name, parseAllDocuments(readFileSync(join(DIST, env, name), 'utf8')).map((d) => d.toJS()).filter((o) => o !== null));
    }
    parsedEnvs.set(env, files);
  }
  return clone(files);
}

/**
 * The YAML text of an object, by its JSON: the two sides of a pair share all
 * but an edit or two, and every pair starts from the same dist/, so each
 * distinct object is written out once per test file.
 */
const yamlTexts = new Map<string, string>();
function yamlOf(object: unknown): string {
  const key = JSON.stringify(object);
  let text = yamlTexts.get(key);
  if (text === undefined) {
    text = stringify(object);
    yamlTexts.set(key, text);
  }
  return text;
}

/** What a test edits on the new side of a pair. */
export class Editable {
  constructor(readonly files: EnvFiles) {}

  /** The object of that kind and name (the first, by file order); throws when there is none so a test never edits nothing. */
  get(kind: string, name: string): any {
    for (const docs of this.files.values()) {
      const found = docs.find((o) => o.kind === kind && o.metadata.name === name);
      if (found !== undefined) return found;
    }
    throw new Error(`no ${kind} ${name} in the tree`);
  }

  remove(kind: string, name: string): void {
    const object = this.get(kind, name);
    for (const [file, docs] of this.files) this.files.set(file, docs.filter((o) => o !== object));
  }

  add(file: string, object: any): void {
    this.files.set(file, [...(this.files.get(file) ?? []), object]);
  }
}

export function writeTree(root: string, envs: Record<string, EnvFiles>): string {
  for (const [env, files] of Object.entries(envs)) {
    mkdirSync(join(root, env), { recursive: true });
    for (const [name, docs] of files) writeFileSync(join(root, env, name), docs.map(yamlOf).join('---\n'));
  }
  return root;
}

const clone = (files: EnvFiles): EnvFiles => new Map([...files].map(([name, docs]) => [name, structuredClone(docs)]));

export interface Pair {
  readonly from: string;
  readonly to: string;
}

/**
 * dist/production as it is on the old side; the new side is the same after
 * `edit`, and `editOld` changes the old side first (a field both sides share).
 */
export function pair(edit: (tree: Editable) => void, editOld?: (tree: Editable) => void, env = 'production'): Pair {
  const root = mkdtempSync(join(tmpdir(), 'review-'));
  const old = readEnv(env);
  editOld?.(new Editable(old));
  const next = clone(old);
  edit(new Editable(next));
  return { from: writeTree(join(root, 'from'), { [env]: old }), to: writeTree(join(root, 'to'), { [env]: next }) };
}

export interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/**
 * The CLI in process; `repoDir` is where git runs and the working tree's dist/ is read,
 * `configDir` where the stack labels are read (the repository's config/ when unset).
 */
export function review(argv: readonly string[], repoDir = DIST, cwd = repoDir, configDir?: string): Run {
  let out = '';
  let err = '';
  const code = runReviewCli(argv, { cwd, repoDir, configDir, io: { out: (t) => (out += t), err: (t) => (err += t) } });
  return { code, out, err };
}

/** The review of a pair as text. */
export function reviewPair(p: Pair, ...args: string[]): Run {
  return review(['--from', p.from, '--to', p.to, ...args]);
}

/** The lines of one section of one environment's text output (`  Rolls:` up to the next section). */
export function section(out: string, title: string): string[] {
  const lines = out.split('\n');
  const start = lines.indexOf(`  ${title}:`);
  if (start < 0) return [];
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => !line.startsWith('    '));
  return rest.slice(0, end < 0 ? rest.length : end);
}
