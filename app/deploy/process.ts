import { spawn } from 'node:child_process';

/** Where the deploy command writes: the terminal in production, a buffer in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** How a child process ended, with everything it printed. */
export interface ProcessResult {
  /** Exit code; a child ended by a signal has code -1 and `signal` set. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The signal that ended the child, when one did. */
  readonly signal?: NodeJS.Signals;
  /** The child was ended because `signal` (the AbortSignal option) fired. */
  readonly aborted?: boolean;
  /** The child was ended because it ran longer than `timeoutMs`. */
  readonly timedOut?: boolean;
}

export interface RunProcessOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Forward the child's output to this sink as it arrives (captured either way). */
  readonly forward?: Output;
  /** Aborting ends the child (SIGTERM, then SIGKILL); the promise then resolves with `aborted`. */
  readonly signal?: AbortSignal;
  /** Watchdog: a child still running after this long is ended and resolves with `timedOut`. */
  readonly timeoutMs?: number;
}

/** A command that is not on PATH: reported apart from a command that ran and failed. */
export class CommandNotFoundError extends Error {
  constructor(readonly command: string) {
    super(`${command} not found on PATH`);
  }
}

/** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
const KILL_GRACE_MS = 2000;

/**
 * Runs one command with an argument array (never a shell string, so a path or a
 * context name with spaces or quotes reaches the child unchanged). The promise
 * settles only once the child has exited, so "ended" always means ended.
 */
export function runProcess(command: string, args: readonly string[], options: RunProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ code: -1, stdout: '', stderr: '', aborted: true });
      return;
    }
    // Node looks the command up on options.env.PATH, which is what lets tests put a stand-in first.
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let aborted = false;
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.forward?.out(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      options.forward?.err(chunk);
    });
    let killTimer: NodeJS.Timeout | undefined;
    const end = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = () => {
      aborted = true;
      end();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const watchdog =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            end();
          }, options.timeoutMs);
    const cleanUp = () => {
      options.signal?.removeEventListener('abort', onAbort);
      if (watchdog !== undefined) clearTimeout(watchdog);
      if (killTimer !== undefined) clearTimeout(killTimer);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      cleanUp();
      reject(error.code === 'ENOENT' ? new CommandNotFoundError(command) : error);
    });
    child.on('close', (code, signal) => {
      cleanUp();
      resolve({ code: code ?? -1, stdout, stderr, signal: signal ?? undefined, aborted, timedOut });
    });
  });
}

/** Renders an argument array as a line an operator can paste into a POSIX shell. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
