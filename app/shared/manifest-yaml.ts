/**
 * The YAML text of rendered manifests: byte for byte what cdk8s's `Yaml.stringify`
 * writes (the `yaml` package, YAML 1.1, no line folding), about ten times faster.
 *
 * Building a `yaml` Document for every object, only to print it, was a fifth of a
 * synth. Manifests are JSON: maps, lists, strings, numbers, booleans and null. This
 * writes the block layout itself and leaves each scalar it cannot be sure of to the
 * `yaml` package: a string with a space or a character YAML gives a meaning to, or one
 * YAML 1.1 reads as a boolean, a number or a date (quoted), or of several lines (a block
 * scalar), and a number that is not an integer. A document with anything else (a key that would need quoting, a value
 * that is not JSON, an object met twice, which `yaml` writes as an anchor and aliases) is
 * written by the `yaml` package whole. test/manifest-yaml.test.ts
 * compares both on every synthesized object and on strings chosen to trip the quoting.
 */
import { Document, stringify } from 'yaml';

/** cdk8s's options for `yaml` (cdk8s/lib/yaml.js). */
const CDK8S_OPTIONS = { keepUndefined: true, lineWidth: 0, version: '1.1' } as const;

/** Documents joined as cdk8s joins them. */
export function manifestYaml(...docs: unknown[]): string {
  return docs.map((doc) => (doc === undefined ? '\n' : documentYaml(doc))).join('---\n');
}

function documentYaml(doc: unknown): string {
  const lines: string[] = [];
  if (!isPlainMap(doc) || Object.keys(doc).length === 0 || !writeMap(doc, '', lines)) return stringify(doc, CDK8S_OPTIONS);
  return lines.join('');
}

/** Not something the block writer handles: the caller hands the whole document to `yaml`. */
class NotPlain extends Error {}

/** The maps and lists of the document being written: one met twice is written by `yaml` as an alias. */
const seen = new Set<object>();

function once(value: object): void {
  if (seen.has(value)) throw new NotPlain();
  seen.add(value);
}

/**
 * Characters and layout a plain scalar may have in any value position: no indicator first,
 * no space, no `: ` or ` #`, nothing `yaml` escapes. A string of these is written plainly
 * unless the schema would read it as something else (below). Anything more is `yaml`'s call.
 */
const PLAIN_TEXT = /^(?:[A-Za-z0-9_/.]|[-+](?=[A-Za-z0-9_/.]))(?:[A-Za-z0-9_./=+-]|:(?=[A-Za-z0-9_./=+-]))*$/;
/** A map key `yaml` writes plainly, when the schema does not read it as something else. */
const PLAIN_KEY = /^[A-Za-z0-9_/][A-Za-z0-9_./-]*$/;
/**
 * The YAML 1.1 schema's own tests of what a plain scalar means (null, booleans, numbers,
 * timestamps, `<<`), as `yaml` runs them before writing a string plainly: taken from its
 * schema, not copied.
 */
const IMPLICIT_TYPES = new Document(null, CDK8S_OPTIONS).schema.tags.flatMap((tag) =>
  tag.default && tag.tag !== 'tag:yaml.org,2002:str' && 'test' in tag && tag.test instanceof RegExp ? [tag.test] : [],
);

/** Whether the schema reads a plain scalar of this text as something other than a string. */
function readsAsOtherType(text: string): boolean {
  return IMPLICIT_TYPES.some((test) => test.test(text));
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** Writes a map's entries at `indent`; false when some part is not for the block writer. */
function writeMap(map: Record<string, unknown>, indent: string, lines: string[]): boolean {
  try {
    seen.clear();
    once(map);
    mapEntries(map, indent, lines, '');
    return true;
  } catch (error) {
    if (error instanceof NotPlain) return false;
    throw error;
  } finally {
    seen.clear();
  }
}

/**
 * The entries of a non-empty map, the first after `first` (a list item's `- `, which
 * stands where the indent would) and the rest at `indent`.
 */
function mapEntries(map: Record<string, unknown>, indent: string, lines: string[], first: string): void {
  let prefix = first;
  for (const key of Object.keys(map)) {
    if (!PLAIN_KEY.test(key) || readsAsOtherType(key)) throw new NotPlain();
    const value = map[key];
    if (typeof value === 'object' && value !== null) once(value);
    const head = `${prefix || indent}${key}:`;
    prefix = '';
    if (Array.isArray(value) && value.length > 0) {
      lines.push(`${head}\n`);
      listItems(value, `${indent}  `, lines);
    } else if (isPlainMap(value) && Object.keys(value).length > 0) {
      lines.push(`${head}\n`);
      mapEntries(value, `${indent}  `, lines, '');
    } else {
      lines.push(`${head} ${scalar(value, indent)}\n`);
    }
  }
}

/** The items of a non-empty list at `indent`, each after `- `. */
function listItems(list: unknown[], indent: string, lines: string[]): void {
  for (const item of list) {
    if (typeof item === 'object' && item !== null) once(item);
    if (Array.isArray(item) && item.length > 0) {
      // A list in a list: the inner list's first item follows the outer `- ` on its line.
      const inner: string[] = [];
      listItems(item, `${indent}  `, inner);
      inner[0] = `${indent}- ${inner[0].slice(indent.length + 2)}`;
      lines.push(...inner);
    } else if (isPlainMap(item) && Object.keys(item).length > 0) {
      mapEntries(item, `${indent}  `, lines, `${indent}- `);
    } else {
      lines.push(`${indent}- ${scalar(item, indent)}\n`);
    }
  }
}

/**
 * A scalar (or an empty map or list) in a value position whose parent is at `indent`:
 * inline, or for a block scalar its header and lines, indented under the parent.
 */
function scalar(value: unknown, indent: string): string {
  if (typeof value === 'string') {
    if (!PLAIN_TEXT.test(value)) return valueByYaml(value, indent);
    // Plain characters the schema reads as something else (`true`, `5432`): `yaml` double-quotes
    // them, and none of them needs an escape.
    return readsAsOtherType(value) ? `"${value}"` : value;
  }
  if (typeof value === 'number') return Number.isSafeInteger(value) && !Object.is(value, -0) ? String(value) : valueByYaml(value, indent);
  if (typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value) && value.length === 0) return '[]';
  if (isPlainMap(value) && Object.keys(value).length === 0) return '{}';
  throw new NotPlain();
}

/**
 * How `yaml` writes a value as the value of a top-level key (a whole document can differ:
 * `---` alone is a block there), with the lines of a block scalar indented under this
 * parent instead (an empty line stays empty, as `yaml` writes it).
 */
function valueByYaml(value: unknown, indent: string): string {
  const text = stringify({ k: value }, CDK8S_OPTIONS).slice('k: '.length, -1);
  return indent === '' || !text.includes('\n') ? text : text.replace(/\n(?=.)/g, `\n${indent}`);
}
