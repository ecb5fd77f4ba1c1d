/**
 * Shared by the checker tests: the known-good manifest set, and small edits of it,
 * so each test breaks exactly one thing and asserts exactly one finding.
 */
import { join } from 'path';
import { loadCrdCatalog, loadManifestDir, runChecks, type CheckOptions, type CheckReport, type Finding, type ManifestDocument } from '../app/check';

export const FIXTURES = join(__dirname, 'fixtures', 'check');
/** The known-good set is the synthesized production output: CI fails when dist/ is not what a synth writes. */
export const GOOD_DIR = join(__dirname, '..', 'dist', 'production');
export const CRD_DIR = join(FIXTURES, 'crds');
export const CRDS = loadCrdCatalog([CRD_DIR]);

const good = loadManifestDir(GOOD_DIR);

/** A fresh deep copy of the good set (tests edit it freely). */
export function goodDocs(): ManifestDocument[] {
  return good.map((doc) => ({ file: doc.file, object: structuredClone(doc.object) }));
}

/** The object of a kind and name in a set (throws when absent, so typos fail loudly). */
export function objectIn(docs: ManifestDocument[], kind: string, name: string): any {
  const doc = docs.find((d: any) => d.object?.kind === kind && d.object?.metadata?.name === name);
  if (!doc) throw new Error(`no ${kind} ${name} in the set`);
  return doc.object;
}

/** The good set with one object edited. */
export function goodWith(kind: string, name: string, edit: (obj: any) => void): ManifestDocument[] {
  const docs = goodDocs();
  edit(objectIn(docs, kind, name));
  return docs;
}

/** The good set plus extra objects (in a file of their own). */
export function goodPlus(...objects: unknown[]): ManifestDocument[] {
  return [...goodDocs(), ...objects.map((object) => ({ file: 'extra.yaml', object }))];
}

/** Runs the full suite over one set, with the test CRDs. */
export function check(docs: readonly ManifestDocument[], options: CheckOptions = {}): CheckReport {
  return runChecks([{ name: '', docs }], { crds: CRDS, ...options });
}

/** The api Deployment's pod spec, the most hardened template of the set. */
export function apiPod(deployment: any): any {
  return deployment.spec.template.spec;
}

/** What a finding is about, without the wording: the assertions every rule test makes. */
export function where(finding: Finding): { rule: string; object: string; path: string } {
  return { rule: finding.rule, object: finding.object, path: finding.path };
}

/** Asserts the report has exactly these findings (rule, object, path), in any order. */
export function expectFindings(report: CheckReport, expected: Array<{ rule: string; object: string; path: string }>): void {
  expect(report.findings.map(where)).toEqual(expect.arrayContaining(expected));
  expect(report.findings).toHaveLength(expected.length);
}

/** A minimal object header in the stack's namespace. */
export function meta(name: string, namespace = 'honeydue'): { name: string; namespace: string; labels: Record<string, string> } {
  return { name, namespace, labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' } };
}
