import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import { fingerprint } from './helpers';
import { runSynth } from '../app/synth-cli';
import { BAD_INPUTS } from './bad-inputs';

const ROOT = path.join(__dirname, '..');
const productionYaml = fs.readFileSync(path.join(ROOT, 'config', 'production.yaml'), 'utf8');


/** Runs the synth command against a config folder, capturing what the operator would read. */
function synth(configDir: string, outDir: string) {
  const lines: string[] = [];
  const exitCode = runSynth(['--config', configDir, '--out', outDir], { out: () => undefined, err: (line) => lines.push(line) });
  return { exitCode, stderr: lines.join('\n') };
}

/** One config folder holding production's file, and where it is synthesized to. */
function workspace(dir: string) {
  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  fs.writeFileSync(path.join(configDir, 'production.yaml'), productionYaml);
  return { configDir, outDir: path.join(dir, 'dist') };
}

// The output of production's unchanged config, synthesized once: each case starts from a copy of it
// (the same bytes a synth of its own would write) instead of paying for a synth of its own. The first
// test that needs it makes it, not a beforeAll: `npm run mutate` credits a line to the tests that ran
// it, and a beforeAll runs outside every test (each case runs a synth of its own besides).
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-bad-'));
let synthesized: { exitCode: number; stderr: string; outDir: string } | undefined;
function baseline() {
  if (!synthesized) {
    const { configDir, outDir } = workspace(path.join(scratch, 'baseline'));
    synthesized = { ...synth(configDir, outDir), outDir };
  }
  return synthesized;
}
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('the corpus holds at least 25 invalid inputs', () => {
  expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(25);
});

test("production's unchanged config, which every case changes, synthesizes", () => {
  expect(baseline().stderr).toBe('');
  expect(baseline().exitCode).toBe(0);
});

describe.each(BAD_INPUTS)('synth fails with $name', ({ change, message }) => {
  test('non-zero exit, the field and value named, dist/ byte-identical', () => {
    const { configDir, outDir } = workspace(fs.mkdtempSync(path.join(scratch, 'case-')));
    fs.cpSync(baseline().outDir, outDir, { recursive: true });
    const before = fingerprint(outDir);
    expect(before).toEqual(fingerprint(baseline().outDir));
    expect(Object.keys(before).length).toBeGreaterThan(0);

    let text: string;
    if (typeof change === 'string') {
      text = change;
    } else {
      const config = YAML.parse(productionYaml);
      change(config);
      text = YAML.stringify(config);
    }
    fs.writeFileSync(path.join(configDir, 'production.yaml'), text);
    const run = synth(configDir, outDir);

    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(fingerprint(outDir)).toEqual(before);
  });
});
