/**
 * What the review reports: what the change does across objects, the objects
 * added, removed and changed of each environment, the rollouts, the refusals, the hand steps, the references and
 * the capacity changes. The jobs of app/review fill it; render.ts prints it.
 */

/** An object as the review names it. */
export interface ObjectName {
  readonly kind: string;
  /** Unset for a cluster-scoped object. */
  readonly namespace?: string;
  /** metadata.name */
  readonly name: string;
  /** The dist file (base name) it is in, on the side the entry describes. */
  readonly file: string;
}

/** One leaf that differs; `before`/`after` are JSON values, undefined where the leaf is absent. */
export interface FieldChange {
  readonly path: string;
  readonly before?: string;
  readonly after?: string;
}

/** An object on both sides that differs (or moved to another file). */
export interface ChangedObject extends ObjectName {
  /** Every leaf that differs, new and changed leaves first, then removed ones. */
  readonly fields: readonly FieldChange[];
  /** The file it was in before, when it moved to another file. */
  readonly movedFrom?: string;
}

/** What the deploy does with an object that left the release. */
export type RemovedFate = 'pruned' | 'kept' | 'not pruned';

/** An object of the old side that the new side no longer has. */
export interface RemovedObject extends ObjectName {
  readonly fate: RemovedFate;
  /** Why, and the hand step when there is one. */
  readonly why: string;
}

/** A workload whose pods are replaced by the apply. */
export interface Roll {
  readonly object: ObjectName;
  /** The rollout strategy in words. */
  readonly how: string;
  /** Every old pod stops before a new one serves. */
  readonly downtime: boolean;
  /** What in the pod template changed: image tag, config hash, resources, probes... */
  readonly why: readonly string[];
}

/** One line about one object: a refusal, a hand step, a capacity change. */
export interface Finding {
  readonly object: ObjectName;
  /** What happens and, for a refusal or a hand step, what to do. */
  readonly message: string;
}

/** A Secret or ConfigMap (or one key of it) that pods start or stop reading. */
export interface ReferenceChange {
  readonly change: 'new' | 'dropped';
  readonly kind: 'Secret' | 'ConfigMap';
  readonly namespace: string;
  readonly name: string;
  /** Undefined when the whole object is read (envFrom, a volume without items, a pull secret). */
  readonly key?: string;
  /** Every reader marks it optional: pods start without it. */
  readonly optional: boolean;
  /** `Kind/name` of the objects that read it (on the side where it is read). */
  readonly readers: readonly string[];
  /** For a ConfigMap: the release ships it (so it exists once applied). */
  readonly shipped: boolean;
}

/** The review of one environment (one dist/<env>/ folder). */
export interface EnvironmentReview {
  /** The folder's name under dist/. */
  readonly name: string;
  /** `added`: no dist/ folder for it on the old side; `removed`: none on the new side. */
  readonly presence: 'both' | 'added' | 'removed';
  /**
   * What the change does through objects that refer to each other (a selector
   * and the pods it selects, a PDB and its workload's replicas, a ConfigMap and
   * its readers, a probe and its container's ports), judged on the new side and
   * named only when the old side did not already have it.
   */
  readonly effects: readonly Finding[];
  /** Objects only the new side has, in its file order. */
  readonly added: readonly ObjectName[];
  /** Objects only the old side has, with what the deploy does with each. */
  readonly removed: readonly RemovedObject[];
  readonly changed: readonly ChangedObject[];
  /** How many objects are the same on both sides. */
  readonly unchanged: number;
  /** Changes `kubectl apply` refuses: immutable fields. */
  readonly refused: readonly Finding[];
  /** What a person does by hand: a claim that cannot grow, objects the deploy does not prune. */
  readonly manual: readonly Finding[];
  readonly rolls: readonly Roll[];
  /** Secrets and ConfigMaps (or keys) pods start or stop reading. */
  readonly references: readonly ReferenceChange[];
  /** Replicas, resources, PDB and HPA changes, one line each. */
  readonly capacity: readonly Finding[];
}

/** The whole review: both sides as the reader named them, and each environment. */
export interface Review {
  /** What the old side is, as the reader named it (`main (merge base 6e9e9e7)`, a folder). */
  readonly from: string;
  /** What the new side is (`working tree`, a revision, a folder). */
  readonly to: string;
  readonly environments: readonly EnvironmentReview[];
}
