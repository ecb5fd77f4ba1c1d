import { applyArgs, applyFile } from './apply';
import { Kubectl, lastErrorLine } from './kubectl';
import { DeployError, MIGRATION_TIMEOUT } from './options';
import { Output, ProcessResult } from './process';
import { DeployStopped } from './stop';
import { kubectlCall, note, Step } from './step';
import { ManifestFile, ManifestObject } from '../shared/manifest-object';

type JobRef = Pick<ManifestObject, 'name' | 'namespace'>;

const namespaceOf = (job: JobRef): string => job.namespace as string;

/** How long the delete of the previous Job may wait for its pods to be gone. */
const DELETE_JOB_TIMEOUT = '2m';

/**
 * Foreground cascade makes `--wait` return only once the previous run's pods are
 * gone too (the default background cascade returns when the Job object is), so
 * an old goose pod can never still be running when the new Job starts.
 */
export const deleteJobArgs = (job: JobRef): string[] => [
  'delete', 'job', job.name, '-n', namespaceOf(job), '--ignore-not-found', '--wait=true', '--cascade=foreground',
  `--timeout=${DELETE_JOB_TIMEOUT}`,
];

export const waitJobArgs = (job: JobRef, condition: 'complete' | 'failed', timeout = MIGRATION_TIMEOUT): string[] => [
  'wait', `--for=condition=${condition}`, `--timeout=${timeout}`, `job/${job.name}`, '-n', namespaceOf(job),
];

/**
 * The Job's pods, oldest first. `kubectl logs job/<name>` reads the Job's
 * first pod, which after retries is the oldest attempt, not the one that
 * decided the outcome.
 */
export const jobPodsArgs = (job: JobRef): string[] => [
  'get', 'pods', '-n', namespaceOf(job), '-l', `batch.kubernetes.io/job-name=${job.name}`,
  '--sort-by=.metadata.creationTimestamp', '-o', 'jsonpath={.items[*].metadata.name}',
];

export const podLogsArgs = (namespace: string, pod: string, tail: number): string[] => ['logs', `pod/${pod}`, '-n', namespace, `--tail=${tail}`];

/**
 * Prints the log of the Job's newest pod, or says there is none: a Job past its
 * activeDeadlineSeconds has its running pods deleted before it is marked Failed,
 * and then only its events (describe) say what happened.
 */
export async function printNewestJobPodLog(kubectl: Kubectl, output: Output, job: JobRef, tail: number): Promise<void> {
  const pods = await kubectl.run(jobPodsArgs(job), { showOutput: false });
  const names = pods.code === 0 ? pods.stdout.split(' ').filter((name) => name !== '') : [];
  const newest = names[names.length - 1];
  if (newest === undefined) {
    output.err(
      `no pod of Job ${namespaceOf(job)}/${job.name} is left to read a log from` +
        `${pods.code === 0 ? '' : ` (listing them failed: ${lastErrorLine(pods)})`}: a Job that hits its activeDeadlineSeconds ` +
        'has its running pods deleted; its events below say what happened\n',
    );
    return;
  }
  output.err(`log of ${newest}, the newest of the Job's ${names.length} pod(s):\n`);
  await kubectl.run(podLogsArgs(namespaceOf(job), newest, tail));
}

export const describeJobArgs = (job: JobRef): string[] => ['describe', 'job', job.name, '-n', namespaceOf(job)];

export type JobOutcome =
  | { readonly state: 'complete' }
  | { readonly state: 'failed' }
  | { readonly state: 'unfinished'; readonly reason: string };

/**
 * The gate between the schema and the app: delete the previous Job, apply the
 * release's Job, and wait for it. A Job that fails reaches condition=failed
 * long before the 10-minute timeout, so the gate waits for complete and for
 * failed at once and stops at whichever comes first.
 */
