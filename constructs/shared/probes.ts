import { k8s } from 'cdk8s-plus-28';
import { check, wholeNumberProblem } from './validation';

/** Timing of one probe; a field left out keeps the workload's default. */
export interface ProbeTiming {
  /** Seconds after the container starts (or the startup probe passes) before the first check. */
  readonly initialDelaySeconds?: number;
  /** Seconds between checks. */
  readonly periodSeconds?: number;
  /** Seconds before one check counts as failed. */
  readonly timeoutSeconds?: number;
  /** Consecutive failures before the probe acts (restart, or removal from endpoints). */
  readonly failureThreshold?: number;
}

/** Overrides for a workload's three probes. */
export interface ProbeOverrides {
  readonly startup?: ProbeTiming;
  readonly readiness?: ProbeTiming;
  readonly liveness?: ProbeTiming;
}

/** An HTTP GET probe on `path` and `port`, with defaults merged under overrides and validated. */
export function httpProbe(owner: string, prop: string, path: string, port: number, defaults: ProbeTiming, overrides: ProbeTiming = {}): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromNumber(port) },
    ...resolveTiming(owner, prop, defaults, overrides),
  };
}

/** A TCP probe, for servers that speak no HTTP (Redis). */
export function tcpProbe(owner: string, prop: string, port: number, defaults: ProbeTiming, overrides: ProbeTiming = {}): k8s.Probe {
  return {
    tcpSocket: { port: k8s.IntOrString.fromNumber(port) },
    ...resolveTiming(owner, prop, defaults, overrides),
  };
}

function resolveTiming(owner: string, prop: string, defaults: ProbeTiming, overrides: ProbeTiming): ProbeTiming {
  const timing = { ...defaults, ...overrides };
  for (const [field, value] of Object.entries(timing)) {
    if (value !== undefined) {
      const min = field === 'initialDelaySeconds' ? 0 : 1;
      check(owner, `${prop}.${field}`, wholeNumberProblem(value, min));
    }
  }
  return timing;
}
