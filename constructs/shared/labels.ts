import { Chart } from 'cdk8s';
import { Construct } from 'constructs';

/**
 * The labels the constructs write themselves.
 *
 * `app.kubernetes.io/name` is the only selector label: selectors are immutable
 * on a live Deployment, so anything that changes per release (`version`) stays
 * on pod templates and never reaches a selector. Labels shared by a whole
 * stack (part-of, managed-by, the environment) are not written here: they are
 * the enclosing Chart's `labels`, which cdk8s puts on every object's metadata,
 * so a consumer's product carries its own and none of another's.
 */

/** Label keys, spelled once. */
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_VERSION = 'app.kubernetes.io/version';

/** The selector of a workload: its name, nothing else (matches the live selectors). */
export function selectorLabels(name: string): Record<string, string> {
  return { [LABEL_NAME]: name };
}

/** Labels a construct writes on an object's metadata: the selector label; the Chart adds the stack's. */
export function objectLabels(name: string): Record<string, string> {
  return selectorLabels(name);
}

/**
 * Labels on a pod template: the stack's `podLabels`, the selector label and
 * the release version (never in a selector). Chart labels do not reach pod
 * templates, so the stack passes the ones pods should carry.
 */
export function podLabels(name: string, version: string, stackLabels: Record<string, string> = {}): Record<string, string> {
  return { ...stackLabels, ...selectorLabels(name), [LABEL_VERSION]: version };
}

/**
 * The namespace a construct's objects go in: its own `namespace` prop, else
 * the enclosing Chart's, the cdk8s convention. Neither set is an error: an
 * object without a namespace lands in whatever namespace kubectl's context
 * names, away from the ConfigMap and Secrets its pods read.
 */
export function namespaceOf(scope: Construct, owner: string, namespace: string | undefined): string {
  const resolved = namespace ?? Chart.of(scope).namespace;
  if (resolved === undefined) {
    throw new Error(`${owner}: namespace: not set, and the enclosing Chart has none; set 'namespace' on the construct or on its Chart (new Chart(app, id, { namespace }))`);
  }
  return resolved;
}
