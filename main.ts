// The app: read config -> build the stack -> synth. `npm run synth`, or `npx cdk8s synth` (cdk8s.yaml).
import { runSynth } from './app/synth-cli';

process.exitCode = runSynth(process.argv.slice(2));
