import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { clusterIpService, RECREATE, workloadDeployment, WorkloadProps } from './shared/app-workload';
import { drainSafePdb } from './shared/disruption-budget';
import { namespaceOf, objectLabels } from './shared/labels';
import { LIVENESS_TIMING, READINESS_TIMING, tcpProbe } from './shared/probes';
import { REDIS_RESOURCES, resolveResources, ResourceOverrides, resourcesProblems } from './shared/resources';
import { dnsLabelProblem, imageProblem, isRecord, memoryProblem, ProblemList, redisMemoryProblem, redisSizeProblem, reportProblems, ValueProblem, wholeNumberAtLeast } from './shared/validation';
import { Workload } from './workload';
import { applyAfter } from './shared/ordering';
import { claimObjectNames } from './shared/unique-names';

/**
 * What Redis does at `maxmemory`.
 * - `noeviction`: refuse writes with an error. Asynq's queue state lives in
 *   this Redis; evicting a queued job silently is a missed job.
 * - `allkeys-lru`: evict least recently used keys; right for a pure cache
 *   (worth verifying once nothing but cache lives here), wrong while queues share the instance.
 */
export type RedisEvictionPolicy =
  | 'noeviction'
  | 'allkeys-lru'
  | 'allkeys-lfu'
  | 'allkeys-random'
  | 'volatile-lru'
  | 'volatile-lfu'
  | 'volatile-random'
  | 'volatile-ttl';

/** Every {@link RedisEvictionPolicy}, for validating a config value at runtime. */
export const REDIS_EVICTION_POLICIES: readonly RedisEvictionPolicy[] = [
  'noeviction', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl',
];

/** Props of {@link Redis}. Defaults are a small persistent instance on k3s' local-path storage. */
export interface RedisProps extends WorkloadProps {
  /** Redis image with a pinned tag; the script needs `sh`. @default 'redis:7-alpine' */
  readonly image?: string;
  /** Deployment, Service and ServiceAccount name. @default 'redis' */
  readonly name?: string;
  /**
   * What Redis does when full. A queue (Asynq) in this Redis needs
   * `noeviction`: queue state must not be dropped silently. A pure cache is
   * better served by `allkeys-lru`.
   * @default 'noeviction'
   */
  readonly evictionPolicy?: RedisEvictionPolicy;
  /** `--maxmemory`, a Redis size like `256mb`. @default '256mb' */
  readonly maxMemory?: string;
  /** PersistentVolumeClaim name (the live claim: renaming it loses the data). @default 'redis-data' */
  readonly claimName?: string;
  /** Size the PersistentVolumeClaim requests. @default '5Gi' */
  readonly storage?: string;
  /** StorageClass of the claim. @default 'local-path' (k3s' per-node provisioner) */
  readonly storageClassName?: string;
  /**
   * Node labels the pod must match. local-path volumes live on one node, so
   * pin Redis to the node that holds its data with a label of the cluster's own.
   * @default undefined (no pinning: with local-path the pod must land where the volume was made)
   */
  readonly nodeSelector?: Record<string, string>;
  /**
   * Secret with the optional `REDIS_PASSWORD` key; `requirepass` only when it is non-empty.
   * @default undefined (no password read: Redis runs without auth)
   */
  readonly secretName?: string;
  /** Overrides of Redis' requests and limits. @default {@link REDIS_RESOURCES}: requests 100m / 128Mi, limits 500m / 512Mi */
  readonly resources?: ResourceOverrides;
  /** The image's `redis` user. @default 999 */
  readonly runAsUser?: number;
  /**
   * The pod's gid and fsGroup: the `redis` user's group in the image.
   * `redis:7-alpine` creates it with `addgroup -S -g 1000 redis` and the user
   * with `adduser -S -G redis -u 999 redis`, so the group is 1000, not the
   * uid; a gid of 999 runs Redis outside its own group (alpine already gives
   * 999 to another system group), so files the image made for `redis:redis`
   * are not the pod group's.
   * @default 1000
   */
  readonly runAsGroup?: number;
}

