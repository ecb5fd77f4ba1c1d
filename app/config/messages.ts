/**
 * How a config's problems are worded: zod's issues and the constructs' problems
 * as located sentences that say the fix (an unknown key with its likeliest
 * spelling or parent), and {@link ConfigError}, which carries them all.
 */
import * as z from 'zod';
import { ValueProblem } from '../../constructs';
import { closest } from '../../manifest-check/field-watch';
import { configSchema } from './schema';
import { ConfigIssue, ConfigSources, describeSource, shownPath, valueAt } from './sources';

/** One problem as synth prints it: `config/production.yaml:4:11: imageTag: ... (got "latest")`. */
export function formatIssue(issue: ConfigIssue): string {
  const key = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  return `${describeSource(issue.source)}: ${key}${issue.message}${issue.got === undefined ? '' : ` (got ${issue.got})`}`;
}

/**
 * A config that failed to load or validate: every problem, each with its
 * file, line and column, key and value. One error can hold the problems of
 * several environments ({@link ConfigError.combine}), so a run reports them all.
 */
export class ConfigError extends Error {
  /**
   * Every problem of every environment it covers, as one would act on it.
   * A construct's or checker's sentence with no key to locate is kept as given,
   * headed by the environment's file.
   */
  public readonly issues: readonly ConfigIssue[];
  /** The problems as printed, one line each (see {@link formatIssue}). */
  public readonly problems: string[];
  /** The environments' files, `<configDir>/<env>.yaml`, one per environment covered. */
  public readonly files: readonly string[];

