/**
 * The package's validation plugin, driven by cdk8s-cli's own ValidationContext
 * and report (the classes `cdk8s synth` builds): what it refuses, and that it
 * passes honeyDue's dist/ with no exemption. test/package.test.ts runs the real
 * `cdk8s synth` with it from the packed library.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import type { Validation, ValidationContext as CliValidationContext } from 'cdk8s-cli/lib/plugins/validation';
import { checkObjects, HoneydueConfigMap, HoneydueNamespace, ManifestCheck, NextjsApp } from '../constructs';

// The CLI's own class at run time, through its `exports` (which hide lib/ from require; tsc's `node` resolution reads the types by path).
const { ValidationContext } = require('cdk8s-cli/plugins') as { ValidationContext: typeof CliValidationContext };
const DIST = path.join(__dirname, '..', 'dist', 'production');

/** A Deployment as a careless chart writes it: privileged, root, no limits. */
const privileged = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'legacy', namespace: 'acme' },
  spec: {
    selector: { matchLabels: { app: 'legacy' } },
    template: {
      metadata: { labels: { app: 'legacy' } },
      spec: { containers: [{ name: 'legacy', image: 'registry.acme.test/legacy:1.0', securityContext: { privileged: true } }] },
    },
  },
};

// Type-checked (npm run typecheck): the class meets the CLI's plugin contract, which the package declares without depending on the CLI.
const asCliPlugin: Validation = new ManifestCheck();

/** Runs the plugin as cdk8s-cli does on the given files, with the construct path cdk8s records for `legacy`. */
async function validate(files: string[]) {
  const context = new ValidationContext(files, 'honeydue-k8s', '0.1.0', { legacy: { path: 'acme/legacy/Resource' } }, false);
  await asCliPlugin.validate(context);
  return context.report;
}

test("refuses a privileged pod: the report fails, naming the rule, the object and its construct", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-plugin-'));
  const file = path.join(dir, 'acme.k8s.yaml');
  fs.writeFileSync(file, JSON.stringify(privileged));
  const report = await validate([file]);
  expect(report.success).toBe(false);
  const violation = report.toJson().violations.find((v) => v.ruleName === 'pss/privileged');
  expect(violation?.violatingConstructs).toEqual([{
    resourceName: 'legacy',
    constructPath: 'acme/legacy/Resource',
    manifestPath: file,
    locations: [expect.stringMatching(/^Deployment acme\/legacy spec\.template\.spec\.containers\[0\]\.securityContext\.privileged: .*privileged/)],
  }]);
  expect(report.toString()).toContain('pss/privileged');
});

test("passes honeyDue's production output with no exemption, its HelmChartConfig judged by the CRD the package ships", async () => {
  const files = fs.readdirSync(DIST).map((f) => path.join(DIST, f));
  expect(files.some((f) => fs.readFileSync(f, 'utf8').includes('kind: HelmChartConfig'))).toBe(true);
  const report = await validate(files);
  expect(report.toJson().violations).toEqual([]);
  expect(report.success).toBe(true);
});

describe('checkObjects, for tests', () => {
  test('returns no finding for a chart of the constructs', () => {
    const chart = Testing.chart();
    new HoneydueNamespace(chart, 'namespace', { name: 'acme' });
    const config = new HoneydueConfigMap(chart, 'config', { name: 'acme-config', namespace: 'acme', data: { NEXT_PUBLIC_API_URL: 'https://api.acme.test' } });
    new NextjsApp(chart, 'admin', { name: 'admin', namespace: 'acme', configMap: config, image: 'registry.acme.test/admin:abc1234' });
    expect(checkObjects(Testing.synth(chart))).toEqual([]);
  });

  test('returns each finding with its rule, object and message', () => {
    const findings = checkObjects([privileged], 'legacy.yaml');
    expect(findings.find((f) => f.rule === 'pss/privileged')).toEqual(expect.objectContaining({
      object: 'Deployment acme/legacy', file: 'legacy.yaml', path: 'spec.template.spec.containers[0].securityContext.privileged',
    }));
    expect(findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['pss/run-as-non-root', 'hygiene/resources']));
  });
});
