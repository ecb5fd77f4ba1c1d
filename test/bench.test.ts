import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fitLine, median, scaleConfigDir } from '../app/bench';
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

test("the scale run's environments each hold their own data, so synth accepts them, and render what production renders", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-bench-'));
  try {
    const configDir = scaleConfigDir(root, 50);
    expect(listEnvironments(configDir)).toHaveLength(50);
    // No share at all, declared or not, between any two of the 50.
    expect(checkIsolation({ configDir })).toEqual([]);
    const count = (env: string) => renderEnvironment(env, { configDir, log: () => undefined }).reduce((n, f) => n + f.objects.length, 0);
    expect(count('scale-050')).toBe(count('production'));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
