import { parse } from 'yaml';
import { Kubectl, lastErrorLine } from './kubectl';
import { StackObject } from './manifests';
import { DeployError } from './options';
import { sleep } from './stop';
import { waitForJob, waitJobArgs } from './migrate-gate';
import { kubectlCall, note, PlanLine, Step } from './step';

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
  readonly config: StackObject;
  readonly job: { readonly name: string; readonly namespace: string };
  /** `daemonset/traefik`: the workload the chart runs. */
  readonly workload: string;
}

export function chartUpgrades(objects: readonly StackObject[]): ChartUpgrade[] {
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

const statusArgs = (upgrade: ChartUpgrade, timeout: string): string[] => [
  'rollout', 'status', upgrade.workload, '-n', upgrade.job.namespace, `--timeout=${timeout}`,
];
const logsArgs = (upgrade: ChartUpgrade): string[] => ['logs', `job/${upgrade.job.name}`, '-n', upgrade.job.namespace, '--tail=50'];

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
    kubectlCall(waitJobArgs(upgrade.job, 'complete', HELM_JOB_TIMEOUT)),
    kubectlCall(waitJobArgs(upgrade.job, 'failed', HELM_JOB_TIMEOUT)),
    kubectlCall(statusArgs(upgrade, rolloutTimeout)),
    { kind: 'only-if', when: 'the upgrade Job fails', calls: [logsArgs(upgrade)] },
  ];
  return {
    title: `wait for the Traefik upgrade (Job ${where}, then ${upgrade.workload})`,
    plan,
    async run({ kubectl, output, stop }) {
      const before = previousUid();
      const deadline = Date.now() + NEW_JOB_TIMEOUT_MS;
      for (;;) {
        const uid = await currentJobUid(kubectl, upgrade);
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
      const outcome = await waitForJob(kubectl, upgrade.job, HELM_JOB_TIMEOUT);
      if (outcome.state !== 'complete') {
        output.err(`\nthe Traefik upgrade Job ${where} ${outcome.state === 'failed' ? 'failed' : 'did not complete'}; its log:\n`);
        await kubectl.run(logsArgs(upgrade));
        throw new DeployError(
          `the Traefik upgrade failed: Job ${where} ${outcome.state === 'failed' ? 'failed' : `did not complete within ${HELM_JOB_TIMEOUT} (${outcome.reason})`}. ` +
            `helm keeps the previous Traefik release serving. Read why: kubectl -n ${upgrade.job.namespace} logs job/${upgrade.job.name} ; ` +
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
