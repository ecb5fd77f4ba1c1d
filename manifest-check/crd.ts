/**
 * Custom resources: find their CustomResourceDefinitions and validate objects
 * against the openAPIV3Schema the API server would use.
 *
 * CRD schemas are structural (every field typed, `properties` closed unless
 * `x-kubernetes-preserve-unknown-fields`), so one ajv validation gives both the
 * value errors and the unknown fields, with the same rule ids as built-in kinds.
 * CEL rules (`x-kubernetes-validations`) need a CEL engine and are not evaluated;
 * `format` is not judged either (the API server only checks a few formats).
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { child, joinPath, pointerSegments, show, valueAt } from './paths';
import { isPlainObject } from './objects';
import type { CrdCatalog, CrdVersionSchema, Json, ManifestDocument, Violation } from './types';
import type { BuiltinSchemaResult } from './builtin-schema';
import { describeAjvErrors } from './ajv-errors';

/** `group/version/Kind`, the catalog key. */
export function crdKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

/**
 * Collects every served version of every CustomResourceDefinition among the documents.
 * Used for the CRD files kept in imports/ and for CRDs shipped in the manifest set itself.
 */
export function crdCatalog(docs: readonly ManifestDocument[]): Map<string, CrdVersionSchema> {
  const catalog = new Map<string, CrdVersionSchema>();
  for (const doc of docs) {
    const crd = doc.object;
    if (!isPlainObject(crd) || crd.kind !== 'CustomResourceDefinition') continue;
    if (crd.apiVersion !== 'apiextensions.k8s.io/v1') continue;
    const spec = isPlainObject(crd.spec) ? crd.spec : {};
    const kind = spec.names?.kind;
    if (typeof spec.group !== 'string' || typeof kind !== 'string' || !Array.isArray(spec.versions)) continue;
    for (const version of spec.versions) {
      if (!isPlainObject(version) || version.served === false || typeof version.name !== 'string') continue;
      const schema = version.schema?.openAPIV3Schema;
      if (!isPlainObject(schema)) continue;
      catalog.set(crdKey(spec.group, version.name, kind), {
        group: spec.group,
        version: version.name,
        kind,
        scope: spec.scope === 'Cluster' ? 'Cluster' : 'Namespaced',
        schema,
        source: doc.file,
      });
    }
  }
  return catalog;
}

/** Merges catalogs; later ones win (a CRD in the manifest set overrides the kept copy). */
export function mergeCatalogs(...catalogs: CrdCatalog[]): CrdCatalog {
  const merged = new Map<string, CrdVersionSchema>();
  for (const catalog of catalogs) for (const [key, value] of catalog) merged.set(key, value);
  return merged;
}

/**
 * Validates a custom resource against its structural schema. `metadata` is left to
 * the caller (CRD schemas declare it as a bare object; the API server validates it
 * as ObjectMeta), and apiVersion/kind were matched to find the schema.
 */
export function validateCustomResource(raw: Json, schema: Json): BuiltinSchemaResult {
  const top = JSON.parse(JSON.stringify(raw)) as Json;
  delete top.metadata;
  const validate = validatorOf(schema);
  if (typeof validate === 'string') {
    return {
      invalid: [{ path: '', message: `the CRD's openAPIV3Schema cannot be compiled (${validate}): fix the CRD kept in imports/ or shipped in the set` }],
      unknownFields: [],
    };
  }
  if (validate(top)) return { invalid: [], unknownFields: [] };
  return describeErrors(validate.errors ?? [], top);
}

/**
 * Keywords the check adds to the ajv form of a CRD schema: the API server's
 * int-or-string, and a refusal of null where the schema does not say
 * `nullable` and has no `type` to refuse it (a typed field refuses null by its type).
 */
const INT_OR_STRING = 'x-kubernetes-int-or-string';
const NOT_NULL = 'x-check-not-null';

const ajv = new Ajv({
  allErrors: true,
  // CRD schemas carry OpenAPI and x-kubernetes-* keywords ajv does not know; they describe, not constrain.
  strict: false,
  validateFormats: false,
  verbose: true,
  // Patterns are RE2 in the API server: one JavaScript cannot compile is not ours to judge, so it matches everything.
  code: { regExp: Object.assign((source: string) => safePattern(source), { code: 'safePattern' }) },
});
ajv.addKeyword({
  keyword: INT_OR_STRING,
  schemaType: 'boolean',
  errors: true,
  validate: (on: boolean, value: unknown) => !on || typeof value === 'string' || Number.isInteger(value),
});
ajv.addKeyword({ keyword: NOT_NULL, schemaType: 'boolean', errors: true, validate: (on: boolean, value: unknown) => !on || value !== null });

const compiled = new WeakMap<Json, ValidateFunction | string>();

