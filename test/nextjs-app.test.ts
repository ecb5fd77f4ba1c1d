import { HoneydueConfigMap, NextjsApp, nextjsAppProblems, ValueProblem } from '../constructs';
import { collectProblems } from '../constructs/shared/validation';
import { container, envVar, find, hardeningOf, productionChart, synthOf, TAG, APP_WIRING, imageOf } from './helpers';

const image = imageOf('admin');

describe('NextjsApp with a name and an image is production admin', () => {
  let objects: any[], deployment: any, pod: any, admin: any;
  beforeEach(() => {
    objects = synthOf((chart) => new NextjsApp(chart, 'admin', { ...APP_WIRING, name: 'admin', image }));
    deployment = find(objects, 'Deployment', 'admin');
    pod = deployment.spec.template.spec;
    admin = container(deployment);
  });

  test('Deployment admin: 1 replica, RollingUpdate maxUnavailable 0 maxSurge 1, selector by name', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(deployment.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'admin' } });
  });

  test('port 3000 with PORT=3000, HOSTNAME=0.0.0.0, NEXT_PUBLIC_API_URL from the ConfigMap', () => {
    expect(admin.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    expect(envVar(admin, 'PORT')).toEqual({ name: 'PORT', value: '3000' });
    expect(envVar(admin, 'HOSTNAME')).toEqual({ name: 'HOSTNAME', value: '0.0.0.0' });
    expect(envVar(admin, 'NEXT_PUBLIC_API_URL')).toEqual({
      name: 'NEXT_PUBLIC_API_URL', valueFrom: { configMapKeyRef: { name: 'honeydue-config', key: 'NEXT_PUBLIC_API_URL' } },
    });
    expect(admin.envFrom).toEqual([{ configMapRef: { name: 'honeydue-config' } }]);
  });

  test('env is PORT, HOSTNAME and NEXT_PUBLIC_API_URL only: no Secret key unless secretKeys lists one', () => {
    expect(admin.env.map((e: any) => e.name)).toEqual(['PORT', 'HOSTNAME', 'NEXT_PUBLIC_API_URL']);
  });

  test('uid/gid/fsGroup 1001 and the shared hardening', () => {
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1001, runAsGroup: 1001, fsGroup: 1001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(admin.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(find(objects, 'ServiceAccount', 'admin').automountServiceAccountToken).toBe(false);
    expect(pod.imagePullSecrets).toEqual([{ name: 'gitea-credentials' }]);
  });

  test('volumes: nextjs-cache emptyDir of 256Mi at /app/.next/cache and tmp 64Mi at /tmp', () => {
    expect(pod.volumes).toEqual([{ name: 'nextjs-cache', emptyDir: { sizeLimit: '256Mi' } }, { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(admin.volumeMounts).toEqual([{ name: 'nextjs-cache', mountPath: '/app/.next/cache' }, { name: 'tmp', mountPath: '/tmp' }]);
  });

  test('resources: requests 50m / 64Mi, limits 500m / 256Mi', () => {
    expect(admin.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });
  });

  test("startupProbe / :3000 failureThreshold 24 periodSeconds 5 (not /admin/, which 404'd)", () => {
    expect(admin.startupProbe).toEqual({ httpGet: { path: '/', port: 3000 }, failureThreshold: 24, periodSeconds: 5 });
  });

  test('readinessProbe / :3000 initialDelay 5, period 10, timeout 5', () => {
    expect(admin.readinessProbe).toEqual({ httpGet: { path: '/', port: 3000 }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5 });
  });

  test('livenessProbe / :3000 initialDelay 30, period 30, timeout 10', () => {
    expect(admin.livenessProbe).toEqual({ httpGet: { path: '/', port: 3000 }, initialDelaySeconds: 30, periodSeconds: 30, timeoutSeconds: 10 });
  });

  test('Service admin ClusterIP 3000 -> 3000', () => {
    const service = find(objects, 'Service', 'admin');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 3000, targetPort: 3000, protocol: 'TCP' }]);
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'admin' });
  });

  test('PDB admin-pdb minAvailable 0 (singleton)', () => {
    expect(find(objects, 'PodDisruptionBudget', 'admin-pdb').spec.minAvailable).toBe(0);
  });

  test('ServiceAccount, Deployment, Service and PDB, each labelled name admin, part-of honeydue, managed-by honeydue-k8s', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ServiceAccount/admin', 'Deployment/admin', 'Service/admin', 'PodDisruptionBudget/admin-pdb']);
    for (const o of objects) {
      expect(o.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'admin', 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' });
    }
  });

  test('container admin runs the release image under its own ServiceAccount', () => {
    expect(admin.name).toBe('admin');
    expect(admin.image).toBe(image);
    expect(pod.serviceAccountName).toBe('admin');
  });

  test('probes, securityContext and PDB', () => {
    expect(hardeningOf(objects)).toMatchSnapshot();
  });
});

