import { Testing } from 'cdk8s';
import { HoneydueApi, HoneydueConfigMap, CONFIG_HASH_ANNOTATION } from '../constructs';
import { container, envVar, find, hardeningOf, synthOf, TAG, APP_WIRING, BACKEND_WIRING, PRODUCTION, imageOf, problemsThrownBy } from './helpers';

const image = imageOf('api');
const production = () => synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image }));

describe('HoneydueApi with only an image is production', () => {
  let objects: any[], deployment: any, pod: any, api: any;
  beforeEach(() => {
    objects = production();
    deployment = find(objects, 'Deployment', 'api');
    pod = deployment.spec.template.spec;
    api = container(deployment);
  });

  test('Deployment api in honeydue: 3 replicas, RollingUpdate maxUnavailable 0 maxSurge 1', () => {
    expect(deployment.metadata.namespace).toBe('honeydue');
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  });

  test('selects by app.kubernetes.io/name only; version only on the pod template', () => {
    expect(deployment.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'api' } });
    expect(deployment.spec.template.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'api',
      'app.kubernetes.io/part-of': 'honeydue',
      'app.kubernetes.io/managed-by': 'honeydue-k8s',
      'app.kubernetes.io/version': TAG,
    });
    expect(deployment.metadata.labels['app.kubernetes.io/version']).toBeUndefined();
  });

  test('spreads one per node, preferred so a 2-node cluster still schedules, counting only its own ReplicaSet', () => {
    expect(pod.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'api' } },
        matchLabelKeys: ['pod-template-hash'],
      },
    ]);
  });

  test('a terminating pod serves 10 s more (preStop sleep) so Traefik drops it first; the grace period covers it plus 30 s', () => {
    expect(api.lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '10'] } } });
    expect(pod.terminationGracePeriodSeconds).toBe(40);
  });

  test('port 8000 and Service api ClusterIP 8000 -> 8000 TCP', () => {
    expect(api.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    const service = find(objects, 'Service', 'api');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'api' });
    expect(service.spec.ports).toEqual([{ name: 'http', port: 8000, targetPort: 8000, protocol: 'TCP' }]);
  });

  test('resources: requests 100m / 128Mi, limits 1000m / 512Mi', () => {
    expect(api.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1000m', memory: '512Mi' } });
  });

  test('startupProbe /api/health/ :8000 failureThreshold 48 periodSeconds 5 (240 s)', () => {
    expect(api.startupProbe).toEqual({ httpGet: { path: '/api/health/', port: 8000 }, failureThreshold: 48, periodSeconds: 5 });
  });

  test('readinessProbe initialDelay 5, period 10, timeout 5', () => {
    expect(api.readinessProbe).toEqual({ httpGet: { path: '/api/health/', port: 8000 }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5 });
  });

  test('livenessProbe initialDelay 30, period 30, timeout 10', () => {
    expect(api.livenessProbe).toEqual({ httpGet: { path: '/api/health/', port: 8000 }, initialDelaySeconds: 30, periodSeconds: 30, timeoutSeconds: 10 });
  });

  test('apns-key Secret volume, item apns_auth_key.p8, read-only at /secrets/apns', () => {
    expect(pod.volumes).toContainEqual({ name: 'apns-key', secret: { secretName: 'honeydue-apns-key', items: [{ key: 'apns_auth_key.p8', path: 'apns_auth_key.p8' }] } });
    expect(api.volumeMounts).toContainEqual({ name: 'apns-key', mountPath: '/secrets/apns', readOnly: true });
  });

  test('shared app wiring: own ServiceAccount, pull secret, ConfigMap, secrets by reference', () => {
    expect(find(objects, 'ServiceAccount', 'api').automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('api');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.imagePullSecrets).toEqual([{ name: 'gitea-credentials' }]);
    expect(api.envFrom).toEqual([{ configMapRef: { name: 'honeydue-config' } }]);
    for (const key of ['POSTGRES_PASSWORD', 'SECRET_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'EMAIL_HOST_PASSWORD', 'B2_KEY_ID', 'B2_APP_KEY']) {
      expect(envVar(api, key)).toEqual({ name: key, valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key } } });
    }
    // Redis runs without auth until the operator sets the key.
    expect(envVar(api, 'REDIS_PASSWORD')).toEqual({ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key: 'REDIS_PASSWORD', optional: true } } });
  });

  test('pod and container hardening: uid/gid/fsGroup 1000, RuntimeDefault, read-only root, drop ALL, 64Mi /tmp', () => {
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(api.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
    expect(api.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  test('PDB api-pdb keeps 2 of 3', () => {
    const pdb = find(objects, 'PodDisruptionBudget', 'api-pdb');
    expect(pdb.spec).toEqual({ minAvailable: 2, selector: { matchLabels: { 'app.kubernetes.io/name': 'api' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  test('no HPA by default (off, as in production)', () => {
    expect(objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toHaveLength(0);
  });

  test('ServiceAccount, Deployment, Service and PDB, each labelled name api, part-of honeydue, managed-by honeydue-k8s', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ServiceAccount/api', 'Deployment/api', 'Service/api', 'PodDisruptionBudget/api-pdb']);
    for (const o of objects) {
      expect(o.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'api', 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' });
    }
  });

  test('container api runs the release image; the pod template carries the scrape annotations and nothing else', () => {
    expect(api.name).toBe('api');
    expect(api.image).toBe(image);
    expect(deployment.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8000', 'prometheus.io/path': '/metrics' });
  });

  test('probes, securityContext and PDB', () => {
    expect(hardeningOf(objects)).toMatchSnapshot();
  });
});

describe('HoneydueApi options', () => {
  test('with the HPA on: 3..6, CPU 70 %, memory 80 %, and spec.replicas not pinned', () => {
    const objects = synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, autoscaling: {} }));
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'api');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' });
    expect(hpa.spec.minReplicas).toBe(3);
    expect(hpa.spec.maxReplicas).toBe(6);
    expect(hpa.spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
    ]);
    expect(find(objects, 'Deployment', 'api').spec.replicas).toBeUndefined();
    expect(find(objects, 'PodDisruptionBudget', 'api-pdb').spec.minAvailable).toBe(2);
  });

  test('the HPA is labelled like the other objects of api, in its namespace', () => {
    const hpa = find(synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, autoscaling: {} })), 'HorizontalPodAutoscaler', 'api');
    expect(hpa.metadata.namespace).toBe('honeydue');
    expect(hpa.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'api', 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' });
  });

  test('the PDB counts the HPA minimum, not the unpinned replicas', () => {
    const objects = synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, autoscaling: { minReplicas: 2, maxReplicas: 4 } }));
    expect(find(objects, 'PodDisruptionBudget', 'api-pdb').spec.minAvailable).toBe(1);
  });

  test('stamps the ConfigMap content hash on the pod template', () => {
    const objects = synthOf((chart) => {
      const config = new HoneydueConfigMap(chart, 'config', { name: PRODUCTION.configMapName, data: { DB_HOST: 'db' } });
      new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, configMap: config });
    });
    const hash = find(objects, 'Deployment', 'api').spec.template.metadata.annotations[CONFIG_HASH_ANNOTATION];
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
  });

  test('probe timing and resources override field by field', () => {
    const objects = synthOf((chart) => new HoneydueApi(chart, 'api', {
      ...BACKEND_WIRING, image, probes: { startup: { failureThreshold: 60 } }, resources: { limits: { memory: '1Gi' } },
    }));
    const api = container(find(objects, 'Deployment', 'api'));
    expect(api.startupProbe).toEqual({ httpGet: { path: '/api/health/', port: 8000 }, failureThreshold: 60, periodSeconds: 5 });
    expect(api.resources.limits).toEqual({ cpu: '1000m', memory: '1Gi' });
  });

  test('minAvailable 0 is accepted: a PDB that never holds a drain', () => {
    const objects = synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, minAvailable: 0 }));
    expect(find(objects, 'PodDisruptionBudget', 'api-pdb').spec.minAvailable).toBe(0);
  });

  test('a probe delay of 0 is accepted (a period, timeout or threshold of 0 is not)', () => {
    const objects = synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, probes: { readiness: { initialDelaySeconds: 0 } } }));
    expect(container(find(objects, 'Deployment', 'api')).readinessProbe.initialDelaySeconds).toBe(0);
    expect(() => synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, probes: { readiness: { periodSeconds: 0 } } }))).toThrow(
      /HoneydueApi: probes\.readiness\.periodSeconds: 0 must be a whole number of at least 1/,
    );
  });

  test('without secretKeys the api reads no Secret key', () => {
    const objects = synthOf((chart) => new HoneydueApi(chart, 'api', { ...APP_WIRING, image }));
    expect((container(find(objects, 'Deployment', 'api')).env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef)).toEqual([]);
  });

  test('optional secret keys are wired with optional: true', () => {
    const objects = synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, secretKeys: ['SECRET_KEY', { key: 'REDIS_PASSWORD', optional: true }] }));
    const api = container(find(objects, 'Deployment', 'api'));
    expect(envVar(api, 'REDIS_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'honeydue-secrets', key: 'REDIS_PASSWORD', optional: true });
    expect(envVar(api, 'POSTGRES_PASSWORD')).toBeUndefined();
  });
});

