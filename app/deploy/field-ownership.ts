import { listItemId } from '../shared/object-paths';

/**
 * Who owns which field of a live object, from its `metadata.managedFields`
 * (read with `kubectl get --show-managed-fields`: kubectl hides them otherwise),
 * and what a server-side apply that takes over a client-side-applied object
 * removes.
 *
 * Why this is computed and not read from the dry run: kubectl's server-side
 * apply moves the fields of the client-side managers into its own field manager
 * after the first patch and then applies again, and only that second apply
 * removes the fields the release stopped setting. With `--dry-run=server`
 * neither the move nor the second apply is kept, so the dry run answers for the
 * object as it was (k8s.io/kubectl pkg/cmd/apply, migrateToSSAIfNecessary).
 */

type FieldSet = { readonly [key: string]: FieldSet };

export interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly operation?: string;
  readonly subresource?: string;
  readonly fieldsV1?: FieldSet;
}

const LAST_APPLIED_PATH = ['f:metadata', 'f:annotations', 'f:kubectl.kubernetes.io/last-applied-configuration'];

export function managedFieldsOf(object: object): ManagedFieldsEntry[] {
  const entries = (object as { metadata?: { managedFields?: unknown } }).metadata?.managedFields;
  return Array.isArray(entries) ? (entries as ManagedFieldsEntry[]) : [];
}

/**
 * The managers kubectl migrates on a server-side apply: every `Update` entry
 * that owns the last-applied annotation. That is `kubectl-client-side-apply`
 * after `kubectl apply`, but also `kubectl-edit` after a `kubectl edit` (which
 * rewrites the annotation, and so takes it over), or `kubectl-create` after
 * `kubectl create --save-config`.
 */
export function clientSideManagers(entries: readonly ManagedFieldsEntry[]): Set<string> {
  return new Set(
    entries
      .filter((entry) => entry.operation === 'Update' && entry.subresource === undefined && owns(entry.fieldsV1, LAST_APPLIED_PATH))
      .map((entry) => entry.manager ?? ''),
  );
}

function owns(fields: FieldSet | undefined, path: readonly string[]): boolean {
  let node: FieldSet | undefined = fields;
  for (const key of path) {
    node = node?.[key];
    if (node === undefined) return false;
  }
  return true;
}

/**
 * The fields (as paths in preview.ts's `leaves` form) that `manager`'s
 * server-side apply removes from `live` when it takes the object over: what the
 * migrated client-side managers owned, less what the release applies (the
 * manager's own entry in the dry run's answer), less what any other manager
 * also owns (the server keeps a co-owned field: the HPA's replicas, a
 * `handover-to-hpa` apply). Empty when no client-side manager is left to migrate.
 */
export function removedByTakeover(live: object, dryRun: object, manager: string): string[] {
  const entries = managedFieldsOf(live);
  const migrated = clientSideManagers(entries);
  if (migrated.size === 0) return [];
  const applied = managedFieldsOf(dryRun).filter((entry) => entry.manager === manager && entry.operation === 'Apply');
  // Every other manager keeps its fields, through a subresource too: the HPA owns spec.replicas through `scale`.
  const others = entries.filter((entry) => entry.manager !== manager && !migrated.has(entry.manager ?? ''));
  const removed = new Set<string>();
  for (const entry of entries.filter((e) => migrated.has(e.manager ?? ''))) {
    for (const keys of fieldLeaves(entry.fieldsV1 ?? {})) {
      if (applied.some((a) => owns(a.fieldsV1, keys)) || others.some((o) => owns(o.fieldsV1, keys))) continue;
      if (keys[0] === 'f:status' || keys.join('/') === LAST_APPLIED_PATH.join('/')) continue;
      const path = displayPath(keys, live);
      if (path !== undefined) removed.add(path);
    }
  }
  return [...removed];
}

/** Every owned field that is not only a container of other owned fields, as its fieldsV1 keys. */
function fieldLeaves(fields: FieldSet, prefix: string[] = [], into: string[][] = []): string[][] {
  const children = Object.keys(fields).filter((key) => key !== '.');
  if (children.length === 0 && prefix.length > 0) into.push(prefix);
  for (const key of children) fieldLeaves(fields[key], [...prefix, key], into);
  return into;
}

/**
 * fieldsV1 keys as a `leaves` path of the live object: `f:name` is a map key,
 * `k:{"name":"api"}` a list item found by its key fields and `v:"x"` a set item
 * found by value, both then named as `leaves` names them. A field the live
 * object no longer has is undefined.
 */
export function displayPath(keys: readonly string[], live: unknown): string | undefined {
  let node: unknown = live;
  let path = '';
  for (const key of keys) {
    if (key.startsWith('f:')) {
      const name = key.slice(2);
      if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
      node = (node as Record<string, unknown>)[name];
      path = path === '' ? name : `${path}.${name}`;
    } else if (key.startsWith('k:') || key.startsWith('v:')) {
      if (!Array.isArray(node)) return undefined;
      const wanted = JSON.parse(key.slice(2)) as unknown;
      const index = node.findIndex((item) => (key.startsWith('k:') ? matchesKeys(item, wanted as Record<string, unknown>) : JSON.stringify(item) === JSON.stringify(wanted)));
      if (index < 0) return undefined;
      path = `${path}[${listItemId(node[index], index)}]`;
      node = node[index];
    } else return undefined;
    if (node === undefined) return undefined;
  }
  return path;
}

function matchesKeys(item: unknown, keys: Record<string, unknown>): boolean {
  if (item === null || typeof item !== 'object') return false;
  return Object.entries(keys).every(([key, value]) => JSON.stringify((item as Record<string, unknown>)[key]) === JSON.stringify(value));
}
