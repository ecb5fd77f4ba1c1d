import { FIELD_MANAGER } from './apply';
import { Kubectl, lastErrorLine } from './kubectl';
import { apiGroupOf, podTemplateOf } from '../shared/manifests';
import { ManifestFile, MIGRATE_FILE, phaseName, resourceRef, ROLLOUT_KINDS, StackManifests, StackObject } from './manifests';
import { DeployError } from './options';
import { Output } from './process';
import { findStale, listCalls, objectKey, PruneCandidate, PruneScope } from './prune';
import { kubectlCall, note, Step } from './step';

/** What the release does to one object. */
export type ChangeOp = 'create' | 'update' | 'unchanged' | 'recreate' | 'delete';

export interface ObjectChange {
  readonly op: ChangeOp;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** `kind.group/name` as kubectl takes it. */
  readonly ref: string;
  /** Fields or keys on the live object that the apply removes. */
  readonly removed: readonly string[];
  /** Fields whose live value changes (`path: old -> new`). */
  readonly changed: readonly string[];
  /** How the workload rolls, when its pod template changes (or it is new). */
  readonly rollout?: string;
  /** The rollout stops every old pod before a new one runs. */
  readonly downtime?: boolean;
}

export interface Preview {
  readonly changes: readonly ObjectChange[];
  readonly prune: readonly PruneCandidate[];
  /** Workloads whose pod template changes: the ones a failed health check rolls back. */
  readonly rolls: readonly StackObject[];
  /** `kube-system/<name>` of HelmChartConfigs that are created or changed (Traefik upgrades). */
  readonly chartConfigsChanged: ReadonlySet<string>;
}

interface LiveObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Files compared with the cluster: the Job is recreated every deploy, so it is never dry-run (its template is immutable). */
const comparedFiles = (manifests: StackManifests): ManifestFile[] =>
  manifests.files.filter((file) => file.phaseName !== MIGRATE_FILE);

export const liveArgs = (files: readonly ManifestFile[]): string[] => [
  'get', ...files.flatMap((f) => ['-f', f.path]), '-o', 'json', '--ignore-not-found',
];

/** The same server-side apply as the deploy makes, with `--dry-run=server`: the API server's answer, admission included. */
export const dryRunArgs = (files: readonly ManifestFile[]): string[] => [
  'apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '--dry-run=server',
  ...files.flatMap((f) => ['-f', f.path]), '-o', 'json',
];

/**
 * The change preview: what the release creates, changes, leaves unchanged and
 * prunes, which workloads roll and how, and every live field or key the apply
 * removes. Read-only: `get` for the live objects, a server-side dry run of the
 * files that hold live objects (objects not live are created), and the prune
 * listing. Nothing is guessed from the files alone.
 */
export function previewStep(manifests: StackManifests, scope: PruneScope, result: (preview: Preview) => void): Step {
  const files = comparedFiles(manifests);
  return {
    title: 'preview the changes (server-side dry run)',
    plan: [
      kubectlCall(liveArgs(files)),
      { kind: 'only-if', when: 'some of the objects are live (only the files that hold one)', calls: [dryRunArgs(files)] },
      ...listCalls(scope),
      note('prints the change table; on a terminal asks to continue (--yes skips the question; without a terminal, --yes is required)'),
    ],
    async run({ kubectl, output }) {
      const preview = await computePreview(kubectl, manifests, scope, output);
      printPreview(preview, output);
      result(preview);
    },
  };
}

async function computePreview(kubectl: Kubectl, manifests: StackManifests, scope: PruneScope, output: Output): Promise<Preview> {
  const files = comparedFiles(manifests);
  const liveResult = await kubectl.run(liveArgs(files), { showOutput: false });
  if (liveResult.code !== 0) {
    throw new DeployError(`could not read the live objects of the release: ${lastErrorLine(liveResult)}; nothing was applied`);
  }
  const live = byKey(parseObjects(liveResult.stdout, 'kubectl get'));
  const withLive = files.filter((file) => file.objects.some((object) => live.has(objectKey(object))));
  let after = new Map<string, LiveObject>();
  if (withLive.length > 0) {
    const dry = await kubectl.run(dryRunArgs(withLive), { showOutput: false });
    if (dry.code !== 0) {
      throw new DeployError(
        `the API server refused the release in a dry run: ${lastErrorLine(dry)}. Nothing was applied; ` +
          'the apply would fail the same way. Fix the object it names and re-run',
      );
    }
    after = byKey(parseObjects(dry.stdout, 'the dry run'));
  }

  const changes: ObjectChange[] = [];
  const rolls: StackObject[] = [];
  const chartConfigsChanged = new Set<string>();
  for (const file of manifests.files) {
    for (const object of file.objects) {
      const change = objectChange(object, file, live.get(objectKey(object)), after.get(objectKey(object)));
      changes.push(change);
      if (change.rollout !== undefined && change.op === 'update') rolls.push(object);
      if (object.kind === 'HelmChartConfig' && (change.op === 'create' || change.op === 'update')) {
        chartConfigsChanged.add(`${object.namespace}/${object.name}`);
      }
    }
  }
  const prune = await findStale(kubectl, scope, output);
  for (const candidate of prune) {
    changes.push({
      op: 'delete',
      kind: candidate.kind,
      namespace: candidate.namespace,
      name: candidate.name,
      ref: candidate.ref,
      removed: [],
      changed: [],
      rollout: candidate.kept ? 'kept: holds data, delete it by hand' : undefined,
    });
  }
  return { changes, prune, rolls, chartConfigsChanged };
}

