import { Command, Option } from 'commander';
import { parseCommandLine, USAGE_ERROR } from '../shared/command';
import { deploy, DeployRuntime } from './deploy';
import {
  DEFAULT_HEALTH_TIMEOUT,
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_ROLLOUT_TIMEOUT,
  DeployError,
  DeployOptions,
  validateDuration,
  validateEnvName,
  validateTag,
} from './options';

interface ParsedFlags {
  tag?: string;
  env: string;
  manifests?: string;
  diff?: boolean;
  dryRun?: boolean;
  context?: string;
  kubeconfig?: string;
  skipMigration?: boolean;
  rollbackOnFailure?: boolean;
  timeout: string;
  requestTimeout: string;
  yes?: boolean;
  takeOverStaleLock?: boolean;
  healthUrl?: string;
  healthCheck: boolean;
  healthTimeout: string;
}

function buildProgram(runtime: DeployRuntime): Command {
  return new Command('deploy')
    .description(
      'Synthesize the honeyDue stack for one release and roll it out: cluster objects, then the ' +
        'migrate Job as a gate, then the app, then prune what left the stack.',
    )
    .addOption(
      new Option('--tag <sha>', "commit of the honeyDue application repository the images were built from (default: the config's imageTag, the reviewed release)").conflicts(
        'manifests',
      ),
    )
    .addOption(new Option('--env <name>', 'environment to synthesize').default('production').conflicts('manifests'))
    .option('--manifests <dir>', 'deploy this already-synthesized directory instead of synthesizing')
    .option('--diff', 'also show kubectl diff --server-side of the release before applying it')
    .option('--dry-run', 'print the kubectl plan and run no kubectl at all (synthesis still runs: it is local)')
    .option('--context <name>', 'kubeconfig context, passed to every kubectl call')
    .option('--kubeconfig <path>', 'kubeconfig file, passed to every kubectl call')
    .option('--skip-migration', 'apply the app without the migrate Job gate (prints a warning)')
    .option('--rollback-on-failure', 'kubectl rollout undo a Deployment whose rollout fails, and wait for it')
    .option('--timeout <duration>', 'how long each rollout may take', DEFAULT_ROLLOUT_TIMEOUT)
    .option('--request-timeout <duration>', '--request-timeout of every kubectl call that is not a watch', DEFAULT_REQUEST_TIMEOUT)
    .option('-y, --yes', 'apply the previewed changes without asking (required without a terminal)')
    .option('--take-over-stale-lock', "take over the environment's deploy lock when its holder stopped renewing it")
    .option('--health-url <url>', 'URL checked after the rollout (default: the release\'s NEXT_PUBLIC_API_URL + /health/)')
    .option('--no-health-check', 'skip the health check after the rollout')
    .option('--health-timeout <duration>', 'how long the health check may keep trying', DEFAULT_HEALTH_TIMEOUT)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => runtime.output.out(text),
      writeErr: (text) => runtime.output.err(text),
    });
}

function toOptions(flags: ParsedFlags): DeployOptions {
  return {
    tag: flags.tag === undefined ? undefined : validateTag(flags.tag),
    env: validateEnvName(flags.env),
    manifestsDir: flags.manifests,
    diff: flags.diff === true,
    dryRun: flags.dryRun === true,
    context: flags.context,
    kubeconfig: flags.kubeconfig,
    skipMigration: flags.skipMigration === true,
    rollbackOnFailure: flags.rollbackOnFailure === true,
    rolloutTimeout: validateDuration('--timeout', flags.timeout),
    requestTimeout: validateDuration('--request-timeout', flags.requestTimeout),
    yes: flags.yes === true,
    takeOverStaleLock: flags.takeOverStaleLock === true,
    healthUrl: flags.healthCheck ? (flags.healthUrl === undefined ? undefined : validateUrl(flags.healthUrl)) : null,
    healthTimeout: validateDuration('--health-timeout', flags.healthTimeout),
  };
}

function validateUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  throw new DeployError(`--health-url must be an http(s) URL like https://api.example.com/api/health/ (got '${url}')`);
}

/** Parses the command line and runs the deploy; resolves to the process exit code. */
export async function runDeployCli(args: readonly string[], runtime: DeployRuntime): Promise<number> {
  const program = buildProgram(runtime);
  let options: DeployOptions;
  try {
    // A flag's own parser (--tag, the durations) throws a DeployError from inside the parse.
    const parsed = parseCommandLine(program, args);
    if (parsed !== undefined) return parsed;
    options = toOptions(program.opts<ParsedFlags>());
  } catch (error) {
    if (error instanceof DeployError) {
      runtime.output.err(`error: ${error.message}\n`);
      return USAGE_ERROR;
    }
    throw error;
  }
  return deploy(options, runtime);
}
