import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { ConfigError, loadConfig } from '../app/config';
import { BAD_INPUTS } from './bad-inputs';

const production = YAML.parse(fs.readFileSync(path.join(__dirname, '..', 'config', 'production.yaml'), 'utf8'));

/** Writes `config` as `<dir>/<env>.yaml` (plus any other files) and returns the dir. */
function configDir(files: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-config-'));
  for (const [env, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, `${env}.yaml`), typeof content === 'string' ? content : YAML.stringify(content));
  }
  return dir;
}

/** The problems loading `config` (as `bad.yaml`, plus any other files) reports, with the folder left out of each path; a failure when it loads. */
function problemsOf(config: unknown, options: { imageTag?: string; imageTagSource?: string } = {}, others: Record<string, unknown> = {}): string[] {
  const dir = configDir({ ...others, bad: config });
  try {
    loadConfig('bad', { configDir: dir, ...options });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((line) => line.split(`${dir}${path.sep}`).join(''));
    throw error;
  }
  throw new Error('expected the config to be rejected');
}

/** `bad.yaml:<line>:<column>: `, as a pattern. */
const AT = String.raw`bad\.yaml:\d+:\d+: `;

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

test.each(BAD_INPUTS.filter((input) => typeof input.change === 'function' && !/^[A-Z]\w+: /.test(input.message.source)))(
  'fails with $name: one problem, naming its path and value',
  ({ change, message }) => {
    const problems = problemsOf(withChange(change as (config: any) => void));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${AT}${message.source}`));
  },
);

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
  expect(problemsOf(production, { imageTag: 'latest' })[0]).toMatch(/^the imageTag override: imageTag: 'latest' is not allowed/);
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

test('fails with worker replicas 2 reported even beside a type error elsewhere', () => {
  const problems = problemsOf(withChange((c) => {
    c.api.replicas = 'three';
    c.worker.replicas = 2;
    c.api.autoscaling = { minReplicas: 4, maxReplicas: 2 };
  }));
  expect(problems).toHaveLength(3);
  expect(problems).toEqual(expect.arrayContaining([
    expect.stringMatching(new RegExp(`^${AT}api\\.replicas: .*\\(got "three"\\)`)),
    expect.stringMatching(new RegExp(`^${AT}worker\\.replicas: must be 1: .*\\(got 2\\)$`)),
    expect.stringMatching(new RegExp(`^${AT}api\\.autoscaling\\.maxReplicas: must be at least minReplicas \\(got 2\\)`)),
  ]));
});

test('the container-contract keys are typed: trusted ranges, the worker health probe, the api preStop, the Next.js cache', () => {
  expect(problemsOf(withChange((c) => { c.traefik.forwardedHeadersTrustedIps = ['173.245.48.0/20', 'everyone']; }))).toEqual([
    expect.stringMatching(new RegExp(`^${AT}traefik\\.forwardedHeadersTrustedIps\\.1: 'everyone' is not an IPv4 or IPv6 CIDR block.*\\(got "everyone"\\)$`)),
  ]);
  expect(problemsOf(withChange((c) => { c.worker.healthProbe = { port: 6060, pth: '/health' }; }))).toEqual([
    expect.stringMatching(new RegExp(`^${AT}worker\\.healthProbe\\.pth: unknown key`)),
  ]);
  expect(problemsOf(withChange((c) => { c.api.preStopDelaySeconds = -5; }))).toEqual([expect.stringMatching(new RegExp(`^${AT}api\\.preStopDelaySeconds: .*\\(got -5\\)$`))]);
  expect(problemsOf(withChange((c) => { c.admin.cacheSizeLimit = '1GB'; }))).toEqual([expect.stringMatching(new RegExp(`^${AT}admin\\.cacheSizeLimit: '1GB' is not a memory quantity`))]);
  const props = loadConfig('bad', { configDir: configDir({ bad: withChange((c) => { c.worker.healthProbe = { port: 7070 }; c.admin.cacheSizeLimit = '1Gi'; }) }) });
  expect(props.worker?.healthProbe).toEqual({ port: 7070 });
  expect(props.admin?.cacheSizeLimit).toBe('1Gi');
});
