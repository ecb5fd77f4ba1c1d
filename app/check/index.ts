/**
 * The manifest checker: schema (Kubernetes OpenAPI via kubernetes-models, CRDs from
 * imports/) and the policy suite (Pod Security restricted, workload hygiene, wiring),
 * over plain manifest objects. Used by synth before dist/ is replaced, by
 * `npm run check` on any folder, and by the tests. See docs/check.md.
 * The engine and the rules are in manifest-check/, which the package ships (its
 * cdk8s validation plugin runs them); reading files, honeyDue's exemptions and
 * the CLI stay here.
 */
export { checkManifests, runChecks, type CheckOptions, type CheckReport, type WaivedFinding } from '../../manifest-check/engine';
export { loadManifestDir, loadManifestSets, loadCrdCatalog } from './load';
export { parseManifests } from '../../manifest-check/manifests';
export { loadExemptions, parseExemptions, DEFAULT_EXEMPTIONS_FILE } from './exemptions';
export { crdCatalog } from '../../manifest-check/crd';
export { formatFinding, formatReport } from '../../manifest-check/report';
export { RULES, DOCUMENT_RULE, STALE_EXEMPTION_RULE } from '../../manifest-check/rules';
export { auditManifests, checkRenderedFiles, DEFAULT_CRD_DIRS, type AuditOptions, type RenderedManifests } from './audit';
export type { Finding, ManifestDocument, ManifestSet, Exemption, Rule, CrdCatalog } from '../../manifest-check/types';
