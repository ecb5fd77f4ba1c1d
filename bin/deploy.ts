/**
 * `npm run deploy -- --tag <sha>`: synthesize one release and roll it out behind
 * the migration gate. The logic lives in app/deploy/; this file wires it to the
 * terminal: the signals, the parent process, the confirmation question.
 *
 * package.json runs it as `bin/node-ts bin/deploy.ts`, which execs node: one
 * node process (no wrapper, which would be a second process between npm's
 * shell and this one).
 * npm does not pass SIGTERM on to this process: npm exits, its shell with it,
 * and this process is left running with a new parent. So besides the signals
 * the deploy watches its parent: when process.ppid changes, it stops as for
 * SIGTERM. Measured with npm 11 in test/deploy-signals.test.ts.
 */
import { createInterface } from 'node:readline';
import { runDeployCli } from '../app/deploy/cli';
import { StopReason } from '../app/deploy/stop';
import { REPO_ROOT } from '../app/shared/repo-root';

const PARENT_POLL_MS = 250;

/**
 * Asks on the terminal. readline puts the terminal in raw mode, so Ctrl-C at
 * the question reaches readline as a key, not the process as SIGINT: it is
 * turned into the same stop as a SIGINT (exit 130), not into a "no". When the
 * deploy stops (a signal, the parent gone) the question is closed, or the open
 * interface would keep stdin, and the process, alive after the stop report.
 */
function confirm(question: string, stopped: AbortSignal, stopWith: (reason: StopReason) => void): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const close = () => prompt.close();
  prompt.on('SIGINT', () => stopWith({ signal: 'SIGINT', why: 'received Ctrl-C at the question' }));
  stopped.addEventListener('abort', close, { once: true });
  return new Promise((resolve) => {
    // close emits 'close' at once: resolve with the answer before it, so end of input alone means no.
    prompt.question(question, (answer) => {
      resolve(/^y(es)?$/i.test(answer.trim()));
      prompt.close();
    });
    prompt.on('close', () => {
      stopped.removeEventListener('abort', close);
      resolve(false);
    });
  });
}

/** The deploy command, wired to this process: its signals, its parent, its terminal. */
function main(argv: string[]): void {
  const stop = new AbortController();
  const stopWith = (reason: StopReason) => {
    if (stop.signal.aborted) return;
    process.stderr.write(`\n${reason.why}: stopping the deploy (nothing more is applied)\n`);
    stop.abort(reason);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => stopWith({ signal, why: `received ${signal}` }));
  }
  const parent = process.ppid;
  const parentWatch = setInterval(() => {
    if (process.ppid !== parent) stopWith({ signal: 'SIGTERM', why: `the parent process (pid ${parent}, npm or a shell) went away` });
  }, PARENT_POLL_MS);
  parentWatch.unref();

  runDeployCli(argv, {
    env: process.env,
    output: { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) },
    cwd: process.cwd(),
    repoRoot: REPO_ROOT,
    stop: stop.signal,
    interactive: process.stdin.isTTY === true && process.stdout.isTTY === true,
    confirm: (question, stopped) => confirm(question, stopped, stopWith),
  }).then(
    (code) => {
      process.exitCode = code;
      clearInterval(parentWatch);
    },
    (error: unknown) => {
      process.stderr.write(`deploy crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
      clearInterval(parentWatch);
    },
  );
}

main(process.argv.slice(2));