describe('HoneydueApi fails', () => {
  const build = (props: object) => () => synthOf((chart) => new HoneydueApi(chart, 'api', { ...BACKEND_WIRING, image, ...props }));
  test('preStopDelaySeconds and terminationGracePeriodSeconds override; any delay of 1 s or more keeps the hook, 0 drops it', () => {
    const objects = build({ preStopDelaySeconds: 5, terminationGracePeriodSeconds: 20 })();
    const deployment = find(objects, 'Deployment', 'api');
    expect(container(deployment).lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '5'] } } });
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(20);
    const oneSecond = find(build({ preStopDelaySeconds: 1 })(), 'Deployment', 'api');
    expect(container(oneSecond).lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '1'] } } });
    expect(oneSecond.spec.template.spec.terminationGracePeriodSeconds).toBe(31);
    const without = find(build({ preStopDelaySeconds: 0 })(), 'Deployment', 'api');
    expect(container(without).lifecycle).toBeUndefined();
    expect(without.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
  });
  test('fails when the grace period does not exceed the preStop delay', () => {
    expect(build({ preStopDelaySeconds: 10, terminationGracePeriodSeconds: 10 })).toThrow(
      /HoneydueApi: terminationGracePeriodSeconds: 10 must exceed preStopDelaySeconds \(10\): .*kill the pod before it got SIGTERM; use at least 40/,
    );
  });
  test('fails with a negative preStop delay', () => {
    expect(build({ preStopDelaySeconds: -1 })).toThrow(/HoneydueApi: preStopDelaySeconds: -1 must be a whole number of at least 0/);
  });
  test('fails with an image tagged latest', () => {
    expect(build({ image: 'gitea.treytartt.com/admin/honeydue-api:latest' })).toThrow(/HoneydueApi: image: .*'latest'/);
  });
  test('fails with an untagged image', () => {
    expect(build({ image: 'gitea.treytartt.com/admin/honeydue-api' })).toThrow(/image: 'gitea.treytartt.com\/admin\/honeydue-api' has no tag/);
  });
  test('fails when a PDB would block drains', () => {
    expect(build({ minAvailable: 3 })).toThrow(/HoneydueApi: minAvailable: 3 would block every node drain: replicas is 3; use at most 2/);
  });
  test('fails with a memory quantity in MB', () => {
    expect(build({ resources: { limits: { memory: '512MB' } } })).toThrow(/resources.limits.memory: '512MB' is not a memory quantity/);
  });
  test('accepts whole cores of several digits and fractions of several decimals', () => {
    expect(build({ resources: { requests: { cpu: '0.25' }, limits: { cpu: '16' } } })).not.toThrow();
  });
  test('fails with a bad CPU quantity', () => {
    expect(build({ resources: { requests: { cpu: '100 millicores' } } })).toThrow(/resources.requests.cpu: '100 millicores'/);
  });
  test('a number for a quantity (cpu: 1 in a config file) is judged as its text: 2 cores pass, a negative one fails', () => {
    expect(build({ resources: { limits: { cpu: 2 as any } } })).not.toThrow();
    expect(build({ resources: { requests: { cpu: -1 as any } } })).toThrow(/HoneydueApi: resources\.requests\.cpu: '-1' is not a CPU quantity/);
    expect(build({ resources: { limits: { memory: -5 as any } } })).toThrow(/HoneydueApi: resources\.limits\.memory: '-5' is not a memory quantity/);
  });
  test('fails with port 0', () => {
    expect(build({ port: 0 })).toThrow(/HoneydueApi: port: 0 is not a port/);
  });
  test('fails with zero replicas', () => {
    expect(build({ replicas: 0 })).toThrow(/HoneydueApi: replicas: 0 must be a whole number of at least 1/);
  });
  test('fails when the HPA maximum is below its minimum', () => {
    expect(build({ autoscaling: { minReplicas: 4, maxReplicas: 3 } })).toThrow(/HoneydueApi: autoscaling\.maxReplicas: 3 is below autoscaling\.minReplicas \(4\); the HPA needs maxReplicas >= minReplicas, raise it to at least 4/);
  });
  test('fails with a utilization above 100 %', () => {
    expect(build({ autoscaling: { cpuUtilization: 170 } })).toThrow(/autoscaling.cpuUtilization: 170 must be a whole percent/);
  });
  test('fails with a negative probe threshold', () => {
    expect(build({ probes: { liveness: { failureThreshold: -1 } } })).toThrow(/probes.liveness.failureThreshold: -1/);
  });
  test('fails with a secret key listed twice', () => {
    expect(build({ secretKeys: ['SECRET_KEY', 'SECRET_KEY'] })).toThrow(/HoneydueApi: secretKeys\[1\]: 'SECRET_KEY' is listed twice; list each key once/);
  });
  test('fails with a health path without a leading slash', () => {
    expect(build({ healthPath: 'api/health/' })).toThrow(/healthPath: 'api\/health\/' must start with '\/'/);
  });
  test.each([
    ['metricsPort', { metricsPort: 70000 }, /HoneydueApi: metricsPort: 70000 is not a port/],
    ['runAsUser', { runAsUser: 0 }, /HoneydueApi: runAsUser: 0 must be a whole number of at least 1/],
    ['autoscaling.minReplicas', { autoscaling: { minReplicas: 0 } }, /HoneydueApi: autoscaling\.minReplicas: 0 must be a whole number of at least 1/],
    ['autoscaling.maxReplicas', { autoscaling: { maxReplicas: 0 } }, /HoneydueApi: autoscaling\.maxReplicas: 0 must be a whole number of at least 1/],
    ['autoscaling.memoryUtilization', { autoscaling: { memoryUtilization: 0 } }, /HoneydueApi: autoscaling\.memoryUtilization: 0 must be a whole percent from 1 to 100/],
    ['terminationGracePeriodSeconds', { terminationGracePeriodSeconds: 0 }, /HoneydueApi: terminationGracePeriodSeconds: 0 must be a whole number of at least 1/],
  ])('fails naming %s', (_prop, props, message) => {
    expect(build(props)).toThrow(message);
  });
  test('a utilization is a whole percent from 1 to 100: 1 and 100 are accepted, 0, 101 and 50.5 are not', () => {
    expect(build({ autoscaling: { cpuUtilization: 1, memoryUtilization: 100 } })).not.toThrow();
    for (const cpuUtilization of [0, 101, 50.5]) {
      expect(build({ autoscaling: { cpuUtilization } })).toThrow(new RegExp(`autoscaling\\.cpuUtilization: ${cpuUtilization} must be a whole percent from 1 to 100`));
    }
  });
  test('an HPA may pin its size (minReplicas equal to maxReplicas)', () => {
    expect(build({ autoscaling: { minReplicas: 4, maxReplicas: 4 } })).not.toThrow();
  });
  test('fails when minReplicas exceeds the default maximum, saying the maximum is the default', () => {
    expect(build({ autoscaling: { minReplicas: 7 } })).toThrow(
      /HoneydueApi: autoscaling\.maxReplicas: 6 \(its default\) is below autoscaling\.minReplicas \(7\); .* raise it to at least 7/,
    );
  });
  test('a grace period within the default preStop delay (10 s) fails too, and the problem points at both props', () => {
    expect(problemsThrownBy(build({ terminationGracePeriodSeconds: 10 }))).toEqual([
      expect.objectContaining({ path: 'terminationGracePeriodSeconds', value: 10, related: ['preStopDelaySeconds'] }),
    ]);
  });
  test('an external port out of range is listed with the other problems, in one error', () => {
    expect(problemsThrownBy(build({ replicas: 0, externalPorts: [5432, 0] })).map((p) => p.message)).toEqual([
      'HoneydueApi: replicas: 0 must be a whole number of at least 1',
      'HoneydueApi: externalPorts[1]: 0 is not a port; use a whole number from 1 to 65535',
    ]);
  });
  test('a number of the wrong type is left to the type checker and the config schema: the bounds compare numbers only', () => {
    expect(build({ autoscaling: { minReplicas: '10' } })).not.toThrow();
    expect(build({ autoscaling: { maxReplicas: '1' } })).not.toThrow();
    expect(build({ terminationGracePeriodSeconds: '5' })).not.toThrow();
    expect(build({ preStopDelaySeconds: '50', terminationGracePeriodSeconds: 40 })).not.toThrow();
  });
  test('fails when maxReplicas is below the default minimum, saying the minimum is the default', () => {
    expect(build({ autoscaling: { maxReplicas: 2 } })).toThrow(/HoneydueApi: autoscaling\.maxReplicas: 2 is below autoscaling\.minReplicas \(3, its default\)/);
  });
  test('fails with a name that is no DNS label', () => {
    expect(build({ name: 'Honey_API' })).toThrow(/HoneydueApi: name: 'Honey_API'/);
  });
  test('needs no Secret when it reads no secret key', () => {
    expect(() => synthOf((chart) => new HoneydueApi(chart, 'api', { configMap: APP_WIRING.configMap, image }))).not.toThrow();
  });
  test('fails outside a namespaced Chart without a namespace, naming HoneydueApi', () => {
    expect(() => new HoneydueApi(Testing.chart(), 'api', { ...APP_WIRING, image })).toThrow(/HoneydueApi: namespace: not set, and the enclosing Chart has none/);
  });
  test('fails with an invalid namespace', () => {
    expect(build({ namespace: 'Honey_Due' })).toThrow(/HoneydueApi: namespace: 'Honey_Due' is not a valid Kubernetes name/);
  });
});
