/**
 * Schema rules: what `kubectl apply --validate=strict` and the API server's own
 * validation would reject, found before anything reaches a cluster.
 */
import { builtinValidator, validateBuiltin, validateWithWatch, type BuiltinSchemaResult } from '../builtin-schema';
import { crdKey, validateCustomResource } from '../crd';
import { isPlainObject } from '../objects';
import { apiVersionOnly } from '../manifests';
import { child, show } from '../paths';
import type { CheckContext, KubeObject, Rule, Violation } from '../types';

interface SchemaVerdict extends BuiltinSchemaResult {
  /** Which schema judged the object; 'none' when neither kubernetes-models nor a CRD knows the kind. */
  readonly source: 'builtin' | 'crd' | 'none';
}

/** Built-in API groups: the core group, the short legacy names and every `*.k8s.io` group. */
function isBuiltinGroup(group: string): boolean {
  return group === '' || group.endsWith('.k8s.io') || ['apps', 'batch', 'autoscaling', 'policy', 'extensions'].includes(group);
}

let objectMetaValidate: ((this: object) => void) | undefined;
function objectMetaValidator(): (this: object) => void {
  if (!objectMetaValidate) {
    objectMetaValidate = require('@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta').ObjectMeta.prototype.validate;
  }
  return objectMetaValidate!;
}

/** Runs the right schema once per object; the schema rules share the verdict. */
function verdictOf(obj: KubeObject, ctx: CheckContext): SchemaVerdict {
  // Stryker disable next-line StringLiteral: any key works that no other memo of the object uses (the only other is 'podTemplate')
  return ctx.memo(obj, 'schema', () => {
    const crd = ctx.crds.get(crdKey(obj.group, apiVersionOnly(obj.apiVersion), obj.kind));
    if (crd) {
      const body = validateCustomResource(obj.manifest, crd.schema);
      const metadata = isPlainObject(obj.manifest.metadata)
        ? validateWithWatch(objectMetaValidator(), JSON.parse(JSON.stringify(obj.manifest.metadata)), 'metadata')
        : { invalid: [{ path: 'metadata', message: 'must be an object with at least a name: add metadata.name' }], unknownFields: [] };
      return {
        // Stryker disable next-line StringLiteral: source is only ever compared with 'none'
        source: 'crd',
        invalid: [...metadata.invalid, ...body.invalid],
        unknownFields: [...metadata.unknownFields, ...body.unknownFields],
      };
    }
    const validate = builtinValidator(obj.apiVersion, obj.kind);
    // Stryker disable next-line StringLiteral: source is only ever compared with 'none'
    if (validate) return { source: 'builtin', ...validateBuiltin(validate, obj.manifest) };
    // Stryker disable next-line ArrayDeclaration: no rule reads the findings of a 'none' verdict (schema/invalid and schema/unknown-field apply only to known kinds)
    return { source: 'none', invalid: [], unknownFields: [] };
  });
}

const known = (obj: KubeObject, ctx: CheckContext) => verdictOf(obj, ctx).source !== 'none';

