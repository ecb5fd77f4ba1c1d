/**
 * `npm run review`: each case builds a pair of dist/ trees (the committed
 * production tree, and the same with one change) and asserts what the summary
 * says the change does to the cluster.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { treeOfDir } from '../app/review/load';
import { FIELDS_SHOWN } from '../app/review/render';
import { reviewTrees } from '../app/review/review';
import { DIST, Editable, pair, readEnv, review, reviewPair, section, writeTree } from './review-helpers';
import { NODE_TS } from './node-ts';

const api = (tree: { get(kind: string, name: string): any }) => tree.get('Deployment', 'api');
const container = (deployment: any, name: string) => deployment.spec.template.spec.containers.find((c: any) => c.name === name);
const structured = (p: { from: string; to: string }) => reviewTrees(treeOfDir(p.from), treeOfDir(p.to), 'from', 'to').environments[0];

describe('nothing changed', () => {
  test('each environment says so with its object count, and the exit code is 0', () => {
    const root = mkdtempSync(join(tmpdir(), 'review-'));
    const envs = { production: readEnv('production'), staging: readEnv('staging') };
    const count = (env: keyof typeof envs) => [...envs[env].values()].flat().length;
    const run = review(['--from', writeTree(join(root, 'a'), envs), '--to', writeTree(join(root, 'b'), envs)]);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    expect(run.out).toContain(`production: no change (${count('production')} objects)`);
    expect(run.out).toContain(`staging: no change (${count('staging')} objects)`);
  });

  test('two empty trees have nothing to review', () => {
    const root = mkdtempSync(join(tmpdir(), 'review-'));
    mkdirSync(join(root, 'a'));
    mkdirSync(join(root, 'b'));
    const run = review(['--from', join(root, 'a'), '--to', join(root, 'b')]);
    expect(run.out).toContain('no dist/ environments on either side: nothing to review');
    expect(review(['--from', join(root, 'a'), '--to', join(root, 'b'), '--format', 'markdown']).out).toContain('No dist/ environments on either side: nothing to review.');
  });
});

describe('what rolls, how and why', () => {
  test('an image tag rolls the api with its RollingUpdate surge, and says which tag', () => {
    const before = container(api(new Editable(readEnv('production'))), 'api').image as string;
    const run = reviewPair(pair((t) => (container(api(t), 'api').image = before.replace(/:[^:]+$/, ':abcdef1'))));
    const rolls = section(run.out, 'Rolls');
    expect(rolls[0]).toBe('    ~ Deployment honeydue/api: RollingUpdate maxSurge 1, maxUnavailable 0 (new pods start before old ones stop: no downtime)');
    expect(rolls[1]).toBe(`        why: image tag (api: ${before.split(':').pop()} -> abcdef1)`);
    expect(run.out).toMatch(/production: 0 added, 0 removed, 1 changed, \d+ unchanged; 1 to roll\n/);
  });

  test('a new image repository is named whole', () => {
    const run = reviewPair(pair((t) => (container(api(t), 'api').image = 'registry.test/other:1234567')));
    expect(section(run.out, 'Rolls')[1]).toMatch(/^ {8}why: image \(api: \S+\/honeydue-api:[0-9a-f]+ -> registry\.test\/other:1234567\)$/);
  });

  test('a config hash rolls every workload that reads the ConfigMap; the Recreate worker is flagged as downtime', () => {
    const run = reviewPair(
      pair((t) => {
        t.get('ConfigMap', 'honeydue-config').data.EXTRA_SETTING = 'on';
        for (const name of ['api', 'worker']) t.get('Deployment', name).spec.template.metadata.annotations['honeydue.io/config-hash'] = '0000000000000000';
      }),
    );
    const rolls = section(run.out, 'Rolls');
    expect(rolls).toContain('    ~ Deployment honeydue/worker: Recreate: every old pod stops before the new one starts (downtime)');
    expect(rolls.filter((line) => line === '        why: config hash (honeydue-config: EXTRA_SETTING)')).toHaveLength(2);
    expect(section(run.out, 'Changed')).toContain('        + data.EXTRA_SETTING: "on"');
  });

  test('the generic checksum/ annotation key is a config hash too', () => {
    const run = reviewPair(pair((t) => (api(t).spec.template.metadata.annotations = { 'checksum/config': 'b' }), (t) => (api(t).spec.template.metadata.annotations = { 'checksum/config': 'a' })));
    expect(section(run.out, 'Rolls')[1]).toBe('        why: config hash');
  });

  test('resources and probes are named as the reasons, and resources reach the capacity section', () => {
    const run = reviewPair(
      pair((t) => {
        container(api(t), 'api').resources.limits.memory = '1Gi';
        container(api(t), 'api').readinessProbe.periodSeconds = 3;
      }),
    );
    expect(section(run.out, 'Rolls')[1]).toBe('        why: probes (api); resources (api)');
    expect(section(run.out, 'Replicas, resources, PDB and HPA')).toEqual(['    ~ Deployment honeydue/api: api limits.memory 512Mi -> 1Gi']);
  });

  test('environment, volumes, commands, pod labels, other annotations and pod spec fields are reasons in their own words', () => {
    const p = pair((t) => {
      const d = api(t);
      container(d, 'api').env.push({ name: 'NEW_FLAG', value: '1' });
      container(d, 'api').command = ['/bin/api', '--flag'];
      d.spec.template.metadata.labels['app.kubernetes.io/version'] = 'fedcba9';
      d.spec.template.metadata.annotations['example.test/note'] = 'x';
      d.spec.template.spec.terminationGracePeriodSeconds = 99;
      d.spec.template.spec.volumes.push({ name: 'extra', emptyDir: {} });
    });
    expect(structured(p).rolls[0].why).toEqual(expect.arrayContaining([
      'environment (api)', 'command (api)', 'pod labels (app.kubernetes.io/version)', 'pod annotations (example.test/note)', 'pod spec (terminationGracePeriodSeconds)', 'volumes',
    ]));
  });

  test('reasons of one kind are one entry with their details', () => {
    const p = pair((t) => {
      const d = api(t);
      Object.assign(d.spec.template.metadata.annotations, { 'example.test/a': '1', 'example.test/b': '2' });
      d.spec.template.spec.terminationGracePeriodSeconds = 99;
      d.spec.template.spec.priorityClassName = 'high';
    });
    expect(structured(p).rolls[0].why).toEqual(['pod annotations (example.test/a, example.test/b)', 'pod spec (terminationGracePeriodSeconds, priorityClassName)']);
  });

  test('a container added to the pod template is named', () => {
    const p = pair((t) => api(t).spec.template.spec.containers.push({ name: 'sidecar', image: 'registry.test/sidecar:1' }));
    expect(structured(p).rolls[0].why).toContain('container added (sidecar)');
  });

  test('a single-replica RollingUpdate that may stop its pod is downtime', () => {
    const run = reviewPair(
      pair((t) => {
        api(t).spec.replicas = 1;
        api(t).spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } };
        container(api(t), 'api').image += '0';
      }),
    );
    expect(section(run.out, 'Rolls')[0]).toBe('    ~ Deployment honeydue/api: RollingUpdate maxSurge 1, maxUnavailable 1 (its one pod may be down) (downtime)');
  });

  test('a DaemonSet rolls node by node', () => {
    const daemonSet = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'node-agent', namespace: 'honeydue' },
      spec: {
        selector: { matchLabels: { app: 'node-agent' } },
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
        template: { metadata: { labels: { app: 'node-agent' } }, spec: { containers: [{ name: 'agent', image: 'registry.test/agent:1' }] } },
      },
    };
    const p = pair(
      (t) => (t.get('DaemonSet', 'node-agent').spec.template.spec.containers[0].image = 'registry.test/agent:2'),
      (t) => t.add('70-agent.yaml', daemonSet),
    );
    const rolls = section(reviewPair(p).out, 'Rolls');
    expect(rolls[0]).toBe('    ~ DaemonSet honeydue/node-agent: node by node: DaemonSet RollingUpdate maxSurge 0, maxUnavailable 1 (one pod at a time is replaced, stopped first)');
    expect(rolls[1]).toBe('        why: image tag (agent: 1 -> 2)');
  });

  test('a StatefulSet rolls pod by pod', () => {
    const statefulSet = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'honeydue' },
      spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'registry.test/db:1' }] } } },
    };
    const p = pair((t) => (t.get('StatefulSet', 'db').spec.template.spec.containers[0].image = 'registry.test/db:2'), (t) => t.add('70-db.yaml', statefulSet));
    expect(section(reviewPair(p).out, 'Rolls')[0]).toMatch(/^ {4}~ StatefulSet honeydue\/db: pod by pod, highest ordinal first: /);
  });

  test('Traefik: a changed valuesContent is compared key by key, and the helm upgrade rolls its DaemonSet node by node', () => {
    const p = pair((t) => {
      const chart = t.get('HelmChartConfig', 'traefik');
      chart.spec.valuesContent = chart.spec.valuesContent.replace('port: 80\n', 'port: 8080\n');
    });
    const run = reviewPair(p);
    expect(section(run.out, 'Rolls')).toEqual([
      "    ~ HelmChartConfig kube-system/traefik: helm upgrade of the traefik chart by k3s's helm-controller; when its pod template changes, the DaemonSet rolls node by node (maxUnavailable 1, maxSurge 0)",
      '        why: values ports',
    ]);
    expect(section(run.out, 'Changed')).toContain('        spec.valuesContent.ports.web.port: 80 -> 8080');
  });

  test('a new digest of the same repository is a new image, not a new tag', () => {
    const [was, now] = ['registry.test:5000/agent@sha256:' + 'a'.repeat(64), 'registry.test:5000/agent@sha256:' + 'b'.repeat(64)];
    const p = pair((t) => (container(api(t), 'api').image = now), (t) => (container(api(t), 'api').image = was));
    expect(structured(p).rolls[0].why).toEqual([`image (api: ${was} -> ${now})`]);
  });

  test('the migrate Job is recreated by the deploy, not refused', () => {
    const run = reviewPair(pair((t) => t.get('Job', 'honeydue-migrate').spec.template.spec.containers[0].command.push('--verbose')));
    expect(section(run.out, 'Rolls')[0]).toBe(
      "    ~ Job honeydue/honeydue-migrate: recreated and run by npm run deploy (it deletes the Job before applying; a plain kubectl apply would be refused: a Job's template is immutable)",
    );
    expect(section(run.out, 'Refused by kubectl apply (immutable fields)')).toEqual([]);
  });

  test('metadata alone (a label on the Deployment) changes the object but rolls nothing', () => {
    const run = reviewPair(pair((t) => (api(t).metadata.labels['example.test/team'] = 'core')));
    expect(section(run.out, 'Rolls')).toEqual([]);
    expect(section(run.out, 'Changed')).toEqual(['    ~ Deployment honeydue/api (40-api.yaml)', '        + metadata.labels.example.test/team: "core"']);
  });
});

describe('what kubectl apply refuses', () => {
  const refused = (p: { from: string; to: string }) => section(reviewPair(p).out, 'Refused by kubectl apply (immutable fields)');

  test("a Deployment's selector", () => {
    const lines = refused(pair((t) => (api(t).spec.selector.matchLabels.tier = 'backend')));
    expect(lines).toEqual([
      '    ! Deployment honeydue/api (40-api.yaml): spec.selector is immutable (changed: spec.selector.matchLabels.tier): kubectl apply is refused with "field is immutable". ' +
        'Delete it without its pods first (kubectl -n honeydue delete deployment.apps/api --cascade=orphan), deploy, then delete the old ReplicaSet once the new pods are ready; or keep the old selector',
    ]);
  });

  test("a Job's template (a Job other than the migrate Job)", () => {
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'seed', namespace: 'honeydue' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'seed', image: 'registry.test/seed:1' }] } } } };
    const lines = refused(pair((t) => (t.get('Job', 'seed').spec.template.spec.containers[0].image = 'registry.test/seed:2'), (t) => t.add('70-seed.yaml', job)));
    expect(lines).toEqual([
      "    ! Job honeydue/seed (70-seed.yaml): a Job's template is immutable (changed: spec.template.spec.containers[seed].image): kubectl apply is refused with \"field is immutable\". " +
        'Delete the Job (kubectl -n honeydue delete job.batch/seed) before the deploy creates the new one',
    ]);
  });

  test("a PVC's spec other than its size, and a PVC that shrinks", () => {
    const lines = refused(pair((t) => {
      const claim = t.get('PersistentVolumeClaim', 'redis-data');
      claim.spec.accessModes = ['ReadWriteMany'];
      claim.spec.resources.requests.storage = '1Gi';
    }));
    expect(lines).toEqual([
      "    ! PersistentVolumeClaim honeydue/redis-data (15-redis.yaml): a PersistentVolumeClaim's spec, except growing spec.resources.requests.storage, is immutable (changed: spec.accessModes[0]): kubectl apply is refused with \"field is immutable\". A new claim (another name) and a copy of the data is the way to change it; or keep the old values",
      '    ! PersistentVolumeClaim honeydue/redis-data (15-redis.yaml): spec.resources.requests.storage shrinks 5Gi -> 1Gi: a claim can only grow, kubectl apply is refused. Keep 5Gi, or move the data to a new, smaller claim',
    ]);
  });

  test("a Service's clusterIP", () => {
    const lines = refused(pair((t) => (t.get('Service', 'api').spec.clusterIP = '10.43.0.99')));
    expect(lines).toEqual([
      "    ! Service honeydue/api (40-api.yaml): a Service's spec.clusterIP is immutable (changed: spec.clusterIP): kubectl apply is refused with \"field is immutable\". " +
        'Leave clusterIP unset so the cluster keeps the one it allocated, or delete the Service (kubectl -n honeydue delete service/api: clients lose it until the deploy re-creates it)',
    ]);
  });

  test("a binding's roleRef, an immutable ConfigMap's data and a StatefulSet's volumeClaimTemplates", () => {
    const statefulSet = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'honeydue' },
      spec: { serviceName: 'db', selector: { matchLabels: { app: 'db' } }, volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } }], template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'registry.test/db:1' }] } } },
    };
    const frozen = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'frozen', namespace: 'honeydue' }, immutable: true, data: { a: '1' } };
    const lines = refused(
      pair(
        (t) => {
          t.get('RoleBinding', 'vmagent').roleRef.name = 'vmagent-v2';
          t.get('ConfigMap', 'frozen').data.a = '2';
          t.get('StatefulSet', 'db').spec.volumeClaimTemplates[0].spec.resources.requests.storage = '2Gi';
        },
        (t) => {
          t.add('70-db.yaml', statefulSet);
          t.add('70-db.yaml', frozen);
        },
      ),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        "    ! RoleBinding honeydue/vmagent (60-observability.yaml): a binding's roleRef is immutable (changed: roleRef.name): kubectl apply is refused with \"field is immutable\". Delete the binding (kubectl -n honeydue delete rolebinding.rbac.authorization.k8s.io/vmagent) before the deploy, or bind the new role under another name",
        "    ! ConfigMap honeydue/frozen (70-db.yaml): an immutable ConfigMap's data is immutable (changed: data.a): kubectl apply is refused with \"field is immutable\". Give the changed content a new name, or delete it (kubectl -n honeydue delete configmap/frozen) before the deploy",
        "    ! StatefulSet honeydue/db (70-db.yaml): a StatefulSet's spec outside replicas, template, updateStrategy, minReadySeconds and the PVC retention policy is immutable (changed: spec.volumeClaimTemplates[0].spec.resources.requests.storage): kubectl apply is refused with \"field is immutable\". Delete it without its pods (kubectl -n honeydue delete statefulset.apps/db --cascade=orphan) and deploy",
      ]),
    );
    expect(lines).toHaveLength(3);
  });

  test('the summary line counts the refusals', () => {
    expect(reviewPair(pair((t) => (api(t).spec.selector.matchLabels.tier = 'backend'))).out).toMatch(/; 1 refused by kubectl apply\n/);
  });
});

describe('what needs a manual step', () => {
  const manual = (p: { from: string; to: string }) => section(reviewPair(p).out, 'Needs a manual step');
  const grow = (t: { get(kind: string, name: string): any }) => (t.get('PersistentVolumeClaim', 'redis-data').spec.resources.requests.storage = '10Gi');

  test('growing a PVC on local-path, which cannot expand', () => {
    expect(manual(pair(grow))).toEqual([
      '    ! PersistentVolumeClaim honeydue/redis-data (15-redis.yaml): grows 5Gi -> 10Gi on StorageClass local-path, which cannot expand a claim: kubectl apply is refused. ' +
        'Keep 5Gi in the config, or by hand: scale its workload to 0, back up the data, delete the claim, deploy (a new claim of the new size), restore the data',
    ]);
  });

  test('a claim without storageClassName gets the default class, local-path on k3s', () => {
    const lines = manual(pair(grow, (t) => delete t.get('PersistentVolumeClaim', 'redis-data').spec.storageClassName));
    expect(lines[0]).toContain('grows 5Gi -> 10Gi on the default StorageClass (local-path on k3s), which cannot expand a claim');
  });

  test('a class dist/ does not define is flagged for a look', () => {
    const lines = manual(pair(grow, (t) => (t.get('PersistentVolumeClaim', 'redis-data').spec.storageClassName = 'longhorn')));
    expect(lines).toEqual([
      '    ! PersistentVolumeClaim honeydue/redis-data (15-redis.yaml): grows 5Gi -> 10Gi on StorageClass longhorn, which is not in dist/: the apply is refused unless the class allows expansion. ' +
        "Check before the deploy: kubectl get storageclass longhorn -o jsonpath='{.allowVolumeExpansion}' must print true",
    ]);
  });

  test('a class the release defines is read: allowVolumeExpansion true needs nothing, false needs the hand step', () => {
    const storageClass = (allow: boolean) => (t: any) => {
      t.get('PersistentVolumeClaim', 'redis-data').spec.storageClassName = 'fast';
      t.add('05-storage.yaml', { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' }, provisioner: 'example.test/fast', allowVolumeExpansion: allow });
    };
    expect(manual(pair(grow, storageClass(true)))).toEqual([]);
    expect(manual(pair(grow, storageClass(false)))[0]).toContain('grows 5Gi -> 10Gi on StorageClass fast, which cannot expand a claim: kubectl apply is refused');
  });
});

describe('added and removed objects: what the deploy prunes', () => {
  test('a removed Service is pruned; a removed PVC is kept; the counts say so', () => {
    const run = reviewPair(pair((t) => {
      t.remove('Service', 'admin');
      t.remove('PersistentVolumeClaim', 'redis-data');
    }));
    expect(section(run.out, 'Removed')).toEqual([
      '    - PersistentVolumeClaim honeydue/redis-data (15-redis.yaml): kept: the deploy keeps it: it holds data; delete it by hand once the data is not needed (kubectl -n honeydue delete persistentvolumeclaim/redis-data)',
      '    - Service honeydue/admin (50-admin.yaml): pruned: the deploy deletes it (prune)',
    ]);
    expect(run.out).toMatch(/production: 0 added, 2 removed \(1 pruned by the deploy\), 0 changed, \d+ unchanged; 0 to roll; 1 needs a manual step\n/);
    expect(section(run.out, 'Needs a manual step')[0]).toContain('PersistentVolumeClaim honeydue/redis-data (15-redis.yaml): the deploy keeps it: it holds data');
  });

  test('objects prune never finds are deleted by hand: cluster-scoped, unlabelled, a Job, a namespace the release left', () => {
    const extra = [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader', labels: readEnv('production').get('40-api.yaml')![0].metadata.labels } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'handmade', namespace: 'honeydue' } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'seed', namespace: 'honeydue', labels: readEnv('production').get('40-api.yaml')![0].metadata.labels } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'elsewhere', namespace: 'other', labels: readEnv('production').get('40-api.yaml')![0].metadata.labels } },
    ];
    const p = pair((t) => extra.forEach((o) => t.remove(o.kind, o.metadata.name)), (t) => extra.forEach((o) => t.add('70-extra.yaml', o)));
    expect(section(reviewPair(p).out, 'Removed')).toEqual([
      '    - ClusterRole reader (70-extra.yaml): not pruned: cluster-scoped objects are never pruned; delete it by hand once the release is out (kubectl delete clusterrole.rbac.authorization.k8s.io/reader)',
      '    - ConfigMap honeydue/handmade (70-extra.yaml): not pruned: it lacks the labels prune selects by (app.kubernetes.io/part-of=honeydue, app.kubernetes.io/managed-by=honeydue-k8s, honeydue.io/environment=production); delete it by hand once the release is out (kubectl -n honeydue delete configmap/handmade)',
      '    - Job honeydue/seed (70-extra.yaml): not pruned: prune never lists job.batch objects; delete it by hand once the release is out (kubectl -n honeydue delete job.batch/seed)',
      "    - ConfigMap other/elsewhere (70-extra.yaml): not pruned: the release has nothing left in namespace other, and prune lists only the release's namespaces; delete it by hand once the release is out (kubectl -n other delete configmap/elsewhere)",
    ]);
  });

  test('a missing environment label alone keeps prune away', () => {
    const p = pair((t) => t.remove('Service', 'admin'), (t) => delete t.get('Service', 'admin').metadata.labels['honeydue.io/environment']);
    expect(section(reviewPair(p).out, 'Removed')[0]).toContain('not pruned: it lacks the label prune selects by (honeydue.io/environment=production)');
  });

  describe("another product's stack labels, read from its config as the deploy reads them", () => {
    const productLabels = { 'example.com/part-of': 'shop' };
    /** config/production.yaml with the product's labels; `environmentLabel` unset when null. */
    const productConfig = (environmentLabel: string | null): string => {
      const dir = mkdtempSync(join(tmpdir(), 'review-config-'));
      const text = readFileSync(join(__dirname, '..', 'config', 'production.yaml'), 'utf8')
        .replace(/^labels:\n(?: {2}.*\n)+/m, `labels:\n  example.com/part-of: shop\n`)
        .replace(/^environmentLabel: .*\n/m, environmentLabel === null ? '' : `environmentLabel: ${environmentLabel}\n`);
      writeFileSync(join(dir, 'production.yaml'), text);
      return dir;
    };
    const relabel = (t: Editable) => {
      for (const docs of t.files.values()) for (const o of docs) o.metadata.labels = { ...productLabels, 'example.com/environment': 'production' };
    };
    const p = pair((t) => t.remove('Service', 'admin'), relabel);

    test('objects with its labels are pruned; the honeyDue labels are not what its deploy selects by', () => {
      const run = review(['--from', p.from, '--to', p.to], DIST, DIST, productConfig('example.com/environment'));
      expect(run.err).toBe('');
      expect(section(run.out, 'Removed')).toEqual(['    - Service honeydue/admin (50-admin.yaml): pruned: the deploy deletes it (prune)']);
      expect(section(reviewPair(p).out, 'Removed')[0]).toContain(
        'not pruned: it lacks the labels prune selects by (app.kubernetes.io/part-of=honeydue, app.kubernetes.io/managed-by=honeydue-k8s, honeydue.io/environment=production)',
      );
    });

    test('files in the root of a folder are named after the environment its environmentLabel names', () => {
      const config = productConfig('example.com/environment');
      const run = review(['--from', join(p.from, 'production'), '--to', join(p.to, 'production')], DIST, DIST, config);
      expect(run.out).toMatch(/\nproduction: 0 added, 1 removed \(1 pruned by the deploy\)/);
    });

    test('a config without environmentLabel stops the review: nothing says what the deploy prunes', () => {
      const config = productConfig(null);
      const run = review(['--from', p.from, '--to', p.to], DIST, DIST, config);
      expect(run).toEqual({
        code: 2,
        out: '',
        err:
          `review: cannot tell what the deploy of production prunes: ${join(config, 'production.yaml')} sets no environmentLabel: ` +
          "the deploy's lock and prune find production's objects by that label; set it (e.g. environmentLabel: example.com/environment) and synthesize again\n",
      });
    });
  });

  test('added objects are listed with their file; an object that moved file says from where', () => {
    const run = reviewPair(pair((t) => {
      t.add('55-web.yaml', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'honeydue' }, spec: { ports: [{ port: 3000 }] } });
      const pdb = t.get('PodDisruptionBudget', 'admin-pdb');
      t.remove('PodDisruptionBudget', 'admin-pdb');
      t.add('55-web.yaml', pdb);
    }));
    expect(section(run.out, 'Added')).toEqual(['    + Service honeydue/web (55-web.yaml)']);
    expect(section(run.out, 'Changed')).toEqual(['    ~ PodDisruptionBudget honeydue/admin-pdb (55-web.yaml), moved from 50-admin.yaml']);
  });

  test('an environment the base has no dist/ for is all added; one the change removes is deleted by hand', () => {
    const root = mkdtempSync(join(tmpdir(), 'review-'));
    const production = readEnv('production');
    const from = writeTree(join(root, 'from'), { production });
    const to = writeTree(join(root, 'to'), { staging: readEnv('staging') });
    const run = review(['--from', from, '--to', to]);
    const objects = [...readEnv('staging').values()].flat().length;
    expect(run.out).toContain(`staging: new environment (no dist/staging/ on the old side): ${objects} added, 0 removed, 0 changed, 0 unchanged; 0 to roll`);
    expect(run.out).toContain('    - Service honeydue/api (40-api.yaml): not pruned: dist/production/ is gone, so no deploy of production runs to prune it; delete it by hand once the release is out (kubectl -n honeydue delete service/api)');
    expect(run.out).toMatch(/production: dist\/production\/ is removed: 0 added, \d+ removed \(0 pruned by the deploy\), 0 changed, 0 unchanged; 0 to roll\n/);
    expect(section(run.out, 'Needs a manual step')).toEqual([]);
  });
});

