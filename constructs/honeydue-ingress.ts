import { ApiObject, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_NAMESPACE } from './shared/app-workload';
import { objectLabels } from './shared/labels';
import { check, dnsLabelProblem, hostnameProblem, portProblem } from './shared/validation';

/**
 * Where a host's traffic goes: a Service and one of its ports. `HoneydueApi`
 * and `NextjsApp` are backends as they are (their `service`, `name`, `port`).
 */
export interface IngressBackend {
  /** The Service name. */
  readonly name: string;
  /** A port the Service exposes (its `port`, not the pod's targetPort). */
  readonly port: number;
  /**
   * The Service construct. Given, its name and ports are checked against it.
   * Left out, the Service named `name` is looked up among the Services built
   * so far in the same stack (the Ingress's chart's parent), so it must be
   * constructed before the Ingress.
   * @default looked up by name
   */
  readonly service?: k8s.KubeService;
}

/** One host and the backend that serves every path of it. */
export interface IngressRule {
  /** A lowercase DNS name, like `api.myhoneydue.com`. */
  readonly host: string;
  /** The Service and port every path of the host goes to. */
  readonly backend: IngressBackend;
}

/** Props of {@link HoneydueIngress}. */
export interface HoneydueIngressProps {
  /** One rule per host; hosts must be distinct. */
  readonly rules: readonly IngressRule[];
  /** The Ingress's name. @default 'honeydue' */
  readonly name?: string;
  /** Namespace of the Ingress and of every backend Service (an Ingress cannot route across namespaces). @default 'honeydue' */
  readonly namespace?: string;
  /**
   * The IngressClass. k3s installs Traefik with the Helm release `traefik`,
   * whose chart names the IngressClass after the release.
   * @default 'traefik'
   */
  readonly ingressClassName?: string;
}

/** A rule after its backend was checked against the Service that serves it. */
export interface IngressRoute {
  /** The host the rule routes. */
  readonly host: string;
  /** The backend Service's name. */
  readonly serviceName: string;
  /** The Service port the Ingress names. */
  readonly servicePort: number;
  /**
   * The pod port the Service forwards `servicePort` to. Traefik sends traffic
   * to pod endpoints directly, so this is the port a NetworkPolicy must open.
   */
  readonly targetPort: number | string;
  /** The Service's selector: the pods that receive the host's traffic. */
  readonly podSelector: Readonly<Record<string, string>>;
}

/**
 * The Ingress for Traefik: one rule per host, every path to one backend.
 * No TLS and no middleware: Cloudflare terminates TLS (SSL mode Flexible)
 * and reaches the origin over plain HTTP on :80.
 *
 * Each backend is checked at construct time: the Service must exist in the
 * Ingress's namespace and expose the port, so a typo fails synth instead of
 * a 404 in production.
 *
 * @example new HoneydueIngress(chart, 'ingress', { rules: [{ host: 'api.myhoneydue.com', backend: api }] });
 */
export class HoneydueIngress extends Construct {
  /** The Ingress object. */
  public readonly ingress: k8s.KubeIngress;
  /** The Ingress's name. */
  public readonly name: string;
  /** Its namespace, and every backend Service's. */
  public readonly namespace: string;
  /** The checked rules, with the pods and pod port behind each host (read by `NetworkPolicies`). */
  public readonly routes: readonly IngressRoute[];

