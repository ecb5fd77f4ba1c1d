import { relative } from 'node:path';
import { auditManifests, checkRenderedFiles, formatReport } from '../check';
import { synthesize } from '../synth';
import { DeployError } from './options';
import { Step } from './step';
import { StackManifests } from '../shared/manifest-object';

/**
 * Where the deploys write, relative to the repository root. Not dist/: the
 * release tag usually differs from the config's, and the committed dist/ must
 * stay what the committed config makes (CI fails on a stale dist/). Each deploy
 * gets its own folder under it (see deployFolderName), removed when it ends
 * (a dry run keeps its own: its plan names the release files in it).
 */
export const DEPLOY_OUT_DIR = '.deploy';

/**
 * `<env>-<UTC time>-<pid>`: two deploys never share a folder, so one never
 * applies files the other synthesized, and the name says whose it was.
 */
export function deployFolderName(env: string, now: Date, pid: number): string {
  return `${env}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${pid}`;
}

/** The pid of the deploy that named a folder with deployFolderName (undefined for any other name). */
export function deployFolderPid(name: string): number | undefined {
  const match = /^[a-z0-9][a-z0-9-]*-\d{8}T\d{6}Z-(\d+)$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

export interface SynthesizeInput {
  readonly env: string;
  /** The release's tag; undefined when the config's could not be read (synthesis then names the problem). */
  readonly tag: string | undefined;
  /** The tag is --tag's, replacing the config's; otherwise it is the config's own and synthesis overrides nothing. */
  readonly fromFlag: boolean;
  /** This deploy's folder: the manifests land in `<folder>/<env>/`. */
  readonly folder: string;
  /** Config folder. @default config/ of the repository */
  readonly configDir?: string;
}

/**
 * Synthesizes the release in this process (the same render and manifest check
 * as `npm run synth`) into the deploy's own folder. A failure applies nothing.
 */
export function synthesizeStep(input: SynthesizeInput): Step {
  return {
    title: `synthesize ${input.env} with ${input.tag === undefined ? "the config's imageTag" : `tag ${input.tag}`}`,
    local: true,
    plan: [],
    async run({ output }) {
      try {
        synthesize({
          envs: [input.env],
          // Only --tag overrides; the line saying it replaced the config's tag names that flag.
          imageTag: input.fromFlag ? input.tag : undefined,
          imageTagSource: '--tag',
          outDir: input.folder,
          configDir: input.configDir,
          log: (line) => output.out(`${line}\n`),
          beforeWrite: (files) => {
            const report = checkRenderedFiles(files, { reportStaleExemptions: false, outDir: relative(process.cwd(), input.folder) });
            output.out(`  check: ${report.passed} passed, ${report.failed} failed\n`);
          },
        });
      } catch (error) {
        throw new DeployError(`synthesis failed: nothing was applied; fix this and re-run:\n${(error as Error).message}`);
      }
    },
  };
}

/**
 * --manifests DIR: the same schema and policy check synth runs, before any
 * kubectl call, so a directory synth would have refused (a Secret with data,
 * a `latest` tag) is refused here too. It checks the objects the deploy read
 * (the files it applies), so each file is parsed once: parsing is most of a
 * deploy's start-up.
 */
export function checkStep(manifests: StackManifests): Step {
  const dir = manifests.dir;
  return {
    title: `check the manifests in ${dir} (schema and policy, as synth does)`,
    local: true,
    plan: [],
    async run({ output }) {
      let report;
      try {
        const docs = manifests.files.flatMap((file) => file.objects.map((object) => ({ file: file.path, object: object.manifest })));
        report = auditManifests([{ name: '', docs }], { reportStaleExemptions: false });
      } catch (error) {
        throw new DeployError(`the manifest check of ${dir} could not run: ${(error as Error).message}; nothing was applied`);
      }
      if (report.failed > 0) {
        throw new DeployError(
          `the manifest check refused ${dir}; nothing was applied and the cluster was not contacted:\n${formatReport(report).trimEnd()}\n` +
            'Fix the constructs or config and synthesize again (npm run synth), then deploy that directory',
        );
      }
      output.out(`check: ${report.passed} passed, 0 failed\n`);
    },
  };
}
