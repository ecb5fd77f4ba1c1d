/**
 * Every leaf of an object by path, the one spelling of a field that the change
 * preview, the takeover prediction and the review print. List items with a
 * `name` are addressed by it (`spec.template.spec.containers[api].image`), so a
 * reordered list reads as what it is.
 */
export function leaves(value: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) into.set(prefix, '[]');
    value.forEach((item, index) => leaves(item, `${prefix}[${listItemId(item, index)}]`, into));
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix !== '') into.set(prefix, '{}');
    for (const [key, item] of entries) leaves(item, prefix === '' ? key : `${prefix}.${key}`, into);
  } else if (prefix !== '') {
    into.set(prefix, JSON.stringify(value));
  }
  return into;
}

/** How a list item is named in a path: its `name` when it has one, else its index. */
export function listItemId(item: unknown, index: number): string {
  return item !== null && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string' ? (item as { name: string }).name : String(index);
}
