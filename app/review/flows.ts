/**
 * Traffic a change opens or closes: the flows that matter, read from the
 * objects of each side (Traefik to what the Ingress routes, each workload to
 * the pods behind each Service, each workload to what the egress rules name
 * outside it), each judged by that side's NetworkPolicies, and a line for each
 * flow whose verdict differs.
 */
import { ManifestObject } from '../shared/manifest-object';
import {
  AddressRange,
  blockRanges,
  cidrRange,
  Connection,
  ContainerPort,
  FlowEnd,
  PolicyPod,
  PolicySet,
  policyTypesOf,
  selects,
  specOf,
  Verdict,
  verdictOf,
} from './network-policy';
import { labelSelectorMatches } from '../../manifest-check/label-selector';
import { nameOf } from './objects';
import type { Finding } from './types';

/**
 * One line per flow allowed on one side and denied (or partly allowed) on the
 * other, named on the policy whose change makes the difference, else on the
 * destination workload (the source one for a flow leaving the cluster).
 */
export function flowChanges(before: readonly ManifestObject[], after: readonly ManifestObject[]): Finding[] {
  const old = sideOf(before);
  const now = sideOf(after);
  const destinations = outsideDestinations([...old.set.policies, ...now.set.policies], [...old.workloads, ...now.workloads]);
  const traefik = traefikAddresses([old, now]);
  const oldFlows = flowsOf(old, destinations, traefik);
  const changed = changedPolicies(old.set.policies, now.set.policies);
  const findings: Finding[] = [];
  const said = new Set<string>();
  for (const [key, flow] of flowsOf(now, destinations, traefik)) {
    const was = oldFlows.get(key);
    // A flow one side lacks (a workload, Service or Ingress added or gone) is another section's news.
    if (was === undefined) continue;
    const from = verdictOf(old.set, was.connection);
    const to = verdictOf(now.set, flow.connection);
    if (from === to) continue;
    const port = was.port === flow.port ? flow.port : `${flow.port} (was ${was.port})`;
    const message = `${flow.from} -> ${flow.to}:${port}: ${from} -> ${to}${meaning(flow, from, to)}`;
    const object = culprit(changed, old, now, was, flow) ?? flow.owner.object;
    // Two Services on one pod port are two keys but one flow.
    const line = `${object.kind}/${object.namespace}/${object.name}: ${message}`;
    if (!said.has(line)) findings.push({ object: nameOf(object), message });
    said.add(line);
  }
  return findings;
}

/** A workload's pods, named by `app.kubernetes.io/name` (else the object's name). */
interface Workload {
  readonly key: string;
  readonly name: string;
  readonly object: ManifestObject;
  readonly pod: PolicyPod;
}

interface Side {
  readonly objects: readonly ManifestObject[];
  readonly workloads: readonly Workload[];
  readonly set: PolicySet;
}

/** One flow on one side. */
interface Flow {
  readonly connection: Connection;
  readonly from: string;
  readonly to: string;
  /** The port as shown: the destination pod's, with the protocol when it is not TCP. */
  readonly port: string;
  /** The workload a finding is named on when no policy change explains it. */
  readonly owner: Workload;
  readonly known?: KnownService;
  readonly fromTraefik: boolean;
}

/** A destination outside the workloads, as an egress rule names it. */
interface OutsideDestination {
  readonly key: string;
  readonly name: string;
  readonly end: FlowEnd;
  readonly port: number;
  readonly protocol: string;
  /** The port is named with its protocol even for TCP: the same destination has that port in another protocol too (DNS). */
  readonly bothProtocols: boolean;
}

interface KnownService {
  readonly name: string;
  /** What a pod that loses the flow can no longer do. */
  readonly cut: string;
}

/** The services the stack reaches outside its pods, by port (their addresses change: the policies name ports, not hosts). */
const KNOWN_PORTS: ReadonlyMap<number, KnownService> = new Map([
  [53, { name: 'DNS', cut: 'names stop resolving' }],
  [5432, { name: 'Postgres', cut: 'the app cannot reach its database' }],
  [587, { name: 'SMTP', cut: 'mail stops going out' }],
  [465, { name: 'SMTP', cut: 'mail stops going out' }],
  [443, { name: 'HTTPS', cut: 'B2, APNs and the other HTTPS services are unreachable' }],
  [6443, { name: 'API server', cut: 'the Kubernetes API is unreachable' }],
]);

