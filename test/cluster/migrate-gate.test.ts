/**
 * The migration gate with the real job controller: a Job whose pods fail, and
 * a Job past its activeDeadlineSeconds (whose pods the controller deletes).
 * The simulated kubelet plays goose's exit (cluster/README.md, scenarios).
 */
import { TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(240_000);

test('a failing migration stops the deploy before any app object, and shows the newest pod of the Job', async () => {
  // One retry (two pods) instead of production's two: the job controller waits 10 s before a retry.
  const env = new TestEnvironment('gate-fail', { config: [[['migrate', 'backoffLimit'], 1]] });
  try {
    env.prepare();
    env.scenario('migrate', 'fail');

    const run = await env.deploy(env.release());

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`migration Job ${env.namespace}/honeydue-migrate failed. Nothing of the app was applied`);
    // The real job controller retried backoffLimit (1) times: two pods; the log read is the newest one's,
    // not the first one's that `kubectl logs job/...` shows.
    const pods = env.kubectl
      .json<{ items: Array<{ metadata: { name: string; creationTimestamp: string } }> }>(['get', 'pods', '-n', env.namespace, '-l', 'batch.kubernetes.io/job-name=honeydue-migrate', '--sort-by=.metadata.creationTimestamp'])
      .items.map((pod) => pod.metadata.name);
    expect(pods).toHaveLength(2);
    expect(run.stderr).toContain(`log of ${pods[1]}, the newest of the Job's 2 pod(s)`);
    expect(run.calls).toContain(`logs pod/${pods[1]} -n ${env.namespace} --tail=200`);
    expect(env.get<any>('job', 'honeydue-migrate').status.conditions.map((c: { type: string }) => c.type)).toContain('Failed');
    // What the cluster recorded: no app Deployment exists.
    expect(env.kubectl.try(['get', 'deployment', 'api', '-n', env.namespace]).code).not.toBe(0);
  } finally {
    env.remove();
  }
});

test('a migration past its deadline has no pod left to read, and the deploy says so instead of showing nothing', async () => {
  const env = new TestEnvironment('gate-deadline', { config: [[['migrate', 'activeDeadlineSeconds'], 5]] });
  try {
    env.prepare();
    env.scenario('migrate', 'hang');

    const run = await env.deploy(env.release());

    expect(run.code).toBe(1);
    const job = env.get<any>('job', 'honeydue-migrate');
    expect(job.status.conditions.find((c: { type: string }) => c.type === 'Failed').reason).toBe('DeadlineExceeded');
    expect(env.kubectl(['get', 'pods', '-n', env.namespace, '-l', 'batch.kubernetes.io/job-name=honeydue-migrate', '-o', 'name'])).toBe('');
    expect(run.stderr).toContain(`no pod of Job ${env.namespace}/honeydue-migrate is left to read a log from`);
    expect(run.calls.some((call) => call.startsWith('logs '))).toBe(false);
    expect(run.calls).toContain(`describe job honeydue-migrate -n ${env.namespace}`);
  } finally {
    env.remove();
  }
});
