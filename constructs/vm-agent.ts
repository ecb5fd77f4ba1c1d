import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import * as YAML from 'yaml';
import { CONFIG_HASH_ANNOTATION, RECREATE, workloadDeployment, WorkloadProps } from './shared/app-workload';
import { contentHash } from './shared/content-hash';
import { drainSafePdb } from './shared/disruption-budget';
import { namespaceOf, objectLabels } from './shared/labels';
import { MetricsEndpoint, portsOf, SCRAPE_ANNOTATIONS } from './shared/network';
import { httpProbe, LIVENESS_TIMING, READINESS_TIMING } from './shared/probes';
import { resolveResources, ResourceOverrides, resourcesProblems, SMALL_RESOURCES } from './shared/resources';
import { dataKeyProblem, dnsLabelProblem, durationProblem, httpsUrlProblem, imageProblem, isRecord, nonEmptyProblem, portProblem, ProblemList, reportProblems, ValueProblem, wholeNumberAtLeast } from './shared/validation';
import { Workload } from './workload';
import { applyAfter } from './shared/ordering';
import { claimObjectNames } from './shared/unique-names';

/** The Secret that holds the remote-write bearer token, created by the operator out of band. */
export interface VmAgentTokenSecret {
  /** Secret name in vmagent's namespace. */
  readonly name: string;
  /** The key holding the token; it becomes the file name under `/etc/vmagent/token/`. @default 'token' */
  readonly key?: string;
}

/** Props of {@link VmAgent}. */
export interface VmAgentProps extends WorkloadProps {
  /**
   * The ingest token's Secret. vmagent reads the token from the mounted file
   * on every request (`-remoteWrite.bearerTokenFile`), so the value never
   * appears in the manifest, in argv or in env.
   */
  readonly tokenSecret: VmAgentTokenSecret;
  /** What to scrape: the api's `metrics`. Each target's pods must carry the `prometheus.io/*` annotations. */
  readonly targets: readonly MetricsEndpoint[];
  /** Name of the Deployment, ServiceAccount, ConfigMap and RBAC objects. @default 'vmagent' */
  readonly name?: string;
  /** vmagent image with a pinned tag. @default {@link DEFAULT_VMAGENT_IMAGE} */
  readonly image?: string;
  /**
   * Where samples go. VictoriaMetrics single-node takes Prometheus remote
   * write at `/api/v1/write`; a cluster's vminsert wants
   * `/insert/<tenant>/prometheus/api/v1/write`. Must be https: the bearer
   * token rides along. Required: samples and the token go where it says.
   */
  readonly remoteWriteUrl: string;
  /**
   * Annotation keys: `configHash` for the scrape config's hash on the pod
   * template, `kubernetesApiAccess` for the reason its pods hold an API token.
   * @default { configHash: CONFIG_HASH_ANNOTATION, kubernetesApiAccess: KUBERNETES_API_ACCESS_ANNOTATION }
   */
  readonly annotationKeys?: { readonly configHash?: string; readonly kubernetesApiAccess?: string };
  /** The scrape job's name, the `job` label on every sample. @default `<name>-pods` */
  readonly scrapeJobName?: string;
  /** How often each target is scraped. @default '30s' (enough resolution for rate and latency panels, half the samples of 15 s) */
  readonly scrapeInterval?: string;
  /**
   * Size of the on-disk queue that holds samples while the remote end is
   * unreachable, in vmagent's chunk files ({@link VMAGENT_QUEUE_CHUNK_BYTES},
   * about 512 MiB each). vmagent stores the queue in whole chunks and rounds a
   * smaller `-remoteWrite.maxDiskUsagePerURL` up to one chunk, so the flag is
   * `bufferChunks` chunks exactly and the queue's emptyDir is sized from it
   * with {@link vmAgentQueueSizeLimitMiB}: the queue can overshoot the flag by
   * up to one chunk before the oldest is deleted, and the kubelet evicts the
   * pod the moment the emptyDir passes its `sizeLimit`. The emptyDir is on the
   * node's disk and lost on reschedule, which only loses the backlog.
   * @default 1 (the smallest queue vmagent keeps: a flag of 512 MiB on a 1041Mi emptyDir)
   */
  readonly bufferChunks?: number;
  /**
   * The port the Kubernetes API answers on after the `kubernetes` Service's
   * DNAT: NetworkPolicies see the node address and this port, not 10.43.0.1:443.
   * @default 6443 (k3s' API server)
   */
  readonly kubernetesApiPort?: number;
  /** Overrides of vmagent's requests and limits. @default requests 50m / 64Mi, limits 500m / 256Mi */
  readonly resources?: ResourceOverrides;
  /** uid, gid and fsGroup; vmagent needs no particular user. @default 65534 (nobody) */
  readonly runAsUser?: number;
}

