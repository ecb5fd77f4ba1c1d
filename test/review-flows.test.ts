import { flowChanges } from '../app/review/flows';
import { manifestObjectOf, ManifestObject } from '../app/shared/manifest-object';
import { Editable, EnvFiles, readEnv } from './review-helpers';

/** The objects of committed dist/production, after `edit`, as the review reads them. */
function production(edit: (tree: Editable) => void = () => undefined): ManifestObject[] {
  const files: EnvFiles = readEnv('production');
  edit(new Editable(files));
  return [...files].flatMap(([file, docs]) => docs.map((doc) => manifestObjectOf(doc, file)));
}

/** `Kind/name: message` of each finding, in order. */
function flowsBetween(before: (tree: Editable) => void, after: (tree: Editable) => void): string[] {
  return flowChanges(production(before), production(after)).map((f) => `${f.object.kind}/${f.object.name}: ${f.message}`);
}

const unchanged = () => undefined;

/** The rule of a workload's egress policy that reaches outside the cluster (the ipBlock one). */
const externalRule = (tree: Editable, policy: string) => tree.get('NetworkPolicy', policy).spec.egress.find((r: any) => r.to[0].ipBlock !== undefined);

test('an unchanged release opens and closes no flow', () => {
  expect(flowsBetween(unchanged, unchanged)).toEqual([]);
});

test('removing api-ingress-traefik closes Traefik -> api: the site goes down', () => {
  expect(flowsBetween(unchanged, (tree) => tree.remove('NetworkPolicy', 'api-ingress-traefik'))).toEqual([
    'NetworkPolicy/api-ingress-traefik: Traefik -> api:8000: allowed -> denied: the site goes down',
  ]);
});

test('removing admin-ingress-traefik closes Traefik -> admin', () => {
  expect(flowsBetween(unchanged, (tree) => tree.remove('NetworkPolicy', 'admin-ingress-traefik'))).toEqual([
    'NetworkPolicy/admin-ingress-traefik: Traefik -> admin:3000: allowed -> denied: the site goes down',
  ]);
});

test('a node CIDR that leaves out part of the nodes cuts Traefik on those nodes off', () => {
  const narrow = (tree: Editable) => (tree.get('NetworkPolicy', 'api-ingress-traefik').spec.ingress[0].from = [{ ipBlock: { cidr: '10.42.0.0/16', except: ['10.42.1.0/24'] } }]);
  expect(flowsBetween(unchanged, narrow)).toEqual([
    'NetworkPolicy/api-ingress-traefik: Traefik -> api:8000: allowed -> partly allowed: the site goes down for part of the nodes',
  ]);
});

test('dropping port 5432 from api-egress closes api -> Postgres', () => {
  const dropPostgres = (tree: Editable) => {
    const rule = externalRule(tree, 'api-egress');
    rule.ports = rule.ports.filter((p: any) => p.port !== 5432);
  };
  expect(flowsBetween(unchanged, dropPostgres)).toEqual([
    'NetworkPolicy/api-egress: api -> Postgres:5432: allowed -> denied: the app cannot reach its database',
  ]);
});

test('removing allow-dns closes DNS for every pod', () => {
  const closed = ['redis', 'api', 'worker', 'admin', 'vmagent', 'migrate'].flatMap((pod) => [
    `NetworkPolicy/allow-dns: ${pod} -> DNS:53/UDP: allowed -> denied: names stop resolving`,
    `NetworkPolicy/allow-dns: ${pod} -> DNS:53/TCP: allowed -> denied: names stop resolving`,
  ]);
  expect(flowsBetween(unchanged, (tree) => tree.remove('NetworkPolicy', 'allow-dns')).sort()).toEqual(closed.sort());
});

test('a port added to admin-egress opens admin -> Postgres', () => {
  const addPostgres = (tree: Editable) => externalRule(tree, 'admin-egress').ports.push({ port: 5432, protocol: 'TCP' });
  expect(flowsBetween(unchanged, addPostgres)).toEqual(['NetworkPolicy/admin-egress: admin -> Postgres:5432: denied -> allowed']);
});

