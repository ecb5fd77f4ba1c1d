import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FIELD_MANAGER } from './apply';
import { clientSideManagers, managedFieldsOf, removedByTakeover } from './field-ownership';
import { Kubectl, kubectlObjects, lastErrorLine } from './kubectl';
import { apiGroupOf, podTemplateOf } from '../../manifest-check/manifests';
import { leaves } from '../shared/object-paths';
import { DeployError } from './options';
import { Output } from './process';
import { findStale, listCalls, PruneCandidate } from './prune';
import { kubectlCall, note, Step } from './step';
import { ManifestFile, ManifestObject, objectKey, resourceRef, StackManifests } from '../shared/manifest-object';
import { MIGRATE_FILE, phaseName } from '../shared/stack-files';
import { ROLLOUT_KINDS, strategyOf } from '../shared/rollout-strategy';
import { PruneScope } from '../shared/prune-scope';

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
  /**
   * A Deployment whose release stops setting spec.replicas while no one else
   * owns it: `live -> after` (the API server defaults the dropped field to 1).
   */
  readonly replicasDropped?: string;
  /** Client-side managers kubectl moves to this deploy's field manager on the apply (a takeover). */
  readonly takenOverFrom?: readonly string[];
}

export interface Preview {
  readonly changes: readonly ObjectChange[];
  readonly prune: readonly PruneCandidate[];
  /** Workloads whose pod template changes: the ones a failed health check rolls back. */
  readonly rolls: readonly ManifestObject[];
  /**
   * `kube-system/<name>` of HelmChartConfigs whose valuesContent or failurePolicy is new or
   * changes: only those make k3s's helm-controller start a new helm-install Job.
   */
  readonly chartConfigsChanged: ReadonlySet<string>;
  /** Paths of the release files the dry run applied whole, with strict field validation, and the server accepted. */
  readonly validated: ReadonlySet<string>;
}

interface LiveObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * `--show-managed-fields`: without it kubectl drops metadata.managedFields from
 * what it prints, and who else owns a field (the HPA, a takeover) is unknown.
 */
export const liveArgs = (files: readonly string[]): string[] => [
  'get', ...files.flatMap((path) => ['-f', path]), '-o', 'json', '--ignore-not-found', '--show-managed-fields',
];

/** The same server-side apply as the deploy makes, with `--dry-run=server`: the API server's answer, admission included. */
export const dryRunArgs = (files: readonly string[]): string[] => [
  'apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '--dry-run=server',
  ...files.flatMap((path) => ['-f', path]), '-o', 'json', '--show-managed-fields',
];

/** The file the dry run reads in place of the migrate file: its objects less the Job. */
const MIGRATE_DRY_RUN_FILE = 'preview-migrate-without-job.yaml';

/**
 * What the preview reads: every file (the live objects), and what it dry-runs:
 * the migrate file without its Job. The Job is deleted and created again every
 * deploy (its pod template is immutable, so a dry run of a changed one fails),
 * but its ServiceAccount is applied like any object and compared like one.
 */
function previewFiles(manifests: StackManifests, workDir: string): { read: string[]; dryRun: (live: ReadonlySet<string>) => string[]; workDir: string } {
  const read = manifests.files.map((file) => file.path);
  const dryRun = (live: ReadonlySet<string>): string[] =>
    manifests.files.flatMap((file) => {
      const others = file.objects.filter((object) => !isMigrateJob(object, file));
      if (!others.some((object) => live.has(objectKey(object)))) return [];
      if (others.length === file.objects.length) return [file.path];
      const path = join(workDir, MIGRATE_DRY_RUN_FILE);
      writeFileSync(path, others.map((object) => stringify(object.manifest)).join('---\n'));
      return [path];
    });
  return { read, dryRun, workDir };
}

/** The file of renamed copies whose dry run answers the API server's defaults for a takeover. */
const TAKEOVER_DEFAULTS_FILE = 'preview-takeover-defaults.yaml';
const DEFAULTS_SUFFIX = '-takeover-preview';

