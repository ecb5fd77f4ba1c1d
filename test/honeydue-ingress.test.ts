import { Chart, Testing } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import * as YAML from 'yaml';
import { HoneydueApi, HoneydueIngress, HoneydueIngressProps, honeydueIngressProblems, HoneydueStack, NextjsApp } from '../constructs';
import { APP_WIRING, BACKEND_WIRING, find, imageOf, PRODUCTION, synthStack } from './helpers';

const ingressOf = (objects: any[]) => find(objects, 'Ingress', 'honeydue');
const backendOf = (ingress: any, host: string) => ingress.spec.rules.find((r: any) => r.host === host)?.http.paths[0].backend.service;

/** api and admin in their own charts of one stack-like scope, then the Ingress in a third, as HoneydueStack builds them. */
function withBackends(rules: (w: { api: HoneydueApi; admin: NextjsApp }) => HoneydueIngressProps['rules'], extra: Partial<HoneydueIngressProps> = {}) {
  const app = Testing.app();
  const chart = (id: string) => new Chart(app, id, { disableResourceNameHashes: true, namespace: PRODUCTION.namespace });
  const api = new HoneydueApi(chart('api'), 'api', { ...BACKEND_WIRING, image: imageOf('api') });
  const admin = new NextjsApp(chart('admin'), 'admin', { ...APP_WIRING, name: 'admin', image: imageOf('admin') });
  const ingressChart = chart('ingress');
  const ingress = new HoneydueIngress(ingressChart, 'ingress', { name: PRODUCTION.ingressName, rules: rules({ api, admin }), ...extra });
  return { ingress, objects: Testing.synth(ingressChart) };
}

describe('the stack Ingress is production (SPEC "Edge")', () => {
  let ingress: any;
  beforeEach(() => {
    ingress = ingressOf(synthStack());
  });

  test('class traefik, the name of the IngressClass k3s bundles', () => {
    expect(ingress.spec.ingressClassName).toBe('traefik');
  });

  test('no TLS and no middleware: Cloudflare Flexible talks plain HTTP to :80', () => {
    expect(ingress.spec.tls).toBeUndefined();
    expect(ingress.metadata.annotations).toBeUndefined();
  });

  test('api.myhoneydue.com -> api:8000, admin.myhoneydue.com -> admin:3000, myhoneydue.com -> api:8000', () => {
    expect(ingress.spec.rules.map((r: any) => r.host)).toEqual(['api.myhoneydue.com', 'admin.myhoneydue.com', 'myhoneydue.com']);
    expect(backendOf(ingress, 'api.myhoneydue.com')).toEqual({ name: 'api', port: { number: 8000 } });
    expect(backendOf(ingress, 'admin.myhoneydue.com')).toEqual({ name: 'admin', port: { number: 3000 } });
    expect(backendOf(ingress, 'myhoneydue.com')).toEqual({ name: 'api', port: { number: 8000 } });
  });

  test('every path of a host goes to its backend', () => {
    for (const rule of ingress.spec.rules) {
      expect(rule.http.paths).toHaveLength(1);
      expect(rule.http.paths[0]).toMatchObject({ path: '/', pathType: 'Prefix' });
    }
  });

  test('in namespace honeydue with the stack labels', () => {
    expect(ingress.metadata.namespace).toBe('honeydue');
    expect(ingress.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'honeydue', 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s', 'honeydue.io/environment': 'production',
    });
  });

  test('a class and host rules, nothing else: no default backend', () => {
    expect(Object.keys(ingress.spec).sort()).toEqual(['ingressClassName', 'rules']);
    for (const rule of ingress.spec.rules) {
      expect(Object.keys(rule.http.paths[0]).sort()).toEqual(['backend', 'path', 'pathType']);
    }
  });
});

test('the apex routes to web:3000 once web is enabled; api. keeps the api', () => {
  const ingress = ingressOf(synthStack({ web: { enabled: true } }));
  expect(backendOf(ingress, 'myhoneydue.com')).toEqual({ name: 'web', port: { number: 3000 } });
  expect(backendOf(ingress, 'api.myhoneydue.com')).toEqual({ name: 'api', port: { number: 8000 } });
});

test('hosts come from config domains', () => {
  const ingress = ingressOf(synthStack({ domains: { apex: 'example.org', api: 'api.example.org', admin: 'ops.example.org' } }));
  expect(ingress.spec.rules.map((r: any) => r.host)).toEqual(['api.example.org', 'ops.example.org', 'example.org']);
  expect(backendOf(ingress, 'api.example.org')).toEqual({ name: 'api', port: { number: 8000 } });
});

