/**
 * Environments must not touch each other's data (SPEC "Environments"): synth
 * refuses two environments that share a database, a bucket, an Ingress host or a
 * namespace unless the later file declares it, prints every declared share, and
 * the deploy refuses an environment marked not deployable.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { fingerprint, PRODUCTION } from './helpers';
import { ConfigError, loadConfig, loadEnvironment } from '../app/config';
import { checkIsolation, deployRefusal, IsolationError } from '../app/environments';
import { renderEnvironment, synthesize } from '../app/synth';
import { runSynth } from '../app/synth-cli';
import { directDatabaseHost } from '../constructs/shared/database';
import { concernFileName } from '../constructs/shared/concerns';

const ROOT = path.join(__dirname, '..');
const CONFIG_DIR = path.join(ROOT, 'config');
const POOLER_HOST = 'ep-floral-truth-amttbc5a-pooler.c-5.us-east-1.aws.neon.tech';
const DIRECT_HOST = 'ep-floral-truth-amttbc5a.c-5.us-east-1.aws.neon.tech';
const quiet = () => undefined;

/** An environment `qa` with nothing of production's: each test hands back one thing to collide on. */
const ownData = () => ({
  extends: 'production',
  namespace: 'honeydue-qa',
  domains: { apex: 'qa.myhoneydue.com', api: 'qa-api.myhoneydue.com', admin: 'qa-admin.myhoneydue.com' },
  database: { name: 'honeyDueQa' },
  storage: { bucket: 'honeyDueQa' },
  // The cluster has one Traefik, production's.
  traefik: { enabled: false },
});

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-data-'));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A config folder holding the repo's production.yaml plus the given environments, by name (objects become YAML). */
function folder(files: Record<string, object | string>): string {
  const configDir = path.join(scratch, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.copyFileSync(path.join(CONFIG_DIR, 'production.yaml'), path.join(configDir, 'production.yaml'));
  for (const [env, content] of Object.entries(files)) {
    fs.writeFileSync(path.join(configDir, `${env}.yaml`), typeof content === 'string' ? content : YAML.stringify(content));
  }
  return configDir;
}

/** The problems checkIsolation reports for a folder, or [] when it passes. */
function problemsOf(configDir: string, envs?: string[]): string[] {
  try {
    checkIsolation({ configDir, envs });
    return [];
  } catch (error) {
    if (!(error instanceof IsolationError)) throw error;
    return error.problems;
  }
}

/**
 * `<file>:<line>:<column>` of the first line of `file` holding `lineText`, at `value` on it: the place
 * found by reading the file, as the operator would.
 */
function at(file: string, lineText: string, value = lineText): string {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.includes(lineText));
  if (line < 0) throw new Error(`no line of ${file} holds ${lineText}`);
  return `${file}:${line + 1}:${lines[line].lastIndexOf(value) + 1}`;
}

