/**
 * Custom resources: find their CustomResourceDefinitions and validate objects
 * against the openAPIV3Schema the API server would use.
 *
 * CRD schemas are structural (every field typed, `properties` closed unless
 * `x-kubernetes-preserve-unknown-fields`), so one walk gives both the value
 * errors and the unknown fields, with the same rule ids as built-in kinds.
 * CEL rules (`x-kubernetes-validations`) need a CEL engine and are not evaluated.
 */
import { child, show } from './paths';
import { isPlainObject } from './objects';
import type { CrdCatalog, CrdVersionSchema, Json, ManifestDoc } from './types';
import type { BuiltinSchemaResult } from './builtin-schema';

/** `group/version/Kind`, the catalog key. */
export function crdKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

/**
 * Collects every served version of every CustomResourceDefinition among the documents.
 * Used for the CRD files kept in imports/ and for CRDs shipped in the manifest set itself.
 */
export function crdCatalog(docs: readonly ManifestDoc[]): Map<string, CrdVersionSchema> {
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
  const result: BuiltinSchemaResult = { invalid: [], unknownFields: [] };
  const top = { ...raw };
  delete top.metadata;
  walk(top, schema, '', result, true);
  return result;
}

function walk(value: unknown, schema: Json, path: string, out: BuiltinSchemaResult, closed: boolean): void {
  const got = `(got ${show(value)})`;
  if (value === null) {
    if (!schema.nullable) out.invalid.push({ path, message: `must not be null: set a value or remove the field` });
    return;
  }
  if (schema['x-kubernetes-int-or-string']) {
    if (!(typeof value === 'string' || Number.isInteger(value))) {
      out.invalid.push({ path, message: `must be an integer or a string ${got}` });
    }
    return;
  }
  const type = schema.type as string | undefined;
  if (type && !hasType(value, type)) {
    out.invalid.push({ path, message: `must be ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} ${got}` });
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((allowed: unknown) => JSON.stringify(allowed) === JSON.stringify(value))) {
    out.invalid.push({ path, message: `must be one of ${schema.enum.map(show).join(', ')} ${got}` });
  }
  checkBounds(value, schema, path, out);
  for (const sub of schema.allOf ?? []) walk(value, sub, path, out, false);
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((sub: Json) => passes(value, sub))) {
    out.invalid.push({ path, message: `matches none of the anyOf alternatives ${got}` });
  }
  if (Array.isArray(schema.oneOf) && schema.oneOf.filter((sub: Json) => passes(value, sub)).length !== 1) {
    out.invalid.push({ path, message: `must match exactly one of the oneOf alternatives ${got}` });
  }
  if (isPlainObject(schema.not) && passes(value, schema.not)) {
    out.invalid.push({ path, message: `matches a shape the schema forbids (not) ${got}` });
  }

  if (Array.isArray(value)) {
    if (isPlainObject(schema.items)) value.forEach((item, i) => walk(item, schema.items, child(path, i), out, closed));
    return;
  }
  if (!isPlainObject(value)) return;
  for (const required of schema.required ?? []) {
    if (value[required] === undefined) {
      out.invalid.push({ path: child(path, required), message: `required field ${JSON.stringify(required)} is missing: add it` });
    }
  }
  const properties: Json = isPlainObject(schema.properties) ? schema.properties : {};
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, fieldValue] of Object.entries(value)) {
    const fieldPath = child(path, key);
    if (isPlainObject(properties[key])) {
      walk(fieldValue, properties[key], fieldPath, out, closed);
    } else if (isPlainObject(schema.additionalProperties)) {
      walk(fieldValue, schema.additionalProperties, fieldPath, out, closed);
    } else if (closed && !preserve && schema.additionalProperties !== true) {
      out.unknownFields.push({
        path: fieldPath,
        message:
          `unknown field ${JSON.stringify(key)} (value ${show(fieldValue)}): the CRD schema declares ` +
          (Object.keys(properties).length ? Object.keys(properties).map((k) => JSON.stringify(k)).join(', ') : 'no fields here') +
          '; the API server prunes it silently and `kubectl apply --validate=strict` rejects it; fix the spelling or remove it',
      });
    }
  }
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object': return isPlainObject(value);
    case 'array': return Array.isArray(value);
    case 'string': return typeof value === 'string';
    case 'integer': return Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'boolean': return typeof value === 'boolean';
    default: return true;
  }
}

function checkBounds(value: unknown, schema: Json, path: string, out: BuiltinSchemaResult): void {
  const got = `(got ${show(value)})`;
  const fail = (message: string) => out.invalid.push({ path, message: `${message} ${got}` });
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) fail(`must be at least ${schema.minLength} characters`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) fail(`must be at most ${schema.maxLength} characters`);
    if (typeof schema.pattern === 'string' && !safePattern(schema.pattern).test(value)) fail(`must match /${schema.pattern}/`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) {
      fail(`must be ${schema.exclusiveMinimum ? 'greater than' : 'at least'} ${schema.minimum}`);
    }
    if (typeof schema.maximum === 'number' && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) {
      fail(`must be ${schema.exclusiveMaximum ? 'less than' : 'at most'} ${schema.maximum}`);
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail(`must have at least ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) fail(`must have at most ${schema.maxItems} items`);
  }
  if (isPlainObject(value)) {
    const count = Object.keys(value).length;
    if (typeof schema.minProperties === 'number' && count < schema.minProperties) fail(`must have at least ${schema.minProperties} fields`);
    if (typeof schema.maxProperties === 'number' && count > schema.maxProperties) fail(`must have at most ${schema.maxProperties} fields`);
  }
}

/** True when the value satisfies a sub-schema (used for anyOf/oneOf/not, which only constrain values). */
function passes(value: unknown, schema: Json): boolean {
  const probe: BuiltinSchemaResult = { invalid: [], unknownFields: [] };
  walk(value, schema, '', probe, false);
  return probe.invalid.length === 0;
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
