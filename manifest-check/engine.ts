/**
 * Runs the suite over manifest sets and counts the result.
 *
 * Counting: a check is one (object, rule) pair where the rule applies to the object
 * (a Service is not checked for pod security), plus one `schema/document` check per
 * document and one check per exemption entry (passes when it waives something).
 * A check fails when it yields at least one finding that no exemption waives; an
 * object with three bad containers fails that rule once but prints three findings.
 */
import { crdKey, crdCatalog, mergeCatalogs } from './crd';
import { toKubeObject } from './objects';
import { apiVersionOnly, isClusterScopedBuiltin } from './manifests';
import { DOCUMENT_RULE, RULES, STALE_EXEMPTION_RULE } from './rules';
import type { CheckContext, CrdCatalog, Exemption, Finding, KubeObject, ManifestDocument, ManifestSet, Rule } from './types';

export interface CheckOptions {
  /** CRD schemas (from `loadCrdCatalog(['imports'])`); CRDs inside the set are added automatically. */
  readonly crds?: CrdCatalog;
  /** Waivers (from `loadExemptions('check/exemptions.yaml')`). */
  readonly exemptions?: readonly Exemption[];
  /** The suite; defaults to every rule. Tests narrow it, the app never does. */
  readonly rules?: readonly Rule[];
  /**
   * Report exemptions that waive nothing (exemption/stale). Turn off only when
   * checking part of the stack (`synth --env staging`): an entry may be for another environment.
   * @default true
   */
  readonly reportStaleExemptions?: boolean;
}

/** A finding an exemption waived, kept for the report. */
export interface WaivedFinding {
  readonly finding: Finding;
  readonly exemption: Exemption;
}

export interface CheckReport {
  /** Findings that fail the check, in set, file and document order. */
  readonly findings: Finding[];
  readonly waived: WaivedFinding[];
  readonly passed: number;
  readonly failed: number;
  /** Passed and failed checks per rule id, to see which rules actually ran. */
  readonly byRule: ReadonlyMap<string, { passed: number; failed: number }>;
}

/** Checks one set of documents (one environment); returns the blocking findings. */
export function checkManifests(docs: readonly ManifestDocument[], options: CheckOptions = {}): Finding[] {
  return runChecks([{ name: '', docs }], options).findings;
}

/**
 * Checks every set (environment) and counts passed and failed checks. Call it once
 * with all environments: an exemption is stale only if no environment uses it.
 */
export function runChecks(sets: readonly ManifestSet[], options: CheckOptions = {}): CheckReport {
  const rules = options.rules ?? RULES;
  const exemptions = options.exemptions ?? [];
  const used = new Set<Exemption>();
  const findings: Finding[] = [];
  const waived: WaivedFinding[] = [];
  let passed = 0;
  let failed = 0;
  const byRule = new Map<string, { passed: number; failed: number }>();
  const auditedNamespaces = new Set<string>();
  const count = (rule: string, ok: boolean) => {
    const tally = byRule.get(rule) ?? { passed: 0, failed: 0 };
    if (ok) tally.passed++;
    else tally.failed++;
    byRule.set(rule, tally);
    if (ok) passed++;
    else failed++;
  };

  for (const set of sets) {
    const objects: KubeObject[] = [];
    for (const doc of set.docs) {
      const obj = toKubeObject(doc);
      if (obj) {
        objects.push(obj);
        auditedNamespaces.add(obj.namespace);
        count(DOCUMENT_RULE, true);
        continue;
      }
      count(DOCUMENT_RULE, false);
      findings.push({
        rule: DOCUMENT_RULE, severity: 'error', object: `document in ${doc.file}`, file: doc.file, path: '',
        message: `not a Kubernetes object (got ${typeof doc.object === 'object' ? JSON.stringify(doc.object).slice(0, 60) : String(doc.object)}): ` +
          'every document needs string apiVersion and kind; fix or remove it',
      });
    }
    const ctx = contextFor(objects, mergeCatalogs(options.crds ?? new Map(), crdCatalog(set.docs)));
    for (const obj of objects) {
      for (const rule of rules) {
        if (!rule.appliesTo(obj, ctx)) continue;
        let blocking = 0;
        for (const violation of rule.check(obj, ctx)) {
          const finding: Finding = { rule: rule.id, severity: 'error', object: obj.label, file: obj.doc.file, ...violation };
          const exemption = exemptions.find((e) => e.rule === rule.id && e.object === obj.label);
          if (exemption) {
            used.add(exemption);
            waived.push({ finding, exemption });
          } else {
            findings.push(finding);
            blocking++;
          }
        }
        count(rule.id, blocking === 0);
      }
    }
  }

  // An exemption is judged only where its object could have been seen: auditing
  // dist/staging alone says nothing about production's `Deployment honeydue/vmagent`.
  const inScope = (exemption: Exemption) => {
    const namespaced = /^\S+ ([^/\s]+)\/\S+$/.exec(exemption.object);
    return namespaced === null || auditedNamespaces.has(namespaced[1]);
  };
  for (const exemption of options.reportStaleExemptions === false ? [] : exemptions.filter(inScope)) {
    count(STALE_EXEMPTION_RULE, used.has(exemption));
    if (used.has(exemption)) continue;
    const [file, path = ''] = exemption.source.split('#');
    findings.push({
      rule: STALE_EXEMPTION_RULE, severity: 'error', object: exemption.object, file, path,
      message: `exemption of ${exemption.object} from ${exemption.rule} waives nothing (the object is gone or now passes): delete the entry`,
    });
  }
  return { findings, waived, passed, failed, byRule };
}

function contextFor(objects: readonly KubeObject[], crds: CrdCatalog): CheckContext {
  const byIdentity = new Map<string, KubeObject>();
  for (const obj of objects) {
    const key = `${obj.group}/${obj.kind}/${obj.namespace}/${obj.name}`;
    if (!byIdentity.has(key)) byIdentity.set(key, obj);
  }
  const memos = new WeakMap<KubeObject, Map<string, unknown>>();
  return {
    objects,
    crds,
    find: (group, kind, namespace, name) => byIdentity.get(`${group}/${kind}/${namespace}/${name}`),
    isNamespaced(obj) {
      const crd = crds.get(crdKey(obj.group, apiVersionOnly(obj.apiVersion), obj.kind));
      if (crd) return crd.scope === 'Namespaced';
      return !isClusterScopedBuiltin(obj.group, obj.kind);
    },
    memo<T>(obj: KubeObject, key: string, compute: () => T): T {
      let memo = memos.get(obj);
      if (!memo) memos.set(obj, (memo = new Map()));
      if (!memo.has(key)) memo.set(key, compute());
      return memo.get(key) as T;
    },
  };
}
