/**
 * The deploy under faults, each caused for real: two concurrent deploy
 * processes against one cluster (the stand-in's Leases live in a shared
 * directory), signals sent to real processes (node alone, the process group,
 * npm alone), a hung API server, missing Secrets, a failed Traefik upgrade, a
 * failing health endpoint, and a directory the manifest check refuses.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asLines, DeployRun, health, isAlive, LOCK_READ, LOCK_RELEASE, release, releasesLock, repoRoot, runDeploy as run, RunSetup, sandbox, Sandbox, SELECTOR, spawnDeploy, until, useDeployFixtures } from './deploy-helpers';

useDeployFixtures();

const runDeploy = (args: string[], setup: RunSetup = {}): Promise<DeployRun> => run(sandbox, args, setup);
const SSA = 'apply --server-side --field-manager=honeydue-k8s --force-conflicts';
const leaseFile = (shared: string) => join(shared, 'leases', 'honeydue-deploy-production', 'lease.json');
const applied = (lines: string[]) => lines.filter((line) => line.startsWith(`${SSA} -f`));
const migrateWaits = (lines: string[]) => lines.filter((line) => line.startsWith('wait ') && line.includes('job/honeydue-migrate'));
const procArgs = () => ['--manifests', release.arg, '--yes', '--health-url', health.url];

describe('the deploy lock', () => {
  test('two concurrent deploy processes: the second is refused with who holds the lock and since when, and applies nothing', async () => {
    const shared = join(sandbox.dir, 'cluster');
    const other = new Sandbox();
    try {
      // The first deploy blocks at the migration gate (its Job never finishes) while holding the lock.
      const first = spawnDeploy(sandbox, 'node', procArgs(), { scenario: { STANDIN_SHARED: shared, STANDIN_JOB: 'running' } });
      await until(() => migrateWaits(sandbox.readCalls().map((c) => c.join(' '))).length === 2, 'the first deploy to wait for the Job');
      const lease = JSON.parse(readFileSync(leaseFile(shared), 'utf8'));
      expect(lease.spec.holderIdentity).toMatch(new RegExp(` pid ${first.child.pid}$`));

      const second = spawnDeploy(other, 'node', procArgs(), { scenario: { STANDIN_SHARED: shared } });
      const ended = await second.done;

      expect(ended.code).toBe(1);
      expect(second.stderr).toContain(
        `another deploy of production is running: the lock kube-system/honeydue-deploy-production is held by ${lease.spec.holderIdentity} since ${lease.spec.acquireTime}`,
      );
      const secondLines = other.readCalls().map((c) => c.filter((a) => a !== '--request-timeout=30s').join(' '));
      expect(secondLines.filter((line) => line.startsWith('create ') || line.startsWith('get lease'))).toHaveLength(2);
      expect(applied(secondLines)).toEqual([]);
      // The refused deploy did not delete the lock it does not hold.
      expect(releasesLock(secondLines)).toBe(false);
      expect(existsSync(leaseFile(shared))).toBe(true);

      first.child.kill('SIGTERM');
      expect((await first.done).code).toBe(143);
      expect(existsSync(leaseFile(shared))).toBe(false);

      // Released: the next deploy takes the lock.
      const third = await run(other, ['--manifests', release.arg], { scenario: { STANDIN_SHARED: shared } });
      expect(third.code).toBe(0);
    } finally {
      other.remove();
    }
  });

  test('two concurrent synthesizing deploys each write their own folder under .deploy/', async () => {
    const shared = join(sandbox.dir, 'cluster');
    const first = spawnDeploy(sandbox, 'node', ['--tag', 'aaaaaaa', '--yes', '--health-url', health.url], {
      scenario: { STANDIN_SHARED: shared, STANDIN_JOB: 'running' },
    });
    await until(() => migrateWaits(sandbox.readCalls().map((c) => c.join(' '))).length === 2, 'the first deploy to wait for the Job');
    const mine = (pid: number | undefined) => readdirSync(join(repoRoot, '.deploy')).filter((name) => name.endsWith(`-${pid}`));
    expect(mine(first.child.pid)).toHaveLength(1);
    const folder = join(repoRoot, '.deploy', mine(first.child.pid)[0], 'production');
    expect(readFileSync(join(folder, readdirSync(folder).find((n) => n.endsWith('api.yaml')) as string), 'utf8')).toContain('honeydue-api:aaaaaaa');

    const other = new Sandbox();
    const second = spawnDeploy(other, 'node', ['--tag', 'bbbbbbb', '--yes', '--health-url', health.url], {
      scenario: { STANDIN_SHARED: shared },
    });
    expect((await second.done).code).toBe(1);
    other.remove();
    // The refused one removed its own folder and left the running deploy's files as they were.
    expect(mine(second.child.pid)).toEqual([]);
    expect(readFileSync(join(folder, readdirSync(folder).find((n) => n.endsWith('api.yaml')) as string), 'utf8')).toContain('honeydue-api:aaaaaaa');

    first.child.kill('SIGTERM');
    await first.done;
    expect(mine(first.child.pid)).toEqual([]);
  });

  test('a deploy killed with kill -9 leaves its folder under .deploy/: the next deploy removes it, and never a running deploy\'s', async () => {
    const deployDir = join(repoRoot, '.deploy');
    const mine = (pid: number | undefined) => (existsSync(deployDir) ? readdirSync(deployDir).filter((name) => name.endsWith(`-${pid}`)) : []);
    const killedSandbox = new Sandbox();
    const nextSandbox = new Sandbox();
    try {
      const running = spawnDeploy(sandbox, 'node', ['--tag', 'aaaaaaa', '--yes', '--health-url', health.url], { scenario: { STANDIN_JOB: 'running' } });
      const killed = spawnDeploy(killedSandbox, 'node', ['--tag', 'bbbbbbb', '--yes', '--health-url', health.url], { scenario: { STANDIN_JOB: 'running' } });
      const atGate = (box: Sandbox) => migrateWaits(box.readCalls().map((c) => c.join(' '))).length === 2;
      await until(() => atGate(sandbox) && atGate(killedSandbox), 'both deploys to wait for the Job');
      killed.child.kill('SIGKILL');
      await killed.done;
      // Nothing ended the killed deploy's kubectl children: end them, as the cluster would drop their watches.
      for (const pid of killedSandbox.kubectlPids()) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      const [left] = mine(killed.child.pid);
      expect(left).toMatch(/^production-\d{8}T\d{6}Z-\d+$/);
      const [runningFolder] = mine(running.child.pid);
      expect(runningFolder).toBeDefined();

      const next = spawnDeploy(nextSandbox, 'node', procArgs());
      expect((await next.done).code).toBe(0);

      expect(next.stdout).toContain(`removed .deploy/${left}: left by deploy pid ${killed.child.pid}, which is no longer running\n`);
      expect(mine(killed.child.pid)).toEqual([]);
      expect(next.stdout).not.toContain(runningFolder);
      expect(mine(running.child.pid)).toEqual([runningFolder]);

      running.child.kill('SIGTERM');
      expect((await running.done).code).toBe(143);
    } finally {
      killedSandbox.remove();
      nextSandbox.remove();
    }
  });

  /**
   * Another deploy takes the Lease over (a new holder and resourceVersion), under the stand-in's own lock of
   * the Lease file so no renewal lands in between. Returns the Lease's renewTime at that moment: the last
   * renewal that worked.
   */
  function takeOverLease(state: string, holder: string): string {
    const mutex = `${join(state, 'leases', 'honeydue-deploy-production')}.mutex`;
    for (;;) {
      try {
        mkdirSync(mutex);
        break;
      } catch {
        // A renewal holds it for a few milliseconds.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    try {
      const lease = JSON.parse(readFileSync(leaseFile(state), 'utf8'));
      writeFileSync(leaseFile(state), JSON.stringify({ ...lease, metadata: { ...lease.metadata, resourceVersion: '99' }, spec: { ...lease.spec, holderIdentity: holder } }));
      return lease.spec.renewTime;
    } finally {
      rmdirSync(mutex);
    }
  }

  /** The renewTime a `patch lease` call sets (microseconds, UTC: later times sort later). */
  const renewTimeOf = (call: string[]): string => JSON.parse(call[call.indexOf('-p') + 1])[1].value;

  function staleLease(shared: string, minutesAgo: number): void {
    const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
    mkdirSync(join(shared, 'leases', 'honeydue-deploy-production'), { recursive: true });
    writeFileSync(
      leaseFile(shared),
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'honeydue-deploy-production', namespace: 'kube-system', resourceVersion: '7' },
        spec: { holderIdentity: 'old@laptop pid 9', acquireTime: at, renewTime: at, leaseDurationSeconds: 120 },
      }),
    );
  }

  test('a stale lock is refused, and taken over only with --take-over-stale-lock', async () => {
    const shared = join(sandbox.dir, 'cluster');
    staleLease(shared, 60);

    const refused = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_SHARED: shared } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the lock kube-system\/honeydue-deploy-production is stale: held by old@laptop pid 9 since \S+, not renewed since \S+ \(more than 120s ago\).*re-run with --take-over-stale-lock/);
    expect(applied(refused.lines)).toEqual([]);

    const taken = await runDeploy(['--manifests', release.arg, '--take-over-stale-lock'], { scenario: { STANDIN_SHARED: shared } });
    expect(taken.code).toBe(0);
    expect(taken.stderr).toContain('took over the stale lock kube-system/honeydue-deploy-production from old@laptop pid 9');
    const replace = taken.calls.find((call) => call[0] === 'replace') as string[];
    expect(replace).toBeDefined();
    // replace carries the resourceVersion that get read (the stand-in, like the API server, refuses another one),
    // so of two deploys taking over at once only the first wins.
    expect(taken.lines.indexOf('get lease honeydue-deploy-production -n kube-system -o json')).toBeLessThan(taken.calls.indexOf(replace));
    expect(taken.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });

  test('a fresh lock is refused even with --take-over-stale-lock', async () => {
    const shared = join(sandbox.dir, 'cluster');
    staleLease(shared, 0);

    const refused = await runDeploy(['--manifests', release.arg, '--take-over-stale-lock'], { scenario: { STANDIN_SHARED: shared } });

    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/another deploy of production is running: .*held by old@laptop pid 9/);
    expect(refused.calls.some((call) => call[0] === 'replace')).toBe(false);
  });

  test('the lock is renewed while the deploy runs, only while this deploy holds it', async () => {
    const result = await runDeploy(['--manifests', release.arg], { lockRenewMs: 100, scenario: { STANDIN_JOB: 'complete' } });

    expect(result.code).toBe(0);
    const patches = result.calls.filter((call) => call[0] === 'patch');
    expect(patches.length).toBeGreaterThan(0);
    const patch = JSON.parse(patches[0][patches[0].indexOf('-p') + 1]);
    expect(patch[0]).toEqual({ op: 'test', path: '/spec/holderIdentity', value: 'test@sandbox pid 1' });
    expect(patch[1].path).toBe('/spec/renewTime');
  });

  test('a lock that can no longer be renewed (the holder changed) stops the deploy: nothing is applied after the failed renewal', async () => {
    // Renewed every 100 ms while parked at the migration gate (the Job never finishes, so only the lost lock
    // can end this deploy); then another deploy takes the Lease over, as the stand-in's renewals see it.
    const running = runDeploy(['--manifests', release.arg], { lockRenewMs: 100, scenario: { STANDIN_JOB: 'running' } });
    await until(() => migrateWaits(asLines(sandbox.readCalls())).length === 2, 'the deploy to wait for the Job');
    const lastRenewed = takeOverLease(sandbox.state, 'other@ci pid 7');
    const result = await running;

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/deploy STOPPED \(the deploy lock could not be renewed \(.*testing value \/spec\/holderIdentity failed.*\): another deploy may have taken it over\)/);
    // A renewal ran after the takeover when its renewTime is later than the Lease's at the takeover: it failed.
    const failedRenewals = result.calls.flatMap((call, index) => (call[0] === 'patch' && renewTimeOf(call) > lastRenewed ? [index] : []));
    // One failed renewal of this kind is enough: it is not retried.
    expect(failedRenewals).toHaveLength(1);
    expect(applied(result.lines.slice(failedRenewals[0]))).toEqual([]);
    expect(result.stdout).not.toMatch(/\ndeployed /);
    // It no longer holds the lock, so it does not delete it.
    expect(releasesLock(result.lines)).toBe(false);
    expect(JSON.parse(readFileSync(leaseFile(sandbox.state), 'utf8')).spec.holderIdentity).toBe('other@ci pid 7');
  });

  test('one renewal that times out is retried on the next tick: the deploy completes and releases the lock', async () => {
    const result = await runDeploy(['--manifests', release.arg], { lockRenewMs: 100, scenario: { STANDIN_PATCH_TIMEOUT: '1', STANDIN_JOB: 'complete' } });

    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /warning: renewing the deploy lock failed \(Unable to connect to the server: net\/http: request canceled \(Client\.Timeout exceeded while awaiting headers\)\); retrying in 0\.1s \(the Lease stays valid until \S+\)/,
    );
    const patches = result.lines.filter((line) => line.startsWith('patch lease'));
    expect(patches.length).toBeGreaterThan(1);
    expect(applied(result.lines)).toHaveLength(12);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
    expect(existsSync(leaseFile(sandbox.state))).toBe(false);
  });

  test('renewals that keep failing stop the deploy before the Lease goes stale, and the release still deletes it as its own', async () => {
    // A 1 s Lease renewed every 100 ms: the retries run out after about 0.9 s. The Job never completes,
    // so without the stop this deploy would wait at the gate until the test times out.
    const result = await runDeploy(['--manifests', release.arg], {
      lockRenewMs: 100,
      lockDurationSeconds: 1,
      scenario: { STANDIN_PATCH_TIMEOUT: '1000', STANDIN_JOB: 'running' },
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/warning: renewing the deploy lock failed \(Unable to connect to the server/);
    expect(result.stderr).toMatch(
      /deploy STOPPED \(the deploy lock could not be renewed since \S+ \(last failure: Unable to connect to the server: [^)]*\)\): it goes stale at \S+, before the next try, and another deploy could take it over\)/,
    );
    expect(result.lines.filter((line) => line.startsWith('patch lease')).length).toBeGreaterThan(3);
    expect(applied(result.lines).some((line) => line.includes('api.yaml'))).toBe(false);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
    expect(existsSync(leaseFile(sandbox.state))).toBe(false);
  });

  test('a stop while the Lease is being created (the server created it, kubectl had not answered): the release reads it and deletes it as its own', async () => {
    const proc = spawnDeploy(sandbox, 'node', procArgs(), { scenario: { STANDIN_CREATE_SLOW: '1' } });
    await until(() => existsSync(leaseFile(sandbox.state)), 'the Lease to be created');
    const holder = JSON.parse(readFileSync(leaseFile(sandbox.state), 'utf8')).spec.holderIdentity as string;
    expect(holder).toMatch(new RegExp(` pid ${proc.child.pid}$`));
    const callsAtSignal = sandbox.readCalls().length;

    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(143);

    const lines = sandbox.readCalls().map((c) => c.filter((a) => a !== '--request-timeout=30s').join(' '));
    expect(lines[callsAtSignal - 1]).toMatch(/^create -f \S+lease\.json -o name$/);
    expect(lines.slice(callsAtSignal)).toEqual(LOCK_RELEASE);
    expect(existsSync(leaseFile(sandbox.state))).toBe(false);
    expect(proc.stdout).toContain('lock kube-system/honeydue-deploy-production released');
    // So the next deploy is not refused for 120 s.
    const next = await runDeploy(['--manifests', release.arg]);
    expect(next.code).toBe(0);
  });

  test('a stop while the create of a Lease another deploy holds is cut off: that Lease is read and left alone', async () => {
    const shared = join(sandbox.dir, 'cluster');
    staleLease(shared, 0);
    const proc = spawnDeploy(sandbox, 'node', procArgs(), { scenario: { STANDIN_SHARED: shared, STANDIN_HANG: 'create -f' } });
    await until(() => sandbox.readCalls().some((call) => call[0] === 'create'), 'the create call');

    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(143);

    const lines = sandbox.readCalls().map((c) => c.filter((a) => a !== '--request-timeout=30s').join(' '));
    expect(lines.slice(-2)).toEqual([expect.stringMatching(/^create -f /), LOCK_READ]);
    expect(releasesLock(lines)).toBe(false);
    expect(JSON.parse(readFileSync(leaseFile(shared), 'utf8')).spec.holderIdentity).toBe('old@laptop pid 9');
  });

  test('at the end the release leaves alone a Lease that another deploy holds now', async () => {
    const proc = spawnDeploy(sandbox, 'node', procArgs(), { scenario: { STANDIN_JOB: 'running' } });
    await until(() => migrateWaits(sandbox.readCalls().map((c) => c.join(' '))).length === 2, 'the deploy to wait for the Job');
    // Another deploy took the Lease over (as --take-over-stale-lock does: replace, a new resourceVersion).
    const lease = JSON.parse(readFileSync(leaseFile(sandbox.state), 'utf8'));
    writeFileSync(leaseFile(sandbox.state), JSON.stringify({ ...lease, metadata: { ...lease.metadata, resourceVersion: '99' }, spec: { ...lease.spec, holderIdentity: 'other@ci pid 7' } }));
    const callsAtSignal = sandbox.readCalls().length;

    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(143);

    const lines = sandbox.readCalls().map((c) => c.filter((a) => a !== '--request-timeout=30s').join(' '));
    expect(lines.slice(callsAtSignal)).toEqual([LOCK_READ]);
    expect(proc.stderr).toContain('the lock kube-system/honeydue-deploy-production is now held by other@ci pid 7: left as it is');
    expect(JSON.parse(readFileSync(leaseFile(sandbox.state), 'utf8')).spec.holderIdentity).toBe('other@ci pid 7');
  });
});

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
        process.execPath, 'bin/run.js', 'bin/deploy.ts', '--manifests', release.arg, '--health-url', health.url],
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

