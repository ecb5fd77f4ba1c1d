import { lastErrorLine } from './kubectl';
import { DeployError } from './options';
import { ProcessResult } from './process';
import { DeployStopped } from './stop';
import { Journal, kubectlCall, Step, StepContext } from './step';
import { ManifestFile, ManifestObject, resourceRef } from '../shared/manifest-object';
import { MIGRATE_FILE } from '../shared/stack-files';

/**
 * The field manager every apply of the deploy uses: the deploy command's own
 * name, so `kubectl get -o yaml --show-managed-fields` tells which fields the
 * deploy owns and which belong to someone else (the HPA's replicas, a hand
 * edit). It names the tool, not the product, and is deliberately not read from
 * a config's labels: a field manager that changed with them would leave the
 * fields earlier deploys applied owned by the old name, and a field the
 * release stops setting would then never be removed.
 */
export const FIELD_MANAGER = 'honeydue-k8s';

/**
 * Server-side apply. `--force-conflicts` takes over fields another manager set
 * (a `kubectl edit`, `kubectl scale`): the release is the source of truth, and
 * the change preview showed every such change before anything was written.
 * Objects last applied client-side are taken over by kubectl itself: it moves
 * the fields of `kubectl-client-side-apply` (those in the last-applied
 * annotation) to this field manager and applies again, so fields the release
 * no longer sets are removed exactly as the preview listed them.
 * `-o name` prints each object as it is applied, so a rejected apply can say
 * what of its file made it.
 *
 * `validated`: the change preview's server-side dry run already applied this
 * very file with the API server's strict field validation (kubectl's default),
 * and the server accepted it. Its apply then passes `--validate=false`, which
 * spares kubectl reading the server's OpenAPI documents again only to learn that
 * the server validates fields (docs/benchmark.md). Any other file, such as
 * one of new objects only or the migrate Job, is applied with strict validation.
 */
export const applyArgs = (file: ManifestFile, validated = false): string[] => [
  'apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', '-f', file.path, '-o', 'name',
  ...(validated ? ['--validate=false'] : []),
];

/** Applies one file and records what was applied; a failure names the rejected object and what of the file was applied. */
export async function applyFile(file: ManifestFile, { kubectl, journal }: StepContext, validated = false): Promise<void> {
  let result: ProcessResult;
  try {
    // Per object: the apply, and for a takeover the migration patch, its retry read and the apply again.
    result = await kubectl.run(applyArgs(file, validated), { requests: 4 * file.objects.length + 4 });
  } catch (error) {
    if (error instanceof DeployStopped) {
      if (error.partial !== undefined) recordApplied(file, { code: -1, stderr: '', ...error.partial }, journal);
      journal.partial.push(file.path);
    }
    throw error;
  }
  const applied = recordApplied(file, result, journal);
  if (result.code === 0) return;
  journal.partial.push(file.path);
  const notApplied = file.objects.filter((object) => !applied.includes(resourceRef(object)));
  throw new DeployError(
    `kubectl apply -f ${file.path} failed: ${rejectionLines(result).join(' ; ')}\n` +
      `  rejected or not applied: ${notApplied.map(describe).join(', ') || 'none (the error came after the last object)'}\n` +
      `  applied from this file: ${applied.join(', ') || 'nothing'}\n` +
      'Fix the manifest (or the cluster policy that rejected it) and re-run the deploy: server-side apply is idempotent, ' +
      'so what was applied is applied again unchanged',
  );
}

/**
 * Applies files one at a time, in order, so a failure names the file and what came before it is known.
 * `validated` says which files the preview's dry run validated (known only once it ran; the plan shows strict).
 */
export function applyStep(title: string, files: readonly ManifestFile[], validated: (file: ManifestFile) => boolean): Step {
  return {
    title,
    plan: files.map((file) => kubectlCall(applyArgs(file))),
    async run(context) {
      for (const file of files) await applyFile(file, context, validated(file));
    },
  };
}

/** The `kind.group/name` lines of `apply -o name` that name an object of the file, in order. */
function recordApplied(file: ManifestFile, result: ProcessResult, journal: Journal): string[] {
  const refs = new Map(file.objects.map((object) => [resourceRef(object), object]));
  const applied = result.stdout.split('\n').map((line) => line.trim()).filter((line) => refs.has(line));
  for (const ref of applied) journal.applied.push(describe(refs.get(ref) as ManifestObject));
  return applied;
}

/** Every `error:` / `Error from server` line: kubectl goes on after a rejected object, so there can be several. */
function rejectionLines(result: ProcessResult): string[] {
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter((line) => /^(error|Error from server)/i.test(line));
  return lines.length > 0 ? lines : [lastErrorLine(result)];
}

const describe = (object: ManifestObject): string =>
  object.namespace === undefined ? resourceRef(object) : `${resourceRef(object)} (${object.namespace})`;

/** `kubectl diff` with the same server-side settings as the apply. */
export const diffArgs = (files: readonly ManifestFile[]): string[] => [
  'diff', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--force-conflicts', ...files.flatMap((f) => ['-f', f.path]),
];

/**
 * Shows kubectl's own diff of the release (--diff), besides the change preview.
 * The migrate Job's file is left out: the Job is deleted and recreated every deploy (its
 * pod template is immutable), so a diff of it is either noise or an
 * immutable-field error.
 */
export function diffStep(files: readonly ManifestFile[], takeovers: () => readonly string[]): Step {
  const diffed = files.filter((file) => file.phaseName !== MIGRATE_FILE);
  return {
    title: 'show what the release changes (kubectl diff)',
    plan: [kubectlCall(diffArgs(diffed))],
    async run({ kubectl, output }) {
      const result = await kubectl.run(diffArgs(diffed));
      // kubectl diff exits 1 when it found differences; only above 1 is an error.
      // kubectl diff sends one dry-run apply per object; it has no takeover step, so it leaves out
      // what the apply removes from a client-side-applied object.
      if (takeovers().length > 0) {
        output.out(
          `note: kubectl diff does not show what the takeover of ${takeovers().join(', ')} removes; the preview above lists it\n`,
        );
      }
      if (result.code === 0) output.out('no differences: the cluster already matches the release\n');
      else if (result.code > 1) {
        throw new DeployError(
          `kubectl diff failed (exit ${result.code}): ${lastErrorLine(result)}; nothing was applied. ` +
            'Re-run without --diff to deploy anyway (a first deploy into an empty cluster cannot be diffed)',
        );
      }
    },
  };
}
