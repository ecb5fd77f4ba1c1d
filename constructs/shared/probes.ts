import { k8s } from './k8s';
import { isRecord, ProblemList, ValueProblem, wholeNumberAtLeast } from './validation';

/** Timing of one probe; a field left out keeps the workload's default. */
export interface ProbeTiming {
  /**
   * Seconds after the container starts (or the startup probe passes) before the first check.
   * @default the workload's value, else Kubernetes' 0
   */
  readonly initialDelaySeconds?: number;
  /** Seconds between checks. @default the workload's value, else Kubernetes' 10 */
  readonly periodSeconds?: number;
  /** Seconds before one check counts as failed. @default the workload's value, else Kubernetes' 1 */
  readonly timeoutSeconds?: number;
  /**
   * Consecutive failures before the probe acts (restart, or removal from endpoints).
   * @default the workload's value, else Kubernetes' 3
   */
  readonly failureThreshold?: number;
}

/** Overrides for a workload's three probes. */
export interface ProbeOverrides {
  /** Holds off the other probes until the app has booted. @default the workload's startup timing */
  readonly startup?: ProbeTiming;
  /** Takes the pod out of the Service while it fails. @default the workload's readiness timing */
  readonly readiness?: ProbeTiming;
  /** Restarts the container while it fails (a hung server). @default the workload's liveness timing */
  readonly liveness?: ProbeTiming;
}

/** An HTTP GET probe on `path` and `port`, with defaults merged under overrides and validated. */
export function httpProbe(path: string, port: number, defaults: ProbeTiming, overrides: ProbeTiming = {}): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromNumber(port) },
    ...{ ...defaults, ...overrides },
  };
}

/** A TCP probe, for servers that speak no HTTP (Redis). */
export function tcpProbe(port: number, timing: ProbeTiming): k8s.Probe {
  return { tcpSocket: { port: k8s.IntOrString.fromNumber(port) }, ...timing };
}

/**
 * The problems of one probe's timing overrides (`prop` like `probes.readiness`):
 * a delay may be 0, a period, timeout or threshold of 0 is refused by the API server.
 */
export function probeTimingProblems(owner: string, prop: string, overrides: unknown): ValueProblem[] {
  const problems = new ProblemList(owner);
  if (!isRecord(overrides)) return problems.problems;
  for (const field of ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'failureThreshold'] as const) {
    const min = field === 'initialDelaySeconds' ? 0 : 1;
    problems.number(`${prop}.${field}`, overrides[field], wholeNumberAtLeast(min));
  }
  return problems.problems;
}

/** The problems of a workload's three probe overrides (`probes.startup`, `.readiness`, `.liveness`). */
export function probeOverridesProblems(owner: string, probes: unknown): ValueProblem[] {
  if (!isRecord(probes)) return [];
  return (['startup', 'readiness', 'liveness'] as const).flatMap((probe) => probeTimingProblems(owner, `probes.${probe}`, probes[probe]));
}

/** Readiness after the startup probe passes: 5 s delay so a first check does not race the server. */
export const READINESS_TIMING: ProbeTiming = { initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 5 };

/** Liveness starts 30 s in and checks every 30 s: a false negative must not cascade into restarts. */
export const LIVENESS_TIMING: ProbeTiming = { initialDelaySeconds: 30, periodSeconds: 30, timeoutSeconds: 10 };
