import { durationMs } from './kubectl';
import { DeployError } from './options';
import { rollBack, rolloutUndoArgs, rolloutStatusArgs, workloadRef } from './rollout';
import { DeployStopped, sleep, stopReason } from './stop';
import { note, PlanLine, Step } from './step';
import { ManifestObject, StackManifests } from '../shared/manifest-object';

/** The ConfigMap key that holds the release's public API URL (the stack writes it for the Next.js apps). */
const PUBLIC_API_URL_KEY = 'NEXT_PUBLIC_API_URL';
const RETRY_MS = 2000;
/** Which workloads roll back is known only after the preview: the plan names them generically. */
const PLACEHOLDER = { kind: 'Deployment', name: '<name>', namespace: '<ns>' };
const ATTEMPT_TIMEOUT_MS = 10_000;

/**
 * The URL the health check asks, through the public route (Cloudflare,
 * Traefik, the Ingress, a pod): the release's own public API URL plus
 * `/health/`, i.e. `https://<domains.api>/api/health/`. Undefined when the
 * release has no such URL (then --health-url is needed, or --no-health-check).
 */
export function defaultHealthUrl(manifests: StackManifests): string | undefined {
  for (const object of manifests.objects) {
    if (object.kind !== 'ConfigMap') continue;
    const url = (object.manifest.data as Record<string, unknown> | undefined)?.[PUBLIC_API_URL_KEY];
    if (typeof url === 'string' && url !== '') return `${url.replace(/\/+$/, '')}/health/`;
  }
  return undefined;
}

export interface HealthSettings {
  readonly url: string;
  readonly timeout: string;
  readonly rollbackOnFailure: boolean;
  readonly rolloutTimeout: string;
}

/**
 * After the rollout, like the old Swarm script: GET the public health URL until
 * it answers 2xx or the timeout passes. A failure rolls back (with
 * --rollback-on-failure) the workloads this deploy rolled, from the preview.
 */
export function healthStep(settings: HealthSettings, rolled: () => readonly ManifestObject[]): Step {
  const plan: PlanLine[] = [
    note(`GET ${settings.url} until it answers 2xx (every ${RETRY_MS / 1000}s, at most ${settings.timeout})`),
    settings.rollbackOnFailure
      ? {
          kind: 'only-if',
          when: 'the health check fails (--rollback-on-failure): for each workload the preview showed rolling',
          calls: [rolloutUndoArgs(PLACEHOLDER), rolloutStatusArgs(PLACEHOLDER, settings.rolloutTimeout)],
        }
      : note('a failed check stops the deploy before prune; without --rollback-on-failure nothing is undone'),
  ];
  return {
    title: `health check ${settings.url}`,
    plan,
    async run({ kubectl, output, stop }) {
      const deadline = Date.now() + durationMs(settings.timeout);
      let last: string;
      for (let attempt = 1; ; attempt++) {
        last = await probe(settings.url, stop);
        if (last === 'ok') {
          output.out(`health check passed: ${settings.url} answered 2xx (attempt ${attempt})\n`);
          return;
        }
        output.out(`health check attempt ${attempt}: ${last}\n`);
        if (Date.now() + RETRY_MS > deadline) break;
        await sleep(RETRY_MS, stop);
      }
      const workloads = rolled();
      const lines = [`health check failed: ${settings.url} did not answer 2xx within ${settings.timeout} (last: ${last})`];
      if (settings.rollbackOnFailure && workloads.length > 0) {
        const { undone, undoFailed } = await rollBack(kubectl, output, workloads, settings.rolloutTimeout);
        if (undone.length > 0) lines.push(`rolled back what this deploy rolled: ${undone.join(', ')}`);
        if (undoFailed.length > 0) lines.push(`rollback did not settle: ${undoFailed.join(', ')}`);
      } else if (settings.rollbackOnFailure) {
        lines.push('this deploy rolled no workload, so there is nothing to roll back');
      } else if (workloads.length > 0) {
        lines.push(
          'Nothing was undone. To go back: ' +
            workloads.map((w) => `kubectl -n ${w.namespace} rollout undo ${workloadRef(w)}`).join(' ; ') +
            ' (or re-run with --rollback-on-failure)',
        );
      }
      lines.push('Prune did not run. Check the route: curl -sv ' + settings.url + ' ; kubectl -n <ns> get ingress,pods');
      throw new DeployError(lines.join('\n'));
    },
  };
}

/** One GET: 'ok' for 2xx, otherwise what went wrong. A stop aborts the request and throws. */
async function probe(url: string, stop: AbortSignal | undefined): Promise<string> {
  const signals = [AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), ...(stop === undefined ? [] : [stop])];
  try {
    const response = await fetch(url, { signal: AbortSignal.any(signals), redirect: 'manual' });
    await response.arrayBuffer().catch(() => undefined);
    return response.status >= 200 && response.status < 300 ? 'ok' : `HTTP ${response.status}`;
  } catch (error) {
    if (stop?.aborted) throw new DeployStopped(stopReason(stop));
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (error as Error).message;
  }
}
