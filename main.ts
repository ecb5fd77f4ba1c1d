// The app: read config -> build the stack -> synth. `npm run synth`, or `npx cdk8s synth` (cdk8s.yaml).
// bin/run calls main with the command's arguments (see bin/run.js: an entry that exports main).
import { runSynth } from './app/synth-cli';

export function main(argv: string[]): void {
  process.exitCode = runSynth(argv);
}
