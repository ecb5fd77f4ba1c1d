import { Testing } from 'cdk8s';
import * as YAML from 'yaml';
import {
  CONFIG_HASH_ANNOTATION, DEFAULT_VMAGENT_IMAGE, HoneydueApi, HoneydueStack, KUBERNETES_API_ACCESS_ANNOTATION, MetricsEndpoint, VMAGENT_QUEUE_CHUNK_BYTES, VmAgent,
  vmAgentProblems, vmAgentQueueSizeLimitMiB, VmAgentProps,
} from '../constructs';
import { container, find, hardeningOf, synthOf, synthStack, TAG, BACKEND_WIRING, imageOf, PRODUCTION, productionChart } from './helpers';

const API_METRICS: MetricsEndpoint = { name: 'api', namespace: 'honeydue', port: 8000, path: '/metrics' };
const TOKEN_SECRET = { name: 'vmagent-ingest-token', key: 'token' };
/** Production's observability settings besides the token Secret. */
const OBSERVABILITY = { remoteWriteUrl: PRODUCTION.observability!.remoteWriteUrl, scrapeJobName: PRODUCTION.observability!.scrapeJobName };
/** Production's vmagent wiring: its token Secret, remote-write URL and scrape job, plus the api's metrics. */
const VMAGENT_PROPS: VmAgentProps = {
  tokenSecret: TOKEN_SECRET, targets: [API_METRICS], remoteWriteUrl: PRODUCTION.observability!.remoteWriteUrl!,
  scrapeJobName: PRODUCTION.observability!.scrapeJobName, podLabels: PRODUCTION.labels,
};

const synthAgent = (props: Partial<VmAgentProps> = {}) =>
  synthOf((chart) => new VmAgent(chart, 'vmagent', { ...VMAGENT_PROPS, ...props }));

let objects: any[], deployment: any, pod: any, agent: any, scrapeConfig: any, relabel: any;
beforeEach(() => {
  objects = synthAgent();
  deployment = find(objects, 'Deployment', 'vmagent');
  pod = deployment.spec.template;
  agent = container(deployment);
  scrapeConfig = YAML.parse(find(objects, 'ConfigMap', 'vmagent-config').data['scrape.yaml']);
  relabel = scrapeConfig.scrape_configs[0].relabel_configs;
});
const volume = (name: string) => pod.spec.volumes.find((v: any) => v.name === name);
const mount = (name: string) => agent.volumeMounts.find((m: any) => m.name === name);

describe('ServiceAccount and RBAC: namespaced pod discovery, nothing more', () => {
  test('its own ServiceAccount, token automount off, with the reason it calls the API in an annotation', () => {
    const sa = find(objects, 'ServiceAccount', 'vmagent');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(sa.metadata.annotations[KUBERNETES_API_ACCESS_ANNOTATION]).toMatch(/kubernetes_sd_configs \(role: pod\)/);
    expect(pod.spec.serviceAccountName).toBe('vmagent');
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.metadata.annotations[KUBERNETES_API_ACCESS_ANNOTATION]).toBe(sa.metadata.annotations[KUBERNETES_API_ACCESS_ANNOTATION]);
  });

  test('the vmagent container alone gets a projected hour-long token, the cluster CA and its namespace where clients read them', () => {
    expect(volume('kube-api-access')).toEqual({
      name: 'kube-api-access',
      projected: {
        sources: [
          { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    });
    expect(mount('kube-api-access')).toEqual({ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true });
    expect(pod.spec.containers).toHaveLength(1);
  });

  test('a Role in the scraped namespace: list and watch on pods only', () => {
    const role = find(objects, 'Role', 'vmagent');
    expect(role.metadata.namespace).toBe('honeydue');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }]);
  });

  test('no ClusterRole: a compromised vmagent cannot read pods of other namespaces', () => {
    expect(objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([]);
  });

  test('the RoleBinding gives the Role to vmagent\'s ServiceAccount', () => {
    const binding = find(objects, 'RoleBinding', 'vmagent');
    expect(binding.metadata.namespace).toBe('honeydue');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vmagent' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'vmagent', namespace: 'honeydue' }]);
  });

  test('one Role and RoleBinding per scraped namespace', () => {
    const spread = synthAgent({ targets: [API_METRICS, { name: 'billing', namespace: 'billing', port: 9100, path: '/metrics' }] });
    const roles = spread.filter((o) => o.kind === 'Role').map((o) => o.metadata.namespace);
    expect(roles).toEqual(['billing', 'honeydue']);
    expect(spread.filter((o) => o.kind === 'RoleBinding').every((b) => b.subjects[0].namespace === 'honeydue')).toBe(true);
  });
});

