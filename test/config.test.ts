import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { ConfigError, loadConfig } from '../app/config';

const production = YAML.parse(fs.readFileSync(path.join(__dirname, '..', 'config', 'production.yaml'), 'utf8'));

/** Writes `config` as `<dir>/<env>.yaml` (plus any other files) and returns the dir. */
function configDir(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-config-'));
  for (const [env, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, `${env}.yaml`), typeof content === 'string' ? content : YAML.stringify(content));
  }
  return dir;
}

/** The problems loading `config` reports, or a failure when it loads. */
function problemsOf(config: unknown, options: { imageTag?: string } = {}): string[] {
  try {
    loadConfig('bad', { configDir: configDir({ bad: config }), ...options });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

const withChange = (change: (config: any) => void) => {
  const copy = structuredClone(production);
  change(copy);
  return copy;
};

test('the production config loads and carries SPEC values', () => {
  const props = loadConfig('production');
  expect(props.namespace).toBe('honeydue');
  expect(props.database?.host).toBe('ep-floral-truth-amttbc5a-pooler.c-5.us-east-1.aws.neon.tech');
  expect(props.redis?.evictionPolicy).toBe('noeviction');
  expect(props.worker?.replicas).toBe(1);
});

test('the image tag can be overridden at synth time', () => {
  expect(loadConfig('production', { imageTag: 'abcdef1234' }).imageTag).toBe('abcdef1234');
});

// Each bad config must be reported with its path and its value.
const badConfigs: Array<[string, (config: any) => void, RegExp]> = [
  ['an unknown top-level key', (c) => { c.replica = 3; }, /^replica: unknown key/],
  ['an unknown nested key', (c) => { c.api.replica = 3; }, /^api\.replica: unknown key/],
  ['replicas as a string', (c) => { c.api.replicas = '3'; }, /^api\.replicas: .*expected number.*\(got "3"\)/],
  ['a memory quantity in MB', (c) => { c.api.resources.limits.memory = '512MB'; }, /^api\.resources\.limits\.memory: '512MB' is not a memory quantity.*\(got "512MB"\)/],
  ['a CPU quantity with a space', (c) => { c.admin.resources.requests.cpu = '50 m'; }, /^admin\.resources\.requests\.cpu: '50 m' is not a CPU quantity/],
  ['the latest tag', (c) => { c.imageTag = 'latest'; }, /^imageTag: 'latest' is not allowed.*\(got "latest"\)/],
  ['a tag that is not a commit SHA', (c) => { c.imageTag = 'v1.2.3'; }, /^imageTag: 'v1.2.3' is not a commit SHA/],
  ['no image tag', (c) => { delete c.imageTag; }, /^imageTag: .*\(got missing\)/],
  ['worker replicas 2', (c) => { c.worker.replicas = 2; }, /^worker\.replicas: must be 1 \(got 2\): Asynq's Scheduler is not leader-elected/],
  ['a hostname with an underscore', (c) => { c.domains.api = 'api_myhoneydue.com'; }, /^domains\.api: 'api_myhoneydue.com' is not a hostname/],
  ['an upper-case namespace', (c) => { c.namespace = 'HoneyDue'; }, /^namespace: 'HoneyDue' is not a valid Kubernetes name/],
  ['an unknown eviction policy', (c) => { c.redis.evictionPolicy = 'lru'; }, /^redis\.evictionPolicy: .*noeviction.*\(got "lru"\)/],
  ['a port out of range', (c) => { c.database.port = 70000; }, /^database\.port: 70000 is not a port/],
  ['a migration deadline past the 10-minute gate', (c) => { c.migrate.activeDeadlineSeconds = 900; }, /^migrate\.activeDeadlineSeconds: .*600.*\(got 900\)/],
  ['an extra config key that is not an env var name', (c) => { c.extraConfig = { 'db-host': 'x' }; }, /^extraConfig\.db-host: 'db-host' is not an environment variable name/],
  ['a secret key listed twice', (c) => { c.api.secretKeys = ['SECRET_KEY', 'SECRET_KEY']; }, /^api\.secretKeys\.1: 'SECRET_KEY' is listed twice/],
  ['a CPU target above 100 %', (c) => { c.api.autoscaling = { cpuUtilization: 150 }; }, /^api\.autoscaling\.cpuUtilization: .*100.*\(got 150\)/],
  ['an HPA maximum below its minimum', (c) => { c.api.autoscaling = { minReplicas: 4, maxReplicas: 2 }; }, /^api\.autoscaling\.maxReplicas: must be at least minReplicas \(got 2\)/],
  ['a public API URL that is not http(s)', (c) => { c.publicApiUrl = 'ftp://api.myhoneydue.com'; }, /^publicApiUrl: .*\(got "ftp:\/\/api.myhoneydue.com"\)/],
  ['a Kubernetes quantity as the Redis maxmemory', (c) => { c.redis.maxMemory = '256Mi'; }, /^redis\.maxMemory: must be a Redis size like '256mb' \(got "256Mi"\)/],
  ['zero api replicas', (c) => { c.api.replicas = 0; }, /^api\.replicas: .*>=1.*\(got 0\)/],
  ['a negative probe delay', (c) => { c.api.probes = { readiness: { initialDelaySeconds: -5 } }; }, /^api\.probes\.readiness\.initialDelaySeconds: .*\(got -5\)/],
  ['web enabled as a string', (c) => { c.web.enabled = 'yes'; }, /^web\.enabled: .*expected boolean.*\(got "yes"\)/],
  ['a storage size in GB', (c) => { c.redis.storage = '5GB'; }, /^redis\.storage: '5GB' is not a memory quantity/],
];

describe.each(badConfigs)('fails with %s', (_name, change, message) => {
  test('reported with its path and value', () => {
    const problems = problemsOf(withChange(change));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });
});

test('fails with every problem at once, not the first only', () => {
  const problems = problemsOf(withChange((c) => {
    c.imageTag = 'latest';
    c.worker.replicas = 3;
    c.api.resources.limits.memory = '1GB';
  }));
  expect(problems).toHaveLength(3);
  expect(problems.join('\n')).toMatch(/imageTag[\s\S]*worker\.replicas|worker\.replicas[\s\S]*imageTag/);
  expect(problems.join('\n')).toContain('api.resources.limits.memory');
});

test('fails with a latest tag given as the override', () => {
  expect(problemsOf(production, { imageTag: 'latest' })[0]).toMatch(/^imageTag: 'latest' is not allowed/);
});

test('fails with a file that is not YAML', () => {
  expect(problemsOf('imageTag: [unclosed')[0]).toMatch(/not valid YAML/);
});

test('fails with an unknown environment, listing the known ones', () => {
  expect(() => loadConfig('prod', { configDir: configDir({ production }) })).toThrow(/environment 'prod' has no config file .*known environments: production/);
});

test('fails with an extends cycle', () => {
  const dir = configDir({ a: { extends: 'b', imageTag: 'abcdef1' }, b: { extends: 'a' } });
  expect(() => loadConfig('a', { configDir: dir })).toThrow(/extends itself through a -> b -> a/);
});

test('an environment file states only its differences over the one it extends', () => {
  const dir = configDir({ production, small: { extends: 'production', namespace: 'honeydue-small', api: { replicas: 1 } } });
  const props = loadConfig('small', { configDir: dir });
  expect(props.namespace).toBe('honeydue-small');
  expect(props.api?.replicas).toBe(1);
  expect(props.api?.resources).toEqual(production.api.resources);
  expect(props.database?.host).toBe(production.database.host);
});