describe('Secrets and ConfigMaps the release reads', () => {
  const refs = (p: { from: string; to: string }) => section(reviewPair(p).out, 'Secrets and ConfigMaps read');

  test('a new required Secret key, a new optional one, and a key no longer read', () => {
    const p = pair((t) => {
      const env = container(t.get('Deployment', 'worker'), 'worker').env;
      env.push({ name: 'STRIPE_KEY', valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key: 'STRIPE_KEY' } } });
      env.push({ name: 'SENTRY_DSN', valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key: 'SENTRY_DSN', optional: true } } });
      const admin = container(t.get('Deployment', 'admin'), 'admin');
      admin.envFrom = [...(admin.envFrom ?? []), { secretRef: { name: 'admin-extra' } }];
    });
    expect(refs(p)).toEqual([
      '    + Secret honeydue/honeydue-secrets key STRIPE_KEY: newly read by Deployment/worker (required); the operator creates it in honeydue before the deploy, or the new pods do not start (CreateContainerConfigError)',
      '    + Secret honeydue/honeydue-secrets key SENTRY_DSN: newly read by Deployment/worker (optional); the operator creates it in honeydue before the deploy for pods to see it (they start without it)',
      '    + Secret honeydue/admin-extra (all of it): newly read by Deployment/admin (required); the operator creates it in honeydue before the deploy, or the new pods do not start (CreateContainerConfigError)',
    ]);
  });

  test('a key only one reader drops stays read; one nobody reads any more is listed as dropped', () => {
    const dropKey = (t: any) => {
      for (const name of ['api', 'worker']) {
        const c = container(t.get('Deployment', name), name);
        c.env = c.env.filter((e: any) => e.valueFrom?.secretKeyRef?.key !== 'ADMIN_EMAIL');
      }
    };
    expect(refs(pair(dropKey))).toEqual([
      '    - Secret honeydue/honeydue-secrets key ADMIN_EMAIL: no longer read (was read by Deployment/api, Deployment/worker); once the release is out it can go from the cluster if nothing else reads it',
    ]);
  });

  test('a ConfigMap read through a volume: shipped by the release, or one that must exist already', () => {
    const mount = (name: string) => (t: any) => api(t).spec.template.spec.volumes.push({ name, configMap: { name } });
    const shipped = pair((t) => {
      mount('api-extra')(t);
      t.add('40-api.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'api-extra', namespace: 'honeydue' }, data: {} });
    });
    expect(refs(shipped)).toEqual(['    + ConfigMap honeydue/api-extra (all of it): newly read by Deployment/api (required); the release ships the ConfigMap']);
    expect(refs(pair(mount('outside')))).toEqual([
      '    + ConfigMap honeydue/outside (all of it): newly read by Deployment/api (required); it is not in dist/, so it must exist in honeydue before the deploy, or the new pods do not start (CreateContainerConfigError)',
    ]);
  });

  test('projected volumes, configMapKeyRef, and keys of a Secret volume are read too; the cluster\'s own kube-root-ca.crt is not news', () => {
    const p = pair((t) => {
      const spec = api(t).spec.template.spec;
      spec.volumes.push({ name: 'p', projected: { sources: [{ secret: { name: 'tls', items: [{ key: 'tls.crt', path: 'c' }] } }, { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }] } });
      spec.volumes.push({ name: 's', secret: { secretName: 'keys', items: [{ key: 'a.pem', path: 'a' }] } });
      container(api(t), 'api').env.push({ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'modes', key: 'mode', optional: true } } });
    });
    const found = structured(p).references.map((r) => `${r.kind} ${r.name} ${r.key} ${r.optional}`);
    expect(found).not.toContain('ConfigMap kube-root-ca.crt ca.crt false');
    expect(found.sort()).toEqual(['ConfigMap modes mode true', 'Secret keys a.pem false', 'Secret tls tls.crt false']);
  });
});

