import { productionChart } from './helpers';
import { Chart, Testing } from 'cdk8s';
import { parse } from 'yaml';
import { HelmChartConfigSpecFailurePolicy, TraefikConfig, TraefikConfigProps, ValueProblems } from '../constructs';

/** The refusal of a trusted range that is no CIDR block, at its index. */
const notCidr = (value: string, i = 0) =>
  `TraefikConfig: forwardedHeadersTrustedIps[${i}]: '${value}' is not an IPv4 or IPv6 CIDR block; write it like '173.245.48.0/20' or '2400:cb00::/32'`;

/** Synthesizes a TraefikConfig alone in a chart and returns its manifest and parsed chart values. */
function synthTraefik(props?: TraefikConfigProps) {
  const chart = productionChart();
  new TraefikConfig(chart, 'Traefik', props);
  const manifests = Testing.synth(chart);
  const hcc = manifests.find((m) => m.kind === 'HelmChartConfig' && m.metadata.name === 'traefik');
  if (!hcc) throw new Error('no HelmChartConfig traefik in the synthesized chart');
  return { manifests, hcc, values: parse(hcc.spec.valuesContent) };
}

describe('TraefikConfig', () => {
  test('is the k3s HelmChartConfig traefik in kube-system', () => {
    const { manifests, hcc } = synthTraefik();
    expect(manifests).toHaveLength(1);
    expect(hcc.apiVersion).toBe('helm.cattle.io/v1');
    expect(hcc.metadata.namespace).toBe('kube-system');
    expect(hcc.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'traefik',
      'app.kubernetes.io/part-of': 'honeydue',
      'app.kubernetes.io/managed-by': 'honeydue-k8s',
    });
  });

  test('keeps kube-system even inside a chart with another namespace', () => {
    const honeydue = new Chart(Testing.app(), 'honeydue', { namespace: 'honeydue' });
    new TraefikConfig(honeydue, 'Traefik');
    expect(Testing.synth(honeydue)[0].metadata.namespace).toBe('kube-system');
  });

  test('runs Traefik as a DaemonSet on the host network', () => {
    const { values } = synthTraefik();
    expect(values.deployment.kind).toBe('DaemonSet');
    expect(values.hostNetwork).toBe(true);
    expect(values.deployment.dnsPolicy).toBe('ClusterFirstWithHostNet');
  });

  test('rolls one node at a time without surging onto a taken host port', () => {
    const { values } = synthTraefik();
    expect(values.updateStrategy.type).toBe('RollingUpdate');
    expect(values.updateStrategy.rollingUpdate.maxSurge).toBe(0);
    expect(values.updateStrategy.rollingUpdate.maxUnavailable).toBe(1);
  });

  test('serves the web entry point on :80 with no separate hostPort', () => {
    const { values } = synthTraefik();
    expect(values.ports.web.port).toBe(80);
    expect(values.ports.web.exposedPort).toBe(80);
    expect(values.ports.web.hostPort).toBeUndefined();
  });

  test('may bind low ports: NET_BIND_SERVICE only, as root, no escalation, read-only root', () => {
    const { values } = synthTraefik();
    expect(values.securityContext.capabilities.add).toEqual(['NET_BIND_SERVICE']);
    expect(values.securityContext.capabilities.drop).toEqual(['ALL']);
    expect(values.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(values.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(values.podSecurityContext.runAsUser).toBe(0);
    expect(values.podSecurityContext.runAsNonRoot).toBe(false);
  });

  test('turns the websecure entry point off by default (Cloudflare Flexible)', () => {
    const { values, hcc } = synthTraefik();
    expect(values.ports).toHaveProperty('websecure', null);
    // null, not a missing key: only an explicit null removes the chart's default listener.
    expect(hcc.spec.valuesContent).toMatch(/^ {2}websecure: null$/m);
  });

  test('serves websecure on :443 when enabled', () => {
    const { values } = synthTraefik({ websecureEnabled: true });
    expect(values.ports.websecure).toEqual({ port: 443, exposedPort: 443 });
    expect(values.ports.web.port).toBe(80);
  });

  test('takes other ports and a looser rollout', () => {
    const { values } = synthTraefik({ webPort: 8000, websecureEnabled: true, websecurePort: 8443, maxUnavailable: 2 });
    expect(values.ports.web).toEqual({ port: 8000, exposedPort: 8000 });
    expect(values.ports.websecure).toEqual({ port: 8443, exposedPort: 8443 });
    expect(values.updateStrategy.rollingUpdate.maxUnavailable).toBe(2);
  });

  test('keeps a ClusterIP Service instead of a LoadBalancer', () => {
    const { values } = synthTraefik();
    expect(values.service.type).toBe('ClusterIP');
  });

  test('aborts a failed upgrade instead of uninstalling Traefik', () => {
    expect(synthTraefik().hcc.spec.failurePolicy).toBe('abort');
    const { hcc } = synthTraefik({ failurePolicy: HelmChartConfigSpecFailurePolicy.REINSTALL });
    expect(hcc.spec.failurePolicy).toBe('reinstall');
  });

  test('valuesContent is the typed values object, serialized', () => {
    const chart = Testing.chart();
    const traefik = new TraefikConfig(chart, 'Traefik');
    expect(parse(Testing.synth(chart)[0].spec.valuesContent)).toEqual(traefik.values);
    expect(traefik.helmChartConfig.name).toBe('traefik');
    expect(traefik.helmChartConfig.node.id).toBe('Resource');
  });

  test('trusts no forwarded header by default (the chart default)', () => {
    const { values } = synthTraefik();
    expect(values.ports.web.forwardedHeaders).toBeUndefined();
  });

  test('forwardedHeadersTrustedIps: ports.<entry point>.forwardedHeaders.trustedIPs, the key chart 39 turns into --entryPoints.<name>.forwardedHeaders.trustedIPs', () => {
    const trusted = ['173.245.48.0/20', '2400:cb00::/32'];
    const { values } = synthTraefik({ forwardedHeadersTrustedIps: trusted });
    expect(values.ports.web).toEqual({ port: 80, exposedPort: 80, forwardedHeaders: { trustedIPs: trusted } });
    // Not the v39 `http` sub-key (routing options only), and not `insecure` (trust everyone).
    expect(values.ports.web.http).toBeUndefined();
    expect(values.ports.web.forwardedHeaders.insecure).toBeUndefined();
    const secure = synthTraefik({ forwardedHeadersTrustedIps: trusted, websecureEnabled: true }).values;
    expect(secure.ports.websecure.forwardedHeaders).toEqual({ trustedIPs: trusted });
  });

  test('one trusted range is enough: Cloudflare behind a single CIDR still gets forwardedHeaders.trustedIPs', () => {
    const { values } = synthTraefik({ forwardedHeadersTrustedIps: ['173.245.48.0/20'] });
    expect(values.ports.web.forwardedHeaders).toEqual({ trustedIPs: ['173.245.48.0/20'] });
  });

  test('fails naming a trusted range that is not a CIDR block', () => {
    expect(() => synthTraefik({ forwardedHeadersTrustedIps: ['173.245.48.0/20', 'cloudflare'] })).toThrow(
      /TraefikConfig: forwardedHeadersTrustedIps\[1\]: 'cloudflare' is not an IPv4 or IPv6 CIDR block/,
    );
    expect(() => synthTraefik({ forwardedHeadersTrustedIps: ['2400:cb00::1/32'] })).toThrow(/'2400:cb00::1\/32' has host bits set below the \/32 prefix/);
    expect(() => synthTraefik({ forwardedHeadersTrustedIps: ['2400:cb00::/129'] })).toThrow(/is not an IPv4 or IPv6 CIDR block/);
  });

  test('an IPv6 trusted range may be a single host, /128', () => {
    const { values } = synthTraefik({ forwardedHeadersTrustedIps: ['2400:cb00::1/128'] });
    expect(values.ports.web.forwardedHeaders).toEqual({ trustedIPs: ['2400:cb00::1/128'] });
  });

  test('fails on an IPv6 prefix that is not plain digits, even one Number() would read: /+32, /32.0', () => {
    const values = ['2400:cb00::/+32', '2400:cb00::/32.0'];
    expect(() => synthTraefik({ forwardedHeadersTrustedIps: values })).toThrow(new Error(values.map((value, i) => notCidr(value, i)).join('\n')));
  });

  describe('an IPv6 trusted range is read as RFC 4291 writes it', () => {
    const trusting = (cidr: string) => () => synthTraefik({ forwardedHeadersTrustedIps: [cidr] });
    const hostBits = (cidr: string, prefix: number) => new Error(
      `TraefikConfig: forwardedHeadersTrustedIps[0]: '${cidr}' has host bits set below the /${prefix} prefix; write the network address`,
    );

    test('"::" appears at most once: with two, the address is ambiguous', () => {
      expect(trusting('2400::1::/128')).toThrow(new Error(notCidr('2400::1::/128')));
    });

    test('"::" may stand for a single zero group, but not for none: beside eight groups it fills nothing', () => {
      expect(trusting('2400:cb00:0:0:0:0:0::/32')).not.toThrow();
      expect(trusting('2400:cb00:0:0:0:0:0:0::/32')).toThrow(new Error(notCidr('2400:cb00:0:0:0:0:0:0::/32')));
    });

    test('a group is one to four hex digits: five are refused, first, last or between', () => {
      for (const cidr of ['12400:cb00::/32', '2400:cb00::12345/128', '2400:cb000::/32']) expect(trusting(cidr)).toThrow(new Error(notCidr(cidr)));
    });

    test('every group counts toward the host bits: the second below a /16, a third before "::" below a /32', () => {
      expect(trusting('2400:cb00::/16')).toThrow(hostBits('2400:cb00::/16', 16));
      expect(trusting('2400:cb00:1::0/32')).toThrow(hostBits('2400:cb00:1::0/32', 32));
      expect(trusting('2400:cb00:1::0/48')).not.toThrow();
    });
  });

  test('sets exactly these chart values, and the HelmChartConfig nothing but them and the failure policy', () => {
    const { hcc, values } = synthTraefik();
    expect(hcc.metadata.name).toBe('traefik');
    expect(Object.keys(hcc.spec).sort()).toEqual(['failurePolicy', 'valuesContent']);
    expect(Object.keys(values)).toEqual(['deployment', 'hostNetwork', 'updateStrategy', 'ports', 'service', 'securityContext', 'podSecurityContext']);
    expect(values.deployment).toEqual({ kind: 'DaemonSet', dnsPolicy: 'ClusterFirstWithHostNet' });
    expect(values.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(values.ports).toEqual({ web: { port: 80, exposedPort: 80 }, websecure: null });
    expect(values.service).toEqual({ type: 'ClusterIP' });
  });

  test('pod and container securityContext', () => {
    const { values } = synthTraefik();
    expect({ podSecurityContext: values.podSecurityContext, securityContext: values.securityContext }).toMatchSnapshot();
  });

  test('fails when maxUnavailable is below 1', () => {
    expect(() => synthTraefik({ maxUnavailable: 0 })).toThrow(/maxUnavailable: 0 must be a whole number of at least 1: with hostNetwork .*set 'maxUnavailable: 1'/);
  });

  test('fails when maxUnavailable is not an integer', () => {
    expect(() => synthTraefik({ maxUnavailable: 1.5 })).toThrow(/maxUnavailable: 1\.5 must be a whole number of at least 1/);
  });

  test("maxSurge 0, set explicitly, is accepted; the refusals name the web entry point's own port", () => {
    expect(() => synthTraefik({ maxSurge: 0 })).not.toThrow();
    expect(() => synthTraefik({ webPort: 8000, maxSurge: 1 })).toThrow(/maxSurge: must be 0 \(got 1\): .* whose :8000 the old pod still holds/);
    expect(() => synthTraefik({ webPort: 8000, maxUnavailable: 0 })).toThrow(/maxUnavailable: 0 .* holds the node's :8000 until it stops/);
  });

  test('a webPort of the wrong type is left to the type checker: the refusals then name the default :80', () => {
    expect(() => synthTraefik({ webPort: '8000' as any, maxSurge: 1 })).toThrow(/whose :80 the old pod still holds/);
  });

  test('with websecure off, its port is not checked: webPort may be 443', () => {
    expect(synthTraefik({ webPort: 443 }).values.ports.web.port).toBe(443);
  });

  test('the websecure refusals point at the prop they conflict with', () => {
    const problemsOf = (props: TraefikConfigProps) => {
      try {
        synthTraefik(props);
      } catch (error) {
        return (error as ValueProblems).problems.map((p) => ({ path: p.path, related: p.related }));
      }
      return [];
    };
    expect(problemsOf({ websecurePort: 8443 })).toEqual([{ path: 'websecurePort', related: ['websecureEnabled'] }]);
    expect(problemsOf({ websecureEnabled: true, webPort: 443 })).toEqual([{ path: 'websecurePort', related: ['webPort'] }]);
  });

  test('fails when maxSurge is above 0', () => {
    expect(() => synthTraefik({ maxSurge: 1 })).toThrow(/maxSurge: must be 0 \(got 1\).*host-port conflict.*set 'maxSurge: 0'/);
  });

  test('fails when webPort is out of 1..65535', () => {
    expect(() => synthTraefik({ webPort: 0 })).toThrow(/webPort: 0 is not a port; use a whole number from 1 to 65535; set 'webPort: 80'/);
    expect(() => synthTraefik({ webPort: 65536 })).toThrow(/webPort: 65536 is not a port.*set 'webPort: 80'/);
    expect(() => synthTraefik({ webPort: 80.5 })).toThrow(/webPort: 80\.5 is not a port/);
  });

  test('fails when websecurePort is out of 1..65535', () => {
    expect(() => synthTraefik({ websecureEnabled: true, websecurePort: 70000 })).toThrow(
      /websecurePort: 70000 is not a port; use a whole number from 1 to 65535; set 'websecurePort: 443'/,
    );
  });

  test('fails when websecurePort is set but websecure is off', () => {
    expect(() => synthTraefik({ websecurePort: 8443 })).toThrow(/websecurePort: is set \(8443\) but websecureEnabled is false/);
  });

  test('fails when web and websecure share a port', () => {
    expect(() => synthTraefik({ websecureEnabled: true, webPort: 443 })).toThrow(/websecurePort: must differ from webPort \(both 443\)/);
  });

  test("fails when a port is one the chart's own entry points take on the node", () => {
    expect(() => synthTraefik({ webPort: 8080 })).toThrow(/webPort: must not be 8080: the chart's 'traefik' entry point/);
    expect(() => synthTraefik({ websecureEnabled: true, websecurePort: 9100 })).toThrow(/websecurePort: must not be 9100: .*'metrics'/);
  });
});

test('a second TraefikConfig in one app fails as it is built, naming TraefikConfig: k3s reads one HelmChartConfig traefik', () => {
  const chart = productionChart();
  new TraefikConfig(chart, 'traefik');
  expect(() => new TraefikConfig(chart, 'traefik-copy')).toThrow(/^TraefikConfig at test\/traefik-copy: HelmChartConfig kube-system\/traefik is already built by test\/traefik: /);
});
