/**
 * The deploy stopped by signals sent to real processes: node alone, the
 * process group, npm alone, during an apply, and at the confirmation question
 * on a real terminal (a pty). Split from deploy-faults.test.ts so the test
 * workers share the deploy faults.
 *
 * Why a stand-in and not the control plane of cluster/ (test/cluster/ has what the
 * API server does): a signal must arrive while a given call
 * runs, and the stand-in's calls last exactly as long as the test needs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applied, health, isAlive, leaseFile, LOCK_RELEASE, migrateWaits, procArgs, release, repoRoot, sandbox, spawnDeploy, until, useDeployFixtures } from './deploy-helpers';
import { NODE_TS } from './node-ts';

useDeployFixtures();


describe('signals', () => {
  /** Starts a deploy that blocks at the migration gate, and resolves once both Job waits run. */
  async function blockedAtGate(how: 'node' | 'npm', detached = false) {
    const proc = spawnDeploy(sandbox, how, procArgs(), { scenario: { STANDIN_JOB: 'running' }, detached });
    await until(() => migrateWaits(sandbox.readCalls().map((c) => c.join(' '))).length === 2, 'the deploy to wait for the Job');
    return proc;
  }

  function expectStoppedCleanly(output: string, callsAtSignal: number, signal: string): void {
    const lines = sandbox.readCalls().map((c) => c.filter((a) => a !== '--request-timeout=30s').join(' '));
    const after = lines.slice(callsAtSignal);
    // Nothing applied after the signal; the only call after it is the lock release.
    expect(after).toEqual(LOCK_RELEASE);
    for (const pid of sandbox.kubectlPids()) expect(isAlive(pid)).toBe(false);
    expect(output).toContain(`deploy STOPPED (${signal}`);
    expect(output).toMatch(/during step \d+ \(run the migration gate \(Job honeydue-migrate\)\)/);
    expect(output).toContain('migration Job honeydue/honeydue-migrate: running (it keeps running in the cluster and gates nothing now');
    expect(output).toMatch(/applied \(\d+ objects\): namespace\/honeydue, /);
    expect(output).toMatch(/not run:\n  - apply the backend \(api, worker\)\n/);
    expect(output).toContain('lock kube-system/honeydue-deploy-production released');
  }

  test.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s to node alone stops the deploy, ends every kubectl, reports and exits %i', async (signal, code) => {
    const proc = await blockedAtGate('node');
    const callsAtSignal = sandbox.readCalls().length;

    proc.child.kill(signal);
    const ended = await proc.done;

    expect(ended.code).toBe(code);
    expectStoppedCleanly(proc.stdout + proc.stderr, callsAtSignal, `${signal}: received ${signal}`);
  });

  test('SIGINT to the whole process group (Ctrl-C) stops the deploy the same way, exit 130', async () => {
    const proc = await blockedAtGate('node', true);
    const callsAtSignal = sandbox.readCalls().length;

    process.kill(-(proc.child.pid as number), 'SIGINT');
    const ended = await proc.done;

    expect(ended.code).toBe(130);
    expectStoppedCleanly(proc.stdout + proc.stderr, callsAtSignal, 'SIGINT');
  });

  test('SIGTERM to npm alone: npm does not pass it on, the deploy sees its parent go and stops', async () => {
    const proc = await blockedAtGate('npm');
    const holder = JSON.parse(readFileSync(leaseFile(sandbox.state), 'utf8')).spec.holderIdentity as string;
    const nodePid = Number(/pid (\d+)$/.exec(holder)?.[1]);
    expect(nodePid).not.toBe(proc.child.pid);
    const callsAtSignal = sandbox.readCalls().length;

    proc.child.kill('SIGTERM');
    await proc.done; // npm's pipes close only when the deploy itself has exited
    await until(() => !isAlive(nodePid), 'the deploy process to exit');

    expectStoppedCleanly(proc.stdout + proc.stderr, callsAtSignal, 'SIGTERM: the parent process');
    expect(proc.stderr).toMatch(/the parent process \(pid \d+, npm or a shell\) went away: stopping the deploy/);
  });

  test('a signal during an apply: the apply is cut off and reported, nothing after it is applied', async () => {
    const proc = spawnDeploy(sandbox, 'node', procArgs(), { scenario: { STANDIN_HANG: 'apply --server-side' } });
    await until(() => applied(sandbox.readCalls().map((c) => c.filter((a) => a !== '--request-timeout=30s').join(' '))).length === 1, 'the first apply');

    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(143);

    const lines = sandbox.readCalls().map((c) => c.filter((a) => a !== '--request-timeout=30s').join(' '));
    expect(applied(lines)).toHaveLength(1);
    expect(lines.slice(-2)).toEqual(LOCK_RELEASE);
    expect(proc.stderr).toMatch(/cut off part-way: \S+namespace\.yaml/);
    expect(proc.stderr).toContain('migration Job: not started by this deploy');
    for (const pid of sandbox.kubectlPids()) expect(isAlive(pid)).toBe(false);
  });
});

