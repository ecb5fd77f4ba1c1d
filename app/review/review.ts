/**
 * What a change of `dist/` will do to the cluster, per environment: objects
 * added, pruned and changed, which workloads roll and how, what `kubectl
 * apply` refuses (immutable fields), what needs a hand, the Secrets and
 * ConfigMaps the release starts to read, and the capacity changes (replicas,
 * resources, PDBs, HPAs). Computed from the two trees alone.
 */
import { parseDocument } from 'yaml';
import { parseQuantity } from '../check/quantity';
import { ManifestObject, objectKey, resourceType } from '../shared/manifest-object';
import { MIGRATE_FILE, phaseName } from '../shared/stack-files';
import { ROLLOUT_KINDS, strategyOf } from '../shared/rollout-strategy';
import { leaves } from '../shared/object-paths';
import { KEPT_KINDS, pruneScope } from '../shared/prune-scope';
import { StackError } from '../shared/stack-error';
import { reviewedStackLabels, stackLabelPairs, StackLabels } from '../shared/stack-labels';
import { parseImageReference, PodRead, podReads, podTemplateOf } from '../shared/manifests';
import { LABEL_VERSION } from '../../constructs/shared/labels';
import { ReviewError, type DistTree, type EnvironmentObjects } from './load';

/** An object as the review names it. */
export interface ObjectName {
  readonly kind: string;
  /** Unset for a cluster-scoped object. */
  readonly namespace?: string;
  /** metadata.name */
  readonly name: string;
  /** The dist file (base name) it is in, on the side the entry describes. */
  readonly file: string;
}

/** One leaf that differs; `before`/`after` are JSON values, undefined where the leaf is absent. */
export interface FieldChange {
  readonly path: string;
  readonly before?: string;
  readonly after?: string;
}

/** An object on both sides that differs (or moved to another file). */
export interface ChangedObject extends ObjectName {
  /** Every leaf that differs, new and changed leaves first, then removed ones. */
  readonly fields: readonly FieldChange[];
  /** The file it was in before, when it moved to another file. */
  readonly movedFrom?: string;
}

/** What the deploy does with an object that left the release. */
export type RemovedFate = 'pruned' | 'kept' | 'not pruned';

/** An object of the old side that the new side no longer has. */
export interface RemovedObject extends ObjectName {
  readonly fate: RemovedFate;
  /** Why, and the hand step when there is one. */
  readonly why: string;
}

/** A workload whose pods are replaced by the apply. */
export interface Roll {
  readonly object: ObjectName;
  /** The rollout strategy in words. */
  readonly how: string;
  /** Every old pod stops before a new one serves. */
  readonly downtime: boolean;
  /** What in the pod template changed: image tag, config hash, resources, probes... */
  readonly why: readonly string[];
}

/** One line about one object: a refusal, a hand step, a capacity change. */
export interface Finding {
  readonly object: ObjectName;
  /** What happens and, for a refusal or a hand step, what to do. */
  readonly message: string;
}

/** A Secret or ConfigMap (or one key of it) that pods start or stop reading. */
export interface ReferenceChange {
  readonly change: 'new' | 'dropped';
  readonly kind: 'Secret' | 'ConfigMap';
  readonly namespace: string;
  readonly name: string;
  /** Undefined when the whole object is read (envFrom, a volume without items, a pull secret). */
  readonly key?: string;
  /** Every reader marks it optional: pods start without it. */
  readonly optional: boolean;
  /** `Kind/name` of the objects that read it (on the side where it is read). */
  readonly readers: readonly string[];
  /** For a ConfigMap: the release ships it (so it exists once applied). */
  readonly shipped: boolean;
}

/** The review of one environment (one dist/<env>/ folder). */
export interface EnvironmentReview {
  /** The folder's name under dist/. */
  readonly name: string;
  /** `added`: no dist/ folder for it on the old side; `removed`: none on the new side. */
  readonly presence: 'both' | 'added' | 'removed';
  /** Objects only the new side has, in its file order. */
  readonly added: readonly ObjectName[];
  /** Objects only the old side has, with what the deploy does with each. */
  readonly removed: readonly RemovedObject[];
  readonly changed: readonly ChangedObject[];
  /** How many objects are the same on both sides. */
  readonly unchanged: number;
  /** Changes `kubectl apply` refuses: immutable fields. */
  readonly refused: readonly Finding[];
  /** What a person does by hand: a claim that cannot grow, objects the deploy does not prune. */
  readonly manual: readonly Finding[];
  readonly rolls: readonly Roll[];
  /** Secrets and ConfigMaps (or keys) pods start or stop reading. */
  readonly references: readonly ReferenceChange[];
  /** Replicas, resources, PDB and HPA changes, one line each. */
  readonly capacity: readonly Finding[];
}

