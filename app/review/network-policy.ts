/**
 * What Kubernetes NetworkPolicies allow, read from manifests: whether one
 * connection (a pod or a set of addresses on each end, a port and a protocol)
 * passes the source's egress and the destination's ingress.
 *
 * The rules are the API's (networking.k8s.io/v1): a pod is isolated in a
 * direction only when a policy selecting it has that policy type; an isolated
 * pod admits what any selecting policy's rule admits (peers and ports); a
 * connection needs both ends. Pod IPs are not in the manifests, so an ipBlock
 * matches addresses (the nodes, the world), never a pod: the API leaves pod
 * traffic through an ipBlock to the implementation.
 */
import { labelSelectorMatches, type LabelSelector } from '../../manifest-check/label-selector';
import { ManifestObject } from '../shared/manifest-object';

/** A pod as policies see it. */
export interface PolicyPod {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Its containers' ports, for named ports. */
  readonly ports: readonly ContainerPort[];
  /** A host-network pod is the node to the policies: none applies to it and no selector matches it. */
  readonly hostNetwork: boolean;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol: string;
}

/** One end of a connection: a pod, or addresses outside any pod (the nodes, a CIDR of the internet). */
export type FlowEnd = { readonly pod: PolicyPod } | { readonly addresses: readonly AddressRange[] };

export interface Connection {
  readonly from: FlowEnd;
  readonly to: FlowEnd;
  readonly port: number;
  readonly protocol: string;
}

/** `partly allowed`: some addresses of an address end are admitted, some not. */
export type Verdict = 'allowed' | 'partly allowed' | 'denied';

/** The policies of one side and the namespaces' labels namespaceSelectors read. */
export interface PolicySet {
  readonly policies: readonly ManifestObject[];
  /** Labels of the namespaces the manifests create; any other namespace carries only `kubernetes.io/metadata.name`. */
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

/** Whether the connection passes both ends' policies. */
export function verdictOf(set: PolicySet, connection: Connection): Verdict {
  const egress = 'pod' in connection.from ? directionVerdict(set, connection.from.pod, 'Egress', connection) : 'allowed';
  const ingress = 'pod' in connection.to ? directionVerdict(set, connection.to.pod, 'Ingress', connection) : 'allowed';
  if (egress === 'denied' || ingress === 'denied') return 'denied';
  return egress === 'allowed' && ingress === 'allowed' ? 'allowed' : 'partly allowed';
}

interface Peer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: { readonly cidr: string; readonly except?: readonly string[] };
}

interface PolicyPort {
  readonly protocol?: string;
  readonly port?: number | string;
  readonly endPort?: number;
}

interface Rule {
  readonly from?: readonly Peer[];
  readonly to?: readonly Peer[];
  readonly ports?: readonly PolicyPort[];
}

interface PolicySpec {
  readonly podSelector?: LabelSelector;
  readonly policyTypes?: readonly string[];
  readonly ingress?: readonly Rule[];
  readonly egress?: readonly Rule[];
}

export const specOf = (policy: ManifestObject): PolicySpec => (policy.manifest.spec ?? {}) as PolicySpec;

/** The API's default when policyTypes is unset: Ingress always, Egress when the policy has egress rules. */
export function policyTypesOf(spec: PolicySpec): readonly string[] {
  return spec.policyTypes ?? (spec.egress !== undefined && spec.egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress']);
}

/** Whether `policy` selects `pod` (same namespace, podSelector matches). */
export function selects(policy: ManifestObject, pod: PolicyPod): boolean {
  return !pod.hostNetwork && policy.namespace === pod.namespace && labelSelectorMatches(specOf(policy).podSelector ?? {}, pod.labels);
}

function directionVerdict(set: PolicySet, pod: PolicyPod, direction: 'Ingress' | 'Egress', connection: Connection): Verdict {
  if (pod.hostNetwork) return 'allowed';
  const isolating = set.policies.filter((p) => selects(p, pod) && policyTypesOf(specOf(p)).includes(direction));
  if (isolating.length === 0) return 'allowed';
  const peer = direction === 'Ingress' ? connection.from : connection.to;
  // A named port is the destination pod's, in either direction.
  const destinationPorts = 'pod' in connection.to ? connection.to.pod.ports : [];
  const rules = isolating.flatMap((policy) => {
    const spec = specOf(policy);
    return (direction === 'Ingress' ? spec.ingress ?? [] : spec.egress ?? []).map((rule) => ({ policy, rule }));
  });
  const open = rules.filter(({ rule }) => portsMatch(rule.ports, connection.port, connection.protocol, destinationPorts));
  const peersOf = (rule: Rule) => (direction === 'Ingress' ? rule.from : rule.to) ?? [];
  if ('pod' in peer) {
    const admitted = open.some(({ policy, rule }) => peersOf(rule).length === 0 || peersOf(rule).some((p) => peerMatchesPod(set, policy.namespace ?? '', p, peer.pod)));
    return admitted ? 'allowed' : 'denied';
  }
  if (open.some(({ rule }) => peersOf(rule).length === 0)) return 'allowed';
  const admitted = open.flatMap(({ rule }) => peersOf(rule).flatMap((p) => (p.ipBlock === undefined ? [] : blockRanges(p.ipBlock))));
  return coverage(peer.addresses, admitted);
}

function portsMatch(ports: readonly PolicyPort[] | undefined, port: number, protocol: string, destinationPorts: readonly ContainerPort[]): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') return destinationPorts.some((c) => c.name === p.port && c.protocol === protocol && c.containerPort === port);
    return p.endPort === undefined ? p.port === port : p.port <= port && port <= p.endPort;
  });
}