/**
 * The vmagent image, pinned to a released tag (v1.147.0 is the version the
 * VictoriaMetrics operator's changelog made its default for VM apps). Bump it
 * deliberately, reading the changelog's update notes.
 */
export const DEFAULT_VMAGENT_IMAGE = 'victoriametrics/vmagent:v1.147.0';

/** vmagent's HTTP port: /health, /metrics and the targets page. */
export const VMAGENT_HTTP_PORT = 8429;

const CONFIG_DIR = '/etc/vmagent/config';
const CONFIG_FILE = 'scrape.yaml';
const TOKEN_DIR = '/etc/vmagent/token';
const QUEUE_DIR = '/var/lib/vmagent';

/**
 * One chunk file of vmagent's persistent queue, in bytes: 16 blocks of at
 * most 32 MiB, each behind an 8-byte length header (VictoriaMetrics'
 * `lib/persistentqueue`: `DefaultChunkFileSize = (MaxBlockSize + 8) * 16`),
 * just over 512 MiB. vmagent writes the queue as a row of such files and
 * deletes a file only once its reader has moved past the whole of it.
 */
export const VMAGENT_QUEUE_CHUNK_BYTES = (32 * 1024 * 1024 + 8) * 16;

/**
 * Room in the queue's emptyDir beyond the chunks themselves: `metainfo.json`,
 * `flock.lock` and the file system's block rounding, together a few KiB.
 */
const QUEUE_HEADROOM_MIB = 16;

const MIB = 1024 * 1024;

/**
 * The queue emptyDir's `sizeLimit` in MiB for a flag of `bufferChunks` chunks.
 * vmagent drops the oldest block once the pending bytes would pass the flag,
 * but the bytes already read stay on disk until the reader leaves their chunk
 * file: the files hold the pending bytes (at most the flag) plus the read
 * part of the oldest file (less than one chunk). So `bufferChunks + 1` chunks,
 * rounded up to MiB, plus {@link QUEUE_HEADROOM_MIB}, is never exceeded.
 */
export function vmAgentQueueSizeLimitMiB(bufferChunks: number): number {
  return Math.ceil(((bufferChunks + 1) * VMAGENT_QUEUE_CHUNK_BYTES) / MIB) + QUEUE_HEADROOM_MIB;
}


/**
 * The reason written on the ServiceAccount and pod: the one pod of the stack
 * that holds a token. Discovery lists and watches pods through the API.
 */
const API_ACCESS_REASON =
  'vmagent discovers scrape targets with kubernetes_sd_configs (role: pod): it lists and watches pods ' +
  'in the scraped namespaces; the Role grants exactly that.';

/** One Prometheus relabel rule, as vmagent reads it. */
interface RelabelRule {
  readonly source_labels?: string[];
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: 'keep' | 'drop' | 'replace' | 'keep_if_equal';
}

/** The `-promscrape.config` file, typed so it is serialized, never concatenated. */
interface ScrapeConfigFile {
  readonly global: { readonly scrape_interval: string };
  readonly scrape_configs: {
    readonly job_name: string;
    readonly kubernetes_sd_configs: { readonly role: 'pod'; readonly namespaces: { readonly names: string[] } }[];
    readonly relabel_configs: RelabelRule[];
  }[];
}

/**
 * Every problem of {@link VmAgentProps}, each naming its prop and value; the
 * constructor throws them all at once before it builds anything. Values of the
 * wrong type are left to the type checker (or the config schema). `namespace` is
 * the resolved one (the Chart's when the prop is unset). `targets` is judged
 * when given: a caller judging settings before the api exists leaves it out.
 */
export function vmAgentProblems(
  props: Omit<VmAgentProps, 'targets'> & Partial<Pick<VmAgentProps, 'targets'>>,
  namespace: unknown = props.namespace,
): ValueProblem[] {
  const owner = 'VmAgent';
  const problems = new ProblemList(owner);
  problems.string('name', props.name, dnsLabelProblem);
  problems.string('namespace', namespace, dnsLabelProblem);
  problems.string('image', props.image, imageProblem);
  problems.string('remoteWriteUrl', props.remoteWriteUrl, httpsUrlProblem);
  // The egress opens the URL's port: `:0` is refused here, at the prop that sets it.
  if (typeof props.remoteWriteUrl === 'string') for (const port of portsOf(props.remoteWriteUrl)) problems.add('remoteWriteUrl', portProblem(port), props.remoteWriteUrl);
  problems.string('scrapeInterval', props.scrapeInterval, durationProblem);
  problems.string('scrapeJobName', props.scrapeJobName, nonEmptyProblem);
  problems.number('bufferChunks', props.bufferChunks, wholeNumberAtLeast(1));
  problems.number('kubernetesApiPort', props.kubernetesApiPort, portProblem);
  problems.number('runAsUser', props.runAsUser, wholeNumberAtLeast(1));
  const tokenSecret: unknown = props.tokenSecret;
  if (isRecord(tokenSecret)) {
    problems.string('tokenSecret.name', tokenSecret.name, dnsLabelProblem);
    problems.string('tokenSecret.key', tokenSecret.key, dataKeyProblem);
  }
  const targets: unknown = props.targets;
  if (Array.isArray(targets)) {
    if (targets.length === 0) problems.add('targets', "empty; vmagent would scrape nothing, pass the api's metrics endpoint (HoneydueApi.metrics)", targets);
    targets.forEach((target: unknown, i) => {
      if (!isRecord(target)) return;
      problems.string(`targets[${i}].name`, target.name, dnsLabelProblem);
      problems.string(`targets[${i}].namespace`, target.namespace, dnsLabelProblem);
      problems.number(`targets[${i}].port`, target.port, portProblem);
    });
  }
  problems.addAll(resourcesProblems(owner, props.resources));
  return problems.problems;
}