/** The whole review: both sides as the reader named them, and each environment. */
export interface Review {
  /** What the old side is, as the reader named it (`main (merge base 6e9e9e7)`, a folder). */
  readonly from: string;
  /** What the new side is (`working tree`, a revision, a folder). */
  readonly to: string;
  readonly environments: readonly EnvironmentReview[];
}

/**
 * StorageClasses known not to expand claims when dist/ does not define them.
 * k3s's `local-path` provisioner makes a host directory per claim and
 * implements no resize, and k3s ships its class without
 * `allowVolumeExpansion`: the API server refuses a bigger request.
 */
export const NON_EXPANDING_CLASSES: ReadonlySet<string> = new Set(['local-path']);

/** The class a claim without `storageClassName` gets on k3s, the cluster this stack is written for. */
const DEFAULT_CLASS = 'local-path';

/** What {@link reviewTrees} compares besides the two sides. */
export interface ReviewOptions {
  /** Review this environment only. @default every environment of either side */
  readonly only?: string;
  /**
   * The config folder the stack labels are read from (`labels`,
   * `environmentLabel`), as the deploy reads them to decide what it prunes.
   * @default config/ of the repository, the one the deploy reads
   */
  readonly configDir?: string;
}

/**
 * Compares two sides, environment by environment (the union of both sides'
 * environments, sorted), or only the environment `options.only` names.
 */
export function reviewTrees(before: DistTree, after: DistTree, from: string, to: string, options: ReviewOptions = {}): Review {
  const { only, configDir } = options;
  const names = [...new Set([...before.keys(), ...after.keys()])].filter((name) => only === undefined || name === only).sort();
  const empty = (name: string): EnvironmentObjects => ({ name, objects: [] });
  return {
    from,
    to,
    environments: names.map((name) => {
      const [was, now] = [before.get(name) ?? empty(name), after.get(name) ?? empty(name)];
      // Read once, and only when a removed object is judged: a review with nothing to prune needs no labels.
      let read: StackLabels | undefined;
      const labels = () => (read ??= stackLabels(name, [...now.objects, ...was.objects], configDir));
      return reviewEnvironment(name, was, now, before.has(name) ? (after.has(name) ? 'both' : 'removed') : 'added', labels);
    }),
  };
}

/**
 * The stack labels the deploy of an environment prunes by, read as the deploy
 * reads them for reviewed files: the environment's config, or the configs
 * whose environment label the objects carry. Without them the review cannot
 * say what is pruned, so it stops.
 */
function stackLabels(env: string, objects: readonly ManifestObject[], configDir: string | undefined): StackLabels {
  try {
    return reviewedStackLabels(env, { dir: `dist/${env}`, files: [], objects }, configDir);
  } catch (error) {
    if (error instanceof StackError) throw new ReviewError(`cannot tell what the deploy of ${env} prunes: ${error.message}`);
    throw error;
  }
}

const nameOf = (object: ManifestObject): ObjectName => ({ kind: object.kind, namespace: object.namespace, name: object.name, file: object.file });

/** `Kind namespace/name`, or `Kind name` for a cluster-scoped object. */
export const displayName = (object: Pick<ObjectName, 'kind' | 'namespace' | 'name'>): string =>
  object.namespace === undefined ? `${object.kind} ${object.name}` : `${object.kind} ${object.namespace}/${object.name}`;

