/**
 * Exemptions: a rule waived for one named object, with the reason written down.
 *
 * Narrow on purpose: an entry names exactly one object and one rule (no wildcards),
 * all three fields are required, and an entry that waives nothing is itself a
 * finding, so the list cannot rot into blanket permission.
 */
import { existsSync, readFileSync } from 'fs';
import { parse } from 'yaml';
import * as z from 'zod';
import { RULES } from '../../manifest-check/rules';
import type { Exemption } from '../../manifest-check/types';

/** Where the stack's exemptions live (relative to the repository root). */
export const DEFAULT_EXEMPTIONS_FILE = 'check/exemptions.yaml';

const OBJECT = /^[A-Z][A-Za-z0-9]* ([a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** A string field whose absence reads as "is required" rather than a type error. */
const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') });

const entrySchema = z.strictObject({
  object: text().regex(OBJECT, 'must be "Kind namespace/name" (or "Kind name" when cluster-scoped), as findings print it'),
  rule: text().refine((id) => RULES.some((rule) => rule.id === id), {
    message: 'is not a rule id (see docs/check.md for the list)',
  }),
  reason: text().trim().min(10, 'must say why the rule cannot hold for this object (at least a sentence)'),
});

const fileSchema = z.strictObject({ exemptions: z.array(entrySchema) });

/**
 * Reads an exemptions file. A missing file means no exemptions unless `required`
 * (the CLI's explicit --exemptions). A malformed file throws, naming the entry and field.
 */
export function loadExemptions(file: string, required = false): Exemption[] {
  if (!existsSync(file)) {
    if (required) throw new Error(`exemptions file ${file} does not exist`);
    return [];
  }
  return parseExemptions(readFileSync(file, 'utf8'), file);
}

/** Parses exemptions from YAML text; `file` names the source in errors and stale findings. */
export function parseExemptions(text: string, file: string): Exemption[] {
  let data: unknown;
  try {
    data = parse(text) ?? { exemptions: [] };
  } catch (error: any) {
    throw new Error(`${file}: not valid YAML: ${error.message}`);
  }
  const result = fileSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      return `${file}: ${path || '(top level)'} ${issue.message}`;
    });
    throw new Error(problems.join('\n'));
  }
  return result.data.exemptions.map((entry, index) => ({ ...entry, source: `${file}#exemptions[${index}]` }));
}