const POD_TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

function sideOf(objects: readonly ManifestObject[]): Side {
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const o of objects.filter((x) => x.group === '' && x.kind === 'Namespace')) {
    namespaceLabels.set(o.name, { ...o.labels, 'kubernetes.io/metadata.name': o.name });
  }
  const policies = objects.filter((o) => o.group === 'networking.k8s.io' && o.kind === 'NetworkPolicy');
  return { objects, workloads: objects.flatMap(workloadOf), set: { policies, namespaceLabels } };
}

function workloadOf(object: ManifestObject): Workload[] {
  const spec = object.manifest.spec as any;
  const template =
    object.kind === 'Pod' && object.group === ''
      ? object.manifest
      : object.kind === 'CronJob'
        ? spec?.jobTemplate?.spec?.template
        : POD_TEMPLATE_KINDS.has(object.kind)
          ? spec?.template
          : undefined;
  if (template === undefined || object.namespace === undefined) return [];
  const labels: Record<string, string> = template.metadata?.labels ?? {};
  const containers: any[] = [...(template.spec?.initContainers ?? []), ...(template.spec?.containers ?? [])];
  const ports: ContainerPort[] = containers.flatMap((c) =>
    (c.ports ?? []).map((p: any) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol ?? 'TCP' })),
  );
  return [{
    key: `${object.kind}/${object.namespace}/${object.name}`,
    name: labels['app.kubernetes.io/name'] ?? object.name,
    object,
    pod: { namespace: object.namespace, labels, ports, hostNetwork: template.spec?.hostNetwork === true },
  }];
}

/** Every flow of a side, by a key both sides share. */
function flowsOf(side: Side, outside: readonly OutsideDestination[], traefik: readonly AddressRange[]): Map<string, Flow> {
  const flows = new Map<string, Flow>();
  const shown = (port: number, protocol: string, always = false) => (protocol === 'TCP' && !always ? `${port}` : `${port}/${protocol}`);
  // Traefik runs on the host network: no policy limits its egress, and it reaches pods from the node addresses.
  for (const backend of ingressBackends(side)) {
    for (const { workload, port, protocol } of serviceTargets(side, backend.service, backend.port)) {
      flows.set(`traefik>${workload.key}@${backend.service.namespace}/${backend.service.name}:${backend.port.port}`, {
        connection: { from: { addresses: traefik }, to: { pod: workload.pod }, port, protocol },
        from: 'Traefik', to: workload.name, port: shown(port, protocol), owner: workload, fromTraefik: true,
      });
    }
  }
  for (const service of side.objects.filter((o) => o.group === '' && o.kind === 'Service')) {
    for (const servicePort of ((service.manifest.spec as any)?.ports ?? []) as any[]) {
      for (const { workload, port, protocol } of serviceTargets(side, service, servicePort)) {
        for (const source of side.workloads.filter((w) => w.key !== workload.key)) {
          flows.set(`${source.key}>${workload.key}@${service.namespace}/${service.name}:${servicePort.port}`, {
            connection: { from: { pod: source.pod }, to: { pod: workload.pod }, port, protocol },
            from: source.name, to: workload.name, port: shown(port, protocol), owner: workload, fromTraefik: false,
          });
        }
      }
    }
  }
  for (const destination of outside) {
    for (const source of side.workloads) {
      flows.set(`${source.key}>${destination.key}`, {
        connection: { from: { pod: source.pod }, to: destination.end, port: destination.port, protocol: destination.protocol },
        from: source.name, to: destination.name, port: shown(destination.port, destination.protocol, destination.bothProtocols), owner: source,
        known: KNOWN_PORTS.get(destination.port), fromTraefik: false,
      });
    }
  }
  return flows;
}