describe('replicas, resources, PDB and HPA', () => {
  const capacity = (p: { from: string; to: string }) => section(reviewPair(p).out, 'Replicas, resources, PDB and HPA');

  test('replicas and a PDB budget', () => {
    expect(capacity(pair((t) => {
      api(t).spec.replicas = 4;
      t.get('PodDisruptionBudget', 'api-pdb').spec.minAvailable = 3;
    }))).toEqual(['    ~ Deployment honeydue/api: replicas 3 -> 4', '    ~ PodDisruptionBudget honeydue/api-pdb: minAvailable 2 -> 3']);
  });

  test('replicas dropped from a Deployment warn that the API server sets 1 unless an HPA owns them', () => {
    expect(capacity(pair((t) => delete api(t).spec.replicas))).toEqual([
      '    ~ Deployment honeydue/api: replicas 3 -> unset: unless an HPA already owns spec.replicas, the API server sets it to 1 on apply and the Deployment scales down once',
    ]);
  });

  test('an HPA added, changed and removed', () => {
    const hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'api', namespace: 'honeydue' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 3, maxReplicas: 6 },
    };
    expect(capacity(pair((t) => t.add('40-api.yaml', hpa)))).toEqual(['    ~ HorizontalPodAutoscaler honeydue/api: added (Deployment/api, 3 to 6 replicas)']);
    expect(capacity(pair((t) => (t.get('HorizontalPodAutoscaler', 'api').spec.maxReplicas = 8), (t) => t.add('40-api.yaml', hpa)))).toEqual([
      '    ~ HorizontalPodAutoscaler honeydue/api: maxReplicas 6 -> 8',
    ]);
    expect(capacity(pair((t) => t.remove('HorizontalPodAutoscaler', 'api'), (t) => t.add('40-api.yaml', hpa)))).toEqual([
      "    ~ HorizontalPodAutoscaler honeydue/api: removed (Deployment/api, 3 to 6 replicas): the workload keeps the HPA's last replica count until its own spec.replicas is applied",
    ]);
  });

  test('a PDB added and removed says its budget', () => {
    const pdb = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'x-pdb', namespace: 'honeydue' }, spec: { maxUnavailable: 1 } };
    expect(capacity(pair((t) => t.add('40-api.yaml', pdb)))).toEqual(['    ~ PodDisruptionBudget honeydue/x-pdb: added (maxUnavailable 1)']);
    expect(capacity(pair((t) => t.remove('PodDisruptionBudget', 'admin-pdb')))).toEqual(['    ~ PodDisruptionBudget honeydue/admin-pdb: removed (minAvailable 0)']);
  });
});