/** Redis' port, fixed by the image and every client's URL. */
export const REDIS_PORT = 6379;

/**
 * Every problem of {@link RedisProps}, each naming its prop and value; the
 * constructor throws them all at once before it builds anything. Values of the
 * wrong type are left to the type checker (or the config schema). `namespace` is
 * the resolved one (the Chart's when the prop is unset).
 */
export function redisProblems(props: RedisProps, namespace: unknown = props.namespace): ValueProblem[] {
  const owner = 'Redis';
  const problems = new ProblemList(owner);
  problems.string('image', props.image, imageProblem);
  problems.string('name', props.name, dnsLabelProblem);
  problems.string('namespace', namespace, dnsLabelProblem);
  problems.string('claimName', props.claimName, dnsLabelProblem);
  problems.string('storageClassName', props.storageClassName, dnsLabelProblem);
  problems.string('secretName', props.secretName, dnsLabelProblem);
  problems.string('storage', props.storage, memoryProblem);
  problems.string('evictionPolicy', props.evictionPolicy, (policy) =>
    (REDIS_EVICTION_POLICIES as readonly string[]).includes(policy) ? undefined : `'${policy}' is not a Redis policy; use one of ${REDIS_EVICTION_POLICIES.join(', ')}`);
  problems.string('maxMemory', props.maxMemory, redisSizeProblem);
  problems.number('runAsUser', props.runAsUser, wholeNumberAtLeast(1));
  problems.number('runAsGroup', props.runAsGroup, wholeNumberAtLeast(1));
  problems.addAll(resourcesProblems(owner, props.resources));
  const maxMemory = props.maxMemory ?? DEFAULT_MAX_MEMORY;
  const limits: unknown = isRecord(props.resources) ? props.resources.limits : undefined;
  const memoryLimit = (isRecord(limits) ? limits.memory : undefined) ?? REDIS_RESOURCES.limits.memory;
  // A maxMemory that is no Redis size (refused above, or a JavaScript caller's number: no unit) measures nothing.
  if (typeof memoryLimit === 'string') {
    problems.add('maxMemory', redisMemoryProblem(maxMemory, memoryLimit), maxMemory, ['resources.limits.memory']);
  }
  return problems.problems;
}

/** 256mb: half the default memory limit, the room the AOF rewrite's fork needs. */
const DEFAULT_MAX_MEMORY = '256mb';

/**
 * Single-instance Redis with AOF persistence: cache and Asynq queue backend.
 * Deployment (Recreate: a ReadWriteOnce volume cannot be attached by a surge
 * pod), PersistentVolumeClaim, Service, ServiceAccount and a PodDisruptionBudget.
 *
 * A {@link Workload}: it also has `name`, `namespace`, `serviceAccount` and `traffic`.
 *
 * @example new Redis(chart, 'redis', { evictionPolicy: 'noeviction' });
 */
export class Redis extends Workload {
  /** The Deployment (Recreate, one replica). */
  public readonly deployment: k8s.KubeDeployment;
  /** The ClusterIP Service on 6379. */
  public readonly service: k8s.KubeService;
  /** The PersistentVolumeClaim holding `/data` (the AOF). */
  public readonly claim: k8s.KubePersistentVolumeClaim;
  /** The PodDisruptionBudget `<name>-pdb`, drain-safe. */
  public readonly disruptionBudget: k8s.KubePodDisruptionBudget;
  /** Redis' port, 6379. */
  public readonly port = REDIS_PORT;