test('routes tell the NetworkPolicies which pods and pod port each host reaches', () => {
  const app = Testing.app();
  const stack = new HoneydueStack(app, 'production', PRODUCTION);
  expect(stack.ingress.routes).toEqual([
    { host: 'api.myhoneydue.com', serviceName: 'api', servicePort: 8000, targetPort: 8000, podSelector: { 'app.kubernetes.io/name': 'api' } },
    { host: 'admin.myhoneydue.com', serviceName: 'admin', servicePort: 3000, targetPort: 3000, podSelector: { 'app.kubernetes.io/name': 'admin' } },
    { host: 'myhoneydue.com', serviceName: 'api', servicePort: 8000, targetPort: 8000, podSelector: { 'app.kubernetes.io/name': 'api' } },
  ]);
});

test('a backend is a Service construct and a port: its pods and port are read from it', () => {
  const { ingress, objects } = withBackends(({ admin }) => [{ host: 'status.example.com', backend: { service: admin.service, port: 3000 } }]);
  expect(backendOf(ingressOf(objects), 'status.example.com')).toEqual({ name: 'admin', port: { number: 3000 } });
  expect(ingress.routes[0].podSelector).toEqual({ 'app.kubernetes.io/name': 'admin' });
});

test('the route carries the Service targetPort, which a NetworkPolicy must open', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'c', { disableResourceNameHashes: true });
  const docs = new k8s.KubeService(chart, 'svc', {
    metadata: { name: 'docs', namespace: 'honeydue' },
    spec: { selector: { 'app.kubernetes.io/name': 'docs' }, ports: [{ port: 80, targetPort: k8s.IntOrString.fromString('http') }] },
  });
  const ingress = new HoneydueIngress(chart, 'ingress', { name: 'docs', namespace: 'honeydue', rules: [{ host: 'docs.example.com', backend: { service: docs, port: 80 } }] });
  expect(ingress.routes[0]).toMatchObject({ servicePort: 80, targetPort: 'http' });
});

test("an explicit namespace wins over the Chart's: the Ingress lives with its Services", () => {
  const chart = new Chart(Testing.app(), 'c', { disableResourceNameHashes: true, namespace: 'honeydue' });
  const docs = new k8s.KubeService(chart, 'svc', {
    metadata: { name: 'docs', namespace: 'shop' },
    spec: { selector: { 'app.kubernetes.io/name': 'docs' }, ports: [{ port: 80 }] },
  });
  new HoneydueIngress(chart, 'ingress', { name: 'docs', namespace: 'shop', rules: [{ host: 'docs.example.com', backend: { service: docs, port: 80 } }] });
  expect(find(Testing.synth(chart), 'Ingress', 'docs').metadata.namespace).toBe('shop');
});

test('fails when a backend names a Service instead of passing its construct: no lookup by name', () => {
  // @ts-expect-error a Service name is no backend; the type wants the construct
  expect(() => withBackends(() => [{ host: 'api.example.com', backend: { name: 'apii', port: 8000 } }])).toThrow(
    /HoneydueIngress: rules\[0\]\.backend\.service: host 'api\.example\.com' has no Service construct; pass the workload \(like HoneydueApi\) or its 'service', never a Service name/,
  );
});

test('fails when a backend port is not among the Service ports, naming host, service, port and the real ports', () => {
  expect(() => withBackends(({ api }) => [{ host: 'api.example.com', backend: { service: api.service, port: 9000 } }])).toThrow(
    /HoneydueIngress: rules\[0\]\.backend\.port: host 'api\.example\.com' routes to port 9000 of Service 'api', which exposes 8000; use one of those/,
  );
  expect(() => withBackends(({ admin }) => [{ host: 'admin.example.com', backend: { service: admin.service, port: 8000 } }])).toThrow(
    /rules\[0\]\.backend\.port: host 'admin\.example\.com' routes to port 8000 of Service 'admin', which exposes 3000/,
  );
});

test('fails when the Service lives in another namespace: an Ingress cannot reach it', () => {
  expect(() => withBackends(({ api }) => [{ host: 'api.example.com', backend: api }], { namespace: 'shop' })).toThrow(
    /rules\[0\]\.backend\.service: host 'api\.example\.com' routes to Service 'api' in namespace 'honeydue', but an Ingress only reaches Services in its own namespace 'shop'/,
  );
});

test('fails on a duplicate host, naming both rules', () => {
  expect(() => withBackends(({ api, admin }) => [{ host: 'a.example.com', backend: api }, { host: 'a.example.com', backend: admin }])).toThrow(
    /HoneydueIngress: rules\[1\]\.host: 'a\.example\.com' is already routed by rules\[0\]/,
  );
});