/** The compiled validator of a CRD version's schema (memoized), or why it does not compile. */
function validatorOf(schema: Json): ValidateFunction | string {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    try {
      validate = ajv.compile(toAjvSchema(schema, true, true));
    } catch (error) {
      validate = (error as Error).message;
    }
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * The ajv (JSON Schema draft-07) form of a structural schema node:
 * - a node of the object skeleton (root, `properties`, `items`,
 *   `additionalProperties`) is closed unless it preserves unknown fields or
 *   allows any (`additionalProperties: true`): the API server prunes fields it
 *   does not declare, so they are reported as unknown. Inside allOf, anyOf,
 *   oneOf and not, nodes only constrain values and stay open;
 * - `nullable` (OpenAPI 3.0) becomes a `null` type, and a node without it refuses null;
 * - boolean `exclusiveMinimum`/`exclusiveMaximum` (OpenAPI 3.0) become numbers;
 * - the root implicitly declares apiVersion and kind, as every object has them.
 */
function toAjvSchema(node: Json, closed: boolean, root = false): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(isPlainObject(value) ? value : {}).map(([name, sub]) => [name, isPlainObject(sub) ? toAjvSchema(sub, closed) : sub]),
        );
        break;
      case 'items':
      case 'additionalProperties':
        out[key] = isPlainObject(value) ? toAjvSchema(value, closed) : value;
        break;
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[key] = Array.isArray(value) ? value.map((sub) => (isPlainObject(sub) ? toAjvSchema(sub, false) : sub)) : value;
        break;
      case 'not':
        out.not = isPlainObject(value) ? toAjvSchema(value, false) : value;
        break;
      case 'nullable':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum':
      case 'minimum':
      case 'maximum':
        break;
      default:
        out[key] = value;
    }
  }
  for (const [bound, exclusive] of [['minimum', 'exclusiveMinimum'], ['maximum', 'exclusiveMaximum']] as const) {
    if (typeof node[bound] === 'number') out[node[exclusive] === true ? exclusive : bound] = node[bound];
  }
  if (node.nullable === true) {
    if (typeof node.type === 'string') out.type = [node.type, 'null'];
    if (Array.isArray(node.enum)) out.enum = [...node.enum, null];
  } else if (node.type === undefined) {
    out[NOT_NULL] = true;
  }
  if (root) {
    out.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, ...(out.properties ?? {}) };
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (closed && !preserve && node.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** Errors inside an anyOf, oneOf or not branch: the branch's verdict is reported once, as the keyword's. */
const IN_BRANCH = /\/(anyOf|oneOf|not)\//;

/** The violations of one validation: unknown fields here, value errors by the shared describer. */
function describeErrors(errors: readonly ErrorObject[], root: Json): BuiltinSchemaResult {
  const unknownFields: Violation[] = [];
  const values: ErrorObject[] = [];
  for (const error of errors) {
    if (IN_BRANCH.test(error.schemaPath)) continue;
    if (error.keyword === INT_OR_STRING) {
      // Said as the built-in kinds' int-or-string: a type error of two types.
      values.push({ ...error, keyword: 'type', params: { type: ['integer', 'string'] } });
      continue;
    }
    if (error.keyword !== 'additionalProperties') {
      values.push(error);
      continue;
    }
    const segments = pointerSegments(error.instancePath, root);
    const key = String(error.params.additionalProperty);
    const declared = Object.keys(isPlainObject(error.parentSchema?.properties) ? error.parentSchema!.properties : {});
    unknownFields.push({
      path: child(joinPath(segments), key),
      message:
        `unknown field ${JSON.stringify(key)} (value ${show(valueAt(root, [...segments, key]))}): the CRD schema declares ` +
        (declared.length ? declared.map((k) => JSON.stringify(k)).join(', ') : 'no fields here') +
        '; the API server prunes it silently and `kubectl apply --validate=strict` rejects it; fix the spelling or remove it',
    });
  }
  return { invalid: describeAjvErrors(values, root, { field: nullField, branchesDropped: true }), unknownFields };
}

/**
 * A CRD-only wording, on purpose: a null where the schema has no `nullable` (a `type`
 * error, or NOT_NULL on an untyped node) is said as such (test/check-schema.test.ts
 * asserts it), not as the built-in kinds' `must be a string (got null)`.
 */
function nullField(_errors: unknown, value: unknown): string | undefined {
  return value === null ? 'must not be null: set a value or remove the field' : undefined;
}

const patterns = new Map<string, RegExp>();
function safePattern(source: string): RegExp {
  let pattern = patterns.get(source);
  if (!pattern) {
    try {
      pattern = new RegExp(source, 'u');
    } catch {
      // A pattern JavaScript cannot compile is not ours to judge: accept every value.
      pattern = /[\s\S]*/;
    }
    patterns.set(source, pattern);
  }
  return pattern;
}
