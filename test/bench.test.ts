import { fitLine, median } from '../app/bench';

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
