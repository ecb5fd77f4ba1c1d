/**
 * Capacity changes: replicas, container resources, PDBs and HPAs that change,
 * appear or go.
 */
import { ManifestObject } from '../shared/manifest-object';
import { isWorkload, nameOf } from './objects';
import type { FieldChange, Finding } from './types';

const RESOURCE_LEAF = /^spec\.template\.spec\.(?:init)?[cC]ontainers\[([^\]]+)\]\.resources\.(.+)$/;

/** Replicas, container resources, PDB and HPA spec changes of one changed object. */
export function capacityChanges(now: ManifestObject, fields: readonly FieldChange[]): Finding[] {
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
export function capacityOfNew(object: ManifestObject, change: 'added' | 'removed'): Finding[] {
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
