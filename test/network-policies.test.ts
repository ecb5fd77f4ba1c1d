import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import { loadConfig } from '../app/config';
import { HoneydueStack, NetworkPolicies, NetworkPoliciesProps, Redis, Worker, WorkloadTraffic } from '../constructs';
import { isTrafficSource } from '../constructs/shared/network';
import { find, imageOf, synthOf, synthStack, TAG, PRODUCTION, WORKER_WIRING } from './helpers';

const productionChartFor = (namespace: string) => new Chart(Testing.app(), 'test', { namespace });

const TOKEN_SECRET = { name: 'vmagent-ingest-token', key: 'token' };
const policiesOf = (objects: any[]) => objects.filter((o) => o.kind === 'NetworkPolicy');
const policy = (objects: any[], name: string) => find(objects, 'NetworkPolicy', name);
const byName = (name: string) => ({ matchLabels: { 'app.kubernetes.io/name': name } });
const tcp = (...ports: number[]) => ports.map((port) => ({ protocol: 'TCP', port }));
const ANYWHERE = [{ ipBlock: { cidr: '0.0.0.0/0' } }];

/** Production with vmagent on, so every allow of the SPEC is present. */
let objects: any[];
beforeEach(() => {
  objects = synthStack({ observability: { ...PRODUCTION.observability, tokenSecret: TOKEN_SECRET } });
});

test('default deny: every pod of the namespace, ingress and egress, no rule', () => {
  expect(policy(objects, 'default-deny').metadata.namespace).toBe('honeydue');
  expect(policy(objects, 'default-deny').spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
});

test('default-deny comes after every allow, so a first apply of the file never holds the deny alone', () => {
  const names = policiesOf(objects).map((o) => o.metadata.name);
  expect(names[names.length - 1]).toBe('default-deny');
  expect(names.filter((n) => n === 'default-deny')).toHaveLength(1);
  expect(names.length).toBeGreaterThan(5);
});

test('DNS: every pod to kube-system kube-dns on UDP and TCP 53', () => {
  expect(policy(objects, 'allow-dns').spec).toEqual({
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [
      {
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
        ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
      },
    ],
  });
});

test.each(['api', 'worker', 'migrate'])('%s: egress to redis:6379 and out to Postgres 5432, SMTP 587, HTTPS 443', (name) => {
  expect(policy(objects, `${name}-egress`).spec).toEqual({
    podSelector: byName(name),
    policyTypes: ['Egress'],
    egress: [
      { to: [{ podSelector: byName('redis') }], ports: tcp(6379) },
      { to: ANYWHERE, ports: tcp(5432, 587, 443) },
    ],
  });
});

test('admin: egress only to HTTPS 443 (the public API URL through Cloudflare)', () => {
  expect(policy(objects, 'admin-egress').spec).toEqual({ podSelector: byName('admin'), policyTypes: ['Egress'], egress: [{ to: ANYWHERE, ports: tcp(443) }] });
});

test('redis: ingress on 6379 from exactly the workloads wired to it', () => {
  expect(policy(objects, 'redis-ingress').spec).toEqual({
    podSelector: byName('redis'),
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['api', 'worker', 'migrate'] }] } }], ports: tcp(6379) }],
  });
  expect(policiesOf(objects).filter((p) => p.metadata.name.startsWith('redis-')).map((p) => p.metadata.name)).toEqual(['redis-ingress']);
});

test('vmagent: egress to the api metrics port, remote write on 443 and the API server on 6443', () => {
  expect(policy(objects, 'vmagent-egress').spec).toEqual({
    podSelector: byName('vmagent'),
    policyTypes: ['Egress'],
    egress: [
      { to: [{ podSelector: byName('api') }], ports: tcp(8000) },
      { to: ANYWHERE, ports: tcp(443, 6443) },
    ],
  });
});

test('api: ingress on its metrics port from vmagent only', () => {
  expect(policy(objects, 'api-ingress').spec).toEqual({
    podSelector: byName('api'),
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['vmagent'] }] } }], ports: tcp(8000) }],
  });
});