describe('bounded calls', () => {
  test('every call that talks to the API server is bounded: --request-timeout, or its own --timeout for a watch', async () => {
    const result = await runDeploy(['--manifests', release.arg]);

    for (const call of result.calls) {
      if (call[0] === 'version') continue;
      const bounds = call.filter((arg) => arg.startsWith('--request-timeout=') || arg.startsWith('--timeout='));
      expect([call.join(' '), bounds.length]).toEqual([call.join(' '), 1]);
    }
  });

  test('a hung API server ends the deploy with a message: the watchdog ends the call that never returns', async () => {
    const result = await runDeploy(['--manifests', release.arg, '--request-timeout', '1s'], {
      watchdogGraceMs: 500,
      scenario: { STANDIN_HANG: 'get secret' },
    });

    expect(result.code).toBe(1);
    expect(result.seconds).toBeLessThan(10);
    expect(result.stderr).toMatch(/kubectl get secret did not return within 2s \(its bound plus the deploy's watchdog\) and was ended: the API server is not answering/);
    expect(applied(result.lines)).toEqual([]);
    expect(result.lines.slice(-2)).toEqual([`${LOCK_READ} --request-timeout=1s`, expect.stringMatching(/^delete --raw \S+ -f \S+\/lease-delete-options\.json --request-timeout=1s$/)]);
    expect(sandbox.kubectlPids().length).toBeGreaterThan(3);
    for (const pid of sandbox.kubectlPids()) expect(isAlive(pid)).toBe(false);
  });

  test('a rollout status that hangs is ended by the watchdog behind its --timeout', async () => {
    const result = await runDeploy(['--manifests', release.arg, '--timeout', '1s'], {
      watchdogGraceMs: 500,
      scenario: { STANDIN_HANG: 'rollout status' },
    });

    expect(result.code).toBe(1);
    expect(result.seconds).toBeLessThan(15);
    expect(result.stderr).toMatch(/<== step \d+ failed after .*\n[^]*deploy failed: kubectl rollout status did not return within 2s \(its bound plus the deploy's watchdog\) and was ended: the API server is not answering/);
    expect(result.lines.filter((line) => line.startsWith('rollout status'))).toEqual(['rollout status daemonset/traefik -n kube-system --timeout=1s']);
    for (const pid of sandbox.kubectlPids()) expect(isAlive(pid)).toBe(false);
  });
});

describe('Secrets preflight', () => {
  test('reads key names only, never values', async () => {
    const result = await runDeploy(['--manifests', release.arg]);

    const secretCalls = result.lines.filter((line) => / secrets?\b/.test(line) && !line.startsWith('get -f'));
    expect(secretCalls).toHaveLength(4);
    for (const line of secretCalls) {
      expect(line).toMatch(/^get secret \S+ -n honeydue --ignore-not-found -o go-template=\{\{\.metadata\.name\}\}\{\{range \$key, \$value := \.data\}\} \{\{\$key\}\}\{\{end\}\}$/);
    }
  });

  test('a missing Secret, a missing key and a missing pull Secret are all named, with the command that creates each; nothing is applied', async () => {
    sandbox.writeSecret('honeydue', 'honeydue-secrets', ['POSTGRES_PASSWORD', 'SECRET_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'EMAIL_HOST_PASSWORD', 'B2_KEY_ID']);
    sandbox.writeSecret('honeydue', 'honeydue-apns-key', null);
    sandbox.writeSecret('honeydue', 'gitea-credentials', null);

    const result = await runDeploy(['--manifests', release.arg]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      // The migrate Job reads only POSTGRES_PASSWORD of this Secret: it is not named for B2_APP_KEY.
      "Secret honeydue/honeydue-secrets lacks the key B2_APP_KEY (read by Deployment/api, Deployment/worker). Add it:\n    kubectl -n honeydue patch secret honeydue-secrets --type=merge -p '{\"data\":{\"B2_APP_KEY\":\"<base64 of the value>\"}}'",
    );
    expect(result.stderr).toContain(
      'Secret honeydue/honeydue-apns-key does not exist (read by Deployment/api, Deployment/worker). Create it:\n    kubectl -n honeydue create secret generic honeydue-apns-key --from-file=apns_auth_key.p8=<path to the file>',
    );
    expect(result.stderr).toMatch(
      /Secret honeydue\/gitea-credentials does not exist \(image pull Secret of [^)]*Deployment\/api[^)]*\)\. Create it:\n {4}kubectl -n honeydue create secret docker-registry gitea-credentials --docker-server=gitea\.treytartt\.com --docker-username=<user> --docker-password=<token>/,
    );
    // The optional REDIS_PASSWORD is not required.
    expect(result.stderr).not.toContain('REDIS_PASSWORD');
    expect(applied(result.lines)).toEqual([]);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });
});

describe('Secrets preflight readers', () => {
  test('a missing key names only the workloads that read that key; a missing Secret names every workload that reads it', async () => {
    sandbox.writeSecret('honeydue', 'honeydue-secrets', ['SECRET_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'EMAIL_HOST_PASSWORD', 'B2_KEY_ID', 'B2_APP_KEY']);

    const key = await runDeploy(['--manifests', release.arg]);

    expect(key.code).toBe(1);
    expect(key.stderr).toMatch(/Secret honeydue\/honeydue-secrets lacks the key POSTGRES_PASSWORD \(read by Job\/honeydue-migrate, Deployment\/api, Deployment\/worker\)\./);

    sandbox.writeSecret('honeydue', 'honeydue-secrets', null);
    const secret = await runDeploy(['--manifests', release.arg]);

    expect(secret.code).toBe(1);
    expect(secret.stderr).toContain('Secret honeydue/honeydue-secrets does not exist (read by Job/honeydue-migrate, Deployment/api, Deployment/worker). Create it:');
    expect(applied(secret.lines)).toEqual([]);
  });
});

describe('--manifests runs the manifest check', () => {
  test('a directory with a Secret holding data and a latest tag is refused before the cluster is contacted', async () => {
    const api = readFileSync(release.file('api.yaml'), 'utf8').replace('honeydue-api:abc1234', 'honeydue-api:latest');
    const config =
      readFileSync(release.file('config.yaml'), 'utf8') +
      '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n  namespace: honeydue\n  labels:\n    honeydue.io/environment: production\ndata:\n  TOKEN: c2VjcmV0\n';
    const dir = release.copy(sandbox, 'bad', { 'api.yaml': api, 'config.yaml': config });

    const result = await runDeploy(['--manifests', dir]);

    expect(result.code).toBe(1);
    expect(result.calls).toEqual([]);
    expect(result.stderr).toMatch(/the manifest check refused \S+bad; nothing was applied and the cluster was not contacted/);
    expect(result.stderr).toMatch(/Secret honeydue\/leaked/);
    expect(result.stderr).toMatch(/latest/);
  });
});

describe('Traefik', () => {
  test('after the HelmChartConfig: waits for the helm-install Job and the DaemonSet, before the app', async () => {
    const result = await runDeploy(['--manifests', release.arg]);

    const lines = result.lines;
    const traefikApply = lines.findIndex((line) => line.startsWith(SSA) && line.includes('traefik.yaml'));
    // The uid read before the apply (at the confirmation), then again until the helm-controller's new Job shows.
    expect(lines[lines.findIndex((line) => line.startsWith(SSA)) - 1]).toBe('get job helm-install-traefik -n kube-system --ignore-not-found -o jsonpath={.metadata.uid}');
    const losing = 'wait --for=condition=failed --timeout=5m job/helm-install-traefik -n kube-system';
    expect(lines.slice(traefikApply + 1).filter((line) => line !== losing).slice(0, 3)).toEqual([
      'get job helm-install-traefik -n kube-system --ignore-not-found -o jsonpath={.metadata.uid}',
      'wait --for=condition=complete --timeout=5m job/helm-install-traefik -n kube-system',
      'rollout status daemonset/traefik -n kube-system --timeout=15m',
    ]);
    expect(lines.indexOf('rollout status daemonset/traefik -n kube-system --timeout=15m')).toBeLessThan(lines.findIndex((line) => line.includes('migrate.yaml')));
  });

  test('a failed Traefik upgrade is named, with its log, and nothing of the app is applied', async () => {
    const result = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_HELM_JOB: 'failed' } });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/the Traefik upgrade failed: Job kube-system\/helm-install-traefik failed\. helm keeps the previous Traefik release serving/);
    expect(result.lines).toContain('logs job/helm-install-traefik -n kube-system --tail=50');
    expect(applied(result.lines).some((line) => line.includes('migrate.yaml') || line.includes('api.yaml'))).toBe(false);
  });

  test('an unchanged HelmChartConfig upgrades nothing, so nothing is waited for', async () => {
    const config = readFileSync(release.file('traefik.yaml'), 'utf8');
    const { parse } = await import('yaml');
    const live = parse(config.split('\n').filter((l) => !l.startsWith('#')).join('\n'));
    const result = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_LIVE_OBJECTS: sandbox.json('live.json', [live]) } });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ {3}unchanged +kube-system +HelmChartConfig\/traefik\n/);
    expect(result.stdout).toContain('the HelmChartConfig is unchanged: Traefik is not upgraded');
    expect(result.lines.some((line) => line.includes('helm-install-traefik') && line.startsWith('wait'))).toBe(false);
  });
});

