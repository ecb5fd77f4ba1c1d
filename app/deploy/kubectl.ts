import { DeployError } from './options';
import { formatCommand, Output, ProcessResult, runProcess } from './process';
import { DeployStopped, stopReason, throwIfStopped } from './stop';

/** Which cluster every kubectl call talks to; both flags are passed on every call when set. */
export interface ClusterTarget {
  /** `--kubeconfig`: unset means kubectl's own resolution (KUBECONFIG, then ~/.kube/config). */
  readonly kubeconfig?: string;
  /** `--context`: unset means the kubeconfig's current-context. */
  readonly context?: string;
}

/** How every kubectl call is bounded. */
export interface CallBounds {
  /** kubectl duration passed as `--request-timeout` to every call that makes plain requests. */
  readonly requestTimeout: string;
  /** How much longer than its own bound a call may run before the deploy's watchdog ends it. */
  readonly watchdogGraceMs: number;
}

export interface KubectlRunOptions {
  /** Print kubectl's output as it arrives; off for listings parsed as JSON. @default true */
  readonly showOutput?: boolean;
  /** Aborting kills this kubectl (used to stop the losing half of a Job wait); resolves with code -1. */
  readonly signal?: AbortSignal;
  /** Run even though the deploy was told to stop: only for releasing the deploy lock. */
  readonly afterStop?: boolean;
  /**
   * How many HTTP requests the call makes at most (an apply of a file makes one
   * per object, and kubectl's takeover of a client-side-applied object three
   * more). `--request-timeout` bounds each of them, not the command.
   * @default DEFAULT_REQUESTS
   */
  readonly requests?: number;
}

/** API discovery (cached after the first call, but bounded as if not) and the one request of a plain call. */
const DEFAULT_REQUESTS = 4;

/** A connection that was never made (`dial tcp ...: i/o timeout`) is an unreachable server, not a hung one. */
const NEVER_CONNECTED = /dial tcp|connection refused|no route to host/;

/** kubectl's words when `--request-timeout` ended a request: the API server took the connection and never answered. */
const REQUEST_TIMED_OUT = /Client\.Timeout exceeded|context deadline exceeded|i\/o timeout|TLS handshake timeout/;

/**
 * The one way the deploy command runs kubectl: the cluster flags go first on
 * every call, every call is bounded, and every call is echoed as a pasteable
 * line before it runs, so the terminal shows exactly what touched the cluster.
 *
 * Bounds: a call that carries its own `--timeout=` (wait, rollout status,
 * delete --wait) is a watch and gets no `--request-timeout` (that would cut the
 * watch short); every other call gets
 * `--request-timeout`, which kubectl applies to each HTTP request: a hung API
 * server makes kubectl itself give up, and the deploy says so. Behind both, a
 * watchdog ends a kubectl that outlives its own bound (the watch's timeout, or
 * the request timeout times the requests the call makes) by the grace.
 */
export class Kubectl {
  constructor(
    private readonly target: ClusterTarget,
    private readonly bounds: CallBounds,
    private readonly env: NodeJS.ProcessEnv,
    private readonly output: Output,
    private readonly cwd: string,
    private readonly stop?: AbortSignal,
  ) {}

  /** The full argv of a call, as run and as printed by --dry-run. */
  commandLine(args: readonly string[]): string[] {
    const bounded = ownTimeout(args) !== undefined ? [] : [`--request-timeout=${this.bounds.requestTimeout}`];
    return ['kubectl', ...clusterFlags(this.target), ...args, ...bounded];
  }