function reviewEnvironment(
  name: string,
  before: EnvironmentObjects,
  after: EnvironmentObjects,
  presence: EnvironmentReview['presence'],
  labels: () => StackLabels,
): EnvironmentReview {
  const old = new Map(before.objects.map((o) => [objectKey(o), o]));
  const next = new Map(after.objects.map((o) => [objectKey(o), o]));
  const added = after.objects.filter((o) => !old.has(objectKey(o)));
  const removedObjects = before.objects.filter((o) => !next.has(objectKey(o)));
  const changed: ChangedObject[] = [];
  const pairs: Array<{ was: ManifestObject; now: ManifestObject; fields: FieldChange[] }> = [];
  let unchanged = 0;
  for (const now of after.objects) {
    const was = old.get(objectKey(now));
    if (was === undefined) continue;
    const fields = fieldChanges(was.manifest, now.manifest);
    if (fields.length === 0 && was.file === now.file) {
      unchanged += 1;
      continue;
    }
    changed.push({ ...nameOf(now), fields, movedFrom: was.file === now.file ? undefined : was.file });
    pairs.push({ was, now, fields });
  }

  const refused: Finding[] = [];
  const manual: Finding[] = [];
  const rolls: Roll[] = [];
  const capacity: Finding[] = [];
  const configChanges = changedConfigMapKeys(pairs);
  for (const { was, now, fields } of pairs) {
    refused.push(...immutableChanges(was, now, fields));
    manual.push(...claimResize(was, now, after.objects));
    const roll = rollOf(now, fields, configChanges);
    if (roll !== undefined) rolls.push(roll);
    capacity.push(...capacityChanges(now, fields));
  }
  for (const object of added) capacity.push(...capacityOfNew(object, 'added'));
  const removed = removedObjects.map((object) => removedFate(object, name, after.objects, presence, labels));
  // A removed environment's objects are all left to delete by hand; the Removed list says so once per object already.
  if (presence !== 'removed') for (const object of removed.filter((o) => o.fate !== 'pruned')) manual.push({ object, message: object.why });
  for (const object of removedObjects) capacity.push(...capacityOfNew(object, 'removed'));

  return {
    name,
    presence,
    added: added.map(nameOf),
    removed,
    changed,
    unchanged,
    refused,
    manual,
    rolls,
    references: referenceChanges(before.objects, after.objects),
    capacity,
  };
}

/**
 * Every leaf that differs, by path (preview.ts's `leaves`: list items with a
 * name are addressed by it). A multi-line string that is a YAML mapping (a
 * HelmChartConfig's `valuesContent`, a scrape config) is compared key by key,
 * so a one-line change of it reads as that line, not as the whole text.
 */
export function fieldChanges(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): FieldChange[] {
  const was = leaves(expandEmbeddedYaml(before));
  const now = leaves(expandEmbeddedYaml(after));
  const changes: FieldChange[] = [];
  for (const [path, value] of now) {
    if (was.get(path) !== value) changes.push({ path, before: was.get(path), after: value });
  }
  for (const [path, value] of was) {
    if (!now.has(path)) changes.push({ path, before: value });
  }
  return changes;
}

function expandEmbeddedYaml(value: unknown): unknown {
  if (typeof value === 'string' && value.includes('\n')) {
    const document = parseDocument(value);
    const parsed: unknown = document.errors.length === 0 ? document.toJS() : undefined;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? expandEmbeddedYaml(parsed) : value;
  }
  if (Array.isArray(value)) return value.map(expandEmbeddedYaml);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, expandEmbeddedYaml(item)]));
  }
  return value;
}

const isWorkload = (object: ManifestObject): boolean => object.group === 'apps' && ROLLOUT_KINDS.has(object.kind);
const isMigrateJob = (object: ManifestObject): boolean => object.group === 'batch' && object.kind === 'Job' && phaseName(object.file) === MIGRATE_FILE;

/** The StatefulSet fields the API server lets an update change; every other `spec` field is immutable. */
const STATEFULSET_MUTABLE = ['replicas', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'ordinals'];

