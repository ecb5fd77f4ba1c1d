/**
 * The config file's schema: the zod schema of `config/<env>.yaml` and the types
 * read from it. It checks types, unknown keys and enums; every value rule is the
 * constructs'.
 */
import * as z from 'zod';
import { HoneydueStackProps, REDIS_EVICTION_POLICIES } from '../../constructs';
import { dnsLabelProblem } from '../../constructs/shared/validation';

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
