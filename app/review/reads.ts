/**
 * The Secrets and ConfigMaps (and their keys) that pods start or stop reading.
 */
import { ManifestObject } from '../shared/manifest-object';
import { PodRead, podReads, podTemplateOf } from '../../manifest-check/manifests';
import { unique } from './objects';
import type { ReferenceChange } from './types';

/** ConfigMaps the cluster itself keeps in every namespace: kube-controller-manager publishes the API server's CA as kube-root-ca.crt. */
const CLUSTER_CONFIGMAPS = new Set(['kube-root-ca.crt']);

/** Secrets and ConfigMaps (and their keys) that pods start or stop reading; the cluster's own ConfigMaps are not news. */
export function referenceChanges(before: readonly ManifestObject[], after: readonly ManifestObject[]): ReferenceChange[] {
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
export function readsOfPods(object: ManifestObject): PodRead[] {
  const template = podTemplateOf(object.manifest);
  return template?.runsPods === true ? podReads(template.spec) : [];
}
