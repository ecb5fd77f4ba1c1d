/**
 * A release's life on a real API server: the first deploy into an empty
 * cluster, a deploy that changes nothing, one that changes the image, and a
 * paused Deployment.
 */
import { spawnSync } from 'node:child_process';
import { TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(240_000);

let env: TestEnvironment;
beforeAll(() => {
  env = new TestEnvironment('first');
});
afterAll(() => env.remove());

/**
 * Each file the deploy applied (not the dry runs), by name, with whether kubectl was told to skip its
 * own field validation: only files the preview's dry run already applied with strict validation are.
 */
function applies(calls: readonly string[]): Array<[string, boolean]> {
  return calls
    .filter((call) => call.startsWith('apply --server-side') && !call.includes('--dry-run'))
    .map((call) => [/-f \S*\/([^/ ]+\.yaml)/.exec(call)?.[1] ?? call, call.includes('--validate=false')]);
}

/** The commands the deploy told the operator to run, placeholders filled in: each line, or a here-document whole. */
function printedCommands(stderr: string): string[] {
  const commands: string[] = [];
  const lines = stderr.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line.startsWith('kubectl ')) continue;
    if (line.endsWith("<<'YAML'")) {
      const end = lines.indexOf('YAML', i + 1);
      commands.push(lines.slice(i, end + 1).join('\n').trimStart());
      i = end;
    } else commands.push(line);
  }
  return commands.map((command) =>
    command
      .replace(/<value>/g, 'placeholder')
      .replace(/<path to the file>/g, '/etc/hostname')
      .replace(/<user>/g, 'u')
      .replace(/<token>/g, 'p'),
  );
}

describe('the first deploy into an empty cluster', () => {
  let refused: Awaited<ReturnType<TestEnvironment['deploy']>>;

  test('stops at the Secrets, before anything is applied, and says to create the namespace first', async () => {
    refused = await env.deploy(env.release());

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`namespace ${env.namespace} does not exist yet, so neither do the Secrets the release reads there`);
    expect(refused.calls.some((call) => call.startsWith('apply --server-side') && !call.includes('--dry-run'))).toBe(false);
    // What the cluster recorded: no namespace, so nothing of the release.
    expect(env.kubectl.try(['get', 'namespace', env.namespace]).code).not.toBe(0);
  });

  test('the printed commands, run in the printed order, make the next deploy succeed', async () => {
    const commands = printedCommands(refused.stderr);
    expect(commands[0]).toMatch(/^kubectl apply --server-side --field-manager=honeydue-k8s -f - <<'YAML'\n/);
    expect(commands.slice(1).map((command) => command.split(' ').slice(0, 7).join(' '))).toEqual([
      `kubectl -n ${env.namespace} create secret docker-registry gitea-credentials`,
      `kubectl -n ${env.namespace} create secret generic honeydue-apns-key`,
      `kubectl -n ${env.namespace} create secret generic honeydue-secrets`,
      `kubectl -n ${env.namespace} create secret generic vmagent-ingest-token`,
    ]);
    for (const command of commands) {
      const ran = spawnSync('bash', ['-c', command], { env: { ...process.env, KUBECONFIG: process.env.HONEYDUE_TEST_KUBECONFIG }, encoding: 'utf8' });
      expect({ command, stderr: ran.stderr, code: ran.status }).toEqual({ command, stderr: '', code: 0 });
    }

    const first = await env.deploy(env.release());

    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    // Only the Namespace (made by the printed commands) was live, so only its file was in the dry run.
    expect(applies(first.calls)).toEqual([
      ['00-namespace.yaml', true], ['10-config.yaml', false], ['15-redis.yaml', false], ['20-network-policy.yaml', false],
      ['30-migrate.yaml', false], ['40-api.yaml', false], ['45-worker.yaml', false], ['50-admin.yaml', false],
      ['60-observability.yaml', false], ['90-ingress.yaml', false],
    ]);
    // The namespace as the release writes it: restricted Pod Security, enforced by the API server.
    const namespace = env.get('namespace', env.namespace, '');
    expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // The gate ran: the Job completed before the app existed.
    const job = env.get('job', 'honeydue-migrate');
    expect(job.status.succeeded).toBe(1);
    const api = env.get('deployment', 'api');
    expect(api.status.readyReplicas).toBe(3);
    expect(api.spec.template.spec.containers[0].image).toMatch(/:abc1234$/);
    expect(new Date(job.status.completionTime).getTime()).toBeLessThanOrEqual(new Date(api.metadata.creationTimestamp).getTime());
  });

  test('a second deploy of the same release changes nothing, and its preview says so', async () => {
    const again = await env.deploy(env.release());

    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/summary: 0 to create, 0 to update, \d+ unchanged, 1 to recreate, 0 to prune; 0 workload\(s\) roll\n/);
    // The migrate Job's ServiceAccount is compared like any object (it was always "+ create").
    expect(again.stdout).toMatch(new RegExp(`\\n +unchanged +${env.namespace} +ServiceAccount/migrate\\n`));
    expect(again.stdout).not.toMatch(/^ {2}[+~-] /m);
    // Every file was live and so validated by the dry run, but the migrate file: its Job is not dry-run.
    expect(applies(again.calls).filter(([, skipped]) => !skipped)).toEqual([['30-migrate.yaml', false]]);
    expect(applies(again.calls)).toHaveLength(10);
  });

  test('a deploy of a new image rolls the app to it', async () => {
    const before = env.get('deployment', 'api').metadata.generation as number;

    const rolled = await env.deploy(env.release('def5678'));

    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toMatch(/changed: spec\.template\.spec\.containers\[api\]\.image: "[^"]+:abc1234" -> "[^"]+:def5678"/);
    const api = env.get('deployment', 'api');
    expect(api.metadata.generation).toBeGreaterThan(before);
    expect(api.spec.template.spec.containers[0].image).toMatch(/:def5678$/);
    expect(api.status.updatedReplicas).toBe(3);
    expect(env.get('deployment', 'worker').spec.template.spec.containers[0].image).toMatch(/:def5678$/);
  });

  test('a paused Deployment stops the deploy before anything is applied', async () => {
    env.kubectl(['-n', env.namespace, 'rollout', 'pause', 'deployment/api']);
    const generation = env.get('deployment', 'api').metadata.generation;

    const paused = await env.deploy(env.release('0123abc'));

    expect(paused.code).toBe(1);
    expect(paused.stderr).toContain(`Deployment ${env.namespace}/api is paused (kubectl rollout pause)`);
    expect(paused.stderr).toContain(`kubectl -n ${env.namespace} rollout resume deployment/api`);
    const api = env.get('deployment', 'api');
    expect(api.metadata.generation).toBe(generation);
    expect(api.spec.template.spec.containers[0].image).toMatch(/:def5678$/);
    // What the real server does with a paused Deployment, and why the deploy refuses it.
    expect(env.kubectl.try(['-n', env.namespace, 'rollout', 'undo', 'deployment/api']).stderr).toContain('you cannot rollback a paused deployment');
    env.kubectl(['-n', env.namespace, 'rollout', 'resume', 'deployment/api']);
  });
});
