/**
 * `npm run review` across objects (issue 21): what a change does through
 * objects that refer to each other. Each case builds a pair of dist/ trees
 * (the committed production tree, and the same with one change) and asserts
 * the finding's words, in the report and in the text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { treeOfDir } from '../app/review/load';
import { reviewTrees } from '../app/review/review';
import { Editable, pair, reviewPair, section } from './review-helpers';

const TITLE = 'What it does across objects';
const structured = (p: { from: string; to: string }) => reviewTrees(treeOfDir(p.from), treeOfDir(p.to), 'from', 'to').environments[0];
const container = (t: Editable, deployment: string) => t.get('Deployment', deployment).spec.template.spec.containers[0];

/** The effects of a pair as `Kind name: message`, and the section's text lines. */
function effectsOf(p: { from: string; to: string }): { found: string[]; lines: string[]; out: string } {
  const found = structured(p).effects.map((f) => `${f.object.kind} ${f.object.name}: ${f.message}`);
  const out = reviewPair(p).out;
  return { found, lines: section(out, TITLE), out };
}

describe('a selector that selects nothing, or the pods of another workload', () => {
  test('the api Service selecting a label no pod template carries has no endpoints, and the Ingress routes to it', () => {
    const { found, lines, out } = effectsOf(pair((t) => (t.get('Service', 'api').spec.selector['app.kubernetes.io/name'] = 'api-v2')));
    const message =
      'spec.selector app.kubernetes.io/name=api-v2 selects no pods: the Service has no endpoints, so what Ingress honeydue sends to it (api.myhoneydue.com, myhoneydue.com) gets 503';
    expect(found).toEqual([`Service api: ${message}`]);
    expect(lines).toEqual([`    ! Service honeydue/api (40-api.yaml): ${message}`]);
    expect(out).toMatch(/\nproduction: 0 added, 0 removed, 1 changed, \d+ unchanged; 0 to roll; 1 effect across objects\n {2}What it does across objects:\n/);
  });

  test("the admin Service selecting api's pods sends its traffic to them", () => {
    const { found, lines } = effectsOf(pair((t) => (t.get('Service', 'admin').spec.selector['app.kubernetes.io/name'] = 'api')));
    const message = "spec.selector app.kubernetes.io/name=api selects the pods of Deployment api, not admin's: what Ingress honeydue sends to it (admin.myhoneydue.com) reaches them";
    expect(found).toEqual([`Service admin: ${message}`]);
    expect(lines).toEqual([`    ! Service honeydue/admin (50-admin.yaml): ${message}`]);
  });

  test("the worker's PDB selecting admin's pods too counts them against its budget", () => {
    const p = pair((t) => (t.get('PodDisruptionBudget', 'worker-pdb').spec.selector = { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['worker', 'admin'] }] }));
    const message = "spec.selector app.kubernetes.io/name in (worker, admin) selects the pods of Deployment admin besides worker's: a drain counts them against its budget";
    const { found, lines } = effectsOf(p);
    expect(found).toEqual([`PodDisruptionBudget worker-pdb: ${message}`]);
    expect(lines).toEqual([`    ! PodDisruptionBudget honeydue/worker-pdb (45-worker.yaml): ${message}`]);
  });

  test('a NetworkPolicy selecting no pods applies to nothing; an empty podSelector (the whole namespace) is not a finding', () => {
    const p = pair((t) => {
      t.get('NetworkPolicy', 'api-egress').spec.podSelector.matchLabels['app.kubernetes.io/name'] = 'apii';
      t.get('NetworkPolicy', 'worker-egress').spec.podSelector = {};
    });
    const message = 'spec.podSelector app.kubernetes.io/name=apii selects no pods: its rules apply to no pod';
    const { found, lines } = effectsOf(p);
    // worker-egress on every pod of the namespace is no selector finding, but it opens traffic (flows.ts).
    expect(found).toEqual([
      `NetworkPolicy api-egress: ${message}`,
      'NetworkPolicy worker-egress: redis -> Postgres:5432: denied -> allowed',
      'NetworkPolicy worker-egress: admin -> Postgres:5432: denied -> allowed',
      'NetworkPolicy worker-egress: vmagent -> Postgres:5432: denied -> allowed',
      'NetworkPolicy worker-egress: redis -> SMTP:587: denied -> allowed',
      'NetworkPolicy worker-egress: admin -> SMTP:587: denied -> allowed',
      'NetworkPolicy worker-egress: vmagent -> SMTP:587: denied -> allowed',
      'NetworkPolicy worker-egress: redis -> HTTPS:443: denied -> allowed',
    ]);
    expect(lines[0]).toBe(`    ! NetworkPolicy honeydue/api-egress (20-network-policy.yaml): ${message}`);
    expect(lines).toHaveLength(8);
  });

  test('an HPA whose target is not in the release scales nothing', () => {
    const hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'api', namespace: 'honeydue' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api-v2' }, minReplicas: 3, maxReplicas: 6 },
    };
    const { found, lines } = effectsOf(pair((t) => t.add('40-api.yaml', hpa)));
    const message = 'spec.scaleTargetRef Deployment api-v2 is not in the release: the HPA has nothing to scale';
    expect(found).toEqual([`HorizontalPodAutoscaler api: ${message}`]);
    expect(lines).toEqual([`    ! HorizontalPodAutoscaler honeydue/api (40-api.yaml): ${message}`]);
  });

  test('a Deployment whose selector does not select its own pod template is refused, and what selected its pods selects none', () => {
    const { found } = effectsOf(pair((t) => (t.get('Deployment', 'admin').spec.template.metadata.labels['app.kubernetes.io/name'] = 'admin-next')));
    expect(found).toEqual([
      'NetworkPolicy admin-egress: spec.podSelector app.kubernetes.io/name=admin selects no pods: its rules apply to no pod',
      'NetworkPolicy admin-ingress-traefik: spec.podSelector app.kubernetes.io/name=admin selects no pods: its rules apply to no pod',
      'Deployment admin: spec.selector app.kubernetes.io/name=admin does not select its own pod template: the API server refuses the Deployment (selector does not match template labels)',
      'Service admin: spec.selector app.kubernetes.io/name=admin selects no pods: the Service has no endpoints, so what Ingress honeydue sends to it (admin.myhoneydue.com) gets 503',
      'PodDisruptionBudget admin-pdb: spec.selector app.kubernetes.io/name=admin selects no pods: it guards nothing during a drain',
      // Its pods are no longer admin-egress's: their HTTPS egress is closed (flows.ts).
      'Deployment admin: admin-next -> HTTPS:443: allowed -> denied: B2, APNs and the other HTTPS services are unreachable',
    ]);
  });
});

