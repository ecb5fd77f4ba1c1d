/**
 * A Kubernetes LabelSelector and the API's rule for it, for every reader of
 * manifests: the check (a PDB against its workloads), and the review (selectors
 * against the pods a side runs, NetworkPolicy peers).
 */

/** A LabelSelector (a PDB's, a NetworkPolicy's, a workload's). */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: ReadonlyArray<{ readonly key: string; readonly operator: string; readonly values?: readonly string[] }>;
}

/**
 * Every matchLabels pair and every expression holds; an empty selector selects
 * everything. Read defensively, as manifests may be hand-written: an expression
 * that is not an object, or an unknown operator, selects nothing.
 */
export function labelSelectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const has = (key: string) => Object.prototype.hasOwnProperty.call(labels, key);
  if (typeof selector.matchLabels === 'object' && selector.matchLabels !== null) {
    if (!Object.entries(selector.matchLabels).every(([key, value]) => has(key) && labels[key] === value)) return false;
  }
  const expressions: readonly unknown[] = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  return expressions.every((expression) => {
    if (typeof expression !== 'object' || expression === null) return false;
    const { key, operator, values } = expression as { key: string; operator: unknown; values?: unknown };
    const listed = Array.isArray(values) && values.includes(labels[key]);
    switch (operator) {
      case 'In':
        return has(key) && listed;
      case 'NotIn':
        return !has(key) || !listed;
      case 'Exists':
        return has(key);
      case 'DoesNotExist':
        return !has(key);
      default:
        return false;
    }
  });
}
