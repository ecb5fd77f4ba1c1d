import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { z } from 'zod';
import { HoneydueStackProps, REDIS_EVICTION_POLICIES } from '../constructs';
import {
  cidrProblem, cpuProblem, dataKeyProblem, dnsLabelProblem, durationProblem, envNameProblem, hostnameProblem, httpsUrlProblem,
  imageTagProblem, ipCidrProblem, memoryProblem, portProblem, redisSizeProblem,
} from '../constructs/shared/validation';

/** A string judged by one of the shared validators, so config and constructs agree on every rule. */
const judged = (problem: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const sentence = problem(value);
    if (sentence) ctx.addIssue({ code: 'custom', message: sentence });
  });

const wholeNumber = (min: number, max?: number) => {
  const base = z.number().int().min(min);
  return max === undefined ? base : base.max(max);
};
const port = z.number().superRefine((value, ctx) => {
  const sentence = portProblem(value);
  if (sentence) ctx.addIssue({ code: 'custom', message: sentence });
});

const cpuMemory = z.strictObject({ cpu: judged(cpuProblem).optional(), memory: judged(memoryProblem).optional() });
const resources = z.strictObject({ requests: cpuMemory.optional(), limits: cpuMemory.optional() });
const probeTiming = z.strictObject({
  initialDelaySeconds: wholeNumber(0).optional(),
  periodSeconds: wholeNumber(1).optional(),
  timeoutSeconds: wholeNumber(1).optional(),
  failureThreshold: wholeNumber(1).optional(),
});
const probes = z.strictObject({ startup: probeTiming.optional(), readiness: probeTiming.optional(), liveness: probeTiming.optional() });
const secretKey = z.union([judged(envNameProblem), z.strictObject({ key: judged(envNameProblem), optional: z.boolean().optional() })]);
const secretKeys = z.array(secretKey).superRefine((keys, ctx) => {
  const names = keys.map((k) => (typeof k === 'string' ? k : k.key));
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `'${name}' is listed twice; list each key once` });
  });
});
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
  replicas: wholeNumber(1).optional(),
  cacheSizeLimit: judged(memoryProblem).optional(),
  probes: probes.optional(),
  runAsUser: wholeNumber(1).optional(),
  resources: resources.optional(),
  secretKeys: secretKeys.optional(),
};

/**
 * The config file's schema: exactly {@link HoneydueStackProps}, strict (an
 * unknown key is an error, since a typo would otherwise fall back to a
 * default silently), plus the keys about the environment rather than the stack:
 * `extends` to build on another environment's file, `shares` and `deploy`.
 */