test.each([
  ['api', 8000],
  ['admin', 3000],
])('%s: ingress from Traefik on %i, from the node CIDR (Traefik is hostNetwork: a podSelector would match nothing)', (name, port) => {
  expect(policy(objects, `${name}-ingress-traefik`).spec).toEqual({
    podSelector: byName(name as string),
    policyTypes: ['Ingress'],
    ingress: [{ from: [{ ipBlock: { cidr: '10.42.0.0/16' } }], ports: tcp(port as number) }],
  });
});

test('no allow names Traefik\'s pods: the only namespaceSelector is the DNS one', () => {
  const peers = policiesOf(objects).flatMap((p) => [...(p.spec.ingress ?? []).flatMap((r: any) => r.from), ...(p.spec.egress ?? []).flatMap((r: any) => r.to)]);
  expect(peers.filter((peer: any) => peer.namespaceSelector)).toEqual([
    { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
  ]);
});

test('the node CIDRs come from config', () => {
  const narrowed = synthStack({ networkPolicy: { nodeCidrs: ['10.42.0.0/32', '10.42.1.0/32', '10.42.2.0/32'] } });
  expect(policy(narrowed, 'api-ingress-traefik').spec.ingress[0].from).toEqual([
    { ipBlock: { cidr: '10.42.0.0/32' } },
    { ipBlock: { cidr: '10.42.1.0/32' } },
    { ipBlock: { cidr: '10.42.2.0/32' } },
  ]);
});

test('web enabled: web gets the Traefik allow and 443 egress; api keeps its own for api.', () => {
  const withWeb = synthStack({ web: { enabled: true } });
  expect(policy(withWeb, 'web-ingress-traefik').spec.ingress[0].ports).toEqual(tcp(3000));
  expect(policy(withWeb, 'web-egress').spec.egress).toEqual([{ to: ANYWHERE, ports: tcp(443) }]);
  expect(policy(withWeb, 'api-ingress-traefik').spec.ingress[0].ports).toEqual(tcp(8000));
});

test('without vmagent there is no vmagent egress and no api ingress beyond Traefik', () => {
  const names = policiesOf(synthStack()).map((p) => p.metadata.name);
  expect(names).not.toContain('vmagent-egress');
  expect(names).not.toContain('api-ingress');
});

test('ports follow the config: Postgres and SMTP ports are the ones the ConfigMap names', () => {
  const moved = synthStack({ database: { ...PRODUCTION.database, port: 6432 }, email: { ...PRODUCTION.email, smtpPort: 465 } });
  expect(policy(moved, 'api-egress').spec.egress[1].ports).toEqual(tcp(6432, 465, 443));
});

test("the public API URL's port is the one admin may dial: its explicit port, else its scheme's (80 for http, 443 for https)", () => {
  const adminPorts = (publicApiUrl: string) => policy(synthStack({ publicApiUrl }), 'admin-egress').spec.egress[0].ports;
  expect(adminPorts('http://api.example.org/api')).toEqual(tcp(80));
  expect(adminPorts('http://api.example.org:8080/api')).toEqual(tcp(8080));
  expect(adminPorts('https://api.example.org/api')).toEqual(tcp(443));
});

test('allows are derived from the wiring: a workload not wired to Redis gets neither side of the allow', () => {
  const workloads: WorkloadTraffic[] = [
    { name: 'api', namespace: 'honeydue', connectsTo: [{ name: 'redis', namespace: 'honeydue', port: 6379 }], externalPorts: [] },
    { name: 'worker', namespace: 'honeydue', connectsTo: [], externalPorts: [5432] },
  ];
  const out = synthOf((chart) => new NetworkPolicies(chart, 'np', { workloads }));
  expect(policy(out, 'redis-ingress').spec.ingress[0].from[0].podSelector.matchExpressions[0].values).toEqual(['api']);
  expect(policy(out, 'worker-egress').spec.egress).toEqual([{ to: ANYWHERE, ports: tcp(5432) }]);
});

test('a workload with one connection and no outside port gets its egress allow; one with neither gets none', () => {
  const workloads: WorkloadTraffic[] = [
    { name: 'api', namespace: 'honeydue', connectsTo: [{ name: 'redis', namespace: 'honeydue', port: 6379 }], externalPorts: [] },
    { name: 'admin', namespace: 'honeydue', connectsTo: [], externalPorts: [] },
  ];
  const out = synthOf((chart) => new NetworkPolicies(chart, 'np', { workloads }));
  expect(policy(out, 'api-egress').spec).toEqual({
    podSelector: byName('api'),
    policyTypes: ['Egress'],
    egress: [{ to: [{ podSelector: byName('redis') }], ports: tcp(6379) }],
  });
  expect(out.filter((o) => o.metadata.name === 'admin-egress')).toEqual([]);
});

test('without workloads, NetworkPolicies finds every workload of its namespace in the app, and none of another', () => {
  const app = Testing.app();
  const chart = (id: string, namespace: string) => new Chart(app, id, { namespace, disableResourceNameHashes: true });
  const redis = new Redis(chart('cache', 'honeydue'), 'redis', {});
  new Worker(chart('jobs', 'honeydue'), 'worker', { ...WORKER_WIRING, image: imageOf('worker'), redis, externalPorts: [5432] });
  new Worker(chart('other', 'shop'), 'worker', { ...WORKER_WIRING, image: imageOf('worker'), externalPorts: [25] });
  const policies = chart('policies', 'honeydue');
  new NetworkPolicies(policies, 'np', {});
  const out = Testing.synth(policies);
  expect(policy(out, 'worker-egress').spec.egress).toEqual([
    { to: [{ podSelector: byName('redis') }], ports: tcp(6379) },
    { to: ANYWHERE, ports: tcp(5432) },
  ]);
  expect(policy(out, 'redis-ingress').spec.ingress[0].from[0].podSelector.matchExpressions[0].values).toEqual(['worker']);
  expect(policiesOf(out).map((o) => o.metadata.name)).toEqual(['allow-dns', 'worker-egress', 'redis-ingress', 'default-deny']);
});

test('only a construct that declared its traffic is a traffic source; null and plain values are not', () => {
  for (const value of [null, undefined, 'api', 42, {}]) expect(isTrafficSource(value)).toBe(false);
  expect(isTrafficSource(new Redis(productionChartFor('honeydue'), 'redis', {}))).toBe(true);
});

test('disabled: no network-policy chart, one notice line saying so', () => {
  const stack = new HoneydueStack(Testing.app(), 'production', { ...PRODUCTION, networkPolicy: { enabled: false } });
  expect(stack.node.tryFindChild('network-policy')).toBeUndefined();
  expect(stack.notices).toContain('network-policy: skipped, networkPolicy.enabled is false (every pod accepts and opens any connection)');
});

describe('NetworkPolicies alone', () => {
  const route = { host: 'api.example.com', serviceName: 'api', servicePort: 8000, targetPort: 8000, podSelector: { 'app.kubernetes.io/name': 'api' } };
  const api: WorkloadTraffic = { name: 'api', namespace: 'honeydue', connectsTo: [], externalPorts: [] };

  test("Traefik's traffic comes from k3s' default pod CIDR 10.42.0.0/16 unless nodeCidrs says otherwise", () => {
    const out = synthOf((chart) => new NetworkPolicies(chart, 'np', { workloads: [api], ingressRoutes: [route] }));
    expect(policy(out, 'api-ingress-traefik').spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '10.42.0.0/16' } }], ports: tcp(8000) }]);
  });

  test('a node CIDR may use every octet up to 255 and any prefix up to /32: 255.255.255.255/32 is one host', () => {
    const out = synthOf((chart) => new NetworkPolicies(chart, 'np', { workloads: [api], nodeCidrs: ['255.255.255.255/32', '0.0.0.0/0'], ingressRoutes: [route] }));
    expect(policy(out, 'api-ingress-traefik').spec.ingress[0].from).toEqual([{ ipBlock: { cidr: '255.255.255.255/32' } }, { ipBlock: { cidr: '0.0.0.0/0' } }]);
  });

  test('no node CIDR is fine while nothing is routed from Traefik', () => {
    expect(() => synthOf((chart) => new NetworkPolicies(chart, 'np', { workloads: [api], nodeCidrs: [], ingressRoutes: [] }))).not.toThrow();
  });

  test('a workload that lists one endpoint twice is one client of it', () => {
    const redis = { name: 'redis', namespace: 'honeydue', port: 6379 };
    const out = synthOf((chart) => new NetworkPolicies(chart, 'np', { workloads: [{ ...api, connectsTo: [redis, redis] }] }));
    expect(policy(out, 'redis-ingress').spec.ingress[0].from[0].podSelector.matchExpressions[0].values).toEqual(['api']);
  });

  test('policies lists every policy it wrote, the deny last', () => {
    let policies: NetworkPolicies | undefined;
    synthOf((chart) => { policies = new NetworkPolicies(chart, 'np', { workloads: [api], ingressRoutes: [route] }); });
    expect(policies!.policies.map((p) => p.name)).toEqual(['allow-dns', 'api-ingress-traefik', 'default-deny']);
  });

  test('fails outside a namespaced Chart without a namespace, naming NetworkPolicies', () => {
    expect(() => new NetworkPolicies(Testing.chart(), 'np', { workloads: [] })).toThrow(/NetworkPolicies: namespace: not set/);
  });
});

