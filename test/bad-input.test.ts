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

test('the corpus holds at least 25 invalid inputs', () => {
  expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(25);
});

describe.each(BAD_INPUTS)('synth fails with $name', ({ change, message }) => {
  test('non-zero exit, the field and value named, dist/ byte-identical', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-bad-'));
    const configDir = path.join(dir, 'config');
    const outDir = path.join(dir, 'dist');
    fs.mkdirSync(configDir);
    fs.writeFileSync(path.join(configDir, 'production.yaml'), productionYaml);
    expect(synth(configDir, outDir).exitCode).toBe(0);
    const before = fingerprint(outDir);

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
