/**
 * The manifest checker as a whole: the synthesized production set passes with zero findings,
 * every rule actually runs on it, counting and output format, exemptions, loaders,
 * the CLI and its exit codes. Per-area rule tests: check-schema, check-pod-security,
 * check-hygiene, check-wiring.
 */
import { spawnSync } from 'child_process';
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  checkManifests, formatReport, loadManifestDir, loadManifestSets, parseExemptions, parseManifests, runChecks, RULES,
  DOCUMENT_RULE, STALE_EXEMPTION_RULE,
} from '../app/check';
import { runCheckCli } from '../app/check/cli';
import { CRD_DIR, CRDS, FIXTURES, GOOD_DIR, check, expectFindings, goodDocs, goodWith } from './check-helpers';
import { NODE_TS } from './node-ts';

/** The CLI against the fixtures: their CRDs, and no exemptions (the repository's name objects of the real stack). */
const FIXTURE_FLAGS = ['--crds', CRD_DIR, '--exemptions', join(FIXTURES, 'no-exemptions.yaml')];

const ROOT = join(__dirname, '..');

describe('the synthesized production set', () => {
  test('passes with zero findings', () => {
    const report = check(goodDocs());
    expect(report.findings.map((f) => `${f.rule} ${f.object} ${f.path}: ${f.message}`)).toEqual([]);
    expect(report.failed).toBe(0);
  });

  test('gives every rule something to check, so a clean run means every rule passed somewhere', () => {
    const report = check(goodDocs());
    // Rules with nothing to audit in the stack get their passing case in the area tests.
    const notInStack = ['wiring/secret-data', 'wiring/hpa-target'];
    for (const rule of RULES.filter((r) => !notInStack.includes(r.id))) {
      expect({ rule: rule.id, passed: report.byRule.get(rule.id)?.passed ?? 0 }).toEqual({ rule: rule.id, passed: expect.any(Number) });
      expect(report.byRule.get(rule.id)!.passed).toBeGreaterThan(0);
    }
  });

  test('checks the production set well under 300 ms once the schemas are loaded', () => {
    const docs = goodDocs();
    check(docs);
    const started = performance.now();
    check(docs);
    const elapsed = performance.now() - started;
    // A generous ceiling, so a busy CI box does not fail it.
    expect(elapsed).toBeLessThan(250);
  });
});

test('docs/check.md documents every rule id', () => {
  const docs = require('fs').readFileSync(join(ROOT, 'docs', 'check.md'), 'utf8');
  for (const id of [...RULES.map((rule) => rule.id), DOCUMENT_RULE, STALE_EXEMPTION_RULE]) expect(docs).toContain(`| \`${id}\` |`);
});

describe('counting and output', () => {
  test('a check is one (object, rule) pair: two bad containers fail the rule once and print two findings', () => {
    const clean = check(goodDocs());
    const docs = goodWith('Deployment', 'api', (d) => {
      const api = d.spec.template.spec.containers[0];
      const { startupProbe, readinessProbe, livenessProbe, ports, ...sidecar } = structuredClone(api);
      d.spec.template.spec.containers.push({ ...sidecar, name: 'sidecar' });
      api.securityContext.privileged = true;
      d.spec.template.spec.containers[1].securityContext.privileged = true;
    });
    const report = check(docs);
    expect(report.findings.filter((f) => f.rule === 'pss/privileged')).toHaveLength(2);
    expect(report.failed).toBe(1);
    expect(report.byRule.get('pss/privileged')).toEqual({ passed: clean.byRule.get('pss/privileged')!.passed - 1, failed: 1 });
  });

  test('prints one line per finding naming file, object, path and rule, and ends with "N passed, M failed" alone', () => {
    const docs = goodWith('Deployment', 'api', (d) => {
      d.spec.template.spec.containers[0].image = 'gitea.treytartt.com/admin/honeydue-api:latest';
    });
    const text = formatReport(check(docs));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(
      `${join(GOOD_DIR, '40-api.yaml')}: Deployment honeydue/api spec.template.spec.containers[0].image: container "api" image ` +
        '"gitea.treytartt.com/admin/honeydue-api:latest" is tagged latest: with imagePullPolicy IfNotPresent a node keeps running ' +
        'a stale image; pin the release tag (the git SHA) [hygiene/image-tag]',
    );
    expect(lines[lines.length - 1]).toMatch(/^\d+ passed, 1 failed$/);
    expect(lines).toHaveLength(2);
  });

  test('a document that is not a Kubernetes object is one failed check', () => {
    const report = check([...goodDocs(), { file: 'junk.yaml', object: 'just a string' }, { file: 'junk.yaml', object: { kind: 'Service' } }]);
    expect(report.findings.map((f) => [f.rule, f.file])).toEqual([[DOCUMENT_RULE, 'junk.yaml'], [DOCUMENT_RULE, 'junk.yaml']]);
    expect(report.findings[0].message).toMatch(/not a Kubernetes object \(got just a string\).*apiVersion and kind/);
    expect(report.failed).toBe(2);
  });

  test('checkManifests returns the findings of one set', () => {
    const findings = checkManifests(goodWith('Service', 'api', (s) => { s.spec.selector = { 'app.kubernetes.io/name': 'apii' }; }), { crds: CRDS });
    expect(findings.map((f) => f.rule)).toEqual(['wiring/service-selector']);
  });
});

