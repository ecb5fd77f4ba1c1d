import { Testing } from 'cdk8s';
import { HoneydueConfigMap, honeydueConfigMapProblems, HoneydueNamespace } from '../constructs';
import { find, synthOf, PRODUCTION } from './helpers';

describe('HoneydueConfigMap', () => {
  const build = (data: Record<string, string>) => {
    let configMap: HoneydueConfigMap | undefined;
    const objects = synthOf((chart) => { configMap = new HoneydueConfigMap(chart, 'config', { name: PRODUCTION.configMapName, data }); });
    return { objects, hash: configMap!.contentHash, data: configMap!.data };
  };

  test('ConfigMap honeydue-config in honeydue with the entries, sorted', () => {
    const { objects } = build({ SMTP: 'b', DB_HOST: 'a' });
    const configMap = find(objects, 'ConfigMap', 'honeydue-config');
    expect(configMap.metadata.namespace).toBe('honeydue');
    expect(Object.keys(configMap.data)).toEqual(['DB_HOST', 'SMTP']);
  });

  test("an explicit namespace wins over the Chart's", () => {
    let configMap: HoneydueConfigMap | undefined;
    const objects = synthOf((chart) => { configMap = new HoneydueConfigMap(chart, 'config', { name: 'shop-config', namespace: 'shop', data: { DB_HOST: 'a' } }); });
    expect(find(objects, 'ConfigMap', 'shop-config').metadata.namespace).toBe('shop');
    expect(configMap!.namespace).toBe('shop');
  });

  test('entries given in any order are written sorted, and hash alike', () => {
    const reversed = build({ Z: '1', M: '2', A: '3' });
    expect(Object.keys(find(reversed.objects, 'ConfigMap', 'honeydue-config').data)).toEqual(['A', 'M', 'Z']);
    expect(Object.keys(reversed.data)).toEqual(['A', 'M', 'Z']);
    expect(reversed.hash).toBe(build({ A: '3', M: '2', Z: '1' }).hash);
    expect(reversed.hash).toBe(build({ M: '2', Z: '1', A: '3' }).hash);
  });

  test('the content hash follows the content, not the key order', () => {
    expect(build({ A: '1', B: '2' }).hash).toBe(build({ B: '2', A: '1' }).hash);
    expect(build({ A: '1', B: '2' }).hash).not.toBe(build({ A: '1', B: '3' }).hash);
  });

  test('fails with a key that is not an env var name', () => {
    expect(() => build({ 'DB-HOST': 'x' })).toThrow(/HoneydueConfigMap: data.DB-HOST: 'DB-HOST' is not an environment variable name/);
  });

  test('fails with a name that is no DNS label, naming the prop', () => {
    expect(() => synthOf((chart) => new HoneydueConfigMap(chart, 'config', { name: 'Honey_Config', data: {} }))).toThrow(/HoneydueConfigMap: name: 'Honey_Config'/);
  });

  test('fails outside a namespaced Chart without a namespace, naming HoneydueConfigMap', () => {
    expect(() => new HoneydueConfigMap(Testing.chart(), 'config', { name: 'config', data: {} })).toThrow(/HoneydueConfigMap: namespace: not set/);
  });

  test('fails with a non-string value', () => {
    expect(() => build({ PORT: 587 as unknown as string })).toThrow(/data.PORT: 587 must be a string; quote numbers/);
  });

  test('a data that is not a mapping (a JavaScript caller) is left to the type checker (or the config schema): the rules judge no entry of it', () => {
    expect(honeydueConfigMapProblems({ name: 'honeydue-config', data: ['DB_HOST'] as unknown as Record<string, string> }, 'honeydue')).toEqual([]);
    expect(honeydueConfigMapProblems({ name: 'honeydue-config', data: undefined as unknown as Record<string, string> }, 'honeydue')).toEqual([]);
  });
});

describe('HoneydueNamespace', () => {
  test('honeydue, labelled for Pod Security Admission restricted', () => {
    const ns = find(synthOf((chart) => new HoneydueNamespace(chart, 'ns', { name: PRODUCTION.namespace })), 'Namespace', 'honeydue');
    expect(ns.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
  });

  test('fails with an invalid name', () => {
    expect(() => synthOf((chart) => new HoneydueNamespace(chart, 'ns', { name: 'honey.due' }))).toThrow(/HoneydueNamespace: name: 'honey.due'/);
  });
});
