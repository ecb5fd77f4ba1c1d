import { MIGRATE_GATE_SECONDS } from '../../constructs/migrate-job';
import { dnsLabelProblem, durationProblem, imageTagProblem } from '../../constructs/shared/validation';
import { StackError } from '../shared/stack-error';
import type { ClusterTarget } from './kubectl';

/** What one run of the deploy command was asked to do, validated. */
export interface DeployOptions extends ClusterTarget {
  /**
   * The release's image tag (a commit SHA of the honeyDue application repository), from `--tag`.
   * @default - when synthesizing, the environment's config `imageTag`: the release the committed config names
   */
  readonly tag?: string;
  /** The environment to synthesize (`config/<env>.yaml`, synthesized to `.deploy/<env>-<time>-<pid>/<env>/`). */
  readonly env: string;
  /** An already-synthesized directory to deploy instead of synthesizing. */
  readonly manifestsDir?: string;
  /** Show `kubectl diff` of the release before applying it. */
  readonly diff: boolean;
  /** Print the kubectl plan and run no kubectl at all. */
  readonly dryRun: boolean;
  /** Apply the app without running the migrate Job first (loud warning). */
  readonly skipMigration: boolean;
  /** Undo a Deployment whose rollout fails, and wait for the undo. */
  readonly rollbackOnFailure: boolean;
  /** kubectl duration each workload's `rollout status` may take. */
  readonly rolloutTimeout: string;
  /** kubectl duration passed as `--request-timeout` to every call that makes plain requests. */
  readonly requestTimeout: string;
  /** Go on after the change preview without asking (needed without a terminal). */
  readonly yes: boolean;
  /** Take over the environment's deploy lock when it is stale (its holder stopped renewing it). */
  readonly takeOverStaleLock: boolean;
  /**
   * The URL checked after the rollout; unset means the release's own public API URL
   * (`NEXT_PUBLIC_API_URL` of its ConfigMap) + `/health/`. Null: no health check.
   */
  readonly healthUrl?: string | null;
  /** How long the health check may keep trying before it counts as failed. */
  readonly healthTimeout: string;
}

/**
 * Raised for anything the operator can fix; the message names the value and the fix. A
 * StackError of the shared readers (a file, a config) fails the deploy the same way.
 */
export class DeployError extends StackError {}

/**
 * The longest the gate waits for the migrate Job: the bound MigrateJob holds its
 * activeDeadlineSeconds to, so the cluster gives up no later than the gate.
 */
export const MIGRATION_TIMEOUT = `${MIGRATE_GATE_SECONDS / 60}m`;

/**
 * Default for `--timeout`. The api's startupProbe allows 240 s per pod and the
 * rollout replaces its 3 pods one at a time (maxSurge 1, maxUnavailable 0), so a
 * slow but healthy rollout can take about 12 minutes.
 */
export const DEFAULT_ROLLOUT_TIMEOUT = '15m';

/** Default for `--request-timeout`: a server-side apply of the largest file, with admission webhooks, fits. */
export const DEFAULT_REQUEST_TIMEOUT = '30s';

/** Default for `--health-timeout`: a rolled pod behind Traefik answers well within it. */
export const DEFAULT_HEALTH_TIMEOUT = '60s';

/** The config's tag rule (constructs/shared/validation.ts), blamed on `--tag`. */
export function validateTag(tag: string): string {
  const problem = imageTagProblem(tag);
  if (problem === undefined) return tag;
  if (/^[0-9A-F]{7,40}$/i.test(tag)) {
    throw new DeployError(`--tag must be lowercase hex (got '${tag}'): pass '${tag.toLowerCase()}'`);
  }
  throw new DeployError(
    `--tag: ${problem}; pass that commit, e.g. --tag "$(git -C <the application repository> rev-parse --short HEAD)", ` +
      "or leave --tag out to deploy the config's imageTag",
  );
}

export function validateEnvName(env: string): string {
  // The name becomes a path (config/<env>.yaml, dist/<env>/): no separators, no dot-dot. The
  // config judges an environment named in `extends` or `shares` by the same rule.
  if (dnsLabelProblem(env) === undefined) return env;
  throw new DeployError(
    `--env must be an environment name like 'production' (lowercase letters, digits, dashes; got '${env}'): ` +
      'it names config/<env>.yaml and dist/<env>/',
  );
}

/** The config's duration rule (constructs/shared/validation.ts), blamed on the flag. */
export function validateDuration(flag: string, value: string): string {
  const problem = durationProblem(value);
  if (problem === undefined) return value;
  throw new DeployError(`${flag}: ${problem} (a kubectl duration like 90s, 15m or 1h)`);
}
