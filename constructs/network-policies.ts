import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { IngressRoute } from './honeydue-ingress';
import { LABEL_NAME, namespaceOf, objectLabels, selectorLabels } from './shared/labels';
import { trafficSourcesIn, WorkloadTraffic } from './shared/network';
import { cidrProblem, dnsLabelProblem, ProblemList, reportProblems, ValueProblem } from './shared/validation';
import { applyAfter } from './shared/ordering';
import { claimObjectNames } from './shared/unique-names';

/** Props of {@link NetworkPolicies}. */
export interface NetworkPoliciesProps {
  /**
   * The workloads whose pods open connections, as each construct declares
   * them (`api.traffic`, `worker.traffic`, ...). A workload gets egress to
   * what it lists; an in-cluster endpoint it lists gets ingress from it.
   * @default every workload construct built before the policies in the same
   *   app and namespace (found in the construct tree, so a new workload is never left out)
   */
  readonly workloads?: readonly WorkloadTraffic[];
  /**
   * The routes Traefik serves (`HoneydueIngress.routes`): the pods behind
   * each host get ingress on their pod port from `nodeCidrs`.
   * @default [] (nothing reachable from Traefik)
   */
  readonly ingressRoutes?: readonly IngressRoute[];
  /** Namespace the policies are written in and apply to. @default the enclosing Chart's namespace */
  readonly namespace?: string;
  /**
   * Where Traefik's traffic comes from. Traefik runs with hostNetwork, so it
   * has no pod identity: a podSelector on Traefik's pods matches nothing. A
   * pod sees a connection from the Traefik on its own node as coming from the
   * node (always allowed by the NetworkPolicy API), and from a Traefik on
   * another node as coming from that node's flannel address, which lies in
   * the cluster's pod CIDR. The default is k3s' pod CIDR: it also admits any
   * pod of any namespace to the app ports (which the internet reaches through
   * Cloudflare anyway). Tighten it to the nodes' flannel addresses
   * (`10.42.N.0/32`, one per node's podCIDR) to admit only the nodes.
   * @default ['10.42.0.0/16'] (k3s' default --cluster-cidr)
   */
  readonly nodeCidrs?: readonly string[];
}

/**
 * CoreDNS as k3s deploys it: Deployment `coredns` in kube-system, pods
 * labelled `k8s-app: kube-dns`, listening on 53. The `kube-dns` Service's
 * ClusterIP is DNAT'ed to these pods before the policy is evaluated.
 */
const DNS_PEER: k8s.NetworkPolicyPeer = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
};

/** Every IPv4 address: external egress is limited by port, not by destination (Neon, B2 and APNs addresses change). */
const ANYWHERE: k8s.NetworkPolicyPeer = { ipBlock: { cidr: '0.0.0.0/0' } };

/**
 * Every value problem of {@link NetworkPoliciesProps}: the namespace and the
 * node CIDRs (each a network address; none at all while the Ingress routes a
 * host would cut Traefik on other nodes off). The workloads' wiring is checked
 * by the constructor, which reads it from the tree. `namespace` is the resolved
 * one (the Chart's when the prop is unset).
 */
export function networkPoliciesProblems(
  props: Omit<NetworkPoliciesProps, 'ingressRoutes'> & { readonly ingressRoutes?: readonly unknown[] },
  namespace: unknown = props.namespace,
): ValueProblem[] {
  const owner = 'NetworkPolicies';
  const problems = new ProblemList(owner);
  problems.string('namespace', namespace, dnsLabelProblem);
  const nodeCidrs: unknown = props.nodeCidrs;
  const routes: unknown = props.ingressRoutes;
  if (Array.isArray(nodeCidrs)) {
    nodeCidrs.forEach((cidr: unknown, i) => problems.string(`nodeCidrs[${i}]`, cidr, cidrProblem));
    if (nodeCidrs.length === 0 && Array.isArray(routes) && routes.length > 0) {
      problems.add('nodeCidrs', `empty while the Ingress routes ${routes.length} host(s); Traefik on other nodes would be cut off, give the pod CIDR (like '10.42.0.0/16')`, nodeCidrs);
    }
  }
  return problems.problems;
}

