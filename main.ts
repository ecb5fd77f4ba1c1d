// The app: read config -> build the stack -> synth. `npm run synth`, or `npx cdk8s synth` (cdk8s.yaml).
import * as fs from 'fs';
import { Command } from 'commander';
import { synthesize } from './app/synth';

const program = new Command()
  .name('synth')
  .description('Synthesize the honeyDue stack into dist/<env>/ (atomically: a failure leaves dist/ untouched)')
  .option('--env <name>', 'synthesize one environment (default: every config/*.yaml)')
  .option('--tag <sha>', 'image tag for every honeyDue image (also HONEYDUE_IMAGE_TAG)')
  .option('--out <dir>', 'output folder (default: dist/)')
  .option('--config <dir>', 'folder of <env>.yaml config files (default: config/)')
  .parse();

const options = program.opts<{ env?: string; tag?: string; out?: string; config?: string }>();

try {
  const result = synthesize({
    envs: options.env ? [options.env] : undefined,
    imageTag: options.tag ?? (process.env.HONEYDUE_IMAGE_TAG || undefined),
    outDir: options.out,
    configDir: options.config,
  });
  // Under `cdk8s synth` the CLI lists (and validates) what lands in CDK8S_OUTDIR; give it the same files.
  const cdk8sOutDir = process.env.CDK8S_OUTDIR;
  if (cdk8sOutDir) {
    fs.cpSync(result.outDir, cdk8sOutDir, { recursive: true });
  }
} catch (error) {
  console.error(`synth failed; dist/ was left as it was.\n${(error as Error).message}`);
  process.exit(1);
}
