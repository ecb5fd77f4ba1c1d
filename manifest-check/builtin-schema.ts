/**
 * Validation of built-in kinds against the Kubernetes OpenAPI schema, through the
 * validators kubernetes-models compiled from it.
 *
 * kubernetes-models 4.5.1 models Kubernetes 1.33 (it has Lifecycle.stopSignal, new
 * in 1.33, and lacks PodSpec.hostnameOverride, new in 1.34; its README badge still
 * says 1.27.1). The cluster runs k3s 1.34: a field added in 1.34 would be reported
 * as unknown, which errs on the safe side.
 */
import { apiGroupOf } from './manifests';
import { FieldWatch } from './field-watch';
import { describeAjvErrors, type AjvError } from './ajv-errors';
import type { Json, Violation } from './types';

/** The compiled validator of one kind: throws an error carrying ajv `errors`. */
type ModelValidate = (this: object) => void;

/** The schema verdict on one object. */
export interface BuiltinSchemaResult {
  /** Type, enum, format and required-field errors. */
  readonly invalid: Violation[];
  /** Fields the schema does not declare. */
  readonly unknownFields: Violation[];
}

const validators = new Map<string, ModelValidate | null>();

/** A kind's kubernetes-models module, as `require` returns it. */
type ModelModule = Record<string, any>;

const API_VERSION = /^([a-z0-9]([a-z0-9.-]*[a-z0-9])?\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

/**
 * The validator kubernetes-models has for an apiVersion and kind, or undefined.
 * Loaded per kind, on first use: loading every model costs seconds, one kind milliseconds.
 */
export function builtinValidator(apiVersion: string, kind: string): ModelValidate | undefined {
  const key = `${apiVersion}/${kind}`;
  if (!validators.has(key)) validators.set(key, loadValidator(apiVersion, kind));
  return validators.get(key) ?? undefined;
}

function loadValidator(apiVersion: string, kind: string): ModelValidate | null {
  // The module path is built from the document: keep it to what an apiVersion and kind can spell.
  if (!API_VERSION.test(apiVersion) || !KIND.test(kind)) return null;
  let exports: ModelModule;
  try {
    exports = require(`kubernetes-models/${apiVersion}/${kind}`);
  } catch (error: any) {
    if (error?.code === 'MODULE_NOT_FOUND' || error?.code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return null;
    throw error;
  }
  const model = exports[kind];
  // Sub-structures (Container, PodSpec) are exported too, but carry no apiVersion/kind.
  if (typeof model !== 'function' || model.apiVersion !== apiVersion || model.kind !== kind) return null;
  return model.prototype.validate as ModelValidate;
}

/**
 * Fields the Kubernetes schema declares but kubernetes-models' validators never read,
 * by kind. Its generator strips every property named `description` (it meant the
 * doc strings) and leaves out the `x-kubernetes-*` extensions of JSONSchemaProps;
 * without this list every CRD and PriorityClass would show false unknown fields.
 * test/check-schema.test.ts compares every model's typings with what its validator
 * reads, so an upgrade that drops more fails there first.
 * The allowance covers the whole object of that kind: a stray `description`
 * elsewhere in a CRD is not caught (the API server would prune it).
 */
const DECLARED_BUT_UNREAD: Record<string, ReadonlySet<string>> = {
  'apiextensions.k8s.io/CustomResourceDefinition': new Set([
    'description', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys',
    'x-kubernetes-list-type', 'x-kubernetes-map-type', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations',
  ]),
  'scheduling.k8s.io/PriorityClass': new Set(['description']),
};

/** Runs the schema over a copy of the object and collects both kinds of violation. */
export function validateBuiltin(validate: ModelValidate, raw: Json): BuiltinSchemaResult {
  // A JSON copy: what the YAML writer would emit, and safe to wrap in a proxy (no frozen objects).
  const copy = JSON.parse(JSON.stringify(raw)) as Json;
  const alsoDeclared = DECLARED_BUT_UNREAD[`${apiGroupOf(String(raw.apiVersion))}/${raw.kind}`];
  return validateWithWatch(validate, copy, '', alsoDeclared);
}

/** Validates a plain JSON value (already a private copy) and collects violations. */
export function validateWithWatch(validate: ModelValidate, copy: object, basePath = '', alsoDeclared?: ReadonlySet<string>): BuiltinSchemaResult {
  const watch = new FieldWatch(copy, alsoDeclared);
  let errors: AjvError[] = [];
  try {
    validate.call(watch.proxy);
  } catch (error: any) {
    if (!Array.isArray(error?.errors)) throw error;
    errors = error.errors;
  }
  return { invalid: describeAjvErrors(errors, copy, { basePath }), unknownFields: watch.unknownFields(basePath) };
}
