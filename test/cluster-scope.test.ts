/** The deploy and the manifest check agree on which objects need a namespace: one list, keyed by API group. */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { isClusterScopedBuiltin } from '../manifest-check/manifests';
import { loadManifests } from '../app/deploy/manifests';
import { recordedClusterScopedKinds } from './helpers';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cluster-scope-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = (yaml: string) => {
  writeFileSync(join(dir, '00-namespace.yaml'), yaml);
  return () => loadManifests(dir);
};

test('a cluster-scoped built-in the check knows (RuntimeClass) loads without a namespace', () => {
  expect(isClusterScopedBuiltin('node.k8s.io', 'RuntimeClass')).toBe(true);
  const manifests = load('apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: gvisor\nhandler: runsc\n')();
  expect(manifests.objects.map((o) => [o.kind, o.namespace])).toEqual([['RuntimeClass', undefined]]);
});

test('a custom kind named like a built-in (example.com Namespace) needs a namespace: the group decides, not the kind', () => {
  expect(isClusterScopedBuiltin('example.com', 'Namespace')).toBe(false);
  expect(load('apiVersion: example.com/v1\nkind: Namespace\nmetadata:\n  name: team\n')).toThrow(/Namespace team has no metadata\.namespace/);
});

test('the core Namespace stays cluster-scoped', () => {
  expect(load('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: acme\n')().objects.map((o) => o.kind)).toEqual(['Namespace']);
});

test("every cluster-scoped kind of a 1.34 API server's built-in groups is one, and a namespaced kind of each such group is not", () => {
  const recorded = recordedClusterScopedKinds();
  expect(recorded.length).toBeGreaterThan(30);
  expect(recorded.filter((entry) => !isClusterScopedBuiltin(entry.slice(0, entry.indexOf('/')), entry.slice(entry.indexOf('/') + 1)))).toEqual([]);
  expect([['', 'Pod'], ['rbac.authorization.k8s.io', 'Role'], ['storage.k8s.io', 'CSIStorageCapacity'], ['resource.k8s.io', 'ResourceClaim']]
    .filter(([group, kind]) => isClusterScopedBuiltin(group, kind))).toEqual([]);
});
