/**
 * The one describer of ajv errors, for built-in kinds (kubernetes-models' validators)
 * and custom resources (crd.ts) alike: one violation per field, a missing required
 * field as its own violation at the field's path, and the value the document holds
 * in every message.
 */
import { joinPath, pointerSegments, show, valueAt } from './paths';
import type { Violation } from './types';

/** The part of an ajv error the describer reads. */
export interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, any>;
}

/** What a caller adds to the shared wording. */
export interface DescribeOptions {
  /** Prefix of every path (the field a sub-document was validated at), or ''. */
  readonly basePath?: string;
  /** A message for a whole field that replaces the shared one, or undefined to use it. */
  readonly field?: (errors: readonly AjvError[], value: unknown) => string | undefined;
  /**
   * The caller dropped the errors inside oneOf/anyOf branches: a oneOf/anyOf error is
   * then the only word on its branches and is described even beside other errors.
   */
  readonly branchesDropped?: boolean;
}

/** One violation per field, merging the branch errors of int-or-string and quantity fields. */
export function describeAjvErrors(errors: readonly AjvError[], root: unknown, options: DescribeOptions = {}): Violation[] {
  const basePath = options.basePath ?? '';
  const byPath = new Map<string, AjvError[]>();
  const violations: Violation[] = [];
  for (const error of errors) {
    if (error.keyword === 'required') {
      const segments = [...pointerSegments(error.instancePath, root), String(error.params.missingProperty)];
      violations.push({
        path: prefixed(basePath, joinPath(segments)),
        message: `required field ${JSON.stringify(error.params.missingProperty)} is missing: add it`,
      });
      continue;
    }
    const list = byPath.get(error.instancePath) ?? [];
    list.push(error);
    byPath.set(error.instancePath, list);
  }
  for (const [pointer, list] of byPath) {
    const segments = pointerSegments(pointer, root);
    const value = valueAt(root, segments);
    violations.push({ path: prefixed(basePath, joinPath(segments)), message: options.field?.(list, value) ?? explain(list, value, options) });
  }
  return violations;
}

function prefixed(basePath: string, path: string): string {
  if (!basePath) return path;
  if (!path) return basePath;
  return path.startsWith('[') ? basePath + path : `${basePath}.${path}`;
}

/** The message for one field: every broken rule, joined by `; `. */
function explain(errors: readonly AjvError[], value: unknown, options: DescribeOptions): string {
  const got = `(got ${show(value)})`;
  if (errors.some((e) => e.keyword === 'format' && e.params.format === 'quantity')) {
    return `must be a Kubernetes quantity such as 500m, 2 or 128Mi ${got}: fix the number or the unit suffix`;
  }
  const types = errors.filter((e) => e.keyword === 'type').flatMap((e) => typesOf(e));
  const branching = errors.some((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf');
  if (branching && types.length > 1) return `must be ${types.map(article).join(' or ')} ${got}`;
  const parts: string[] = [];
  for (const error of errors) {
    // A oneOf/anyOf error beside other errors of the field: its branches' errors say what is wrong.
    // Alone (the branches' errors sit deeper) or with its branches' errors dropped, it says it itself.
    if ((error.keyword === 'oneOf' || error.keyword === 'anyOf') && errors.length > 1 && !options.branchesDropped) continue;
    const part = error.keyword === 'type' ? typeReason(typesOf(error), value, got) : `${reason(error)} ${got}`;
    if (!parts.includes(part)) parts.push(part);
  }
  return parts.length ? parts.join('; ') : `does not match the schema ${got}`;
}

/** The types of a `type` error, without `null` (an OpenAPI `nullable` spelled as a type). */
function typesOf(error: AjvError): string[] {
  return [error.params.type].flat().map(String).filter((type) => type !== 'null');
}

function typeReason(types: readonly string[], value: unknown, got: string): string {
  return `must be ${types.map(article).join(' or ')} ${got}${types.length === 1 ? typeHint(types[0], value) : ''}`;
}

function reason(error: AjvError): string {
  const limit = error.params.limit;
  switch (error.keyword) {
    case 'enum': return `must be one of ${(error.params.allowedValues as unknown[]).map(show).join(', ')}`;
    case 'format': return `must be a valid ${error.params.format}`;
    case 'minLength': return `must be at least ${limit} characters`;
    case 'maxLength': return `must be at most ${limit} characters`;
    case 'pattern': return `must match /${error.params.pattern}/`;
    case 'minimum': return `must be at least ${limit}`;
    case 'maximum': return `must be at most ${limit}`;
    case 'exclusiveMinimum': return `must be greater than ${limit}`;
    case 'exclusiveMaximum': return `must be less than ${limit}`;
    case 'multipleOf': return `must be a multiple of ${error.params.multipleOf}`;
    case 'minItems': return `must have at least ${limit} items`;
    case 'maxItems': return `must have at most ${limit} items`;
    case 'uniqueItems': return `must not repeat an item (items ${error.params.j} and ${error.params.i} are equal)`;
    case 'minProperties': return `must have at least ${limit} fields`;
    case 'maxProperties': return `must have at most ${limit} fields`;
    case 'anyOf': return 'matches none of the anyOf alternatives';
    case 'oneOf': return 'must match exactly one of the oneOf alternatives';
    case 'not': return 'matches a shape the schema forbids (not)';
    default: return `fails schema keyword ${error.keyword} ${JSON.stringify(error.params)}`;
  }
}

/** `a string`, `an integer`. */
function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function typeHint(type: string, value: unknown): string {
  if ((type === 'integer' || type === 'number') && typeof value === 'string' && value.trim() !== '' && !isNaN(Number(value))) {
    return ': write it without quotes';
  }
  if (type === 'string' && (typeof value === 'number' || typeof value === 'boolean')) {
    return ': quote it (YAML reads it as a ' + typeof value + ')';
  }
  return '';
}