describe('a PDB that blocks every drain', () => {
  test('api-pdb raised to minAvailable 3 with 3 replicas', () => {
    const { found, lines, out } = effectsOf(pair((t) => (t.get('PodDisruptionBudget', 'api-pdb').spec.minAvailable = 3)));
    const message =
      'minAvailable 3 with 3 replicas of Deployment api: no pod may be evicted, so a node drain (kubectl drain, a k3s upgrade) waits forever; keep minAvailable below the replicas (or maxUnavailable 1)';
    expect(found).toEqual([`PodDisruptionBudget api-pdb: ${message}`]);
    expect(lines).toEqual([`    ! PodDisruptionBudget honeydue/api-pdb (40-api.yaml): ${message}`]);
    expect(section(out, 'Replicas, resources, PDB and HPA')).toEqual(['    ~ PodDisruptionBudget honeydue/api-pdb: minAvailable 2 -> 3']);
  });

  test("the worker's PDB back at minAvailable 1 (the production incident), and at maxUnavailable 0", () => {
    const message =
      'minAvailable 1 with 1 replica of Deployment worker: no pod may be evicted, so a node drain (kubectl drain, a k3s upgrade) waits forever; keep minAvailable below the replicas (or maxUnavailable 1)';
    const incident = effectsOf(pair((t) => (t.get('PodDisruptionBudget', 'worker-pdb').spec.minAvailable = 1)));
    expect(incident.found).toEqual([`PodDisruptionBudget worker-pdb: ${message}`]);
    expect(incident.lines).toEqual([`    ! PodDisruptionBudget honeydue/worker-pdb (45-worker.yaml): ${message}`]);
    const zero = effectsOf(
      pair((t) => {
        const spec = t.get('PodDisruptionBudget', 'worker-pdb').spec;
        delete spec.minAvailable;
        spec.maxUnavailable = 0;
      }),
    );
    expect(zero.found).toEqual([
      'PodDisruptionBudget worker-pdb: maxUnavailable 0: no pod of Deployment worker may be evicted, so a node drain (kubectl drain, a k3s upgrade) waits forever; allow at least 1',
    ]);
  });

  test("an HPA's minReplicas is what the PDB is held against", () => {
    const hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'api', namespace: 'honeydue' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 2, maxReplicas: 6 },
    };
    const { found } = effectsOf(pair((t) => t.add('40-api.yaml', hpa)));
    expect(found).toEqual([
      "PodDisruptionBudget api-pdb: minAvailable 2 with 2 replicas of Deployment api (HorizontalPodAutoscaler api's minReplicas): no pod may be evicted, so a node drain (kubectl drain, a k3s upgrade) waits forever; keep minAvailable below the replicas (or maxUnavailable 1)",
    ]);
  });
});

