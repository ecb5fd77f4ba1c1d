import { Chart, Testing } from 'cdk8s';
import { Worker, workerProblems } from '../constructs';
import { container, envVar, find, hardeningOf, synthOf, WORKER_WIRING, imageOf, PRODUCTION } from './helpers';

const image = imageOf('worker');

describe('Worker with only an image is production', () => {
  let objects: any[], deployment: any, worker: any;
  beforeEach(() => {
    objects = synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image }));
    deployment = find(objects, 'Deployment', 'worker');
    worker = container(deployment);
  });

  test('replicas exactly 1', () => {
    expect(deployment.spec.replicas).toBe(1);
  });

  test('Recreate rollout: never two schedulers at once', () => {
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('the manifest carries the singleton reasoning', () => {
    expect(deployment.metadata.annotations['honeydue.io/replicas-reason']).toMatch(/Asynq's Scheduler is a singleton.*PeriodicTaskManager/);
  });

  test('resources: requests 50m / 64Mi, limits 500m / 256Mi', () => {
    expect(worker.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
  });

  test('no Service (queue consumer), no ports, no probes', () => {
    expect(objects.filter((o) => o.kind === 'Service')).toHaveLength(0);
    expect(worker.ports).toBeUndefined();
    expect(worker.readinessProbe).toBeUndefined();
  });

  test('PDB worker-pdb minAvailable 0 (production shipped 1 and blocked every drain)', () => {
    const pdb = find(objects, 'PodDisruptionBudget', 'worker-pdb');
    expect(pdb.spec).toEqual({ minAvailable: 0, selector: { matchLabels: { 'app.kubernetes.io/name': 'worker' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  test('mounts the APNs key as api does: it sends the task reminders, and the app stats the key at startup', () => {
    const pod = deployment.spec.template.spec;
    expect(pod.volumes).toContainEqual({ name: 'apns-key', secret: { secretName: 'honeydue-apns-key', items: [{ key: 'apns_auth_key.p8', path: 'apns_auth_key.p8' }] } });
    expect(worker.volumeMounts).toContainEqual({ name: 'apns-key', mountPath: '/secrets/apns', readOnly: true });
  });

  test('no liveness probe until the image serves its health endpoint (opt-in)', () => {
    expect(worker.livenessProbe).toBeUndefined();
  });

  test('uid 1000 and the shared hardening', () => {
    expect(deployment.spec.template.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(worker.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(find(objects, 'ServiceAccount', 'worker').automountServiceAccountToken).toBe(false);
  });

  test('ServiceAccount, Deployment and PDB, each labelled name worker, part-of honeydue, managed-by honeydue-k8s', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ServiceAccount/worker', 'Deployment/worker', 'PodDisruptionBudget/worker-pdb']);
    for (const o of objects) {
      expect(o.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'worker', 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' });
    }
  });

  test("the api's wiring: container worker on the worker image, pull secret, ConfigMap, the api's secret keys by reference", () => {
    const pod = deployment.spec.template.spec;
    expect(worker.name).toBe('worker');
    expect(worker.image).toBe(image);
    expect(pod.serviceAccountName).toBe('worker');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.imagePullSecrets).toEqual([{ name: 'gitea-credentials' }]);
    expect(worker.envFrom).toEqual([{ configMapRef: { name: 'honeydue-config' } }]);
    const keys = ['POSTGRES_PASSWORD', 'SECRET_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'EMAIL_HOST_PASSWORD', 'B2_KEY_ID', 'B2_APP_KEY'];
    expect(worker.env.map((e: any) => e.name)).toEqual([...keys, 'REDIS_PASSWORD']);
    for (const key of keys) {
      expect(envVar(worker, key)).toEqual({ name: key, valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key } } });
    }
    expect(envVar(worker, 'REDIS_PASSWORD')).toEqual({ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key: 'REDIS_PASSWORD', optional: true } } });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
    expect(worker.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  test('probes, securityContext and PDB', () => {
    expect(hardeningOf(objects)).toMatchSnapshot();
  });
});

test('more replicas are allowed once the scheduler is leader-elected, and the PDB follows', () => {
  const objects = synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, replicas: 2, leaderElectedScheduler: true }));
  expect(find(objects, 'Deployment', 'worker').spec.replicas).toBe(2);
  expect(find(objects, 'PodDisruptionBudget', 'worker-pdb').spec.minAvailable).toBe(1);
});

test('healthProbe turns on a liveness probe on :6060/health with the liveness timing; port, path and timing override', () => {
  const on = container(find(synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, healthProbe: {} })), 'Deployment', 'worker'));
  expect(on.livenessProbe).toEqual({ httpGet: { path: '/health', port: 6060 }, initialDelaySeconds: 30, periodSeconds: 30, timeoutSeconds: 10 });
  const custom = container(find(synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, healthProbe: { port: 7070, path: '/healthz', periodSeconds: 15 } })), 'Deployment', 'worker'));
  expect(custom.livenessProbe).toEqual({ httpGet: { path: '/healthz', port: 7070 }, initialDelaySeconds: 30, periodSeconds: 15, timeoutSeconds: 10 });
});

