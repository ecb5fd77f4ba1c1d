/**
 * Where a config value was set: the file, line and column of a key in the YAML
 * files of an environment's `extends` chain, or the override that replaced it.
 */
import * as path from 'path';
import * as YAML from 'yaml';

/**
 * Where a value of an environment's config was set: a place in one of its
 * files, or the override that replaced it, so an operator goes straight to
 * the line to fix.
 */
export interface ValueSource {
  /** The file as the operator reads its path (`config/staging.yaml`), or the override (`--tag`, `HONEYDUE_IMAGE_TAG`). */
  readonly file: string;
  /** 1-based line of the value; absent for an override, which has no line. */
  readonly line?: number;
  /** 1-based column of the value; absent for an override. */
  readonly column?: number;
}

/** A key path from the top of the config: `['api', 'resources', 'limits', 'cpu']`; list items by index. */
export type ConfigPath = readonly (string | number)[];

/**
 * One problem with an environment's config, as data: the schema's, the
 * environment check's and the constructs' problems all reach the operator in
 * this shape, each located in the file (or override) that set the value.
 */
export interface ConfigIssue {
  /** The key, from the top of the config; empty for the file as a whole. */
  readonly path: ConfigPath;
  /** What is wrong and how to fix it. */
  readonly message: string;
  /** The value as loaded (after `extends` and overrides); undefined when it is missing. */
  readonly value?: unknown;
  /** The value as the `(got ...)` suffix shows it; absent when the message shows it already. */
  readonly got?: string;
  readonly source: ValueSource;
}

/** `config/staging.yaml:12:7`, or the override's name. */
export function describeSource(source: ValueSource): string {
  return source.line === undefined ? source.file : `${source.file}:${source.line}:${source.column ?? 1}`;
}

/** One file of an environment's `extends` chain, as parsed. */
export interface ConfigLayer {
  readonly env: string;
  readonly file: string;
  readonly doc: Record<string, unknown>;
  /** The parsed file with its nodes' ranges, so a problem can name the line. */
  readonly yaml: YAML.Document;
  /** Turns the ranges of {@link yaml} into lines and columns. */
  readonly lineCounter: YAML.LineCounter;
}

/** A value that replaces what the files say (`--tag`), by key. */
export interface ConfigOverride {
  readonly path: ConfigPath;
  /** `--tag`, `HONEYDUE_IMAGE_TAG`: what a problem with the value is attributed to. */
  readonly source: string;
}

/**
 * Locates config keys in an environment's files: the chain of layers (its own
 * file first) and the overrides on top. Every source of problems (the schema,
 * the constructs, the environment check) reports through {@link ConfigSources.issue},
 * so each problem names the file, line and column that set the value.
 */
export class ConfigSources {
  public constructor(public readonly chain: readonly ConfigLayer[], public readonly overrides: readonly ConfigOverride[] = []) {}

  /**
   * Where the value at `path` was set: the override that replaced it, else the
   * first file of the chain that writes it (a base's value is located in the
   * base). A key no file writes is located at its nearest parent that one
   * does, else at the top of the environment's own file.
   * @param at 'value' points at the value; 'key' at the key (an unknown key, a removal)
   */
  public locate(path: ConfigPath, at: 'value' | 'key' = 'value'): ValueSource {
    const override = this.overrides.find((o) => o.path.every((key, i) => path[i] === key));
    if (override) return { file: override.source };
    for (let depth = path.length; depth > 0; depth--) {
      for (const layer of this.layersFor(path)) {
        const found = pairAt(layer.yaml, path.slice(0, depth));
        if (!found) continue;
        const node = depth === path.length && at === 'value' && !isEmptyScalar(found.value) ? found.value : found.key ?? found.value;
        return positionIn(layer, node);
      }
    }
    return { file: shownPath(this.chain[0].file), line: 1, column: 1 };
  }

  /** How the value at `path` is written in the file that sets it, when it is a scalar: `0123456` for YAML's 123456. */
  public writtenAs(path: ConfigPath): string | undefined {
    if (this.overrides.some((o) => o.path.every((key, i) => path[i] === key))) return undefined;
    for (const layer of this.layersFor(path)) {
      const found = pairAt(layer.yaml, path);
      if (found) return YAML.isScalar(found.value) ? found.value.source : undefined;
    }
    return undefined;
  }

  /**
   * A problem with the value at `path`, located. Any check calls this with
   * its own sentence: `value` given (also as undefined) adds the `(got ...)`
   * suffix, left out when the sentence shows the value itself.
   */
  public issue(path: ConfigPath, message: string, shown?: { readonly value: unknown }, at: 'value' | 'key' = 'value'): ConfigIssue {
    const source = this.locate(path, at);
    if (!shown) return { path, message, source };
    return { path, message, value: shown.value, got: shown.value === undefined ? 'missing' : JSON.stringify(shown.value), source };
  }

  /**
   * Where a base file sets the value at `path` that a later file's `key: null`
   * removes, or undefined: a missing required value is then the `null`'s doing.
   */
  public removedFrom(path: ConfigPath): ValueSource | undefined {
    const layers = this.layersFor(path);
    const nulled = layers.findIndex((layer) => pairAt(layer.yaml, path)?.key !== undefined && isEmptyScalar(pairAt(layer.yaml, path)?.value));
    if (nulled < 0) return undefined;
    const base = layers.slice(nulled + 1).find((layer) => !isEmptyScalar(pairAt(layer.yaml, path)?.value));
    return base && positionIn(base, pairAt(base.yaml, path)?.value);
  }

  /** The layers that can set `path`: `shares` is read from the environment's own file only. */
  private layersFor(path: ConfigPath): readonly ConfigLayer[] {
    return path[0] === 'shares' ? this.chain.slice(0, 1) : this.chain;
  }
}

/** The key and value nodes at `path` in a parsed file, or undefined when the file does not write it. */
function pairAt(doc: YAML.Document, path: ConfigPath): { key?: YAML.Node; value?: YAML.Node } | undefined {
  let key: YAML.Node | undefined;
  let node: unknown = doc.contents;
  for (const segment of path) {
    if (YAML.isMap(node)) {
      const pair = node.items.find((p) => YAML.isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return undefined;
      key = pair.key as YAML.Node;
      node = pair.value;
    } else if (YAML.isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      key = undefined;
      node = node.items[segment];
    } else {
      return undefined;
    }
  }
  return { key, value: YAML.isNode(node) ? node : undefined };
}

/** `key:` with nothing after it: its range is the end of the line, the key is where to look. */
function isEmptyScalar(node: YAML.Node | undefined): boolean {
  return node === undefined || (YAML.isScalar(node) && node.value === null);
}

function positionIn(layer: ConfigLayer, node: YAML.Node | undefined): ValueSource {
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = layer.lineCounter.linePos(offset);
  return { file: shownPath(layer.file), line, column: col };
}

/** The value at `path` in a parsed config, or undefined when it holds none. */
export function valueAt(config: unknown, path: ConfigPath): unknown {
  return path.reduce<unknown>((node, key) => (isMapping(node) || Array.isArray(node) ? (node as any)[key] : undefined), config);
}

/** A YAML mapping as parsed: an object, not a list. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A path as an operator in the repo reads it (`config/staging.yaml`); absolute when it is elsewhere. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
