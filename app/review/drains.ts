/**
 * A PodDisruptionBudget that lets no pod be evicted: a node drain (kubectl
 * drain, a k3s upgrade) then waits forever. That was the production incident
 * of the SPEC: the worker's PDB had minAvailable 1 with its one replica.
 */
import { ManifestObject } from '../shared/manifest-object';
import { nameOf } from './objects';
import type { LabelSelector } from '../../manifest-check/label-selector';
import { podRunners, runnerName, scalerOf, selectedBy } from './selectors';
import type { Finding } from './types';

const DRAIN = 'so a node drain (kubectl drain, a k3s upgrade) waits forever';

/** Every PDB of a side that blocks every drain of the pods it selects, in object order. */
export function drainBlocks(objects: readonly ManifestObject[]): Finding[] {
  const runners = podRunners(objects);
  const findings: Finding[] = [];
  for (const pdb of objects.filter((o) => o.group === 'policy' && o.kind === 'PodDisruptionBudget')) {
    const spec = (pdb.manifest.spec ?? {}) as { selector?: LabelSelector; minAvailable?: number | string; maxUnavailable?: number | string };
    if (spec.selector === undefined) continue;
    // Evictions guard the pods of replicated workloads; a DaemonSet's pods are left by a drain, a Job's run out.
    const selected = selectedBy(pdb, spec.selector, runners).filter((r) => r.object.group === 'apps' && (r.object.kind === 'Deployment' || r.object.kind === 'StatefulSet'));
    if (selected.length === 0) continue;
    const workloads = selected.map(runnerName).join(', ');
    if (spec.maxUnavailable !== undefined) {
      if (spec.maxUnavailable === 0 || spec.maxUnavailable === '0%') {
        findings.push({ object: nameOf(pdb), message: `maxUnavailable ${String(spec.maxUnavailable)}: no pod of ${workloads} may be evicted, ${DRAIN}; allow at least 1` });
      }
      continue;
    }
    if (spec.minAvailable === undefined) continue;
    const counts = selected.map((r) => replicasOf(r.object, objects));
    const replicas = counts.reduce((sum, c) => sum + c.replicas, 0);
    const scalers = counts.flatMap((c) => (c.scaler === undefined ? [] : [`HorizontalPodAutoscaler ${c.scaler}'s minReplicas`]));
    const min = spec.minAvailable;
    // A percentage is rounded up, as the disruption controller does.
    const needed = typeof min === 'string' && min.endsWith('%') ? Math.ceil((Number(min.slice(0, -1)) * replicas) / 100) : Number(min);
    if (replicas > 0 && needed >= replicas) {
      findings.push({
        object: nameOf(pdb),
        message:
          `minAvailable ${String(min)} with ${replicas} replica${replicas === 1 ? '' : 's'} of ${workloads}${scalers.length > 0 ? ` (${scalers.join(', ')})` : ''}: ` +
          `no pod may be evicted, ${DRAIN}; keep minAvailable below the replicas (or maxUnavailable 1)`,
      });
    }
  }
  return findings;
}

/** The replicas a drain can count on: an HPA's minReplicas when one scales the workload, else its own (1 when unset). */
function replicasOf(workload: ManifestObject, objects: readonly ManifestObject[]): { replicas: number; scaler?: string } {
  const scaler = scalerOf(workload, objects);
  if (scaler !== undefined) return { replicas: Number((scaler.manifest.spec as { minReplicas?: number }).minReplicas ?? 1), scaler: scaler.name };
  return { replicas: Number((workload.manifest.spec as { replicas?: number }).replicas ?? 1) };
}
