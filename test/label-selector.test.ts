import { labelSelectorMatches } from '../manifest-check/label-selector';

const pod = { 'app.kubernetes.io/name': 'api', tier: 'backend' };

test('an empty selector selects every pod; matchLabels needs each pair', () => {
  expect(labelSelectorMatches({}, pod)).toBe(true);
  expect(labelSelectorMatches({ matchLabels: { 'app.kubernetes.io/name': 'api' } }, pod)).toBe(true);
  expect(labelSelectorMatches({ matchLabels: { 'app.kubernetes.io/name': 'api', tier: 'web' } }, pod)).toBe(false);
  expect(labelSelectorMatches({ matchLabels: { constructor: 'x' } }, pod)).toBe(false);
});

test.each([
  ['In', ['api', 'worker'], true],
  ['In', ['worker'], false],
  ['NotIn', ['worker'], true],
  ['NotIn', ['api'], false],
  ['Exists', undefined, true],
  ['DoesNotExist', undefined, false],
  ['Matches', ['api'], false],
])('matchExpressions %s %j on app.kubernetes.io/name=api: %s', (operator, values, selected) => {
  expect(labelSelectorMatches({ matchExpressions: [{ key: 'app.kubernetes.io/name', operator, values }] }, pod)).toBe(selected);
});

test('an absent key: NotIn and DoesNotExist hold, In and Exists do not', () => {
  const expression = (operator: string) => ({ matchExpressions: [{ key: 'zone', operator, values: ['a'] }] });
  expect(['In', 'NotIn', 'Exists', 'DoesNotExist'].map((op) => labelSelectorMatches(expression(op), pod))).toEqual([false, true, false, true]);
});
