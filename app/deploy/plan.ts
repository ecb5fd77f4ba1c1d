import { applyStep, diffStep } from './apply';
import { healthStep } from './health';
import { DeployPhase, findMigrateJob, phaseFiles, rolloutWorkloads } from './manifests';
import { migrateGateStep } from './migrate-gate';
import { DeployError, DeployOptions } from './options';
import { PruneCandidate, pruneStep } from './prune';
import { rolloutStep } from './rollout';
import { note, Step } from './step';
import { ChartUpgrade, chartUpgradeStep, chartUpgrades } from './traefik';
import { ManifestFile, ManifestObject, StackManifests } from '../shared/manifest-object';
import { PruneScope } from '../shared/prune-scope';

const PHASE_TITLES: Record<Exclude<DeployPhase, 'migrate'>, string> = {
  cluster: 'apply cluster objects (namespace, config, redis, network policies, traefik)',
  core: 'apply the backend (api, worker)',
  edge: 'apply admin, web and observability',
  routing: 'apply routing (ingress)',
};

/** What the release steps need from the steps before them (known only once those ran). */
export interface ReleaseContext {
  readonly scope: PruneScope;
  /** The health URL (null: no check). */
  readonly healthUrl: string | null;
  /** From the change preview: the workloads that roll, the prune set, which HelmChartConfigs changed. */
  readonly rolled: () => readonly ManifestObject[];
  readonly approvedPrune: () => readonly PruneCandidate[];
  readonly chartChanged: (upgrade: ChartUpgrade) => boolean;
  /** `Kind/name` of the objects the apply takes over from client-side managers. */
  readonly takeovers: () => readonly string[];
  /** The helm-install Job's uid read before the apply. */
  readonly previousJobUid: (upgrade: ChartUpgrade) => string | undefined;
  /** Whether the preview's dry run applied this file with strict field validation, and the server accepted it. */
  readonly validated: (file: ManifestFile) => boolean;
}

/**
 * The steps after the change preview, in order: each phase is applied and its
 * rollouts waited before the next phase starts, so a failure stops the release
 * at a known point. The health check and prune run last, only after everything
 * else succeeded.
 */
export function releaseSteps(manifests: StackManifests, options: DeployOptions, context: ReleaseContext): Step[] {
  const steps: Step[] = [];
  if (options.diff) steps.push(diffStep(manifests.files, context.takeovers));
  steps.push(...phaseSteps(manifests, 'cluster', options, context));
  steps.push(migrationStep(manifests, options));
  for (const phase of ['core', 'edge', 'routing'] as const) steps.push(...phaseSteps(manifests, phase, options, context));
  if (context.healthUrl !== null) {
    steps.push(
      healthStep(
        { url: context.healthUrl, timeout: options.healthTimeout, rollbackOnFailure: options.rollbackOnFailure, rolloutTimeout: options.rolloutTimeout },
        context.rolled,
      ),
    );
  }
  steps.push(pruneStep(context.scope, context.approvedPrune));
  return steps;
}

function phaseSteps(
  manifests: StackManifests,
  phase: Exclude<DeployPhase, 'migrate'>,
  options: DeployOptions,
  context: ReleaseContext,
): Step[] {
  const files = phaseFiles(manifests, phase);
  if (files.length === 0) return [];
  const workloads = rolloutWorkloads(files);
  const steps = [applyStep(PHASE_TITLES[phase], files, context.validated)];
  // A changed HelmChartConfig makes k3s upgrade Traefik: wait for it before anything relies on the edge.
  for (const upgrade of chartUpgrades(files.flatMap((file) => file.objects))) {
    steps.push(conditional(chartUpgradeStep(upgrade, () => context.previousJobUid(upgrade), options.rolloutTimeout), () => context.chartChanged(upgrade), "the HelmChartConfig's values and failurePolicy are unchanged: k3s starts no helm-install Job, so Traefik is not upgraded"));
  }
  if (workloads.length > 0) {
    steps.push(rolloutStep(workloads, { timeout: options.rolloutTimeout, rollbackOnFailure: options.rollbackOnFailure }));
  }
  return steps;
}

/** A step that runs only when the preview says so (its plan still shows what it would do). */
function conditional(step: Step, when: () => boolean, skipped: string): Step {
  return {
    ...step,
    plan: [note('only if the preview shows the HelmChartConfig created, or its valuesContent or failurePolicy changed:'), ...step.plan],
    async run(context) {
      if (!when()) {
        context.output.out(`${skipped}\n`);
        return;
      }
      await step.run(context);
    },
  };
}

function migrationStep(manifests: StackManifests, options: DeployOptions): Step {
  if (options.skipMigration) return skippedMigrationStep();
  const job = findMigrateJob(manifests);
  const [migrateFile] = phaseFiles(manifests, 'migrate');
  if (job === undefined || migrateFile === undefined) {
    throw new DeployError(
      `${manifests.dir} has no migrate.yaml: the app may only roll out after the migrate Job completes; ` +
        'synthesize a stack that includes the Job, or pass --skip-migration if the release has no schema change',
    );
  }
  return migrateGateStep(migrateFile, job);
}

export const SKIP_MIGRATION_WARNING = [
  '!!! --skip-migration: the migrate Job will NOT run. The app rolls out on whatever schema the database has.',
  '!!! If this release adds a migration, its pods start on the old schema and fail where they use the new one.',
  '!!! Only skip when the release has no schema change, or the migration was run by hand (runbook section 26).',
].join('\n');

function skippedMigrationStep(): Step {
  return {
    title: 'migration gate SKIPPED (--skip-migration)',
    plan: [note(SKIP_MIGRATION_WARNING)],
    async run({ output }) {
      output.err(`${SKIP_MIGRATION_WARNING}\n`);
    },
  };
}

