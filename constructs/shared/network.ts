import { Construct, IConstruct } from 'constructs';
import { portProblem, ProblemList, reportProblems } from './validation';

/**
 * A TCP port that pods serve inside the cluster, in the words a
 * NetworkPolicy needs: the pods' `app.kubernetes.io/name`, their namespace
 * and the port. The `Redis` construct is one.
 */
export interface ServiceEndpoint {
  /** `app.kubernetes.io/name` of the serving pods. */
  readonly name: string;
  /** Namespace of the serving pods; the ingress allow is written there. */
  readonly namespace: string;
  /** The port the pods listen on (the Service's targetPort). */
  readonly port: number;
}

/**
 * The connections a workload's pods open, declared by the workload construct
 * from its own wiring. `NetworkPolicies` turns each one into an egress allow
 * for the workload and, for in-cluster endpoints, the matching ingress allow
 * on the other side. DNS is allowed for every pod and is not listed here.
 */
export interface WorkloadTraffic {
  /** `app.kubernetes.io/name` of the workload's pods. */
  readonly name: string;
  /** Namespace of the workload's pods; its egress allows are written there. */
  readonly namespace: string;
  /** In-cluster endpoints the pods connect to (Redis, the api's metrics port). */
  readonly connectsTo: readonly ServiceEndpoint[];
  /** TCP ports the pods dial outside the cluster (Postgres, SMTP, HTTPS). */
  readonly externalPorts: readonly number[];
}

/** Where a workload's Prometheus metrics are scraped: a {@link ServiceEndpoint} plus the path. */
export interface MetricsEndpoint extends ServiceEndpoint {
  /** HTTP path of the metrics, like `/metrics`. */
  readonly path: string;
}

/** The pod annotations vmagent's scrape config honours (the common Prometheus convention). */
export const SCRAPE_ANNOTATIONS = {
  scrape: 'prometheus.io/scrape',
  port: 'prometheus.io/port',
  path: 'prometheus.io/path',
} as const;

/** The HTTPS port: B2, APNs, the observability host and the public API URL all listen on it. */
export const HTTPS_PORT = 443;

/**
 * The TCP port a URL connects to: its explicit port, else its scheme's (443 for
 * https, 80 for http). None for text that is no URL, which the URL's own rule
 * refuses: under a stack that collects its children's problems, the construct
 * is built all the same.
 */
export function portsOf(url: string): number[] {
  if (!URL.canParse(url)) return [];
  const parsed = new URL(url);
  return [parsed.port ? Number(parsed.port) : parsed.protocol === 'http:' ? 80 : HTTPS_PORT];
}

/**
 * Builds `workload`'s {@link WorkloadTraffic} from its props, validating the
 * ports. Undefined endpoints (a Redis not wired) are skipped.
 */
export function workloadTraffic(
  workload: IConstruct,
  owner: string,
  pods: { readonly name: string; readonly namespace: string },
  wiring: { readonly connectsTo?: readonly (ServiceEndpoint | undefined)[]; readonly externalPorts?: readonly number[] },
): WorkloadTraffic {
  const connectsTo = (wiring.connectsTo ?? []).filter((e): e is ServiceEndpoint => e !== undefined);
  const externalPorts = [...new Set(wiring.externalPorts ?? [])];
  const problems = new ProblemList(owner);
  externalPorts.forEach((port, i) => problems.add(`externalPorts[${i}]`, portProblem(port)));
  connectsTo.forEach((endpoint) => problems.add(`connection to '${endpoint.name}'`, portProblem(endpoint.port)));
  reportProblems(workload, problems.problems);
  return { name: pods.name, namespace: pods.namespace, connectsTo, externalPorts };
}

// Stryker disable next-line StringLiteral: any key names one symbol within one copy of the library; the key matters between two copies of it in one app, which only the package test builds
const TRAFFIC_SOURCE = Symbol.for('honeydue-k8s.TrafficSource');

/** A construct whose pods open connections, declared in its `traffic`: every workload construct is one. */
export interface TrafficSource extends IConstruct {
  /** The connections its pods open. */
  readonly traffic: WorkloadTraffic;
}

/**
 * Marks a workload construct as a {@link TrafficSource}, so `NetworkPolicies`
 * finds it in the tree without a hand-kept list that a new workload could miss.
 */
export function declareTraffic(workload: Construct, traffic: WorkloadTraffic): WorkloadTraffic {
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: isTrafficSource asks whether the key is there (`in`); the value is never read
  Object.defineProperty(workload, TRAFFIC_SOURCE, { value: true });
  return traffic;
}

/** Whether a construct is a workload that declared its traffic. */
export function isTrafficSource(x: unknown): x is TrafficSource {
  return x !== null && typeof x === 'object' && TRAFFIC_SOURCE in x;
}

/** Every workload in the app that holds `scope` whose pods run in `namespace`, in construction order. */
export function trafficSourcesIn(scope: Construct, namespace: string): WorkloadTraffic[] {
  return scope.node.root.node
    .findAll()
    .filter(isTrafficSource)
    .map((source) => source.traffic)
    .filter((traffic) => traffic.namespace === namespace);
}