/**
 * For each object the apply takes over from client-side managers: the release's
 * object as the API server would create it, defaults and all, from a dry run of
 * a renamed copy (the live one cannot answer: it still holds the old fields). A
 * field the takeover drops that has a default is not removed but set to it.
 */
async function takeoverDefaults(
  kubectl: Kubectl,
  manifests: StackManifests,
  live: ReadonlyMap<string, LiveObject>,
  after: ReadonlyMap<string, LiveObject>,
  workDir: string,
  output: Output,
): Promise<Map<string, LiveObject>> {
  const taken = manifests.objects.filter((object) => {
    const key = objectKey(object);
    const [was, next] = [live.get(key), after.get(key)];
    return was !== undefined && next !== undefined && removedByTakeover(was, next, FIELD_MANAGER).length > 0;
  });
  const defaults = new Map<string, LiveObject>();
  if (taken.length === 0) return defaults;
  const renamed = (name: string) => `${name.slice(0, 63 - DEFAULTS_SUFFIX.length)}${DEFAULTS_SUFFIX}`;
  const path = join(workDir, TAKEOVER_DEFAULTS_FILE);
  writeFileSync(
    path,
    taken
      .map((object) => stringify({ ...object.manifest, metadata: { ...(object.manifest.metadata as object), name: renamed(object.name) } }))
      .join('---\n'),
  );
  const dry = await kubectl.run(dryRunArgs([path]), { showOutput: false, requests: 4 * taken.length + 4 });
  if (dry.code !== 0) {
    output.err(
      `warning: the API server did not answer a dry run of the taken-over objects under new names (${lastErrorLine(dry)}): ` +
        'fields with a default that the takeover drops are listed as removed, though the server sets them to their default\n',
    );
    return defaults;
  }
  for (const answer of parseObjects(dry.stdout, 'the dry run of the taken-over objects')) {
    const object = taken.find((o) => renamed(o.name) === answer.metadata.name && o.kind === answer.kind);
    if (object !== undefined) defaults.set(objectKey(object), answer);
  }
  return defaults;
}

const isMigrateJob = (object: ManifestObject, file: ManifestFile): boolean => phaseName(file.name) === MIGRATE_FILE && object.kind === 'Job';

/**
 * The change preview: what the release creates, changes, leaves unchanged and
 * prunes, which workloads roll and how, and every live field or key the apply
 * removes. Read-only: `get` for the live objects, a server-side dry run of the
 * files that hold live objects (objects not live are created), and the prune
 * listing. Nothing is guessed from the files alone.
 */
export function previewStep(manifests: StackManifests, scope: PruneScope, workDir: string, result: (preview: Preview) => void): Step {
  const files = previewFiles(manifests, workDir);
  return {
    title: 'preview the changes (server-side dry run)',
    plan: [
      kubectlCall(liveArgs(files.read)),
      ...listCalls(scope),
      {
        kind: 'only-if',
        when: `some of the objects are live (only the files that hold one; the migrate Job left out into ${join(workDir, MIGRATE_DRY_RUN_FILE)})`,
        calls: [dryRunArgs(manifests.files.map((file) => file.path))],
      },
      {
        kind: 'only-if',
        when: `an object is taken over from client-side kubectl (renamed copies in ${join(workDir, TAKEOVER_DEFAULTS_FILE)}: the defaults the server sets)`,
        calls: [dryRunArgs([join(workDir, TAKEOVER_DEFAULTS_FILE)])],
      },
      note('prints the change table; on a terminal asks to continue (--yes skips the question; without a terminal, --yes is required)'),
    ],
    async run({ kubectl, output }) {
      const preview = await computePreview(kubectl, manifests, scope, files, output);
      printPreview(preview, output);
      result(preview);
    },
  };
}

