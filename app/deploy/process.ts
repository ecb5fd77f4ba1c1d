import { spawn } from 'node:child_process';

/** Where the deploy command writes: the terminal in production, a buffer in tests. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** How a child process ended, with everything it printed. */
export interface ProcessResult {
  /** Exit code; 128 + signal number style codes are not guessed: a signal ends with -1. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunProcessOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Forward the child's output to this sink as it arrives (captured either way). */
  readonly forward?: Output;
  /** Aborting kills the child (SIGTERM); the promise then resolves with code -1. */
  readonly signal?: AbortSignal;
}

/** A command that is not on PATH: reported apart from a command that ran and failed. */
export class CommandNotFoundError extends Error {
  constructor(readonly command: string) {
    super(`${command} not found on PATH`);
  }
}

/**
 * Runs one command with an argument array (never a shell string, so a path or a
 * context name with spaces or quotes reaches the child unchanged).
 */
export function runProcess(command: string, args: readonly string[], options: RunProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ code: -1, stdout: '', stderr: '' });
      return;
    }
    // Node looks the command up on options.env.PATH, which is what lets tests put a stand-in first.
    const child = spawn(command, [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.forward?.out(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      options.forward?.err(chunk);
    });
    const onAbort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(error.code === 'ENOENT' ? new CommandNotFoundError(command) : error);
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ code: code ?? -1, stdout, stderr });
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
