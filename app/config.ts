import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { z } from 'zod';
import { honeydueStackProblems, HoneydueStackProps, REDIS_EVICTION_POLICIES, ValueProblem } from '../constructs';
import { dnsLabelProblem } from '../constructs/shared/validation';

/**
 * A string judged by one of the shared validators. Only the keys about the
 * environment use it (`extends`, `shares`): the stack's values are judged by
 * the constructs, whose rules {@link loadEnvironment} reports at the config keys.
 */
const judged = (problem: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const sentence = problem(value);
    if (sentence) ctx.addIssue({ code: 'custom', message: sentence });
  });

// Types, unknown keys and enums only: every value rule (ranges, formats, one key
// against another) is the constructs', so the library and the config file refuse
// the same values with the same sentence.
const cpuMemory = z.strictObject({ cpu: z.string().optional(), memory: z.string().optional() });
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
 * It checks types and enums; the values are judged by {@link honeydueStackProblems}.
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

/** A config that failed validation: every problem, each with its path and value. */
export class ConfigError extends Error {
  public constructor(public readonly file: string, public readonly problems: string[]) {
    super(`${file}: ${problems.length} problem(s) in the config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Folder holding `<env>.yaml`. @default 'config' beside the repo root */
  readonly configDir?: string;
  /** Replaces the file's `imageTag` (the deploy pins an exact SHA this way). */
  readonly imageTag?: string;
}

/** One file of an environment's `extends` chain, as parsed. */
export interface ConfigLayer {
  readonly env: string;
  readonly file: string;
  readonly doc: Record<string, unknown>;
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
}

/** Reads `config/<env>.yaml` (following `extends`), applies the tag override and validates it all at once. */
export function loadConfig(env: string, options: LoadConfigOptions = {}): HoneydueStackProps {
  return loadEnvironment(env, options).props;
}

/**
 * {@link loadConfig}, keeping what the stack must not see: the file's `shares`,
 * the layered `deploy`, and the chain of files, so a message can say which file
 * set a value.
 */
export function loadEnvironment(env: string, options: LoadConfigOptions = {}): LoadedEnvironment {
  const configDir = options.configDir ?? path.resolve(__dirname, '..', 'config');
  const file = path.join(configDir, `${env}.yaml`);
  const chain = readChain(configDir, env, []);
  const raw = mergeChain(chain);
  if (options.imageTag !== undefined) raw.imageTag = options.imageTag;
  const parsed = configSchema.safeParse(raw);
  const typeIssues = parsed.success ? [] : parsed.error.issues;
  // The constructs' rules run beside the type check (they skip a value of the wrong
  // type), so one run reports every problem; a key the schema refused is not judged twice.
  const refused = typeIssues.filter((issue) => issue.code !== 'unrecognized_keys').map((issue) => issue.path.map(String).join('.'));
  const valueProblems = honeydueStackProblems(raw as unknown as HoneydueStackProps).filter((problem) => {
    const key = problem.keys.map(String).join('.');
    return !refused.some((path) => key === path || key.startsWith(`${path}.`));
  });
  if (!parsed.success || valueProblems.length > 0) {
    throw new ConfigError(file, [...typeIssues.map((issue) => describeIssue(issue, raw)), ...valueProblems.map(describeProblem)]);
  }
  const { extends: _base, shares, deploy, ...props } = parsed.data;
  const validated: ValidatedStackProps = props;
  return { env, file, props: validated, shares: shares ?? {}, deploy, chain };
}

/** The environments that have a config file. */
export function listEnvironments(configDir = path.resolve(__dirname, '..', 'config')): string[] {
  return fs.readdirSync(configDir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();
}

function readChain(configDir: string, env: string, seen: string[]): ConfigLayer[] {
  const file = path.join(configDir, `${env}.yaml`);
  if (seen.includes(env)) {
    throw new ConfigError(file, [`extends: '${env}' extends itself through ${[...seen, env].join(' -> ')}; remove the cycle`]);
  }
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(configDir) ? listEnvironments(configDir).join(', ') : 'none';
    throw new ConfigError(file, [`environment '${env}' has no config file ${file}; known environments: ${known}`]);
  }
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(file, [`not valid YAML: ${(error as Error).message}`]);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(file, ['the file must hold a mapping of config keys']);
  }
  const layer = { env, file, doc: doc as Record<string, unknown> };
  if (typeof layer.doc.extends !== 'string') return [layer];
  return [layer, ...readChain(configDir, layer.doc.extends, [...seen, env])];
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

/** A construct's rule broken at a config key: `api.autoscaling.maxReplicas: <problem> (got 2)`. */
function describeProblem(problem: ValueProblem): string {
  const shown = problem.value === undefined ? 'missing' : JSON.stringify(problem.value);
  return `${problem.keys.map(String).join('.')}: ${problem.problem} (got ${shown})`;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length > 0 ? `${where}.` : '';
    return `${issue.keys.map((k) => prefix + k).join(', ')}: unknown key; check the spelling against the README's config reference`;
  }
  if (issue.code === 'invalid_key') {
    // A record key failed its own check: report the key's problem, not the value's.
    return `${where}: ${issue.issues.map((inner) => inner.message).join('; ')}`;
  }
  const value = issue.path.reduce<unknown>((node, key) => (isMapping(node) || Array.isArray(node) ? (node as any)[key as any] : undefined), raw);
  const shown = value === undefined ? 'missing' : JSON.stringify(value);
  return `${where}: ${issue.message} (got ${shown})`;
}
