import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './shared/repo-root';
import { App } from 'cdk8s';
import * as YAML from 'yaml';
import * as z from 'zod';
import { HoneydueStack, HoneydueStackProps, REDIS_EVICTION_POLICIES, ValueProblem, ValueProblems } from '../constructs';
import { dnsLabelProblem } from '../constructs/shared/validation';
import { closest } from './check/field-watch';

/**
 * A string judged by one of the shared validators. Only the keys about the
 * environment use it (`extends`, `shares`): the stack's values are judged by
 * the constructs, whose rules {@link loadEnvironment} reports at the config keys
 * as it builds the stack.
 */
const judged = (problem: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const sentence = problem(value);
    if (sentence) ctx.addIssue({ code: 'custom', message: sentence });
  });

// Types, unknown keys and enums only: every value rule (ranges, formats, one key
// against another) is the constructs', so the library and the config file refuse
// the same values with the same sentence.
/** A resource quantity: Kubernetes takes a number too (`cpu: 1`, `memory: 134217728`), read as its text, which the constructs judge. */
const quantity = z.union([z.string(), z.number()]).transform(String);
const cpuMemory = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });
const resources = z.strictObject({ requests: cpuMemory.optional(), limits: cpuMemory.optional() });
const probeTiming = z.strictObject({
  initialDelaySeconds: z.number().optional(),
  periodSeconds: z.number().optional(),
  timeoutSeconds: z.number().optional(),
  failureThreshold: z.number().optional(),
});
const probes = z.strictObject({ startup: probeTiming.optional(), readiness: probeTiming.optional(), liveness: probeTiming.optional() });
const secretKeys = z.array(z.union([z.string(), z.strictObject({ key: z.string(), optional: z.boolean().optional() })]));
/** An environment named in another's file: `production`, or a list of them. */
const environmentNames = z.union([judged(dnsLabelProblem), z.array(judged(dnsLabelProblem)).min(1, 'must name at least one environment')]);

/**
 * `shares`: the data this environment shares on purpose with an earlier one, per
 * resource. Read from the environment's own file only, never inherited through
 * `extends` (a share that is not written in the file is not declared). The
 * environment check in app/environments.ts judges it against the other files.
 */
const sharesSchema = z.strictObject({
  database: environmentNames.optional(),
  bucket: environmentNames.optional(),
  ingressHost: environmentNames.optional(),
  namespace: environmentNames.optional(),
});

/**
 * `deploy`: whether `npm run deploy` may roll this environment out. Inherited
 * through `extends` like any key, so an environment built on a not-deployable one
 * is refused too until its file says otherwise (`deploy: null`).
 */
const deploySchema = z.strictObject({
  enabled: z.boolean(),
  reason: z.string().trim().min(1, 'must say why, in a sentence the deploy prints').optional(),
}).superRefine((deploy, ctx) => {
  if (!deploy.enabled && deploy.reason === undefined) {
    ctx.addIssue({ code: 'custom', path: ['reason'], message: 'must say why the environment is not deployable; the deploy command prints it when it refuses' });
  }
  if (deploy.enabled && deploy.reason !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['reason'], message: "is read only when deploy.enabled is false; remove it (write 'deploy: null' to drop an inherited refusal)" });
  }
});

const nextjsApp = {
  replicas: z.number().optional(),
  cacheSizeLimit: z.string().optional(),
  probes: probes.optional(),
  runAsUser: z.number().optional(),
  resources: resources.optional(),
  secretKeys: secretKeys.optional(),
};

/**
 * The config file's schema: exactly {@link HoneydueStackProps}, strict (an
 * unknown key is an error, since a typo would otherwise fall back to a
 * default silently), plus the keys about the environment rather than the stack:
 * `extends` to build on another environment's file, `shares` and `deploy`.
 * It checks types and enums; the values are judged by the constructs, as
 * {@link loadEnvironment} builds the stack.
 */