describe('scrape config: the api pods, by their prometheus.io annotations', () => {
  test('pod discovery limited to the scraped namespaces, matching the Role', () => {
    expect(scrapeConfig.scrape_configs[0].kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['honeydue'] } }]);
  });

  test('keeps pods annotated prometheus.io/scrape: "true"', () => {
    expect(relabel).toContainEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], regex: 'true', action: 'keep' });
  });

  test('scrapes the port prometheus.io/port names', () => {
    expect(relabel).toContainEqual({
      source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_port', '__meta_kubernetes_pod_container_port_number'],
      action: 'keep_if_equal',
    });
  });

  test('scrapes the path prometheus.io/path names', () => {
    expect(relabel).toContainEqual({ source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], regex: '(.+)', target_label: '__metrics_path__', replacement: '$1' });
  });

  test('only the declared targets and only running pods', () => {
    expect(relabel).toContainEqual({ source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: 'api', action: 'keep' });
    expect(relabel).toContainEqual({ source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Running', action: 'keep' });
  });

  test('two targets keep the pods of either name, each once', () => {
    const config = YAML.parse(find(synthAgent({ targets: [API_METRICS, { ...API_METRICS, name: 'web' }, API_METRICS] }), 'ConfigMap', 'vmagent-config').data['scrape.yaml']);
    expect(config.scrape_configs[0].relabel_configs).toContainEqual({ source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: 'api|web', action: 'keep' });
  });

  test('labels every series with the namespace, pod, app and version it came from', () => {
    for (const [meta, label] of [['namespace', 'namespace'], ['pod_name', 'pod'], ['pod_label_app_kubernetes_io_name', 'app'], ['pod_label_app_kubernetes_io_version', 'version']]) {
      expect(relabel).toContainEqual({ source_labels: [`__meta_kubernetes_${meta}`], target_label: label });
    }
    expect(relabel).toHaveLength(9);
  });

  test('scrape interval 30s', () => {
    expect(scrapeConfig.global).toEqual({ scrape_interval: '30s' });
  });

  test('the config hash is on the pod template and follows the config', () => {
    const other = find(synthAgent({ scrapeInterval: '1m' }), 'Deployment', 'vmagent');
    expect(pod.metadata.annotations[CONFIG_HASH_ANNOTATION]).toMatch(/^[0-9a-f]{16}$/);
    expect(other.spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION]).not.toBe(pod.metadata.annotations[CONFIG_HASH_ANNOTATION]);
  });
});

describe('the api pods carry the scrape annotations', () => {
  let api: any;
  beforeEach(() => {
    api = find(synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api') })), 'Deployment', 'api');
  });

  test('prometheus.io/scrape "true", port 8000, path /metrics by default', () => {
    expect(api.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8000', 'prometheus.io/path': '/metrics' });
  });

  test('a separate metricsPort is annotated and declared on the container, so keep_if_equal finds it', () => {
    const custom = find(
      synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: imageOf('api'), metricsPort: 9100, metricsPath: '/internal/metrics' })),
      'Deployment',
      'api',
    );
    expect(custom.spec.template.metadata.annotations).toMatchObject({ 'prometheus.io/port': '9100', 'prometheus.io/path': '/internal/metrics' });
    expect(container(custom).ports).toContainEqual({ name: 'metrics', containerPort: 9100, protocol: 'TCP' });
  });

  test('fails on a metricsPath without a leading slash', () => {
    expect(() => synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image: `x/api:${TAG}`, metricsPath: 'metrics' }))).toThrow(
      /HoneydueApi: metricsPath: 'metrics' must start with '\/'/,
    );
  });
});

