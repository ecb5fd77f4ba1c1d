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

/** Both versions: kubectl is supported within one minor version of the API server. */
export const VERSION_CHECK = ['version', '-o', 'json'];

export function preflightStep(target: ClusterTarget): Step {
  return {
    title: 'check kubectl and the cluster',
    plan: [kubectlCall(CLIENT_CHECK), kubectlCall(CLUSTER_CHECK), kubectlCall(VERSION_CHECK)],
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

      const versions = await kubectl.run(VERSION_CHECK, { showOutput: false });
      const skew = versionSkew(versions.stdout);
      if (skew === undefined) {
        throw new DeployError(`kubectl version could not read the server's version: ${lastErrorLine(versions)}; nothing was applied`);
      }
      if (Math.abs(skew.client.minor - skew.server.minor) > 1 || skew.client.major !== skew.server.major) {
        throw new DeployError(
          `kubectl ${skew.client.text} is outside the supported skew of the API server ${skew.server.text} (kubectl supports ` +
            `one minor version older or newer than the server): install kubectl ${skew.server.major}.${skew.server.minor} and re-run; ` +
            'nothing was applied',
        );
      }
      output.out(`API server ${skew.server.text}\n`);
    },
  };
}

interface Version {
  readonly major: number;
  readonly minor: number;
  readonly text: string;
}

/** Client and server versions from `kubectl version -o json`; undefined when either is missing. */
export function versionSkew(json: string): { client: Version; server: Version } | undefined {
  const read = (info: { gitVersion?: string } | undefined): Version | undefined => {
    const match = /^v(\d+)\.(\d+)\./.exec(info?.gitVersion ?? '');
    return match === null ? undefined : { major: Number(match[1]), minor: Number(match[2]), text: info?.gitVersion as string };
  };
  try {
    const parsed = JSON.parse(json) as { clientVersion?: { gitVersion?: string }; serverVersion?: { gitVersion?: string } };
    const client = read(parsed.clientVersion);
    const server = read(parsed.serverVersion);
    return client === undefined || server === undefined ? undefined : { client, server };
  } catch {
    return undefined;
  }
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