describe('synth refuses environments that share data undeclared', () => {
  test('a database: the same host and name, named by both files, keys and values', () => {
    const configDir = folder({ qa: { ...ownData(), database: { name: 'honeyDue' } } });
    const problems = problemsOf(configDir);
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem).toContain(`${path.join(configDir, 'production.yaml')} and ${path.join(configDir, 'qa.yaml')} share the database 'honeyDue' on ${DIRECT_HOST}`);
    const [production, qa] = [path.join(configDir, 'production.yaml'), path.join(configDir, 'qa.yaml')];
    expect(problem).toContain(`production has database.host '${POOLER_HOST}' (set in ${at(production, POOLER_HOST)}), database.name 'honeyDue' (set in ${at(production, 'name: honeyDue', 'honeyDue')})`);
    // qa's host comes from production's file, its name from its own: the message says where each value is written, to the line.
    expect(problem).toContain(`qa has database.host '${POOLER_HOST}' (inherited from ${at(production, POOLER_HOST)}), database.name 'honeyDue' (set in ${at(qa, 'name: honeyDue', 'honeyDue')})`);
    expect(problem).toContain(`Give qa its own database (database.host, or database.name on the same server) in ${path.join(configDir, 'qa.yaml')}, or declare the share there: 'shares: { database: production }' (qa extends production)`);
  });

  test('a database: the direct host is the pooler host with -pooler stripped, one server', () => {
    const configDir = folder({ qa: { ...ownData(), database: { host: DIRECT_HOST, name: 'honeyDue' } } });
    const [problem, ...rest] = problemsOf(configDir);
    expect(rest).toEqual([]);
    expect(problem).toMatch(/share the database 'honeyDue' on ep-floral-truth-amttbc5a\.c-5\.us-east-1\.aws\.neon\.tech \(hosts compared with -pooler stripped\)/);
    expect(problem).toContain(`production has database.host '${POOLER_HOST}'`);
    expect(problem).toContain(`qa has database.host '${DIRECT_HOST}' (set in`);
  });

  test('a database: two hosts without -pooler compare as written', () => {
    const configDir = folder({
      production: fs.readFileSync(path.join(CONFIG_DIR, 'production.yaml'), 'utf8').replace(POOLER_HOST, 'db.example.com'),
      qa: { ...ownData(), database: { host: 'db.example.com', name: 'honeyDue' } },
    });
    expect(problemsOf(configDir)).toEqual([expect.stringMatching(/share the database 'honeyDue' on db\.example\.com .*qa has database\.host 'db\.example\.com' \(set in/)]);
  });

  test('a database name of its own on the same server is its own database', () => {
    const configDir = folder({ qa: { ...ownData(), database: { host: DIRECT_HOST, name: 'honeyDueQa' } } });
    expect(problemsOf(configDir)).toEqual([]);
    expect(checkIsolation({ configDir })).toEqual([]);
  });

  test('another server with the same database name is another database', () => {
    const configDir = folder({ qa: { ...ownData(), database: { host: 'ep-other-pooler.c-5.us-east-1.aws.neon.tech', name: 'honeyDue' } } });
    expect(problemsOf(configDir)).toEqual([]);
  });

  test('a storage bucket', () => {
    const { storage: _own, ...inheriting } = ownData();
    const configDir = folder({ qa: inheriting });
    expect(problemsOf(configDir)).toEqual([
      `${path.join(configDir, 'production.yaml')} and ${path.join(configDir, 'qa.yaml')} share the storage bucket 'honeyDueProd': ` +
        `production has storage.bucket 'honeyDueProd' (set in ${at(path.join(configDir, 'production.yaml'), 'honeyDueProd')}); ` +
        `qa has storage.bucket 'honeyDueProd' (inherited from ${at(path.join(configDir, 'production.yaml'), 'honeyDueProd')}). ` +
        `Give qa its own storage.bucket in ${path.join(configDir, 'qa.yaml')}, or declare the share there: 'shares: { bucket: production }' (qa extends production)`,
    ]);
    // `null` removes the inherited bucket, and the stack has no default to give back: the file is refused.
    fs.writeFileSync(path.join(configDir, 'qa.yaml'), YAML.stringify({ ...ownData(), storage: null }));
    expect(() => problemsOf(configDir)).toThrow(/qa\.yaml: .*\n\s+- \S+qa\.yaml:\d+:1: storage: Invalid input: expected object/);
  });

  test.each([
    ['apex', 'myhoneydue.com'],
    ['api', 'api.myhoneydue.com'],
    ['admin', 'admin.myhoneydue.com'],
  ])('an Ingress host: domains.%s %s', (field, host) => {
    const qa = ownData();
    const configDir = folder({ qa: { ...qa, domains: { ...qa.domains, [field]: host } } });
    const problems = problemsOf(configDir);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(
      `share the Ingress host '${host}': production has domains.${field} '${host}' (set in ${at(path.join(configDir, 'production.yaml'), `${field}: ${host}`, host)}); ` +
        `qa has domains.${field} '${host}' (set in ${at(path.join(configDir, 'qa.yaml'), `${field}: ${host}`, host)})`,
    );
    expect(problems[0]).toContain(`Give qa its own domains.${field} in ${path.join(configDir, 'qa.yaml')}, or declare the share there: 'shares: { ingressHost: production }'`);
  });

  test("an Ingress host under another key: one environment's api host as the other's apex", () => {
    const qa = ownData();
    const configDir = folder({ qa: { ...qa, domains: { ...qa.domains, apex: 'api.myhoneydue.com' } } });
    expect(problemsOf(configDir)).toEqual([expect.stringContaining("production has domains.api 'api.myhoneydue.com' (set in")]);
    expect(problemsOf(configDir)[0]).toContain("qa has domains.apex 'api.myhoneydue.com' (set in");
  });

  test('a namespace; an environment that writes none of its facts is refused, never given production\'s', () => {
    const configDir = folder({ qa: { ...ownData(), namespace: 'honeydue' }, zz: 'extends: production\ntraefik: { enabled: false }\nnamespace: honeydue-zz\ndomains: { apex: zz.example.com, api: api.zz.example.com, admin: admin.zz.example.com }\ndatabase: { name: zz }\nstorage: { bucket: zz }\n' });
    expect(problemsOf(configDir)).toEqual([
      expect.stringContaining(`share the namespace 'honeydue': production has namespace 'honeydue' (set in ${at(path.join(configDir, 'production.yaml'), 'namespace: honeydue', 'honeydue')}); qa has namespace 'honeydue' (set in ${at(path.join(configDir, 'qa.yaml'), 'namespace: honeydue', 'honeydue')})`),
    ]);
    // An environment that writes nothing gets no defaults: the library holds none of production's data, so the file is refused.
    const bare = folder({ qa: ownData(), bare: 'imageTag: 237c6b8\n' });
    expect(() => problemsOf(bare)).toThrow(/bare\.yaml: \d+ problem\(s\) in the config:[\s\S]*- \S+bare\.yaml:1:1: namespace: [\s\S]*- \S+bare\.yaml:1:1: registry: [\s\S]*- \S+bare\.yaml:1:1: database: [\s\S]*- \S+bare\.yaml:1:1: storage: /);
  });

  test('one problem per share, all at once', () => {
    const configDir = folder({ qa: { extends: 'production', namespace: 'honeydue-qa' } });
    expect(problemsOf(configDir).map((p) => /share the ([a-zA-Z ]+) '/.exec(p)?.[1])).toEqual(['database', 'storage bucket', 'Ingress host', 'Ingress host', 'Ingress host']);
  });
});

describe('a share the later file declares', () => {
  test('is accepted and printed, one line per share, on every run', () => {
    const configDir = folder({ qa: { ...ownData(), database: undefined, storage: undefined, shares: { database: 'production', bucket: 'production' } } });
    const outDir = path.join(scratch, 'dist');
    for (const envs of [undefined, ['production'], ['qa']]) {
      const lines: string[] = [];
      synthesize({ configDir, outDir, envs, log: (line) => lines.push(line) });
      expect(lines.filter((line) => line.includes('shares'))).toEqual([
        `  qa: shares production's database 'honeyDue' on ${DIRECT_HOST}, as ${path.join(configDir, 'qa.yaml')} declares (shares.database)`,
        `  qa: shares production's storage bucket 'honeyDueProd', as ${path.join(configDir, 'qa.yaml')} declares (shares.bucket)`,
      ]);
    }
    expect(fs.readFileSync(path.join(outDir, 'qa', concernFileName('config')), 'utf8')).toContain('B2_BUCKET_NAME: honeyDueProd');
  });

  test('covers each Ingress host it shares and the namespace, each printed', () => {
    const configDir = folder({ qa: { extends: 'production', database: { name: 'honeyDueQa' }, storage: { bucket: 'honeyDueQa' }, traefik: { enabled: false }, shares: { ingressHost: 'production', namespace: ['production'] } } });
    expect(checkIsolation({ configDir }).map((share) => [share.resource, share.what])).toEqual([
      ['namespace', "namespace 'honeydue'"],
      ['ingressHost', "Ingress host 'myhoneydue.com'"],
      ['ingressHost', "Ingress host 'api.myhoneydue.com'"],
      ['ingressHost', "Ingress host 'admin.myhoneydue.com'"],
    ]);
  });

  test('is not inherited: an environment built on one that declares a share declares its own', () => {
    const configDir = folder({
      qa: { ...ownData(), database: undefined, shares: { database: 'production' } },
      'qa-two': { extends: 'qa', namespace: 'honeydue-qa-two', domains: { apex: 'qa2.myhoneydue.com', api: 'qa2-api.myhoneydue.com', admin: 'qa2-admin.myhoneydue.com' }, storage: { bucket: 'honeyDueQa2' } },
    });
    const problems = problemsOf(configDir);
    expect(problems).toEqual([
      expect.stringContaining(`${path.join(configDir, 'production.yaml')} and ${path.join(configDir, 'qa-two.yaml')} share the database 'honeyDue'`),
      expect.stringContaining(`${path.join(configDir, 'qa.yaml')} and ${path.join(configDir, 'qa-two.yaml')} share the database 'honeyDue'`),
    ]);
    expect(problems[1]).toContain("'shares: { database: qa }' (qa-two extends qa)");
    expect(loadEnvironment('qa-two', { configDir }).shares).toEqual({});
    const declared = folder({ 'qa-two': YAML.stringify({ ...YAML.parse(fs.readFileSync(path.join(configDir, 'qa-two.yaml'), 'utf8')), shares: { database: ['production', 'qa'] } }) });
    expect(checkIsolation({ configDir: declared }).map((s) => `${s.env} ${s.sharedWith} ${s.resource}`)).toEqual(['qa production database', 'qa-two production database', 'qa-two qa database']);
  });

  test('must be true: a declared share the files do not have fails, so the printed line never lies', () => {
    const configDir = folder({ qa: { ...ownData(), shares: { bucket: 'production' } } });
    expect(problemsOf(configDir)).toEqual([
      `${at(path.join(configDir, 'qa.yaml'), 'bucket: production', 'production')}: shares.bucket: production, but qa and production share no bucket: qa has storage.bucket 'honeyDueQa' (set in ${at(path.join(configDir, 'qa.yaml'), 'bucket: honeyDueQa', 'honeyDueQa')}); remove production from shares.bucket, so the line synth prints stays true`,
    ]);
  });

  test("belongs in the later file: declared in the earlier one, it fails and says where it goes", () => {
    const production = YAML.parse(fs.readFileSync(path.join(CONFIG_DIR, 'production.yaml'), 'utf8'));
    const configDir = folder({ qa: { ...ownData(), storage: undefined }, production: YAML.stringify({ ...production, shares: { bucket: 'qa' } }) });
    const problems = problemsOf(configDir);
    expect(problems).toContain(
      `${at(path.join(configDir, 'production.yaml'), 'bucket: qa', 'qa')}: shares.bucket: qa: a share is declared in the later environment's file (qa extends production); move it to ${path.join(configDir, 'qa.yaml')} as 'shares: { bucket: production }'`,
    );
    expect(problems.some((p) => p.includes("share the storage bucket 'honeyDueProd'"))).toBe(true);
  });

  test('without extends, the later environment is the one that sorts after', () => {
    // The facts the schema requires and no share is judged by, as production names them.
    const { registry, images, secretName, configMapName, ingressName, email, migrate } = PRODUCTION;
    const facts = { registry, images, secretName, configMapName, ingressName, email, migrate };
    const env = (name: string, shares?: object) => ({ imageTag: '237c6b8', ...facts, namespace: `honeydue-${name}`, domains: { apex: `${name}.example.com`, api: `api.${name}.example.com`, admin: `admin.${name}.example.com` }, database: { ...PRODUCTION.database, name }, storage: { ...PRODUCTION.storage, bucket: 'together' }, traefik: { enabled: false }, ...(shares ? { shares } : {}) });
    expect(problemsOf(folder({ alpha: env('alpha', { bucket: 'beta' }), beta: env('beta') })).join('\n')).toMatch(/alpha\.yaml:\d+:\d+: shares\.bucket: beta: a share is declared in the later environment's file \(beta sorts after alpha\); move it to \S+beta\.yaml as 'shares: \{ bucket: alpha \}'/);
    fs.rmSync(path.join(scratch, 'config'), { recursive: true });
    expect(checkIsolation({ configDir: folder({ alpha: env('alpha'), beta: env('beta', { bucket: 'alpha' }) }) }).map((s) => s.line)).toEqual([
      `beta: shares alpha's storage bucket 'together', as ${path.join(scratch, 'config', 'beta.yaml')} declares (shares.bucket)`,
    ]);
  });

  test('names an environment of the folder, not itself', () => {
    const configDir = folder({ qa: { ...ownData(), shares: { database: ['prod', 'qa'] } } });
    expect(problemsOf(configDir)).toEqual([
      `${at(path.join(configDir, 'qa.yaml'), '- prod')}: shares.database: prod is not an environment of ${configDir}; known environments: production, qa`,
      `${at(path.join(configDir, 'qa.yaml'), '- prod')}: shares.database: qa names this environment itself; remove it`,
    ]);
  });

  test('is a typed key: an unknown resource or a bad name is a config error, and shares never reach the stack props', () => {
    const misspelt = folder({ qa: { ...ownData(), shares: { databse: 'production' } } });
    expect(() => loadConfig('qa', { configDir: misspelt })).toThrow(/shares\.databse: unknown key/);
    fs.rmSync(path.join(scratch, 'config'), { recursive: true });
    const badName = folder({ qa: { ...ownData(), shares: { bucket: ['Production'], namespace: [] } } });
    expect(() => loadConfig('qa', { configDir: badName })).toThrow(/shares\.bucket\.0: 'Production' is not a valid Kubernetes name[\s\S]*shares\.namespace: must name at least one environment/);
    expect(Object.keys(loadConfig('staging'))).not.toContain('shares');
    expect(Object.keys(loadConfig('staging'))).not.toContain('deploy');
  });
});

describe('the synth command', () => {
  test('fails on an undeclared share with exit 1, the share named, and dist/ byte-identical', () => {
    const configDir = folder({ qa: ownData() });
    const outDir = path.join(scratch, 'dist');
    expect(runSynth(['--config', configDir, '--out', outDir], { out: quiet, err: quiet })).toBe(0);
    const before = fingerprint(outDir);
    fs.writeFileSync(path.join(configDir, 'qa.yaml'), YAML.stringify({ ...ownData(), storage: { bucket: 'honeyDueProd' } }));
    const errors: string[] = [];
    expect(runSynth(['--config', configDir, '--out', outDir], { out: quiet, err: (line) => errors.push(line) })).toBe(1);
    expect(errors.join('\n')).toMatch(/was left as it was\.\n1 problem\(s\) with the data environments share[\s\S]*share the storage bucket 'honeyDueProd': production has storage\.bucket 'honeyDueProd' \(set in \S+production\.yaml:\d+:\d+\); qa has storage\.bucket 'honeyDueProd' \(set in \S+qa\.yaml:\d+:\d+\)/);
    expect(fingerprint(outDir)).toEqual(before);
    expect(fs.readdirSync(scratch).sort()).toEqual(['config', 'dist']);
  });

  test.each([['staging'], ['production']])('checks every environment under --env %s: staging undeclared fails both', (env) => {
    const configDir = path.join(scratch, 'config');
    fs.cpSync(CONFIG_DIR, configDir, { recursive: true });
    const staging = YAML.parse(fs.readFileSync(path.join(CONFIG_DIR, 'staging.yaml'), 'utf8'));
    delete staging.shares;
    fs.writeFileSync(path.join(configDir, 'staging.yaml'), YAML.stringify(staging));
    const outDir = path.join(scratch, 'dist');
    const errors: string[] = [];
    expect(runSynth(['--config', configDir, '--out', outDir, '--env', env], { out: quiet, err: (line) => errors.push(line) })).toBe(1);
    expect(errors.join('\n')).toMatch(/share the database 'honeyDue'[\s\S]*share the storage bucket 'honeyDueProd'/);
    expect(fs.existsSync(outDir)).toBe(false);
  });

  test('--env staging also fails on a share between two other environments', () => {
    const configDir = path.join(scratch, 'config');
    fs.cpSync(CONFIG_DIR, configDir, { recursive: true });
    fs.writeFileSync(path.join(configDir, 'qa.yaml'), YAML.stringify({ ...ownData(), namespace: 'honeydue' }));
    expect(() => synthesize({ configDir, envs: ['staging'], outDir: path.join(scratch, 'dist'), log: quiet })).toThrow(
      /^1 problem\(s\)[^\n]*\n {2}- \S+config\/production\.yaml and \S+config\/qa\.yaml share the namespace 'honeydue'/,
    );
    expect(fs.existsSync(path.join(scratch, 'dist'))).toBe(false);
  });

  test("every environment's config problems in one run, each at its file, line and column", () => {
    const own = (name: string, extra: string) =>
      `extends: production\n${extra}namespace: honeydue-${name}\ndomains: { apex: ${name}.example.com, api: api.${name}.example.com, admin: admin.${name}.example.com }\n` +
      `database: { name: ${name} }\nstorage: { bucket: ${name}-bucket }\n`;
    const configDir = folder({ qa: `${own('qa', '')}api:\n  replicas: 0\n`, zz: own('zz', 'imageTag: latest\n') });
    let thrown: unknown;
    try {
      synthesize({ configDir, outDir: path.join(scratch, 'dist'), log: quiet });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).files).toEqual([path.join(configDir, 'qa.yaml'), path.join(configDir, 'zz.yaml')]);
    expect((thrown as ConfigError).message).toMatch(new RegExp(`^2 problem\\(s\\) in the config of ${path.join(configDir, 'qa.yaml')}, ${path.join(configDir, 'zz.yaml')}:\n`));
    expect((thrown as ConfigError).problems).toEqual([
      expect.stringMatching(new RegExp(`^${path.join(configDir, 'qa.yaml')}:7:13: api\\.replicas: 0 must be a whole number of at least 1 \\(got 0\\)$`)),
      expect.stringMatching(new RegExp(`^${path.join(configDir, 'zz.yaml')}:2:11: imageTag: 'latest' is not allowed: .*\\(got "latest"\\)$`)),
    ]);
    expect(fs.existsSync(path.join(scratch, 'dist'))).toBe(false);
  });

  test('an environment whose config fails is named by its file, also when synth renders another', () => {
    const configDir = folder({ qa: { ...ownData(), api: { minAvailable: 5 } } });
    const qa = path.join(configDir, 'qa.yaml');
    let thrown: unknown;
    try {
      synthesize({ configDir, envs: ['production'], outDir: path.join(scratch, 'dist'), log: quiet });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).file).toBe(qa);
    expect((thrown as ConfigError).problems).toEqual([
      expect.stringMatching(new RegExp(`^${qa}:\\d+:\\d+: api\\.minAvailable: 5 would block every node drain: api\\.replicas is 3; use at most 2 \\(got 5\\)$`)),
    ]);
  });
});

describe('synth refuses two environments that write one cluster-wide object', () => {
  /** The repo's production and staging, and a qa that is production with its own namespace, hosts, database and bucket. */
  const withQa = (qa: object) => {
    const configDir = path.join(scratch, 'config');
    fs.cpSync(CONFIG_DIR, configDir, { recursive: true });
    const { traefik: _ownTraefik, ...own } = ownData();
    fs.writeFileSync(path.join(configDir, 'qa.yaml'), YAML.stringify({ ...own, ...qa }));
    return configDir;
  };

  test("a qa that extends production inherits its Traefik: exit 1, both files named and how to turn it off, nothing written", () => {
    const configDir = withQa({});
    const outDir = path.join(scratch, 'dist');
    const errors: string[] = [];
    expect(runSynth(['--config', configDir, '--out', outDir], { out: quiet, err: (line) => errors.push(line) })).toBe(1);
    const [qa, production] = [path.join(configDir, 'qa.yaml'), path.join(configDir, 'production.yaml')];
    expect(errors.join('\n')).toContain(
      `1 problem(s) with the data environments share (docs/environments.md):\n  - ${qa} and ${production} both write HelmChartConfig kube-system/traefik ` +
        `(${path.join(outDir, 'qa', '25-traefik.yaml')}, ${path.join(outDir, 'production', '25-traefik.yaml')}): ` +
        `the cluster has one Traefik; set traefik.enabled: false in ${qa}`,
    );
    expect(fs.existsSync(outDir)).toBe(false);
    // --env production is refused too: the check covers every environment of the folder.
    expect(runSynth(['--config', configDir, '--out', outDir, '--env', 'production'], { out: quiet, err: quiet })).toBe(1);
    expect(fs.existsSync(outDir)).toBe(false);
  });

  test('with traefik.enabled: false in qa.yaml it synthesizes, Traefik left to production', () => {
    const configDir = withQa({ traefik: { enabled: false } });
    const outDir = path.join(scratch, 'dist');
    expect(runSynth(['--config', configDir, '--out', outDir], { out: quiet, err: quiet })).toBe(0);
    expect(fs.readdirSync(outDir).sort()).toEqual(['production', 'qa', 'staging']);
    expect(fs.readdirSync(path.join(outDir, 'qa'))).not.toContain('25-traefik.yaml');
    expect(fs.readdirSync(path.join(outDir, 'production'))).toContain('25-traefik.yaml');
  });
});

describe('the repository', () => {
  test('staging declares its shares of production\'s database and bucket, and synth prints them', () => {
    expect(checkIsolation().map((share) => share.line)).toEqual([
      `staging: shares production's database 'honeyDue' on ${DIRECT_HOST}, as config/staging.yaml declares (shares.database)`,
      "staging: shares production's storage bucket 'honeyDueProd', as config/staging.yaml declares (shares.bucket)",
    ]);
    const lines: string[] = [];
    expect(runSynth(['--out', path.join(scratch, 'dist')], { out: (line) => lines.push(line), err: (line) => lines.push(line) })).toBe(0);
    expect(lines.filter((line) => line.includes('shares'))).toEqual(checkIsolation().map((share) => `  ${share.line}`));
    // Still synthesized for review.
    expect(fs.readdirSync(path.join(scratch, 'dist'))).toEqual(['production', 'staging']);
  });

  test('staging is not deployable, and the deploy refusal carries its reason word for word', () => {
    const reason = YAML.parse(fs.readFileSync(path.join(CONFIG_DIR, 'staging.yaml'), 'utf8')).deploy.reason;
    expect(reason).toMatch(/own database .* own storage\.bucket/);
    expect(deployRefusal('staging')).toBe(
      `environment 'staging' is not deployable (deploy.enabled: false, set in config/staging.yaml): ${reason}. Once that is done, remove deploy from config/staging.yaml`,
    );
    expect(deployRefusal('production')).toBeUndefined();
  });

  test("the database rule is the migrate Job's: its script's DIRECT_HOST line, run by sh, strips -pooler as directDatabaseHost does", () => {
    const job = renderEnvironment('production', { log: quiet }).flatMap((f) => f.objects).find((o) => o.kind === 'Job');
    const script: string = job.spec.template.spec.containers[0].command[2];
    const line = script.split('\n').find((l) => l.startsWith('DIRECT_HOST='));
    expect(line).toBeDefined();
    for (const host of [POOLER_HOST, DIRECT_HOST, 'db-pooler.example.com', 'db.example.com', 'a-pooler.b-pooler.example.com']) {
      const run = spawnSync('sh', ['-c', `${line}\nprintf %s "$DIRECT_HOST"`], { env: { PATH: process.env.PATH, DB_HOST: host }, encoding: 'utf8' });
      expect(run.status).toBe(0);
      expect(run.stdout).toBe(directDatabaseHost(host));
    }
    expect(directDatabaseHost(POOLER_HOST)).toBe(DIRECT_HOST);
    expect(directDatabaseHost('a-pooler.b-pooler.example.com')).toBe('a.b-pooler.example.com');
  });
});

describe('deployRefusal', () => {
  test('is inherited through extends, naming the file that sets it, until the later file writes deploy: null', () => {
    const staging = fs.readFileSync(path.join(CONFIG_DIR, 'staging.yaml'), 'utf8');
    const own = { ...ownData(), extends: 'staging', shares: { database: ['production', 'staging'] } };
    const configDir = folder({ staging, qa: own });
    expect(deployRefusal('qa', configDir)).toMatch(
      new RegExp(`^environment 'qa' is not deployable \\(deploy\\.enabled: false, inherited from ${path.join(configDir, 'staging.yaml').replace(/\./g, '\\.')}\\): staging has no database .*Once that is done, write 'deploy: null' in \\S+qa\\.yaml$`),
    );
    fs.writeFileSync(path.join(configDir, 'qa.yaml'), YAML.stringify({ ...own, deploy: null }));
    expect(deployRefusal('qa', configDir)).toBeUndefined();
    expect(deployRefusal('staging', configDir)).toContain(`set in ${path.join(configDir, 'staging.yaml')}`);
  });

  test.each([
    [{ enabled: false }, /deploy\.reason: must say why the environment is not deployable/],
    [{ enabled: true, reason: 'ready' }, /deploy\.reason: is read only when deploy\.enabled is false; remove it/],
    [{ reason: 'no database' }, /deploy\.enabled: required and missing: add 'enabled' under deploy \(a boolean; it has no default\)/],
    [{ enabled: false, reason: 'x', when: 'later' }, /deploy\.when: unknown key/],
  ])('validates deploy %j', (deploy, message) => {
    const configDir = folder({ qa: { ...ownData(), deploy } });
    expect(() => deployRefusal('qa', configDir)).toThrow(message);
  });
});
