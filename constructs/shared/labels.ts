/**
 * The labels every object of the stack carries.
 *
 * `app.kubernetes.io/name` is the only selector label: selectors are immutable
 * on a live Deployment, so anything that changes per release (`version`) stays
 * on pod templates and never reaches a selector.
 */

/** The `app.kubernetes.io/part-of` value of every honeyDue object; prune is scoped by it. */
export const PART_OF = 'honeydue';

/** The `app.kubernetes.io/managed-by` value of every object this library writes. */
export const MANAGED_BY = 'honeydue-k8s';

/** Label keys, spelled once. */
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_VERSION = 'app.kubernetes.io/version';
/** The environment (`config/<env>.yaml`) an object belongs to, on every object's metadata; prune selects by it. */
export const LABEL_ENVIRONMENT = 'honeydue.io/environment';

/** The selector of a workload: its name, nothing else (matches the live selectors). */
export function selectorLabels(name: string): Record<string, string> {
  return { [LABEL_NAME]: name };
}

/** Labels on an object's metadata: the selector label plus the stack labels. */
export function objectLabels(name: string): Record<string, string> {
  return { ...selectorLabels(name), [LABEL_PART_OF]: PART_OF, [LABEL_MANAGED_BY]: MANAGED_BY };
}

/** Labels on a pod template: object labels plus the release version (never in a selector). */
export function podLabels(name: string, version: string): Record<string, string> {
  return { ...objectLabels(name), [LABEL_VERSION]: version };
}
