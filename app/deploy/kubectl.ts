import { formatCommand, Output, ProcessResult, runProcess } from './process';

/** Which cluster every kubectl call talks to; both flags are passed on every call when set. */
export interface ClusterTarget {
  /** `--kubeconfig`: unset means kubectl's own resolution (KUBECONFIG, then ~/.kube/config). */
  readonly kubeconfig?: string;
  /** `--context`: unset means the kubeconfig's current-context. */
  readonly context?: string;
}

export interface KubectlRunOptions {
  /** Print kubectl's output as it arrives; off for listings parsed as JSON. @default true */
  readonly showOutput?: boolean;
  /** Aborting kills this kubectl (used to stop the losing half of the Job wait). */
  readonly signal?: AbortSignal;
}

/**
 * The one way the deploy command runs kubectl: the cluster flags go first on
 * every call, and every call is echoed as a pasteable line before it runs, so
 * the terminal shows exactly what touched the cluster.
 */
export class Kubectl {
  constructor(
    private readonly target: ClusterTarget,
    private readonly env: NodeJS.ProcessEnv,
    private readonly output: Output,
    private readonly cwd: string,
  ) {}

  /** The full argv of a call, as run and as printed by --dry-run. */
  commandLine(args: readonly string[]): string[] {
    return ['kubectl', ...clusterFlags(this.target), ...args];
  }

  async run(args: readonly string[], options: KubectlRunOptions = {}): Promise<ProcessResult> {
    const [command, ...argv] = this.commandLine(args);
    this.output.out(`$ ${formatCommand([command, ...argv])}\n`);
    return runProcess(command, argv, {
      env: this.env,
      cwd: this.cwd,
      forward: options.showOutput === false ? undefined : this.output,
      signal: options.signal,
    });
  }
}

/** `--kubeconfig` and `--context` as kubectl's global flags (accepted before any subcommand). */
export function clusterFlags(target: ClusterTarget): string[] {
  const flags: string[] = [];
  if (target.kubeconfig !== undefined) flags.push('--kubeconfig', target.kubeconfig);
  if (target.context !== undefined) flags.push('--context', target.context);
  return flags;
}

/** The last non-empty line kubectl wrote to stderr: the line that says what went wrong. */
export function lastErrorLine(result: ProcessResult): string {
  const lines = result.stderr.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.length > 0 ? lines[lines.length - 1] : `exit code ${result.code}`;
}
