/**
 * The review as text for a terminal or a CI log, and as Markdown for a pull
 * request. Both print the same sections in the same order: what the change
 * does across objects, what the apply refuses and what needs a hand first,
 * since those break the site or stop a deploy.
 */
import { displayName } from './objects';
import type { EnvironmentReview, FieldChange, ObjectName, ReferenceChange, Review } from './types';

/** Output formats of `npm run review`; the CLI's default is text, the same whether or not stdout is a terminal, so a piped review reads as the one on screen. */
export type ReviewFormat = 'text' | 'markdown';

/** Changed fields shown per object; the rest is counted (a first synth of a new shape changes hundreds). */
export const FIELDS_SHOWN = 40;

interface Item {
  /** `+` added, `-` removed, `~` changed, `!` refused or a hand step. */
  readonly mark: string;
  readonly head: string;
  /** Lines under the item (changed fields), a code block in Markdown. */
  readonly lines?: readonly string[];
  /** A sentence under the item (why a workload rolls). */
  readonly note?: string;
}

interface Section {
  readonly title: string;
  /** Shown folded in Markdown (the changed fields: long, and `git diff` has them too). */
  readonly folded?: boolean;
  readonly items: readonly Item[];
}

/** The review in one format: text for a terminal or a CI log, markdown for a pull request. */
export function renderReview(review: Review, format: ReviewFormat): string {
  return format === 'markdown' ? markdown(review) : text(review);
}

/** One line per environment: counts, or that nothing changed. */
function environmentSummary(env: EnvironmentReview): string {
  const side =
    env.presence === 'added' ? `new environment (no dist/${env.name}/ on the old side): ` : env.presence === 'removed' ? `dist/${env.name}/ is removed: ` : '';
  if (env.added.length + env.removed.length + env.changed.length === 0) return `${side}no change (${env.unchanged} objects)`;
  const pruned = env.removed.filter((o) => o.fate === 'pruned').length;
  return (
    `${side}${env.added.length} added, ${env.removed.length} removed${env.removed.length > 0 ? ` (${pruned} pruned by the deploy)` : ''}, ` +
    `${env.changed.length} changed, ${env.unchanged} unchanged; ${env.rolls.length} to roll` +
    (env.effects.length > 0 ? `; ${env.effects.length} effect${env.effects.length === 1 ? '' : 's'} across objects` : '') +
    (env.refused.length > 0 ? `; ${env.refused.length} refused by kubectl apply` : '') +
    (env.manual.length > 0 ? `; ${env.manual.length} need${env.manual.length === 1 ? 's' : ''} a manual step` : '')
  );
}

const where = (object: ObjectName) => `${displayName(object)} (${object.file})`;

function sections(env: EnvironmentReview): Section[] {
  return [
    { title: 'What it does across objects', items: env.effects.map((f) => ({ mark: '!', head: `${where(f.object)}: ${f.message}` })) },
    { title: 'Refused by kubectl apply (immutable fields)', items: env.refused.map((f) => ({ mark: '!', head: `${where(f.object)}: ${f.message}` })) },
    { title: 'Needs a manual step', items: env.manual.map((f) => ({ mark: '!', head: `${where(f.object)}: ${f.message}` })) },
    {
      title: 'Rolls',
      items: env.rolls.map((roll) => ({
        mark: '~',
        head: `${displayName(roll.object)}: ${roll.how}${roll.downtime && !roll.how.includes('downtime') ? ' (downtime)' : ''}`,
        note: `why: ${roll.why.join('; ')}`,
      })),
    },
    { title: 'Secrets and ConfigMaps read', items: env.references.map((ref) => ({ mark: ref.change === 'new' ? '+' : '-', head: referenceText(ref) })) },
    { title: 'Replicas, resources, PDB and HPA', items: env.capacity.map((f) => ({ mark: '~', head: `${displayName(f.object)}: ${f.message}` })) },
    { title: 'Added', items: env.added.map((o) => ({ mark: '+', head: where(o) })) },
    { title: 'Removed', items: env.removed.map((o) => ({ mark: '-', head: `${where(o)}: ${o.fate}: ${o.why}` })) },
    {
      title: 'Changed',
      folded: true,
      items: env.changed.map((o) => ({
        mark: '~',
        head: `${where(o)}${o.movedFrom === undefined ? '' : `, moved from ${o.movedFrom}`}`,
        lines: fieldLines(o.fields),
      })),
    },
  ].filter((section) => section.items.length > 0);
}