export const schemaRules: Rule[] = [
  {
    id: 'schema/unknown-kind',
    summary: 'apiVersion and kind name a schema: a built-in kind of kubernetes-models, or a CRD kept in imports/ or shipped in the set',
    appliesTo: () => true,
    check(obj, ctx) {
      if (known(obj, ctx)) return [];
      const where = isBuiltinGroup(obj.group)
        ? `kubernetes-models (Kubernetes 1.33) has no ${obj.apiVersion} ${obj.kind}`
        : `no CustomResourceDefinition for ${obj.group}/${apiVersionOnly(obj.apiVersion)} ${obj.kind} was found in imports/ or in the set`;
      return [{
        path: 'kind',
        message: `no schema for apiVersion ${show(obj.apiVersion)} kind ${show(obj.kind)}: ${where}; ` +
          'fix the apiVersion/kind spelling, or keep the CRD yaml in imports/',
      }];
    },
  },
  {
    id: 'schema/api-version',
    summary: 'built-in kinds use a GA apiVersion: alpha and beta versions are removed or disabled by default on Kubernetes 1.34',
    // A *.k8s.io group can also belong to a CRD (gateway.networking.k8s.io): its versions are the CRD's business.
    appliesTo: (obj, ctx) => isBuiltinGroup(obj.group) && !ctx.crds.has(crdKey(obj.group, apiVersionOnly(obj.apiVersion), obj.kind)),
    check(obj) {
      if (!/(alpha|beta)\d*$/.test(apiVersionOnly(obj.apiVersion))) return [];
      return [{
        path: 'apiVersion',
        message: `apiVersion ${show(obj.apiVersion)} is not served by a default k3s 1.34 API server ` +
          '(beta APIs of built-in groups were removed or are off by default): use the GA version of the group',
      }];
    },
  },
  {
    id: 'schema/invalid',
    summary: 'every field has the type, format and allowed value the schema declares, and required fields are present',
    appliesTo: known,
    check: (obj, ctx) => verdictOf(obj, ctx).invalid,
  },
  {
    id: 'schema/unknown-field',
    summary: 'no field the schema does not declare (what `kubectl apply --validate=strict` rejects)',
    appliesTo: known,
    check: (obj, ctx) => verdictOf(obj, ctx).unknownFields,
  },
  {
    id: 'schema/object-meta',
    summary: 'metadata.name, namespace, label and annotation keys and values are names the API server accepts',
    appliesTo: () => true,
    check: (obj) => checkObjectMeta(obj),
  },
];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Kinds whose names become DNS labels (Service hostnames, namespace names). */
function nameRule(obj: KubeObject): { pattern: RegExp; max: number; what: string } {
  if (obj.group === '' && obj.kind === 'Service') return { pattern: DNS_1035_LABEL, max: 63, what: 'a DNS-1035 label (lowercase letters, digits, "-", starting with a letter)' };
  if (obj.group === '' && obj.kind === 'Namespace') return { pattern: DNS_LABEL, max: 63, what: 'a DNS-1123 label (lowercase letters, digits, "-")' };
  return { pattern: DNS_SUBDOMAIN, max: 253, what: 'a DNS-1123 subdomain (lowercase letters, digits, "-" and ".")' };
}

function checkObjectMeta(obj: KubeObject): Violation[] {
  const found: Violation[] = [];
  const metadata = isPlainObject(obj.manifest.metadata) ? obj.manifest.metadata : undefined;
  if (!metadata || typeof metadata.name !== 'string' || metadata.name === '') {
    // generateName only works with create, never with apply: every object here needs a name.
    return [{ path: 'metadata.name', message: `${obj.kind} has no metadata.name (got ${show(metadata?.name)}): apply needs a fixed name; set one` }];
  }
  const rule = nameRule(obj);
  if (metadata.name.length > rule.max || !rule.pattern.test(metadata.name)) {
    found.push({ path: 'metadata.name', message: `name ${show(metadata.name)} must be ${rule.what}, at most ${rule.max} characters: rename it` });
  }
  if (metadata.namespace !== undefined && (typeof metadata.namespace !== 'string' || !DNS_LABEL.test(metadata.namespace) || metadata.namespace.length > 63)) {
    found.push({ path: 'metadata.namespace', message: `namespace ${show(metadata.namespace)} must be a DNS-1123 label: fix it` });
  }
  for (const field of ['labels', 'annotations'] as const) {
    const map = metadata[field];
    if (!isPlainObject(map)) continue;
    for (const [key, value] of Object.entries(map)) {
      const keyProblem = qualifiedKeyProblem(key);
      if (keyProblem) found.push({ path: child(`metadata.${field}`, key), message: `${field.slice(0, -1)} key ${show(key)} ${keyProblem}: fix the key` });
      if (field === 'labels' && typeof value === 'string' && value !== '' && (value.length > 63 || !QUALIFIED_NAME.test(value))) {
        found.push({
          path: child('metadata.labels', key),
          message: `label value ${show(value)} must be at most 63 characters of letters, digits, "-", "_" and ".", starting and ending alphanumeric: shorten or clean it`,
        });
      }
    }
  }
  return found;
}

/** Why a label or annotation key is not a qualified name, or undefined when it is fine. */
function qualifiedKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  // Without a slash lastIndexOf is -1, and slice(0) is the whole key.
  const name = key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return 'has a prefix that is not a DNS subdomain';
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return 'must end in a name of at most 63 letters, digits, "-", "_" or ".", starting and ending alphanumeric';
  }
  return undefined;
}