describe('a config change that rolls nothing', () => {
  test('honeydue-config changed without a pod template: its readers keep the old values', () => {
    const { found, lines } = effectsOf(pair((t) => (t.get('ConfigMap', 'honeydue-config').data.EMAIL_PORT = '465')));
    const message =
      'EMAIL_PORT changed, but Deployment api, Deployment worker, Deployment admin, which read it, do not roll: their pods keep the old values until restarted ' +
      '(kubectl -n honeydue rollout restart deployment/api deployment/worker deployment/admin)';
    expect(found).toEqual([`ConfigMap honeydue-config: ${message}`]);
    expect(lines).toEqual([`    ! ConfigMap honeydue/honeydue-config (10-config.yaml): ${message}`]);
  });

  test('a workload that rolls anyway (its config hash changed) is not named', () => {
    const p = pair((t) => {
      t.get('ConfigMap', 'honeydue-config').data.EMAIL_PORT = '465';
      for (const name of ['api', 'admin']) t.get('Deployment', name).spec.template.metadata.annotations['honeydue.io/config-hash'] = '0000000000000000';
    });
    expect(effectsOf(p).found).toEqual([
      'ConfigMap honeydue-config: EMAIL_PORT changed, but Deployment worker, which reads it, does not roll: its pods keep the old values until restarted (kubectl -n honeydue rollout restart deployment/worker)',
    ]);
  });

  test('a Secret key read by name: only its readers are named', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'honeydue-secrets', namespace: 'honeydue' }, data: { SECRET_KEY: 'YQ==', ADMIN_EMAIL: 'Yg==' } };
    const p = pair(
      (t) => (t.get('Secret', 'honeydue-secrets').data.SECRET_KEY = 'Yw=='),
      (t) => t.add('10-config.yaml', secret),
    );
    const message =
      'SECRET_KEY changed, but Deployment api, Deployment worker, which read it, do not roll: their pods keep the old values until restarted ' +
      '(kubectl -n honeydue rollout restart deployment/api deployment/worker)';
    const { found, lines } = effectsOf(p);
    expect(found).toEqual([`Secret honeydue-secrets: ${message}`]);
    expect(lines).toEqual([`    ! Secret honeydue/honeydue-secrets (10-config.yaml): ${message}`]);
  });
});

