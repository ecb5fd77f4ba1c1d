import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { Redis, REDIS_EVICTION_POLICIES } from '../constructs';
import { container, find, hardeningOf, PRODUCTION, REDIS_WIRING, synthOf } from './helpers';

describe("Redis with production's props", () => {
  let objects: any[], deployment: any, pod: any, redis: any;
  beforeEach(() => {
    objects = synthOf((chart) => new Redis(chart, 'redis', REDIS_WIRING));
    deployment = find(objects, 'Deployment', 'redis');
    pod = deployment.spec.template.spec;
    redis = container(deployment);
  });

  test('redis:7-alpine, 1 replica, Recreate (a ReadWriteOnce volume cannot attach to a surge pod)', () => {
    expect(redis.image).toBe('redis:7-alpine');
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('PVC redis-data: ReadWriteOnce, local-path, 5Gi, mounted at /data', () => {
    const claim = find(objects, 'PersistentVolumeClaim', 'redis-data');
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'local-path', resources: { requests: { storage: '5Gi' } } });
    expect(pod.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'redis-data' } });
    expect(redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  test('pinned by nodeSelector honeydue/redis=true (local-path volumes are per node)', () => {
    expect(pod.nodeSelector).toEqual({ 'honeydue/redis': 'true' });
  });

  test('resources: requests 100m / 128Mi, limits 500m / 512Mi', () => {
    expect(redis.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
  });

  test('Service redis 6379', () => {
    const service = find(objects, 'Service', 'redis');
    expect(service.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 6379, protocol: 'TCP' }]);
    expect(service.spec.selector).toEqual({ 'app.kubernetes.io/name': 'redis' });
    expect(redis.ports).toEqual([{ name: 'redis', containerPort: 6379, protocol: 'TCP' }]);
  });

  test("runs as the image's redis user 999 in its group 1000, non-root, read-only root filesystem", () => {
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 999, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(redis.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test('PDB redis-pdb minAvailable 0', () => {
    expect(find(objects, 'PodDisruptionBudget', 'redis-pdb').spec.minAvailable).toBe(0);
  });

  test('PVC, ServiceAccount, Deployment, Service and PDB, each labelled name redis, part-of honeydue, managed-by honeydue-k8s', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'PersistentVolumeClaim/redis-data', 'ServiceAccount/redis', 'Deployment/redis', 'Service/redis', 'PodDisruptionBudget/redis-pdb',
    ]);
    for (const o of objects) {
      expect(o.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' });
    }
  });

  test('container redis under its own ServiceAccount, the image tag as its version, a 64Mi /tmp', () => {
    expect(redis.name).toBe('redis');
    expect(pod.serviceAccountName).toBe('redis');
    expect(deployment.spec.template.metadata.labels['app.kubernetes.io/version']).toBe('7-alpine');
    // Nothing to annotate (no ConfigMap, no API access): the template carries no annotations key at all.
    expect(Object.keys(deployment.spec.template.metadata)).toEqual(['labels']);
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
    expect(redis.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  test('the password comes from the optional REDIS_PASSWORD key of the Secret honeydue-secrets, in the environment, not in args', () => {
    expect(redis.env).toEqual([{ name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'honeydue-secrets', key: 'REDIS_PASSWORD', optional: true } } }]);
    expect(redis.command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(redis.args).toBeUndefined();
  });

  test("redis-server runs last, by exec, with the config as a here-document on stdin: its exit status is the pod's", () => {
    const lines = redis.command[2].split('\n');
    expect(lines).toContain('exec redis-server - <<EOF');
    expect(lines.slice(-2)).toEqual(['EOF', '']);
  });

  test('probes, securityContext and PDB', () => {
    expect(hardeningOf(objects)).toMatchSnapshot();
  });
});

describe("the Redis script, run by sh with a stand-in redis-server that prints its argv, whether REDIS_PASSWORD is in its environment, and its config (stdin)", () => {
  let dir: string, script: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-redis-'));
    fs.writeFileSync(path.join(dir, 'redis-server'), [
      '#!/bin/sh',
      'echo "argv: $*"',
      'echo "REDIS_PASSWORD=${REDIS_PASSWORD-<unset>}"',
      'cat',
      '',
    ].join('\n'), { mode: 0o755 });
    script = container(find(synthOf((chart) => new Redis(chart, 'redis', REDIS_WIRING)), 'Deployment', 'redis')).command[2];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The script as the pod runs it, in /data (here the temp dir), with the stand-in first on PATH. */
  const run = (env: Record<string, string>, PATH = `${dir}:${process.env.PATH}`) => spawnSync('/bin/sh', ['-c', script], { cwd: dir, env: { PATH, ...env }, encoding: 'utf8' });

  /** What redis-server - reads on stdin, with production's props, before the password line. */
  const CONFIG = ['appendonly yes', 'appendfsync everysec', 'maxmemory 256mb', 'maxmemory-policy noeviction'];

  test('without a password (the optional key absent or empty): redis-server - gets appendonly yes, appendfsync everysec, maxmemory 256mb, maxmemory-policy noeviction and no requirepass', () => {
    for (const env of [{}, { REDIS_PASSWORD: '' }] as Record<string, string>[]) {
      const result = run(env);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout.split('\n')).toEqual(['argv: -', 'REDIS_PASSWORD=<unset>', ...CONFIG, '', '']);
    }
  });

  test('with a password: requirepass holds every byte of it as \\xHH (a space or * is no word break or glob), and neither argv nor the environment of redis-server holds it', () => {
    const result = run({ REDIS_PASSWORD: 'a b*' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')).toEqual(['argv: -', 'REDIS_PASSWORD=<unset>', ...CONFIG, 'requirepass "\\x61\\x20\\x62\\x2a"', '']);
  });

  test('a password that encodes to nothing (here od prints nothing) stops the pod before redis-server: never requirepass "", Redis without auth', () => {
    const odDir = path.join(dir, 'silent-od');
    fs.mkdirSync(odDir);
    fs.writeFileSync(path.join(odDir, 'od'), '#!/bin/sh\ncat >/dev/null\n', { mode: 0o755 });
    const result = run({ REDIS_PASSWORD: 'a b*' }, `${odDir}:${dir}:${process.env.PATH}`);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('redis: REDIS_PASSWORD is set but could not be hex-encoded (od, tr, sed); not starting without it\n');
    expect(result.stdout).toBe('');
  });

  test('set -e: a step that fails (here sed, missing from PATH) stops the script there, with its status, before redis-server', () => {
    const result = run({ REDIS_PASSWORD: 'a b*' }, dir);
    expect(result.status).toBe(127);
    expect(result.stderr).toMatch(/sed: (command )?not found/);
    expect(result.stdout).toBe('');
  });
});

test('the eviction policy is a knob', () => {
  const objects = synthOf((chart) => new Redis(chart, 'redis', { evictionPolicy: 'allkeys-lru' }));
  expect(container(find(objects, 'Deployment', 'redis')).command[2]).toMatch(/^maxmemory-policy allkeys-lru$/m);
});

test.each(['noeviction', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl'] as const)('every Redis policy is accepted: %s', (evictionPolicy) => {
  const objects = synthOf((chart) => new Redis(chart, 'redis', { evictionPolicy }));
  expect(container(find(objects, 'Deployment', 'redis')).command[2]).toContain(`\nmaxmemory-policy ${evictionPolicy}\n`);
});

test('Redis knows the eight policies of Redis 7, and names them all when refusing another', () => {
  expect(REDIS_EVICTION_POLICIES).toEqual(['noeviction', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl']);
  expect(() => synthOf((chart) => new Redis(chart, 'redis', { evictionPolicy: 'lru' as any }))).toThrow(
    "Redis: evictionPolicy: 'lru' is not a Redis policy; use one of noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl",
  );
});

test.each([
  ['name', { name: 'Cache_1' }],
  ['claimName', { claimName: 'Redis_Data' }],
  ['secretName', { secretName: 'Redis_Secret' }],
])('fails with a %s that is no DNS label, naming it', (prop, props) => {
  expect(() => synthOf((chart) => new Redis(chart, 'redis', props))).toThrow(new RegExp(`Redis: ${prop}: '`));
});

test('a memory limit of the wrong type is left to the type checker and the config schema: the AOF rule compares quantities only', () => {
  expect(() => synthOf((chart) => new Redis(chart, 'redis', { resources: { limits: { memory: 1000 as any } } }))).not.toThrow();
});

test('maxMemory may take half the memory limit, in any of its units (the AOF rewrite forks)', () => {
  const redis = (maxMemory: string, memory: string) => () => synthOf((chart) => new Redis(chart, 'redis', { maxMemory, resources: { limits: { memory } } }));
  expect(redis('1gb', '2Gi')).not.toThrow();
  expect(redis('1gb', '2047Mi')).toThrow(/maxMemory: '1gb' needs a memory limit of at least twice that .* raise the limit to 2048Mi/);
  expect(redis('400gb', '1T')).not.toThrow();
  expect(redis('500gb', '1T')).toThrow(/maxMemory: '500gb' needs a memory limit of at least twice that/);
  expect(redis('488kb', '1M')).not.toThrow();
  expect(redis('489kb', '1M')).toThrow(/maxMemory: '489kb'/);
});

test('a maxMemory Redis cannot read is refused for that alone: it is not also measured against the memory limit', () => {
  const notSize = (value: string) => new Error(`Redis: maxMemory: '${value}' is not a Redis size; write it like '256mb' or '1gb'`);
  expect(() => synthOf((chart) => new Redis(chart, 'redis', { maxMemory: '1.5gb' }))).toThrow(notSize('1.5gb'));
  expect(() => synthOf((chart) => new Redis(chart, 'redis', { maxMemory: '1gbytes' }))).toThrow(notSize('1gbytes'));
});

test('a memory limit that is no quantity is refused for that alone: it is not also measured against maxMemory', () => {
  const withLimit = (memory: string) => () => synthOf((chart) => new Redis(chart, 'redis', { resources: { limits: { memory } } }));
  const notQuantity = (value: string) =>
    new Error(`Redis: resources.limits.memory: '${value}' is not a memory quantity; write a binary suffix like '512Mi' or '1Gi' (not 'MB')`);
  expect(withLimit('512MB')).toThrow(notQuantity('512MB'));
  expect(withLimit('-400Mi')).toThrow(notQuantity('-400Mi'));
});

test('a fractional memory limit counts every decimal digit: 0.25Gi is 256Mi, too little for 256mb', () => {
  const redis = (maxMemory: string) => () => synthOf((chart) => new Redis(chart, 'redis', { maxMemory, resources: { limits: { memory: '0.25Gi' } } }));
  expect(redis('128mb')).not.toThrow();
  expect(redis('256mb')).toThrow(new Error(
    "Redis: maxMemory: '256mb' needs a memory limit of at least twice that (the AOF rewrite forks and the copy counts against the limit), but resources.limits.memory is '0.25Gi'; raise the limit to 512Mi or lower maxMemory",
  ));
});

test('the group is a knob of its own: runAsGroup sets gid and fsGroup, runAsUser only the uid', () => {
  const objects = synthOf((chart) => new Redis(chart, 'redis', { runAsUser: 1001, runAsGroup: 1002 }));
  expect(find(objects, 'Deployment', 'redis').spec.template.spec.securityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 1002, fsGroup: 1002 });
});

describe('Redis fails', () => {
  test('fails with an unknown eviction policy', () => {
    expect(() => synthOf((chart) => new Redis(chart, 'redis', { evictionPolicy: 'lru' as any }))).toThrow(/Redis: evictionPolicy: 'lru' is not a Redis policy; use one of noeviction/);
  });
  test('fails with a Kubernetes quantity as maxMemory', () => {
    expect(() => synthOf((chart) => new Redis(chart, 'redis', { maxMemory: '256Mi' }))).toThrow(/Redis: maxMemory: '256Mi' is not a Redis size/);
  });
  test('fails with a bad storage size', () => {
    expect(() => synthOf((chart) => new Redis(chart, 'redis', { storage: '5GB' }))).toThrow(/Redis: storage: '5GB' is not a memory quantity/);
  });
  test('fails with a root or fractional group', () => {
    expect(() => synthOf((chart) => new Redis(chart, 'redis', { runAsGroup: 0 }))).toThrow(/Redis: runAsGroup: 0 must be a whole number of at least 1/);
    expect(() => synthOf((chart) => new Redis(chart, 'redis', { runAsUser: 9.5 }))).toThrow(/Redis: runAsUser: 9\.5 must be a whole number of at least 1/);
  });
  test('fails when a second Redis builds the same objects, naming both', () => {
    expect(() => synthOf((chart) => {
      new Redis(chart, 'redis', REDIS_WIRING);
      new Redis(chart, 'again', REDIS_WIRING);
    })).toThrow(/^Redis at test\/again: PersistentVolumeClaim honeydue\/redis-data, ServiceAccount honeydue\/redis, .* are already built by test\/redis: /);
  });
  test('fails with redis:latest', () => {
    expect(() => synthOf((chart) => new Redis(chart, 'redis', { image: 'redis:latest' }))).toThrow(/Redis: image: 'redis:latest' uses 'latest'/);
  });
  test('fails with an image ending in a colon: an empty tag is no tag', () => {
    expect(() => synthOf((chart) => new Redis(chart, 'redis', { image: 'redis:' }))).toThrow("Redis: image: 'redis:' has no tag");
  });
});

test('Redis with no props reads no Secret and is pinned to no node: both are the cluster\'s facts', () => {
  const deployment = find(synthOf((chart) => new Redis(chart, 'redis')), 'Deployment', 'redis');
  expect(deployment.spec.template.spec.nodeSelector).toBeUndefined();
  expect(container(deployment).env).toBeUndefined();
  expect(deployment.metadata.namespace).toBe(PRODUCTION.namespace);
});

test("Redis with an explicit namespace puts every object there, not in the Chart's", () => {
  const objects = synthOf((chart) => new Redis(chart, 'redis', { ...REDIS_WIRING, namespace: 'cache' }));
  expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}`)).toEqual([
    'PersistentVolumeClaim/cache', 'ServiceAccount/cache', 'Deployment/cache', 'Service/cache', 'PodDisruptionBudget/cache',
  ]);
});

test('Redis outside a namespaced Chart without a namespace fails, naming the prop and the fix', () => {
  expect(() => new Redis(Testing.chart(), 'redis')).toThrow(/Redis: namespace: not set, and the enclosing Chart has none; set 'namespace' on the construct or on its Chart/);
});

test('maxMemory above half the memory limit is refused: the AOF rewrite forks', () => {
  const { Chart, Testing } = require('cdk8s');
  const { ValueProblems } = require('../constructs');
  const { Redis } = require('../constructs/redis');
  const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
  let thrown: any;
  try {
    new Redis(chart, 'redis', { maxMemory: '300mb', resources: { limits: { memory: '512Mi' } } });
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValueProblems);
  expect(thrown.problems).toHaveLength(1);
  expect(thrown.problems[0]).toMatchObject({ owner: 'Redis', path: 'maxMemory', value: '300mb', related: ['resources.limits.memory'] });
  expect(thrown.message).toBe(
    "Redis: maxMemory: '300mb' needs a memory limit of at least twice that (the AOF rewrite forks and the copy counts against the limit), but resources.limits.memory is '512Mi'; raise the limit to 600Mi or lower maxMemory",
  );
});
