/**
 * The deploy lock, each fault caused for real: two concurrent deploy processes
 * against one cluster (the stand-in's Leases live in a shared directory), a
 * deploy killed with kill -9, stale and taken-over Leases, renewals that fail,
 * and stops while the Lease is being created. Split from deploy-faults.test.ts
 * so the test workers share the deploy faults.
 *
 * Why a stand-in and not the control plane of cluster/ (test/cluster/ has what the
 * API server does): a Lease create whose answer never comes
 * back after the server acted, renewals that time out a given number of times, and
 * a stop between two given calls cannot be caused on a real server on demand;
 * concurrent deploys, stale, taken-over and refused Leases are also in
 * test/cluster/lock.test.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applied, asLines, DeployRun, health, isAlive, leaseFile, LOCK_READ, LOCK_RELEASE, migrateWaits, procArgs, release, releasesLock, repoRoot, runDeploy as run, RunSetup, sandbox, Sandbox, spawnDeploy, until, useDeployFixtures } from './deploy-helpers';

useDeployFixtures();

const runDeploy = (args: string[], setup: RunSetup = {}): Promise<DeployRun> => run(sandbox, args, setup);

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

  /** Someone deletes the Lease (kubectl delete lease), under the stand-in's own lock of the Lease file. */
  function deleteLease(state: string): void {
    const dir = join(state, 'leases', 'honeydue-deploy-production');
    for (;;) {
      try {
        mkdirSync(`${dir}.mutex`);
        break;
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
    try {
      rmSync(dir, { recursive: true, force: true });
    } finally {
      rmdirSync(`${dir}.mutex`);
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
    expect(result.stderr).toMatch(
      /deploy STOPPED \(the deploy lock could not be renewed \(.*testing value \/spec\/holderIdentity failed.*\): it is now held by other@ci pid 7\)/,
    );
    // A renewal ran after the takeover when its renewTime is later than the Lease's at the takeover: it failed.
    const failedRenewals = result.calls.flatMap((call, index) => (call[0] === 'patch' && renewTimeOf(call) > lastRenewed ? [index] : []));
    // One failed renewal of this kind is enough: it is not retried.
    expect(failedRenewals).toHaveLength(1);
    // The failed patch alone does not say why (a 422 is any invalid patch): the Lease, read next, names the new holder.
    expect(result.lines.slice(failedRenewals[0] + 1)).toEqual([LOCK_READ]);
    expect(applied(result.lines.slice(failedRenewals[0]))).toEqual([]);
    expect(result.stdout).not.toMatch(/\ndeployed /);
    // It no longer holds the lock, so it does not delete it.
    expect(releasesLock(result.lines)).toBe(false);
    expect(JSON.parse(readFileSync(leaseFile(sandbox.state), 'utf8')).spec.holderIdentity).toBe('other@ci pid 7');
  });

  test('a Lease someone deleted stops the deploy: the renewal fails, and the Lease, read next, is gone', async () => {
    const running = runDeploy(['--manifests', release.arg], { lockRenewMs: 100, scenario: { STANDIN_JOB: 'running' } });
    await until(() => migrateWaits(asLines(sandbox.readCalls())).length === 2, 'the deploy to wait for the Job');
    deleteLease(sandbox.state);
    const result = await running;

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /deploy STOPPED \(the deploy lock could not be renewed \(Error from server \(NotFound\): leases\.coordination\.k8s\.io "honeydue-deploy-production" not found\): the Lease is gone \(someone deleted it\)\)/,
    );
    // The failed renewal, then the read that found the Lease gone; then nothing (there is nothing to release).
    const lastPatch = result.lines.map((line) => line.startsWith('patch lease')).lastIndexOf(true);
    expect(result.lines.slice(lastPatch + 1)).toEqual([LOCK_READ]);
    expect(applied(result.lines).some((line) => line.includes('api.yaml'))).toBe(false);
    expect(result.stdout).not.toMatch(/\ndeployed /);
  });

  test('a renewal refused while the Lease still names this deploy is retried: only another holder or a deleted Lease stops the deploy', async () => {
    const result = await runDeploy(['--manifests', release.arg], { lockRenewMs: 100, scenario: { STANDIN_PATCH_INVALID: '1', STANDIN_JOB: 'complete' } });

    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^warning: renewing the deploy lock failed \(The request is invalid: the server rejected our request due to an error in our request\); retrying in 0\.1s \(the Lease stays valid until \S+\)\n$/,
    );
    // A 422 says nothing of who holds the Lease: it is read after the refused renewal (still this deploy's), and at the release.
    const reads = result.lines.flatMap((line, index) => (line === LOCK_READ ? [index] : []));
    expect(reads).toHaveLength(2);
    expect(reads[0]).toBeGreaterThan(result.lines.findIndex((line) => line.startsWith('patch lease')));
    expect(result.lines.filter((line) => line.startsWith('patch lease')).length).toBeGreaterThan(1);
    expect(applied(result.lines)).toHaveLength(12);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });

  test('one renewal that times out is retried on the next tick: the deploy completes and releases the lock', async () => {
    const result = await runDeploy(['--manifests', release.arg], { lockRenewMs: 100, scenario: { STANDIN_PATCH_TIMEOUT: '1', STANDIN_JOB: 'complete' } });

    expect(result.code).toBe(0);
    // The failure's first sentence only: the request-timeout error's advice to re-run the deploy does not fit a retry.
    expect(result.stderr).toMatch(
      /^warning: renewing the deploy lock failed \(kubectl patch lease: the API server took the request but did not answer within --request-timeout=30s \(Unable to connect to the server: net\/http: request canceled \(Client\.Timeout exceeded while awaiting headers\)\)\); retrying in 0\.1s \(the Lease stays valid until \S+\)\n$/,
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
    expect(result.stderr).toMatch(/warning: renewing the deploy lock failed \(kubectl patch lease: the API server took the request but did not answer within --request-timeout=30s \(Unable to connect to the server/);
    expect(result.stderr).toMatch(
      /deploy STOPPED \(the deploy lock could not be renewed since \S+ \(last failure: kubectl patch lease: the API server took the request but did not answer within --request-timeout=30s \(Unable to connect to the server: net\/http: request canceled \(Client\.Timeout exceeded while awaiting headers\)\)\): it goes stale at \S+, before the next try, and another deploy could take it over\)/,
    );
    // A request timeout is not a refusal: the Lease is not read to find another holder.
    expect(result.lines.filter((line) => line === LOCK_READ)).toHaveLength(1);
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

test('two deploys of one process at once each get a folder of their own: the refused one removes only its own', async () => {
  // Both start in the same second, so their folders' names would be the same (env, time, pid).
  const deploy = () => runDeploy(['--env', 'production', '--tag', 'abc1234']);
  const [one, two] = await Promise.all([deploy(), deploy()]);
  const [won, refused] = one.code === 0 ? [one, two] : [two, one];
  expect([won.code, refused.code]).toEqual([0, 1]);
  expect(refused.stderr).toContain('another deploy of production is running');
  expect(won.stdout).toMatch(/deployed .*\n$/);
});
