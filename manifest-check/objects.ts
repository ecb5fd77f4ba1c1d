/**
 * Naming objects the way findings and exemptions print them. Their API group
 * and scope come from manifests.ts, which the deploy and the review read too.
 */
import { apiGroupOf } from './manifests';
import type { Json, KubeObject, ManifestDocument } from './types';

/** The label findings and exemptions use: `Kind namespace/name` or `Kind name`. */
export function objectLabel(kind: string, namespace: string, name: string): string {
  return namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
}

export function isPlainObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Reads the identity of a document, or undefined when it is not an object with
 * string apiVersion and kind (the schema rule reports those documents).
 */
export function toKubeObject(doc: ManifestDocument): KubeObject | undefined {
  const raw = doc.object;
  if (!isPlainObject(raw) || typeof raw.apiVersion !== 'string' || typeof raw.kind !== 'string') return undefined;
  const metadata = isPlainObject(raw.metadata) ? raw.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  return {
    doc,
    manifest: raw,
    apiVersion: raw.apiVersion,
    group: apiGroupOf(raw.apiVersion),
    kind: raw.kind,
    name,
    namespace,
    labels: isPlainObject(metadata.labels) ? metadata.labels : {},
    file: doc.file,
    label: objectLabel(raw.kind, namespace, name || '<no name>'),
  };
}
