import { ClusterTarget, lastErrorLine } from './kubectl';
import { DeployError } from './options';
import { CommandNotFoundError } from './process';
import { kubectlCall, Step } from './step';

/** Proves kubectl is installed without touching the cluster. */
export const CLIENT_CHECK = ['version', '--client', '-o', 'json'];

/**
 * Proves the cluster answers and the credentials work: reading kube-system
 * needs a reachable API server and an authenticated user, and k3s always has it
 * (it is also where the traefik HelmChartConfig and the deploy lock go).
 * Bounded by --request-timeout like every call, so a dead endpoint fails in
 * seconds instead of kubectl's default wait.
 */
export const CLUSTER_CHECK = ['get', 'namespace', 'kube-system', '-o', 'name'];

export function preflightStep(target: ClusterTarget): Step {
  return {
    title: 'check kubectl and the cluster',
    plan: [kubectlCall(CLIENT_CHECK), kubectlCall(CLUSTER_CHECK)],
    async run({ kubectl, output }) {
      let client;
      try {
        client = await kubectl.run(CLIENT_CHECK, { showOutput: false });
      } catch (error) {
        if (!(error instanceof CommandNotFoundError)) throw error;
        throw new DeployError(
          'kubectl was not found on PATH: install kubectl (the same minor version as the cluster, or one ' +
            'apart) and re-run; nothing was applied',
        );
      }
      if (client.code !== 0) {
        throw new DeployError(`kubectl version --client failed: ${lastErrorLine(client)}; nothing was applied`);
      }
      output.out(`kubectl ${clientVersion(client.stdout)}\n`);

      const cluster = await kubectl.run(CLUSTER_CHECK, { showOutput: false });
      if (cluster.code !== 0) {
        throw new DeployError(
          `cannot reach the cluster ${describeTarget(target)}: ${lastErrorLine(cluster)}\n` +
            'Point kubectl at it (export KUBECONFIG=~/.kube/honeydue-k3s.yaml, or pass --kubeconfig / --context) ' +
            'and re-run; nothing was applied',
        );
      }
      output.out(`cluster reachable ${describeTarget(target)}\n`);
    },
  };
}

function clientVersion(json: string): string {
  try {
    const version = (JSON.parse(json) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion;
    return version ?? 'version unknown';
  } catch {
    return 'version unknown';
  }
}

function describeTarget(target: ClusterTarget): string {
  const parts = [
    target.context === undefined ? 'current context' : `context ${target.context}`,
    target.kubeconfig === undefined ? 'default kubeconfig' : `kubeconfig ${target.kubeconfig}`,
  ];
  return `(${parts.join(', ')})`;
}