describe('changed fields', () => {
  test('a multi-line text (a shell script) changes line by line', () => {
    const p = pair((t) => {
      const command = t.get('Deployment', 'redis').spec.template.spec.containers[0].command;
      command[command.length - 1] = command[command.length - 1].replace('set -eu', 'set -eux');
    });
    const changed = section(reviewPair(p).out, 'Changed');
    expect(changed).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ {8}spec\.template\.spec\.containers\[redis\]\.command\[\d\]: text changed$/),
      '          - set -eu',
      '          + set -eux',
    ]));
  });

  test(`at most ${FIELDS_SHOWN} fields per object are shown, the rest counted`, () => {
    const p = pair((t) => {
      const data = t.get('ConfigMap', 'honeydue-config').data;
      for (let i = 0; i < FIELDS_SHOWN + 5; i += 1) data[`EXTRA_${i}`] = String(i);
    });
    const changed = section(reviewPair(p).out, 'Changed');
    expect(changed.filter((line) => line.startsWith('        + data.EXTRA_'))).toHaveLength(FIELDS_SHOWN);
    expect(changed).toContain('        ... and 5 more fields (git diff -- dist/ shows every line)');
  });
});

describe('Markdown for a pull request', () => {
  test('a heading per environment, a section per concern, hand steps in bold, changed fields folded', () => {
    const run = reviewPair(
      pair((t) => {
        t.get('PersistentVolumeClaim', 'redis-data').spec.resources.requests.storage = '10Gi';
        container(api(t), 'api').image += '0';
      }),
      '--format',
      'markdown',
    );
    expect(run.out.startsWith('## dist/ review\n\n`')).toBe(true);
    expect(run.out).toContain('\n### production\n\n0 added, 0 removed, 2 changed,');
    expect(run.out).toContain('\n#### Needs a manual step\n\n- **PersistentVolumeClaim honeydue/redis-data (15-redis.yaml)**: grows 5Gi -> 10Gi on StorageClass local-path');
    expect(run.out).toContain('\n#### Rolls\n\n- Deployment honeydue/api: RollingUpdate maxSurge 1, maxUnavailable 0 (new pods start before old ones stop: no downtime)\n  - why: image tag (api: ');
    expect(run.out).toContain('\n<details><summary>Changed (2)</summary>\n\n- PersistentVolumeClaim honeydue/redis-data (15-redis.yaml)\n  ```\n  spec.resources.requests.storage: "5Gi" -> "10Gi"\n  ```\n');
    expect(run.out.trimEnd().endsWith('</details>')).toBe(true);
  });
});

