/**
 * The deploy lock, a coordination.k8s.io Lease in kube-system, on the real API
 * server: two deploys at once, a stale lock, a lock taken over mid-deploy, and
 * a renewal the server refuses for another reason.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { lockName } from '../../app/deploy/lock';
import { eventually, TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(240_000);

let env: TestEnvironment;
beforeAll(() => {
  env = new TestEnvironment('lock');
  env.prepare();
});
afterAll(() => env.remove());

const lease = () => env.kubectl.try(['get', 'lease', lockName(env.name), '-n', 'kube-system', '-o', 'json']);
const holderOf = () => {
  const got = lease();
  return got.code === 0 ? (JSON.parse(got.stdout).spec.holderIdentity as string) : undefined;
};

test('of two deploys at once, the second is refused while the first holds the Lease, and the first completes', async () => {
  let second: Promise<Awaited<ReturnType<TestEnvironment['deploy']>>> | undefined;
  const first = env.deploy(env.release(), {
    holder: 'first',
    onOutput: (text) => {
      if (second === undefined && text.includes(`lock kube-system/${lockName(env.name)} taken by first`)) {
        second = env.deploy(env.release(), { holder: 'second' });
      }
    },
  });

  const one = await first;
  const two = await (second as NonNullable<typeof second>);

  expect(one.code).toBe(0);
  expect(two.code).toBe(1);
  expect(two.stderr).toContain(`another deploy of ${env.name} is running: the lock kube-system/${lockName(env.name)} is held by first since`);
  // The refused deploy applied nothing and left the Lease to its holder, which released it.
  expect(two.calls.filter((call) => call.startsWith('apply') && !call.includes('--dry-run'))).toEqual([]);
  expect(lease().code).not.toBe(0);
});

test('a stale lock is refused, and taken over with --take-over-stale-lock', async () => {
  const stale = new Date(Date.now() - 600_000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const file = join(env.dir, 'stale-lease.yaml');
  writeFileSync(
    file,
    stringify({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: lockName(env.name), namespace: 'kube-system' },
      spec: { holderIdentity: 'gone@laptop pid 42', acquireTime: stale, renewTime: stale, leaseDurationSeconds: 120 },
    }),
  );
  env.kubectl(['create', '-f', file]);

  const refused = await env.deploy(env.release());
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`the lock kube-system/${lockName(env.name)} is stale: held by gone@laptop pid 42`);
  expect(holderOf()).toBe('gone@laptop pid 42');

  const taken = await env.deploy([...env.release(), '--take-over-stale-lock']);
  expect(taken.code).toBe(0);
  expect(taken.stderr).toContain(`took over the stale lock kube-system/${lockName(env.name)} from gone@laptop pid 42`);
  expect(holderOf()).toBeUndefined();
});

test('a Lease another holder took over mid-deploy stops the deploy, and is left to that holder', async () => {
  const run = env.deploy(env.release('1111111'), {
    holder: 'mine',
    lockRenewMs: 500,
    onOutput: (text) => {
      if (text.includes(`taken by mine`)) {
        env.kubectl(['patch', 'lease', lockName(env.name), '-n', 'kube-system', '--type=merge', '-p', '{"spec":{"holderIdentity":"intruder"}}']);
      }
    },
  });

  const stopped = await run;

  expect(stopped.code).toBe(1);
  expect(stopped.stderr).toMatch(/the deploy lock could not be renewed \(The request is invalid: [^)]*\): it is now held by intruder/);
  expect(holderOf()).toBe('intruder');
  env.kubectl(['delete', 'lease', lockName(env.name), '-n', 'kube-system']);
});

test('a renewal the server refuses while this deploy still holds the Lease is retried, not taken as lost', async () => {
  // A ValidatingAdmissionPolicy refuses updates of this Lease for a while: the API server answers 422
  // with the policy's message, in words ("not found") the old text match took for a lost Lease.
  const policy = `deny-renewal-${env.name}`;
  const file = join(env.dir, 'policy.yaml');
  writeFileSync(
    file,
    [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: ['coordination.k8s.io'], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['leases'] }] },
          matchConditions: [{ name: 'this-lease', expression: `object.metadata.name == '${lockName(env.name)}'` }],
          validations: [{ expression: 'false', message: 'the change-freeze approval was not found', reason: 'Invalid' }],
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: policy },
        spec: { policyName: policy, validationActions: ['Deny'] },
      },
    ]
      .map((doc) => stringify(doc))
      .join('---\n'),
  );
  let refusedOnce = false;
  const run = env.deploy(env.release('2222222'), {
    holder: 'mine',
    lockRenewMs: 500,
    lockDurationSeconds: 60,
    onOutput: (text) => {
      if (text.includes('taken by mine')) env.kubectl(['apply', '-f', file]);
      if (!refusedOnce && text.includes('warning: renewing the deploy lock failed')) {
        refusedOnce = true;
        env.kubectl(['delete', '-f', file]);
      }
    },
  });

  const result = await run;

  expect(result.stderr).toMatch(/warning: renewing the deploy lock failed \([^)]*change-freeze approval was not found/);
  expect(result.code).toBe(0);
  expect(await eventually(() => (lease().code === 0 ? undefined : true), 'the Lease to be released')).toBe(true);
});