test('an allow opens a flow only once both ends allow it', () => {
  const redisAdmitsAdmin = (tree: Editable) => tree.get('NetworkPolicy', 'redis-ingress').spec.ingress[0].from[0].podSelector.matchExpressions[0].values.push('admin');
  const adminReachesRedis = (tree: Editable) => {
    redisAdmitsAdmin(tree);
    tree.get('NetworkPolicy', 'admin-egress').spec.egress.push({ to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }], ports: [{ port: 6379, protocol: 'TCP' }] });
  };
  expect(flowsBetween(unchanged, redisAdmitsAdmin)).toEqual([]);
  expect(flowsBetween(unchanged, adminReachesRedis)).toEqual(['NetworkPolicy/admin-egress: admin -> redis:6379: denied -> allowed']);
});

test('removing default-deny opens the flows only it denied', () => {
  // With redis-ingress gone on both sides, default-deny alone isolates redis for ingress.
  const withoutRedisIngress = (tree: Editable) => tree.remove('NetworkPolicy', 'redis-ingress');
  const withoutEither = (tree: Editable) => {
    withoutRedisIngress(tree);
    tree.remove('NetworkPolicy', 'default-deny');
  };
  expect(flowsBetween(withoutRedisIngress, withoutEither)).toEqual([
    'NetworkPolicy/default-deny: migrate -> redis:6379: denied -> allowed',
    'NetworkPolicy/default-deny: api -> redis:6379: denied -> allowed',
    'NetworkPolicy/default-deny: worker -> redis:6379: denied -> allowed',
  ]);
});

test('a container port the policies do not follow closes the flow, named on the workload', () => {
  // The Service's targetPort by name: the policy's numeric port no longer matches the container's.
  const movePort = (tree: Editable) => {
    const admin = tree.get('Deployment', 'admin').spec.template.spec.containers[0];
    admin.ports[0].containerPort = 3001;
    tree.get('Service', 'admin').spec.ports[0].targetPort = 'http';
  };
  expect(flowsBetween(unchanged, movePort)).toEqual(['Deployment/admin: Traefik -> admin:3001 (was 3000): allowed -> denied: the site goes down']);
});

test('policyTypes defaults as the API does: Egress when the policy has egress rules', () => {
  const typesUnset = (tree: Editable) => delete tree.get('NetworkPolicy', 'api-egress').spec.policyTypes;
  const ingressOnly = (tree: Editable) => (tree.get('NetworkPolicy', 'api-egress').spec.policyTypes = ['Ingress']);
  expect(flowsBetween(unchanged, typesUnset)).toEqual([]);
  expect(flowsBetween(unchanged, ingressOnly)).toEqual([
    'NetworkPolicy/api-egress: api -> redis:6379: allowed -> denied',
    'NetworkPolicy/api-egress: api -> Postgres:5432: allowed -> denied: the app cannot reach its database',
    'NetworkPolicy/api-egress: api -> SMTP:587: allowed -> denied: mail stops going out',
    'NetworkPolicy/api-egress: api -> HTTPS:443: allowed -> denied: B2, APNs and the other HTTPS services are unreachable',
  ]);
});

test('a named port resolves against the destination container, a port range covers its ends', () => {
  const traefikPort = (port: object) => (tree: Editable) => (tree.get('NetworkPolicy', 'api-ingress-traefik').spec.ingress[0].ports = [{ protocol: 'TCP', ...port }]);
  expect(flowsBetween(unchanged, traefikPort({ port: 'http' }))).toEqual([]);
  expect(flowsBetween(unchanged, traefikPort({ port: 7000, endPort: 8000 }))).toEqual([]);
  expect(flowsBetween(unchanged, traefikPort({ port: 'metrics' }))).toEqual([
    'NetworkPolicy/api-ingress-traefik: Traefik -> api:8000: allowed -> denied: the site goes down',
  ]);
  expect(flowsBetween(unchanged, traefikPort({ port: 8001, endPort: 9000 }))).toEqual([
    'NetworkPolicy/api-ingress-traefik: Traefik -> api:8000: allowed -> denied: the site goes down',
  ]);
});