export const configSchema = z
  .strictObject({
    extends: judged(dnsLabelProblem).optional(),
    shares: sharesSchema.optional(),
    deploy: deploySchema.optional(),
    imageTag: judged(imageTagProblem),
    namespace: judged(dnsLabelProblem),
    environmentLabel: z.string().min(1).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    registry: z.string().regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/, 'must look like host/owner, e.g. gitea.example.com/admin'),
    images: z.strictObject({ api: z.string().min(1), worker: z.string().min(1), admin: z.string().min(1), web: z.string().min(1).optional() }),
    imagePullSecret: judged(dnsLabelProblem).optional(),
    secretName: judged(dnsLabelProblem),
    configMapName: judged(dnsLabelProblem),
    ingressName: judged(dnsLabelProblem),
    apnsKey: z.strictObject({ secretName: judged(dnsLabelProblem) }).optional(),
    domains: z.strictObject({ apex: judged(hostnameProblem), api: judged(hostnameProblem), admin: judged(hostnameProblem) }),
    database: z.strictObject({ host: judged(hostnameProblem), port: port.optional(), user: z.string().min(1), name: z.string().min(1) }),
    email: z.strictObject({ smtpHost: judged(hostnameProblem), smtpPort: port.optional() }),
    storage: z.strictObject({ bucket: z.string().min(1), region: z.string().min(1) }),
    publicApiUrl: z.url({ protocol: /^https?$/ }).optional(),
    annotationKeys: z.strictObject({ configHash: z.string().optional(), kubernetesApiAccess: z.string().optional() }).optional(),
    extraConfig: z.record(judged(envNameProblem), z.string()).optional(),
    api: z.strictObject({
      replicas: wholeNumber(1).optional(),
      autoscaling: z.strictObject({
        minReplicas: wholeNumber(1).optional(),
        maxReplicas: wholeNumber(1).optional(),
        cpuUtilization: wholeNumber(1, 100).optional(),
        memoryUtilization: wholeNumber(1, 100).optional(),
      }).superRefine((autoscaling, ctx) => {
        if ((autoscaling.maxReplicas ?? 6) < (autoscaling.minReplicas ?? 3)) {
          ctx.addIssue({ code: 'custom', path: ['maxReplicas'], message: 'must be at least minReplicas' });
        }
      }).optional(),
      probes: probes.optional(),
      minAvailable: wholeNumber(0).optional(),
      metricsPort: port.optional(),
      metricsPath: z.string().startsWith('/').optional(),
      preStopDelaySeconds: wholeNumber(0).optional(),
      terminationGracePeriodSeconds: wholeNumber(1).optional(),
      resources: resources.optional(),
      secretKeys: secretKeys.optional(),
    }).optional(),
    admin: z.strictObject(nextjsApp).optional(),
    web: z.strictObject({ ...nextjsApp, enabled: z.boolean().optional() }).optional(),
    // Cross-field checks sit on the smallest object that holds both fields: zod skips a
    // refinement once its own object has a type error, so one at the top would hide
    // `worker.replicas: 2` behind any unrelated mistake elsewhere in the file.
    worker: z.strictObject({
      replicas: wholeNumber(1).optional(),
      leaderElectedScheduler: z.boolean().optional(),
      healthProbe: probeTiming.extend({ port: port.optional(), path: z.string().startsWith('/').optional() }).optional(),
      replicasAnnotation: z.strictObject({ key: z.string().min(1), reason: z.string().min(1) }).optional(),
      resources: resources.optional(),
      secretKeys: secretKeys.optional(),
    }).superRefine((worker, ctx) => {
      if ((worker.replicas ?? 1) > 1 && !worker.leaderElectedScheduler) {
        ctx.addIssue({
          code: 'custom',
          path: ['replicas'],
          message: "must be 1: Asynq's Scheduler is not leader-elected, every replica fires every cron task; set worker.leaderElectedScheduler: true once PeriodicTaskManager is wired",
        });
      }
    }).optional(),
    migrate: z.strictObject({
      jobName: judged(dnsLabelProblem),
      backoffLimit: wholeNumber(0).optional(),
      activeDeadlineSeconds: wholeNumber(1, 600).optional(),
      migrationsDir: z.string().startsWith('/').optional(),
      resources: resources.optional(),
      secretKeys: secretKeys.optional(),
    }),
    redis: z.strictObject({
      evictionPolicy: z.enum(REDIS_EVICTION_POLICIES).optional(),
      maxMemory: judged(redisSizeProblem).optional(),
      storage: judged(memoryProblem).optional(),
      storageClassName: judged(dnsLabelProblem).optional(),
      nodeSelector: z.record(z.string(), z.string()).optional(),
      resources: resources.optional(),
    }).optional(),
    traefik: z.strictObject({
      enabled: z.boolean().optional(),
      webPort: port.optional(),
      websecureEnabled: z.boolean().optional(),
      websecurePort: port.optional(),
      maxUnavailable: wholeNumber(1).optional(),
      forwardedHeadersTrustedIps: z.array(judged(ipCidrProblem)).optional(),
    }).optional(),
    observability: z.strictObject({
      enabled: z.boolean().optional(),
      tokenSecret: z.strictObject({ name: judged(dnsLabelProblem), key: judged(dataKeyProblem).optional() }).optional(),
      remoteWriteUrl: judged(httpsUrlProblem).optional(),
      scrapeInterval: judged(durationProblem).optional(),
      scrapeJobName: z.string().min(1).optional(),
      bufferChunks: z.number().optional(),
      resources: resources.optional(),
    }).optional(),
    networkPolicy: z.strictObject({
      enabled: z.boolean().optional(),
      nodeCidrs: z.array(judged(cidrProblem)).min(1, 'must list at least one CIDR: Traefik on other nodes reaches pods from them').optional(),
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
  if (!parsed.success) {
    throw new ConfigError(file, parsed.error.issues.map((issue) => describeIssue(issue, raw)));
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