test('the same construct makes web with its own uid', () => {
  const objects = synthOf((chart) => new NextjsApp(chart, 'web', { ...APP_WIRING, name: 'web', image: `x/honeydue-web:${TAG}`, runAsUser: 1002 }));
  expect(find(objects, 'Deployment', 'web').spec.template.spec.securityContext.runAsUser).toBe(1002);
  expect(find(objects, 'Service', 'web').spec.ports[0].port).toBe(3000);
});

test.each([1, 65535])('port %i, an end of the port range, is accepted: the container and the Service use it', (port) => {
  const objects = synthOf((chart) => new NextjsApp(chart, 'admin', { ...APP_WIRING, name: 'admin', image, port }));
  expect(container(find(objects, 'Deployment', 'admin')).ports).toEqual([{ name: 'http', containerPort: port, protocol: 'TCP' }]);
  expect(find(objects, 'Service', 'admin').spec.ports).toEqual([{ name: 'http', port, targetPort: port, protocol: 'TCP' }]);
});

describe('NextjsApp minAvailable', () => {
  test('a minAvailable below the replicas is kept: 1 of 2 pods', () => {
    const objects = synthOf((chart) => new NextjsApp(chart, 'admin', { ...APP_WIRING, name: 'admin', image, replicas: 2, minAvailable: 1 }));
    expect(find(objects, 'PodDisruptionBudget', 'admin-pdb').spec.minAvailable).toBe(1);
  });
  test('replicas of the wrong type (a JavaScript caller) is left to the type checker: the drain bound compares numbers only', () => {
    expect(nextjsAppProblems({ ...APP_WIRING, name: 'admin', image, replicas: '2' as any, minAvailable: 2 }, 'honeydue')).toEqual([]);
  });
});

