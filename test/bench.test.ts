import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Figure, fitLine, judgeTargets, median, parseArgs, scaleConfigDir, TARGETS } from '../app/bench';
import { listEnvironments } from '../app/config';
import { checkIsolation } from '../app/environments';
import { renderEnvironment } from '../app/synth';

test('median takes the middle run, or the mean of the two middle ones', () => {
  expect(median([30, 10, 20])).toBe(20);
  expect(median([40, 10, 30, 20])).toBe(25);
});

test('fitLine recovers a fixed cost plus a cost per object', () => {
  const fit = fitLine([
    { objects: 20, medianMs: 50 + 20 * 0.5 },
    { objects: 200, medianMs: 50 + 200 * 0.5 },
    { objects: 1000, medianMs: 50 + 1000 * 0.5 },
  ]);
  expect(fit.fixedMs).toBeCloseTo(50);
  expect(fit.perObjectMs).toBeCloseTo(0.5);
  expect(fit.r2).toBeCloseTo(1);
});

test("the scale run's environments each hold their own data, so synth accepts them, and render what production renders but Traefik's", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-bench-'));
  try {
    const configDir = scaleConfigDir(root, 50);
    expect(listEnvironments(configDir)).toHaveLength(50);
    // No share at all, declared or not, between any two of the 50.
    expect(checkIsolation({ configDir })).toEqual([]);
    const count = (env: string) => renderEnvironment(env, { configDir, log: () => undefined }).reduce((n, f) => n + f.objects.length, 0);
    // The cluster's one kube-system/traefik HelmChartConfig stays production's.
    expect(count('scale-050')).toBe(count('production') - 1);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

const runs = (medianMs: number): Figure => ({ medianMs, runsMs: [medianMs] });

describe('the targets are judged from the figures of the run itself', () => {
  test('figures within every target: each met, with the figure it was judged on', () => {
    const verdicts = judgeTargets({ npmSynth: runs(400), editedSynth: runs(900), kustomize: runs(100), deployDryRun: runs(1300), npmTest: runs(18_000) });
    expect(verdicts.map((v) => [v.measured, v.verdict])).toEqual([
      ['0.400 s', 'met'],
      ['4.00x', 'met'],
      ['9.00x', 'met'],
      ['+0.900 s', 'met'],
      ['18.000 s', 'met'],
    ]);
    expect(verdicts[0].target).toBe(`\`npm run synth\` at most ${TARGETS.synthSeconds} s (median)`);
  });

  test('a figure past its target is NOT met; the bounds themselves are met', () => {
    expect(judgeTargets({ npmSynth: runs(801), editedSynth: runs(1001), kustomize: runs(100), deployDryRun: runs(1802), npmTest: runs(20_001) }).map((v) => [v.measured, v.verdict])).toEqual([
      ['0.801 s', 'NOT met'],
      ['8.01x', 'NOT met'],
      ['10.01x', 'NOT met'],
      ['+1.001 s', 'NOT met'],
      ['20.001 s', 'NOT met'],
    ]);
    expect(judgeTargets({ npmSynth: runs(500), editedSynth: runs(625), kustomize: runs(62.5), deployDryRun: runs(1500), npmTest: runs(20_000) }).map((v) => [v.measured, v.verdict])).toEqual([
      ['0.500 s', 'met'],
      ['8.00x', 'met'],
      ['10.00x', 'met'],
      ['+1.000 s', 'met'],
      ['20.000 s', 'met'],
    ]);
  });

  test('a figure that could not be measured leaves its targets not judged, with the reason, and the others judged', () => {
    const noKubectl: Figure = { missing: 'kubectl could not start: spawnSync kubectl ENOENT; is it installed and on PATH?' };
    const verdicts = judgeTargets({ npmSynth: runs(450), editedSynth: runs(600), kustomize: noKubectl, deployDryRun: runs(300), npmTest: { missing: 'not run' } });
    expect(verdicts.map((v) => [v.measured, v.verdict])).toEqual([
      ['0.450 s', 'met'],
      [`not measured: ${noKubectl.missing}`, 'not judged'],
      [`not measured: ${noKubectl.missing}`, 'not judged'],
      ['-0.150 s', 'met'],
      ['not measured: not run', 'not judged'],
    ]);
  });
});

test('bench options: --tests adds one npm test run; an unknown option names the ones there are', () => {
  expect(parseArgs([])).toEqual({ runs: 7, scale: [1, 10, 50], tests: false, write: true });
  expect(parseArgs(['--tests', '--runs', '3', '--no-write'])).toEqual({ runs: 3, scale: [1, 10, 50], tests: true, write: false });
  expect(() => parseArgs(['--fast'])).toThrow("unknown option '--fast'; use --runs N, --scale 1,10,50, --tests or --no-write");
});
