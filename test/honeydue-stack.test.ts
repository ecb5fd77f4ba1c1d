import { Chart, Testing } from 'cdk8s';
import { loadConfig } from '../app/config';
import { HoneydueStack, Worker } from '../constructs';
import { find, hardeningOf, synthStack, TAG, imageOf, PRODUCTION, WORKER_WIRING } from './helpers';

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

test("web enabled without images.web fails, naming the key and the fix", () => {
  const { web: _web, ...images } = PRODUCTION.images;
  expect(() => synthStack({ images, web: { enabled: true } })).toThrow(
    /HoneydueStack: images\.web: not set while web\.enabled is true; name the web app's image repository, or turn web off/,
  );
});

test('another namespace moves every namespaced app object', () => {
  const moved = synthStack({ namespace: 'shop' });
  for (const o of moved.filter((x) => !['Namespace', 'HelmChartConfig'].includes(x.kind))) {
    expect(o.metadata.namespace).toBe('shop');
  }
  expect(find(moved, 'Namespace', 'shop')).toBeDefined();
});

test('fails when extraConfig sets a key the stack derives', () => {
  expect(() => synthStack({ extraConfig: { DB_HOST: 'elsewhere' } })).toThrow(/HoneydueStack: extraConfig.DB_HOST: the stack derives 'DB_HOST' from a typed field/);
});

test('fails with a latest image tag', () => {
  expect(() => synthStack({ imageTag: 'latest' })).toThrow(/HoneydueStack: imageTag: 'latest' is not allowed/);
});

test('fails with an SMTP host that is no hostname or an SMTP port that is no port, naming the email key', () => {
  expect(() => synthStack({ email: { ...PRODUCTION.email, smtpHost: 'smtp_fastmail.com' } })).toThrow(
    "HoneydueStack: email.smtpHost: 'smtp_fastmail.com' is not a hostname; write lowercase labels joined by dots, like 'api.example.com'",
  );
  expect(() => synthStack({ email: { ...PRODUCTION.email, smtpPort: 70000 } })).toThrow(
    'HoneydueStack: email.smtpPort: 70000 is not a port; use a whole number from 1 to 65535',
  );
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

test('a build that throws midway stops collecting: a construct added under the stack later throws its own problems', () => {
  const app = Testing.app();
  // A JavaScript caller's secretKeys that is not a list: the build fails with a TypeError, not with the stack's problems.
  expect(() => new HoneydueStack(app, 'production', { ...PRODUCTION, api: { ...PRODUCTION.api, secretKeys: 'X' as any } })).toThrow(TypeError);
  const chart = app.node.findAll().find((c): c is Chart => c instanceof Chart && c.node.scopes.some((s) => s.node.id === 'production'))!;
  expect(chart).toBeDefined();
  // `worker` is a child id whose problems the stack reports at its own keys: here nothing may swallow them.
  expect(() => new Worker(chart, 'worker', { ...WORKER_WIRING, namespace: 'honeydue', image: `x/honeydue-worker:${TAG}`, replicas: 2 })).toThrow(/Worker: replicas: must be 1: Asynq's Scheduler is not leader-elected/);
});
