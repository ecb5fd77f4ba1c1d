/**
 * The shapes the manifest checker works on: parsed YAML documents in, findings out.
 *
 * The checker never sees cdk8s constructs, only the plain objects that would be
 * written to dist/, so the same code audits a synth in memory and a folder on disk.
 * Documents and objects are the shared manifest model (manifests.ts).
 */
import type { ManifestDocument, ManifestObject } from './manifests';

/** One YAML document of the set and the file it came from (or will be written to). */
export type { ManifestDocument };

/** The documents of one environment: checked together (wiring and duplicates are per set). */
export interface ManifestSet {
  /** Environment name (the dist/ sub-folder), or '' for a single folder. */
  readonly name: string;
  readonly docs: readonly ManifestDocument[];
}

/** A problem that would fail apply, admission or a security review. */
export interface Finding {
  /** Stable rule id, e.g. `pss/run-as-non-root`; exemptions name it. */
  readonly rule: string;
  /** Every finding blocks: the checker has no warnings. */
  readonly severity: 'error';
  /** `Kind namespace/name`, or `Kind name` for cluster-scoped objects. */
  readonly object: string;
  /** The file the object is in, or is written to. */
  readonly file: string;
  /** Field path in the object, e.g. `spec.template.spec.containers[0].securityContext.runAsNonRoot`. */
  readonly path: string;
  /** Names the field, the value and the fix. */
  readonly message: string;
}

/** A finding before the engine stamps the rule, object and file on it. */
export interface Violation {
  readonly path: string;
  readonly message: string;
}

/** A plain JSON object; the checker reads manifests through this loose type. */
export type Json = Record<string, any>;

/**
 * A Kubernetes object of the set: the shared model, read leniently (a missing
 * name or namespace is '', for the rules to report), with what every rule
 * needs to name it.
 */
export interface KubeObject extends ManifestObject {
  readonly doc: ManifestDocument;
  /** The object itself (a plain object with apiVersion and kind strings). */
  readonly manifest: Json;
  /** '' when the object has none. */
  readonly namespace: string;
  /** `Kind namespace/name` as shown in findings and written in exemptions. */
  readonly label: string;
}

/** A rule of the suite: which objects it audits and what it finds on one of them. */
export interface Rule {
  /** Stable id `area/name`; never rename one: exemptions and docs refer to it. */
  readonly id: string;
  /** One line for docs and `--rules`: what the rule demands. */
  readonly summary: string;
  /** True when this rule audits the object; each (object, rule) pair is one counted check. */
  appliesTo(obj: KubeObject, ctx: CheckContext): boolean;
  check(obj: KubeObject, ctx: CheckContext): Violation[];
}

/** What rules may look up across the set; built once per set by the engine. */
export interface CheckContext {
  readonly objects: readonly KubeObject[];
  /** Schemas of custom resources, keyed by `group/version/Kind`. */
  readonly crds: CrdCatalog;
  /** Objects by `group/Kind/namespace/name` (the first one when duplicated). */
  find(group: string, kind: string, namespace: string, name: string): KubeObject | undefined;
  /** True when the kind is namespaced (built-in table, or the CRD's scope). */
  isNamespaced(obj: KubeObject): boolean;
  /** Per-object memo shared by the rules of one area (schema results, pod templates). */
  memo<T>(obj: KubeObject, key: string, compute: () => T): T;
}

/** A custom resource version's schema, as declared by its CustomResourceDefinition. */
export interface CrdVersionSchema {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly scope: 'Namespaced' | 'Cluster';
  /** `spec.versions[].schema.openAPIV3Schema`. */
  readonly schema: Json;
  /** Where the CRD came from, for messages. */
  readonly source: string;
}

/** CRD schemas by `group/version/Kind`. */
export type CrdCatalog = ReadonlyMap<string, CrdVersionSchema>;

/** One entry of the exemptions file: a rule waived for one object, with the reason. */
export interface Exemption {
  /** `Kind namespace/name` exactly as findings print it. */
  readonly object: string;
  readonly rule: string;
  readonly reason: string;
  /** Where the entry is (`check/exemptions.yaml#exemptions[0]`), for the stale-exemption finding. */
  readonly source: string;
}
