import { parse } from 'yaml';
import { durationMs, Kubectl, lastErrorLine } from './kubectl';
import { DeployError } from './options';
import { sleep } from './stop';
import { jobPodsArgs, podLogsArgs, printNewestJobPodLog } from './migrate-gate';
import { kubectlCall, note, PlanLine, Step } from './step';
import { ManifestObject } from '../shared/manifest-object';

/**
 * k3s' helm-controller turns a changed HelmChartConfig `<chart>` in kube-system
 * into a new `helm-install-<chart>` Job that upgrades the chart. The deploy
 * waits for that Job and then for the chart's workload (the Traefik DaemonSet),
 * so a failed Traefik upgrade stops the deploy before the app relies on it.
 */
export const HELM_JOB_TIMEOUT = '5m';

/** How long the helm-controller may take to replace its Job after the HelmChartConfig changed. */
const NEW_JOB_TIMEOUT_MS = 120_000;
const POLL_MS = 2000;

export interface ChartUpgrade {
  readonly config: ManifestObject;
  readonly job: { readonly name: string; readonly namespace: string };
  /** `daemonset/traefik`: the workload the chart runs. */
  readonly workload: string;
}

export function chartUpgrades(objects: readonly ManifestObject[]): ChartUpgrade[] {
  return objects
    .filter((o) => o.kind === 'HelmChartConfig' && o.namespace !== undefined)
    .map((config) => {
      const values = parse(String((config.manifest.spec as { valuesContent?: string } | undefined)?.valuesContent ?? '')) as
        | { deployment?: { kind?: string } }
        | null;
      const kind = values?.deployment?.kind === 'DaemonSet' ? 'daemonset' : 'deployment';
      return { config, job: { name: `helm-install-${config.name}`, namespace: config.namespace as string }, workload: `${kind}/${config.name}` };
    });
}

export const jobUidArgs = (upgrade: ChartUpgrade): string[] => [
  'get', 'job', upgrade.job.name, '-n', upgrade.job.namespace, '--ignore-not-found', '-o', 'jsonpath={.metadata.uid}',
];

/**
 * Phase and restarts of each pod of the helm-install Job with this uid. Its pods
 * restart OnFailure and its backoffLimit is 1000 (helm-controller's defaults): a
 * failing upgrade is a pod in CrashLoopBackOff for hours, counted in neither the
 * Job's status.failed nor its conditions, so the deploy stops at the first restart.
 */
const jobPodsStateArgs = (upgrade: ChartUpgrade, uid: string): string[] => [
  'get', 'pods', '-n', upgrade.job.namespace, '-l', `batch.kubernetes.io/controller-uid=${uid}`, '-o',
  'jsonpath={range .items[*]}{.status.phase}:{.status.containerStatuses[*].restartCount}{"\\n"}{end}',
];

const statusArgs = (upgrade: ChartUpgrade, timeout: string): string[] => [
  'rollout', 'status', upgrade.workload, '-n', upgrade.job.namespace, `--timeout=${timeout}`,
];

/** Reads the current helm-install Job's uid, before the HelmChartConfig is applied. */
export async function currentJobUid(kubectl: Kubectl, upgrade: ChartUpgrade): Promise<string> {
  const result = await kubectl.run(jobUidArgs(upgrade), { showOutput: false });
  if (result.code !== 0) throw new DeployError(`could not read Job ${upgrade.job.namespace}/${upgrade.job.name}: ${lastErrorLine(result)}; nothing was applied`);
  return result.stdout.trim();
}

/**
 * After the HelmChartConfig was applied: wait for the helm-controller's new
 * Job (its uid differs from the one read before the apply), for it to
 * complete, then for the chart's rollout.
 */