describe('Deployment: remote write with a token file, hardened like the app pods', () => {
  test('1 replica, replaced with Recreate so two never send the same samples', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('a pinned vmagent image', () => {
    expect(agent.image).toBe('victoriametrics/vmagent:v1.147.0');
    expect(DEFAULT_VMAGENT_IMAGE).toBe(agent.image);
    expect(pod.metadata.labels['app.kubernetes.io/version']).toBe('v1.147.0');
  });

  test('args: scrape config file, remote-write URL, bearer token FILE, queue path', () => {
    expect(agent.args).toEqual([
      '-promscrape.config=/etc/vmagent/config/scrape.yaml',
      '-remoteWrite.url=https://obs.88oakapps.com/api/v1/write',
      '-remoteWrite.bearerTokenFile=/etc/vmagent/token/token',
      '-remoteWrite.tmpDataPath=/var/lib/vmagent',
      '-remoteWrite.maxDiskUsagePerURL=536871040',
      '-httpListenAddr=:8429',
    ]);
  });

  test('the token is a read-only Secret volume; the key names the file', () => {
    expect(volume('remote-write-token').secret).toEqual({ secretName: 'vmagent-ingest-token', items: [{ key: 'token', path: 'token' }], defaultMode: 0o440 });
    expect(mount('remote-write-token')).toEqual({ name: 'remote-write-token', mountPath: '/etc/vmagent/token', readOnly: true });
    const other = container(find(synthAgent({ tokenSecret: { name: 'obs', key: 'OBS_INGEST_TOKEN' } }), 'Deployment', 'vmagent'));
    expect(other.args).toContain('-remoteWrite.bearerTokenFile=/etc/vmagent/token/OBS_INGEST_TOKEN');
  });

  test('no token value anywhere: no Secret object, no bearer token flag or env, no placeholder to substitute', () => {
    const text = JSON.stringify(objects);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(text).not.toMatch(/-remoteWrite\.bearerToken=/);
    expect(text).not.toMatch(/PLACEHOLDER/i);
    expect(agent.env).toBeUndefined();
    expect(agent.envFrom).toBeUndefined();
  });

  test('the token in the operator\'s environment never reaches the output', () => {
    process.env.OBS_INGEST_TOKEN = 'tok-3f9a1c-never-in-yaml';
    try {
      expect(JSON.stringify(synthStack({ observability: { ...OBSERVABILITY, tokenSecret: TOKEN_SECRET } }))).not.toContain('tok-3f9a1c-never-in-yaml');
    } finally {
      delete process.env.OBS_INGEST_TOKEN;
    }
  });

  test('a writable queue: one chunk as maxDiskUsagePerURL, on an emptyDir of two chunks plus 16 MiB', () => {
    expect(agent.args).toContain(`-remoteWrite.maxDiskUsagePerURL=${VMAGENT_QUEUE_CHUNK_BYTES}`);
    expect(volume('remote-write-queue').emptyDir).toEqual({ sizeLimit: '1041Mi' });
    expect(mount('remote-write-queue')).toEqual({ name: 'remote-write-queue', mountPath: '/var/lib/vmagent' });
  });

  test('bufferChunks sets the flag in whole chunks and the sizeLimit one chunk above it (the oldest file is deleted only when fully read)', () => {
    const bigger = find(synthAgent({ bufferChunks: 3 }), 'Deployment', 'vmagent');
    expect(container(bigger).args).toContain('-remoteWrite.maxDiskUsagePerURL=1610613120');
    const sizeLimit = bigger.spec.template.spec.volumes.find((v: any) => v.name === 'remote-write-queue').emptyDir.sizeLimit;
    expect(sizeLimit).toBe('2065Mi');
    expect(vmAgentQueueSizeLimitMiB(3)).toBe(2065);
    // Never exceeded: the flag's chunks, one more being read, and the headroom.
    for (const chunks of [1, 2, 3, 10, 40]) {
      expect(vmAgentQueueSizeLimitMiB(chunks) * 1024 * 1024).toBeGreaterThanOrEqual((chunks + 1) * VMAGENT_QUEUE_CHUNK_BYTES + 16 * 1024 * 1024);
    }
  });

  test('the scrape config is mounted read-only from the ConfigMap', () => {
    expect(volume('config').configMap).toEqual({ name: 'vmagent-config' });
    expect(mount('config')).toEqual({ name: 'config', mountPath: '/etc/vmagent/config', readOnly: true });
  });

  test('hardened: non-root 65534, RuntimeDefault seccomp, read-only root, no escalation, all capabilities dropped, bounded /tmp', () => {
    expect(pod.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } });
    expect(agent.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(volume('tmp').emptyDir).toEqual({ sizeLimit: '64Mi' });
  });

  test('resources: requests 50m / 64Mi, limits 500m / 256Mi', () => {
    expect(agent.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
  });

  test('readiness and liveness GET /health on 8429', () => {
    expect(agent.ports).toEqual([{ name: 'http', containerPort: 8429, protocol: 'TCP' }]);
    expect(agent.readinessProbe).toEqual({ httpGet: { path: '/health', port: 8429 }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5 });
    expect(agent.livenessProbe).toEqual({ httpGet: { path: '/health', port: 8429 }, initialDelaySeconds: 30, periodSeconds: 30, timeoutSeconds: 10 });
  });

  test('a drain-safe PDB: minAvailable 0 for the singleton', () => {
    expect(find(objects, 'PodDisruptionBudget', 'vmagent-pdb').spec.minAvailable).toBe(0);
  });

  test('declares its traffic: the targets\' metrics ports, remote write on 443 and the API server on 6443', () => {
    const agentConstruct = new VmAgent(productionChart(), 'vmagent', VMAGENT_PROPS);
    expect(agentConstruct.traffic).toEqual({ name: 'vmagent', namespace: 'honeydue', connectsTo: [API_METRICS], externalPorts: [443, 6443] });
  });
});

describe('in the stack', () => {
  test('fails with a token Secret but no remote-write URL: the library names no endpoint of its own', () => {
    expect(() => synthStack({ observability: { tokenSecret: TOKEN_SECRET } })).toThrow(
      /HoneydueStack: observability\.remoteWriteUrl: not set while observability\.tokenSecret is/,
    );
  });

  const stackOf = (props: any) => new HoneydueStack(Testing.app(), 'production', { ...PRODUCTION, ...props });

  test('with a token Secret: the observability chart holds vmagent scraping the api', () => {
    const stack = stackOf({ observability: { ...OBSERVABILITY, tokenSecret: TOKEN_SECRET } });
    expect(stack.node.tryFindChild('observability')).toBeDefined();
    expect(stack.vmAgent?.traffic.connectsTo).toEqual([API_METRICS]);
    expect(stack.notices).toEqual([]);
  });

  test('no token Secret configured: nothing emitted, one notice line saying so', () => {
    const stack = stackOf({ observability: OBSERVABILITY });
    expect(stack.node.tryFindChild('observability')).toBeUndefined();
    expect(stack.vmAgent).toBeUndefined();
    expect(stack.notices).toEqual([expect.stringMatching(/^observability: skipped, no observability\.tokenSecret configured/)]);
    expect(stack.notices[0]).not.toContain('\n');
  });

  test('disabled: nothing emitted even with a token Secret, one notice line saying so', () => {
    const stack = stackOf({ observability: { ...OBSERVABILITY, enabled: false, tokenSecret: TOKEN_SECRET } });
    expect(stack.node.tryFindChild('observability')).toBeUndefined();
    expect(stack.notices).toEqual(['observability: skipped, observability.enabled is false (no vmagent objects emitted)']);
  });

  test('remote-write URL and scrape interval come from config', () => {
    const agentOut = container(find(synthStack({ observability: { ...OBSERVABILITY, tokenSecret: TOKEN_SECRET, remoteWriteUrl: 'https://vm.example.com/insert/0/prometheus/api/v1/write' } }), 'Deployment', 'vmagent'));
    expect(agentOut.args).toContain('-remoteWrite.url=https://vm.example.com/insert/0/prometheus/api/v1/write');
  });
});

test('fails on a plain-http remote-write URL: the bearer token would travel in clear text', () => {
  expect(() => synthAgent({ remoteWriteUrl: 'http://obs.88oakapps.com/api/v1/write' })).toThrow(
    /VmAgent: remoteWriteUrl: 'http:\/\/obs\.88oakapps\.com\/api\/v1\/write' is not https: the bearer token would cross the internet in clear text/,
  );
});

test('fails without targets', () => {
  expect(() => synthAgent({ targets: [] })).toThrow(/VmAgent: targets: empty; vmagent would scrape nothing/);
});

test('fails on a bad scrape interval, token key, Secret name or buffer size', () => {
  expect(() => synthAgent({ scrapeInterval: '30' })).toThrow(/VmAgent: scrapeInterval: '30' is not a duration/);
  expect(() => synthAgent({ tokenSecret: { name: 'obs', key: 'bad key' } })).toThrow(/VmAgent: tokenSecret\.key: 'bad key' is not a Secret key/);
  expect(() => synthAgent({ tokenSecret: { name: 'Obs_Token' } })).toThrow(/VmAgent: tokenSecret\.name: 'Obs_Token' is not a valid Kubernetes name/);
  expect(() => synthAgent({ bufferChunks: 0 })).toThrow(/VmAgent: bufferChunks: 0 must be a whole number of at least 1/);
  expect(() => synthAgent({ bufferChunks: 1.5 })).toThrow(/VmAgent: bufferChunks: 1\.5 must be a whole number of at least 1/);
});

test('a scrape interval is the whole value, a count and a unit: no text before or after', () => {
  const notDuration = (value: string) => new Error(`VmAgent: scrapeInterval: '${value}' is not a duration; write it like '30s' or '1m'`);
  expect(() => synthAgent({ scrapeInterval: 'every 30s' })).toThrow(notDuration('every 30s'));
  expect(() => synthAgent({ scrapeInterval: '30sec' })).toThrow(notDuration('30sec'));
});

test('fails on an unpinned image', () => {
  expect(() => synthAgent({ image: 'victoriametrics/vmagent:latest' })).toThrow(/VmAgent: image: 'victoriametrics\/vmagent:latest' uses 'latest'/);
});

test('ServiceAccount, Role, RoleBinding, ConfigMap, Deployment and PDB, each labelled name vmagent, part-of honeydue, managed-by honeydue-k8s', () => {
  expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
    'ServiceAccount/vmagent', 'Role/vmagent', 'RoleBinding/vmagent', 'ConfigMap/vmagent-config', 'Deployment/vmagent', 'PodDisruptionBudget/vmagent-pdb',
  ]);
  for (const o of objects) {
    expect(o.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'vmagent', 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' });
  }
  expect(agent.name).toBe('vmagent');
  expect(mount('tmp')).toEqual({ name: 'tmp', mountPath: '/tmp' });
});