/** The Services an Ingress routes to, with the Service port each backend names. */
function ingressBackends(side: Side): { service: ManifestObject; port: any }[] {
  return side.objects
    .filter((o) => o.group === 'networking.k8s.io' && o.kind === 'Ingress')
    .flatMap((ingress) => {
      const spec = (ingress.manifest.spec ?? {}) as any;
      const backends: any[] = [spec.defaultBackend, ...(spec.rules ?? []).flatMap((r: any) => (r.http?.paths ?? []).map((p: any) => p.backend))];
      return backends.flatMap((backend) => {
        const service = side.objects.find((o) => o.group === '' && o.kind === 'Service' && o.namespace === ingress.namespace && o.name === backend?.service?.name);
        const wanted = backend?.service?.port ?? {};
        const port = ((service?.manifest.spec as any)?.ports ?? []).find((p: any) => (wanted.number !== undefined ? p.port === wanted.number : p.name === wanted.name));
        return service === undefined || port === undefined ? [] : [{ service, port }];
      });
    });
}

/** The pods behind one Service port, each with the container port the targetPort resolves to there. */
function serviceTargets(side: Side, service: ManifestObject, servicePort: any): { workload: Workload; port: number; protocol: string }[] {
  const selector: Record<string, string> | undefined = (service.manifest.spec as any)?.selector;
  if (selector === undefined || Object.keys(selector).length === 0) return [];
  const protocol: string = servicePort.protocol ?? 'TCP';
  const target: number | string = servicePort.targetPort ?? servicePort.port;
  return side.workloads
    .filter((w) => w.pod.namespace === service.namespace && labelSelectorMatches({ matchLabels: selector }, w.pod.labels))
    .flatMap((workload) => {
      const port = typeof target === 'number' ? target : workload.pod.ports.find((p) => p.name === target && p.protocol === protocol)?.containerPort;
      return port === undefined ? [] : [{ workload, port, protocol }];
    });
}

/**
 * Where Traefik's connections come from: the ipBlocks the ingress rules name for
 * the pods Traefik routes to (the construct's `nodeCidrs`), on either side, so a
 * policy that drops them is judged against the same nodes. k3s' pod CIDR when
 * none names any (the construct's default).
 */
function traefikAddresses(sides: readonly Side[]): AddressRange[] {
  const backends = sides.flatMap((side) => ingressBackends(side).flatMap((b) => serviceTargets(side, b.service, b.port).map((t) => t.workload.pod)));
  const cidrs = new Set<string>();
  for (const policy of sides.flatMap((s) => s.set.policies)) {
    const spec = specOf(policy);
    if (!policyTypesOf(spec).includes('Ingress') || !backends.some((pod) => selects(policy, pod))) continue;
    for (const rule of spec.ingress ?? []) for (const peer of rule.from ?? []) if (peer.ipBlock !== undefined) cidrs.add(peer.ipBlock.cidr);
  }
  if (cidrs.size === 0) cidrs.add('10.42.0.0/16');
  return [...cidrs].map(cidrRange).filter((r): r is AddressRange => r !== undefined);
}

/**
 * The destinations outside the workloads the egress rules of either side name:
 * each ipBlock, and each pod selector in a namespace without workloads here
 * (CoreDNS in kube-system), on each numeric port of the rule.
 */
function outsideDestinations(policies: readonly ManifestObject[], workloads: readonly Workload[]): OutsideDestination[] {
  const found = new Map<string, OutsideDestination>();
  const ours = new Set(workloads.map((w) => w.pod.namespace));
  for (const policy of policies) {
    for (const rule of specOf(policy).egress ?? []) {
      const ports = (rule.ports ?? []).filter((p): p is { port: number; protocol?: string } => typeof p.port === 'number');
      for (const peer of rule.to ?? []) {
        const target = outsideEnd(peer, ours);
        if (target === undefined) continue;
        for (const { port, protocol = 'TCP' } of ports) {
          const key = `${target.key}:${port}/${protocol}`;
          const known = KNOWN_PORTS.get(port);
          const name = known === undefined ? target.name : target.everywhere ? known.name : `${known.name} ${target.name}`;
          if (!found.has(key)) found.set(key, { key, name, end: target.end, port, protocol, bothProtocols: false });
        }
      }
    }
  }
  const all = [...found.values()];
  return all.map((d) => ({ ...d, bothProtocols: all.some((o) => o.name === d.name && o.port === d.port && o.protocol !== d.protocol) }));
}

