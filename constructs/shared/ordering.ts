import { Construct, IConstruct } from 'constructs';

/**
 * Declares that `dependant` is applied after each of `needs` that is a
 * construct; a need given by name only (a string, a plain `{ name }`) has no
 * object to order by and is skipped.
 *
 * cdk8s writes a chart's objects, and an app's charts, in the order of these
 * declarations (its DependencyGraph), not in the order they were built, so a
 * plain `kubectl apply -f` of the output creates what a pod mounts or a route
 * names before the object that needs it, whatever order a consumer built the
 * constructs in.
 */
export function applyAfter(dependant: IConstruct, ...needs: readonly unknown[]): void {
  for (const need of needs) if (Construct.isConstruct(need)) dependant.node.addDependency(need);
}
