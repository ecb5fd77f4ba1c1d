/**
 * The policy suite: one ordered list, the same at synth time, in `npm run check` and in tests.
 */
import { hygieneRules } from './hygiene';
import { podSecurityRules } from './pod-security';
import { schemaRules } from './schema';
import { wiringRules } from './wiring';
import type { Rule } from '../types';

export const RULES: readonly Rule[] = [...schemaRules, ...podSecurityRules, ...hygieneRules, ...wiringRules];

/** Reported for a YAML document that is not a Kubernetes object at all; no other rule can run on it. */
export const DOCUMENT_RULE = 'schema/document';

/** Reported for an exemption that waives nothing. */
export const STALE_EXEMPTION_RULE = 'exemption/stale';
