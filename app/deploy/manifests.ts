import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ManifestFile, ManifestObject, parseManifestText, StackManifests } from '../shared/manifest-object';
import { MIGRATE_CONCERN, phaseName } from '../shared/stack-files';
import { ROLLOUT_KINDS } from '../shared/rollout-strategy';
import { CONCERNS_IN_ORDER, StackConcern } from '../../constructs/shared/concerns';
import { DeployError } from './options';

/**
 * Where each deploy phase starts in the apply order of
 * constructs/shared/concerns.ts, the one place the order lives: a phase holds
 * the concerns from its first one up to the next phase's. A concern added to
 * the order joins the phase it falls in.
 */
const PHASE_STARTS = {
  /** Not app rollouts: what the migrate Job and the app pods need to exist first (namespace .. traefik). */
  cluster: 'namespace',
  /** The gate: nothing after it is applied unless the Job completes. */
  migrate: MIGRATE_CONCERN,
  /** The backend of the release, on the schema the gate just migrated (api, worker). */
  core: 'api',
  /** What sits in front of or beside the backend (admin, web, observability). */
  edge: 'admin',
  /**
   * Routing goes last so that a changed route (the apex moving to web) never
   * points at a backend that is not rolled out yet.
   */
  routing: 'ingress',
} as const satisfies Record<string, StackConcern>;

export type DeployPhase = keyof typeof PHASE_STARTS;

/**
 * The deploy order over the dist files, phase by phase. A file matches by its
 * name without the apply-order prefix (`00-namespace.yaml` is
 * `namespace.yaml`, see phaseName). A file that is absent is skipped; a .yaml
 * file that is in no phase stops the deploy, because applying it at a guessed
 * moment (or silently not at all) is worse than being told.
 */
export const DEPLOY_PHASES = phasesOf(PHASE_STARTS);

function phasesOf(starts: Record<DeployPhase, StackConcern>): Record<DeployPhase, readonly string[]> {
  const phases = Object.keys(starts) as DeployPhase[];
  const at = phases.map((phase) => CONCERNS_IN_ORDER.indexOf(starts[phase]));
  const result = {} as Record<DeployPhase, readonly string[]>;
  phases.forEach((phase, i) => {
    result[phase] = CONCERNS_IN_ORDER.slice(at[i], at[i + 1] ?? CONCERNS_IN_ORDER.length).map((concern) => `${concern}.yaml`);
  });
  return result;
}

/** Reads and checks every deployable file of a synthesized directory. */
export function loadManifests(dir: string): StackManifests {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DeployError(`manifest directory ${dir} does not exist: synthesize first (npm run synth) or fix --manifests`);
  }
  const ordered: string[] = Object.values(DEPLOY_PHASES).flat();
  const present = readdirSync(dir).filter((name) => name.endsWith('.yaml'));
  const unknown = present.filter((name) => !ordered.includes(phaseName(name)));
  if (unknown.length > 0) {
    throw new DeployError(
      `${join(dir, unknown[0])} is in no deploy phase, so deploy does not know when to apply it: ` +
        'add it to DEPLOY_PHASES in app/deploy/manifests.ts (or remove it from the directory)',
    );
  }
  // Two files of one concern (api.yaml beside 40-api.yaml, from two synth layouts) would both be applied.
  for (const phased of ordered) {
    const same = present.filter((name) => phaseName(name) === phased).sort();
    if (same.length > 1) {
      throw new DeployError(
        `${dir} holds ${same.map((name) => join(dir, name)).join(' and ')}: all are ${phased} (the same concern, ` +
          'one with an apply-order prefix), and deploy would apply both. Keep the one synth wrote last ' +
          '(synthesize again into an empty directory) and remove the other',
      );
    }
  }
  const files = ordered.flatMap((phased) =>
    present
      .filter((name) => phaseName(name) === phased)
      .map((name) => {
        const path = join(dir, name);
        return { name, phaseName: phased, path, objects: parseManifestText(readFileSync(path, 'utf8'), path, name) };
      }),
  );
  if (files.length === 0) {
    throw new DeployError(`${dir} holds none of the stack's files (${ordered.join(', ')}): synthesize first`);
  }
  return { dir, files, objects: files.flatMap((file) => file.objects) };
}

/** The files of one phase that are present, in order. */
export function phaseFiles(manifests: StackManifests, phase: DeployPhase): ManifestFile[] {
  const names: readonly string[] = DEPLOY_PHASES[phase];
  return manifests.files.filter((file) => names.includes(file.phaseName));
}

/** Deployments (and other rollout workloads) of the given files, in file order. */
export function rolloutWorkloads(files: readonly ManifestFile[]): ManifestObject[] {
  return files.flatMap((file) => file.objects.filter((o) => o.group === 'apps' && ROLLOUT_KINDS.has(o.kind)));
}

/** The migrate Job, read from migrate.yaml (undefined when the file is absent). */
export function findMigrateJob(manifests: StackManifests): ManifestObject | undefined {
  const [file] = phaseFiles(manifests, 'migrate');
  if (file === undefined) return undefined;
  const jobs = file.objects.filter((o) => o.group === 'batch' && o.kind === 'Job');
  if (jobs.length !== 1) {
    throw new DeployError(
      `${file.path} must hold exactly one Job (found ${jobs.length}): the gate waits on one Job by name`,
    );
  }
  return jobs[0];
}