describe('health check after the rollout', () => {
  test('asks the health URL through the route; a pass goes on to prune', async () => {
    const result = await runDeploy(['--manifests', release.arg]);

    expect(result.code).toBe(0);
    expect(health.hits).toBe(1);
    expect(result.stdout).toContain(`health check passed: ${health.url} answered 2xx (attempt 1)`);
    // After the pass, prune lists each namespace: the listings are the last kubectl calls before the lock release.
    const passed = result.stdout.indexOf('health check passed');
    const pruneStep = result.stdout.indexOf('==> step', passed);
    expect(result.stdout.slice(pruneStep)).toMatch(/^==> step \d+: prune objects that left the stack\n\$ kubectl get configmap,/);
    const listings = result.lines.slice(-4, -2);
    expect(listings.map((line) => line.replace(/^get configmap,\S+ /, 'get <kinds> '))).toEqual([
      `get <kinds> -n honeydue -l ${SELECTOR} -o json`,
      `get <kinds> -n kube-system -l ${SELECTOR} -o json`,
    ]);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });

  test("the default URL is the release's public API URL + /health/ (https://<domains.api>/api/health/)", async () => {
    const result = await runDeploy(['--manifests', release.arg, '--dry-run'], { bare: true });

    expect(result.stdout).toMatch(/==> step \d+: health check https:\/\/api\.myhoneydue\.com\/api\/health\/\n/);
    expect(result.stdout).toContain('  # GET https://api.myhoneydue.com/api/health/ until it answers 2xx (every 2s, at most 60s)\n');
  });

  test('a failed check stops before prune; with --rollback-on-failure it rolls back what this deploy rolled', async () => {
    health.status = 503;
    const { parse } = await import('yaml');
    const docs = readFileSync(release.file('api.yaml'), 'utf8').split(/^---$/m).map((d) => parse(d)).filter((d) => d);
    const api = docs.find((d: any) => d.kind === 'Deployment');
    api.spec.template.spec.containers[0].image = 'gitea.treytartt.com/admin/honeydue-api:0ld0ld0';

    const result = await runDeploy(['--manifests', release.arg, '--rollback-on-failure', '--health-timeout', '1s'], {
      scenario: { STANDIN_LIVE_OBJECTS: sandbox.json('live.json', [api]) },
    });

    expect(result.code).toBe(1);
    expect(health.hits).toBeGreaterThan(0);
    expect(result.stderr).toMatch(new RegExp(`health check failed: ${health.url.replace(/[./]/g, '\\$&')} did not answer 2xx within 1s \\(last: HTTP 503\\)`));
    const afterIngress = result.lines.slice(result.lines.findIndex((line) => line.startsWith(`${SSA} -f`) && line.includes('ingress.yaml')) + 1);
    expect(afterIngress).toEqual([
      'rollout undo deployment/api -n honeydue',
      'rollout status deployment/api -n honeydue --timeout=15m',
      ...LOCK_RELEASE,
    ]);
    expect(result.stderr).toContain('rolled back what this deploy rolled: deployment/api');
  });

  test('without --rollback-on-failure nothing is undone and the way back is printed', async () => {
    health.status = 500;

    const result = await runDeploy(['--manifests', release.arg, '--health-timeout', '1s']);

    expect(result.code).toBe(1);
    expect(result.lines.some((line) => line.startsWith('rollout undo'))).toBe(false);
    expect(result.stderr).toMatch(/Prune did not run/);
  });
});
