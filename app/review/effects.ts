/**
 * What a change does through objects that refer to each other: a selector
 * that selects no pods or another workload's, a PDB that blocks every drain,
 * a config change its readers do not roll for, a probe on a port the
 * container does not declare, traffic a NetworkPolicy change opens or closes.
 *
 * Findings are judged on the new side, and one is named only when the old
 * side did not already have it (the same object, the same words): the review
 * says what the change does, not what the cluster already was. A source
 * compares both sides itself; a rule that judges one side is made a source
 * by {@link introduced}. Another source is one more line of SOURCES.
 */
import { ManifestObject } from '../shared/manifest-object';
import { drainBlocks } from './drains';
import { flowChanges } from './flows';
import { displayName } from './objects';
import { probePortFindings } from './probe-ports';
import { selectorFindings } from './selectors';
import { unrolledConfig } from './stale-config';
import type { Finding } from './types';

/** What a change does across objects, from the objects of both sides. */
type Source = (before: readonly ManifestObject[], after: readonly ManifestObject[]) => Finding[];

/** A rule of one side as a source: the findings the new side has and the old side had not. */
function introduced(rule: (objects: readonly ManifestObject[]) => Finding[]): Source {
  const key = (f: Finding) => `${displayName(f.object)}\n${f.message}`;
  return (before, after) => {
    const had = new Set(rule(before).map(key));
    return rule(after).filter((f) => !had.has(key(f)));
  };
}

const SOURCES: readonly Source[] = [
  introduced(selectorFindings),
  introduced(drainBlocks),
  unrolledConfig,
  introduced(probePortFindings),
  flowChanges,
];

/** Every source's findings, in the order of SOURCES. */
export function crossObjectEffects(before: readonly ManifestObject[], after: readonly ManifestObject[]): Finding[] {
  return SOURCES.flatMap((source) => source(before, after));
}
