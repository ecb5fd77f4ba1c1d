import * as fs from 'fs';
import { ApiObject, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { loadConfig } from '../app/config';
import { HoneydueStack, HoneydueStackProps, ValueProblem, ValueProblems, VmAgent, Worker } from '../constructs';
import { find, hardeningOf, problemsThrownBy, synthStack, TAG, imageOf, PRODUCTION, WORKER_WIRING } from './helpers';
import { atParentKeys, collectProblems } from '../constructs/shared/validation';

/** The problems the stack throws on production's props (without vmagent) with `props` on top. */
const problemsOf = (props: Partial<HoneydueStackProps>): ValueProblem[] => problemsThrownBy(() => synthStack(props));

/** The messages of {@link problemsOf}. */
const messagesOf = (props: Partial<HoneydueStackProps>): string[] => problemsOf(props).map((problem) => problem.message);

let objects: any[], workloads: any[];
beforeEach(() => {
  objects = synthStack();
  workloads = objects.filter((o) => ['Deployment', 'Job'].includes(o.kind));
});

test('drop-in with production: the same object names and namespaces', () => {
  const names = objects.map((o) => `${o.kind} ${o.metadata.namespace ?? '-'}/${o.metadata.name}`).sort();
  expect(names).toEqual([
    'ConfigMap honeydue/honeydue-config',
    'Deployment honeydue/admin',
    'Deployment honeydue/api',
    'Deployment honeydue/redis',
    'Deployment honeydue/worker',
    'HelmChartConfig kube-system/traefik',
    'Ingress honeydue/honeydue',
    'Job honeydue/honeydue-migrate',
    'Namespace -/honeydue',
    'NetworkPolicy honeydue/admin-egress',
    'NetworkPolicy honeydue/admin-ingress-traefik',
    'NetworkPolicy honeydue/allow-dns',
    'NetworkPolicy honeydue/api-egress',
    'NetworkPolicy honeydue/api-ingress-traefik',
    'NetworkPolicy honeydue/default-deny',
    'NetworkPolicy honeydue/migrate-egress',
    'NetworkPolicy honeydue/redis-ingress',
    'NetworkPolicy honeydue/worker-egress',
    'PersistentVolumeClaim honeydue/redis-data',
    'PodDisruptionBudget honeydue/admin-pdb',
    'PodDisruptionBudget honeydue/api-pdb',
    'PodDisruptionBudget honeydue/redis-pdb',
    'PodDisruptionBudget honeydue/worker-pdb',
    'Service honeydue/admin',
    'Service honeydue/api',
    'Service honeydue/redis',
    'ServiceAccount honeydue/admin',
    'ServiceAccount honeydue/api',
    'ServiceAccount honeydue/migrate',
    'ServiceAccount honeydue/redis',
    'ServiceAccount honeydue/worker',
  ]);
});

test('every selector is exactly app.kubernetes.io/name (selectors are immutable on live objects)', () => {
  for (const name of ['api', 'admin', 'worker', 'redis']) {
    expect(find(objects, 'Deployment', name).spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': name } });
    expect(find(objects, 'PodDisruptionBudget', `${name}-pdb`).spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': name } });
  }
  for (const name of ['api', 'admin', 'redis']) {
    expect(find(objects, 'Service', name).spec.selector).toEqual({ 'app.kubernetes.io/name': name });
  }
});

test('the version label is on pod templates only, never on an object or a selector', () => {
  for (const o of objects) {
    expect(o.metadata.labels?.['app.kubernetes.io/version']).toBeUndefined();
  }
  for (const w of workloads) {
    expect(w.spec.template.metadata.labels['app.kubernetes.io/version']).toBe(w.kind === 'Deployment' && w.metadata.name === 'redis' ? '7-alpine' : TAG);
  }
});

test('every object carries part-of honeydue, managed-by honeydue-k8s and environment production', () => {
  for (const o of objects) {
    expect(o.metadata.labels).toMatchObject({ 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s', 'honeydue.io/environment': 'production' });
  }
});

test('the namespace enforces, audits and warns on the restricted Pod Security Standard', () => {
  expect(find(objects, 'Namespace', 'honeydue').metadata.labels).toEqual({
    'app.kubernetes.io/name': 'honeydue',
    'app.kubernetes.io/part-of': 'honeydue',
    'app.kubernetes.io/managed-by': 'honeydue-k8s',
    'honeydue.io/environment': 'production',
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
    'pod-security.kubernetes.io/audit': 'restricted',
    'pod-security.kubernetes.io/warn': 'restricted',
  });
});

test('images are gitea.treytartt.com/admin/honeydue-<svc>:<tag>; the Job runs the api image', () => {
  expect(find(objects, 'Deployment', 'api').spec.template.spec.containers[0].image).toBe(imageOf('api'));
  expect(find(objects, 'Deployment', 'worker').spec.template.spec.containers[0].image).toBe(imageOf('worker'));
  expect(find(objects, 'Deployment', 'admin').spec.template.spec.containers[0].image).toBe(imageOf('admin'));
  expect(find(objects, 'Job', 'honeydue-migrate').spec.template.spec.containers[0].image).toBe(imageOf('api'));
});

test('a registry with a port or an owner path of several segments is accepted, and prefixes every image', () => {
  for (const registry of ['registry.example.com:5000/team', 'ghcr.io/acme/apps']) {
    const api = find(synthStack({ registry }), 'Deployment', 'api');
    expect(api.spec.template.spec.containers[0].image).toBe(`${registry}/honeydue-api:${TAG}`);
    // The version label is the tag after the last '/', not whatever follows the registry's port.
    expect(api.spec.template.metadata.labels['app.kubernetes.io/version']).toBe(TAG);
  }
});

test("an image repository is accepted without a separator or under a path of its own: 'api', 'honeydue/worker', 'honey-due-admin'", () => {
  const renamed = synthStack({ images: { api: 'api', worker: 'honeydue/worker', admin: 'honey-due-admin' } });
  const imageOfDeployment = (name: string) => find(renamed, 'Deployment', name).spec.template.spec.containers[0].image;
  expect(['api', 'worker', 'admin'].map(imageOfDeployment)).toEqual([
    `${PRODUCTION.registry}/api:${TAG}`, `${PRODUCTION.registry}/honeydue/worker:${TAG}`, `${PRODUCTION.registry}/honey-due-admin:${TAG}`,
  ]);
});

test("a path component of an image repository may hold separators too: 'honeydue/honey-due.worker'", () => {
  const worker = find(synthStack({ images: { ...PRODUCTION.images, worker: 'honeydue/honey-due.worker' } }), 'Deployment', 'worker');
  expect(worker.spec.template.spec.containers[0].image).toBe(`${PRODUCTION.registry}/honeydue/honey-due.worker:${TAG}`);
});

test('the ConfigMap holds the non-secret values of SPEC', () => {
  expect(find(objects, 'ConfigMap', 'honeydue-config').data).toEqual({
    APNS_AUTH_KEY_PATH: '/secrets/apns/apns_auth_key.p8',
    B2_BUCKET_NAME: 'honeyDueProd',
    B2_REGION: 'us-east-005',
    DB_HOST: 'ep-floral-truth-amttbc5a-pooler.c-5.us-east-1.aws.neon.tech',
    DB_PORT: '5432',
    EMAIL_HOST: 'smtp.fastmail.com',
    EMAIL_PORT: '587',
    NEXT_PUBLIC_API_URL: 'https://api.myhoneydue.com/api',
    POSTGRES_DB: 'honeyDue',
    POSTGRES_USER: 'neondb_owner',
    REDIS_URL: 'redis://redis:6379/0',
  });
});

test('every pod template reading the ConfigMap carries its content hash; a config change changes it', () => {
  const hashOf = (objs: any[], kind: string, name: string) => find(objs, kind, name).spec.template.metadata.annotations?.['honeydue.io/config-hash'];
  const readers: Array<[string, string]> = [['Deployment', 'api'], ['Deployment', 'worker'], ['Deployment', 'admin'], ['Job', 'honeydue-migrate']];
  const hash = hashOf(objects, ...readers[0]);
  expect(hash).toMatch(/^[0-9a-f]{16}$/);
  for (const reader of readers) {
    expect(hashOf(objects, ...reader)).toBe(hash);
  }
  const changed = synthStack({ email: { ...PRODUCTION.email, smtpPort: 465 } });
  for (const reader of readers) {
    expect(hashOf(changed, ...reader)).not.toBe(hash);
  }
});

test('Postgres port 5432 when the database names none: DB_PORT and the backends\' egress follow it', () => {
  const { port: _port, ...database } = PRODUCTION.database!;
  const defaulted = synthStack({ database });
  expect(find(defaulted, 'ConfigMap', 'honeydue-config').data.DB_PORT).toBe('5432');
  expect(find(defaulted, 'NetworkPolicy', 'api-egress').spec.egress[1].ports[0]).toEqual({ protocol: 'TCP', port: 5432 });
});

test('no Secret is ever emitted; secrets are referenced by name', () => {
  expect(objects.filter((o) => o.kind === 'Secret')).toHaveLength(0);
});

test('web, when enabled, is a Next.js app with its own uid 1002', () => {
  const withWeb = synthStack({ web: { enabled: true } });
  const web = find(withWeb, 'Deployment', 'web');
  expect(web.spec.template.spec.securityContext.runAsUser).toBe(1002);
  expect(web.spec.template.spec.containers[0].image).toBe(`gitea.treytartt.com/admin/honeydue-web:${TAG}`);
  expect(find(withWeb, 'Service', 'web').spec.ports[0].port).toBe(3000);
  expect(objects.filter((o) => o.metadata.name === 'web')).toHaveLength(0);
});

test("web enabled without images.web fails, naming the key, the fix and web.enabled as the key it depends on", () => {
  const { web: _web, ...images } = PRODUCTION.images;
  expect(problemsOf({ images, web: { enabled: true } }).map((p) => [p.message, p.related])).toEqual([
    ["HoneydueStack: images.web: not set while web.enabled is true; name the web app's image repository, or turn web off", ['web.enabled']],
  ]);
});

test.each([
  ['no web section', undefined],
  ['a web section without enabled', { replicas: 2 }],
])('web is off unless web.enabled: %s emits no web object', (_name, web) => {
  expect(synthStack({ web }).filter((o) => o.metadata.name === 'web')).toEqual([]);
});

test('another namespace moves every namespaced app object', () => {
  const moved = synthStack({ namespace: 'shop' });
  for (const o of moved.filter((x) => !['Namespace', 'HelmChartConfig'].includes(x.kind))) {
    expect(o.metadata.namespace).toBe('shop');
  }
  expect(find(moved, 'Namespace', 'shop')).toBeDefined();
});

const LATEST = "HoneydueStack: imageTag: 'latest' is not allowed: kubelet's IfNotPresent keeps a stale image under a reused tag; use the commit SHA of the application repository the images were built from";
const DERIVED_DB_HOST = "HoneydueStack: extraConfig.DB_HOST: the stack derives 'DB_HOST' from a typed field; set that field instead";
const notRepository = (value: string) => `'${value}' is not an image repository name; use lowercase letters, digits, '.', '_' and '-', without a tag (imageTag is appended)`;

test.each<[string, Partial<HoneydueStackProps>, string[]]>([
  ['a latest tag', { imageTag: 'latest' }, [LATEST]],
  ['a latest tag beside another problem', { imageTag: 'latest', extraConfig: { DB_HOST: 'elsewhere' } }, [LATEST, DERIVED_DB_HOST]],
  ['an api repository with a tag', { images: { ...PRODUCTION.images, api: 'Api:1' } }, [`HoneydueStack: images.api: ${notRepository('Api:1')}`]],
  ['a web repository with a tag, web off', { images: { ...PRODUCTION.images, web: 'Web:1' } }, [`HoneydueStack: images.web: ${notRepository('Web:1')}`]],
])('each image part is refused once, at its key: no child repeats it in the image it makes (%s)', (_name, props, messages) => {
  expect(messagesOf(props)).toEqual(messages);
});

test("a JavaScript caller's imageTag that is not a string is skipped by the stack's rule: each child refuses the image it makes of it, beside the other problems", () => {
  const latestImage = (service: string) => `HoneydueStack: images.${service}: 'gitea.treytartt.com/admin/honeydue-${service}:latest' uses 'latest': kubelet's IfNotPresent keeps a stale image under a reused tag; pin the commit SHA`;
  expect(messagesOf({ imageTag: ['latest'] as any, extraConfig: { DB_HOST: 'elsewhere' } })).toEqual([
    DERIVED_DB_HOST, latestImage('api'), latestImage('worker'), latestImage('admin'), latestImage('web'),
  ]);
});

test('fails with an SMTP host that is no hostname or an SMTP port that is no port: one problem, at the email key', () => {
  expect(messagesOf({ email: { ...PRODUCTION.email, smtpHost: 'smtp_fastmail.com' } })).toEqual([
    "HoneydueStack: email.smtpHost: 'smtp_fastmail.com' is not a hostname; write lowercase labels joined by dots, like 'api.example.com'",
  ]);
  // The backends' egress reads the port too: its problem at email.smtpPort is the same sentence, said once.
  expect(messagesOf({ email: { ...PRODUCTION.email, smtpPort: 70000 } })).toEqual([
    'HoneydueStack: email.smtpPort: 70000 is not a port; use a whole number from 1 to 65535',
  ]);
});

test("production's probes, securityContext and PDBs, per workload", () => {
  expect(hardeningOf(objects)).toMatchSnapshot();
});

test("production's facts alone (names, hosts, labels, secret keys, the vmagent endpoint, the Cloudflare ranges) yield exactly the production config output: the rest of its file restates the constructs' defaults", () => {
  const production = loadConfig('production');
  const { imageTag, namespace, labels, environmentLabel, registry, images, imagePullSecret, secretName, configMapName, ingressName, apnsKey, domains, database, email, storage } = production;
  const { tokenSecret, remoteWriteUrl, scrapeJobName } = production.observability!;
  const fromDefaults = synthStack({
    imageTag, namespace, labels, environmentLabel, registry, images, imagePullSecret, secretName, configMapName, ingressName, apnsKey, domains, database, email, storage,
    api: { secretKeys: production.api!.secretKeys },
    worker: { secretKeys: production.worker!.secretKeys, replicasAnnotation: production.worker!.replicasAnnotation },
    migrate: { jobName: production.migrate.jobName },
    redis: { nodeSelector: production.redis!.nodeSelector },
    observability: { tokenSecret, remoteWriteUrl, scrapeJobName },
    traefik: { forwardedHeadersTrustedIps: production.traefik!.forwardedHeadersTrustedIps },
  });
  expect(fromDefaults).toEqual(synthStack(production));
});

test('every PDB lets a drain evict a crash-looping pod (unhealthyPodEvictionPolicy AlwaysAllow)', () => {
  const withVmAgent = synthStack({ observability: PRODUCTION.observability });
  const pdbs = withVmAgent.filter((o) => o.kind === 'PodDisruptionBudget');
  expect(pdbs.map((p) => p.metadata.name).sort()).toEqual(['admin-pdb', 'api-pdb', 'redis-pdb', 'vmagent-pdb', 'worker-pdb']);
  for (const pdb of pdbs) expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
});

test("production's Traefik trusts forwarded headers from Cloudflare's 15 IPv4 and 7 IPv6 ranges only", () => {
  const production = synthStack(loadConfig('production'));
  const values = require('yaml').parse(find(production, 'HelmChartConfig', 'traefik').spec.valuesContent);
  const trusted: string[] = values.ports.web.forwardedHeaders.trustedIPs;
  expect(trusted.filter((c) => !c.includes(':'))).toHaveLength(15);
  expect(trusted.filter((c) => c.includes(':'))).toHaveLength(7);
  expect(trusted).toEqual(expect.arrayContaining(['173.245.48.0/20', '104.16.0.0/13', '162.158.0.0/15', '2400:cb00::/32', '2606:4700::/32']));
  // No catch-all and no private range: a client reaching a node directly must not pick its own IP.
  for (const cidr of trusted) expect(cidr).not.toMatch(/^(0\.0\.0\.0\/0|::\/0|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/);
});

const notName = (value: string) => `'${value}' is not a valid Kubernetes name; use lowercase letters, digits and '-', at most 63 characters`;
const notHostname = (value: string) => `'${value}' is not a hostname; write lowercase labels joined by dots, like 'api.example.com'`;
const notString = '5 must be a string; quote numbers like "587"';
const { database, email, storage, domains } = PRODUCTION;

test.each<[string, Partial<HoneydueStackProps>, string]>([
  // Every child takes the stack's namespace, vmagent's scrape target too: one problem.
  ['the namespace', { namespace: 'HoneyDue' }, `namespace: ${notName('HoneyDue')}`],
  ['the namespace, vmagent on', { namespace: 'HoneyDue', observability: PRODUCTION.observability }, `namespace: ${notName('HoneyDue')}`],
  ['the pull secret', { imagePullSecret: 'Bad_Secret' }, `imagePullSecret: ${notName('Bad_Secret')}`],
  ['the app Secret', { secretName: 'Bad_Secret' }, `secretName: ${notName('Bad_Secret')}`],
  ['the APNs key Secret', { apnsKey: { secretName: 'Bad_Key' } }, `apnsKey.secretName: ${notName('Bad_Key')}`],
  ['the ConfigMap name', { configMapName: 'Bad_Name' }, `configMapName: ${notName('Bad_Name')}`],
  // The backends' egress to Postgres, the frontends' to the public API URL.
  ['the database port', { database: { ...database, port: 70000 } }, 'database.port: 70000 is not a port; use a whole number from 1 to 65535'],
  ['the public API URL port', { publicApiUrl: 'https://api.myhoneydue.com:0/api' }, 'publicApiUrl: 0 is not a port; use a whole number from 1 to 65535'],
  // The ConfigMap judges each entry the stack writes: a JavaScript caller's number is refused at the key it came from.
  ['an extra config key', { extraConfig: { 'db-host': 'x' } }, "extraConfig.db-host: 'db-host' is not an environment variable name; use letters, digits and '_'"],
  ['the database host', { database: { ...database, host: 5 as any } }, `database.host: ${notString}`],
  ['the database user', { database: { ...database, user: 5 as any } }, `database.user: ${notString}`],
  ['the database name', { database: { ...database, name: 5 as any } }, `database.name: ${notString}`],
  ['the SMTP host', { email: { ...email, smtpHost: 5 as any } }, `email.smtpHost: ${notString}`],
  ['the bucket', { storage: { ...storage, bucket: 5 as any } }, `storage.bucket: ${notString}`],
  ['the bucket region', { storage: { ...storage, region: 5 as any } }, `storage.region: ${notString}`],
  ['the public API URL', { publicApiUrl: 5 as any }, `publicApiUrl: ${notString}`],
  // The Ingress's name and rules.
  ['the Ingress name', { ingressName: 'Bad_Name' }, `ingressName: ${notName('Bad_Name')}`],
  ['the api host', { domains: { ...domains, api: 'api_x.com' } }, `domains.api: ${notHostname('api_x.com')}`],
  ['the admin host', { domains: { ...domains, admin: 'admin_x.com' } }, `domains.admin: ${notHostname('admin_x.com')}`],
  ['the apex host', { domains: { ...domains, apex: 'apex_x.com' } }, `domains.apex: ${notHostname('apex_x.com')}`],
  ['the admin host routed twice', { domains: { ...domains, admin: domains.api } }, "domains.admin: 'api.myhoneydue.com' is already routed by domains.api; Traefik would pick one at random, keep one rule per host"],
  ['the apex host routed twice', { domains: { ...domains, apex: domains.api } }, "domains.apex: 'api.myhoneydue.com' is already routed by domains.api; Traefik would pick one at random, keep one rule per host"],
  ['the apex host routed twice, by admin', { domains: { ...domains, apex: domains.admin } }, "domains.apex: 'admin.myhoneydue.com' is already routed by domains.admin; Traefik would pick one at random, keep one rule per host"],
  // vmagent scrapes the api's metrics port and connects to it.
  ['the api metrics port, vmagent on', { api: { ...PRODUCTION.api, metricsPort: 0 }, observability: PRODUCTION.observability }, 'api.metricsPort: 0 is not a port; use a whole number from 1 to 65535'],
  // vmagent's egress to the remote-write URL's port.
  ['the remote-write URL port', { observability: { ...PRODUCTION.observability, remoteWriteUrl: 'https://m.example.com:0/api/v1/write' } }, 'observability.remoteWriteUrl: 0 is not a port; use a whole number from 1 to 65535'],
  // Each child's own section.
  ['redis', { redis: { ...PRODUCTION.redis, maxMemory: 'lots' } }, "redis.maxMemory: 'lots' is not a Redis size; write it like '256mb' or '1gb'"],
  ['api', { api: { ...PRODUCTION.api, replicas: 0 } }, 'api.replicas: 0 must be a whole number of at least 1'],
  ['worker', { worker: { ...PRODUCTION.worker, replicas: 2 } }, "worker.replicas: must be 1: Asynq's Scheduler is not leader-elected, so 2 replicas fire every cron task 2 times; set worker.leaderElectedScheduler: true once PeriodicTaskManager is wired"],
  ['migrate', { migrate: { ...PRODUCTION.migrate, activeDeadlineSeconds: 900 } }, 'migrate.activeDeadlineSeconds: 900 must be a whole number from 1 to 600: the deploy gate stops waiting after 10 minutes'],
  ['admin', { admin: { ...PRODUCTION.admin, replicas: 0 } }, 'admin.replicas: 0 must be a whole number of at least 1'],
  ['web, off', { web: { enabled: false, replicas: 0 } }, 'web.replicas: 0 must be a whole number of at least 1'],
  ['networkPolicy', { networkPolicy: { nodeCidrs: ['x'] } }, "networkPolicy.nodeCidrs[0]: 'x' is not an IPv4 CIDR block; write it like '10.42.0.0/16' or '178.104.247.152/32'"],
  ['networkPolicy, off', { networkPolicy: { enabled: false, nodeCidrs: ['x'] } }, "networkPolicy.nodeCidrs[0]: 'x' is not an IPv4 CIDR block; write it like '10.42.0.0/16' or '178.104.247.152/32'"],
])('a problem a child finds in %s is reported once, at the config key the operator sets', (_name, props, message) => {
  expect(messagesOf(props)).toEqual([`HoneydueStack: ${message}`]);
});

test.each(['DB_HOST', 'DB_PORT', 'POSTGRES_USER', 'POSTGRES_DB', 'REDIS_URL', 'EMAIL_HOST', 'EMAIL_PORT', 'B2_BUCKET_NAME', 'B2_REGION', 'APNS_AUTH_KEY_PATH', 'NEXT_PUBLIC_API_URL'])(
  'fails when extraConfig sets %s, a key the stack derives',
  (key) => {
    expect(messagesOf({ extraConfig: { [key]: 'elsewhere' } })).toEqual([`HoneydueStack: extraConfig.${key}: the stack derives '${key}' from a typed field; set that field instead`]);
  },
);

test("a problem that names no other prop carries no related props, the stack's own or a child's", () => {
  expect(problemsOf({ extraConfig: { DB_HOST: 'elsewhere' }, api: { ...PRODUCTION.api, replicas: 0 } }).map((p) => [p.message, p.related])).toEqual([
    [DERIVED_DB_HOST, []],
    ['HoneydueStack: api.replicas: 0 must be a whole number of at least 1', []],
  ]);
});

test('the stack and each of its problems print as ValueProblems and ValueProblem, their names, before the message', () => {
  let thrown: unknown;
  try {
    synthStack({ api: { ...PRODUCTION.api, replicas: 0 } });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValueProblems);
  expect(String(thrown)).toBe('ValueProblems: HoneydueStack: api.replicas: 0 must be a whole number of at least 1');
  expect((thrown as ValueProblems).problems.map(String)).toEqual(['ValueProblem: HoneydueStack: api.replicas: 0 must be a whole number of at least 1']);
});

test("a stack built under a scope that collects problems takes its children's problems itself: it throws them at its keys, the scope gets none", () => {
  const outer = new Construct(Testing.app(), 'outer');
  const collected: ValueProblem[] = [];
  collectProblems(outer, (_construct, problems) => collected.push(...problems));
  expect(() => new HoneydueStack(outer, 'production', { ...PRODUCTION, redis: { ...PRODUCTION.redis, maxMemory: 'lots' } })).toThrow(
    new Error("HoneydueStack: redis.maxMemory: 'lots' is not a Redis size; write it like '256mb' or '1gb'"),
  );
  expect(collected).toEqual([]);
});

test("atParentKeys renames every mention of a related prop in the child's sentence, not the first only", () => {
  const child = new ValueProblem('Child', 'low', 'must exceed high.mark; raise high.mark or lower low', 1, ['high.mark']);
  const atParent = atParentKeys('Parent', child, { section: ['child'] });
  expect([atParent.message, atParent.related]).toEqual(['Parent: child.low: must exceed child.high.mark; raise child.high.mark or lower low', ['child.high.mark']]);
});

test('atParentKeys puts an item of a renamed list prop under the key the list comes from', () => {
  const child = new ValueProblem('Child', 'ports[1]', '0 is not a port; use a whole number from 1 to 65535', 0);
  const atParent = atParentKeys('Parent', child, { section: ['child'], renamed: { ports: ['network', 'ports'] } });
  expect([atParent.message, atParent.keys]).toEqual(['Parent: network.ports[1]: 0 is not a port; use a whole number from 1 to 65535', ['network', 'ports', 1]]);
});

test.each([
  ['unset', {}],
  ['true', { enabled: true }],
])('observability.enabled %s with a tokenSecret and no remoteWriteUrl fails once, naming the fix and the keys it depends on; no vmagent is built', (_name, enabled) => {
  const observability = { ...enabled, tokenSecret: { name: 'vmagent-ingest-token', key: 'token' } };
  expect(problemsOf({ observability }).map((p) => [p.message, p.related])).toEqual([[
    'HoneydueStack: observability.remoteWriteUrl: not set while observability.tokenSecret is; name the remote-write endpoint the token belongs to, or set observability.enabled: false',
    ['observability.tokenSecret', 'observability.enabled'],
  ]]);
  // The refused build's app holds no vmagent writing to an undefined URL.
  const app = Testing.app();
  expect(() => new HoneydueStack(app, 'production', { ...PRODUCTION, observability })).toThrow(ValueProblems);
  expect(app.node.findAll().filter((c) => c instanceof VmAgent).map((c) => c.node.path)).toEqual([]);
});

test('observability.enabled false with a tokenSecret and no remoteWriteUrl builds, with no vmagent: the fix the refusal above names', () => {
  const objects = synthStack({ observability: { enabled: false, tokenSecret: { name: 'vmagent-ingest-token', key: 'token' } } });
  expect(objects.filter((o) => o.metadata.name?.startsWith('vmagent'))).toEqual([]);
});

test.each([
  ['off', { enabled: false }],
  ['without a tokenSecret', {}],
])('observability %s emits no vmagent object, and its settings are judged all the same', (_name, observability) => {
  expect(synthStack({ observability }).filter((o) => o.metadata.name?.startsWith('vmagent'))).toEqual([]);
  expect(messagesOf({ observability: { ...observability, scrapeInterval: 'soon' } })).toEqual([
    "HoneydueStack: observability.scrapeInterval: 'soon' is not a duration; write it like '30s' or '1m'",
  ]);
});

test('traefik.enabled false writes no HelmChartConfig, and the traefik section is judged all the same', () => {
  expect(synthStack({ traefik: { enabled: false } }).filter((o) => o.kind === 'HelmChartConfig')).toEqual([]);
  expect(messagesOf({ traefik: { enabled: false, webPort: 0 } })).toEqual([
    "HoneydueStack: traefik.webPort: 0 is not a port; use a whole number from 1 to 65535; set 'webPort: 80'",
  ]);
});

test("without annotationKeys the pod templates carry the ConfigMap's hash under the construct's key, checksum/config", () => {
  const defaulted = synthStack({ annotationKeys: undefined });
  expect(find(defaulted, 'Deployment', 'api').spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{16}$/);
});

test("each concern is its own chart in the stack's namespace, after the Namespace, but the Namespace's and Traefik's (in kube-system); cdk8s's own synth numbers the files, Namespace first", () => {
  const app = Testing.app();
  const stack = new HoneydueStack(app, 'production', PRODUCTION);
  expect(app.charts.map((chart) => [chart.node.id, chart.namespace])).toEqual([
    ['namespace', undefined], ['redis', 'honeydue'], ['config', 'honeydue'], ['api', 'honeydue'], ['worker', 'honeydue'], ['migrate', 'honeydue'],
    ['admin', 'honeydue'], ['traefik', undefined], ['ingress', 'honeydue'], ['observability', 'honeydue'], ['network-policy', 'honeydue'],
  ]);
  // cdk8s writes a chart after those it depends on, whatever the order they are built in.
  for (const chart of app.charts) {
    expect([chart.node.id, chart.node.dependencies.map((d) => d.node.path)]).toEqual([chart.node.id, chart.namespace === undefined ? [] : [stack.namespaceObject.node.path]]);
  }
  app.synth();
  const files = fs.readdirSync(app.outdir).sort();
  expect(files[0]).toMatch(/^0000-production-namespace-[0-9a-f]{8}\.k8s\.yaml$/);
  expect(files.filter((file) => /^\d{4}-production-/.test(file))).toHaveLength(11);
});

test("an object a consumer adds to a stack chart without a name is named by its path, without cdk8s's hash suffix", () => {
  const app = Testing.app();
  const stack = new HoneydueStack(app, 'production', PRODUCTION);
  new ApiObject(Chart.of(stack.api), 'extra', { apiVersion: 'v1', kind: 'ConfigMap' });
  expect(find(Chart.of(stack.api).toJson(), 'ConfigMap', 'production-api-extra')).toBeDefined();
});

test('a child the stack has no config keys for fails the build, naming the child and the fix', () => {
  jest.isolateModules(() => {
    // A Redis that builds one more construct reporting a problem: a child whose id CHILD_KEYS does not list.
    jest.doMock('../constructs/redis', () => {
      const actual = jest.requireActual('../constructs/redis') as typeof import('../constructs/redis');
      const validation = jest.requireActual('../constructs/shared/validation') as typeof import('../constructs/shared/validation');
      class RedisWithUnlistedChild extends actual.Redis {
        public constructor(scope: Construct, id: string, props: import('../constructs/redis').RedisProps) {
          super(scope, id, props);
          validation.reportProblems(new Construct(this, 'unlisted'), [new validation.ValueProblem('Unlisted', 'size', 'is wrong')]);
        }
      }
      return { ...actual, Redis: RedisWithUnlistedChild };
    });
    try {
      const { HoneydueStack: Stack } = require('../constructs/honeydue-stack') as typeof import('../constructs/honeydue-stack');
      expect(() => new Stack(Testing.app(), 'production', PRODUCTION)).toThrow(
        new Error("HoneydueStack: child 'unlisted' has no entry in CHILD_KEYS, so its problems have no config key; add one"),
      );
    } finally {
      jest.dontMock('../constructs/redis');
    }
  });
});

test('a build that throws midway stops collecting: a construct added under the stack later throws its own problems', () => {
  const app = Testing.app();
  // A JavaScript caller's secretKeys that is not a list: the build fails with a TypeError, not with the stack's problems.
  expect(() => new HoneydueStack(app, 'production', { ...PRODUCTION, api: { ...PRODUCTION.api, secretKeys: 'X' as any } })).toThrow(TypeError);
  const chart = app.node.findAll().find((c): c is Chart => c instanceof Chart && c.node.scopes.some((s) => s.node.id === 'production'))!;
  expect(chart).toBeDefined();
  // `worker` is a child id whose problems the stack reports at its own keys: here nothing may swallow them.
  expect(() => new Worker(chart, 'worker', { ...WORKER_WIRING, namespace: 'honeydue', image: `x/honeydue-worker:${TAG}`, replicas: 2 })).toThrow(/Worker: replicas: must be 1: Asynq's Scheduler is not leader-elected/);
});