  async run(args: readonly string[], options: KubectlRunOptions = {}): Promise<ProcessResult> {
    if (options.afterStop !== true) throwIfStopped(this.stop);
    const [command, ...argv] = this.commandLine(args);
    this.output.out(`$ ${formatCommand([command, ...argv])}\n`);
    const signals = [options.signal, options.afterStop === true ? undefined : this.stop].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const bound = ownTimeout(args) ?? durationMs(this.bounds.requestTimeout) * (options.requests ?? DEFAULT_REQUESTS);
    const result = await runProcess(command, argv, {
      env: this.env,
      cwd: this.cwd,
      forward: options.showOutput === false ? undefined : this.output,
      signal: signals.length === 0 ? undefined : AbortSignal.any(signals),
      timeoutMs: bound + this.bounds.watchdogGraceMs,
    });
    // Ended because of the stop: a stop. A call that finished by itself as the stop came is kept;
    // the next call refuses to start.
    if (result.aborted && this.stop?.aborted && options.afterStop !== true) throw new DeployStopped(stopReason(this.stop), result);
    if (result.timedOut) {
      const seconds = Math.round((bound + this.bounds.watchdogGraceMs) / 1000);
      throw new DeployError(
        `kubectl ${args.slice(0, 2).join(' ')} did not return within ${seconds}s (its bound plus the deploy's ` +
          `watchdog) and was ended: the API server is not answering. Check it (kubectl get --raw /readyz ` +
          '--request-timeout=10s) and re-run the deploy',
      );
    }
    if (result.code !== 0 && ownTimeout(args) === undefined && REQUEST_TIMED_OUT.test(result.stderr) && !NEVER_CONNECTED.test(result.stderr)) {
      throw new DeployError(
        `kubectl ${args.slice(0, 2).join(' ')}: the API server took the request but did not answer within ` +
          `--request-timeout=${this.bounds.requestTimeout} (${lastErrorLine(result)}). It is hung or overloaded: check it ` +
          '(kubectl get --raw /readyz --request-timeout=10s) and re-run the deploy',
      );
    }
    // A kubectl ended by SIGINT/SIGTERM that the deploy did not send: the terminal's Ctrl-C reached the
    // whole process group, and the deploy's own handler may not have run yet. It is a stop, not a failure.
    if (!result.aborted && (result.signal === 'SIGINT' || result.signal === 'SIGTERM')) {
      throw new DeployStopped({ signal: result.signal, why: `kubectl received ${result.signal}` }, result);
    }
    return result;
  }

  /**
   * Independent calls, started at once in the order given (so they are echoed in
   * that order) and answered in that order. Each kubectl costs about 0.1 s of its
   * own start-up besides the API server's time, and these need nothing of each
   * other. When one throws (a stop, the watchdog), the others are awaited first
   * and the first error in the given order is thrown.
   */
  async runAtOnce(calls: ReadonlyArray<readonly [readonly string[], KubectlRunOptions?]>): Promise<ProcessResult[]> {
    const settled = await Promise.allSettled(calls.map(([args, options]) => this.run(args, options)));
    const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return settled.map((outcome) => (outcome as PromiseFulfilledResult<ProcessResult>).value);
  }
}

/** The `--timeout=` a watching call carries, in milliseconds. */
function ownTimeout(args: readonly string[]): number | undefined {
  const flag = args.find((arg) => arg.startsWith('--timeout='));
  return flag === undefined ? undefined : durationMs(flag.slice('--timeout='.length));
}

/** A kubectl duration (`90s`, `15m`, `1h`) in milliseconds. */
export function durationMs(duration: string): number {
  const match = /^([0-9]+)(s|m|h)$/.exec(duration);
  if (match === null) throw new Error(`not a kubectl duration: ${duration}`);
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
}

/** `--kubeconfig` and `--context` as kubectl's global flags (accepted before any subcommand). */
export function clusterFlags(target: ClusterTarget): string[] {
  const flags: string[] = [];
  if (target.kubeconfig !== undefined) flags.push('--kubeconfig', target.kubeconfig);
  if (target.context !== undefined) flags.push('--context', target.context);
  return flags;
}

/**
 * The objects of a `kubectl get` or `apply -o json` answer: kubectl answers a
 * List for several objects and the object itself for one; nothing (an
 * `--ignore-not-found` that found none) is no object. Undefined when it is not JSON.
 */
export function kubectlObjects<T>(json: string): T[] | undefined {
  if (json.trim() === '') return [];
  try {
    const parsed = JSON.parse(json) as { kind?: string; items?: T[] };
    return parsed.kind === 'List' ? (parsed.items ?? []) : [parsed as T];
  } catch {
    return undefined;
  }
}

/** The last non-empty line kubectl wrote to stderr: the line that says what went wrong. */
export function lastErrorLine(result: ProcessResult): string {
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.length > 0 ? lines[lines.length - 1] : `exit code ${result.code}`;
}
