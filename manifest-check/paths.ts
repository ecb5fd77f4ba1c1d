/**
 * Field paths as an operator types them into `kubectl explain`: `spec.containers[0].image`,
 * with map keys that contain dots or slashes quoted (`metadata.labels["app.kubernetes.io/name"]`).
 */

export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Appends one segment to a path string. */
export function child(path: string, segment: PathSegment): string {
  if (typeof segment === 'number') return `${path}[${segment}]`;
  if (!PLAIN_KEY.test(segment)) return `${path}[${JSON.stringify(segment)}]`;
  return path ? `${path}.${segment}` : segment;
}

/** Joins segments into a path string. */
export function joinPath(segments: readonly PathSegment[]): string {
  return segments.reduce<string>((path, segment) => child(path, segment), '');
}

/**
 * Turns an ajv instancePath (`/spec/ports/0/port`) into segments, using the document
 * to tell an array index from a map key that happens to be numeric.
 */
export function pointerSegments(pointer: string, root: unknown): PathSegment[] {
  if (!pointer) return [];
  const segments: PathSegment[] = [];
  let node: any = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      segments.push(Number(key));
      node = node[Number(key)];
    } else {
      segments.push(key);
      node = node !== null && typeof node === 'object' ? node[key] : undefined;
    }
  }
  return segments;
}

/** The value at a segment list, or undefined. */
export function valueAt(root: unknown, segments: readonly PathSegment[]): unknown {
  let node: any = root;
  for (const segment of segments) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[segment as any];
  }
  return node;
}

/** A value as it appears in a message: short, quoted strings, `undefined` spelled out. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
