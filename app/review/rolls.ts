/**
 * Which workloads roll and why: the pod-template leaves that changed, in the
 * reviewer's words, and the rollout strategy that replaces the pods.
 */
import { parseImageReference } from '../../manifest-check/manifests';
import { ManifestObject } from '../shared/manifest-object';
import { strategyOf } from '../shared/rollout-strategy';
import { LABEL_VERSION } from '../../constructs/shared/labels';
import { expandEmbeddedYaml } from './fields';
import { isMigrateJob, isWorkload, nameOf, unique } from './objects';
import { readsOfPods } from './reads';
import type { FieldChange, Roll } from './types';

/** The annotation a pod template carries the ConfigMap's hash under: `checksum/config` by default, `<prefix>/config-hash` by a product's choice. */
const isConfigHashKey = (key: string): boolean => key.startsWith('checksum/') || key.endsWith('config-hash');

/** `namespace/name` of each changed ConfigMap -> the data keys that changed. */
export function changedConfigMapKeys(pairs: ReadonlyArray<{ now: ManifestObject; fields: readonly FieldChange[] }>): Map<string, string[]> {
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
export function rollOf(now: ManifestObject, fields: readonly FieldChange[], configChanges: ReadonlyMap<string, string[]>): Roll | undefined {
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