describe('exemptions', () => {
  const brokenRedis = () => goodWith('Deployment', 'redis', (d) => {
    d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
  });
  const exemptRedis = parseExemptions(
    [
      'exemptions:',
      '  - object: Deployment honeydue/redis',
      '    rule: hygiene/read-only-root-fs',
      '    reason: redis rewrites its config on CONFIG SET; data lives on the PVC anyway',
    ].join('\n'),
    'check/exemptions.yaml',
  );

  test('an exemption waives exactly the named rule on the named object, and the report shows it with its reason', () => {
    const report = check(brokenRedis(), { exemptions: exemptRedis });
    expect(report.findings).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.waived.map((w) => [w.finding.rule, w.finding.object])).toEqual([['hygiene/read-only-root-fs', 'Deployment honeydue/redis']]);
    expect(formatReport(report)).toMatch(/^waived: .*\[hygiene\/read-only-root-fs\] \(reason: redis rewrites its config/m);
  });

  test('the same rule on another object is not waived', () => {
    const docs = goodWith('Deployment', 'api', (d) => { d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false; });
    const report = check(docs, { exemptions: exemptRedis });
    expectFindings(report, [
      { rule: 'hygiene/read-only-root-fs', object: 'Deployment honeydue/api', path: 'spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem' },
      { rule: STALE_EXEMPTION_RULE, object: 'Deployment honeydue/redis', path: 'exemptions[0]' },
    ]);
  });

  test('an exemption that waives nothing is a finding (stale), pointing at the entry', () => {
    const report = check(goodDocs(), { exemptions: exemptRedis });
    expect(report.findings).toEqual([expect.objectContaining({
      rule: STALE_EXEMPTION_RULE, object: 'Deployment honeydue/redis', file: 'check/exemptions.yaml', path: 'exemptions[0]',
      message: expect.stringMatching(/waives nothing.*delete the entry/),
    })]);
    expect(report.failed).toBe(1);
  });

  test('a partial check (one environment of several) can leave staleness unreported', () => {
    const report = check(goodDocs(), { exemptions: exemptRedis, reportStaleExemptions: false });
    expect(report.findings).toEqual([]);
    expect(report.byRule.has(STALE_EXEMPTION_RULE)).toBe(false);
  });

  test('an exemption for a namespace the audit never saw is not judged (auditing dist/staging alone)', () => {
    const elsewhere = goodDocs().map((doc) => {
      const object = structuredClone(doc.object) as any;
      if (object?.metadata?.namespace === 'honeydue') object.metadata.namespace = 'honeydue-staging';
      return { ...doc, object };
    });
    const report = check(elsewhere, { exemptions: exemptRedis });
    expect(report.findings.filter((f) => f.rule === STALE_EXEMPTION_RULE)).toEqual([]);
  });

  test('npm run check audits one environment folder on its own', () => {
    const run = spawnSync(NODE_TS, ['bin/check.ts', 'dist/staging'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stdout.trim().split('\n').pop()).toMatch(/^[1-9]\d* passed, 0 failed$/);
    expect(run.status).toBe(0);
  });

  test.each([
    ['the reason is missing', '  - object: Deployment honeydue/redis\n    rule: hygiene/read-only-root-fs', /exemptions\[0\]\.reason is required/],
    ['the object is missing', '  - rule: hygiene/read-only-root-fs\n    reason: a reason long enough', /exemptions\[0\]\.object is required/],
    ['the rule is missing', '  - object: Deployment honeydue/redis\n    reason: a reason long enough', /exemptions\[0\]\.rule is required/],
    ['the rule id is unknown', '  - object: Deployment honeydue/redis\n    rule: hygiene/everything\n    reason: a reason long enough', /exemptions\[0\]\.rule is not a rule id/],
    ['the object is a pattern', '  - object: Deployment honeydue/*\n    rule: hygiene/read-only-root-fs\n    reason: a reason long enough', /exemptions\[0\]\.object must be "Kind namespace\/name"/],
    ['the reason is a shrug', '  - object: Deployment honeydue/redis\n    rule: hygiene/read-only-root-fs\n    reason: needed', /exemptions\[0\]\.reason must say why/],
    ['an entry has an unknown key', '  - object: Deployment honeydue/redis\n    rule: hygiene/read-only-root-fs\n    reason: a reason long enough\n    until: 2027', /exemptions\[0\]/],
  ])('the exemptions file is refused when %s', (_what, entry, message) => {
    expect(() => parseExemptions(`exemptions:\n${entry}\n`, 'check/exemptions.yaml')).toThrow(message);
  });

  test('the repository exemption file is valid and, today, empty: every rule holds for every object', () => {
    const { loadExemptions } = require('../app/check') as typeof import('../app/check');
    expect(loadExemptions(join(ROOT, 'check', 'exemptions.yaml'), true)).toEqual([]);
  });
});

describe('loaders', () => {
  test('loadManifestDir reads *.yaml and *.yml recursively, skipping empty documents', () => {
    const dir = mkdtempSync(join(tmpdir(), 'check-load-'));
    try {
      mkdirSync(join(dir, 'nested'));
      writeFileSync(join(dir, 'a.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n');
      writeFileSync(join(dir, 'nested', 'c.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
      writeFileSync(join(dir, 'notes.txt'), 'not yaml');
      const docs = loadManifestDir(dir);
      expect(docs.map((d: any) => [d.file.slice(dir.length + 1), d.object.metadata.name])).toEqual([
        ['a.yaml', 'a'], ['a.yaml', 'b'], [join('nested', 'c.yml'), 'c'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a YAML syntax error or duplicate key stops the load, naming the file', () => {
    expect(() => parseManifests('a: 1\na: 2\n', 'dup.yaml')).toThrow(/^dup\.yaml: .*[Uu]nique/);
    expect(() => parseManifests('a: [1, 2\n', 'broken.yaml')).toThrow(/^broken\.yaml: /);
  });

  test('each environment folder of dist/ is its own set: the same Deployment in two environments is not a duplicate', () => {
    const dist = mkdtempSync(join(tmpdir(), 'check-dist-'));
    try {
      cpSync(GOOD_DIR, join(dist, 'production'), { recursive: true });
      cpSync(GOOD_DIR, join(dist, 'staging'), { recursive: true });
      const sets = loadManifestSets(dist);
      expect(sets.map((s) => s.name)).toEqual(['production', 'staging']);
      const report = runChecks(sets, { crds: CRDS });
      expect(report.findings).toEqual([]);
      expect(report.passed).toBe(2 * check(goodDocs()).passed);
    } finally {
      rmSync(dist, { recursive: true, force: true });
    }
  });
});

describe('npm run check (CLI)', () => {
  function cli(...args: string[]) {
    let out = '';
    let err = '';
    const code = runCheckCli(args, { out: (t) => { out += t; }, err: (t) => { err += t; } });
    return { code, out, err, last: out.trimEnd().split('\n').pop() };
  }

  function withDist(edit: (dir: string) => void, run: (dir: string) => void) {
    const dir = mkdtempSync(join(tmpdir(), 'check-cli-'));
    try {
      cpSync(GOOD_DIR, join(dir, 'production'), { recursive: true });
      edit(dir);
      run(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('exits 0 on a clean folder and prints only the count line', () => {
    const result = cli(GOOD_DIR, ...FIXTURE_FLAGS);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^\d+ passed, 0 failed\n$/);
  });

  test('exits 1 on any finding, one line per finding, then "N passed, M failed"', () => {
    withDist((dir) => {
      const api = join(dir, 'production', '40-api.yaml');
      const text = require('fs').readFileSync(api, 'utf8').replace('lifecycle:', 'lifecyclee:');
      writeFileSync(api, text);
      writeFileSync(join(dir, 'production', 'secret.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: leaked, namespace: honeydue}\nstringData: {SECRET_KEY: hunter2}\n');
    }, (dir) => {
      const result = cli(dir, ...FIXTURE_FLAGS);
      expect(result.code).toBe(1);
      const lines = result.out.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/40-api\.yaml: Deployment honeydue\/api spec\.template\.spec\.containers\[0\]\.lifecyclee: unknown field "lifecyclee".*did you mean "lifecycle"\?.*\[schema\/unknown-field\]$/);
      expect(lines[1]).toMatch(/secret\.yaml: Secret honeydue\/leaked stringData: .*\[wiring\/secret-data\]$/);
      expect(result.last).toMatch(/^\d+ passed, 2 failed$/);
    });
  });

  test('exits 2 when there is nothing to check or the folder is missing', () => {
    const empty = mkdtempSync(join(tmpdir(), 'check-empty-'));
    try {
      expect(cli(empty)).toMatchObject({ code: 2, err: expect.stringMatching(/no manifests .* run npm run synth first/) });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    expect(cli(join(tmpdir(), 'no-such-dist'))).toMatchObject({ code: 2, err: expect.stringMatching(/is not a folder of manifests/) });
  });

  test('exits 2 on a malformed exemptions file, naming the field', () => {
    withDist((dir) => writeFileSync(join(dir, 'exemptions.yaml'), 'exemptions:\n  - object: Deployment honeydue/api\n    rule: pss/seccomp\n'), (dir) => {
      const result = cli(join(dir, 'production'), '--crds', CRD_DIR, '--exemptions', join(dir, 'exemptions.yaml'));
      expect(result).toMatchObject({ code: 2, err: expect.stringMatching(/exemptions\[0\]\.reason is required/) });
    });
  });

  test('--rules lists every rule id', () => {
    const result = cli('--rules');
    expect(result.code).toBe(0);
    for (const rule of RULES) expect(result.out).toContain(rule.id);
  });

  test('--rules says what each rule demands, one line each', () => {
    const lines = cli('--rules').out.trimEnd().split('\n');
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual(RULES.map((rule) => rule.id));
    for (const line of lines) expect({ line, summary: line.slice(32).trim().length > 10 }).toEqual({ line, summary: true });
  });

  test('the npm script runs bin/check.ts and sets the exit code', () => {
    const run = (dir: string) => spawnSync(NODE_TS, ['bin/check.ts', dir, ...FIXTURE_FLAGS], { cwd: ROOT, encoding: 'utf8' });
    const clean = run(GOOD_DIR);
    expect({ status: clean.status, last: clean.stdout.trimEnd().split('\n').pop() }).toEqual({ status: 0, last: expect.stringMatching(/^\d+ passed, 0 failed$/) });
    withDist((dir) => writeFileSync(join(dir, 'production', 'latest.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: honeydue}\nspec: {containers: [{name: c, image: busybox}]}\n'), (dir) => {
      const bad = run(dir);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/latest\.yaml: Pod honeydue\/p spec\.containers\[0\]\.image: .*\[hygiene\/image-tag\]/);
      expect(bad.stdout.trimEnd().split('\n').pop()).toMatch(/^\d+ passed, [1-9]\d* failed$/);
    });
  });
});
