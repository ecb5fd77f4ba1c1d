import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { namespaceOf, objectLabels } from './shared/labels';
import { dnsLabelProblem, hostnameProblem, isRecord, portProblem, ProblemList, reportProblems, ValueProblem } from './shared/validation';
import { applyAfter } from './shared/ordering';
import { claimObjectNames } from './shared/unique-names';

/**
 * Where a host's traffic goes: a workload construct's Service and one of its
 * ports. `HoneydueApi` and `NextjsApp` are backends as they are (their
 * `service` and `port`); the Service is read from the construct, never looked
 * up by name, so a backend that does not exist cannot be written down.
 */
export interface IngressBackend {
  /** The Service construct. */
  readonly service: k8s.KubeService;
  /** A port the Service exposes (its `port`, not the pod's targetPort). */
  readonly port: number;
}

/** One host and the backend that serves every path of it. */
export interface IngressRule {
  /** A lowercase DNS name, like `api.example.com`. */
  readonly host: string;
  /** The Service and port every path of the host goes to. */
  readonly backend: IngressBackend;
}

/** Props of {@link HoneydueIngress}. */
export interface HoneydueIngressProps {
  /** One rule per host; hosts must be distinct. */
  readonly rules: readonly IngressRule[];
  /** The Ingress's name. */
  readonly name: string;
  /** Namespace of the Ingress and of every backend Service (an Ingress cannot route across namespaces). @default the enclosing Chart's namespace */
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
 * Every value problem of {@link HoneydueIngressProps}: the names, each host (a
 * hostname, routed once) and each backend port. Whether a backend's Service
 * exists and exposes the port is checked by the constructor, which reads the
 * Service. `namespace` is the resolved one (the Chart's when the prop is unset).
 */
export function honeydueIngressProblems(
  props: Omit<HoneydueIngressProps, 'rules'> & { readonly rules: readonly (Omit<IngressRule, 'backend'> & Partial<Pick<IngressRule, 'backend'>>)[] },
  namespace: unknown = props.namespace,
): ValueProblem[] {
  const owner = 'HoneydueIngress';
  const problems = new ProblemList(owner);
  problems.string('name', props.name, dnsLabelProblem);
  problems.string('namespace', namespace, dnsLabelProblem);
  problems.string('ingressClassName', props.ingressClassName, dnsLabelProblem);
  const rules: unknown = props.rules;
  if (!Array.isArray(rules)) return problems.problems;
  if (rules.length === 0) problems.add('rules', 'empty; an Ingress without rules routes nothing, give at least one host and backend', rules);
  const hosts = rules.map((rule: unknown) => (isRecord(rule) ? rule.host : undefined));
  rules.forEach((rule: unknown, i) => {
    if (!isRecord(rule)) return;
    const prop = `rules[${i}]`;
    problems.string(`${prop}.host`, rule.host, hostnameProblem);
    const first = hosts.indexOf(rule.host);
    if (typeof rule.host === 'string' && first !== i) {
      problems.add(`${prop}.host`, `'${rule.host}' is already routed by rules[${first}]; Traefik would pick one at random, keep one rule per host`, rule.host, [`rules[${first}]`]);
    }
    if (isRecord(rule.backend)) problems.number(`${prop}.backend.port`, rule.backend.port, portProblem);
  });
  return problems.problems;
}

/**
 * The Ingress for Traefik: one rule per host, every path to one backend.
 * No TLS and no middleware: Cloudflare terminates TLS (SSL mode Flexible)
 * and reaches the origin over plain HTTP on :80.
 *
 * Each backend is checked at construct time: the Service must be in the
 * Ingress's namespace and expose the port, so a wrong port fails synth instead
 * of a 404 in production.
 *
 * @example new HoneydueIngress(chart, 'ingress', { name: 'shop', rules: [{ host: 'api.example.com', backend: api }] });
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
    const name = props.name;
    const namespace = namespaceOf(scope, 'HoneydueIngress', props.namespace);
    const ingressClassName = props.ingressClassName ?? 'traefik';

    const owner = 'HoneydueIngress';
    reportProblems(this, honeydueIngressProblems(props, namespace));
    const routes = props.rules.map((rule, i) => resolveRoute(owner, `rules[${i}]`, namespace, rule));

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
    // A route applied before its Service answers 404 (Traefik logs the missing Service) until the Service follows.
    applyAfter(this.ingress, ...props.rules.map((rule) => rule.backend.service));
    claimObjectNames(this, 'HoneydueIngress');
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

function resolveRoute(owner: string, prop: string, namespace: string, rule: IngressRule): IngressRoute {
  const { backend, host } = rule;
  if (!(backend.service instanceof k8s.KubeService)) {
    throw new Error(`${owner}: ${prop}.backend.service: host '${host}' has no Service construct; pass the workload (like HoneydueApi) or its 'service', never a Service name`);
  }
  const service = backend.service.toJson() as ServiceManifest;
  const serviceName = service.metadata.name;
  const serviceNamespace = service.metadata.namespace ?? 'default';
  if (serviceNamespace !== namespace) {
    throw new Error(
      `${owner}: ${prop}.backend.service: host '${host}' routes to Service '${serviceName}' in namespace '${serviceNamespace}', ` +
        `but an Ingress only reaches Services in its own namespace '${namespace}'; put them in one namespace`,
    );
  }
  const { ports = [], selector: podSelector } = service.spec ?? {};
  const servicePort = ports.find((p) => p.port === backend.port);
  if (!servicePort) {
    throw new Error(
      `${owner}: ${prop}.backend.port: host '${host}' routes to port ${backend.port} of Service '${serviceName}', ` +
        `which exposes ${ports.map((p) => p.port).join(', ') || 'no ports'}; use one of those`,
    );
  }
  if (!podSelector || Object.keys(podSelector).length === 0) {
    throw new Error(`${owner}: ${prop}.backend: Service '${serviceName}' (host '${host}') has no selector, so no pods serve it; route to a workload's Service`);
  }
  return { host, serviceName, servicePort: backend.port, targetPort: servicePort.targetPort ?? backend.port, podSelector };
}
