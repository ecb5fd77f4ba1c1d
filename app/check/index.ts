/**
 * The manifest checker: schema (Kubernetes OpenAPI via kubernetes-models, CRDs from
 * imports/) and the policy suite (Pod Security restricted, workload hygiene, wiring),
 * over plain manifest objects. Used by synth before dist/ is replaced, by
 * `npm run check` on any folder, and by the tests. See docs/check.md.
 */
export { checkManifests, runChecks, type CheckOptions, type CheckReport, type WaivedFinding } from './engine';
export { loadManifestDir, loadManifestSets, loadCrdCatalog, parseManifests } from './load';
export { loadExemptions, parseExemptions, DEFAULT_EXEMPTIONS_FILE } from './exemptions';
export { crdCatalog } from './crd';
export { formatFinding, formatReport } from './report';
export { RULES, DOCUMENT_RULE, STALE_EXEMPTION_RULE } from './rules';
export { auditManifests, checkRenderedFiles, DEFAULT_CRD_DIRS, type AuditOptions, type RenderedManifests } from './audit';
export type { Finding, ManifestDocument, ManifestSet, Exemption, Rule, CrdCatalog } from './types';
