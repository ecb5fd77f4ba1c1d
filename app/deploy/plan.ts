import { applyStep, diffStep } from './apply';
import { DeployPhase, findMigrateJob, MIGRATE_FILE, phaseFiles, rolloutWorkloads, StackManifests } from './manifests';
import { migrateGateStep } from './migrate-gate';
import { DeployError, DeployOptions } from './options';
import { pruneStep } from './prune';
import { rolloutStep } from './rollout';
import { note, Step } from './step';

const PHASE_TITLES: Record<Exclude<DeployPhase, 'migrate'>, string> = {
  cluster: 'apply cluster objects (namespace, config, redis, network policies, traefik)',
  core: 'apply the backend (api, worker)',
  edge: 'apply admin, web and observability',
  routing: 'apply routing (ingress)',
};

/**
 * The steps after synthesis, in order: each phase is applied and its rollouts
 * waited before the next phase starts, so a failure stops the release at a
 * known point. Prune runs last, only after everything else succeeded.
 */
export function releaseSteps(manifests: StackManifests, options: DeployOptions): Step[] {
  const steps: Step[] = [];
  if (options.diff) steps.push(diffStep(manifests.files));
  steps.push(...phaseSteps(manifests, 'cluster', options));
  steps.push(migrationStep(manifests, options));
  for (const phase of ['core', 'edge', 'routing'] as const) steps.push(...phaseSteps(manifests, phase, options));
  steps.push(pruneStep(manifests));
  return steps;
}

function phaseSteps(manifests: StackManifests, phase: Exclude<DeployPhase, 'migrate'>, options: DeployOptions): Step[] {
  const files = phaseFiles(manifests, phase);
  if (files.length === 0) return [];
  const workloads = rolloutWorkloads(files);
  const steps = [applyStep(PHASE_TITLES[phase], files)];
  if (workloads.length > 0) {
    steps.push(rolloutStep(workloads, { timeout: options.rolloutTimeout, rollbackOnFailure: options.rollbackOnFailure }));
  }
  return steps;
}

function migrationStep(manifests: StackManifests, options: DeployOptions): Step {
  if (options.skipMigration) return skippedMigrationStep();
  const job = findMigrateJob(manifests);
  const [migrateFile] = phaseFiles(manifests, 'migrate');
  if (job === undefined || migrateFile === undefined) {
    throw new DeployError(
      `${manifests.dir} has no ${MIGRATE_FILE}: the app may only roll out after the migrate Job completes; ` +
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