describe('NextjsApp fails', () => {
  const build = (props: object) => () => synthOf((chart) => new NextjsApp(chart, 'admin', { ...APP_WIRING, name: 'admin', image, ...props }));
  test('cacheSizeLimit overrides the nextjs-cache size; a quantity in MB fails', () => {
    const pod = find(build({ cacheSizeLimit: '1Gi' })(), 'Deployment', 'admin').spec.template.spec;
    expect(pod.volumes[0]).toEqual({ name: 'nextjs-cache', emptyDir: { sizeLimit: '1Gi' } });
    expect(build({ cacheSizeLimit: '512MB' })).toThrow(/NextjsApp: cacheSizeLimit: '512MB' is not a memory quantity/);
  });
  test('fails with an invalid name', () => {
    expect(build({ name: 'Admin Panel' })).toThrow(/NextjsApp: name: 'Admin Panel' is not a valid Kubernetes name/);
  });
  test('fails with a PDB that would block drains on a singleton', () => {
    expect(build({ minAvailable: 1 })).toThrow(/NextjsApp: minAvailable: 1 would block every node drain: replicas is 1; use at most 0/);
  });
  test('fails when the ConfigMap construct lacks the key apiUrlKey names, naming both keys and the fix', () => {
    expect(() => synthOf((chart) => {
      const configMap = new HoneydueConfigMap(chart, 'config', { name: 'honeydue-config', data: { NEXT_PUBLIC_API_URL: 'https://api.example.com/api' } });
      new NextjsApp(chart, 'admin', { ...APP_WIRING, configMap, name: 'admin', image, apiUrlKey: 'ADMIN_API_URL' });
    })).toThrow(
      'NextjsApp: apiUrlKey: admin reads ADMIN_API_URL (as NEXT_PUBLIC_API_URL) from ConfigMap honeydue-config, which does not have it; ' +
        "add ADMIN_API_URL to the ConfigMap's data, or set apiUrlKey to the key that holds the public API URL",
    );
  });
  test('replicas 0 is refused once: minAvailable 0 never blocks a drain, so no PDB problem is added', () => {
    const problems = nextjsAppProblems({ ...APP_WIRING, name: 'admin', image, replicas: 0, minAvailable: 0 }, 'honeydue');
    expect(problems.map((problem) => problem.path)).toEqual(['replicas']);
  });
  test('fails with a fractional minAvailable: a PDB counts whole pods', () => {
    expect(build({ minAvailable: 0.5 })).toThrow('NextjsApp: minAvailable: 0.5 must be a whole number of at least 0');
  });
  test('fails with a port out of range', () => {
    expect(build({ port: 70000 })).toThrow(/NextjsApp: port: 70000 is not a port/);
  });
  test('fails with a uid of 0 (root)', () => {
    expect(build({ runAsUser: 0 })).toThrow(/NextjsApp: runAsUser: 0 must be a whole number of at least 1/);
  });
  test('fails with a healthPath without its leading /', () => {
    expect(build({ healthPath: 'admin/' })).toThrow("NextjsApp: healthPath: 'admin/' must start with '/', like '/admin/'");
  });
  test('fails with an apiUrlKey that is not an environment variable name', () => {
    expect(build({ apiUrlKey: 'api-url' })).toThrow("NextjsApp: apiUrlKey: 'api-url' is not an environment variable name; use letters, digits and '_'");
  });
  test('an apiUrlKey of the wrong type is left to the type checker: no missing-key problem for it', () => {
    const configMap = { name: 'honeydue-config', data: { NEXT_PUBLIC_API_URL: 'https://api.example.com/api' } };
    expect(nextjsAppProblems({ ...APP_WIRING, configMap, name: 'admin', image, apiUrlKey: 42 as any }, 'honeydue')).toEqual([]);
  });
  test('a second NextjsApp named admin in one chart fails as it is built, naming both and the fix', () => {
    const chart = productionChart();
    new NextjsApp(chart, 'admin', { ...APP_WIRING, name: 'admin', image });
    expect(() => new NextjsApp(chart, 'admin-copy', { ...APP_WIRING, name: 'admin', image })).toThrow(
      'NextjsApp at test/admin-copy: ServiceAccount honeydue/admin, Deployment honeydue/admin, Service honeydue/admin, PodDisruptionBudget honeydue/admin-pdb ' +
        "are already built by test/admin: applied, the second would overwrite the first; give one of them another name (a construct's name prop; " +
        "an ApiObject's metadata.name, or its id when it has none), or build it once",
    );
  });
  test('a scope that collects problems gets each of an out-of-range external port from NextjsApp', () => {
    const chart = productionChart();
    const collected: ValueProblem[] = [];
    collectProblems(chart, (_construct, problems) => collected.push(...problems));
    new NextjsApp(chart, 'admin', { ...APP_WIRING, name: 'admin', image, externalPorts: [70000] });
    expect([...new Set(collected.map((p) => p.message))]).toEqual(['NextjsApp: externalPorts[0]: 70000 is not a port; use a whole number from 1 to 65535']);
  });
});
