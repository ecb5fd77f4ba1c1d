/**
 * What a change of `dist/` will do to the cluster, per environment: what it
 * does across objects (effects.ts), objects added, pruned and changed, which workloads roll and how, what `kubectl
 * apply` refuses (immutable fields), what needs a hand, the Secrets and
 * ConfigMaps the release starts to read, and the capacity changes (replicas,
 * resources, PDBs, HPAs). Computed from the two trees alone: each of those
 * is a file of its own (fields, rolls, refusals, removals, reads, capacity),
 * composed here environment by environment.
 */
import { ManifestObject, objectKey } from '../shared/manifest-object';
import { StackError } from '../shared/stack-error';
import { reviewedStackLabels, StackLabels } from '../shared/stack-labels';
import { capacityChanges, capacityOfNew } from './capacity';
import { crossObjectEffects } from './effects';
import { fieldChanges } from './fields';
import { ReviewError, type DistTree, type EnvironmentObjects } from './load';
import { nameOf } from './objects';
import { referenceChanges } from './reads';
import { claimResize, immutableChanges } from './refusals';
import { removedFate } from './removals';
import { changedConfigMapKeys, rollOf } from './rolls';
import type { ChangedObject, EnvironmentReview, FieldChange, Finding, Review, Roll } from './types';

/** What {@link reviewTrees} compares besides the two sides. */
export interface ReviewOptions {
  /** Review this environment only. @default every environment of either side */
  readonly only?: string;
  /**
   * The config folder the stack labels are read from (`labels`,
   * `environmentLabel`), as the deploy reads them to decide what it prunes.
   * @default config/ of the repository, the one the deploy reads
   */
  readonly configDir?: string;
}

/**
 * Compares two sides, environment by environment (the union of both sides'
 * environments, sorted), or only the environment `options.only` names.
 */
export function reviewTrees(before: DistTree, after: DistTree, from: string, to: string, options: ReviewOptions = {}): Review {
  const { only, configDir } = options;
  const names = [...new Set([...before.keys(), ...after.keys()])].filter((name) => only === undefined || name === only).sort();
  const empty = (name: string): EnvironmentObjects => ({ name, objects: [] });
  return {
    from,
    to,
    environments: names.map((name) => {
      const [was, now] = [before.get(name) ?? empty(name), after.get(name) ?? empty(name)];
      // Read once, and only when a removed object is judged: a review with nothing to prune needs no labels.
      let read: StackLabels | undefined;
      const labels = () => (read ??= stackLabels(name, [...now.objects, ...was.objects], configDir));
      return reviewEnvironment(name, was, now, before.has(name) ? (after.has(name) ? 'both' : 'removed') : 'added', labels);
    }),
  };
}

/**
 * The stack labels the deploy of an environment prunes by, read as the deploy
 * reads them for reviewed files: the environment's config, or the configs
 * whose environment label the objects carry. Without them the review cannot
 * say what is pruned, so it stops.
 */
function stackLabels(env: string, objects: readonly ManifestObject[], configDir: string | undefined): StackLabels {
  try {
    return reviewedStackLabels(env, { dir: `dist/${env}`, files: [], objects }, configDir);
  } catch (error) {
    if (error instanceof StackError) throw new ReviewError(`cannot tell what the deploy of ${env} prunes: ${error.message}`);
    throw error;
  }
}

function reviewEnvironment(
  name: string,
  before: EnvironmentObjects,
  after: EnvironmentObjects,
  presence: EnvironmentReview['presence'],
  labels: () => StackLabels,
): EnvironmentReview {
  const old = new Map(before.objects.map((o) => [objectKey(o), o]));
  const next = new Map(after.objects.map((o) => [objectKey(o), o]));
  const added = after.objects.filter((o) => !old.has(objectKey(o)));
  const removedObjects = before.objects.filter((o) => !next.has(objectKey(o)));
  const changed: ChangedObject[] = [];
  const pairs: Array<{ was: ManifestObject; now: ManifestObject; fields: FieldChange[] }> = [];
  let unchanged = 0;
  for (const now of after.objects) {
    const was = old.get(objectKey(now));
    if (was === undefined) continue;
    const fields = fieldChanges(was.manifest, now.manifest);
    if (fields.length === 0 && was.file === now.file) {
      unchanged += 1;
      continue;
    }
    changed.push({ ...nameOf(now), fields, movedFrom: was.file === now.file ? undefined : was.file });
    pairs.push({ was, now, fields });
  }

  const refused: Finding[] = [];
  const manual: Finding[] = [];
  const rolls: Roll[] = [];
  const capacity: Finding[] = [];
  const configChanges = changedConfigMapKeys(pairs);
  for (const { was, now, fields } of pairs) {
    refused.push(...immutableChanges(was, now, fields));
    manual.push(...claimResize(was, now, after.objects));
    const roll = rollOf(now, fields, configChanges);
    if (roll !== undefined) rolls.push(roll);
    capacity.push(...capacityChanges(now, fields));
  }
  for (const object of added) capacity.push(...capacityOfNew(object, 'added'));
  const removed = removedObjects.map((object) => removedFate(object, name, after.objects, presence, labels));
  // A removed environment's objects are all left to delete by hand; the Removed list says so once per object already.
  if (presence !== 'removed') for (const object of removed.filter((o) => o.fate !== 'pruned')) manual.push({ object, message: object.why });
  for (const object of removedObjects) capacity.push(...capacityOfNew(object, 'removed'));

  return {
    name,
    presence,
    effects: crossObjectEffects(before.objects, after.objects),
    added: added.map(nameOf),
    removed,
    changed,
    unchanged,
    refused,
    manual,
    rolls,
    references: referenceChanges(before.objects, after.objects),
    capacity,
  };
}
