/**
 * Every synthesized object carries its environment in the `honeydue.io/environment`
 * label: the deploy's prune selects by it, so one environment's prune can never
 * delete another's objects (kube-system's HelmChartConfig included).
 */
import { App, Testing } from 'cdk8s';
import { HoneydueStack } from '../constructs';
import { listEnvironments } from '../app/config';
import { renderEnvironment } from '../app/synth';
import { PRODUCTION } from './helpers';

/** The key the deploy's prune selects by, as production's config names it. */
const LABEL_ENVIRONMENT = PRODUCTION.environmentLabel as string;

test('production\'s config names the label key honeydue.io/environment', () => {
  expect(LABEL_ENVIRONMENT).toBe('honeydue.io/environment');
});

test.each(listEnvironments().filter((env) => !env.startsWith('_')))('every object of %s carries its environment label', (env) => {
  const objects = renderEnvironment(env, { log: () => undefined }).flatMap((file) => file.objects);
  expect(objects.length).toBeGreaterThan(20);
  for (const object of objects) expect([object.kind, object.metadata.name, object.metadata.labels?.[LABEL_ENVIRONMENT]]).toEqual([object.kind, object.metadata.name, env]);
});

test('the label defaults to the construct id and follows the environment prop', () => {
  const labelsOf = (stack: HoneydueStack) =>
    new Set(stack.node.children.flatMap((chart) => Testing.synth(chart as any).map((o: any) => o.metadata.labels[LABEL_ENVIRONMENT])));
  expect(labelsOf(new HoneydueStack(Testing.app(), 'qa', { ...PRODUCTION, imageTag: 'abc1234' }))).toEqual(new Set(['qa']));
  expect(labelsOf(new HoneydueStack(new App(), 'qa', { ...PRODUCTION, imageTag: 'abc1234', environment: 'preview-7' }))).toEqual(new Set(['preview-7']));
});

test('the label stays off pod templates: adding it rolls no pod', () => {
  const objects = renderEnvironment('production', { log: () => undefined }).flatMap((file) => file.objects);
  const templates = objects.filter((o) => o.spec?.template?.metadata).map((o) => o.spec.template.metadata.labels ?? {});
  expect(templates.length).toBeGreaterThan(3);
  for (const labels of templates) expect(labels[LABEL_ENVIRONMENT]).toBeUndefined();
});