  /**
   * @param file the environment's file, `<configDir>/<env>.yaml`
   * @param issues its problems; a plain sentence is about the file as a whole
   * @param moreFiles the other environments' files, when the problems are several environments' ({@link ConfigError.combine})
   */
  public constructor(public readonly file: string, issues: readonly (ConfigIssue | string)[], moreFiles: readonly string[] = []) {
    const located = inFileOrder(issues.map((issue) => (typeof issue === 'string' ? { path: [], message: issue, source: { file: shownPath(file) } } : issue)));
    const problems = [...new Set(located.map(formatIssue))];
    const files = [file, ...moreFiles.filter((f) => f !== file)];
    const head = files.length === 1 ? `${shownPath(file)}: ${problems.length} problem(s) in the config` : `${problems.length} problem(s) in the config of ${files.map(shownPath).join(', ')}`;
    super(`${head}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = located;
    this.problems = problems;
    this.files = files;
  }

  /** The problems of several environments as one error, so an operator fixes them all in one pass. */
  public static combine(errors: readonly ConfigError[]): ConfigError {
    if (errors.length === 1) return errors[0];
    const [first, ...rest] = errors;
    return new ConfigError(first.file, errors.flatMap((e) => e.issues), [...first.files, ...rest.flatMap((e) => e.files)]);
  }
}

/** Problems file by file, top to bottom, as an operator fixes them; the files in the order they first appear. */
function inFileOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const files = [...new Set(issues.map((issue) => issue.source.file))];
  const rank = (issue: ConfigIssue) => [files.indexOf(issue.source.file), issue.source.line ?? 0, issue.source.column ?? 0];
  return [...issues].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2];
  });
}

/**
 * A construct's rule broken at a config key (`api.autoscaling.maxReplicas`), located where the value is set.
 * A number the schema handed the construct as its text (a quantity, `-5`) is shown as the file writes it.
 */
export function describeProblem(problem: ValueProblem, raw: unknown, sources: ConfigSources): ConfigIssue {
  const written = valueAt(raw, problem.keys);
  const value = typeof written === 'number' && problem.value === String(written) ? written : problem.value;
  return sources.issue(problem.keys, problem.problem, { value });
}

/** Zod's issue as the operator's problems (an unknown-keys issue is one problem per key), each located. */
export function describeIssue(issue: z.core.$ZodIssue, raw: unknown, sources: ConfigSources): ConfigIssue[] {
  const at = issue.path as (string | number)[];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => sources.issue([...at, key], unknownKeyProblem(at, key), undefined, 'key'));
  }
  if (issue.code === 'invalid_key') {
    // A record key failed its own check: report the key's problem, not the value's.
    return [sources.issue(at, issue.issues.map((inner) => inner.message).join('; '), undefined, 'key')];
  }
  const value = valueAt(raw, at);
  if (issue.code === 'invalid_union') {
    // A value of one of the shapes (a mapping where a name or a mapping goes) is judged as that shape.
    const shaped = issue.errors.filter((branch) => !(branch.length === 1 && branch[0].code === 'invalid_type' && branch[0].path.length === 0));
    if (shaped.length === 1) return shaped[0].flatMap((inner) => describeIssue({ ...inner, path: [...at, ...inner.path] } as z.core.$ZodIssue, raw, sources));
    const expected = [...new Set(issue.errors.flatMap((branch) => branch.filter((inner) => inner.code === 'invalid_type').map((inner) => (inner as { expected: string }).expected)))];
    if (expected.length === issue.errors.length) return [sources.issue(at, `Invalid input: expected ${either(expected)}`, { value })];
  }
  const written = sources.writtenAs(at);
  if (issue.code === 'invalid_type' && issue.expected === 'string' && written !== undefined && (typeof value === 'number' || typeof value === 'boolean')) {
    // `imageTag: 0123456` is the number 123456 to YAML: show the text as written and the fix.
    return [sources.issue(at, `${written} is read by YAML as the ${typeof value} ${String(value)}, not as text; quote it: ${String(at[at.length - 1])}: '${written}'`)];
  }
  const removed = value === undefined ? sources.removedFrom(at) : undefined;
  if (removed) {
    return [sources.issue(at, `${issue.message}; the null here removes the value ${describeSource(removed)} sets, and this key has no default: write the value instead`, { value })];
  }
  if (issue.code === 'invalid_type' && value === undefined) {
    // zod's 'expected string, received undefined' says what the parser saw, not what to do.
    const parent = at.length > 1 ? `under ${at.slice(0, -1).join('.')}` : 'at the top level';
    return [sources.issue(at, `required and missing: add '${String(at[at.length - 1])}' ${parent} (a ${issue.expected}; it has no default)`, { value })];
  }
  if (issue.code === 'invalid_type' && typeof value === 'string' && (issue.expected === 'number' || issue.expected === 'boolean')) {
    // `replicas: '3'` is text to YAML: the quotes are the mistake.
    const fix = issue.expected === 'boolean' ? 'write true or false, without quotes' : /^-?\d+(\.\d+)?$/.test(value) ? `remove the quotes: ${String(at[at.length - 1])}: ${value}` : 'write a number';
    return [sources.issue(at, `${issue.message}; ${fix}`, { value })];
  }
  return [sources.issue(at, issue.message, { value })];
}

/**
 * An unknown key, with the likeliest fix: a close spelling at the same place
 * (`smtpHots` -> `smtpHost`), the parent it belongs under when it is indented
 * under the wrong one, or a close key elsewhere.
 */
function unknownKeyProblem(parent: readonly (string | number)[], key: string): string {
  const mappings = schemaMappings(configSchema);
  const here = mappings.get(schemaPath(parent)) ?? [];
  const near = closest(key, here);
  if (near !== undefined) return `unknown key; did you mean '${near}'?`;
  const elsewhere = [...mappings].filter(([, keys]) => keys.includes(key)).map(([where]) => where);
  if (elsewhere.length > 0) {
    const names = elsewhere.map((where) => (where ? `${where}.${key}` : key));
    return `unknown key here; '${key}' belongs under ${names.length === 1 ? names[0] : `one of ${either(names)}`}: move it there (check its indentation)`;
  }
  const alike = [...mappings].flatMap(([where, keys]) => {
    const hint = closest(key, keys);
    return hint === undefined ? [] : [where ? `${where}.${hint}` : hint];
  });
  if (alike.length > 0) return `unknown key; did you mean ${either(alike.map((k) => `'${k}'`))}? (a key goes under its parent, indented)`;
  return `unknown key; the keys here are ${here.join(', ')} (docs/config.md)`;
}

/** `a, b or c` */
function either(words: readonly string[]): string {
  return words.length === 1 ? words[0] : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** A config path as {@link schemaMappings} names its mapping: list items as `[]`. */
function schemaPath(path: readonly (string | number)[]): string {
  return path.map((segment) => (typeof segment === 'number' ? '[]' : segment)).join('.').replace(/\.\[\]/g, '[]');
}

/** Every mapping the schema accepts, by its path (`api.resources.limits`; `''` for the top), with its keys. */
function schemaMappings(schema: z.ZodType, at = '', found = new Map<string, string[]>()): Map<string, string[]> {
  const def = schema._zod.def as any;
  switch (def.type) {
    case 'object':
      found.set(at, [...new Set([...(found.get(at) ?? []), ...Object.keys(def.shape)])]);
      for (const [key, inner] of Object.entries(def.shape)) schemaMappings(inner as z.ZodType, at ? `${at}.${key}` : key, found);
      break;
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
      schemaMappings(def.innerType, at, found);
      break;
    case 'union':
      for (const option of def.options) schemaMappings(option, at, found);
      break;
    case 'array':
      schemaMappings(def.element, `${at}[]`, found);
      break;
    case 'pipe':
      schemaMappings(def.in, at, found);
      break;
  }
  return found;
}