test('apnsKey names the mounted Secret', () => {
  const pod = find(synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, apnsKey: { secretName: 'push-key' } })), 'Deployment', 'worker').spec.template.spec;
  expect(pod.volumes).toContainEqual({ name: 'apns-key', secret: { secretName: 'push-key', items: [{ key: 'apns_auth_key.p8', path: 'apns_auth_key.p8' }] } });
});

test('without apnsKey (or with false) no APNs volume is mounted, and without replicasAnnotation no annotation is written', () => {
  for (const apnsKey of [undefined, false] as const) {
    const deployment = find(synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, apnsKey, replicasAnnotation: undefined })), 'Deployment', 'worker');
    expect(deployment.spec.template.spec.volumes.map((v: any) => v.name)).toEqual(['tmp']);
    expect(deployment.metadata.annotations).toBeUndefined();
  }
});

test('with the scheduler leader-elected, the singleton annotation is not written', () => {
  const deployment = find(synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, replicas: 2, leaderElectedScheduler: true })), 'Deployment', 'worker');
  expect(deployment.metadata.annotations).toBeUndefined();
});

test('without secretKeys the worker reads no Secret key: it needs no secretName, and its container has no env', () => {
  const deployment = find(synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, secretKeys: undefined, secretName: undefined })), 'Deployment', 'worker');
  expect(container(deployment).env).toBeUndefined();
});

test('a replicas of the wrong type is left to the type checker (or the config schema): the singleton rule does not judge it', () => {
  expect(workerProblems({ ...WORKER_WIRING, image, replicas: '3' as unknown as number }, PRODUCTION.namespace)).toEqual([]);
});

describe('Worker fails', () => {
  const fails = (props: Partial<ConstructorParameters<typeof Worker>[2]>, message: string) =>
    expect(() => synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, ...props }))).toThrow(new Error(message));

  test('fails with 0 replicas or runAsUser 0, naming the prop', () => {
    fails({ replicas: 0 }, 'Worker: replicas: 0 must be a whole number of at least 1');
    fails({ runAsUser: 0 }, 'Worker: runAsUser: 0 must be a whole number of at least 1');
  });

  test('fails with a health probe timing of 0, naming it under healthProbe', () => {
    fails({ healthProbe: { periodSeconds: 0 } }, 'Worker: healthProbe.periodSeconds: 0 must be a whole number of at least 1');
  });

  test('fails with a blank replicasAnnotation key', () => {
    fails({ replicasAnnotation: { key: ' ', reason: 'one scheduler' } }, 'Worker: replicasAnnotation.key: " " is empty; write the value');
  });

  test('fails with a name that is not a Kubernetes name', () => {
    fails({ name: 'Worker_1' }, "Worker: name: 'Worker_1' is not a valid Kubernetes name; use lowercase letters, digits and '-', at most 63 characters");
  });

  test('fails without a namespace, on itself or on its Chart', () => {
    const chart = new Chart(Testing.app(), 'test');
    expect(() => new Worker(chart, 'worker', { ...WORKER_WIRING, image })).toThrow(new Error(
      "Worker: namespace: not set, and the enclosing Chart has none; set 'namespace' on the construct or on its Chart (new Chart(app, id, { namespace }))",
    ));
  });

  test('fails with a health probe on port 0 or a path without a slash', () => {
    expect(() => synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, healthProbe: { port: 0 } }))).toThrow(/Worker: healthProbe.port: 0 is not a port/);
    expect(() => synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, healthProbe: { path: 'health' } }))).toThrow(/Worker: healthProbe.path: 'health' must start with '\/'/);
  });

  test('fails with 2 replicas, explaining the duplicate cron tasks', () => {
    expect(() => synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image, replicas: 2 }))).toThrow(
      /Worker: replicas: must be 1: Asynq's Scheduler is not leader-elected, so 2 replicas fire every cron task 2 times; set leaderElectedScheduler: true/,
    );
  });
  test('fails with an image tagged latest', () => {
    expect(() => synthOf((chart) => new Worker(chart, 'worker', { ...WORKER_WIRING, image: 'x/honeydue-worker:latest' }))).toThrow(/Worker: image: .*latest/);
  });
});
