/**
 * Loading an environment's config: its file and the files it `extends`, layered,
 * the image tag override on top, validated by building the stack.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import * as YAML from 'yaml';
import * as z from 'zod';
import { HoneydueStack, HoneydueStackProps, ValueProblem, ValueProblems } from '../../constructs';
import { closest } from '../../manifest-check/field-watch';
import { REPO_ROOT } from '../shared/repo-root';
import { ConfigError, describeIssue, describeProblem } from './messages';
import { configSchema, EnvironmentDeploy, EnvironmentShares, HoneydueConfig, ValidatedStackProps } from './schema';
import { ConfigLayer, ConfigOverride, ConfigPath, ConfigSources, describeSource, isMapping, shownPath, valueAt } from './sources';

export interface LoadConfigOptions {
  /** Folder holding `<env>.yaml`. @default 'config' beside the repo root */
  readonly configDir?: string;
  /** Replaces the file's `imageTag` (the deploy pins an exact SHA this way). */
  readonly imageTag?: string;
  /**
   * Where {@link imageTag} came from, as a problem or notice names it (`--tag`,
   * `HONEYDUE_IMAGE_TAG`): a bad override must not be blamed on the file.
   * @default 'the imageTag override'
   */
  readonly imageTagSource?: string;
  /**
   * The config files this run has read, by path; the files read now are added. Where
   * environments extend one another (staging extends production) a run that loads them
   * all parses each file once. Pass one Map per run: a file edited between runs is read again.
   * @default none: every file of the chain is read
   */
  readonly filesRead?: Map<string, ConfigLayer>;
}

/** An environment's config: the stack's props plus what its files say about the environment itself. */
export interface LoadedEnvironment {
  readonly env: string;
  /** `<configDir>/<env>.yaml` */
  readonly file: string;
  readonly props: HoneydueStackProps;
  /** Its own file's `shares` (never inherited). */
  readonly shares: EnvironmentShares;
  /** `deploy` as its files layer it; undefined is deployable. */
  readonly deploy?: EnvironmentDeploy;
  /** Its own file first, then each file it extends, in order. */
  readonly chain: readonly ConfigLayer[];
  /** Locates a key in the chain and the overrides: a problem found after loading (a construct's) is reported through it. */
  readonly sources: ConfigSources;
  /** The stack built from {@link props}, in an App of its own: the build that judged them, which synth renders. */
  readonly stack: HoneydueStack;
  /**
   * One sentence per value an override replaced, naming the override and the
   * file and line it replaced: synth prints them, since `HONEYDUE_IMAGE_TAG`
   * left set in a shell would otherwise change the output unseen.
   */
  readonly overridden: readonly string[];
}

/** Reads `config/<env>.yaml` (following `extends`), applies the tag override and validates it all at once, by building the stack. */
export function loadConfig(env: string, options: LoadConfigOptions = {}): HoneydueStackProps {
  return loadEnvironment(env, options).props;
}

/**
 * {@link loadConfig}, keeping what the stack must not see: the file's `shares`,
 * the layered `deploy`, and the chain of files, so a message can say which file
 * set a value; and the stack, whose build is the validation.
 */
export function loadEnvironment(env: string, options: LoadConfigOptions = {}): LoadedEnvironment {
  const configDir = options.configDir ?? path.join(REPO_ROOT, 'config');
  const file = path.join(configDir, `${env}.yaml`);
  const chain = readChain(configDir, env, [], options.filesRead);
  const raw = mergeChain(chain);
  const overrides: ConfigOverride[] = [];
  const overridden: string[] = [];
  if (options.imageTag !== undefined) {
    const source = options.imageTagSource ?? 'the imageTag override';
    if (raw.imageTag !== options.imageTag) {
      const replaced = raw.imageTag === undefined ? 'no imageTag in the files' : `imageTag ${JSON.stringify(raw.imageTag)} of ${describeSource(new ConfigSources(chain).locate(['imageTag']))}`;
      overridden.push(`imageTag ${JSON.stringify(options.imageTag)} from ${source} replaces ${replaced}`);
    }
    raw.imageTag = options.imageTag;
    overrides.push({ path: ['imageTag'], source });
  }
  const sources = new ConfigSources(chain, overrides);
  const parsed = configSchema.safeParse(raw);
  const typeIssues = parsed.success ? [] : parsed.error.issues;
  // The build is the validation: each construct judges its props as the stack builds it. On a config the
  // schema refused in part the stack is built on the rest, each refused value left out, so one run reports
  // both; a key the schema refused is not judged twice.
  const refusals = typeIssues.filter((issue) => issue.code !== 'unrecognized_keys' && issue.path.length > 0);
  const isRefused = (keys: ConfigPath) => refusals.some(({ path }) => path.every((key, i) => String(keys[i]) === String(key)));
  const { extends: _base, shares, deploy, ...props } = (parsed.success ? parsed.data : withoutRefused(raw, refusals)) as HoneydueConfig;
  let stack: HoneydueStack | undefined;
  let valueProblems: readonly ValueProblem[] = [];
  try {
    stack = new HoneydueStack(new App(), env, props);
  } catch (error) {
    if (error instanceof ValueProblems) valueProblems = error.problems.filter((problem) => !isRefused(problem.keys));
    else if (parsed.success) throw new ConfigError(file, [(error as Error).message]);
    // Else the build failed on a value the schema refused (a required key left out): its problem says what to fix.
  }
  if (!parsed.success || stack === undefined) {
    throw new ConfigError(file, [
      ...typeIssues.flatMap((issue) => describeIssue(issue, raw, sources)),
      ...valueProblems.map((problem) => describeProblem(problem, raw, sources)),
    ]);
  }
  const validated: ValidatedStackProps = props;
  return { env, file, props: validated, shares: shares ?? {}, deploy, chain, sources, overridden, stack };
}

