import { lastErrorLine } from './kubectl';
import { ManifestFile, MIGRATE_FILE } from './manifests';
import { DeployError } from './options';
import { kubectlCall, Step } from './step';

export const applyArgs = (file: ManifestFile): string[] => ['apply', '-f', file.path];

/** Applies files one at a time, in order, so a failure names the file and what came before it is known. */
export function applyStep(title: string, files: readonly ManifestFile[]): Step {
  return {
    title,
    plan: files.map((file) => kubectlCall(applyArgs(file))),
    async run({ kubectl }) {
      for (const file of files) {
        const result = await kubectl.run(applyArgs(file));
        if (result.code !== 0) {
          throw new DeployError(
            `kubectl apply -f ${file.path} failed: ${lastErrorLine(result)}. The files before it in this step were ` +
              'applied; fix the manifest (or the live object kubectl names) and re-run the deploy: apply is idempotent',
          );
        }
      }
    },
  };
}

export const diffArgs = (files: readonly ManifestFile[]): string[] => ['diff', ...files.flatMap((f) => ['-f', f.path])];

/**
 * Shows what the release changes. The migrate Job's file is left out: the Job is deleted
 * and recreated every deploy (its pod template is immutable), so a diff of it
 * is either noise or an immutable-field error.
 */
export function diffStep(files: readonly ManifestFile[]): Step {
  const diffed = files.filter((file) => file.name !== MIGRATE_FILE);
  return {
    title: 'show what the release changes (kubectl diff)',
    plan: [kubectlCall(diffArgs(diffed))],
    async run({ kubectl, output }) {
      const result = await kubectl.run(diffArgs(diffed));
      // kubectl diff exits 1 when it found differences; only above 1 is an error.
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