function objectChange(object: StackObject, file: ManifestFile, live: LiveObject | undefined, after: LiveObject | undefined): ObjectChange {
  const base = { kind: object.kind, namespace: object.namespace, name: object.name, ref: resourceRef(object) };
  const workload = object.group === 'apps' && ROLLOUT_KINDS.has(object.kind);
  if (phaseName(file.name) === MIGRATE_FILE && object.kind === 'Job') {
    return { ...base, op: live === undefined ? 'create' : 'recreate', removed: [], changed: [], rollout: 'runs the migration (deleted and created every deploy)' };
  }
  if (live === undefined || after === undefined) {
    const rollout = workload ? `new: ${strategyOf(object.manifest).text}` : undefined;
    return { ...base, op: 'create', removed: [], changed: [], rollout };
  }
  const before = leaves(normalize(live));
  const next = leaves(normalize(after));
  const removed = [...before.keys()].filter((path) => !next.has(path));
  // Fields kubectl's client-side apply managed (its last-applied annotation) that the release no longer
  // sets: taking the object over server-side moves them to this field manager, and the apply removes them.
  const released = leaves(object.manifest);
  for (const path of leaves(lastApplied(live)).keys()) {
    if (before.has(path) && !released.has(path) && !removed.includes(path) && !isVolatile(path) && !ownedElsewhere(live, path)) removed.push(path);
  }
  const changed = [...next.entries()]
    .filter(([path, value]) => before.has(path) && before.get(path) !== value)
    .map(([path, value]) => `${path}: ${before.get(path)} -> ${value}`);
  const op: ChangeOp = removed.length === 0 && changed.length === 0 && [...next.keys()].every((path) => before.has(path)) ? 'unchanged' : 'update';
  let rollout: string | undefined;
  let downtime: boolean | undefined;
  if (workload && op === 'update') {
    // A change under the pod template (where the manifest helpers find it) is what makes the controller roll pods.
    const templatePath = `${(podTemplateOf(object.manifest)?.route ?? ['spec', 'template']).join('.')}.`;
    const template = (path: string) => path.startsWith(templatePath);
    const rolls =
      removed.some(template) || changed.some(template) || [...next.keys()].some((path) => template(path) && !before.has(path));
    if (rolls) {
      const strategy = strategyOf(after);
      rollout = `rolls: ${strategy.text}`;
      downtime = strategy.downtime;
    }
  }
  return { ...base, op, removed: removed.sort(), changed, rollout, downtime };
}

/** How a workload replaces its pods, read from the object the API server will store. */
export function strategyOf(object: Readonly<Record<string, unknown>>): { text: string; downtime: boolean } {
  const kind = object.kind as string;
  const spec = (object.spec ?? {}) as {
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } };
    updateStrategy?: { type?: string; rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } };
    replicas?: number;
  };
  if (kind === 'Deployment') {
    if (spec.strategy?.type === 'Recreate') {
      return { text: 'Recreate: every old pod stops before the new one starts (downtime)', downtime: true };
    }
    const surge = spec.strategy?.rollingUpdate?.maxSurge ?? '25%';
    const unavailable = spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%';
    const none = unavailable === 0 || unavailable === '0' || unavailable === '0%';
    const single = spec.replicas === 1 && !none;
    return {
      text: `RollingUpdate maxSurge ${surge}, maxUnavailable ${unavailable} (${none ? 'new pods start before old ones stop: no downtime' : single ? 'its one pod may be down' : 'some pods may be down'})`,
      downtime: single,
    };
  }
  const update = spec.updateStrategy;
  if (update?.type === 'OnDelete') return { text: 'OnDelete: pods change only when deleted by hand', downtime: false };
  const surge = update?.rollingUpdate?.maxSurge ?? 0;
  const unavailable = update?.rollingUpdate?.maxUnavailable ?? 1;
  return {
    text: `${kind} RollingUpdate maxSurge ${surge}, maxUnavailable ${unavailable} (one pod at a time is replaced${surge === 0 || surge === '0' ? ', stopped first' : ''})`,
    downtime: false,
  };
}

