/**
 * The entry of the start-up snapshot (see bin/run and bin/build-snapshot.js): the
 * commands bin/run starts from it, loaded, and their code run once, so that a
 * process started from the snapshot neither loads a module nor compiles what a
 * synth runs.
 *
 * bin/build-snapshot.js bundles this file and provides its two generated modules:
 * `snapshot:entries` (each entry bin/run lists, by its path from the repository)
 * and `snapshot:models` (the kubernetes-models kinds dist/ holds, which a process
 * started from the snapshot could otherwise only load on first use).
 *
 * Nothing read here from a file outlives the warm-up: configs, CRDs and dist/ are
 * read again by every run. The warm-up only compiles code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startupSnapshot } from 'node:v8';
import { provideModels } from '../app/check/builtin-schema';
import { runSynth } from '../app/synth-cli';

/** An entry of the snapshot: a module that exports `main`, as bin/run.js calls it. */
type Entry = { main(argv: string[]): void };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const entries: Record<string, Entry> = require('snapshot:entries');
// eslint-disable-next-line @typescript-eslint/no-require-imports
provideModels(require('snapshot:models'));

const ROOT = resolve(__dirname, '..');

/** A synth of every environment into a scratch folder, its output dropped: what every command runs first, compiled now. */
function warmUp(): void {
  const scratch = mkdtempSync(join(tmpdir(), 'honeydue-snapshot-'));
  try {
    runSynth(['--out', join(scratch, 'dist')], { out: () => undefined, err: () => undefined });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

warmUp();

startupSnapshot.setDeserializeMainFunction(() => {
  // bin/run passes the entry's path from the repository, then the command's arguments.
  const [entry, ...args] = process.argv.slice(1);
  // As bin/run.js does: the command sees its entry as the script that was run.
  process.argv = [process.argv[0], join(ROOT, entry), ...args];
  entries[entry].main(args);
});