/** Changes the API server refuses on update (`field is immutable`), each with the way through. */
function immutableChanges(was: ManifestObject, now: ManifestObject, fields: readonly FieldChange[]): Finding[] {
  const object = nameOf(now);
  const paths = (test: (path: string) => boolean) => fields.filter((f) => test(f.path)).map((f) => f.path);
  const refusal = (what: string, changedPaths: readonly string[], fix: string): Finding => ({
    object,
    message: `${what} is immutable (changed: ${changedPaths.join(', ')}): kubectl apply is refused with "field is immutable". ${fix}`,
  });
  const findings: Finding[] = [];
  const ref = `${resourceType(now)}/${now.name}`;
  const ns = now.namespace === undefined ? '' : `-n ${now.namespace} `;
  if (isWorkload(now) || (now.group === 'apps' && now.kind === 'ReplicaSet')) {
    const selector = paths((p) => p.startsWith('spec.selector.'));
    if (selector.length > 0) {
      findings.push(
        refusal('spec.selector', selector,
          `Delete it without its pods first (kubectl ${ns}delete ${ref} --cascade=orphan), deploy, then delete the old ReplicaSet once the new pods are ready; or keep the old selector`),
      );
    }
    if (now.kind === 'StatefulSet') {
      const frozen = paths((p) => p.startsWith('spec.') && !p.startsWith('spec.selector.') && !STATEFULSET_MUTABLE.includes(p.split(/[.[]/)[1]));
      if (frozen.length > 0) findings.push(refusal('a StatefulSet\'s spec outside replicas, template, updateStrategy, minReadySeconds and the PVC retention policy', frozen, `Delete it without its pods (kubectl ${ns}delete ${ref} --cascade=orphan) and deploy`));
    }
  }
  if (now.group === 'batch' && now.kind === 'Job' && !isMigrateJob(now)) {
    const frozen = paths((p) => p.startsWith('spec.template.') || p.startsWith('spec.selector.') || p === 'spec.completions');
    if (frozen.length > 0) findings.push(refusal('a Job\'s template', frozen, `Delete the Job (kubectl ${ns}delete ${ref}) before the deploy creates the new one`));
  }
  if (now.group === '' && now.kind === 'PersistentVolumeClaim') {
    const frozen = paths((p) => p.startsWith('spec.') && p !== 'spec.resources.requests.storage');
    if (frozen.length > 0) {
      findings.push(refusal('a PersistentVolumeClaim\'s spec, except growing spec.resources.requests.storage,', frozen,
        'A new claim (another name) and a copy of the data is the way to change it; or keep the old values'));
    }
    const size = storageChange(was, now);
    if (size !== undefined && size.after < size.before) {
      findings.push({ object, message: `spec.resources.requests.storage shrinks ${size.text}: a claim can only grow, kubectl apply is refused. Keep ${size.was}, or move the data to a new, smaller claim` });
    }
  }
  if (now.group === '' && now.kind === 'Service') {
    const ip = fields.filter((f) => (f.path === 'spec.clusterIP' || f.path.startsWith('spec.clusterIPs')) && f.after !== undefined);
    if (ip.length > 0) {
      findings.push(refusal('a Service\'s spec.clusterIP', ip.map((f) => f.path),
        `Leave clusterIP unset so the cluster keeps the one it allocated, or delete the Service (kubectl ${ns}delete ${ref}: clients lose it until the deploy re-creates it)`));
    }
  }
  if (now.group === '' && (now.kind === 'ConfigMap' || now.kind === 'Secret') && was.manifest.immutable === true) {
    const frozen = paths((p) => p.startsWith('data.') || p.startsWith('binaryData.') || p.startsWith('stringData.') || p === 'immutable');
    if (frozen.length > 0) findings.push(refusal(`an immutable ${now.kind}'s data`, frozen, `Give the changed content a new name, or delete it (kubectl ${ns}delete ${ref}) before the deploy`));
  }
  if (now.group === 'rbac.authorization.k8s.io' && (now.kind === 'RoleBinding' || now.kind === 'ClusterRoleBinding')) {
    const frozen = paths((p) => p.startsWith('roleRef.'));
    if (frozen.length > 0) findings.push(refusal('a binding\'s roleRef', frozen, `Delete the binding (kubectl ${ns}delete ${ref}) before the deploy, or bind the new role under another name`));
  }
  return findings;
}

interface StorageChange {
  readonly before: number;
  readonly after: number;
  readonly was: string;
  readonly text: string;
}

function storageChange(was: ManifestObject, now: ManifestObject): StorageChange | undefined {
  const request = (object: ManifestObject) => (object.manifest.spec as { resources?: { requests?: { storage?: unknown } } } | undefined)?.resources?.requests?.storage;
  const [from, to] = [request(was), request(now)];
  const [before, after] = [parseQuantity(from), parseQuantity(to)];
  if (before === undefined || after === undefined || before === after) return undefined;
  return { before, after, was: String(from), text: `${String(from)} -> ${String(to)}` };
}

/**
 * A claim that grows: fine on a StorageClass that allows expansion, a hand
 * step on one that does not. A class defined in the release is read; one that
 * is not is judged by NON_EXPANDING_CLASSES, and any other is flagged for a
 * look, since offline nothing says whether it expands.
 */
function claimResize(was: ManifestObject, now: ManifestObject, release: readonly ManifestObject[]): Finding[] {
  if (now.group !== '' || now.kind !== 'PersistentVolumeClaim') return [];
  const size = storageChange(was, now);
  if (size === undefined || size.after < size.before) return [];
  const named = (now.manifest.spec as { storageClassName?: unknown } | undefined)?.storageClassName;
  const className = typeof named === 'string' && named !== '' ? named : DEFAULT_CLASS;
  const which = typeof named === 'string' && named !== '' ? `StorageClass ${className}` : `the default StorageClass (${DEFAULT_CLASS} on k3s)`;
  const defined = release.find((o) => o.group === 'storage.k8s.io' && o.kind === 'StorageClass' && o.name === className);
  const object = nameOf(now);
  if (defined !== undefined ? defined.manifest.allowVolumeExpansion === true : false) return [];
  if (defined !== undefined || NON_EXPANDING_CLASSES.has(className)) {
    return [{
      object,
      message:
        `grows ${size.text} on ${which}, which cannot expand a claim: kubectl apply is refused. ` +
        `Keep ${size.was} in the config, or by hand: scale its workload to 0, back up the data, delete the claim, deploy (a new claim of the new size), restore the data`,
    }];
  }
  return [{
    object,
    message:
      `grows ${size.text} on ${which}, which is not in dist/: the apply is refused unless the class allows expansion. ` +
      `Check before the deploy: kubectl get storageclass ${className} -o jsonpath='{.allowVolumeExpansion}' must print true`,
  }];
}

/** The annotation a pod template carries the ConfigMap's hash under: `checksum/config` by default, `<prefix>/config-hash` by a product's choice. */
const isConfigHashKey = (key: string): boolean => key.startsWith('checksum/') || key.endsWith('config-hash');

/** `namespace/name` of each changed ConfigMap -> the data keys that changed. */
function changedConfigMapKeys(pairs: ReadonlyArray<{ now: ManifestObject; fields: readonly FieldChange[] }>): Map<string, string[]> {
  const changes = new Map<string, string[]>();
  for (const { now, fields } of pairs) {
    if (now.group !== '' || now.kind !== 'ConfigMap') continue;
    const keys = unique(fields.filter((f) => f.path.startsWith('data.') || f.path.startsWith('binaryData.')).map((f) => f.path.slice(f.path.indexOf('.') + 1).split('.')[0]));
    if (keys.length > 0) changes.set(`${now.namespace}/${now.name}`, keys);
  }
  return changes;
}

/**
 * Why the pods roll, the release's reasons first: the image, then the config
 * hash with the ConfigMap keys behind it, then the rest, one entry per kind of
 * reason with its details (`pod spec (terminationGracePeriodSeconds,
 * topologySpreadConstraints)`). The version label moves with the image tag, so
 * it is not named again beside one.
 */
function rollReasons(now: ManifestObject, template: readonly FieldChange[], configChanges: ReadonlyMap<string, string[]>): string[] {
  const details = new Map<string, string[]>();
  for (const { kind, detail } of template.map(templateReason)) {
    const known = details.get(kind) ?? [];
    details.set(kind, detail === undefined || known.includes(detail) ? known : [...known, detail]);
  }
  const imageChanged = details.has('image tag') || details.has('image');
  const labels = details.get('pod labels');
  if (imageChanged && labels !== undefined) {
    const rest = labels.filter((key) => key !== LABEL_VERSION);
    if (rest.length > 0) details.set('pod labels', rest);
    else details.delete('pod labels');
  }
  if (details.has('config hash')) {
    const read = unique(readsOfPods(now).filter((r) => r.kind === 'ConfigMap').map((r) => r.name));
    details.set('config hash', read.filter((name) => configChanges.has(`${now.namespace}/${name}`)).map((name) => `${name}: ${configChanges.get(`${now.namespace}/${name}`)!.join(', ')}`));
  }
  const first = ['image tag', 'image', 'config hash'];
  const kinds = [...first.filter((kind) => details.has(kind)), ...[...details.keys()].filter((kind) => !first.includes(kind))];
  return kinds.map((kind) => (details.get(kind)!.length === 0 ? kind : `${kind} (${details.get(kind)!.join(kind === 'config hash' ? '; ' : ', ')})`));
}

/** A workload whose pod template changed, or the migrate Job the deploy recreates: how it rolls and why. */
function rollOf(now: ManifestObject, fields: readonly FieldChange[], configChanges: ReadonlyMap<string, string[]>): Roll | undefined {
  const template = fields.filter((f) => f.path.startsWith('spec.template.'));
  const object = nameOf(now);
  if (now.group === 'helm.cattle.io' && now.kind === 'HelmChartConfig') {
    const values = fields.filter((f) => f.path.startsWith('spec.valuesContent'));
    if (values.length === 0) return undefined;
    return { object, how: helmRollout(now), downtime: false, why: unique(values.map((f) => `values ${f.path.slice('spec.valuesContent.'.length).split(/[.[]/)[0]}`)) };
  }
  if (template.length === 0) return undefined;
  const why = rollReasons(now, template, configChanges);
  if (isMigrateJob(now)) {
    return { object, how: 'recreated and run by npm run deploy (it deletes the Job before applying; a plain kubectl apply would be refused: a Job\'s template is immutable)', downtime: false, why };
  }
  if (!isWorkload(now)) return undefined;
  const strategy = strategyOf(now.manifest);
  const how = now.kind === 'DaemonSet' ? `node by node: ${strategy.text}` : now.kind === 'StatefulSet' ? `pod by pod, highest ordinal first: ${strategy.text}` : strategy.text;
  return { object, how, downtime: strategy.downtime, why };
}

/** k3s's helm-controller upgrades the chart; Traefik's pods (a DaemonSet here) roll when their template changes. */
function helmRollout(now: ManifestObject): string {
  const values = expandEmbeddedYaml((now.manifest.spec as { valuesContent?: unknown } | undefined)?.valuesContent) as {
    deployment?: { kind?: string };
    updateStrategy?: { rollingUpdate?: { maxUnavailable?: unknown; maxSurge?: unknown } };
  };
  const kind = values?.deployment?.kind ?? 'Deployment';
  const rolling = values?.updateStrategy?.rollingUpdate;
  const strategy = rolling === undefined ? "the chart's default strategy" : `maxUnavailable ${String(rolling.maxUnavailable ?? 1)}, maxSurge ${String(rolling.maxSurge ?? 0)}`;
  return `helm upgrade of the ${now.name} chart by k3s's helm-controller; when its pod template changes, the ${kind} rolls${kind === 'DaemonSet' ? ' node by node' : ''} (${strategy})`;
}

/** One reason a pod-template leaf gives: its kind (`probes`) and what it is about (`api`). */
interface Reason {
  readonly kind: string;
  readonly detail?: string;
}

/** Why a pod-template leaf changing rolls the pods, in the reviewer's words. */
function templateReason(change: FieldChange): Reason {
  const path = change.path.slice('spec.template.'.length);
  const annotation = /^metadata\.annotations\.(.+)$/.exec(path);
  if (annotation) return isConfigHashKey(annotation[1]) ? { kind: 'config hash' } : { kind: 'pod annotations', detail: annotation[1] };
  if (path.startsWith('metadata.labels.')) return { kind: 'pod labels', detail: path.slice('metadata.labels.'.length) };
  const container = /^spec\.(?:init)?[cC]ontainers\[([^\]]+)\](?:\.(.*))?$/.exec(path);
  if (container) {
    const [, name, rest = ''] = container;
    if (rest === 'image') return imageReason(name, change);
    if (rest === '' || rest === 'name') {
      return { kind: change.before === undefined ? 'container added' : change.after === undefined ? 'container removed' : 'container changed', detail: name };
    }
    if (rest.startsWith('resources')) return { kind: 'resources', detail: name };
    if (/^(startup|readiness|liveness)Probe/.test(rest)) return { kind: 'probes', detail: name };
    if (rest.startsWith('env')) return { kind: 'environment', detail: name };
    if (rest.startsWith('volumeMounts')) return { kind: 'volumes', detail: name };
    if (rest.startsWith('command') || rest.startsWith('args')) return { kind: 'command', detail: name };
    return { kind: 'container fields', detail: `${name}: ${rest.split(/[.[]/)[0]}` };
  }
  if (path.startsWith('spec.volumes')) return { kind: 'volumes' };
  return { kind: 'pod spec', detail: path.slice('spec.'.length).split(/[.[]/)[0] };
}

function imageReason(container: string, change: FieldChange): Reason {
  const image = (json?: string) => (json === undefined ? undefined : (JSON.parse(json) as string));
  const [before, after] = [image(change.before), image(change.after)];
  if (before !== undefined && after !== undefined) {
    const [was, now] = [parseImageReference(before), parseImageReference(after)];
    const sameImage = was.registry === now.registry && was.repository === now.repository && was.digest === now.digest;
    if (sameImage && was.tag !== now.tag) return { kind: 'image tag', detail: `${container}: ${was.tag} -> ${now.tag}` };
  }
  return { kind: 'image', detail: `${container}: ${before} -> ${after}` };
}

const unique = (items: readonly string[]): string[] => [...new Set(items)];

/**
 * What the deploy does with an object that left the release, by prune.ts's
 * rules: it lists the kinds of its scope in the release's namespaces, by the
 * stack labels and this environment's, and keeps what holds data.
 */
function removedFate(
  object: ManifestObject,
  env: string,
  release: readonly ManifestObject[],
  presence: EnvironmentReview['presence'],
  labelsOf: () => StackLabels,
): RemovedObject {
  const base = nameOf(object);
  const ref = `${resourceType(object)}/${object.name}`;
  const byHand = (why: string): RemovedObject => ({
    ...base,
    fate: 'not pruned',
    why: `${why}; delete it by hand once the release is out (kubectl ${object.namespace === undefined ? '' : `-n ${object.namespace} `}delete ${ref})`,
  });
  if (presence === 'removed') return byHand(`dist/${env}/ is gone, so no deploy of ${env} runs to prune it`);
  if (object.namespace === undefined) return byHand('cluster-scoped objects are never pruned');
  const labels = labelsOf();
  const scope = pruneScope({ dir: `dist/${env}`, files: [], objects: release }, env, labels);
  if (!scope.namespaces.includes(object.namespace)) return byHand(`the release has nothing left in namespace ${object.namespace}, and prune lists only the release's namespaces`);
  if (!scope.kinds.includes(resourceType(object))) return byHand(`prune never lists ${resourceType(object)} objects`);
  // The labels of the deploy's prune selector, in its order.
  const missing = stackLabelPairs(labels, env)
    .filter(([key, value]) => object.labels[key] !== value)
    .map(([key, value]) => `${key}=${value}`);
  if (missing.length > 0) return byHand(`it lacks the label${missing.length > 1 ? 's' : ''} prune selects by (${missing.join(', ')})`);
  if (KEPT_KINDS.has(resourceType(object))) {
    return { ...base, fate: 'kept', why: `the deploy keeps it: it holds data; delete it by hand once the data is not needed (kubectl -n ${object.namespace} delete ${ref})` };
  }
  return { ...base, fate: 'pruned', why: 'the deploy deletes it (prune)' };
}

const RESOURCE_LEAF = /^spec\.template\.spec\.(?:init)?[cC]ontainers\[([^\]]+)\]\.resources\.(.+)$/;