describe('fails on invalid props', () => {
  const build = (props: Partial<NetworkPoliciesProps>) => () => synthOf((chart) => new NetworkPolicies(chart, 'np', { workloads: [], ...props }));
  const route = { host: 'api.example.com', serviceName: 'api', servicePort: 8000, targetPort: 8000, podSelector: { 'app.kubernetes.io/name': 'api' } };

  test('a node CIDR that is not one', () => {
    expect(build({ nodeCidrs: ['10.42.0.0/33'] })).toThrow(/NetworkPolicies: nodeCidrs\[0\]: '10\.42\.0\.0\/33' is not an IPv4 CIDR block/);
    expect(build({ nodeCidrs: ['10.42.0.0'] })).toThrow(/nodeCidrs\[0\]: '10\.42\.0\.0' is not an IPv4 CIDR block/);
  });

  test('a node CIDR with an octet over 255 or anything before or after the block, each named at its index', () => {
    const notCidr = (value: string, i: number) => `NetworkPolicies: nodeCidrs[${i}]: '${value}' is not an IPv4 CIDR block; write it like '10.42.0.0/16' or '178.104.247.152/32'`;
    const values = ['10.42.0.256/32', ' 10.42.0.0/16', '10.42.0.0/16 ', '10.42.0.0/160'];
    expect(build({ nodeCidrs: values })).toThrow(new Error(values.map(notCidr).join('\n')));
  });

  test('a node CIDR with host bits set', () => {
    expect(build({ nodeCidrs: ['10.42.1.5/16'] })).toThrow(/NetworkPolicies: nodeCidrs\[0\]: '10\.42\.1\.5\/16' has host bits set below the \/16 prefix/);
  });

  test('no node CIDR while the Ingress routes hosts', () => {
    expect(build({ nodeCidrs: [], ingressRoutes: [route] })).toThrow(/NetworkPolicies: nodeCidrs: empty while the Ingress routes 1 host\(s\)/);
  });

  test('a workload listed twice', () => {
    const api: WorkloadTraffic = { name: 'api', namespace: 'honeydue', connectsTo: [], externalPorts: [] };
    expect(build({ workloads: [api, api] })).toThrow(/NetworkPolicies: workloads\[1\]\.name: 'api' is listed twice \(also workloads\[0\]\)/);
  });

  test('a workload or endpoint in another namespace', () => {
    expect(build({ workloads: [{ name: 'api', namespace: 'shop', connectsTo: [], externalPorts: [] }] })).toThrow(
      /NetworkPolicies: workloads\[0\] \('api'\) is in namespace 'shop', but these policies cover 'honeydue'/,
    );
    expect(build({ workloads: [{ name: 'api', namespace: 'honeydue', connectsTo: [{ name: 'redis', namespace: 'cache', port: 6379 }], externalPorts: [] }] })).toThrow(
      /workloads\[0\] \('api'\) connection to 'redis' is in namespace 'cache'/,
    );
  });

  test('an external port that is not a port, named by the workload', () => {
    expect(() => synthStack({ database: { ...PRODUCTION.database, port: 0 } })).toThrow(/database\.port: 0 is not a port/);
  });
});

