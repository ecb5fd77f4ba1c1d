import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { isClusterScopedBuiltin } from './cluster-scope';

/** The roots (Apps) whose objects are already checked. */
const checked = new WeakSet<IConstruct>();

/**
 * Makes synthesis of `scope`'s App fail when two of its objects have one API
 * group, kind, namespace and name: applied, the second silently replaces the
 * first (two `HoneydueApi` in one chart, both named `api`, gave one Deployment).
 * The check runs once every construct is built, as a validation of the App
 * (cdk8s runs them at synth; `Testing.synth` and `chart.toJson` too), and
 * names the constructs that built each pair. Idempotent: every construct calls
 * it (through `reportProblems`), the App gets it once.
 */
export function checkUniqueObjectNames(scope: IConstruct): void {
  const root = scope.node.root;
  if (checked.has(root)) return;
  checked.add(root);
  root.node.addValidation({ validate: () => duplicateObjectProblems(root) });
}

/** The workloads built so far in each App, by `namespace/name`: the construct path that took the name. */
const workloadNames = new WeakMap<IConstruct, Map<string, string>>();

/**
 * Throws, as the second one is built, when a workload takes a name another
 * workload of the same App already took in its namespace: each names its
 * ServiceAccount, its Deployment or Job and its Service after `name`, so
 * applied, the second would overwrite the first (two `HoneydueApi` in one
 * chart are both `api` by default). Any other clash is found at synth,
 * by {@link checkUniqueObjectNames}.
 */
export function claimWorkloadName(workload: IConstruct, owner: string, name: string, namespace: string): void {
  const root = workload.node.root;
  const claimed = workloadNames.get(root) ?? new Map<string, string>();
  workloadNames.set(root, claimed);
  const first = claimed.get(`${namespace}/${name}`);
  if (first !== undefined) {
    throw new Error(
      `${owner} at ${workload.node.path}: the name '${name}' in namespace ${namespace} is already taken by the workload at ${first}, ` +
        'whose objects this one would overwrite: pass a different name (the name prop) to one of them',
    );
  }
  claimed.set(`${namespace}/${name}`, workload.node.path);
}

/** One sentence per pair of constructs that build objects of one identity. */
export function duplicateObjectProblems(root: IConstruct): string[] {
  const builders = new Map<string, { object: string; builder: string }>();
  const pairs = new Map<string, string[]>();
  for (const construct of root.node.findAll()) {
    if (!ApiObject.isApiObject(construct)) continue;
    const namespace = isClusterScoped(construct) ? undefined : construct.metadata.namespace;
    const object = `${construct.kind} ${namespace === undefined ? '' : `${namespace}/`}${construct.name}`;
    const identity = `${construct.apiGroup}\n${object}`;
    const builder = construct.node.scope?.node.path ?? construct.node.path;
    const first = builders.get(identity);
    if (first === undefined) {
      builders.set(identity, { object, builder });
      continue;
    }
    const pair = `${first.builder} and ${builder}`;
    pairs.set(pair, [...(pairs.get(pair) ?? []), object]);
  }
  return [...pairs].map(([pair, objects]) =>
    `${objects.join(', ')} ${objects.length === 1 ? 'is' : 'are'} built by both ${pair}: applied, the second would overwrite the first; give one of them another name`);
}

/**
 * cdk8s gives every object its chart's namespace in memory; a cluster-scoped
 * kind has none in the cluster, so its names clash across namespaces. cdk8s
 * names the core group `core`; the list names it ''.
 */
function isClusterScoped(object: ApiObject): boolean {
  return isClusterScopedBuiltin(object.apiGroup === 'core' ? '' : object.apiGroup, object.kind);
}
