import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { HoneydueStack, HoneydueStackProps, ValueProblem, ValueProblems } from '../constructs';
import * as YAML from 'yaml';

/** A pinned tag for tests. */
export const TAG = '237c6b8';

/**
 * honeyDue production's stack props, read once from config/production.yaml at
 * {@link TAG}: the library defaults none of these facts, so every test takes
 * them from here. Read as plain YAML: `loadConfig` would build the stack to
 * validate it (config.test.ts proves the file loads), and a build at import
 * runs every construct outside any test, so mutation testing (`npm run mutate`)
 * could not tell which test covers which line. Without the schema, a test file
 * does not load zod either.
 */
export const PRODUCTION: HoneydueStackProps = {
  ...YAML.parse(fs.readFileSync(path.join(__dirname, '..', 'config', 'production.yaml'), 'utf8')),
  imageTag: TAG,
};

/** What the stack passes every app workload, as production wires it. */
export const APP_WIRING = {
  configMap: { name: PRODUCTION.configMapName },
  secretName: PRODUCTION.secretName,
  imagePullSecret: PRODUCTION.imagePullSecret,
  podLabels: PRODUCTION.labels,
};

/** What the stack passes the api and the worker on top: production's secret keys and APNs key. */
export const BACKEND_WIRING = { ...APP_WIRING, secretKeys: PRODUCTION.api!.secretKeys, apnsKey: PRODUCTION.apnsKey };

/** Production's image reference of a service. */
export function imageOf(service: 'api' | 'worker' | 'admin' | 'web'): string {
  return `${PRODUCTION.registry}/${PRODUCTION.images[service]}:${TAG}`;
}

/** A chart as the stack makes them: production's namespace and labels. */
export function productionChart(): Chart {
  return new Chart(Testing.app(), 'test', { namespace: PRODUCTION.namespace, labels: PRODUCTION.labels });
}

/** Manifests a construct built in a fresh chart (production's namespace and labels) synthesizes to. */
export function synthOf(build: (chart: Chart) => Construct | void): any[] {
  const chart = productionChart();
  build(chart);
  return Testing.synth(chart);
}

/**
 * Every manifest of a whole stack, across its charts: production's props
 * without its `observability` section (so no vmagent unless `props` adds one),
 * with `props` on top.
 */
export function synthStack(props: Partial<HoneydueStackProps> = {}): any[] {
  const app = Testing.app();
  new HoneydueStack(app, 'production', { ...PRODUCTION, observability: undefined, ...props });
  return app.charts.flatMap((chart) => chart.toJson());
}

/** The one object of `kind` named `name`; fails loudly when absent or ambiguous. */
/** The problems `build` throws together (a ValueProblems); a test failure when it throws anything else, or nothing. */
export function problemsThrownBy(build: () => unknown): ValueProblem[] {
  try {
    build();
  } catch (error) {
    if (error instanceof ValueProblems) return [...error.problems];
    throw error;
  }
  throw new Error('expected the build to refuse its props');
}

export function find(objects: any[], kind: string, name: string): any {
  const matches = objects.filter((o) => o.kind === kind && o.metadata?.name === name);
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind} '${name}', found ${matches.length} among: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  }
  return matches[0];
}

/** The first container of a workload's pod template. */
export function container(workload: any): any {
  return workload.spec.template.spec.containers[0];
}

/** Env var `name` of a container. */
export function envVar(c: any, name: string): any {
  return (c.env ?? []).find((e: any) => e.name === name);
}

/** Every file under `dir` with a digest of its bytes: equal fingerprints mean byte-identical trees. */
export function fingerprint(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else result[path.relative(dir, full)] = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
    }
  };
  walk(dir);
  return result;
}

/** The worker's wiring: the backend's plus production's replicas annotation. */
export const WORKER_WIRING = { ...BACKEND_WIRING, replicasAnnotation: PRODUCTION.worker!.replicasAnnotation };

/** The migrate Job's wiring: production's ConfigMap and Secret, and its Job name. */
export const MIGRATE_WIRING = { ...APP_WIRING, jobName: PRODUCTION.migrate.jobName };

/** Redis as the stack builds it: production's redis section, Secret and pod labels. */
export const REDIS_WIRING = { ...PRODUCTION.redis, secretName: PRODUCTION.secretName, podLabels: PRODUCTION.labels };

/**
 * What the design's snapshots lock, per workload: each container's probes and
 * securityContext, the pod's securityContext, and the spec of the PDB whose
 * selector picks the pod. The rest of the output is locked by targeted
 * assertions and by dist/, which CI proves fresh.
 */
export function hardeningOf(objects: any[]): Record<string, any> {
  const selects = (pdb: any, labels: Record<string, string>) =>
    Object.entries(pdb.spec.selector?.matchLabels ?? {}).every(([key, value]) => labels?.[key] === value);
  const result: Record<string, any> = {};
  for (const workload of objects.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind))) {
    const pod = workload.spec.template;
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget' && selects(o, pod.metadata?.labels));
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    result[`${workload.kind}/${workload.metadata.name}`] = {
      podSecurityContext: pod.spec.securityContext,
      containers: Object.fromEntries(containers.map((c: any) => [c.name, {
        startupProbe: c.startupProbe, readinessProbe: c.readinessProbe, livenessProbe: c.livenessProbe, securityContext: c.securityContext,
      }])),
      pdb: pdbs.map((pdb) => pdb.spec),
    };
  }
  return result;
}

/**
 * The cluster-scoped kinds of the built-in API groups a Kubernetes 1.34 API server serves, as
 * `group/Kind` (the core group empty), recorded from the local control plane's discovery.
 */
export function recordedClusterScopedKinds(): string[] {
  return fs.readFileSync(path.join(__dirname, 'fixtures', 'discovery', 'cluster-scoped-1.34.txt'), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
}