function peerMatchesPod(set: PolicySet, policyNamespace: string, peer: Peer, pod: PolicyPod): boolean {
  if (peer.ipBlock !== undefined || pod.hostNetwork) return false;
  if (peer.namespaceSelector === undefined) {
    return pod.namespace === policyNamespace && labelSelectorMatches(peer.podSelector ?? {}, pod.labels);
  }
  const namespaceLabels = set.namespaceLabels.get(pod.namespace) ?? { 'kubernetes.io/metadata.name': pod.namespace };
  return labelSelectorMatches(peer.namespaceSelector, namespaceLabels) && labelSelectorMatches(peer.podSelector ?? {}, pod.labels);
}

/** Addresses from `first` to `last`, both included; IPv4 and IPv6 never overlap. */
export interface AddressRange {
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
}

/** The addresses of an ipBlock: its CIDR without its excepts. */
export function blockRanges(block: { readonly cidr: string; readonly except?: readonly string[] }): AddressRange[] {
  let ranges = [cidrRange(block.cidr)].filter((r): r is AddressRange => r !== undefined);
  for (const except of block.except ?? []) {
    const cut = cidrRange(except);
    if (cut !== undefined) ranges = ranges.flatMap((r) => subtract(r, cut));
  }
  return ranges;
}

/** Whether `wanted` lies wholly, partly or not at all within `admitted`. */
function coverage(wanted: readonly AddressRange[], admitted: readonly AddressRange[]): Verdict {
  let total = 0n;
  let inside = 0n;
  for (const range of wanted) {
    total += range.last - range.first + 1n;
    let rest = [range];
    for (const a of admitted) rest = rest.flatMap((r) => subtract(r, a));
    inside += range.last - range.first + 1n - rest.reduce((sum, r) => sum + r.last - r.first + 1n, 0n);
  }
  if (total > 0n && inside === total) return 'allowed';
  return inside === 0n ? 'denied' : 'partly allowed';
}

function subtract(range: AddressRange, cut: AddressRange): AddressRange[] {
  if (range.family !== cut.family || cut.last < range.first || cut.first > range.last) return [range];
  const left = cut.first > range.first ? [{ ...range, last: cut.first - 1n }] : [];
  const right = cut.last < range.last ? [{ ...range, first: cut.last + 1n }] : [];
  return [...left, ...right];
}

/** `10.42.0.0/16` or `fd00::/8` as a range; undefined for text that is no CIDR (the manifest check refuses it). */
export function cidrRange(cidr: string): AddressRange | undefined {
  const [address, bits] = cidr.split('/');
  const family = address.includes(':') ? 6 : 4;
  const width = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? width : Number(bits);
  const value = family === 4 ? ipv4Value(address) : ipv6Value(address);
  if (value === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > width) return undefined;
  const size = 1n << BigInt(width - prefix);
  const first = (value / size) * size;
  return { family, first, last: first + size - 1n };
}

function ipv4Value(address: string): bigint | undefined {
  const parts = address.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return parts.reduce((value, part) => value * 256n + BigInt(part), 0n);
}

function ipv6Value(address: string): bigint | undefined {
  const [head, tail, extra] = address.split('::');
  if (extra !== undefined) return undefined;
  const groups = (text: string | undefined) => (text === undefined || text === '' ? [] : text.split(':'));
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return all.reduce((value, group) => value * 65536n + BigInt(parseInt(group, 16)), 0n);
}