/**
 * `raw` without the values the schema refused: each left out, so the
 * construct's default takes its place (a list item leaves a hole, so the items
 * after it keep their keys), and a mapping the stack reads fields of left empty.
 */
function withoutRefused(raw: Record<string, unknown>, refusals: readonly z.core.$ZodIssue[]): Record<string, unknown> {
  const copy = structuredClone(raw);
  for (const issue of refusals) {
    const parent = valueAt(copy, issue.path.slice(0, -1) as ConfigPath);
    const key = issue.path[issue.path.length - 1] as string | number;
    if (!isMapping(parent) && !Array.isArray(parent)) continue;
    if (issue.code === 'invalid_type' && issue.expected === 'object') (parent as Record<string | number, unknown>)[key] = {};
    else delete (parent as Record<string | number, unknown>)[key];
  }
  return copy;
}

/** The environments that have a config file. */
/**
 * The `imageTag` an environment's files set (following `extends`), and the file
 * that sets it: what a deploy without `--tag` releases, read without building the stack.
 */
export function configuredImageTag(env: string, configDir = path.join(REPO_ROOT, 'config')): { readonly tag: unknown; readonly file: string } {
  const chain = readChain(configDir, env, []);
  return { tag: mergeChain(chain).imageTag, file: new ConfigSources(chain).locate(['imageTag']).file };
}

export function listEnvironments(configDir = path.join(REPO_ROOT, 'config')): string[] {
  return fs.readdirSync(configDir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

/**
 * `env`'s layers, its own file first. `seen` holds the layers read so far, the
 * last of them the one whose `extends` names `env`: a missing or cyclic base is
 * a problem of that file's `extends` line, not of a file that does not exist.
 */
function readChain(configDir: string, env: string, seen: ConfigLayer[], filesRead?: Map<string, ConfigLayer>): ConfigLayer[] {
  const file = path.join(configDir, `${env}.yaml`);
  const from = seen[seen.length - 1];
  const atExtends = (message: string) => new ConfigError(seen[0].file, [new ConfigSources([from]).issue(['extends'], message)]);
  if (seen.some((layer) => layer.env === env)) {
    throw atExtends(`'${env}' extends itself through ${[...seen.map((l) => l.env), env].join(' -> ')}; remove the cycle`);
  }
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(configDir) ? listEnvironments(configDir) : [];
    const hint = closest(env, known);
    const sentence = `${hint ? `did you mean '${hint}'? ` : ''}known environments: ${known.join(', ') || 'none'}`;
    if (from) throw atExtends(`'${env}' has no config file (${shownPath(file)}); ${sentence}`);
    throw new ConfigError(file, [`environment '${env}' has no config file ${file}; ${sentence}`]);
  }
  const layer = filesRead?.get(file) ?? readLayer(file, env);
  filesRead?.set(file, layer);
  if (typeof layer.doc.extends !== 'string') return [layer];
  return [layer, ...readChain(configDir, layer.doc.extends, [...seen, layer], filesRead)];
}

/** One config file, parsed with its lines; a file that is not YAML or not a mapping throws, naming the line. */
function readLayer(file: string, env: string): ConfigLayer {
  const lineCounter = new YAML.LineCounter();
  const yaml = YAML.parseDocument(fs.readFileSync(file, 'utf8'), { lineCounter });
  if (yaml.errors.length > 0) {
    throw new ConfigError(file, yaml.errors.map((error) => {
      const { line, col } = error.linePos?.[0] ?? { line: 1, col: 1 };
      // The parser's own message repeats the position and quotes the lines; the position leads ours.
      const what = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      return { path: [], message: `not valid YAML: ${what}`, source: { file: shownPath(file), line, column: col } };
    }));
  }
  const doc: unknown = yaml.toJS();
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(file, [{ path: [], message: 'the file must hold a mapping of config keys', source: { file: shownPath(file), line: 1, column: 1 } }]);
  }
  return { env, file, doc: doc as Record<string, unknown>, yaml, lineCounter };
}

/**
 * The chain's files merged, the base first. A base's `shares` is dropped: a
 * share is declared in the file of the environment that has it, so `qa`
 * extending `staging` states its own.
 */
function mergeChain(chain: readonly ConfigLayer[]): Record<string, unknown> {
  const [root, ...above] = [...chain].reverse();
  return above.reduce<Record<string, unknown>>((base, layer) => {
    const { shares: _notInherited, ...inherited } = base;
    const { extends: _extends, ...own } = layer.doc;
    return deepMerge(inherited, own);
  }, { ...root.doc });
}

/**
 * Mappings merge key by key; lists and scalars replace; `null` removes the
 * inherited key, so an environment can switch off what its base turns on
 * (`autoscaling: null`) and get the construct's default back. An environment
 * file states only its differences.
 */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    if (value === null) delete merged[key];
    else merged[key] = isMapping(current) && isMapping(value) ? deepMerge(current, value) : value;
  }
  return merged;
}
