/**
 * The manifest check as a cdk8s validation plugin: `cdk8s synth` loads the class
 * a consumer's cdk8s.yaml names and runs it on the files the app wrote.
 *
 * ```yaml
 * validations:
 *   - package: ./node_modules/honeydue-k8s   # a local path: loaded offline, never installed
 *     version: 0.1.0
 *     class: ManifestCheck
 * ```
 *
 * The whole suite runs (schema, Pod Security restricted, hygiene, wiring) with
 * no exemption: an exemption is one organisation's decision about one of its
 * objects, and stays with that organisation (honeyDue's are in check/exemptions.yaml).
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { crdCatalog } from './crd';
import { checkManifests } from './engine';
import { parseManifests } from './manifests';
import { RULES } from './rules';
import type { CrdCatalog, Finding, ManifestDocument } from './types';

/**
 * What cdk8s-cli hands a validation plugin (its `ValidationContext`), as far as
 * this plugin reads it; declared here so that the package does not depend on the CLI.
 */
export interface SynthValidationContext {
  /** The manifest files `cdk8s synth` wrote. */
  readonly manifests: readonly string[];
  /** The report the CLI prints; a failed report makes `cdk8s synth` exit non-zero. */
  readonly report: {
    addViolation(violation: {
      ruleName: string;
      recommendation: string;
      fix: string;
      violatingResources: { resourceName: string; locations: string[]; manifestPath: string }[];
    }): void;
    submit(status: 'success' | 'failure', metadata?: Record<string, string>): void;
  };
}

/**
 * The CRDs of the custom resources the package's constructs write (the
 * HelmChartConfig of `TraefikConfig`), shipped beside the build in `imports/`.
 * A consumer's own CRDs are read from the output itself.
 */
let packageCrds: CrdCatalog | undefined;
function packageCrdCatalog(): CrdCatalog {
  // The package root: this file's folder in the repository, build/manifest-check/ once packed.
  let root = __dirname;
  while (!existsSync(join(root, 'package.json'))) root = dirname(root);
  const dir = join(root, 'imports');
  packageCrds ??= crdCatalog(
    readdirSync(dir)
      .filter((file) => file.endsWith('.yaml'))
      .flatMap((file) => parseManifests(readFileSync(join(dir, file), 'utf8'), file)),
  );
  return packageCrds;
}

/**
 * Checks synthesized objects, as the plugin does at `cdk8s synth`; for tests:
 * `checkObjects(Testing.synth(chart))` is `[]` when the chart passes.
 * @param objects the objects of one app (`Testing.synth(chart)`, or every chart's `toJson()`)
 * @param file the name findings give as the objects' file
 * @returns every finding, each naming the object, the field, the rule and the fix
 */
export function checkObjects(objects: readonly unknown[], file = 'synth'): Finding[] {
  return checkDocuments(objects.map((object) => ({ file, object })));
}

function checkDocuments(docs: readonly ManifestDocument[]): Finding[] {
  return checkManifests(docs, { crds: packageCrdCatalog() });
}

/**
 * The cdk8s validation plugin: cdk8s-cli constructs it with the entry's
 * `properties` (none are read) and calls `validate` once the app has written
 * its files. One violation per failed rule, one resource per object, one
 * location per finding (its field and message); any finding fails the report.
 */
export class ManifestCheck {
  /** @param _properties the `properties` of the cdk8s.yaml entry; none are read */
  public constructor(_properties: Record<string, unknown> = {}) {}

  /** Checks every file `cdk8s synth` wrote as one set, and submits the report. */
  public async validate(context: SynthValidationContext): Promise<void> {
    const docs = context.manifests.flatMap((file) => parseManifests(readFileSync(file, 'utf8'), file));
    const findings = checkDocuments(docs);
    for (const rule of new Set(findings.map((f) => f.rule))) {
      const ofRule = findings.filter((f) => f.rule === rule);
      const byObject = new Map<string, Finding[]>();
      for (const finding of ofRule) {
        const key = `${finding.file}\n${finding.object}`;
        byObject.set(key, [...(byObject.get(key) ?? []), finding]);
      }
      context.report.addViolation({
        ruleName: rule,
        recommendation: RULES.find((r) => r.id === rule)?.summary ?? rule,
        fix: 'each location says what to change',
        violatingResources: [...byObject.values()].map((found) => ({
          // cdk8s-cli finds the construct path by metadata.name, the last word of `Kind namespace/name`.
          resourceName: found[0].object.split(/[ /]/).pop()!,
          manifestPath: found[0].file,
          locations: found.map((f) => `${f.object} ${f.path}: ${f.message}`),
        })),
      });
    }
    context.report.submit(findings.length === 0 ? 'success' : 'failure', { checked: `${docs.length} objects` });
  }
}
