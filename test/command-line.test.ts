import * as path from 'path';
import { runCheckCli } from '../app/check/cli';
import { runReviewCli } from '../app/review/cli';
import { USAGE_ERROR } from '../app/shared/command';
import { runSynth } from '../app/synth-cli';

/** Every command reads its command line the same way: help is 0, a flag to fix is 2 with commander's reason. */
const repoDir = path.resolve(__dirname, '..');

function captured(): { io: { out: (s: string) => void; err: (s: string) => void }; text: () => string } {
  const lines: string[] = [];
  return { io: { out: (s) => lines.push(s), err: (s) => lines.push(s) }, text: () => lines.join('\n') };
}

const commands: [string, (argv: string[], io: ReturnType<typeof captured>['io']) => number][] = [
  ['synth', (argv, io) => runSynth(argv, io)],
  ['check', (argv, io) => runCheckCli(argv, io)],
  ['review', (argv, io) => runReviewCli(argv, { cwd: repoDir, repoDir, io })],
];

test('the usage error code is 2, apart from 1 for a command that ran and failed', () => {
  expect(USAGE_ERROR).toBe(2);
});

test.each(commands)('%s: an unknown flag exits 2 and names the flag', (_name, run) => {
  const { io, text } = captured();
  expect(run(['--no-such-flag'], io)).toBe(USAGE_ERROR);
  expect(text()).toMatch(/unknown option '--no-such-flag'/);
});

test.each(commands)('%s: --help exits 0 and prints the usage', (_name, run) => {
  const { io, text } = captured();
  expect(run(['--help'], io)).toBe(0);
  expect(text()).toMatch(/^Usage: /m);
});