function referenceText(ref: ReferenceChange): string {
  const what = `${ref.kind} ${ref.namespace}/${ref.name}${ref.key === undefined ? ' (all of it)' : ` key ${ref.key}`}`;
  const readers = ref.readers.join(', ');
  if (ref.change === 'dropped') {
    return `${what}: no longer read (was read by ${readers}); once the release is out it can go from the cluster if nothing else reads it`;
  }
  const need = ref.optional ? 'optional' : 'required';
  if (ref.kind === 'ConfigMap' && ref.shipped) return `${what}: newly read by ${readers} (${need}); the release ships the ConfigMap`;
  const create = ref.kind === 'Secret' ? `the operator creates it in ${ref.namespace} before the deploy` : `it is not in dist/, so it must exist in ${ref.namespace} before the deploy`;
  return (
    `${what}: newly read by ${readers} (${need}); ${create}` +
    (ref.optional ? ' for pods to see it (they start without it)' : ', or the new pods do not start (CreateContainerConfigError)')
  );
}

/** `path: old -> new`, `+ path: new`, `- path: old`; a multi-line text changes line by line. */
function fieldLines(fields: readonly FieldChange[]): string[] {
  const lines: string[] = [];
  for (const field of fields.slice(0, FIELDS_SHOWN)) {
    const [before, after] = [multiline(field.before), multiline(field.after)];
    if (before !== undefined && after !== undefined) {
      const [was, now] = [before.split('\n'), after.split('\n')];
      lines.push(`${field.path}: text changed`);
      for (const line of was.filter((l) => !now.includes(l))) lines.push(`  - ${line}`);
      for (const line of now.filter((l) => !was.includes(l))) lines.push(`  + ${line}`);
    } else if (field.before === undefined) {
      lines.push(`+ ${field.path}: ${field.after}`);
    } else if (field.after === undefined) {
      lines.push(`- ${field.path}: ${field.before}`);
    } else {
      lines.push(`${field.path}: ${field.before} -> ${field.after}`);
    }
  }
  if (fields.length > FIELDS_SHOWN) lines.push(`... and ${fields.length - FIELDS_SHOWN} more fields (git diff -- dist/ shows every line)`);
  return lines;
}

function multiline(json: string | undefined): string | undefined {
  if (json === undefined || !json.startsWith('"')) return undefined;
  const value = JSON.parse(json) as string;
  return value.includes('\n') ? value : undefined;
}

function text(review: Review): string {
  const out: string[] = [`dist/ review: ${review.from} -> ${review.to}`];
  if (review.environments.length === 0) return `${out[0]}\nno dist/ environments on either side: nothing to review\n`;
  for (const env of review.environments) {
    out.push('', `${env.name}: ${environmentSummary(env)}`);
    for (const section of sections(env)) {
      out.push(`  ${section.title}:`);
      for (const item of section.items) {
        out.push(`    ${item.mark} ${item.head}`);
        for (const line of [...(item.note === undefined ? [] : [item.note]), ...(item.lines ?? [])]) out.push(`        ${line}`);
      }
    }
  }
  return out.join('\n') + '\n';
}

function markdown(review: Review): string {
  const out: string[] = ['## dist/ review', '', `\`${review.from}\` → \`${review.to}\``];
  if (review.environments.length === 0) return `${out.join('\n')}\n\nNo dist/ environments on either side: nothing to review.\n`;
  for (const env of review.environments) {
    out.push('', `### ${env.name}`, '', environmentSummary(env));
    for (const section of sections(env)) {
      const list = section.items.flatMap((item) => [
        `- ${item.mark === '!' ? '**' + item.head.replace(/^([^:]+):/, '$1**:') : item.head}`,
        ...(item.note === undefined ? [] : [`  - ${item.note}`]),
        ...(item.lines === undefined || item.lines.length === 0 ? [] : ['  ```', ...item.lines.map((line) => `  ${line}`), '  ```']),
      ]);
      if (section.folded) {
        out.push('', `<details><summary>${section.title} (${section.items.length})</summary>`, '', ...list, '', '</details>');
      } else {
        out.push('', `#### ${section.title}`, '', ...list);
      }
    }
  }
  return out.join('\n') + '\n';
}
