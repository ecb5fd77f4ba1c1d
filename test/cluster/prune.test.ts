/**
 * Prune on the real API server: by the stack and environment labels, in the
 * namespaces the release uses, with an object a finalizer holds, and a listing
 * the server refuses after the release was applied.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(240_000);

let env: TestEnvironment;
beforeAll(async () => {
  env = new TestEnvironment('prune');
  env.prepare();
  const first = await env.deploy(env.release());
  expect(first.code).toBe(0);
});
afterAll(() => {
  env.kubectl.try(['patch', 'configmap', 'held', '-n', env.namespace, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  env.remove();
});

const stackLabels = (environment: string) => ({
  'app.kubernetes.io/part-of': 'honeydue',
  'app.kubernetes.io/managed-by': 'honeydue-k8s',
  'honeydue.io/environment': environment,
});

function create(name: string, labels: Record<string, string>, finalizers?: string[]): void {
  const file = join(env.dir, `${name}.yaml`);
  writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: env.namespace, labels, finalizers }, data: { left: 'the stack' } }));
  env.kubectl(['create', '-f', file]);
}

test('deletes what left the stack without waiting for its finalizer, and leaves other environments alone', async () => {
  create('held', stackLabels(env.name), ['honeydue.test/hold']);
  create('other-env', stackLabels('someone-else'));
  create('unlabelled', { 'app.kubernetes.io/part-of': 'honeydue' });

  const run = await env.deploy(env.release());

  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`- +delete +${env.namespace} +ConfigMap/held`));
  expect(run.calls).toContain(`delete configmap/held -n ${env.namespace} --ignore-not-found --wait=false`);
  expect(run.stderr).toContain(`deleting configmap/held in ${env.namespace}: it waits for its finalizer honeydue.test/hold, which the controller that set it removes`);
  // What the cluster recorded: deletion requested and held by the finalizer; the others untouched.
  const held = env.get<any>('configmap', 'held');
  expect(held.metadata.deletionTimestamp).toBeDefined();
  expect(env.get<any>('configmap', 'other-env').metadata.deletionTimestamp).toBeUndefined();
  expect(env.get<any>('configmap', 'unlabelled').metadata.deletionTimestamp).toBeUndefined();
});

test('a listing refused after the release was applied says that nothing was pruned', async () => {
  create('leftover', stackLabels(env.name));
  // The deploy runs as a ServiceAccount that may do everything but list ConfigMaps once the prune
  // step begins: the preview's listing works, the prune's is refused by the real RBAC authorizer.
  const k = env.kubectl;
  const account = `deployer-${env.name}`;
  k(['create', 'serviceaccount', account, '-n', env.namespace]);
  k(['create', 'clusterrolebinding', account, '--clusterrole=cluster-admin', `--serviceaccount=${env.namespace}:${account}`]);
  const restricted = join(env.dir, 'restricted-role.yaml');
  writeFileSync(
    restricted,
    [
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: account }, rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['get', 'create', 'update', 'patch', 'delete', 'watch'] },
        // RBAC only allows: every kind prune lists, but ConfigMaps.
        { apiGroups: ['*'], verbs: ['list'], resources: ['services', 'serviceaccounts', 'persistentvolumeclaims', 'deployments', 'statefulsets', 'daemonsets', 'poddisruptionbudgets', 'horizontalpodautoscalers', 'ingresses', 'networkpolicies', 'roles', 'rolebindings', 'helmchartconfigs', 'pods', 'leases'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ] },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `${account}-restricted` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: account },
        subjects: [{ kind: 'ServiceAccount', name: account, namespace: env.namespace }] },
    ].map((doc) => stringify(doc)).join('---\n'),
  );
  const token = k(['create', 'token', account, '-n', env.namespace]).trim();
  const config = join(env.dir, 'deployer-kubeconfig');
  writeFileSync(config, k(['config', 'view', '--raw', '--minify']).replace(/(\n\s+user:\n)(?:\s+client-\S+: \S+\n)+/, `$1    token: ${token}\n`));

  const run = await env.deploy([...env.release(), '--kubeconfig', config], {
    // held, still waiting for its finalizer, is not pruned again (the first test deleted it).
    onOutput: (text) => {
      if (/==> step \d+: prune objects that left the stack/.test(text)) {
        k(['apply', '-f', restricted]);
        k(['delete', 'clusterrolebinding', account]);
      }
    },
  });

  k.try(['delete', '-f', restricted]);
  expect(run.stderr).toContain(`prune: configmap/held in ${env.namespace} is already being deleted: it waits for its finalizer honeydue.test/hold`);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(new RegExp(`could not list the stack's objects in ${env.namespace}: .*forbidden.*Nothing was pruned: the release is applied and rolled out, and the objects the preview showed as leaving the stack \\(configmap/leftover in ${env.namespace}\\) are still there`));
  expect(env.get<any>('configmap', 'leftover').metadata.deletionTimestamp).toBeUndefined();
});