/** Replicas, container resources, PDB and HPA spec changes of one changed object. */
function capacityChanges(now: ManifestObject, fields: readonly FieldChange[]): Finding[] {
  const object = nameOf(now);
  const show = (json?: string) => (json === undefined ? 'unset' : json.replace(/^"(.*)"$/, '$1'));
  const findings: Finding[] = [];
  if (isWorkload(now) || (now.group === 'batch' && now.kind === 'Job')) {
    const replicas = fields.find((f) => f.path === 'spec.replicas');
    if (replicas !== undefined) {
      findings.push({
        object,
        message: `replicas ${show(replicas.before)} -> ${show(replicas.after)}` +
          (replicas.after === undefined && now.kind === 'Deployment'
            ? ': unless an HPA already owns spec.replicas, the API server sets it to 1 on apply and the Deployment scales down once'
            : ''),
      });
    }
    const resources = fields.map((f) => ({ f, match: RESOURCE_LEAF.exec(f.path) })).filter(({ match }) => match !== null);
    for (const { f, match } of resources) findings.push({ object, message: `${match![1]} ${match![2]} ${show(f.before)} -> ${show(f.after)}` });
  }
  if ((now.group === 'policy' && now.kind === 'PodDisruptionBudget') || (now.group === 'autoscaling' && now.kind === 'HorizontalPodAutoscaler')) {
    for (const f of fields.filter((field) => field.path.startsWith('spec.'))) findings.push({ object, message: `${f.path.slice('spec.'.length)} ${show(f.before)} -> ${show(f.after)}` });
  }
  return findings;
}