describe('config', () => {
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-netpol-'));
  // Built on production's file: the schema requires its facts (names, hosts, registry).
  fs.copyFileSync(path.resolve(__dirname, '..', 'config', 'production.yaml'), path.join(configDir, 'production.yaml'));
  const write = (yaml: string) => fs.writeFileSync(path.join(configDir, 'edge.yaml'), `extends: production\nimageTag: ${TAG}\n${yaml}`);

  test('networkPolicy.nodeCidrs and observability reach the stack props', () => {
    write('networkPolicy: { nodeCidrs: [10.42.0.0/32] }\nobservability: { tokenSecret: { name: vmagent-ingest-token } }\n');
    expect(loadConfig('edge', { configDir })).toMatchObject({ networkPolicy: { nodeCidrs: ['10.42.0.0/32'] }, observability: { tokenSecret: { name: 'vmagent-ingest-token' } } });
  });

  test('fails on a bad CIDR, naming the key and the value', () => {
    write('networkPolicy: { nodeCidrs: [10.42.0.0/33] }\n');
    expect(() => loadConfig('edge', { configDir })).toThrow(/networkPolicy\.nodeCidrs\.0: '10\.42\.0\.0\/33' is not an IPv4 CIDR block.*\(got "10\.42\.0\.0\/33"\)/);
  });

  test('fails on an unknown key under networkPolicy or observability', () => {
    write('networkPolicy: { nodeCidr: 10.42.0.0/16 }\nobservability: { token: abc }\n');
    expect(() => loadConfig('edge', { configDir })).toThrow(/networkPolicy\.nodeCidr: unknown key/);
    expect(() => loadConfig('edge', { configDir })).toThrow(/observability\.token: unknown key/);
  });

  test('fails on a plain-http remote-write URL', () => {
    write('observability: { remoteWriteUrl: "http://obs.88oakapps.com/api/v1/write" }\n');
    expect(() => loadConfig('edge', { configDir })).toThrow(/observability\.remoteWriteUrl: .* is not https/);
  });
});

