import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { ConfigError, loadConfig, loadEnvironment } from '../app/config';
import { renderEnvironment } from '../app/synth';
import { ValueProblem } from '../constructs';
import { BAD_INPUTS } from './bad-inputs';
import { PRODUCTION, TAG } from './helpers';

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

test("the tests' PRODUCTION, read as plain YAML, is what loadConfig reads from production's file", () => {
  expect(PRODUCTION).toEqual(loadConfig('production', { imageTag: TAG }));
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

test('fails with a file that is not YAML, or not a mapping, at its line', () => {
  expect(problemsOf('imageTag: [unclosed')[0]).toMatch(/^bad\.yaml:1:20: not valid YAML: Flow sequence .* must .* end with a \]$/);
  expect(problemsOf('')).toEqual(['bad.yaml:1:1: the file must hold a mapping of config keys']);
});

test('fails with an unknown environment, listing the known ones and the likely one', () => {
  expect(() => loadConfig('prod', { configDir: configDir({ production }) })).toThrow(/environment 'prod' has no config file .*; known environments: production/);
  const dir = configDir({ production });
  expect(() => loadConfig('prodution', { configDir: dir })).toThrow(
    `environment 'prodution' has no config file ${path.join(dir, 'prodution.yaml')}; did you mean 'production'? known environments: production`,
  );
});

test('a required value removed with null: the null, and where the base sets what it removes', () => {
  const lines = YAML.stringify(production).split('\n');
  const base = `production.yaml:${lines.indexOf('storage:') + 2}:3`;
  expect(problemsOf('extends: production\nnamespace: honeydue-bad\nstorage: null\n', {}, { production })).toEqual([
    `bad.yaml:3:1: storage: Invalid input: expected object, received undefined; the null here removes the value ${base} sets, and this key has no default: write the value instead (got missing)`,
  ]);
});

test('a value of one of two shapes: judged as the shape it has, or told the shapes', () => {
  expect(problemsOf('extends: production\napi:\n  secretKeys:\n    - SECRET_KEY\n    - { kye: POSTGRES_PASSWORD }\n    - 5\n', {}, { production })).toEqual([
    "bad.yaml:5:7: api.secretKeys.1.key: required and missing: add 'key' under api.secretKeys.1 (a string; it has no default) (got missing)",
    'bad.yaml:5:9: api.secretKeys.1.kye: unknown key; the keys here are key, optional (docs/config.md)',
    'bad.yaml:6:7: api.secretKeys.2: Invalid input: expected string or object (got 5)',
  ]);
});

test('a problem at a list index of two digits is placed at that item', () => {
  const keys = Array.from({ length: 10 }, (_, i) => `    - KEY_${i}\n`).join('');
  expect(problemsOf(`extends: production\napi:\n  secretKeys:\n${keys}    - bad-key\n`, {}, { production })).toEqual([
    "bad.yaml:14:7: api.secretKeys.10: 'bad-key' is not an environment variable name; use letters, digits and '_' (got \"bad-key\")",
  ]);
});

test('an extraConfig key that starts like a list index is placed at that key, and named as it is written', () => {
  expect(problemsOf('extends: production\nextraConfig:\n  "[1]x": v\n', {}, { production })).toEqual([
    "bad.yaml:3:11: extraConfig.[1]x: '[1]x' is not an environment variable name; use letters, digits and '_' (got \"[1]x\")",
  ]);
});

test('a required key misspelt: the missing key at its parent, and the spelling it was meant to be', () => {
  const problems = problemsOf(YAML.stringify(production).replace('smtpHost:', 'smtpHots:'));
  const line = YAML.stringify(production).split('\n').indexOf('email:') + 1;
  expect(problems).toEqual([
    `bad.yaml:${line}:1: email.smtpHost: required and missing: add 'smtpHost' under email (a string; it has no default) (got missing)`,
    `bad.yaml:${line + 1}:3: email.smtpHots: unknown key; did you mean 'smtpHost'?`,
  ]);
});

test('a number or a boolean written in quotes: the type, the value, and the quotes to remove', () => {
  expect(problemsOf('extends: production\napi:\n  replicas: "3"\nweb:\n  enabled: "yes"\n', {}, { production })).toEqual([
    'bad.yaml:3:13: api.replicas: Invalid input: expected number, received string; remove the quotes: replicas: 3 (got "3")',
    'bad.yaml:5:12: web.enabled: Invalid input: expected boolean, received string; write true or false, without quotes (got "yes")',
  ]);
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

test('environments loaded with one map of files read share the file they extend, parsed once; each loads as it does alone', () => {
  const dir = configDir({ production, small: { extends: 'production', namespace: 'honeydue-small', api: { replicas: 1 } } });
  const filesRead = new Map();
  const small = loadEnvironment('small', { configDir: dir, filesRead });
  const prod = loadEnvironment('production', { configDir: dir, filesRead });
  expect(small.chain[1]).toBe(prod.chain[0]);
  expect([...filesRead.keys()].sort()).toEqual([path.join(dir, 'production.yaml'), path.join(dir, 'small.yaml')]);
  expect(small.props).toEqual(loadEnvironment('small', { configDir: dir }).props);
  expect(prod.props).toEqual(loadEnvironment('production', { configDir: dir }).props);
  expect(prod.props.namespace).toBe(production.namespace);
});

test('loading a config and rendering it judges each child once: the build that validates the config is the one rendered', () => {
  jest.isolateModules(() => {
    // Every workload's rules judge its resources through this one function, with the construct's name.
    const actual = jest.requireActual('../constructs/shared/resources');
    const resourcesProblems = jest.fn(actual.resourcesProblems);
    jest.doMock('../constructs/shared/resources', () => ({ ...actual, resourcesProblems }));
    try {
      const { renderEnvironment: render } = require('../app/synth') as typeof import('../app/synth');
      render('production', { log: () => undefined });
      const judged: Record<string, number> = {};
      for (const [owner] of resourcesProblems.mock.calls) judged[owner] = (judged[owner] ?? 0) + 1;
      // NextjsApp is admin and web: web is off in production, and judged all the same.
      expect(judged).toEqual({ Redis: 1, HoneydueApi: 1, Worker: 1, MigrateJob: 1, NextjsApp: 2, VmAgent: 1 });
    } finally {
      jest.dontMock('../constructs/shared/resources');
    }
  });
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
    expect.stringMatching(new RegExp(`^${AT}api\\.autoscaling\\.maxReplicas: 2 is below api\\.autoscaling\\.minReplicas \\(4\\).*\\(got 2\\)$`)),
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

test('a trusted range in IPv6 written out in full (eight groups, no ::) is a CIDR block like its :: form; seven groups is not', () => {
  const props = loadConfig('bad', { configDir: configDir({ bad: withChange((c) => { c.traefik.forwardedHeadersTrustedIps = ['2001:db8:0:0:0:0:0:0/32']; }) }) });
  expect(props.traefik?.forwardedHeadersTrustedIps).toEqual(['2001:db8:0:0:0:0:0:0/32']);
  expect(problemsOf(withChange((c) => { c.traefik.forwardedHeadersTrustedIps = ['2001:db8:0:0:0:0:0/32']; }))).toEqual([
    expect.stringMatching(new RegExp(`^${AT}traefik\\.forwardedHeadersTrustedIps\\.0: '2001:db8:0:0:0:0:0/32' is not an IPv4 or IPv6 CIDR block; write it like '173\\.245\\.48\\.0/20' or '2400:cb00::/32' \\(got "2001:db8:0:0:0:0:0/32"\\)$`)),
  ]);
});

test('a remote-write URL that is no URL at all: the example of one to write', () => {
  expect(problemsOf(withChange((c) => { c.observability.remoteWriteUrl = 'not a url'; }))).toEqual([
    expect.stringMatching(new RegExp(`^${AT}observability\\.remoteWriteUrl: 'not a url' is not a URL; write it like 'https://obs\\.example\\.com/api/v1/write' \\(got "not a url"\\)$`)),
  ]);
});

test("a Redis memory limit in bytes, as Kubernetes takes it, is read as bytes against maxMemory: twice maxMemory is enough", () => {
  const props = loadConfig('bad', { configDir: configDir({ bad: withChange((c) => { c.redis.resources = { limits: { memory: 536870912 } }; }) }) });
  expect(props.redis?.resources?.limits?.memory).toBe('536870912');
  expect(problemsOf(withChange((c) => { c.redis.resources = { limits: { memory: 536870911 } }; }))).toEqual([
    expect.stringMatching(new RegExp(`^${AT}redis\\.maxMemory: '256mb' needs a memory limit of at least twice that .*but redis\\.resources\\.limits\\.memory is '536870911'; raise the limit to 512Mi or lower maxMemory \\(got "256mb"\\)$`)),
  ]);
});

test('a ValueProblem a consumer builds names no other prop unless told: related defaults to none', () => {
  const problem = new ValueProblem('Exporter', 'port', '0 is not a port', 0);
  expect(problem.message).toBe('Exporter: port: 0 is not a port');
  expect(problem.related).toEqual([]);
});

describe('each problem names the file, line and column that set the value, the key, the value and the fix', () => {
  /** The problems of `bad.yaml` written as `text`, beside production's file. */
  const onProduction = (text: string, options: { imageTag?: string; imageTagSource?: string } = {}) => problemsOf(text, options, { production });

  test('a value written in the environment file: where it is written', () => {
    expect(onProduction('extends: production\nnamespace: honeydue-bad\nimageTag: latest\n')).toEqual([
      expect.stringMatching(/^bad\.yaml:3:11: imageTag: 'latest' is not allowed: .*use the commit SHA .*\(got "latest"\)$/),
    ]);
  });

  test('a value inherited through extends: located in the base file that sets it, the error headed by the environment', () => {
    const dir = configDir({ production, base: 'extends: production\napi:\n  replicas: 0\n', bad: 'extends: base\nnamespace: honeydue-bad\n' });
    let thrown: unknown;
    try {
      loadConfig('bad', { configDir: dir });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).file).toBe(path.join(dir, 'bad.yaml'));
    expect((thrown as ConfigError).problems).toEqual([
      expect.stringMatching(new RegExp(`^${path.join(dir, 'base.yaml')}:3:13: api\\.replicas: 0 must be a whole number of at least 1 \\(got 0\\)$`)),
    ]);
    expect((thrown as ConfigError).issues[0]).toMatchObject({ path: ['api', 'replicas'], value: 0, source: { file: path.join(dir, 'base.yaml'), line: 3, column: 13 } });
  });

  test('a misspelt key: did you mean the key of the same mapping', () => {
    expect(onProduction('extends: production\nemail:\n  smtpHots: smtp.example.com\n')).toEqual([
      "bad.yaml:3:3: email.smtpHots: unknown key; did you mean 'smtpHost'?",
    ]);
  });

  test('a key indented under the wrong parent: where it belongs', () => {
    expect(onProduction('extends: production\napi:\n  evictionPolicy: noeviction\n')).toEqual([
      "bad.yaml:3:3: api.evictionPolicy: unknown key here; 'evictionPolicy' belongs under redis.evictionPolicy: move it there (check its indentation)",
    ]);
    expect(onProduction('extends: production\nreplicas: 2\n')).toEqual([
      "bad.yaml:2:1: replicas: unknown key here; 'replicas' belongs under one of api.replicas, admin.replicas, web.replicas or worker.replicas: move it there (check its indentation)",
    ]);
    expect(onProduction('extends: production\nreplica: 2\n')).toEqual([
      "bad.yaml:2:1: replica: unknown key; did you mean 'api.replicas', 'admin.replicas', 'web.replicas' or 'worker.replicas'? (a key goes under its parent, indented)",
    ]);
  });

  test.each([
    ['1234567', 'the number 1234567'],
    ['0123456', 'the number 123456'],
    ['1234e56', 'the number 1.234e+59'],
  ])('a tag YAML reads as a number, %s: the text as written and the quotes to add', (tag, read) => {
    expect(onProduction(`extends: production\nimageTag: ${tag}\n`)).toEqual([
      `bad.yaml:2:11: imageTag: ${tag} is read by YAML as ${read}, not as text; quote it: imageTag: '${tag}'`,
    ]);
    const dir = configDir({ production, bad: `extends: production\nimageTag: '${tag}'\n` });
    expect(loadConfig('bad', { configDir: dir }).imageTag).toBe(tag);
  });

  test('a YAML syntax error: its line and column', () => {
    expect(onProduction('extends: production\nnamespace: a\nnamespace: b\n')).toEqual([
      expect.stringMatching(/^bad\.yaml:3:1: not valid YAML: Map keys must be unique$/),
    ]);
  });

  test('extends naming no file: the extends line of the file that wrote it, with the likely name', () => {
    const dir = configDir({ production, bad: 'namespace: honeydue-bad\nextends: prodution\n' });
    expect(() => loadConfig('bad', { configDir: dir })).toThrow(
      `${path.join(dir, 'bad.yaml')}: 1 problem(s) in the config:\n` +
        `  - ${path.join(dir, 'bad.yaml')}:2:10: extends: 'prodution' has no config file (${path.join(dir, 'prodution.yaml')}); did you mean 'production'? known environments: bad, production`,
    );
  });

  test('a bad tag override is blamed on its source, not the file', () => {
    expect(problemsOf(production, { imageTag: 'v1.2.3', imageTagSource: '--tag' })).toEqual([
      "--tag: imageTag: 'v1.2.3' is not a commit SHA; use 7 to 40 lowercase hex characters: the commit of the application repository the images were built from (got \"v1.2.3\")",
    ]);
    expect(problemsOf(production, { imageTag: '1234ABC', imageTagSource: 'HONEYDUE_IMAGE_TAG' })).toEqual([
      expect.stringMatching(/^HONEYDUE_IMAGE_TAG: imageTag: '1234ABC' is not a commit SHA/),
    ]);
  });

  test('a tag override that replaces the file\'s says so, naming the file and line it replaces', () => {
    const text = fs.readFileSync(path.join(__dirname, '..', 'config', 'production.yaml'), 'utf8');
    const line = text.split('\n').findIndex((l) => l.startsWith('imageTag: ')) + 1;
    expect(loadEnvironment('production', { imageTag: 'abcdef9', imageTagSource: 'HONEYDUE_IMAGE_TAG' }).overridden).toEqual([
      `imageTag "abcdef9" from HONEYDUE_IMAGE_TAG replaces imageTag "${production.imageTag}" of config/production.yaml:${line}:11`,
    ]);
    expect(loadEnvironment('production', { imageTag: production.imageTag }).overridden).toEqual([]);
  });

  test('a quantity as a number, as Kubernetes takes it: cpu: 1, memory in bytes; a negative one is refused with its key and value', () => {
    const text = 'extends: production\napi:\n  resources:\n    requests: { cpu: 1, memory: 134217728 }\n    limits: { cpu: 1.5 }\n';
    const dir = configDir({ production, bad: text });
    const props = loadConfig('bad', { configDir: dir });
    expect(props.api?.resources?.requests).toEqual({ cpu: '1', memory: '134217728' });
    expect(props.api?.resources?.limits?.cpu).toBe('1.5');
    const api = renderEnvironment('bad', { configDir: dir, log: () => undefined }).flatMap((f) => f.objects).find((o) => o.kind === 'Deployment' && o.metadata.name === 'api');
    expect(api.spec.template.spec.containers[0].resources.requests).toEqual({ cpu: '1', memory: '134217728' });
    expect(onProduction('extends: production\napi:\n  resources:\n    limits: { cpu: -1 }\n')).toEqual([
      "bad.yaml:4:20: api.resources.limits.cpu: '-1' is not a CPU quantity; write millicores like '100m' or cores like '1' (got -1)",
    ]);
  });
});
