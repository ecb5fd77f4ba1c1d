import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { apiGroupOf, isClusterScopedBuiltin, parseYamlDocuments, YamlDocumentError } from '../shared/manifests';
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
  migrate: 'migrate',
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

/** The migrate Job's file as DEPLOY_PHASES names it (phaseName), the gate's. */
export const MIGRATE_FILE = DEPLOY_PHASES.migrate[0];


/** The name a dist file has in DEPLOY_PHASES: its base name without a numeric apply-order prefix (`NN-`). */
export function phaseName(fileName: string): string {
  return fileName.replace(/^\d+-/, '');
}

/** One object of the synthesized stack, reduced to what deploy and prune need. */
export interface StackObject {
  readonly apiVersion: string;
  readonly kind: string;
  /** API group ('' for the core group): live objects are matched on group and kind, not version. */
  readonly group: string;
  readonly name: string;
  /** Unset for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The dist file the object came from (its base name). */
  readonly file: string;
  /** The whole object as synthesized (read by the preflight and the change preview). */
  readonly manifest: Readonly<Record<string, unknown>>;
}

export interface ManifestFile {
  /** Base name, e.g. `api.yaml` or `40-api.yaml`. */
  readonly name: string;
  /** The name in DEPLOY_PHASES (`api.yaml`). */
  readonly phaseName: string;
  /** Path as given to kubectl (relative to the working directory when it can be). */
  readonly path: string;
  readonly objects: readonly StackObject[];
}

export interface StackManifests {
  readonly dir: string;
  /** Present files, in deploy order. */
  readonly files: readonly ManifestFile[];
  readonly objects: readonly StackObject[];
}

/** Workload kinds that `kubectl rollout status` and `rollout undo` understand. */
export const ROLLOUT_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

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

/**
 * The objects of one manifest file's text, as the deploy reads them (the
 * review reads the dist/ of a git revision, which is no file on disk, through
 * this too, so both agree on what a file holds).
 *
 * @param where names the file in messages: its path, or `<revision>:<path>`
 * @param file the file's base name, kept on each object
 */
export function parseManifestText(text: string, where: string, file: string): StackObject[] {
  let documents;
  try {
    documents = parseYamlDocuments(text);
  } catch (error) {
    if (!(error instanceof YamlDocumentError)) throw error;
    throw new DeployError(`${where} document ${error.document} is not valid YAML: ${error.reason}`);
  }
  return documents.map(({ document, value }) => toStackObject(value, `${where} document ${document}`, file));
}

function toStackObject(value: unknown, where: string, file: string): StackObject {
  const object = value as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, string> };
  };
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
    throw new DeployError(`${where} is not a Kubernetes object (needs apiVersion, kind and metadata.name)`);
  }
  const namespace = typeof object.metadata.namespace === 'string' ? object.metadata.namespace : undefined;
  // One list of cluster-scoped kinds, keyed by API group, shared with the manifest check: a kind
  // the check accepts without a namespace is one the deploy applies without one.
  if (namespace === undefined && !isClusterScopedBuiltin(apiGroupOf(object.apiVersion), object.kind)) {
    // kubectl would put it in whatever namespace the operator's context defaults to.
    throw new DeployError(
      `${where}: ${object.kind} ${object.metadata.name} has no metadata.namespace; ` +
        'set it in the construct so the object cannot land in the kubeconfig context\'s default namespace',
    );
  }
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    group: apiGroupOf(object.apiVersion),
    name: object.metadata.name,
    namespace,
    labels: object.metadata.labels ?? {},
    file,
    manifest: value as Record<string, unknown>,
  };
}

/** The files of one phase that are present, in order. */
export function phaseFiles(manifests: StackManifests, phase: DeployPhase): ManifestFile[] {
  const names: readonly string[] = DEPLOY_PHASES[phase];
  return manifests.files.filter((file) => names.includes(file.phaseName));
}

/** Deployments (and other rollout workloads) of the given files, in file order. */
export function rolloutWorkloads(files: readonly ManifestFile[]): StackObject[] {
  return files.flatMap((file) => file.objects.filter((o) => o.group === 'apps' && ROLLOUT_KINDS.has(o.kind)));
}

/** The migrate Job, read from migrate.yaml (undefined when the file is absent). */
export function findMigrateJob(manifests: StackManifests): StackObject | undefined {
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

/** `kind.group/name` (just `kind/name` for the core group), as kubectl takes it. */
export function resourceRef(object: Pick<StackObject, 'kind' | 'group' | 'name'>): string {
  return `${resourceType(object)}/${object.name}`;
}

/** `kind.group` in lowercase, a resource type kubectl resolves without ambiguity. */
export function resourceType(object: Pick<StackObject, 'kind' | 'group'>): string {
  const kind = object.kind.toLowerCase();
  return object.group === '' ? kind : `${kind}.${object.group}`;
}