/**
 * vmagent: scrapes the pods that ask for it (`prometheus.io/scrape`,
 * `prometheus.io/port`, `prometheus.io/path` annotations) and remote-writes
 * to VictoriaMetrics with a bearer token read from a Secret volume.
 *
 * Discovery is namespaced (`namespaces.names`), so a Role + RoleBinding in
 * each scraped namespace grants `list`/`watch` on pods and nothing else; a
 * ClusterRole would let a compromised vmagent read every pod spec in the
 * cluster (kube-system included).
 *
 * A {@link Workload}: it also has `name`, `namespace`, `serviceAccount` (the subject of the Roles) and `traffic`.
 *
 * @example new VmAgent(chart, 'vmagent', { tokenSecret: { name: 'vmagent-ingest-token' }, targets: [api.metrics], remoteWriteUrl: 'https://metrics.example.com/api/v1/write' });
 */
export class VmAgent extends Workload {
  /** The vmagent Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** The scrape config vmagent reads. */
  public readonly configMap: k8s.KubeConfigMap;
  /** One per scraped namespace. */
  public readonly roles: readonly k8s.KubeRole[];
  /** One per Role, binding it to the ServiceAccount. */
  public readonly roleBindings: readonly k8s.KubeRoleBinding[];
  /** The PodDisruptionBudget `<name>-pdb`, drain-safe. */
  public readonly disruptionBudget: k8s.KubePodDisruptionBudget;