test('probes, securityContext and PDB', () => {
  expect(hardeningOf(objects)).toMatchSnapshot();
});

describe('defaults and refusals', () => {
  test('the scrape job is <name>-pods and the token key is token when neither is given', () => {
    const renamed = synthAgent({ name: 'metrics', scrapeJobName: undefined, tokenSecret: { name: 'vmagent-ingest-token' } });
    expect(YAML.parse(find(renamed, 'ConfigMap', 'metrics-config').data['scrape.yaml']).scrape_configs[0].job_name).toBe('metrics-pods');
    const volume = find(renamed, 'Deployment', 'metrics').spec.template.spec.volumes.find((v: { name: string }) => v.name === 'remote-write-token');
    expect(volume.secret.items).toEqual([{ key: 'token', path: 'token' }]);
  });

  test('a target with a bad name is named at its index', () => {
    expect(() => synthAgent({ targets: [API_METRICS, { ...API_METRICS, name: 'Api Pods' }] })).toThrow(
      /^VmAgent: targets\[1\]\.name: 'Api Pods' is not/,
    );
  });

  test('targets of the wrong type (a JavaScript caller) are left to the type checker, item by item too', () => {
    expect(vmAgentProblems({ ...VMAGENT_PROPS, targets: 'api' as any }, 'honeydue')).toEqual([]);
    expect(vmAgentProblems({ ...VMAGENT_PROPS, targets: [null, API_METRICS] as any }, 'honeydue')).toEqual([]);
  });

  test('a name that is no DNS label is refused at name', () => {
    expect(() => synthAgent({ name: 'Bad_Name' })).toThrow(
      new Error("VmAgent: name: 'Bad_Name' is not a valid Kubernetes name; use lowercase letters, digits and '-', at most 63 characters"),
    );
  });

  test('a remote-write URL with port 0 is refused at remoteWriteUrl, the prop that opens that egress', () => {
    expect(() => synthAgent({ remoteWriteUrl: 'https://m.example.com:0/api/v1/write' })).toThrow(
      new Error('VmAgent: remoteWriteUrl: 0 is not a port; use a whole number from 1 to 65535'),
    );
  });

  test('outside a namespaced Chart without a namespace it fails, naming VmAgent', () => {
    expect(() => synthOf(() => new VmAgent(Testing.chart(), 'vmagent', VMAGENT_PROPS))).toThrow(/^VmAgent: namespace: not set/);
  });

  test('a second vmagent of one name in a namespace fails as it is built, naming VmAgent and both paths', () => {
    const chart = productionChart();
    new VmAgent(chart, 'vmagent', VMAGENT_PROPS);
    expect(() => new VmAgent(chart, 'vmagent-copy', VMAGENT_PROPS)).toThrow(/^VmAgent at test\/vmagent-copy: ServiceAccount honeydue\/vmagent, .* already built by test\/vmagent: /);
  });
});