/**
 * The namespace's NetworkPolicies: deny all ingress and egress, then allow
 * exactly the connections the wiring declares.
 *
 * - `default-deny`: every pod, both directions, no rule.
 * - `allow-dns`: every pod to CoreDNS on UDP/TCP 53.
 * - `<workload>-egress`: to each in-cluster endpoint it is wired to, and to
 *   its external TCP ports anywhere.
 * - `<endpoint>-ingress`: to an in-cluster endpoint (Redis, the api's
 *   metrics port) from exactly the workloads wired to it.
 * - `<service>-ingress-traefik`: to the pods behind each Ingress host from
 *   the node CIDRs (see `nodeCidrs` for why not a podSelector).
 *
 * `default-deny` is written last, after every allow, so a first
 * `kubectl apply` of the file never holds the deny without the allows.
 *
 * @example new NetworkPolicies(chart, 'network-policy', { workloads: [api.traffic, worker.traffic], ingressRoutes: ingress.routes });
 */
export class NetworkPolicies extends Construct {
  /** `default-deny`. */
  public readonly defaultDeny: k8s.KubeNetworkPolicy;
  /** Every policy in the order they are written: the allows, then `default-deny` last. */
  public readonly policies: readonly k8s.KubeNetworkPolicy[];
  /** The namespace the policies apply to. */
  public readonly namespace: string;