test('the policies, in apply order, each in honeydue labelled with the workload it guards and the stack labels', () => {
  const guarded: Array<[string, string]> = [
    ['allow-dns', 'allow-dns'], ['api-egress', 'api'], ['worker-egress', 'worker'], ['migrate-egress', 'migrate'], ['admin-egress', 'admin'],
    ['vmagent-egress', 'vmagent'], ['redis-ingress', 'redis'], ['api-ingress', 'api'], ['api-ingress-traefik', 'api'], ['admin-ingress-traefik', 'admin'],
    ['default-deny', 'default-deny'],
  ];
  expect(policiesOf(objects).map((p) => p.metadata.name)).toEqual(guarded.map(([name]) => name));
  for (const [name, workload] of guarded) {
    expect(policy(objects, name).metadata.namespace).toBe('honeydue');
    expect(policy(objects, name).metadata.labels).toEqual({
      'app.kubernetes.io/name': workload, 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s', 'honeydue.io/environment': 'production',
    });
  }
});

test('every Deployment and Job of the synthesized stack has its egress policy (the list is found in the tree, not kept by hand)', () => {
  const stack = synthStack({ observability: PRODUCTION.observability, web: { enabled: true } });
  const egress = new Set(policiesOf(stack).filter((p) => p.metadata.name.endsWith('-egress')).map((p) => p.spec.podSelector.matchLabels['app.kubernetes.io/name']));
  // api, worker, admin, web, vmagent and the migrate Job; Redis only accepts connections and opens none.
  const workloads = stack.filter((o) => (o.kind === 'Deployment' && o.metadata.name !== 'redis') || o.kind === 'Job');
  expect(workloads.length).toBe(6);
  for (const w of workloads) expect([w.kind, w.metadata.name, egress.has(w.spec.template.metadata.labels['app.kubernetes.io/name'])]).toEqual([w.kind, w.metadata.name, true]);
});
