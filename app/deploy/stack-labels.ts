/**
 * honeyDue's own stack labels, as config/production.yaml sets them (`labels`,
 * `environmentLabel`). The deploy's field manager and prune use them; no
 * construct reads them, so they stay out of the library package.
 */

/** The `app.kubernetes.io/part-of` value of honeyDue's objects. */
export const PART_OF = 'honeydue';
/** The field manager of the deploy's server-side apply, and honeyDue's `app.kubernetes.io/managed-by` value. */
export const MANAGED_BY = 'honeydue-k8s';
/** The label naming the environment on every object's metadata; prune selects by it. */
export const LABEL_ENVIRONMENT = 'honeydue.io/environment';