/** Drops what the API server owns (status, bookkeeping) and the annotation kubectl keeps for client-side apply. */
function normalize(object: LiveObject): Record<string, unknown> {
  const { status: _status, ...rest } = object;
  const { managedFields: _m, resourceVersion: _r, uid: _u, creationTimestamp: _c, generation: _g, selfLink: _s, ...metadata } = object.metadata;
  const annotations = { ...(object.metadata.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  delete annotations['deployment.kubernetes.io/revision'];
  const cleaned: Record<string, unknown> = { ...metadata };
  if (Object.keys(annotations).length > 0) cleaned.annotations = annotations;
  else delete cleaned.annotations;
  return { ...rest, metadata: cleaned };
}

const isVolatile = (path: string): boolean => path.startsWith('status.') || path === 'metadata.resourceVersion';

/** The managers whose fields kubectl's takeover moves to this deploy's field manager. */
const CLIENT_SIDE_MANAGERS = new Set(['kubectl-client-side-apply', 'before-first-apply']);

/**
 * Whether a manager other than client-side apply and this deploy also owns the
 * field (`handover-to-hpa` or the HPA's scale updates for `spec.replicas`): the
 * server keeps a co-owned field when the takeover drops it from the applied set.
 * Paths into lists are not matched against `managedFields` (their keyed
 * entries need the list's merge key) and stay reported: a false alarm, never a
 * missed removal.
 */
function ownedElsewhere(live: LiveObject, path: string): boolean {
  if (path.includes('[')) return false;
  const entries = Array.isArray(live.metadata.managedFields) ? (live.metadata.managedFields as ManagedFieldsEntry[]) : [];
  return entries.some((entry) => {
    if (CLIENT_SIDE_MANAGERS.has(entry.manager ?? '') || entry.manager === FIELD_MANAGER) return false;
    let fields: unknown = entry.fieldsV1;
    for (const key of path.split('.')) {
      if (fields === null || typeof fields !== 'object') return false;
      fields = (fields as Record<string, unknown>)[`f:${key}`];
    }
    return fields !== undefined;
  });
}

interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly fieldsV1?: unknown;
}

function lastApplied(live: LiveObject): Record<string, unknown> {
  const text = live.metadata.annotations?.[LAST_APPLIED];
  if (text === undefined) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Every leaf of an object by path. List items with a `name` are addressed by
 * it (`spec.template.spec.containers[api].image`), so a reordered list reads as
 * what it is.
 */
export function leaves(value: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) into.set(prefix, '[]');
    value.forEach((item, index) => {
      const id = item !== null && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string' ? (item as { name: string }).name : String(index);
      leaves(item, `${prefix}[${id}]`, into);
    });
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix !== '') into.set(prefix, '{}');
    for (const [key, item] of entries) leaves(item, prefix === '' ? key : `${prefix}.${key}`, into);
  } else if (prefix !== '') {
    into.set(prefix, JSON.stringify(value));
  }
  return into;
}

function parseObjects(json: string, what: string): LiveObject[] {
  if (json.trim() === '') return [];
  let parsed: { kind?: string; items?: LiveObject[] };
  try {
    parsed = JSON.parse(json) as { kind?: string; items?: LiveObject[] };
  } catch {
    throw new DeployError(`${what} did not return JSON; nothing was applied`);
  }
  // kubectl returns a List for several objects and the object itself for one.
  return parsed.kind === 'List' ? (parsed.items ?? []) : [parsed as LiveObject];
}

function byKey(objects: readonly LiveObject[]): Map<string, LiveObject> {
  return new Map(
    objects.map((o) => [objectKey({ group: apiGroupOf(o.apiVersion), kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name }), o]),
  );
}

const MARK: Record<ChangeOp, string> = { create: '+', update: '~', unchanged: ' ', recreate: '±', delete: '-' };

/** The change table, kapp style: one row per object, then the removed and changed fields of each. */
export function printPreview(preview: Preview, output: Output): void {
  const rows = preview.changes.map((c) => [MARK[c.op], c.op, c.namespace ?? '(cluster)', `${c.kind}/${c.name}`, c.rollout ?? '']);
  const widths = [1, 9, 0, 0].map((min, i) => Math.max(min, ...rows.map((row) => row[i].length)));
  output.out('\nchanges (from the API server: the live objects and a server-side dry run of the release):\n');
  for (const [index, row] of rows.entries()) {
    output.out(`  ${row.slice(0, 4).map((cell, i) => cell.padEnd(widths[i])).join('  ')}  ${row[4]}`.trimEnd() + '\n');
    const change = preview.changes[index];
    for (const path of change.removed) output.out(`        removed from the live object: ${path}\n`);
    for (const line of change.changed) output.out(`        changed: ${line}\n`);
  }
  const count = (op: ChangeOp) => preview.changes.filter((c) => c.op === op).length;
  const downtime = preview.changes.filter((c) => c.downtime === true);
  output.out(
    `summary: ${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged, ` +
      `${count('recreate')} to recreate, ${count('delete')} to prune; ${preview.rolls.length} workload(s) roll` +
      (downtime.length > 0 ? ` (with downtime: ${downtime.map((c) => `${c.kind}/${c.name}`).join(', ')})` : '') +
      '\n',
  );
  const replicas = preview.changes.filter((c) => c.kind === 'Deployment' && c.removed.includes('spec.replicas'));
  for (const change of replicas) {
    output.err(
      `warning: ${change.namespace}/${change.name} loses spec.replicas: unless an HPA already owns the field, the API server ` +
        'sets it to 1 and the Deployment scales down once. Hand replicas to the HPA first (README, Deploy: "Handing replicas to the HPA")\n',
    );
  }
}
