/**
 * A probe on a port its container does not declare: the kubelet cannot
 * resolve a port name the container lacks, and a number the container does
 * not list is not where it listens. A readiness probe that never passes keeps
 * the pods out of every Service; a liveness or startup probe restarts them in a loop.
 */
import { ManifestObject } from '../shared/manifest-object';
import { nameOf } from './objects';
import { podRunners } from './selectors';
import type { Finding } from './types';

type Port = number | string;

interface Probe {
  readonly httpGet?: { readonly port?: Port; readonly host?: string };
  readonly tcpSocket?: { readonly port?: Port; readonly host?: string };
  readonly grpc?: { readonly port?: Port };
}

interface Container {
  readonly name: string;
  readonly ports?: ReadonlyArray<{ readonly containerPort?: number; readonly name?: string }>;
  readonly startupProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
}

const EFFECTS = {
  readinessProbe: 'its pods never become ready, so they get no traffic and a rollout waits for them forever',
  livenessProbe: 'the kubelet restarts it every time the probe fails, in a loop (CrashLoopBackOff)',
  startupProbe: 'the kubelet restarts it once the startup probe gives up, in a loop (CrashLoopBackOff)',
} as const;

/** Every probe of a side's pod templates on a port its container does not declare. */
export function probePortFindings(objects: readonly ManifestObject[]): Finding[] {
  const findings: Finding[] = [];
  for (const runner of podRunners(objects)) {
    const spec = (runner.spec ?? {}) as { containers?: readonly Container[]; initContainers?: readonly Container[] };
    for (const container of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      const ports = container.ports ?? [];
      for (const kind of ['startupProbe', 'readinessProbe', 'livenessProbe'] as const) {
        const probe = container[kind];
        const action = probe?.httpGet ?? probe?.tcpSocket ?? probe?.grpc;
        // A probe of another host is not about this container's ports.
        if (action?.port === undefined || (action as { host?: string }).host !== undefined) continue;
        const port = action.port;
        const declared = typeof port === 'number' ? ports.some((p) => p.containerPort === port) : ports.some((p) => p.name === port);
        // A container that declares no ports says nothing of where it listens; a name must still be declared.
        if (declared || (typeof port === 'number' && ports.length === 0)) continue;
        const listed = ports.map((p) => `${p.containerPort}${p.name === undefined ? '' : ` "${p.name}"`}`).join(', ');
        findings.push({
          object: nameOf(runner.object),
          message:
            `container ${container.name}'s ${kind} checks port ${port}, which the container does not declare ` +
            `(${ports.length === 0 ? 'it declares no ports' : `it declares ${listed}`}): ${EFFECTS[kind]}`,
        });
      }
    }
  }
  return findings;
}
