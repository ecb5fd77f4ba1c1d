/**
 * `npm run check [DIR]`: audit a folder of manifests (default dist/).
 * Exit 0 when every check passes, 1 on any finding, 2 when the audit cannot run
 * (no such folder, no manifests, unreadable YAML, malformed exemptions).
 */
import { Command } from 'commander';
import { parseCommandLine } from '../shared/command';
import { auditManifests } from './audit';
import { loadManifestSets } from './load';
import { formatReport } from '../../manifest-check/report';
import { RULES } from '../../manifest-check/rules';

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Runs the CLI on argv (without `node script`) and returns the exit code. */
export function runCheckCli(argv: readonly string[], io: CliIo = processIo): number {
  const program = new Command('check')
    .description('Validate Kubernetes manifests (schema, Pod Security restricted, hygiene, wiring); see docs/check.md')
    .argument('[dir]', 'folder of manifests; each sub-folder is one environment', 'dist/')
    .option('--exemptions <file>', 'exemptions file (default: check/exemptions.yaml of the repository)')
    .option('--crds <dir...>', 'folders of CustomResourceDefinition yaml (default: imports/ of the repository)')
    .option('--rules', 'list the rule ids and what each demands, then exit')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  const parsed = parseCommandLine(program, argv);
  if (parsed !== undefined) return parsed;
  const options = program.opts<{ exemptions?: string; crds?: string[]; rules?: boolean }>();
  if (options.rules) {
    io.out(RULES.map((rule) => `${rule.id.padEnd(32)} ${rule.summary}`).join('\n') + '\n');
    return 0;
  }
  const dir = program.processedArgs[0] as string;
  try {
    const sets = loadManifestSets(dir);
    if (sets.every((set) => set.docs.length === 0)) {
      io.err(`check: no manifests (*.yaml, *.yml) under ${dir}: nothing to prove; run npm run synth first\n`);
      return 2;
    }
    const report = auditManifests(sets, { exemptionsFile: options.exemptions, crdDirs: options.crds });
    io.out(formatReport(report));
    return report.failed > 0 ? 1 : 0;
  } catch (error: any) {
    io.err(`check: ${error.message}\n`);
    return 2;
  }
}
