import { ClusterTarget, lastErrorLine } from './kubectl';
import { DeployError } from './options';
import { CommandNotFoundError } from './process';
import { kubectlCall, Step } from './step';

/**
 * Proves the cluster answers and the credentials work: reading kube-system
 * needs a reachable API server and an authenticated user, and k3s always has it
 * (it is also where the traefik HelmChartConfig and the deploy lock go).
 * Bounded by --request-timeout like every call, so a dead endpoint fails in
 * seconds instead of kubectl's default wait.
 */
export const CLUSTER_CHECK = ['get', 'namespace', 'kube-system', '-o', 'name'];

/**
 * kubectl's version and the API server's (kubectl is supported within one minor
 * version of the server). It also proves kubectl is installed: it prints its own
 * version even when the server does not answer.
 */
export const VERSION_CHECK = ['version', '-o', 'json'];

export function preflightStep(target: ClusterTarget): Step {
  return {
    title: 'check kubectl and the cluster',
    plan: [kubectlCall(VERSION_CHECK), kubectlCall(CLUSTER_CHECK)],
    async run({ kubectl, output }) {
      let versions, cluster;
      try {
        [versions, cluster] = await kubectl.runAtOnce([[VERSION_CHECK, { showOutput: false }], [CLUSTER_CHECK, { showOutput: false }]]);
      } catch (error) {
        if (!(error instanceof CommandNotFoundError)) throw error;
        throw new DeployError(
          'kubectl was not found on PATH: install kubectl (the same minor version as the cluster, or one ' +
            'apart) and re-run; nothing was applied',
        );
      }
      const { client, server } = versionsOf(versions.stdout);
      if (client === undefined) throw new DeployError(`kubectl version failed: ${lastErrorLine(versions)}; nothing was applied`);
      output.out(`kubectl ${client.text}\n`);

      if (cluster.code !== 0) {
        throw new DeployError(
          `cannot reach the cluster ${describeTarget(target)}: ${lastErrorLine(cluster)}\n` +
            'Point kubectl at it (export KUBECONFIG=~/.kube/honeydue-k3s.yaml, or pass --kubeconfig / --context) ' +
            'and re-run; nothing was applied',
        );
      }
      output.out(`cluster reachable ${describeTarget(target)}\n`);

      if (server === undefined) {
        throw new DeployError(`kubectl version could not read the server's version: ${lastErrorLine(versions)}; nothing was applied`);
      }
      if (Math.abs(client.minor - server.minor) > 1 || client.major !== server.major) {
        throw new DeployError(
          `kubectl ${client.text} is outside the supported skew of the API server ${server.text} (kubectl supports ` +
            `one minor version older or newer than the server): install kubectl ${server.major}.${server.minor} and re-run; ` +
            'nothing was applied',
        );
      }
      output.out(`API server ${server.text}\n`);
    },
  };
}

interface Version {
  readonly major: number;
  readonly minor: number;
  readonly text: string;
}

/** kubectl's and the server's versions from `kubectl version -o json`; kubectl prints its own even when the server does not answer. */
export function versionsOf(json: string): { client?: Version; server?: Version } {
  const read = (info: { gitVersion?: string } | undefined): Version | undefined => {
    const match = /^v(\d+)\.(\d+)\./.exec(info?.gitVersion ?? '');
    return match === null ? undefined : { major: Number(match[1]), minor: Number(match[2]), text: info?.gitVersion as string };
  };
  try {
    const parsed = JSON.parse(json) as { clientVersion?: { gitVersion?: string }; serverVersion?: { gitVersion?: string } };
    return { client: read(parsed.clientVersion), server: read(parsed.serverVersion) };
  } catch {
    return {};
  }
}

function describeTarget(target: ClusterTarget): string {
  const parts = [
    target.context === undefined ? 'current context' : `context ${target.context}`,
    target.kubeconfig === undefined ? 'default kubeconfig' : `kubeconfig ${target.kubeconfig}`,
  ];
  return `(${parts.join(', ')})`;
}
