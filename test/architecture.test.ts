import * as fs from 'fs';
import { ARCHITECTURE_DOC_FILE, architectureFlowchart, renderArchitectureDoc } from '../app/architecture';
import { manifestObjectOf } from '../app/shared/manifest-object';
import { renderEnvironment } from '../app/synth';

const production = () => renderEnvironment('production', { log: () => undefined }).flatMap((f) => f.objects.map((o) => manifestObjectOf(o, f.relativePath)));

test('docs/architecture.md is what `npm run graph` draws from the current output', () => {
  const committed = fs.existsSync(ARCHITECTURE_DOC_FILE) ? fs.readFileSync(ARCHITECTURE_DOC_FILE, 'utf8') : '(missing)';
  if (committed !== renderArchitectureDoc()) {
    throw new Error('docs/architecture.md is stale: the synthesized stack changed; run `npm run graph` and commit docs/architecture.md');
  }
});

describe('the flowchart of production', () => {
  let chart: string;
  beforeAll(() => {
    chart = architectureFlowchart(production());
  });

  test('routes each Service to the workload its selector matches', () => {
    expect(chart).toContain('service_api --> deployment_api');
    expect(chart).toContain('service_admin --> deployment_admin');
    expect(chart).toContain('service_redis --> deployment_redis');
    expect(chart).toContain('deployment_api["Deployment api, 3 replicas"]');
  });

  test('shows Redis with its volume, and the ConfigMap that points the apps at it', () => {
    expect(chart).toContain('deployment_redis ==> persistentvolumeclaim_redis_data');
    expect(chart).toContain('persistentvolumeclaim_redis_data[("PVC redis-data 5Gi")]');
    expect(chart).toContain('configmap_honeydue_config -.->|"REDIS_URL"| service_redis');
  });

  test('names every referenced Secret, and only by name', () => {
    expect(chart).toContain('deployment_api -.->|"env"| secret_honeydue_secrets');
    expect(chart).toContain('deployment_api -.->|"volume"| secret_honeydue_apns_key');
    expect(chart).toContain('job_honeydue_migrate -.->|"pull"| secret_gitea_credentials');
    const outOfBand = /^ {2}class (\S+) outOfBand$/m.exec(chart)?.[1].split(',') ?? [];
    expect(outOfBand).toEqual(expect.arrayContaining(['secret_gitea_credentials', 'secret_honeydue_apns_key', 'secret_honeydue_secrets']));
    expect(chart).not.toMatch(/POSTGRES_PASSWORD|SECRET_KEY/);
  });

  test('is the same text on every run', () => {
    expect(architectureFlowchart(production())).toBe(chart);
  });
});

test('draws hosts from any Ingress in the output, and an autoscaler on its target', () => {
  const ingress = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'honeydue', namespace: 'honeydue' },
    spec: {
      rules: [
        { host: 'api.myhoneydue.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: 8000 } } } }] } },
        { host: 'admin.myhoneydue.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'admin', port: { number: 3000 } } } }] } },
      ],
    },
  };
  const hpa = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'api', namespace: 'honeydue' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 3, maxReplicas: 6 },
  };
  const chart = architectureFlowchart([...production(), manifestObjectOf(ingress, '90-ingress.yaml'), manifestObjectOf(hpa, '40-api.yaml')]);
  expect(chart).toContain('host_api_myhoneydue_com>"api.myhoneydue.com"]');
  expect(chart).toContain('host_api_myhoneydue_com -->|"/ :8000"| service_api');
  expect(chart).toContain('host_admin_myhoneydue_com -->|"/ :3000"| service_admin');
  expect(chart).toContain('horizontalpodautoscaler_api -.->|"scales"| deployment_api');
});
