/**
 * Stopping a deploy on a signal. bin/deploy.ts turns SIGINT, SIGTERM and SIGHUP
 * (and its parent process going away) into one abort of a StopSignal; every
 * kubectl call and every wait of the deploy watches it, so nothing starts after
 * it fired and every running kubectl child is ended.
 */

/** Why the deploy was told to stop: the signal, and a sentence for the report. */
export interface StopReason {
  readonly signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP';
  readonly why: string;
}

const SIGNAL_NUMBERS: Record<StopReason['signal'], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** The shell's convention for a process ended by a signal: 128 + its number (130, 143, 129). */
export function exitCodeFor(reason: StopReason): number {
  return 128 + SIGNAL_NUMBERS[reason.signal];
}

/** Raised wherever the deploy notices the stop; deploy() turns it into the stop report. */
export class DeployStopped extends Error {
  constructor(
    readonly reason: StopReason,
    /** What the kubectl that was ended had printed (an apply's `-o name` lines: what of its file was applied). */
    readonly partial?: { readonly stdout: string },
  ) {
    super(`stopped: ${reason.why}`);
  }
}

/** The reason a stop signal carries (an AbortController aborted with a StopReason). */
export function stopReason(signal: AbortSignal): StopReason {
  const reason = signal.reason as Partial<StopReason> | undefined;
  if (reason !== undefined && typeof reason.signal === 'string' && reason.signal in SIGNAL_NUMBERS) {
    return reason as StopReason;
  }
  return { signal: 'SIGTERM', why: 'the deploy was aborted' };
}

/** Throws DeployStopped when the stop already fired. */
export function throwIfStopped(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DeployStopped(stopReason(signal));
}

/** Waits `ms`, or until the stop fires (then throws DeployStopped). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  throwIfStopped(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DeployStopped(stopReason(signal as AbortSignal)));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
