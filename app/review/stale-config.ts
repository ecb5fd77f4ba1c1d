/**
 * A ConfigMap or Secret whose data changes while the pods that read it do not
 * roll: pods do not reload their environment, so they keep the old values
 * until something restarts them. A workload whose pod template changes anyway
 * (the config hash, an image) rolls and reads the new values.
 */
import { ManifestObject, objectKey } from '../shared/manifest-object';
import { fieldChanges } from './fields';
import { isWorkload, nameOf, unique } from './objects';
import { readsOfPods } from './reads';
import { rollOf } from './rolls';
import type { Finding } from './types';

const DATA_FIELDS = ['data', 'binaryData', 'stringData'] as const;

/** The keys of a ConfigMap or Secret whose value differs between the two sides, in the new side's order. */
function changedDataKeys(was: ManifestObject, now: ManifestObject): string[] {
  const values = (o: ManifestObject) =>
    new Map(DATA_FIELDS.flatMap((field) => Object.entries((o.manifest[field] ?? {}) as Record<string, unknown>).map(([key, value]) => [key, JSON.stringify(value)] as const)));
  const [before, after] = [values(was), values(now)];
  return unique([...after.keys(), ...before.keys()]).filter((key) => before.get(key) !== after.get(key));
}

/** Per changed ConfigMap or Secret: the workloads that read a changed key and do not roll. */
export function unrolledConfig(before: readonly ManifestObject[], after: readonly ManifestObject[]): Finding[] {
  const old = new Map(before.map((o) => [objectKey(o), o]));
  const rolls = (workload: ManifestObject) => {
    const was = old.get(objectKey(workload));
    // A new workload starts its pods with the new values.
    return was === undefined || rollOf(workload, fieldChanges(was.manifest, workload.manifest), new Map()) !== undefined;
  };
  const findings: Finding[] = [];
  for (const now of after.filter((o) => o.group === '' && (o.kind === 'ConfigMap' || o.kind === 'Secret'))) {
    const was = old.get(objectKey(now));
    if (was === undefined) continue;
    const changed = changedDataKeys(was, now);
    if (changed.length === 0) continue;
    const stale = after
      .filter((o) => isWorkload(o) && o.namespace === now.namespace && !rolls(o))
      .map((workload) => ({
        workload,
        keys: readsOfPods(workload)
          .filter((r) => r.via !== 'pull' && r.kind === now.kind && r.name === now.name)
          .flatMap((r) => (r.key === undefined ? changed : changed.filter((key) => key === r.key))),
      }))
      .filter(({ keys }) => keys.length > 0);
    if (stale.length === 0) continue;
    const keys = changed.filter((key) => stale.some((s) => s.keys.includes(key)));
    const one = stale.length === 1;
    const names = stale.map(({ workload }) => `${workload.kind} ${workload.name}`).join(', ');
    const restart = stale.map(({ workload }) => `${workload.kind.toLowerCase()}/${workload.name}`).join(' ');
    findings.push({
      object: nameOf(now),
      message:
        `${keys.join(', ')} changed, but ${names}, which read${one ? 's' : ''} ${keys.length === 1 ? 'it' : 'them'}, ${one ? 'does' : 'do'} not roll: ` +
        `${one ? 'its' : 'their'} pods keep the old values until restarted (kubectl -n ${now.namespace} rollout restart ${restart})`,
    });
  }
  return findings;
}
