/** The stack's concerns name its files: a two-digit phase number, then the concern (SPEC: dist/<env>/NN-<concern>.yaml). */
import { CONCERNS_IN_ORDER, concernFileName, isStackConcern } from '../constructs/shared/concerns';

test('each concern writes NN-<concern>.yaml, the number padded to two digits', () => {
  expect(concernFileName('namespace')).toBe('00-namespace.yaml');
  expect(concernFileName('api')).toBe('40-api.yaml');
  expect(CONCERNS_IN_ORDER.map(concernFileName)).toEqual([...CONCERNS_IN_ORDER.map(concernFileName)].sort());
});

test('only the stack\'s concerns are concerns, not what every object inherits', () => {
  expect(isStackConcern('api')).toBe(true);
  expect(isStackConcern('toString')).toBe(false);
  expect(isStackConcern('admin-panel')).toBe(false);
});
