import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { HelmChartConfig, HelmChartConfigSpecFailurePolicy } from '../imports/helm.cattle.io';
import { objectLabels } from './shared/labels';
import { ipCidrProblem, portProblem, ProblemList, reportProblems, ValueProblem, wholeNumberProblem } from './shared/validation';
import { claimObjectNames } from './shared/unique-names';

/**
 * One Traefik entry point as the chart's `ports.<name>` takes it.
 *
 * `port` is the address Traefik listens on (`--entryPoints.<name>.address=:<port>`)
 * and the containerPort; with hostNetwork that is the node's port itself.
 * `exposedPort` is the port of the chart's Service.
 */
export interface TraefikEntryPointValues {
  /** Where Traefik listens: with hostNetwork, the node's own port. */
  readonly port: number;
  /** The port of the chart's Service for this entry point. */
  readonly exposedPort: number;
  /**
   * Peers whose `X-Forwarded-*` headers Traefik keeps
   * (`--entryPoints.<name>.forwardedHeaders.trustedIPs`); from anyone else it
   * replaces them with what it sees.
   * @default absent when no peer is trusted (the chart then trusts no forwarded header)
   */
  readonly forwardedHeaders?: {
    readonly trustedIPs: readonly string[];
  };
}

/**
 * The subset of the Traefik Helm chart's values that {@link TraefikConfig} sets.
 * Every key exists in the chart's values.yaml and values.schema.json (see the
 * TraefikConfig doc for the version); Helm deep-merges maps onto the chart's
 * defaults and the values k3s itself passes, but replaces lists whole.
 */
export interface TraefikChartValues {
  /** A DaemonSet, one Traefik per node, resolving cluster names despite hostNetwork. */
  readonly deployment: {
    readonly kind: 'DaemonSet';
    readonly dnsPolicy: 'ClusterFirstWithHostNet';
  };
  /** Traefik binds the node's ports itself (k3s runs without servicelb). */
  readonly hostNetwork: boolean;
  /** Rolling update one node at a time, never surging (a surge pod cannot bind the held port). */
  readonly updateStrategy: {
    readonly type: 'RollingUpdate';
    readonly rollingUpdate: {
      readonly maxUnavailable: number;
      readonly maxSurge: number;
    };
  };
  /** The entry points: `web` on the node's HTTP port; `websecure` only when enabled. */
  readonly ports: {
    readonly web: TraefikEntryPointValues;
    /** `null` deletes the chart's default websecure entry point (Helm drops null keys when merging). */
    readonly websecure: TraefikEntryPointValues | null;
  };
  /** ClusterIP: nodes are reached on their own ports, and a LoadBalancer would sit Pending without servicelb. */
  readonly service: {
    readonly type: 'ClusterIP';
  };
  /** No privilege escalation, read-only root, every capability dropped but NET_BIND_SERVICE. */
  readonly securityContext: {
    readonly allowPrivilegeEscalation: boolean;
    readonly readOnlyRootFilesystem: boolean;
    readonly capabilities: {
      readonly drop: readonly string[];
      readonly add: readonly string[];
    };
  };
  /** UID 0: the only way the image keeps NET_BIND_SERVICE for :80 (see {@link TraefikConfig}). */
  readonly podSecurityContext: {
    readonly runAsUser: number;
    readonly runAsNonRoot: boolean;
  };
}

/** Props of {@link TraefikConfig}. */
export interface TraefikConfigProps {
  /**
   * Port of the `web` (plain HTTP) entry point. Traefik runs with hostNetwork, so
   * this is the port every node answers on.
   * @default 80 - Cloudflare (SSL mode Flexible) connects to the origin on :80.
   */
  readonly webPort?: number;

  /**
   * Whether the `websecure` (HTTPS) entry point listens at all.
   * @default false - with Cloudflare Flexible the origin speaks plain HTTP only;
   * the chart's default websecure listener would otherwise open an extra port on
   * every node's public address with a self-signed certificate.
   */
  readonly websecureEnabled?: boolean;

  /**
   * Port of the `websecure` entry point when {@link websecureEnabled} is true.
   * @default 443 - the port Cloudflare Full/Strict modes connect to.
   */
  readonly websecurePort?: number;

  /**
   * CIDR blocks (IPv4 or IPv6) of the proxies in front of Traefik whose
   * `X-Forwarded-For` and `X-Forwarded-Proto` are trusted on every entry
   * point. Behind Cloudflare these are Cloudflare's published ranges, and only
   * those: trusting every address would let any client that reaches a node
   * directly pick its own client IP. Without it the app sees a Cloudflare edge
   * address and `X-Forwarded-Proto: http` (Flexible mode speaks HTTP to the origin).
   * @default [] (the chart's default: no forwarded header is trusted)
   */
  readonly forwardedHeadersTrustedIps?: readonly string[];
  /**
   * How many nodes may be without Traefik during a rolling update of the DaemonSet.
   * @default 1 - each Traefik pod holds its node's ports, so the old pod must stop
   * before its replacement can bind; one node at a time keeps the other two serving
   * (Cloudflare's round-robin sends some requests to the node being replaced).
   */
  readonly maxUnavailable?: number;