/** A PDB or HPA that appears or goes, with the numbers that matter. */
function capacityOfNew(object: ManifestObject, change: 'added' | 'removed'): Finding[] {
  const spec = (object.manifest.spec ?? {}) as Record<string, unknown>;
  if (object.group === 'policy' && object.kind === 'PodDisruptionBudget') {
    const budget = 'minAvailable' in spec ? `minAvailable ${String(spec.minAvailable)}` : `maxUnavailable ${String(spec.maxUnavailable)}`;
    return [{ object: nameOf(object), message: `${change} (${budget})` }];
  }
  if (object.group === 'autoscaling' && object.kind === 'HorizontalPodAutoscaler') {
    const target = (spec.scaleTargetRef ?? {}) as { kind?: string; name?: string };
    const text = `${change} (${target.kind}/${target.name}, ${String(spec.minReplicas ?? 1)} to ${String(spec.maxReplicas)} replicas)`;
    return [{ object: nameOf(object), message: change === 'removed' ? `${text}: the workload keeps the HPA's last replica count until its own spec.replicas is applied` : text }];
  }
  return [];
}

/** ConfigMaps the cluster itself keeps in every namespace: kube-controller-manager publishes the API server's CA as kube-root-ca.crt. */
const CLUSTER_CONFIGMAPS = new Set(['kube-root-ca.crt']);