function outsideEnd(peer: any, ours: ReadonlySet<string>): { key: string; name: string; end: FlowEnd; everywhere: boolean } | undefined {
  if (peer.ipBlock !== undefined) {
    const except: string[] = peer.ipBlock.except ?? [];
    const name = except.length === 0 ? peer.ipBlock.cidr : `${peer.ipBlock.cidr} except ${except.join(', ')}`;
    const everywhere = except.length === 0 && (peer.ipBlock.cidr === '0.0.0.0/0' || peer.ipBlock.cidr === '::/0');
    return { key: `ip ${name}`, name: everywhere ? 'anywhere' : name, end: { addresses: blockRanges(peer.ipBlock) }, everywhere };
  }
  const namespaceSelector = peer.namespaceSelector;
  const namespace: string | undefined =
    namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ??
    namespaceSelector?.matchExpressions?.find((e: any) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'In' && e.values?.length === 1)?.values[0];
  if (namespace === undefined || ours.has(namespace)) return undefined;
  const labels: Record<string, string> = { ...(peer.podSelector?.matchLabels ?? {}) };
  for (const e of peer.podSelector?.matchExpressions ?? []) if (e.operator === 'In' && e.values?.length > 0) labels[e.key] = e.values[0];
  const name = `${namespace}/${Object.values(labels).join(',') || 'pods'}`;
  return { key: `pod ${namespace} ${JSON.stringify(labels)}`, name, end: { pod: { namespace, labels, ports: [], hostNetwork: false } }, everywhere: true };
}

const RANK: Record<Verdict, number> = { denied: 0, 'partly allowed': 1, allowed: 2 };

/** What a flow that closes means, for the flows whose meaning is known. */
function meaning(flow: Flow, from: Verdict, to: Verdict): string {
  if (RANK[to] >= RANK[from]) return '';
  const part = to === 'partly allowed';
  if (flow.fromTraefik) return part ? ': the site goes down for part of the nodes' : ': the site goes down';
  if (flow.known === undefined) return '';
  return part ? `: ${flow.known.cut} for part of the addresses` : `: ${flow.known.cut}`;
}

interface PolicyChange {
  readonly key: string;
  readonly before?: ManifestObject;
  readonly after?: ManifestObject;
}

/** The NetworkPolicies added, removed or with another spec, in the new side's order, then the removed ones. */
function changedPolicies(before: readonly ManifestObject[], after: readonly ManifestObject[]): PolicyChange[] {
  const keyOf = (p: ManifestObject) => `${p.namespace}/${p.name}`;
  const old = new Map(before.map((p) => [keyOf(p), p]));
  const now = new Map(after.map((p) => [keyOf(p), p]));
  return [...new Set([...now.keys(), ...old.keys()])]
    .map((key) => ({ key, before: old.get(key), after: now.get(key) }))
    .filter(({ before: b, after: a }) => b === undefined || a === undefined || JSON.stringify(b.manifest.spec) !== JSON.stringify(a.manifest.spec));
}

/**
 * The changed policy that alone turns the flow's verdict (applied to the old
 * side, else undone on the new one); else the first changed policy that selects
 * either end; undefined when no policy change touches the flow.
 */
function culprit(changes: readonly PolicyChange[], old: Side, now: Side, was: Flow, flow: Flow): ManifestObject | undefined {
  const swap = (set: PolicySet, change: PolicyChange, to?: ManifestObject): PolicySet => ({
    ...set,
    policies: [...set.policies.filter((p) => `${p.namespace}/${p.name}` !== change.key), ...(to === undefined ? [] : [to])],
  });
  const oldVerdict = verdictOf(old.set, was.connection);
  const newVerdict = verdictOf(now.set, flow.connection);
  // Applying one change alone first: when several policies each deny a flow that opens, undoing any one would close it again.
  const decisive =
    changes.find((c) => verdictOf(swap(old.set, c, c.after), was.connection) !== oldVerdict) ??
    changes.find((c) => verdictOf(swap(now.set, c, c.before), flow.connection) !== newVerdict);
  const pods = [was, flow].flatMap((f) => [f.connection.from, f.connection.to]).flatMap((end) => ('pod' in end ? [end.pod] : []));
  const touching = decisive ?? changes.find((c) => [c.before, c.after].some((p) => p !== undefined && pods.some((pod) => selects(p, pod))));
  return touching === undefined ? undefined : touching.after ?? touching.before;
}
