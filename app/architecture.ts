/**
 * `npm run graph`: writes docs/architecture.md, a Mermaid flowchart of the
 * stack drawn from the synthesized objects themselves (not from a hand-kept
 * list), so the picture changes when the manifests do. A test regenerates it
 * and fails while the committed file is stale.
 *
 * What is drawn, all found by reading the objects:
 * - Ingress rules: host -> Service (when an Ingress exists),
 * - Service -> the workloads whose pod labels its selector matches,
 * - HorizontalPodAutoscaler -> its target,
 * - workload -> PersistentVolumeClaims it mounts,
 * - workload -> ConfigMaps it reads and Secrets it references (by name:
 *   secretKeyRef, envFrom, volumes, imagePullSecrets; values never exist here),
 * - ConfigMap -> a Service one of its values names in a URL (REDIS_URL).
 */
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from './shared/repo-root';
import { ManifestObject, manifestObjectOf } from './shared/manifest-object';
import { podTemplateOf } from '../manifest-check/manifests';
import { renderEnvironment } from './synth';

export const ARCHITECTURE_DOC_FILE = path.join(REPO_ROOT, 'docs', 'architecture.md');
/** The environment the picture shows; the others have the same shape under other names. */
export const PICTURED_ENVIRONMENT = 'production';

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

/** The parts of an object's manifest the picture reads. */
const specOf = (o: ManifestObject): any => o.manifest.spec;
const dataOf = (o: ManifestObject): Record<string, string> => (o.manifest.data ?? {}) as Record<string, string>;

interface Edge {
  readonly from: string;
  readonly to: string;
  /** `-->` traffic, `-.->` reads config or secrets, `==>` mounts a volume. */
  readonly arrow: '-->' | '-.->' | '==>';
  readonly label?: string;
}

/** The pod template of a workload object, as the manifest check and the deploy find it. */
function podOf(o: ManifestObject): { metadata?: { labels?: Record<string, string> }; spec?: any } | undefined {
  const template = podTemplateOf(o.manifest);
  return template === undefined ? undefined : { metadata: template.metadata as { labels?: Record<string, string> } | undefined, spec: template.spec };
}

