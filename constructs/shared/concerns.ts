/**
 * The stack's concerns: one chart each, synthesized to one file each, listed
 * in apply order with the number that prefixes the file name
 * (`00-namespace.yaml`, `10-config.yaml`, ...).
 *
 * This is the one place the order lives. `kubectl apply -f dist/<env>/` reads
 * a folder's files in lexical order and does not reorder by kind, so the
 * prefix is what makes a plain apply create the Namespace before any object
 * that lives in it (on a fresh cluster a namespaced object applied first is
 * refused: namespace not found). The deploy's phases (app/deploy/manifests.ts)
 * take the same file names through {@link concernFileName}.
 *
 * Why this order: the Namespace first; the ConfigMap and Redis before the pods
 * that read them; the NetworkPolicies before any app pod, so no pod ever runs
 * unrestricted; Traefik's HelmChartConfig; the migrate Job before the app that
 * needs the migrated schema; the backend before admin, web and vmagent that
 * talk to it; the Ingress last, so a route never points at a backend that is
 * not there yet. The numbers leave gaps so a new concern slots in without
 * renaming every file.
 */
export const STACK_CONCERNS = {
  namespace: 0,
  config: 10,
  redis: 15,
  'network-policy': 20,
  traefik: 25,
  migrate: 30,
  api: 40,
  worker: 45,
  admin: 50,
  web: 55,
  observability: 60,
  ingress: 90,
} as const;

/** A concern of the stack: the id of its chart. */
export type StackConcern = keyof typeof STACK_CONCERNS;

/** Every concern, in apply order. */
export const CONCERNS_IN_ORDER = Object.keys(STACK_CONCERNS) as StackConcern[];

/** Whether a chart id is one of the stack's concerns. */
export function isStackConcern(id: string): id is StackConcern {
  return Object.prototype.hasOwnProperty.call(STACK_CONCERNS, id);
}

/** The file a concern synthesizes to: `40-api.yaml` for `api`. */
export function concernFileName(concern: StackConcern): string {
  return `${String(STACK_CONCERNS[concern]).padStart(2, '0')}-${concern}.yaml`;
}