describe('a probe on a port the container does not declare', () => {
  test("admin's readiness probe moved to 3001 while the container listens on 3000", () => {
    const { found, lines } = effectsOf(pair((t) => (container(t, 'admin').readinessProbe.httpGet.port = 3001)));
    const message = 'container admin\'s readinessProbe checks port 3001, which the container does not declare (it declares 3000 "http"): its pods never become ready, so they get no traffic and a rollout waits for them forever';
    expect(found).toEqual([`Deployment admin: ${message}`]);
    expect(lines).toEqual([`    ! Deployment honeydue/admin (50-admin.yaml): ${message}`]);
  });

  test("api's liveness probe on a port name the container does not have", () => {
    const { found, lines } = effectsOf(pair((t) => (container(t, 'api').livenessProbe.httpGet.port = 'metrics')));
    const message = 'container api\'s livenessProbe checks port metrics, which the container does not declare (it declares 8000 "http"): the kubelet restarts it every time the probe fails, in a loop (CrashLoopBackOff)';
    expect(found).toEqual([`Deployment api: ${message}`]);
    expect(lines).toEqual([`    ! Deployment honeydue/api (40-api.yaml): ${message}`]);
  });

  test('a probe on a declared port name is not a finding', () => {
    expect(effectsOf(pair((t) => (container(t, 'api').readinessProbe.httpGet.port = 'http'))).found).toEqual([]);
  });
});

describe('what is not named', () => {
  test('an unchanged pair has no effects and no section', () => {
    const { found, out } = effectsOf(pair(() => undefined));
    expect(found).toEqual([]);
    expect(out).not.toContain(TITLE);
  });

  test('a finding the old side already had is not named again', () => {
    const broken = (t: Editable) => (t.get('Service', 'api').spec.selector['app.kubernetes.io/name'] = 'api-v2');
    const { found, out } = effectsOf(pair((t) => (t.get('Deployment', 'api').spec.replicas = 4), broken));
    expect(found).toEqual([]);
    expect(out).toMatch(/\nproduction: 0 added, 0 removed, 1 changed, \d+ unchanged; 0 to roll\n/);
  });
});

// The README (packed for every consumer) names no honeyDue host, so the example lives in docs/review.md only.
test("docs/review.md's example is what the review prints for the api Service's selector", () => {
  const { out } = effectsOf(pair((t) => (t.get('Service', 'api').spec.selector['app.kubernetes.io/name'] = 'api-v2')));
  const printed = [`  ${TITLE}:`, ...section(out, TITLE)].join('\n');
  const summary = out.split('\n').find((line) => line.startsWith('production: '))!;
  const doc = readFileSync(join(__dirname, '..', 'docs', 'review.md'), 'utf8');
  expect(doc).toContain(`\n${summary}\n${printed}\n\`\`\`\n`);
});

describe('traffic a NetworkPolicy change opens or closes', () => {
  test('api-ingress-traefik removed: Traefik can no longer reach api, and the review says the site goes down', () => {
    const { found, lines, out } = effectsOf(pair((t) => t.remove('NetworkPolicy', 'api-ingress-traefik')));
    const message = 'Traefik -> api:8000: allowed -> denied: the site goes down';
    expect(found).toEqual([`NetworkPolicy api-ingress-traefik: ${message}`]);
    expect(lines).toEqual([`    ! NetworkPolicy honeydue/api-ingress-traefik (20-network-policy.yaml): ${message}`]);
    expect(out).toContain('1 effect across objects');
  });

  test("admin-ingress-traefik removed: the admin site goes down; nothing else is named", () => {
    const { found } = effectsOf(pair((t) => t.remove('NetworkPolicy', 'admin-ingress-traefik')));
    expect(found).toEqual(['NetworkPolicy admin-ingress-traefik: Traefik -> admin:3000: allowed -> denied: the site goes down']);
  });
});

test("the README's example across objects is what the review prints for api-pdb at minAvailable 3", () => {
  const { out } = effectsOf(pair((t) => (t.get('PodDisruptionBudget', 'api-pdb').spec.minAvailable = 3)));
  const printed = [`  ${TITLE}:`, ...section(out, TITLE)].join('\n');
  const summary = out.split('\n').find((line) => line.startsWith('production: '))!;
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  expect(readme).toContain(`\n${summary}\n${printed}\n`);
});