test('fails on a bad hostname', () => {
  expect(() => withBackends(({ api }) => [{ host: 'API.example.com', backend: api }])).toThrow(/HoneydueIngress: rules\[0\]\.host: 'API\.example\.com' is not a hostname/);
  expect(() => synthStack({ domains: { ...PRODUCTION.domains, admin: 'admin_panel.example.com' } })).toThrow(/domains\.admin: 'admin_panel\.example\.com' is not a hostname/);
});

test('a hostname is whole and at most 253 characters: trailing characters or one character more fail', () => {
  const routeTo = (host: string) => () => withBackends(({ api }) => [{ host, backend: api }]);
  const longest = `${'a'.repeat(61)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
  expect(longest).toHaveLength(253);
  expect(routeTo(longest)).not.toThrow();
  expect(routeTo(`a${longest}`)).toThrow(/HoneydueIngress: rules\[0\]\.host: 'a{62}\.b{63}\.c{63}\.d{63}' is not a hostname/);
  expect(routeTo('api.example.com/')).toThrow(/HoneydueIngress: rules\[0\]\.host: 'api\.example\.com\/' is not a hostname/);
});

test('fails without rules', () => {
  expect(() => withBackends(() => [])).toThrow(/HoneydueIngress: rules: empty/);
});


/**
 * A Service `docs` built by hand (no workload behind it) in a chart without a namespace, and an
 * Ingress in `namespace` routing docs.example.com to it: to its port 80 unless `backend` says otherwise.
 */
function routeToService(spec: k8s.ServiceSpec, namespace: string, metadata: k8s.ObjectMeta = { name: 'docs' }, backend: { port?: number } = { port: 80 }) {
  const chart = new Chart(Testing.app(), 'c', { disableResourceNameHashes: true });
  const docs = new k8s.KubeService(chart, 'svc', { metadata, spec });
  const route = { ...backend, service: docs } as HoneydueIngressProps['rules'][0]['backend'];
  return new HoneydueIngress(chart, 'ingress', { name: 'docs', namespace, rules: [{ host: 'docs.example.com', backend: route }] });
}

test("a Service without metadata.namespace lives in 'default': an Ingress in default reaches it, one elsewhere fails naming 'default'", () => {
  const selector = { 'app.kubernetes.io/name': 'docs' };
  expect(routeToService({ selector, ports: [{ port: 80 }] }, 'default').routes[0]).toMatchObject({ serviceName: 'docs', servicePort: 80 });
  expect(() => routeToService({ selector, ports: [{ port: 80 }] }, 'shop')).toThrow(
    "HoneydueIngress: rules[0].backend.service: host 'docs.example.com' routes to Service 'docs' in namespace 'default', " +
      "but an Ingress only reaches Services in its own namespace 'shop'; put them in one namespace",
  );
});

test('fails when the Service exposes no ports, saying so', () => {
  expect(() => routeToService({ selector: { 'app.kubernetes.io/name': 'docs' } }, 'shop', { name: 'docs', namespace: 'shop' })).toThrow(
    "HoneydueIngress: rules[0].backend.port: host 'docs.example.com' routes to port 80 of Service 'docs', which exposes no ports; use one of those",
  );
});

test('fails when the Service has no spec at all, saying it exposes no ports', () => {
  expect(() => routeToService(undefined as unknown as k8s.ServiceSpec, 'shop', { name: 'docs', namespace: 'shop' })).toThrow(
    "HoneydueIngress: rules[0].backend.port: host 'docs.example.com' routes to port 80 of Service 'docs', which exposes no ports; use one of those",
  );
});

test('fails when a backend sets no port (a JavaScript caller): a Service without ports has none to match it', () => {
  expect(() => routeToService({ selector: { 'app.kubernetes.io/name': 'docs' } }, 'shop', { name: 'docs', namespace: 'shop' }, {})).toThrow(
    "HoneydueIngress: rules[0].backend.port: host 'docs.example.com' routes to port undefined of Service 'docs', which exposes no ports; use one of those",
  );
});

test('fails when the Service has no selector: no pods serve it, so there is no route to open', () => {
  expect(() => routeToService({ ports: [{ port: 80 }] }, 'shop', { name: 'docs', namespace: 'shop' })).toThrow(
    "HoneydueIngress: rules[0].backend: Service 'docs' (host 'docs.example.com') has no selector, so no pods serve it; route to a workload's Service",
  );
  expect(() => routeToService({ selector: {}, ports: [{ port: 80 }] }, 'shop', { name: 'docs', namespace: 'shop' })).toThrow(
    "HoneydueIngress: rules[0].backend: Service 'docs' (host 'docs.example.com') has no selector, so no pods serve it; route to a workload's Service",
  );
});

test('fails when the Service does not expose the port, listing every port it does', () => {
  const selector = { 'app.kubernetes.io/name': 'docs' };
  expect(() => routeToService({ selector, ports: [{ port: 80 }, { port: 443 }] }, 'shop', { name: 'docs', namespace: 'shop' }, { port: 8080 })).toThrow(
    "HoneydueIngress: rules[0].backend.port: host 'docs.example.com' routes to port 8080 of Service 'docs', which exposes 80, 443; use one of those",
  );
});

test('fails on a backend port that is no port, before any Service is read', () => {
  expect(() => withBackends(({ api }) => [{ host: 'api.example.com', backend: { service: api.service, port: 0 } }])).toThrow(
    'HoneydueIngress: rules[0].backend.port: 0 is not a port; use a whole number from 1 to 65535',
  );
});

test('fails with a name that is no Kubernetes name, naming the prop', () => {
  expect(() => withBackends(({ api }) => [{ host: 'api.example.com', backend: api }], { name: 'Edge_Ingress' })).toThrow(
    "HoneydueIngress: name: 'Edge_Ingress' is not a valid Kubernetes name; use lowercase letters, digits and '-', at most 63 characters",
  );
});

test('fails with an ingressClassName that is no Kubernetes name, naming the prop', () => {
  expect(() => withBackends(({ api }) => [{ host: 'api.example.com', backend: api }], { ingressClassName: 'Traefik' })).toThrow(
    "HoneydueIngress: ingressClassName: 'Traefik' is not a valid Kubernetes name; use lowercase letters, digits and '-', at most 63 characters",
  );
});

test('fails outside a namespaced Chart without a namespace, naming HoneydueIngress', () => {
  expect(() => new HoneydueIngress(Testing.chart(), 'ingress', { name: 'docs', rules: [] })).toThrow(
    "HoneydueIngress: namespace: not set, and the enclosing Chart has none; set 'namespace' on the construct or on its Chart (new Chart(app, id, { namespace }))",
  );
});

test('a second Ingress of the same name in the namespace fails as it is built, naming both HoneydueIngress constructs', () => {
  const chart = new Chart(Testing.app(), 'c', { disableResourceNameHashes: true, namespace: 'shop' });
  const docs = new k8s.KubeService(chart, 'svc', { metadata: { name: 'docs' }, spec: { selector: { 'app.kubernetes.io/name': 'docs' }, ports: [{ port: 80 }] } });
  const props = { name: 'docs', rules: [{ host: 'docs.example.com', backend: { service: docs, port: 80 } }] };
  new HoneydueIngress(chart, 'ingress', props);
  expect(() => new HoneydueIngress(chart, 'again', props)).toThrow(
    'HoneydueIngress at c/again: Ingress shop/docs is already built by c/ingress: applied, the second would overwrite the first; ' +
      "give one of them another name (a construct's name prop; an ApiObject's metadata.name, or its id when it has none), or build it once",
  );
});

test('the Ingress is written after the Services it routes to, though its chart was made first: a route applied first answers 404', () => {
  const app = Testing.app();
  const edge = new Chart(app, 'edge', { disableResourceNameHashes: true, namespace: 'shop' });
  const apps = new Chart(app, 'apps', { disableResourceNameHashes: true, namespace: 'shop' });
  const docs = new k8s.KubeService(apps, 'svc', { metadata: { name: 'docs' }, spec: { selector: { 'app.kubernetes.io/name': 'docs' }, ports: [{ port: 80 }] } });
  new HoneydueIngress(edge, 'ingress', { name: 'docs', rules: [{ host: 'docs.example.com', backend: { service: docs, port: 80 } }] });
  const written = YAML.parseAllDocuments(app.synthYaml()).map((d) => d.toJS()).filter(Boolean).map((o: any) => `${o.kind}/${o.metadata.name}`);
  expect(written).toEqual(['Service/docs', 'Ingress/docs']);
});

describe("a JavaScript caller's rules the types would refuse are left to the type checker (or the config schema): the rules judge nothing of them", () => {
  test('rules that are not a list', () => {
    expect(honeydueIngressProblems({ name: 'docs', rules: 'docs.example.com' as never }, 'shop')).toEqual([]);
  });

  test('a rule that is no mapping', () => {
    expect(honeydueIngressProblems({ name: 'docs', rules: [null as never] }, 'shop')).toEqual([]);
  });

  test('two rules without a host: no host is routed twice', () => {
    expect(honeydueIngressProblems({ name: 'docs', rules: [{} as never, {} as never] }, 'shop')).toEqual([]);
  });

  test('a rule without a backend', () => {
    expect(honeydueIngressProblems({ name: 'docs', rules: [{ host: 'docs.example.com' }] }, 'shop')).toEqual([]);
  });
});