  public constructor(scope: Construct, id: string, props: NetworkPoliciesProps) {
    super(scope, id);
    const namespace = namespaceOf(scope, 'NetworkPolicies', props.namespace);
    const nodeCidrs = props.nodeCidrs ?? ['10.42.0.0/16'];
    const ingressRoutes = props.ingressRoutes ?? [];
    const workloads = props.workloads ?? trafficSourcesIn(scope, namespace);

    const owner = 'NetworkPolicies';
    reportProblems(this, networkPoliciesProblems(props, namespace));
    workloads.forEach((workload, i) => {
      const prop = `workloads[${i}]`;
      sameNamespace(owner, `${prop} ('${workload.name}')`, workload.namespace, namespace);
      workload.connectsTo.forEach((endpoint) => sameNamespace(owner, `${prop} ('${workload.name}') connection to '${endpoint.name}'`, endpoint.namespace, namespace));
      const first = workloads.findIndex((other) => other.name === workload.name);
      if (first !== i) {
        throw new Error(`${owner}: ${prop}.name: '${workload.name}' is listed twice (also workloads[${first}]); list each workload once`);
      }
    });
    const servers = serversOf(workloads);

    const policy = (constructId: string, name: string, labelName: string, spec: k8s.NetworkPolicySpec) =>
      new k8s.KubeNetworkPolicy(this, constructId, { metadata: { name, namespace, labels: objectLabels(labelName) }, spec });

    this.namespace = namespace;
    const allowDns = policy('AllowDns', 'allow-dns', 'allow-dns', {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [{ to: [DNS_PEER], ports: [tcpOrUdp('UDP', 53), tcpOrUdp('TCP', 53)] }],
    });

    const egress = workloads
      .filter((w) => w.connectsTo.length > 0 || w.externalPorts.length > 0)
      .map((workload) =>
        policy(`Egress-${workload.name}`, `${workload.name}-egress`, workload.name, {
          podSelector: { matchLabels: selectorLabels(workload.name) },
          policyTypes: ['Egress'],
          egress: [
            ...workload.connectsTo.map((endpoint) => ({
              to: [{ podSelector: { matchLabels: selectorLabels(endpoint.name) } }],
              ports: [tcpOrUdp('TCP', endpoint.port)],
            })),
            ...(workload.externalPorts.length > 0 ? [{ to: [ANYWHERE], ports: workload.externalPorts.map((p) => tcpOrUdp('TCP', p)) }] : []),
          ],
        }),
      );

    const ingress = [...servers.entries()].map(([server, ports]) =>
      policy(`Ingress-${server}`, `${server}-ingress`, server, {
        podSelector: { matchLabels: selectorLabels(server) },
        policyTypes: ['Ingress'],
        ingress: [...ports.entries()].map(([port, clients]) => ({
          from: [{ podSelector: { matchExpressions: [{ key: LABEL_NAME, operator: 'In', values: clients }] } }],
          ports: [tcpOrUdp('TCP', port)],
        })),
      }),
    );

    // The apex and `api.` both route to api: one policy per Service, with every port its hosts use.
    const fromTraefik = [...backendsOf(ingressRoutes).entries()].map(([service, backend]) =>
      policy(`Traefik-${service}`, `${service}-ingress-traefik`, service, {
        podSelector: { matchLabels: backend.podSelector },
        policyTypes: ['Ingress'],
        ingress: [{ from: nodeCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: backend.targetPorts.map((port) => ({ protocol: 'TCP', port: toIntOrString(port) })) }],
      }),
    );
    // Created (and so written) after every allow: `kubectl apply` goes through the file in
    // order, and a deny applied first would drop new connections until the allows follow.
    this.defaultDeny = policy('Resource', 'default-deny', 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const allows = [allowDns, ...egress, ...ingress, ...fromTraefik];
    // Declared too, so cdk8s keeps the deny last wherever the policies sit in a consumer's chart.
    applyAfter(this.defaultDeny, ...allows);
    this.policies = [...allows, this.defaultDeny];
    claimObjectNames(this, 'NetworkPolicies');
  }
}

/** Each in-cluster endpoint (by pod name), its ports, and the workloads that connect to each port. */
function serversOf(workloads: readonly WorkloadTraffic[]): Map<string, Map<number, string[]>> {
  const servers = new Map<string, Map<number, string[]>>();
  for (const workload of workloads) {
    for (const endpoint of workload.connectsTo) {
      const ports = servers.get(endpoint.name) ?? new Map<number, string[]>();
      const clients = ports.get(endpoint.port) ?? [];
      if (!clients.includes(workload.name)) clients.push(workload.name);
      ports.set(endpoint.port, clients);
      servers.set(endpoint.name, ports);
    }
  }
  return servers;
}

/** Each Service behind the Ingress, its pods and the pod ports its hosts reach. */
function backendsOf(routes: readonly IngressRoute[]): Map<string, { podSelector: Record<string, string>; targetPorts: (number | string)[] }> {
  const backends = new Map<string, { podSelector: Record<string, string>; targetPorts: (number | string)[] }>();
  for (const route of routes) {
    const backend = backends.get(route.serviceName) ?? { podSelector: { ...route.podSelector }, targetPorts: [] };
    if (!backend.targetPorts.includes(route.targetPort)) backend.targetPorts.push(route.targetPort);
    backends.set(route.serviceName, backend);
  }
  return backends;
}

function sameNamespace(owner: string, what: string, actual: string, expected: string): void {
  if (actual !== expected) {
    throw new Error(`${owner}: ${what} is in namespace '${actual}', but these policies cover '${expected}'; build one NetworkPolicies per namespace`);
  }
}

function tcpOrUdp(protocol: 'TCP' | 'UDP', port: number): k8s.NetworkPolicyPort {
  return { protocol, port: k8s.IntOrString.fromNumber(port) };
}

function toIntOrString(port: number | string): k8s.IntOrString {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: fromNumber and fromString both write the value as given (a number stays a number, a name a string); the branch only satisfies the types
  return typeof port === 'number' ? k8s.IntOrString.fromNumber(port) : k8s.IntOrString.fromString(port);
}