describe('the command line', () => {
  test('--env reviews one environment; an unknown one is named with the ones there are', () => {
    const root = mkdtempSync(join(tmpdir(), 'review-'));
    const envs = { production: readEnv('production'), staging: readEnv('staging') };
    const [from, to] = [writeTree(join(root, 'a'), envs), writeTree(join(root, 'b'), envs)];
    const one = review(['--from', from, '--to', to, '--env', 'staging']);
    expect(one.out).toContain('staging: no change');
    expect(one.out).not.toContain('production:');
    const unknown = review(['--from', from, '--to', to, '--env', 'qa']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe('review: no environment qa on either side (they hold: production, staging): name one of them with --env\n');
  });

  test('conflicting sides and a bad format are refused with exit 2', () => {
    const p = pair(() => undefined);
    expect(review(['HEAD', '--from', p.from, '--to', p.to]).err).toBe(`review: both a base revision (HEAD) and --from ${p.from} name the old side: give one\n`);
    expect(review(['--head', 'HEAD', '--from', p.from, '--to', p.to]).err).toBe(`review: both --head HEAD and --to ${p.to} name the new side: give one\n`);
    expect(review(['a', '--base', 'b']).err).toBe('review: two bases given (a and --base b): give one\n');
    const format = review(['--from', p.from, '--to', p.to, '--format', 'html']);
    expect(format.code).toBe(2);
    expect(format.err).toMatch(/option '--format <format>' argument 'html' is invalid. Allowed choices are text, markdown/);
  });

  test('a folder that is not there, and a file that is not YAML, name the path', () => {
    const p = pair(() => undefined);
    const missing = review(['--from', join(p.from, 'nope'), '--to', p.to]);
    expect(missing).toEqual({ code: 2, out: '', err: `review: ${join(p.from, 'nope')} is not a folder: give a dist/-like folder (one sub-folder per environment)\n` });
    writeFileSync(join(p.to, 'production', '99-bad.yaml'), 'kind: [unclosed\n');
    const bad = reviewPair(p);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(new RegExp(`^review: ${join(p.to, 'production', '99-bad.yaml').replace(/[.]/g, '\\.')} document 1 is not valid YAML: [^\\n]*; fix the file or synthesize again \\(npm run synth\\)\\n$`));
    writeFileSync(join(p.to, 'production', '99-bad.yaml'), 'just: a mapping\n');
    expect(reviewPair(p).err).toBe(`review: ${join(p.to, 'production', '99-bad.yaml')} document 1 is not a Kubernetes object (needs apiVersion, kind and metadata.name); fix the file or synthesize again (npm run synth)\n`);
    // What the deploy would refuse to apply, the review refuses to read, in the deploy's words.
    writeFileSync(join(p.to, 'production', '99-bad.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: loose\n');
    expect(reviewPair(p).err).toBe(
      `review: ${join(p.to, 'production', '99-bad.yaml')} document 1: ConfigMap loose has no metadata.namespace; ` +
        "set it in the construct so the object cannot land in the kubeconfig context's default namespace; fix the file or synthesize again (npm run synth)\n",
    );
  });

  test('a folder of YAML files without environment folders is one environment, named by its objects\' label', () => {
    const root = mkdtempSync(join(tmpdir(), 'review-'));
    for (const side of ['a', 'b']) {
      mkdirSync(join(root, side));
      writeFileSync(join(root, side, '40-api.yaml'), readFileSync(join(DIST, 'production', '40-api.yaml')));
    }
    expect(review(['--from', join(root, 'a'), '--to', join(root, 'b')]).out).toMatch(/\nproduction: no change \(\d+ objects\)\n/);
  });
});

describe('the docs', () => {
  const reviewDoc = readFileSync(join(__dirname, '..', 'docs', 'review.md'), 'utf8');
  const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
  const readmeExample = readme.slice(readme.indexOf('## Review a change'), readme.indexOf('## Deploy'));

  test('docs/review.md documents npm run review, its options and formats', () => {
    for (const usage of ['npm run review ', 'npm run review -- --format markdown', '--from old/ --to new/', '--head HEAD', '--env production']) {
      expect(reviewDoc).toContain(usage);
    }
    for (const title of ['What it does across objects', 'Refused by kubectl apply (immutable fields)', 'Needs a manual step', 'Rolls', 'Secrets and ConfigMaps read', 'Replicas, resources, PDB and HPA']) {
      expect(reviewDoc).toContain(`| ${title} |`);
    }
  });

  test('the README example is what the review prints for a release, a config change and a grown Redis claim', () => {
    const images = (tag: string) => (t: Editable) => {
      for (const [kind, name] of [['Deployment', 'api'], ['Deployment', 'worker'], ['Deployment', 'admin'], ['Job', 'honeydue-migrate']]) {
        const template = t.get(kind, name).spec.template;
        for (const c of template.spec.containers) c.image = c.image.replace(/:[0-9a-f]+$/, `:${tag}`);
        template.metadata.labels['app.kubernetes.io/version'] = tag;
      }
    };
    const p = pair((t) => {
      images('4f1e2d3')(t);
      t.get('PersistentVolumeClaim', 'redis-data').spec.resources.requests.storage = '10Gi';
      t.get('ConfigMap', 'honeydue-config').data.EMAIL_PORT = '465';
      for (const name of ['api', 'worker', 'admin']) t.get('Deployment', name).spec.template.metadata.annotations['honeydue.io/config-hash'] = '9b1c44e0d2a7f315';
    }, images('237c6b8'));
    const out = reviewPair(p).out;
    const shown = [...section(out, 'Needs a manual step'), ...section(out, 'Rolls')];
    expect(shown).toHaveLength(9);
    const example = readmeExample.slice(readmeExample.indexOf('  Needs a manual step:'), readmeExample.indexOf('  Changed:'));
    expect(example).toBe(['  Needs a manual step:', ...section(out, 'Needs a manual step'), '  Rolls:', ...section(out, 'Rolls'), ''].join('\n'));
    expect(out).toMatch(/\nproduction: 0 added, 0 removed, 6 changed, \d+ unchanged; 4 to roll; 1 needs a manual step\n/);
  });
});

test('the npm script runs bin/review.ts as a process and sets the exit code', () => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const root = join(__dirname, '..');
  expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.review).toBe('bin/node-ts bin/review.ts');
  const p = pair((t) => (api(t).spec.replicas = 4));
  const ok = spawnSync(NODE_TS, ['bin/review.ts', '--from', p.from, '--to', p.to], { cwd: root, encoding: 'utf8' });
  expect(ok.status).toBe(0);
  expect(ok.stdout).toContain('    ~ Deployment honeydue/api: replicas 3 -> 4\n');
  const bad = spawnSync(NODE_TS, ['bin/review.ts', '--from', join(p.from, 'nope'), '--to', p.to], { cwd: root, encoding: 'utf8' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('is not a folder: give a dist/-like folder');
});