export function migrateGateStep(migrateFile: ManifestFile, job: ManifestObject): Step {
  return {
    title: `run the migration gate (Job ${job.name})`,
    plan: [
      kubectlCall(deleteJobArgs(job)),
      kubectlCall(applyArgs(migrateFile)),
      kubectlCall(waitJobArgs(job, 'complete')),
      kubectlCall(waitJobArgs(job, 'failed')),
      note('both waits run at once; the first to see its condition ends the other'),
      {
        kind: 'only-if',
        when: 'the Job fails or does not complete in time (then stop: nothing of the app is applied)',
        calls: [jobPodsArgs(job), podLogsArgs(namespaceOf(job), '<the newest pod>', 200), describeJobArgs(job)],
      },
    ],
    async run(context) {
      const { kubectl, output, journal } = context;
      const deleted = await kubectl.run(deleteJobArgs(job));
      if (deleted.code !== 0) {
        throw new DeployError(
          `could not delete the previous Job ${job.namespace}/${job.name}: ${lastErrorLine(deleted)}; ` +
            'a Job\'s pod template is immutable, so the new one cannot be applied over it. Nothing of the app was applied',
        );
      }
      try {
        await applyFile(migrateFile, context);
      } catch (error) {
        if (error instanceof DeployError) throw new DeployError(`${error.message}\nNothing of the app was applied`);
        throw error;
      }
      journal.job = { name: job.name, namespace: namespaceOf(job), state: 'running' };
      const outcome = await waitForJob(kubectl, job);
      journal.job.state = outcome.state;
      if (outcome.state === 'complete') return;

      output.err(`\nmigration Job ${job.namespace}/${job.name} ${describeOutcome(outcome)}; its logs and status:\n`);
      await printNewestJobPodLog(kubectl, output, job, 200);
      await kubectl.run(describeJobArgs(job));
      throw new DeployError(migrationFailureMessage(job, outcome));
    },
  };
}

/**
 * Waits for complete and for failed at once and returns whichever comes first,
 * after the other wait has been ended. A stop (signal) ends both and throws.
 */
export async function waitForJob(kubectl: Kubectl, job: JobRef, timeout = MIGRATION_TIMEOUT): Promise<JobOutcome> {
  const stopComplete = new AbortController();
  const stopFailed = new AbortController();
  const complete = settle(kubectl.run(waitJobArgs(job, 'complete', timeout), { signal: stopComplete.signal }));
  const failed = settle(kubectl.run(waitJobArgs(job, 'failed', timeout), { signal: stopFailed.signal }));
  const stopped = Promise.all([complete, failed]).then(([a, b]) => [a, b].find((r): r is Stopped => 'stopped' in r));
  const outcome = await new Promise<JobOutcome | Stopped>((resolve) => {
    void stopped.then((stop) => {
      if (stop !== undefined) resolve(stop);
    });
    // A wait that exits non-zero (timed out, or an error) decides nothing until the other one has also ended.
    void complete.then((result) => {
      if ('code' in result && result.code === 0) resolve({ state: 'complete' });
    });
    void failed.then((result) => {
      if ('code' in result && result.code === 0) resolve({ state: 'failed' });
    });
    void Promise.all([complete, failed]).then(([result]) => {
      if ('code' in result && result.code !== 0) resolve({ state: 'unfinished', reason: lastErrorLine(result) });
    });
  });
  stopComplete.abort();
  stopFailed.abort();
  await Promise.all([complete, failed]);
  if ('stopped' in outcome) throw outcome.stopped;
  return outcome;
}

interface Stopped {
  readonly stopped: DeployStopped;
}

/**
 * A kubectl that could not start counts as a wait that failed, with the reason
 * kept; a stop is kept apart so the caller can rethrow it once both waits ended.
 */
function settle(run: Promise<ProcessResult>): Promise<ProcessResult | Stopped> {
  return run.catch((error: Error) =>
    error instanceof DeployStopped ? { stopped: error } : { code: -1, stdout: '', stderr: error.message },
  );
}

type JobFailure = Exclude<JobOutcome, { state: 'complete' }>;

function describeOutcome(outcome: JobFailure): string {
  return outcome.state === 'failed' ? 'failed' : `did not complete within ${MIGRATION_TIMEOUT} (${outcome.reason})`;
}

function migrationFailureMessage(job: ManifestObject, outcome: JobFailure): string {
  const ns = job.namespace;
  return [
    `migration Job ${ns}/${job.name} ${describeOutcome(outcome)}. Nothing of the app was applied: ` +
      'the running pods still serve the previous release on the schema they expect.',
    'Next:',
    `  1. read why: kubectl -n ${ns} describe job ${job.name} ; the newest pod's log: kubectl -n ${ns} logs --tail=200 ` +
      `$(kubectl -n ${ns} get pods -l batch.kubernetes.io/job-name=${job.name} --sort-by=.metadata.creationTimestamp -o name | tail -n 1)`,
    '  2. fix the migration file, build and push new images, and re-run npm run deploy -- --tag <new sha>;',
    '     goose keeps the migrations that succeeded and retries only the failed one',
    '  3. if the failed migration is a NO TRANSACTION one (its earlier statements stay committed), or the',
    '     latest goose_db_version row has is_applied=false, the schema is dirty: follow "Recovering from a dirty',
    '     migration" in docs/deploy.md (runbook chapter 17, section 27) before re-running',
  ].join('\n');
}
