import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { isClusterScopedBuiltin } from './cluster-scope';

/** What the API server keys an object by: two of one identity are one object, and the second apply overwrites the first. */
interface ObjectIdentity {
  /** The API group, `''` for the core group (cdk8s names it `core`): the version is no part of it. */
  readonly group: string;
  readonly kind: string;
  /** Unset for a cluster-scoped kind, whose name is one across every namespace. */
  readonly namespace?: string;
  readonly name: string;
}

/**
 * The identity `object` is written with. cdk8s gives every object its chart's
 * namespace in memory (synth writes `metadata.namespace` as it is, so a
 * namespaced object's is the one applied); a cluster-scoped kind has none in
 * the cluster, so its names clash across namespaces.
 */
function objectIdentity(object: ApiObject): ObjectIdentity {
  const group = object.apiGroup === 'core' ? '' : object.apiGroup;
  const namespace = isClusterScopedBuiltin(group, object.kind) ? undefined : object.metadata.namespace;
  return { group, kind: object.kind, namespace, name: object.name };
}

/** `Kind namespace/name`, or `Kind name` when cluster-scoped: how the messages name an object. */
function label(identity: ObjectIdentity): string {
  return `${identity.kind} ${identity.namespace === undefined ? '' : `${identity.namespace}/`}${identity.name}`;
}

/** The objects claimed so far in each App, by identity: the object and the path of the construct that built it. */
const claims = new WeakMap<IConstruct, Map<string, { object: ApiObject; builder: string }>>();

/**
 * The sentence for each object of `objects` another construct of the App
 * already claimed, one per construct clashed with; none claimed when any
 * clashes, every one when none does (an object claimed before is skipped).
 */
function claim(root: IConstruct, objects: readonly ApiObject[], builder: string): string[] {
  const claimed = claims.get(root) ?? new Map<string, { object: ApiObject; builder: string }>();
  claims.set(root, claimed);
  const clashes = new Map<string, string[]>();
  const mine = new Map<string, { object: ApiObject; builder: string }>();
  for (const object of objects) {
    const identity = objectIdentity(object);
    const key = JSON.stringify([identity.group, identity.kind, identity.namespace, identity.name]);
    const first = claimed.get(key) ?? mine.get(key);
    if (first?.object === object) continue;
    if (first === undefined) mine.set(key, { object, builder });
    else clashes.set(first.builder, [...(clashes.get(first.builder) ?? []), label(identity)]);
  }
  if (clashes.size === 0) mine.forEach((entry, key) => claimed.set(key, entry));
  return [...clashes].map(([first, objectLabels]) =>
    `${objectLabels.join(', ')} ${objectLabels.length === 1 ? 'is' : 'are'} already built by ${first}: applied, the second would overwrite the first; ` +
      "give one of them another name (a construct's name prop; an ApiObject's metadata.name, or its id when it has none), or build it once");
}

/**
 * Claims, in the App of `construct`, the identity of every object it built:
 * throws as the second construct is built when an object of one API group,
 * kind, namespace (none when cluster-scoped) and name was already built by
 * another, naming the object, both constructs and the fix. Applied, the second
 * would silently replace the first (two `HoneydueApi` in one chart are both
 * `api` by default). Every construct of the library calls it as the last line
 * of its constructor, when its objects are built; a construct inside it (the
 * stack's) has claimed its own already, and those are skipped.
 */
export function claimObjectNames(construct: IConstruct, owner: string): void {
  const objects = construct.node.findAll().filter(ApiObject.isApiObject);
  const problems = claim(construct.node.root, objects, construct.node.path);
  if (problems.length > 0) throw new Error(problems.map((problem) => `${owner} at ${construct.node.path}: ${problem}`).join('\n'));
}

/** The roots (Apps) whose hand-built objects are claimed at synth. */
const checked = new WeakSet<IConstruct>();

/**
 * Makes synthesis of `scope`'s App claim, by {@link claimObjectNames}' rule
 * and registry, every object no construct of the library claimed: a
 * consumer's own `ApiObject` (or one a subclass adds after the constructor)
 * that takes the identity of another fails the synth, naming both. cdk8s runs
 * the validation at synth (`Testing.synth` and `chart.toJson` too). Idempotent:
 * every construct calls it (through `reportProblems`), the App gets it once.
 */
export function claimUnclaimedObjectsAtSynth(scope: IConstruct): void {
  const root = scope.node.root;
  if (checked.has(root)) return;
  checked.add(root);
  root.node.addValidation({
    validate: () => root.node.findAll().filter(ApiObject.isApiObject).flatMap((object) => claim(root, [object], object.node.path).map((problem) => `${object.node.path}: ${problem}`)),
  });
}