  public constructor(scope: Construct, id: string, props: RedisProps = {}) {
    super(scope, id);
    const image = props.image ?? 'redis:7-alpine';
    const name = props.name ?? 'redis';
    const namespace = namespaceOf(scope, 'Redis', props.namespace);
    const evictionPolicy = props.evictionPolicy ?? 'noeviction';
    const maxMemory = props.maxMemory ?? DEFAULT_MAX_MEMORY;
    const claimName = props.claimName ?? 'redis-data';
    const storage = props.storage ?? '5Gi';
    const storageClassName = props.storageClassName ?? 'local-path';
    const { nodeSelector, secretName } = props;
    const runAsUser = props.runAsUser ?? 999;
    const runAsGroup = props.runAsGroup ?? 1000;

    // Stryker disable next-line StringLiteral: buildPods names the owner only in a traffic problem, and Redis declares no traffic
    const owner = 'Redis';
    reportProblems(this, redisProblems(props, namespace));
    const resources = resolveResources(REDIS_RESOURCES, props.resources);

    this.claim = new k8s.KubePersistentVolumeClaim(this, 'Data', {
      metadata: { name: claimName, namespace, labels: objectLabels(name) },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName,
        resources: { requests: { storage: k8s.Quantity.fromString(storage) } },
      },
    });

    const script = redisStartScript(maxMemory, evictionPolicy);

    // Redis opens no connection of its own: its traffic lists none, and the policies only let its clients in.
    const template = this.buildPods({
      owner,
      name,
      namespace,
      image,
      runAsUser,
      runAsGroup,
      podLabels: props.podLabels,
      resources,
      podSpec: nodeSelector ? { nodeSelector } : undefined,
      volumes: [{ volume: { name: 'data', persistentVolumeClaim: { claimName } }, mountPath: '/data' }],
      container: {
        command: ['sh', '-c', script],
        ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
        env: secretName ? [{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: secretName, key: 'REDIS_PASSWORD', optional: true } } }] : undefined,
        readinessProbe: tcpProbe(REDIS_PORT, READINESS_TIMING),
        livenessProbe: tcpProbe(REDIS_PORT, LIVENESS_TIMING),
      },
    });
    this.deployment = workloadDeployment(this, { name, namespace, replicas: 1, strategy: RECREATE, template });
    applyAfter(this.deployment, this.claim, this.serviceAccount);
    this.service = clusterIpService(this, name, namespace, REDIS_PORT, 'redis');
    this.disruptionBudget = drainSafePdb(this, { name, namespace, minimumReplicas: 1 });
    claimObjectNames(this, 'Redis');
  }
}

/**
 * The container's `sh -c` script: Redis' configuration on stdin
 * (`redis-server -`), written by the shell as a here-document. The password
 * never passes through word splitting or globbing (a space or `a*` in it once
 * broke the start or was replaced by a file name in `/data`), never appears in
 * an argv (`printf` is a shell builtin; `od` reads it on stdin), and is unset
 * before `exec`, so it is not in redis-server's environment either. Each byte
 * is written as `\xHH` inside a double-quoted config string, which Redis'
 * config parser reads back byte for byte whatever the password holds (quotes,
 * backslashes, `$`, newlines). `requirepass` appears only when the optional
 * Secret key is non-empty. `maxMemory` and `evictionPolicy` are validated
 * before they reach the script.
 */
function redisStartScript(maxMemory: string, evictionPolicy: RedisEvictionPolicy): string {
  return [
    'set -eu',
    'REQUIREPASS=',
    'if [ -n "${REDIS_PASSWORD:-}" ]; then',
    "  HEX=$(printf %s \"$REDIS_PASSWORD\" | od -An -v -tx1 | tr -d ' \\n' | sed 's/../\\\\x&/g')",
    // An empty encoding would become `requirepass ""`: Redis without auth. Refuse to start instead.
    '  [ -n "$HEX" ] || { echo "redis: REDIS_PASSWORD is set but could not be hex-encoded (od, tr, sed); not starting without it" >&2; exit 1; }',
    '  REQUIREPASS="requirepass \\"$HEX\\""',
    'fi',
    'unset REDIS_PASSWORD',
    'exec redis-server - <<EOF',
    'appendonly yes',
    'appendfsync everysec',
    `maxmemory ${maxMemory}`,
    `maxmemory-policy ${evictionPolicy}`,
    '$REQUIREPASS',
    'EOF',
    '',
  ].join('\n');
}
