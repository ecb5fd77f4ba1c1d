/**
 * `kubectl drain` of each node through the real eviction API, with the
 * stack's PodDisruptionBudgets: never blocked (the production incident was a
 * PDB that blocked every drain), and a crash-looping api pod is evicted
 * although api has no disruption to spare (unhealthyPodEvictionPolicy:
 * AlwaysAllow). Only this release's pods are drained (selected by a stack
 * label of its own, which the config puts on every pod template): other test
 * files run on the same nodes.
 */
import { eventually, TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(300_000);

const NODES = ['ubuntu-8gb-nbg1-1', 'ubuntu-8gb-nbg1-2', 'ubuntu-8gb-nbg1-3'];

let env: TestEnvironment;
beforeAll(async () => {
  env = new TestEnvironment('drain');
  env.writeConfig({ config: [[['labels', 'honeydue.test/drained'], env.name]] });
  env.prepare();
  const first = await env.deploy(env.release());
  expect(first.code).toBe(0);
});
afterAll(() => {
  for (const node of NODES) env.kubectl.try(['uncordon', node]);
  env.remove();
});

type Pod = { metadata: { name: string; labels: Record<string, string> }; spec: { nodeName?: string }; status: { containerStatuses?: Array<{ ready: boolean; restartCount: number }> } };
const apiPods = () => env.kubectl.json<{ items: Pod[] }>(['get', 'pods', '-n', env.namespace, '-l', 'app.kubernetes.io/name=api']).items;

test('each node drains with the stack\'s PDBs, and a crash-looping api pod is evicted', async () => {
  // One api pod crash-loops: the scenario applies to pods that start while it is set.
  env.scenario('api', 'crash-loop');
  env.kubectl(['delete', 'pod', apiPods()[0].metadata.name, '-n', env.namespace, '--wait=false']);
  const crashing = await eventually(
    () => apiPods().find((pod) => (pod.status.containerStatuses?.[0]?.restartCount ?? 0) > 0),
    'a crash-looping api pod',
  );
  env.scenario('api', 'ready');
  expect(env.get<any>('poddisruptionbudget', 'api-pdb').status.disruptionsAllowed).toBe(0);

  // Its node first: with two healthy api pods of three, the budget (at least 2) has no disruption to
  // spare, so a healthy api pod elsewhere may not go until the crash-looping one is replaced. That is
  // the PDB doing its job; the crash-looping pod itself must never hold the drain.
  const order = [crashing.spec.nodeName as string, ...NODES.filter((node) => node !== crashing.spec.nodeName)];
  const evicted: string[] = [];
  for (const node of order) {
    const drained = env.kubectl.try([
      'drain', node, `--pod-selector=honeydue.test/drained=${env.name}`, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s',
    ]);
    env.kubectl(['uncordon', node]);
    // A replacement pod still starting makes kubectl retry an eviction ("will retry after 5s"): the
    // budget waiting for it, not a block. Anything else on stderr, or running out of time, is one.
    const otherErrors = drained.stderr.split('\n').filter((line) => /error|cannot/i.test(line) && !/will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget/.test(line));
    expect({ node, code: drained.code, otherErrors }).toEqual({ node, code: 0, otherErrors: [] });
    evicted.push(...[...drained.stdout.matchAll(/pod\/(\S+) evicted/g)].map((m) => m[1]));
  }

  expect(evicted).toContain(crashing.metadata.name);
  // Every workload of the release had a pod evicted at least once, whatever its PDB.
  for (const name of ['api', 'worker', 'admin', 'redis', 'vmagent']) expect(evicted.some((pod) => pod.startsWith(`${name}-`))).toBe(true);
  await eventually(() => (apiPods().filter((pod) => pod.status.containerStatuses?.[0]?.ready).length === 3 ? true : undefined), 'api back to 3 ready pods');
});