describe('a stop at the confirmation question (a real terminal: a pty)', () => {
  const QUESTION = 'Apply these changes? [y/N]';

  /** The deploy on a pty, asked the question; `answer` as on-a-terminal.py types it ('' types nothing). */
  function onTerminal(answer: string) {
    const child = spawn(
      'python3',
      [join(__dirname, 'fixtures', 'deploy', 'on-a-terminal.py'), QUESTION, answer,
        NODE_TS, 'bin/deploy.ts', '--manifests', release.arg, '--health-url', health.url],
      { cwd: repoRoot, env: sandbox.env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const run = { stdout: '', done: new Promise<number | null>((resolve) => child.on('close', resolve)) };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk));
    return run;
  }

  /** The exit status, or null when the process is still running after `ms` (it hangs). */
  const exitWithin = (done: Promise<number | null>, ms: number) =>
    Promise.race([done, new Promise<'hangs'>((resolve) => setTimeout(() => resolve('hangs'), ms).unref())]);

  const calls = () => sandbox.readCalls().map((c) => c.filter((a) => a !== '--request-timeout=30s').join(' '));

  test('SIGTERM while the question is asked: the deploy stops, releases the lock and exits 143 at once (it does not hang on stdin)', async () => {
    const run = onTerminal('');
    await until(() => run.stdout.includes(QUESTION), 'the question');
    const holder = JSON.parse(readFileSync(leaseFile(sandbox.state), 'utf8')).spec.holderIdentity as string;
    const deployPid = Number(/pid (\d+)$/.exec(holder)?.[1]);
    const callsAtSignal = calls().length;

    process.kill(deployPid, 'SIGTERM');
    const status = await exitWithin(run.done, 10_000);
    if (status === 'hangs') process.kill(deployPid, 'SIGKILL');

    expect(status).toBe(143);
    expect(calls().slice(callsAtSignal)).toEqual(LOCK_RELEASE);
    expect(applied(calls())).toEqual([]);
    expect(existsSync(leaseFile(sandbox.state))).toBe(false);
    expect(run.stdout).toMatch(/deploy STOPPED \(SIGTERM: received SIGTERM\) during step \d+ \(confirm the changes\)/);
    expect(run.stdout).not.toContain('not confirmed');
  });

  test('Ctrl-C at the question (readline holds the terminal in raw mode) is a SIGINT stop: exit 130, not a "no"', async () => {
    const run = onTerminal('\x03');
    const status = await exitWithin(run.done, 30_000);

    expect(status).toBe(130);
    expect(run.stdout).toMatch(/received Ctrl-C at the question: stopping the deploy/);
    expect(run.stdout).toMatch(/deploy STOPPED \(SIGINT: received Ctrl-C at the question\) during step \d+ \(confirm the changes\)/);
    expect(run.stdout).not.toContain('not confirmed');
    expect(applied(calls())).toEqual([]);
    expect(calls().slice(-2)).toEqual(LOCK_RELEASE);
    expect(existsSync(leaseFile(sandbox.state))).toBe(false);
  });
});