const idOf = (kind: string, name: string) => `${kind.toLowerCase()}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;

/** The Mermaid flowchart of a set of synthesized objects. */
export function architectureFlowchart(objects: readonly ManifestObject[]): string {
  const nodes = new Map<string, string>();
  const edges = new Map<string, Edge>();
  const addEdge = (edge: Edge) => edges.set(`${edge.from} ${edge.arrow} ${edge.to} ${edge.label ?? ''}`, edge);
  const namespaceOf = new Map<string, string | undefined>();
  const node = (kind: string, name: string, label: string, namespace?: string) => {
    const id = idOf(kind, name);
    nodes.set(id, label);
    namespaceOf.set(id, namespace);
    return id;
  };
  const secretNode = (name: string, namespace?: string) => node('Secret', name, `{{"Secret ${name}"}}`, namespace);
  const configMapNode = (name: string, namespace?: string) => node('ConfigMap', name, `[/"ConfigMap ${name}"/]`, namespace);

  const workloads = objects.filter((o) => WORKLOAD_KINDS.includes(o.kind) && podOf(o) !== undefined);
  const services = objects.filter((o) => o.kind === 'Service');
  const claims = new Map(objects.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => [o.name, o]));
  const configMaps = new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.name, o]));

  const workloadIds = new Map<ManifestObject, string>();
  for (const w of workloads) {
    const replicas = specOf(w)?.replicas === undefined ? (w.kind === 'Deployment' ? ', autoscaled' : '') : `, ${specOf(w).replicas} replica${specOf(w).replicas === 1 ? '' : 's'}`;
    const shape = w.kind === 'Job' || w.kind === 'CronJob' ? ['[["', '"]]'] : ['["', '"]'];
    workloadIds.set(w, node(w.kind, w.name, `${shape[0]}${w.kind} ${w.name}${replicas}${shape[1]}`, w.namespace));
  }
  for (const s of services) {
    const ports = (specOf(s)?.ports ?? []).map((p: any) => `:${p.port}`).join(' ');
    const id = node('Service', s.name, `(["Service ${s.name} ${ports}"])`, s.namespace);
    const selector: Record<string, string> = specOf(s)?.selector ?? {};
    if (Object.keys(selector).length === 0) continue;
    for (const w of workloads) {
      const labels = podOf(w)?.metadata?.labels ?? {};
      const selects = w.namespace === s.namespace && Object.entries(selector).every(([k, v]) => labels[k] === v);
      if (selects) addEdge({ from: id, to: workloadIds.get(w)!, arrow: '-->' });
    }
  }

  for (const ingress of objects.filter((o) => o.kind === 'Ingress')) {
    for (const rule of specOf(ingress)?.rules ?? []) {
      const host = rule.host ?? '*';
      const hostId = node('Host', host, `>"${host}"]`);
      for (const p of rule.http?.paths ?? []) {
        const backend = p.backend?.service;
        if (!backend) continue;
        const port = backend.port?.number ?? backend.port?.name;
        const target = idOf('Service', backend.name);
        if (!nodes.has(target)) node('Service', backend.name, `(["Service ${backend.name} (not in the output)"])`, ingress.namespace);
        addEdge({ from: hostId, to: target, arrow: '-->', label: `${p.path ?? '/'} :${port}` });
      }
    }
  }

  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const target = specOf(hpa)?.scaleTargetRef;
    const id = node('HorizontalPodAutoscaler', hpa.name, `["HPA ${hpa.name} ${specOf(hpa).minReplicas}..${specOf(hpa).maxReplicas}"]`, hpa.namespace);
    if (target) addEdge({ from: id, to: idOf(target.kind, target.name), arrow: '-.->', label: 'scales' });
  }

  for (const w of workloads) {
    const from = workloadIds.get(w)!;
    const namespace = w.namespace;
    const pod = podOf(w)!.spec ?? {};
    const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
    const readConfigMaps = new Set<string>();
    for (const volume of pod.volumes ?? []) {
      if (volume.persistentVolumeClaim) {
        const claimName = volume.persistentVolumeClaim.claimName;
        const size = (claims.get(claimName) && specOf(claims.get(claimName)!))?.resources?.requests?.storage;
        addEdge({ from, to: node('PersistentVolumeClaim', claimName, `[("PVC ${claimName}${size ? ` ${size}` : ''}")]`, namespace), arrow: '==>' });
      }
      if (volume.secret) addEdge({ from, to: secretNode(volume.secret.secretName, namespace), arrow: '-.->', label: 'volume' });
      if (volume.configMap) readConfigMaps.add(volume.configMap.name);
    }
    for (const pull of pod.imagePullSecrets ?? []) addEdge({ from, to: secretNode(pull.name, namespace), arrow: '-.->', label: 'pull' });
    for (const container of containers) {
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef) readConfigMaps.add(source.configMapRef.name);
        if (source.secretRef) addEdge({ from, to: secretNode(source.secretRef.name, namespace), arrow: '-.->', label: 'env' });
      }
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom;
        if (ref?.secretKeyRef) addEdge({ from, to: secretNode(ref.secretKeyRef.name, namespace), arrow: '-.->', label: 'env' });
        if (ref?.configMapKeyRef) readConfigMaps.add(ref.configMapKeyRef.name);
      }
    }
    for (const name of readConfigMaps) addEdge({ from, to: configMapNode(name, namespace), arrow: '-.->' });
  }

  // A Service named in a URL the config holds (REDIS_URL: redis://redis:6379/0) is the link the manifests
  // state between the apps and Redis; drawn from the ConfigMap, since which reader dials it is the app's business.
  for (const configMap of configMaps.values()) {
    for (const [key, value] of Object.entries(dataOf(configMap)).sort(([a], [b]) => (a < b ? -1 : 1))) {
      for (const s of services.filter((svc) => svc.namespace === configMap.namespace && namesService(value, svc))) {
        const from = configMapNode(configMap.name, configMap.namespace);
        addEdge({ from, to: idOf('Service', s.name), arrow: '-.->', label: key });
      }
    }
  }

  const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const lines = ['flowchart LR'];
  const outside = [...nodes.keys()].filter((id) => namespaceOf.get(id) === undefined).sort(byId);
  for (const id of outside) lines.push(`  ${id}${nodes.get(id)}`);
  const namespaces = [...new Set([...namespaceOf.values()].filter((n): n is string => n !== undefined))].sort();
  for (const namespace of namespaces) {
    lines.push(`  subgraph ns_${namespace.replace(/[^A-Za-z0-9]/g, '_')}["namespace ${namespace}"]`);
    for (const id of [...nodes.keys()].filter((i) => namespaceOf.get(i) === namespace).sort(byId)) lines.push(`    ${id}${nodes.get(id)}`);
    lines.push('  end');
  }
  const sortedEdges = [...edges.values()].sort((a, b) => byId(a.from, b.from) || byId(a.to, b.to) || byId(a.label ?? '', b.label ?? ''));
  for (const e of sortedEdges) lines.push(`  ${e.from} ${e.arrow}${e.label ? `|"${e.label}"|` : ''} ${e.to}`);
  // Secrets are created out of band: drawn dashed, so nobody looks for them in dist/.
  const secrets = [...nodes.keys()].filter((id) => id.startsWith('secret_')).sort(byId);
  if (secrets.length > 0) {
    lines.push('  classDef outOfBand stroke-dasharray: 4 3');
    lines.push(`  class ${secrets.join(',')} outOfBand`);
  }
  return lines.join('\n');
}

/** True when `value` addresses the Service by its cluster DNS name (`redis`, `redis.ns`, `redis.ns.svc...`) as a URL host. */
function namesService(value: string, service: ManifestObject): boolean {
  const host = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/]*@)?([^:/?#]+)/i.exec(value)?.[1];
  if (!host) return false;
  const { name, namespace } = service;
  return host === name || host === `${name}.${namespace}` || host.startsWith(`${name}.${namespace}.svc`);
}

/** docs/architecture.md for an environment, rendered in memory from its config. */
export function renderArchitectureDoc(env = PICTURED_ENVIRONMENT, configDir?: string): string {
  // The stack's notices (what it skipped) are synth's to print, not the picture's.
  const objects = renderEnvironment(env, { configDir, log: () => undefined }).flatMap((file) => file.objects.map((object) => manifestObjectOf(object, path.basename(file.relativePath))));
  const drawnKinds = new Set([...WORKLOAD_KINDS, 'Service', 'Ingress', 'PersistentVolumeClaim', 'ConfigMap', 'HorizontalPodAutoscaler']);
  const undrawn = new Map<string, number>();
  for (const o of objects.filter((x) => !drawnKinds.has(x.kind))) undrawn.set(o.kind, (undrawn.get(o.kind) ?? 0) + 1);
  const undrawnText = [...undrawn.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([kind, n]) => `${n} ${kind}`).join(', ');
  const hasIngress = objects.some((o) => o.kind === 'Ingress');
  return [
    '# Architecture',
    '',
    '<!-- Generated by `npm run graph` (app/architecture.ts) from the synthesized objects. Do not edit by hand; a test fails while this file is stale. -->',
    '',
    `The \`${env}\` stack as \`npm run synth\` writes it to \`dist/${env}/\` (${objects.length} objects), drawn from those objects.`,
    'Other environments have the same shape under their own namespace and hosts.',
    '',
    '- solid arrows carry requests: host to Service (path and port), Service to the pods its selector matches;',
    '- dotted arrows read configuration: a workload its ConfigMap and Secrets by name (`env` secretKeyRef or envFrom, `volume`, image `pull`),',
    '  the ConfigMap a Service it names in a URL (the key is the label), an autoscaler its target;',
    '- thick arrows mount a PersistentVolumeClaim.',
    '',
    'Secrets (dashed) are never in the repo or in `dist/`: the operator creates them in the namespace out of band.',
    hasIngress ? '' : 'No Ingress is in the output yet, so no hosts are drawn.',
    '',
    '```mermaid',
    architectureFlowchart(objects),
    '```',
    '',
    `Not drawn: ${undrawnText || 'nothing'}.`,
    '',
  ]
    .filter((line, i, all) => !(line === '' && all[i - 1] === ''))
    .join('\n');
}

if (require.main === module) {
  fs.mkdirSync(path.dirname(ARCHITECTURE_DOC_FILE), { recursive: true });
  fs.writeFileSync(ARCHITECTURE_DOC_FILE, renderArchitectureDoc());
  console.log(`wrote ${path.relative(process.cwd(), ARCHITECTURE_DOC_FILE)}`);
}