async function computePreview(
  kubectl: Kubectl,
  manifests: StackManifests,
  scope: PruneScope,
  files: ReturnType<typeof previewFiles>,
  output: Output,
): Promise<Preview> {
  const count = manifests.objects.length;
  const liveRead = kubectl.run(liveArgs(files.read), { showOutput: false, requests: count + 4 });
  // The listing of what prune would delete needs nothing the reads before it return: it runs alongside them.
  const stale = findStale(kubectl, scope, output);
  stale.catch(() => undefined); // awaited below, once the live read's failure, if any, is reported
  const liveResult = await liveRead;
  if (liveResult.code !== 0) {
    throw new DeployError(`could not read the live objects of the release: ${lastErrorLine(liveResult)}; nothing was applied`);
  }
  const live = byKey(parseObjects(liveResult.stdout, 'kubectl get'));
  refusePaused(live);
  const dryRunFiles = files.dryRun(new Set(live.keys()));
  let after = new Map<string, LiveObject>();
  if (dryRunFiles.length > 0) {
    const dry = await kubectl.run(dryRunArgs(dryRunFiles), { showOutput: false, requests: 4 * count + 4 });
    if (dry.code !== 0) {
      throw new DeployError(
        `the API server refused the release in a dry run: ${lastErrorLine(dry)}. Nothing was applied; ` +
          'the apply would fail the same way. Fix the object it names and re-run',
      );
    }
    after = byKey(parseObjects(dry.stdout, 'the dry run'));
  }

  const defaults = await takeoverDefaults(kubectl, manifests, live, after, files.workDir, output);
  const changes: ObjectChange[] = [];
  const rolls: ManifestObject[] = [];
  const chartConfigsChanged = new Set<string>();
  for (const file of manifests.files) {
    for (const object of file.objects) {
      const change = objectChange(object, file, live.get(objectKey(object)), after.get(objectKey(object)), defaults.get(objectKey(object)));
      changes.push(change);
      if (change.rollout !== undefined && change.op === 'update') rolls.push(object);
      if (object.kind === 'HelmChartConfig' && startsHelmJob(object, live.get(objectKey(object)))) {
        chartConfigsChanged.add(`${object.namespace}/${object.name}`);
      }
    }
  }
  const prune = await stale;
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
  // The migrate file's copy without its Job is not the file the gate applies: only release files count.
  const validated = new Set(dryRunFiles.filter((path) => manifests.files.some((file) => file.path === path)));
  return { changes, prune, rolls, chartConfigsChanged, validated };
}

function objectChange(
  object: ManifestObject,
  file: ManifestFile,
  live: LiveObject | undefined,
  after: LiveObject | undefined,
  defaulted: LiveObject | undefined,
): ObjectChange {
  const base = { kind: object.kind, namespace: object.namespace, name: object.name, ref: resourceRef(object) };
  const workload = object.group === 'apps' && ROLLOUT_KINDS.has(object.kind);
  if (isMigrateJob(object, file)) {
    return { ...base, op: live === undefined ? 'create' : 'recreate', removed: [], changed: [], rollout: 'runs the migration (deleted and created every deploy)' };
  }
  if (live === undefined || after === undefined) {
    const rollout = workload ? `new: ${strategyOf(object.manifest).text}` : undefined;
    return { ...base, op: 'create', removed: [], changed: [], rollout };
  }
  const before = leaves(normalize(live));
  const next = leaves(normalize(after));
  const removed = [...before.keys()].filter((path) => !next.has(path));
  const changed = [...next.entries()]
    .filter(([path, value]) => before.has(path) && before.get(path) !== value)
    .map(([path, value]) => `${path}: ${before.get(path)} -> ${value}`);
  // A takeover of a client-side-applied object: the dry run kept the client-side managers' fields,
  // the apply moves them to this deploy's manager and then removes those the release does not set.
  // The API server then defaults the object again: a field with a default keeps it.
  const defaults = defaulted === undefined ? undefined : leaves(normalize(defaulted));
  for (const path of removedByTakeover(live, after, FIELD_MANAGER)) {
    if (!before.has(path) || removed.includes(path)) continue;
    const value = defaults?.get(path);
    if (value === undefined) removed.push(path);
    else if (value !== before.get(path)) changed.push(`${path}: ${before.get(path)} -> ${value}`);
  }
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
  const takenOver = [...clientSideManagers(managedFieldsOf(live))];
  return {
    ...base,
    op,
    removed: removed.sort(),
    changed,
    rollout,
    downtime,
    replicasDropped: replicasDropped(object, before, removed, changed),
    takenOverFrom: takenOver.length > 0 ? takenOver : undefined,
  };
}

