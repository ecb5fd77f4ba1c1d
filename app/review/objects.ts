/**
 * How the review names the objects it reports, and which of them the deploy
 * rolls out or recreates.
 */
import { ManifestObject } from '../shared/manifest-object';
import { ROLLOUT_KINDS } from '../shared/rollout-strategy';
import { MIGRATE_FILE, phaseName } from '../shared/stack-files';
import type { ObjectName } from './types';

export const nameOf = (object: ManifestObject): ObjectName => ({ kind: object.kind, namespace: object.namespace, name: object.name, file: object.file });

/** `Kind namespace/name`, or `Kind name` for a cluster-scoped object. */
export const displayName = (object: Pick<ObjectName, 'kind' | 'namespace' | 'name'>): string =>
  object.namespace === undefined ? `${object.kind} ${object.name}` : `${object.kind} ${object.namespace}/${object.name}`;

export const isWorkload = (object: ManifestObject): boolean => object.group === 'apps' && ROLLOUT_KINDS.has(object.kind);
export const isMigrateJob = (object: ManifestObject): boolean => object.group === 'batch' && object.kind === 'Job' && phaseName(object.file) === MIGRATE_FILE;

export const unique = (items: readonly string[]): string[] => [...new Set(items)];