export function chartUpgradeStep(upgrade: ChartUpgrade, previousUid: () => string | undefined, rolloutTimeout: string): Step {
  const where = `${upgrade.job.namespace}/${upgrade.job.name}`;
  const plan: PlanLine[] = [
    kubectlCall(jobUidArgs(upgrade)),
    note(`repeated every ${POLL_MS / 1000}s until the helm-controller has replaced the Job (at most ${NEW_JOB_TIMEOUT_MS / 1000}s)`),
    kubectlCall(jobPodsStateArgs(upgrade, '<the new Job\'s uid>')),
    note(`repeated every ${POLL_MS / 1000}s until its pod succeeded, failed or restarted (at most ${HELM_JOB_TIMEOUT}; restarts OnFailure and a backoffLimit of 1000 mean the Job itself never fails in time)`),
    kubectlCall(statusArgs(upgrade, rolloutTimeout)),
    { kind: 'only-if', when: 'the upgrade Job fails', calls: [jobPodsArgs(upgrade.job), podLogsArgs(upgrade.job.namespace, '<the newest pod>', 50)] },
  ];
  return {
    title: `wait for the Traefik upgrade (Job ${where}, then ${upgrade.workload})`,
    plan,
    async run({ kubectl, output, stop }) {
      const before = previousUid();
      const deadline = Date.now() + NEW_JOB_TIMEOUT_MS;
      let uid: string;
      for (;;) {
        uid = await currentJobUid(kubectl, upgrade);
        if (uid !== '' && uid !== before) break;
        if (Date.now() > deadline) {
          throw new DeployError(
            `k3s' helm-controller did not start a new ${where} within ${NEW_JOB_TIMEOUT_MS / 1000}s of the HelmChartConfig ` +
              'change; the helm-controller runs inside k3s: read its log on a server node (journalctl -u k3s | grep helm-controller). ' +
              'Nothing of the app was applied',
          );
        }
        await sleep(POLL_MS, stop);
      }
      const outcome = await firstPodOutcome(kubectl, upgrade, uid, stop);
      if (outcome !== 'succeeded') {
        output.err(`\nthe Traefik upgrade Job ${where} ${outcome === 'failed' ? 'has a failing pod' : 'did not finish'}; its log:\n`);
        await printNewestJobPodLog(kubectl, output, upgrade.job, 50);
        throw new DeployError(
          `the Traefik upgrade failed: ${outcome === 'failed' ? `the pod of Job ${where} failed (the helm-controller's Job restarts it and retries up to 1000 times, so the Job itself will not say Failed for hours)` : `Job ${where} did not finish within ${HELM_JOB_TIMEOUT}`}. ` +
            `helm keeps the previous Traefik release serving. Read why (the newest pod's log): kubectl -n ${upgrade.job.namespace} logs --tail=50 $(kubectl -n ${upgrade.job.namespace} get pods -l batch.kubernetes.io/job-name=${upgrade.job.name} --sort-by=.metadata.creationTimestamp -o name | tail -n 1) ; ` +
            `fix the HelmChartConfig ${upgrade.config.name} (traefik.* in the config) and re-run. Nothing of the app was applied`,
        );
      }
      const rolled = await kubectl.run(statusArgs(upgrade, rolloutTimeout));
      if (rolled.code !== 0) {
        throw new DeployError(
          `the Traefik upgrade did not roll out: ${upgrade.workload} in ${upgrade.job.namespace}: ${lastErrorLine(rolled)}. ` +
            `Debug: kubectl -n ${upgrade.job.namespace} describe ${upgrade.workload}. Nothing of the app was applied`,
        );
      }
    },
  };
}

/** Polls the new helm-install Job's pods until one succeeded, failed or restarted, or HELM_JOB_TIMEOUT passed. */
async function firstPodOutcome(
  kubectl: Kubectl,
  upgrade: ChartUpgrade,
  uid: string,
  stop: AbortSignal | undefined,
): Promise<'succeeded' | 'failed' | 'unfinished'> {
  const deadline = Date.now() + durationMs(HELM_JOB_TIMEOUT);
  for (;;) {
    const result = await kubectl.run(jobPodsStateArgs(upgrade, uid), { showOutput: false });
    if (result.code !== 0) {
      throw new DeployError(`could not read the pods of Job ${upgrade.job.namespace}/${upgrade.job.name}: ${lastErrorLine(result)}. Nothing of the app was applied`);
    }
    const pods = result.stdout.split('\n').filter((line) => line !== '').map((line) => {
      const [phase, restarts] = line.split(':');
      return { phase, restarts: (restarts ?? '').split(' ').reduce((sum, count) => sum + Number(count || '0'), 0) };
    });
    if (pods.some((pod) => pod.phase === 'Succeeded')) return 'succeeded';
    if (pods.some((pod) => pod.phase === 'Failed' || pod.restarts > 0)) return 'failed';
    if (Date.now() > deadline) return 'unfinished';
    await sleep(POLL_MS, stop);
  }
}