  public constructor(scope: Construct, id: string, props: HoneydueIngressProps) {
    super(scope, id);
    const name = props.name ?? 'honeydue';
    const namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const ingressClassName = props.ingressClassName ?? 'traefik';

    const owner = 'HoneydueIngress';
    check(owner, 'name', dnsLabelProblem(name));
    check(owner, 'namespace', dnsLabelProblem(namespace));
    check(owner, 'ingressClassName', dnsLabelProblem(ingressClassName));
    if (props.rules.length === 0) {
      throw new Error(`${owner}: rules: empty; an Ingress without rules routes nothing, give at least one host and backend`);
    }
    const routes = props.rules.map((rule, i) => {
      const prop = `rules[${i}]`;
      check(owner, `${prop}.host`, hostnameProblem(rule.host));
      const first = props.rules.findIndex((other) => other.host === rule.host);
      if (first !== i) {
        throw new Error(`${owner}: ${prop}.host: '${rule.host}' is already routed by rules[${first}]; Traefik would pick one at random, keep one rule per host`);
      }
      check(owner, `${prop}.backend.port`, portProblem(rule.backend.port));
      return resolveRoute(this, owner, prop, namespace, rule);
    });

    this.name = name;
    this.namespace = namespace;
    this.routes = routes;
    this.ingress = new k8s.KubeIngress(this, 'Resource', {
      metadata: { name, namespace, labels: objectLabels(name) },
      spec: {
        ingressClassName,
        rules: routes.map((route) => ({
          host: route.host,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: route.serviceName, port: { number: route.servicePort } } },
              },
            ],
          },
        })),
      },
    });
  }
}

/** The fields of a rendered Service the checks read. */
interface ServiceManifest {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: {
    readonly selector?: Record<string, string>;
    readonly ports?: { readonly port: number; readonly targetPort?: number | string }[];
  };
}

function resolveRoute(scope: Construct, owner: string, prop: string, namespace: string, rule: IngressRule): IngressRoute {
  const { backend, host } = rule;
  const service = backend.service ? (backend.service.toJson() as ServiceManifest) : findService(scope, namespace, backend.name);
  if (!service) {
    const known = servicesIn(scope, namespace).map((s) => s.metadata.name).sort();
    throw new Error(
      `${owner}: ${prop}.backend.name: host '${host}' routes to Service '${backend.name}', which this stack does not define ` +
        `in namespace '${namespace}' (Services: ${known.join(', ') || 'none'}); name one of them, or build the Service before the Ingress`,
    );
  }
  const serviceName = service.metadata.name;
  if (serviceName !== backend.name) {
    throw new Error(`${owner}: ${prop}.backend.name: host '${host}' names Service '${backend.name}' but passes the construct of Service '${serviceName}'; make them agree`);
  }
  const serviceNamespace = service.metadata.namespace ?? 'default';
  if (serviceNamespace !== namespace) {
    throw new Error(
      `${owner}: ${prop}.backend.service: host '${host}' routes to Service '${serviceName}' in namespace '${serviceNamespace}', ` +
        `but an Ingress only reaches Services in its own namespace '${namespace}'; put them in one namespace`,
    );
  }
  const ports = service.spec?.ports ?? [];
  const servicePort = ports.find((p) => p.port === backend.port);
  if (!servicePort) {
    throw new Error(
      `${owner}: ${prop}.backend.port: host '${host}' routes to port ${backend.port} of Service '${serviceName}', ` +
        `which exposes ${ports.map((p) => p.port).join(', ') || 'no ports'}; use one of those`,
    );
  }
  const podSelector = service.spec?.selector;
  if (!podSelector || Object.keys(podSelector).length === 0) {
    throw new Error(`${owner}: ${prop}.backend: Service '${serviceName}' (host '${host}') has no selector, so no pods serve it; route to a workload's Service`);
  }
  return { host, serviceName, servicePort: backend.port, targetPort: servicePort.targetPort ?? backend.port, podSelector };
}

/**
 * The Services already built in the stack that holds `scope`: the parent of
 * its chart, since the stack builds one chart per concern. A standalone chart
 * has the app as parent, which then is the search scope.
 */
function servicesIn(scope: Construct, namespace: string): ServiceManifest[] {
  const chart = Chart.of(scope);
  const stack = chart.node.scope ?? chart;
  return stack.node
    .findAll()
    .filter((c): c is ApiObject => ApiObject.isApiObject(c) && c.kind === 'Service')
    .map((c) => c.toJson() as ServiceManifest)
    .filter((s) => (s.metadata.namespace ?? 'default') === namespace);
}

function findService(scope: Construct, namespace: string, name: string): ServiceManifest | undefined {
  return servicesIn(scope, namespace).find((s) => s.metadata.name === name);
}