  public constructor(scope: Construct, id: string, props: VmAgentProps) {
    super(scope, id);
    const name = props.name ?? 'vmagent';
    const namespace = namespaceOf(scope, 'VmAgent', props.namespace);
    const image = props.image ?? DEFAULT_VMAGENT_IMAGE;
    const remoteWriteUrl = props.remoteWriteUrl;
    const scrapeJobName = props.scrapeJobName ?? `${name}-pods`;
    const scrapeInterval = props.scrapeInterval ?? '30s';
    const bufferChunks = props.bufferChunks ?? 1;
    const kubernetesApiPort = props.kubernetesApiPort ?? 6443;
    const runAsUser = props.runAsUser ?? 65534;
    const tokenKey = props.tokenSecret.key ?? 'token';

    const owner = 'VmAgent';
    reportProblems(this, vmAgentProblems(props, namespace));
    const resources = resolveResources(SMALL_RESOURCES, props.resources);
    const scrapedNamespaces = [...new Set(props.targets.map((t) => t.namespace))].sort();

    const scrapeConfig: ScrapeConfigFile = {
      global: { scrape_interval: scrapeInterval },
      scrape_configs: [
        {
          job_name: scrapeJobName,
          kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: scrapedNamespaces } }],
          relabel_configs: [
            { source_labels: [annotationLabel(SCRAPE_ANNOTATIONS.scrape)], regex: 'true', action: 'keep' },
            // Only the declared targets: the NetworkPolicies open exactly their metrics ports to vmagent.
            { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: alternation(props.targets.map((t) => t.name)), action: 'keep' },
            // Completed migrate Job pods and pending pods have no one listening.
            { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Running', action: 'keep' },
            // Role pod yields one target per declared container port; keep the one the annotation names.
            { source_labels: [annotationLabel(SCRAPE_ANNOTATIONS.port), '__meta_kubernetes_pod_container_port_number'], action: 'keep_if_equal' },
            { source_labels: [annotationLabel(SCRAPE_ANNOTATIONS.path)], regex: '(.+)', target_label: '__metrics_path__', replacement: '$1' },
            { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
            { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
            { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], target_label: 'app' },
            { source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_version'], target_label: 'version' },
          ],
        },
      ],
    };
    const scrapeYaml = YAML.stringify(scrapeConfig);

    const template = this.buildPods({
      owner,
      name,
      namespace,
      image,
      runAsUser,
      kubernetesApiAccess: API_ACCESS_REASON,
      kubernetesApiAccessAnnotation: props.annotationKeys?.kubernetesApiAccess,
      podLabels: props.podLabels,
      resources,
      connectsTo: props.targets,
      // Both ports were judged at their props above. One refused there is left out of the egress, so a
      // build that collects problems (HoneydueStack) does not report it again at a prop VmAgent does not have.
      externalPorts: [...portsOf(remoteWriteUrl), kubernetesApiPort].filter((port) => portProblem(port) === undefined),
      // A changed scrape config changes the template, so apply rolls vmagent onto it.
      annotations: { [props.annotationKeys?.configHash ?? CONFIG_HASH_ANNOTATION]: contentHash(scrapeYaml) },
      volumes: [
        { volume: { name: 'config', configMap: { name: `${name}-config` } }, mountPath: CONFIG_DIR, readOnly: true },
        {
          // 0440 + fsGroup: readable by vmagent's group only, not by other uids in the pod.
          volume: { name: 'remote-write-token', secret: { secretName: props.tokenSecret.name, items: [{ key: tokenKey, path: tokenKey }], defaultMode: 0o440 } },
          mountPath: TOKEN_DIR,
          readOnly: true,
        },
        // The root filesystem is read-only; the persistent queue needs a writable folder, bounded above what the queue can reach.
        {
          volume: { name: 'remote-write-queue', emptyDir: { sizeLimit: k8s.Quantity.fromString(`${vmAgentQueueSizeLimitMiB(bufferChunks)}Mi`) } },
          mountPath: QUEUE_DIR,
        },
      ],
      container: {
        args: [
          `-promscrape.config=${CONFIG_DIR}/${CONFIG_FILE}`,
          `-remoteWrite.url=${remoteWriteUrl}`,
          `-remoteWrite.bearerTokenFile=${TOKEN_DIR}/${tokenKey}`,
          `-remoteWrite.tmpDataPath=${QUEUE_DIR}`,
          // Whole chunks, in bytes: a value under one chunk is rounded up by vmagent; the emptyDir holds this plus one chunk.
          `-remoteWrite.maxDiskUsagePerURL=${bufferChunks * VMAGENT_QUEUE_CHUNK_BYTES}`,
          `-httpListenAddr=:${VMAGENT_HTTP_PORT}`,
        ],
        ports: [{ name: 'http', containerPort: VMAGENT_HTTP_PORT, protocol: 'TCP' }],
        readinessProbe: httpProbe('/health', VMAGENT_HTTP_PORT, READINESS_TIMING),
        livenessProbe: httpProbe('/health', VMAGENT_HTTP_PORT, LIVENESS_TIMING),
      },
    });

    this.roles = scrapedNamespaces.map(
      (ns) =>
        new k8s.KubeRole(this, `Role-${ns}`, {
          metadata: { name, namespace: ns, labels: objectLabels(name) },
          // Discovery does a list, then a watch; it never gets single pods.
          rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }],
        }),
    );
    this.roleBindings = scrapedNamespaces.map(
      (ns) =>
        new k8s.KubeRoleBinding(this, `RoleBinding-${ns}`, {
          metadata: { name, namespace: ns, labels: objectLabels(name) },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
          subjects: [{ kind: 'ServiceAccount', name, namespace }],
        }),
    );
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${name}-config`, namespace, labels: objectLabels(name) },
      data: { [CONFIG_FILE]: scrapeYaml },
    });
    // One replica, replaced with Recreate: two vmagents would scrape and send every sample twice.
    this.deployment = workloadDeployment(this, { name, namespace, replicas: 1, strategy: RECREATE, template });
    // A binding after the account and Role it binds; the pods after their account and config.
    this.roleBindings.forEach((binding, i) => applyAfter(binding, this.serviceAccount, this.roles[i]));
    applyAfter(this.deployment, this.serviceAccount, this.configMap);
    this.disruptionBudget = drainSafePdb(this, { name, namespace, minimumReplicas: 1 });
    claimObjectNames(this, 'VmAgent');
  }
}

/** The discovery label of a pod annotation: Prometheus replaces every non-alphanumeric with '_'. */
function annotationLabel(annotation: string): string {
  return `__meta_kubernetes_pod_annotation_${annotation.replace(/[^a-zA-Z0-9]/g, '_')}`;
}

/**
 * A regex matching exactly one of `names` (relabel regexes are anchored). The names are
 * DNS labels (vmAgentProblems refuses any other), so none holds a regex metacharacter.
 */
function alternation(names: readonly string[]): string {
  return [...new Set(names)].join('|');
}