export const configSchema = z
  .strictObject({
    extends: judged(dnsLabelProblem).optional(),
    shares: sharesSchema.optional(),
    deploy: deploySchema.optional(),
    imageTag: z.string(),
    namespace: z.string(),
    environmentLabel: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    registry: z.string(),
    images: z.strictObject({ api: z.string(), worker: z.string(), admin: z.string(), web: z.string().optional() }),
    imagePullSecret: z.string().optional(),
    secretName: z.string(),
    configMapName: z.string(),
    ingressName: z.string(),
    apnsKey: z.strictObject({ secretName: z.string() }).optional(),
    domains: z.strictObject({ apex: z.string(), api: z.string(), admin: z.string() }),
    database: z.strictObject({ host: z.string(), port: z.number().optional(), user: z.string(), name: z.string() }),
    email: z.strictObject({ smtpHost: z.string(), smtpPort: z.number().optional() }),
    storage: z.strictObject({ bucket: z.string(), region: z.string() }),
    publicApiUrl: z.string().optional(),
    annotationKeys: z.strictObject({ configHash: z.string().optional(), kubernetesApiAccess: z.string().optional() }).optional(),
    extraConfig: z.record(z.string(), z.string()).optional(),
    api: z.strictObject({
      replicas: z.number().optional(),
      autoscaling: z.strictObject({
        minReplicas: z.number().optional(),
        maxReplicas: z.number().optional(),
        cpuUtilization: z.number().optional(),
        memoryUtilization: z.number().optional(),
      }).optional(),
      probes: probes.optional(),
      minAvailable: z.number().optional(),
      metricsPort: z.number().optional(),
      metricsPath: z.string().optional(),
      preStopDelaySeconds: z.number().optional(),
      terminationGracePeriodSeconds: z.number().optional(),
      resources: resources.optional(),
      secretKeys: secretKeys.optional(),
    }).optional(),
    admin: z.strictObject(nextjsApp).optional(),
    web: z.strictObject({ ...nextjsApp, enabled: z.boolean().optional() }).optional(),
    worker: z.strictObject({
      replicas: z.number().optional(),
      leaderElectedScheduler: z.boolean().optional(),
      healthProbe: probeTiming.extend({ port: z.number().optional(), path: z.string().optional() }).optional(),
      replicasAnnotation: z.strictObject({ key: z.string(), reason: z.string() }).optional(),
      resources: resources.optional(),
      secretKeys: secretKeys.optional(),
    }).optional(),
    migrate: z.strictObject({
      jobName: z.string(),
      backoffLimit: z.number().optional(),
      activeDeadlineSeconds: z.number().optional(),
      migrationsDir: z.string().optional(),
      resources: resources.optional(),
      secretKeys: secretKeys.optional(),
    }),
    redis: z.strictObject({
      evictionPolicy: z.enum(REDIS_EVICTION_POLICIES).optional(),
      maxMemory: z.string().optional(),
      storage: z.string().optional(),
      storageClassName: z.string().optional(),
      nodeSelector: z.record(z.string(), z.string()).optional(),
      resources: resources.optional(),
    }).optional(),
    traefik: z.strictObject({
      enabled: z.boolean().optional(),
      webPort: z.number().optional(),
      websecureEnabled: z.boolean().optional(),
      websecurePort: z.number().optional(),
      maxUnavailable: z.number().optional(),
      forwardedHeadersTrustedIps: z.array(z.string()).optional(),
    }).optional(),
    observability: z.strictObject({
      enabled: z.boolean().optional(),
      tokenSecret: z.strictObject({ name: z.string(), key: z.string().optional() }).optional(),
      remoteWriteUrl: z.string().optional(),
      scrapeInterval: z.string().optional(),
      scrapeJobName: z.string().optional(),
      bufferChunks: z.number().optional(),
      resources: resources.optional(),
    }).optional(),
    networkPolicy: z.strictObject({
      enabled: z.boolean().optional(),
      nodeCidrs: z.array(z.string()).optional(),
    }).optional(),
  });

/** The parsed config file. The compiler keeps it assignable to the stack's props. */
export type HoneydueConfig = z.infer<typeof configSchema>;
// Fails to compile when the schema and HoneydueStackProps drift apart.
type Assignable<T extends U, U> = T;
export type ValidatedStackProps = Assignable<Omit<HoneydueConfig, EnvironmentKey>, HoneydueStackProps>;
/** Keys about the environment, not the stack: loadConfig strips them, no construct sees them. */
type EnvironmentKey = 'extends' | 'shares' | 'deploy';
/** What an environment's file says about its data shares. */
export type EnvironmentShares = z.infer<typeof sharesSchema>;
/** What an environment's files say about deploying it. */
export type EnvironmentDeploy = z.infer<typeof deploySchema>;

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

/** Problems file by file, top to bottom, as an operator fixes them; the files in the order they first appear. */
function inFileOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const files = [...new Set(issues.map((issue) => issue.source.file))];
  const rank = (issue: ConfigIssue) => [files.indexOf(issue.source.file), issue.source.line ?? 0, issue.source.column ?? 0];
  return [...issues].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2];
  });
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

/** The value at `path` in a parsed config, or undefined when it holds none. */
function valueAt(config: unknown, path: ConfigPath): unknown {
  return path.reduce<unknown>((node, key) => (isMapping(node) || Array.isArray(node) ? (node as any)[key] : undefined), config);
}

/** The environments that have a config file. */
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

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A construct's rule broken at a config key (`api.autoscaling.maxReplicas`), located where the value is set.
 * A number the schema handed the construct as its text (a quantity, `-5`) is shown as the file writes it.
 */
function describeProblem(problem: ValueProblem, raw: unknown, sources: ConfigSources): ConfigIssue {
  const written = valueAt(raw, problem.keys);
  const value = typeof written === 'number' && problem.value === String(written) ? written : problem.value;
  return sources.issue(problem.keys, problem.problem, { value });
}

/** Zod's issue as the operator's problems (an unknown-keys issue is one problem per key), each located. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown, sources: ConfigSources): ConfigIssue[] {
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

/** A path as an operator in the repo reads it (`config/staging.yaml`); absolute when it is elsewhere. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