/** Secrets and ConfigMaps (and their keys) that pods start or stop reading; the cluster's own ConfigMaps are not news. */
function referenceChanges(before: readonly ManifestObject[], after: readonly ManifestObject[]): ReferenceChange[] {
  const [was, now] = [readsOf(before), readsOf(after)];
  const shipped = (kind: string, namespace: string, name: string) =>
    kind === 'ConfigMap' && after.some((o) => o.group === '' && o.kind === 'ConfigMap' && o.namespace === namespace && o.name === name);
  const changes: ReferenceChange[] = [];
  for (const [key, read] of now) {
    if (!was.has(key)) changes.push({ change: 'new', ...read, shipped: shipped(read.kind, read.namespace, read.name) });
  }
  for (const [key, read] of was) {
    if (!now.has(key)) changes.push({ change: 'dropped', ...read, shipped: shipped(read.kind, read.namespace, read.name) });
  }
  return changes;
}

interface Read {
  readonly kind: 'Secret' | 'ConfigMap';
  readonly namespace: string;
  readonly name: string;
  readonly key?: string;
  readonly optional: boolean;
  readonly readers: string[];
}

function readsOf(objects: readonly ManifestObject[]): Map<string, Read> {
  const reads = new Map<string, Read>();
  for (const object of objects) {
    if (object.namespace === undefined) continue;
    for (const read of readsOfPods(object).filter((r) => !(r.kind === 'ConfigMap' && CLUSTER_CONFIGMAPS.has(r.name)))) {
      const id = `${read.kind}/${object.namespace}/${read.name}/${read.key ?? ''}`;
      const known = reads.get(id);
      const reader = `${object.kind}/${object.name}`;
      if (known === undefined) {
        reads.set(id, { kind: read.kind, name: read.name, key: read.key, optional: read.optional, namespace: object.namespace, readers: [reader] });
      } else {
        reads.set(id, { ...known, optional: known.optional && read.optional, readers: unique([...known.readers, reader]) });
      }
    }
  }
  return reads;
}

/** What the pods of an object read; nothing for a PodTemplate object, which runs no pods. */
function readsOfPods(object: ManifestObject): PodRead[] {
  const template = podTemplateOf(object.manifest);
  return template?.runsPods === true ? podReads(template.spec) : [];
}