  /**
   * Extra pods during a rolling update. Only 0 is valid; the prop exists so a value
   * carried over from a Deployment fails here with the reason instead of leaving the
   * surge pod Pending on a host-port conflict.
   * @default 0 - a surge pod would need the node's port its predecessor still holds.
   */
  readonly maxSurge?: number;

  /**
   * What the k3s helm-controller does when the Traefik upgrade with these values fails.
   * @default HelmChartConfigSpecFailurePolicy.ABORT - the CRD's default, `reinstall`,
   * uninstalls Traefik first, which takes the ingress down on every node and keeps
   * it down if the new values fail again; `abort` leaves the failed release for an
   * operator. `retry` exists only in newer helm-controllers.
   */
  readonly failurePolicy?: HelmChartConfigSpecFailurePolicy;
}

/** Ports the chart's own entry points take on the node: `traefik` (ping, API) and `metrics`. */
const CHART_INTERNAL_PORTS: Readonly<Record<number, string>> = { 8080: 'traefik', 9100: 'metrics' };

/**
 * The k3s HelmChartConfig `traefik` in `kube-system`: turns the Traefik that k3s
 * bundles into a DaemonSet on the host network, so each node's :80 is served by
 * its own Traefik.
 *
 * k3s merges `spec.valuesContent` over the values of its own HelmChart `traefik`.
 * Every key written here was checked against the traefik/traefik-helm-chart
 * `values.yaml`, `values.schema.json`, `templates/_podtemplate.tpl` and
 * `templates/daemonset.yaml` (tree at commit 00374755, the 37.x/38.x layout) and
 * against the v39.0.0 upgrade notes, whose breaking changes (enforced schema,
 * entry-point HTTP options nested under `http`) touch none of these keys.
 * k3s v1.34 bundles this chart's v37.1 to v39.0 line (v1.34.3+k3s3:
 * 38.0.201+up38.0.2; v1.34.5+k3s1: 39.0.201+up39.0.2); production runs
 * v1.34.6+k3s1, which ships a 39.0.x chart with Traefik v3.6.
 *
 * Decisions a reader would otherwise have to reverse-engineer:
 * - Traefik runs as UID 0 with every capability dropped except NET_BIND_SERVICE.
 *   The image (rancher/mirrored-library-traefik, a copy of the official one) has
 *   no file capabilities on its binary and Kubernetes cannot grant ambient
 *   capabilities, so a non-root process loses NET_BIND_SERVICE at exec; with
 *   hostNetwork the pod shares the node's `net.ipv4.ip_unprivileged_port_start`
 *   (1024), so the runtime cannot lower it per pod either. Root without
 *   capabilities, without privilege escalation and with a read-only root
 *   filesystem is what binding :80 costs.
 * - The chart's Service becomes ClusterIP: nodes are reached on their own :80,
 *   k3s runs with `--disable=servicelb`, so a LoadBalancer Service would only sit
 *   Pending; ClusterIP keeps the `kube-system/traefik` Service that k3s's
 *   `publishedService` setting points at.
 * - The chart refuses `maxUnavailable` below 1 with hostNetwork, and a surge pod
 *   can never be scheduled onto a node whose host port its predecessor holds; both
 *   are checked here first so the error names the prop.
 * - `dnsPolicy: ClusterFirstWithHostNet`: a hostNetwork pod otherwise resolves
 *   with the node's resolv.conf and cannot resolve cluster Service names.
 * - The chart's `traefik` (8080) and `metrics` (9100) entry points also listen on
 *   every node; firewall them at the node (NetworkPolicy cannot see host-network
 *   traffic).
 */
export class TraefikConfig extends Construct {
  /** The HelmChartConfig object. */
  public readonly helmChartConfig: HelmChartConfig;

  /** The chart values written into `spec.valuesContent`. */
  public readonly values: TraefikChartValues;

