/**
 * How a workload replaces its pods: the kinds `kubectl rollout` understands
 * and the strategy their spec sets, in the operator's words. The deploy's
 * change preview and the review word a rollout the same way through these.
 */

/** Workload kinds that `kubectl rollout status` and `rollout undo` understand. */
export const ROLLOUT_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

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
