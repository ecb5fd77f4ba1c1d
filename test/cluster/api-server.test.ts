/**
 * The deploy against an API server that is unreachable, hung, slow but healthy,
 * or of another version than kubectl. The hung and slow servers are a second
 * real kube-apiserver on the run's etcd, stopped and continued with real
 * SIGSTOP and SIGCONT, so the controllers and the other test files keep the
 * run's own apiserver.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually, kubeconfig, kubectlFor, TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(240_000);

let env: TestEnvironment;
beforeAll(() => {
  env = new TestEnvironment('apiserver');
  env.prepare();
});
afterAll(() => env.remove());

/** A kubeconfig like the run's, whose server is 127.0.0.1:<port>. */
function kubeconfigAt(port: number): string {
  const path = join(env.dir, `kubeconfig-${port}`);
  writeFileSync(path, readFileSync(kubeconfig(), 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`));
  return path;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A second kube-apiserver with the run's flags (read from its process), on a port of its own. */
async function secondApiServer(): Promise<{ process: ChildProcess; config: string }> {
  const clusterDir = process.env.HONEYDUE_TEST_CLUSTER_DIR as string;
  const pid = readFileSync(join(clusterDir, 'pids', 'kube-apiserver.pid'), 'utf8').trim();
  const [binary, ...flags] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((arg) => arg !== '');
  const port = await freePort();
  const args = flags.map((flag) => (flag.startsWith('--secure-port=') ? `--secure-port=${port}` : flag));
  const child = spawn(binary, args, { stdio: 'ignore' });
  const config = kubeconfigAt(port);
  const probe = kubectlFor(config);
  await eventually(() => (probe.try(['get', '--raw', '/readyz', '--request-timeout=2s']).code === 0 ? true : undefined), 'the second kube-apiserver to be ready', 90_000);
  return { process: child, config };
}

test('an unreachable API server stops the deploy at the preflight, before the lock', async () => {
  const run = await env.deploy([...env.release(), '--kubeconfig', kubeconfigAt(await freePort())]);

  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/cannot reach the cluster \(current context, kubeconfig \S+\): The connection to the server 127\.0\.0\.1:\d+ was refused/);
  expect(run.calls.some((call) => call.includes(' create -f '))).toBe(false);
});

describe('a second, real kube-apiserver', () => {
  let server: { process: ChildProcess; config: string };
  beforeAll(async () => {
    server = await secondApiServer();
  });
  afterAll(() => {
    server.process.kill('SIGCONT');
    server.process.kill('SIGTERM');
  });

  test('slow but healthy: each request answered within --request-timeout, one call longer than that in all, not killed', async () => {
    // The release is live, so the preview's dry run applies each of its objects (about forty requests).
    // During that one call the server is stopped for 0.9 s of every second: a request waits at most
    // about two pauses, within 3 s, while the call takes several seconds. A watchdog that took
    // --request-timeout for a bound on the command would end it after 3 s and the grace.
    const first = await env.deploy(env.release('3333333'));
    expect(first.code).toBe(0);
    let toggling: NodeJS.Timeout | undefined;
    let applyStarted = 0;
    let applySeconds = 0;
    const pause = () => {
      server.process.kill('SIGSTOP');
      setTimeout(() => server.process.kill('SIGCONT'), 900);
    };
    const run = await env.deploy([...env.release('3333334'), '--kubeconfig', server.config, '--request-timeout=3s'], {
      watchdogGraceMs: 200,
      onOutput: (text) => {
        if (toggling === undefined && applyStarted === 0 && /\$ kubectl .*apply --server-side .*--dry-run=server/.test(text)) {
          applyStarted = Date.now();
          pause();
          toggling = setInterval(pause, 1000);
        } else if (toggling !== undefined && (text.startsWith('$ kubectl') || text.startsWith('<== step'))) {
          clearInterval(toggling);
          applySeconds = (Date.now() - applyStarted) / 1000;
          toggling = undefined;
        }
      },
    });
    clearInterval(toggling);
    server.process.kill('SIGCONT');

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(applySeconds).toBeGreaterThan(3.2);
    expect(env.get<any>('deployment', 'api').spec.template.spec.containers[0].image).toMatch(/:3333334$/);
  });

  test('hung (SIGSTOP): kubectl gives up after --request-timeout and the deploy says the API server is not answering', async () => {
    const run = await env.deploy([...env.release('4444444'), '--kubeconfig', server.config, '--request-timeout=3s'], {
      watchdogGraceMs: 2000,
      onOutput: (text) => {
        if (/==> step \d+: check the Secrets/.test(text)) server.process.kill('SIGSTOP');
      },
    });
    server.process.kill('SIGCONT');

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the API server took the request but did not answer within --request-timeout=3s \(.*(Client\.Timeout|deadline|timeout).*\)\. It is hung or overloaded/);
    // Nothing of this release reached the cluster.
    expect(env.kubectl(['get', 'deployments,jobs', '-n', env.namespace, '-o', 'jsonpath={..image}'])).not.toContain(':4444444');
    kubectlFor().try(['delete', 'lease', `honeydue-deploy-${env.name}`, '-n', 'kube-system', '--ignore-not-found']);
  });
});

test('a kubectl two minor versions older than the API server is refused before anything is applied', async () => {
  // The machine's own kubectl: Google Cloud SDK's dispatcher, which has no 1.34 and runs its own 1.32.
  const bin = join(env.dir, 'old-kubectl');
  mkdirSync(bin);
  symlinkSync('/usr/bin/kubectl', join(bin, 'kubectl'));

  const run = await env.deploy(env.release(), { env: { PATH: `${bin}:${process.env.PATH}` } });

  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(/kubectl v1\.32\.\S+ is outside the supported skew of the API server v1\.34\.\S+ .*install kubectl 1\.34/);
  expect(run.calls.some((call) => call.includes(' create -f '))).toBe(false);
});