  constructor(scope: Construct, id: string, props: TraefikConfigProps = {}) {
    super(scope, id);

    const webPort = props.webPort ?? 80;
    const websecureEnabled = props.websecureEnabled ?? false;
    const websecurePort = props.websecurePort ?? 443;
    const maxUnavailable = props.maxUnavailable ?? 1;
    const maxSurge = props.maxSurge ?? 0;
    const failurePolicy = props.failurePolicy ?? HelmChartConfigSpecFailurePolicy.ABORT;
    const trustedIPs = props.forwardedHeadersTrustedIps ?? [];

    reportProblems(this, traefikConfigProblems(props));

    const forwardedHeaders = trustedIPs.length > 0 ? { forwardedHeaders: { trustedIPs: [...trustedIPs] } } : {};
    this.values = {
      deployment: { kind: 'DaemonSet', dnsPolicy: 'ClusterFirstWithHostNet' },
      hostNetwork: true,
      updateStrategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable, maxSurge },
      },
      // With hostNetwork the chart's ports.<name>.port is the node's port; a separate
      // hostPort is neither needed (the API server defaults it to the containerPort)
      // nor allowed to differ (the chart fails the render).
      // forwardedHeaders sits on the entry point itself, not under the `http` key that chart
      // v39 introduced for routing options (middlewares, tls, redirections).
      ports: {
        web: { port: webPort, exposedPort: webPort, ...forwardedHeaders },
        websecure: websecureEnabled ? { port: websecurePort, exposedPort: websecurePort, ...forwardedHeaders } : null,
      },
      service: { type: 'ClusterIP' },
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        // Lists replace the chart's list instead of merging, so drop: [ALL] is restated.
        capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
      },
      podSecurityContext: { runAsUser: 0, runAsNonRoot: false },
    };

    this.helmChartConfig = new HelmChartConfig(this, 'Resource', {
      metadata: {
        // k3s applies a HelmChartConfig to the HelmChart of the same name and namespace.
        name: 'traefik',
        namespace: 'kube-system',
        labels: objectLabels('traefik'),
      },
      spec: {
        failurePolicy,
        valuesContent: stringify(this.values),
      },
    });
    claimObjectNames(this, 'TraefikConfig');
  }
}

/**
 * Every problem of {@link TraefikConfigProps}, each naming its prop and value;
 * the constructor throws them all at once before it builds anything. Values of
 * the wrong type are left to the type checker (or the config schema).
 */
export function traefikConfigProblems(props: TraefikConfigProps): ValueProblem[] {
  const problems = new ProblemList('TraefikConfig');
  const webPort: unknown = props.webPort ?? 80;
  const websecureEnabled = props.websecureEnabled ?? false;
  const websecurePort: unknown = props.websecurePort ?? 443;
  problems.number('webPort', webPort, (port) => entryPointProblem('webPort', port, 80));
  if (props.websecurePort !== undefined && websecureEnabled !== true) {
    problems.add(
      'websecurePort',
      `is set (${props.websecurePort}) but websecureEnabled is false: the port would never be used; set 'websecureEnabled: true' or drop websecurePort`,
      props.websecurePort,
      ['websecureEnabled'],
    );
  }
  if (websecureEnabled === true) {
    problems.number('websecurePort', websecurePort, (port) => entryPointProblem('websecurePort', port, 443));
    if (websecurePort === webPort) {
      problems.add('websecurePort', `must differ from webPort (both ${webPort}): two entry points cannot bind one node port; set websecurePort to 443`, websecurePort, ['webPort']);
    }
  }
  const trustedIPs: unknown = props.forwardedHeadersTrustedIps;
  if (Array.isArray(trustedIPs)) trustedIPs.forEach((cidr: unknown, i) => problems.string(`forwardedHeadersTrustedIps[${i}]`, cidr, ipCidrProblem));
  const heldPort = typeof webPort === 'number' ? webPort : 80;
  problems.number('maxUnavailable', props.maxUnavailable, (maxUnavailable) => {
    const problem = wholeNumberProblem(maxUnavailable, 1);
    return problem && `${problem}: with hostNetwork the old pod holds the node's :${heldPort} until it stops, so the update cannot surge ` +
        `and must take pods down to replace them (the chart and Kubernetes both reject 0); set 'maxUnavailable: 1'`;
  });
  problems.number('maxSurge', props.maxSurge, (maxSurge) =>
    maxSurge === 0
      ? undefined
      : `must be 0 (got ${maxSurge}): a surge pod is scheduled onto a node whose ` +
        `:${heldPort} the old pod still holds and stays Pending on the host-port conflict; set 'maxSurge: 0'`);
  return problems.problems;
}

function entryPointProblem(prop: string, port: number, usual: number): string | undefined {
  const notPort = portProblem(port);
  if (notPort) return `${notPort}; set '${prop}: ${usual}'`;
  const owner = CHART_INTERNAL_PORTS[port];
  return owner === undefined
    ? undefined
    : `must not be ${port}: the chart's '${owner}' entry point already listens there on every node (hostNetwork); pick another port`;
}
