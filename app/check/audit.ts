/**
 * The checker with the repository's own CRDs and exemptions: what synth and
 * `npm run check` call. Tests call runChecks with explicit options instead.
 */
import { relative, resolve } from 'path';
import { REPO_ROOT } from '../shared/repo-root';
import { runChecks, type CheckReport } from '../../manifest-check/engine';
import { DEFAULT_EXEMPTIONS_FILE, loadExemptions } from './exemptions';
import { loadCrdCatalog } from './load';
import { formatReport } from '../../manifest-check/report';
import type { ManifestSet } from '../../manifest-check/types';

/** The repository root (this file is app/check/audit.ts). */

/** Folders searched for CustomResourceDefinition yaml, relative to the repository root. */
export const DEFAULT_CRD_DIRS = ['imports'];

export interface AuditOptions {
  /** Folders holding CRD yaml. @default imports/ of the repository */
  readonly crdDirs?: readonly string[];
  /** The exemptions file. @default check/exemptions.yaml of the repository (absent = none) */
  readonly exemptionsFile?: string;
  /** False when checking only some environments: see CheckOptions.reportStaleExemptions. @default true */
  readonly reportStaleExemptions?: boolean;
}

/**
 * Checks the given environments with the repo's CRDs and exemptions. Throws only
 * when the exemptions file is malformed; manifest problems come back as findings.
 */
export function auditManifests(sets: readonly ManifestSet[], options: AuditOptions = {}): CheckReport {
  const crdDirs = options.crdDirs ?? DEFAULT_CRD_DIRS.map((dir) => resolve(REPO_ROOT, dir));
  const exemptions = options.exemptionsFile
    ? loadExemptions(options.exemptionsFile, true)
    : loadExemptions(relative(process.cwd(), resolve(REPO_ROOT, DEFAULT_EXEMPTIONS_FILE)));
  return runChecks(sets, { crds: loadCrdCatalog(crdDirs), exemptions, reportStaleExemptions: options.reportStaleExemptions });
}

/** What synth renders per file (structurally app/synth.ts's RenderedFile). */
export interface RenderedManifests {
  readonly env: string;
  /** `<env>/<NN>-<concern>.yaml` */
  readonly relativePath: string;
  readonly objects: readonly unknown[];
}

/**
 * Synth's `beforeWrite` hook: checks the rendered files, grouped by environment,
 * and throws the whole report (findings, then `N passed, M failed`) when any check
 * fails, so synth stops before dist/ is touched. Returns the report otherwise.
 */
export function checkRenderedFiles(files: readonly RenderedManifests[], options: AuditOptions & { outDir?: string } = {}): CheckReport {
  const outDir = options.outDir ?? 'dist';
  const sets = new Map<string, ManifestSet['docs'][number][]>();
  for (const file of files) {
    const docs = sets.get(file.env) ?? [];
    for (const object of file.objects) docs.push({ file: `${outDir}/${file.relativePath}`, object });
    sets.set(file.env, docs);
  }
  const report = auditManifests([...sets].map(([name, docs]) => ({ name, docs })), options);
  if (report.failed > 0) throw new Error(`manifest check failed:\n${formatReport(report)}`);
  return report;
}