/**
 * The release's Deployment leaves spec.replicas out (an HPA is to own it) and the
 * apply takes the field away: shown either as removed (a takeover) or, because the
 * dry run answers with the defaulted object, as changed to 1. Either way the
 * Deployment scales to one pod until the HPA acts.
 */
function replicasDropped(object: ManifestObject, before: Map<string, string>, removed: readonly string[], changed: readonly string[]): string | undefined {
  if (object.kind !== 'Deployment' || (object.manifest.spec as { replicas?: unknown } | undefined)?.replicas !== undefined) return undefined;
  const was = before.get('spec.replicas');
  if (was === undefined) return undefined;
  if (removed.includes('spec.replicas')) return `${was} -> 1`;
  return changed.find((line) => line.startsWith('spec.replicas: '))?.slice('spec.replicas: '.length);
}

/**
 * k3s's helm-controller replaces its helm-install Job only when the Job's pod
 * template changes: the hash of the values (the HelmChartConfig's valuesContent)
 * or the failurePolicy (helm-controller pkg/controllers/chart/chart.go,
 * hashObjects and setFailurePolicy). A new config, or one whose valuesContent or
 * failurePolicy differs from the live one, starts a Job; a label does not.
 */
function startsHelmJob(object: ManifestObject, live: LiveObject | undefined): boolean {
  if (live === undefined) return true;
  const spec = (value: unknown) => (value ?? {}) as { valuesContent?: string; failurePolicy?: string };
  const mine = spec(object.manifest.spec);
  const theirs = spec(live.spec);
  return (mine.valuesContent ?? '') !== (theirs.valuesContent ?? '') || (mine.failurePolicy ?? 'reinstall') !== (theirs.failurePolicy ?? 'reinstall');
}

/**
 * A paused Deployment rolls out nothing: `rollout status` would wait the whole
 * --timeout, and `rollout undo` refuses it. Someone paused it on purpose (a
 * canary, an incident): the deploy stops before it writes anything.
 */
function refusePaused(live: ReadonlyMap<string, LiveObject>): void {
  const paused = [...live.values()].filter((o) => o.kind === 'Deployment' && (o.spec as { paused?: boolean } | undefined)?.paused === true);
  if (paused.length === 0) return;
  const names = paused.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).join(', ');
  const resume = paused.map((o) => `kubectl -n ${o.metadata.namespace} rollout resume deployment/${o.metadata.name}`).join(' ; ');
  throw new DeployError(
    `Deployment ${names} is paused (kubectl rollout pause): its new pods would never roll out, rollout status would wait ` +
      `the whole --timeout, and rollout undo refuses a paused Deployment. Nothing was applied. Find out who paused it and why; ` +
      `once it may roll again: ${resume} ; then re-run the deploy`,
  );
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

function parseObjects(json: string, what: string): LiveObject[] {
  const objects = kubectlObjects<LiveObject>(json);
  if (objects === undefined) throw new DeployError(`${what} did not return JSON; nothing was applied`);
  return objects;
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
  for (const change of preview.changes.filter((c) => c.replicasDropped !== undefined)) {
    output.err(
      `warning: ${change.namespace}/${change.name} loses spec.replicas (${change.replicasDropped}): the release leaves the field ` +
        'to an HPA, but no other field manager owns it yet, so the API server sets it to 1 and the Deployment scales down ' +
        'until the HPA acts. Hand replicas to the HPA first (docs: "Handing replicas to the HPA")\n',
    );
  }
  const takeovers = preview.changes.filter((c) => c.takenOverFrom !== undefined);
  if (takeovers.length > 0) {
    output.out(
      `takeover: ${takeovers.map((c) => `${c.kind}/${c.name}`).join(', ')} ${takeovers.length === 1 ? 'was' : 'were'} last written by ` +
        `${[...new Set(takeovers.flatMap((c) => c.takenOverFrom ?? []))].join(', ')}; the apply moves those fields to ${FIELD_MANAGER} ` +
        'and removes the ones listed above (kubectl diff does not show this step)\n',
    );
  }
}
