/**
 * The field diff of an object on both sides: every leaf that differs.
 */
import { parseDocument } from 'yaml';
import { leaves } from '../shared/object-paths';
import type { FieldChange } from './types';

/**
 * Every leaf that differs, by path (app/shared/object-paths.ts's `leaves`: list items with a
 * name are addressed by it). A multi-line string that is a YAML mapping (a
 * HelmChartConfig's `valuesContent`, a scrape config) is compared key by key,
 * so a one-line change of it reads as that line, not as the whole text.
 */
export function fieldChanges(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): FieldChange[] {
  const was = leaves(expandEmbeddedYaml(before));
  const now = leaves(expandEmbeddedYaml(after));
  const changes: FieldChange[] = [];
  for (const [path, value] of now) {
    if (was.get(path) !== value) changes.push({ path, before: was.get(path), after: value });
  }
  for (const [path, value] of was) {
    if (!now.has(path)) changes.push({ path, before: value });
  }
  return changes;
}

export function expandEmbeddedYaml(value: unknown): unknown {
  if (typeof value === 'string' && value.includes('\n')) {
    const document = parseDocument(value);
    const parsed: unknown = document.errors.length === 0 ? document.toJS() : undefined;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? expandEmbeddedYaml(parsed) : value;
  }
  if (Array.isArray(value)) return value.map(expandEmbeddedYaml);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, expandEmbeddedYaml(item)]));
  }
  return value;
}
