/**
 * Finds the fields a schema does not declare, using validators that only check the
 * fields they know.
 *
 * kubernetes-models ships ajv validators compiled from the Kubernetes OpenAPI
 * schema, without the schema itself. Those validators let unknown fields through
 * (the schema has no `additionalProperties: false`), yet `kubectl apply
 * --validate=strict` rejects them, and a misspelled field is silently dropped by
 * the API server: `imagePullPolicyy: Always` applies cleanly and does nothing.
 *
 * A compiled validator reads `data.<field>` for every field its schema declares,
 * present or not, and walks every key (`for...in`) of a map-typed value. So we run
 * it over a recording proxy: per object reached, the fields the validator asked
 * about are the declared ones; a key it never asked about is unknown. An object it
 * reached but never asked anything of is free-form (`x-kubernetes-preserve-unknown-fields`,
 * RawExtension) and is not audited.
 */
import { child, show } from './paths';
import type { Violation } from './types';

interface FieldUse {
  /** Field names the validator read on this object. */
  readonly asked: Set<string>;
  /** The validator enumerated the keys: a map (labels, resources.limits), every key is fine. */
  enumerated: boolean;
  readonly proxy: object;
}

/** A recorder: hand `proxy` to a validator, then ask `unknownFields()`. */
export class FieldWatch {
  private readonly uses = new Map<object, FieldUse>();
  readonly proxy: object;

  /** `alsoDeclared`: field names the schema declares but the compiled validator never reads. */
  constructor(private readonly root: object, private readonly alsoDeclared: ReadonlySet<string> = new Set()) {
    this.proxy = this.watch(root);
  }

  private watch(target: object): object {
    const known = this.uses.get(target);
    if (known) return known.proxy;
    const use: FieldUse = {
      asked: new Set(),
      enumerated: false,
      proxy: new Proxy(target, {
        get: (obj, key, receiver) => {
          if (typeof key === 'string') use.asked.add(key);
          const value = Reflect.get(obj, key, receiver);
          return value !== null && typeof value === 'object' ? this.watch(value) : value;
        },
        has: (obj, key) => {
          if (typeof key === 'string') use.asked.add(key);
          return Reflect.has(obj, key);
        },
        ownKeys: (obj) => {
          use.enumerated = true;
          return Reflect.ownKeys(obj);
        },
      }),
    };
    this.uses.set(target, use);
    return use.proxy;
  }

  /** Unknown fields under the root, each with its path and a spelling hint when one is close. */
  unknownFields(basePath = ''): Violation[] {
    const found: Violation[] = [];
    this.walk(this.root, basePath, found);
    return found;
  }

  private walk(node: unknown, path: string, found: Violation[]): void {
    if (node === null || typeof node !== 'object') return;
    const use = this.uses.get(node);
    // Never reached (under an unknown field, or a type error already reported): nothing to say.
    if (!use) return;
    if (Array.isArray(node)) {
      node.forEach((item, index) => this.walk(item, child(path, index), found));
      return;
    }
    // Reached but never questioned: a free-form object the schema leaves open.
    if (!use.enumerated && use.asked.size === 0) return;
    for (const [key, value] of Object.entries(node)) {
      if (use.enumerated || use.asked.has(key) || this.alsoDeclared.has(key)) {
        this.walk(value, child(path, key), found);
        continue;
      }
      const hint = closest(key, use.asked);
      found.push({
        path: child(path, key),
        message:
          `unknown field ${JSON.stringify(key)} (value ${show(value)})` +
          (hint ? `: did you mean ${JSON.stringify(hint)}?` : ': the schema declares no such field;') +
          ' the API server drops it silently and `kubectl apply --validate=strict` rejects it; fix the spelling or remove it',
      });
    }
  }
}

/** The declared field nearest to a misspelled one, if it is a plausible typo. */
export function closest(key: string, declared: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of declared) {
    const distance = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(key.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
