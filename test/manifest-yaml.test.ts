/**
 * app/shared/manifest-yaml.ts writes what cdk8s's Yaml.stringify writes, byte for byte:
 * on every object every environment synthesizes, and on strings, numbers and shapes
 * chosen to trip YAML's quoting, in every position a value can take.
 */
import * as path from 'path';
import { Yaml } from 'cdk8s';
import { listEnvironments } from '../app/config';
import { renderEnvironment } from '../app/synth';
import { manifestYaml } from '../app/shared/manifest-yaml';

const CONFIG = path.join(__dirname, '..', 'config');

test.each(listEnvironments(CONFIG))('every file of %s is written as Yaml.stringify writes it', (env) => {
  const files = renderEnvironment(env, { configDir: CONFIG, log: () => undefined });
  expect(files.length).toBeGreaterThan(5);
  for (const file of files) expect(manifestYaml(...file.objects)).toBe(Yaml.stringify(...file.objects));
});

/** Strings YAML 1.1 reads as something else, or can only write quoted or as a block. */
const TRICKY = [
  '', ' ', 'a', 'y', 'Y', 'n', 'yes', 'No', 'ON', 'off', 'true', 'False', 'null', 'Null', 'NULL', '~', '-', '--', '---', '...',
  '80', '-1', '+1', '0.5', '.5', '1e3', '1E3', '0x1f', '0o7', '012', '1_000', '12:30', '1:20:30', '2001-12-14', '2001-12-14t21:59:43.10-05:00',
  '.inf', '-.Inf', '.NaN', 'inf', 'nan', 'Infinity', '=', '<<', '@x', '`x', '!x', '&x', '*x', '%x', '|x', '>x', '?x', '? x', '- x', '-x', '#x', 'a #b', 'a# b',
  'x:', 'x: y', 'x:y', 'http://a.b/c?d=1&e=f#g', 'registry.example/app:abc1234', 'a:b:c', ':x', 'a,b', '[a]', '{a}', 'a]', 'a}', 'a"b', "a'b", '"a"', "'a'",
  'a b', ' a', 'a ', 'a\tb', '\ta', 'é', '日本', '\u0085', '\u00a0a', '\u2028', 'a\\b', '/api/health/', '/', '//x', '_', '_x', 'x.', 'x-', 'x/',
  '64Mi', '500m', '1E', '1e', '0.5Gi', '1e5Gi', '0x5Mi', '0.0.0.0', '0.0.0.0/0', '10.42.0.0/16', '237c6b8', '1234567', '0b101', '0b102', '0o17', '0x1F', '1_0',
  '1:30', '190:20:30.15', '1:70', '2001-1-1', '2001-01-01 10:00:00', '-c', '-x=1', '--flag=:8429', '+x', '+1', '-.5', '.x', '..', 'x=', '=x', 'a/b=c:d',
  'a\nb', 'a\nb\n', 'a\n\n', '\na', ' a\nb', 'a\n b\n', 'a \nb', 'a\n\nb\n', 'a\r\nb', 'line\n  indented\n', '#!/bin/sh\nset -eu\nexec "$@"\n', 'a\n\n\n',
];
const NUMBERS = [0, 1, -1, 42, 2 ** 53 - 1, 2 ** 53, -0, 0.5, -1.25, 1e21, 1e-7, Number.MAX_VALUE];

/** Every position a value can take: a top-level key's, nested, in a list, in a list in a list, in a map in a list. */
function placements(value: unknown): unknown[] {
  return [
    { v: value },
    { a: { b: { v: value } } },
    { a: [value] },
    { a: [value, 'x'] },
    { a: [[value, 1], [2, [value]]] },
    { a: [{ v: value, w: value }, { x: [value] }] },
    { a: { b: [{ c: { v: value } }] } },
  ];
}

test('strings and numbers that need quoting or a block, in every position, are written as Yaml.stringify writes them', () => {
  for (const value of [...TRICKY, ...NUMBERS, true, false, null, [], {}]) {
    for (const doc of placements(value)) expect(manifestYaml(doc)).toBe(Yaml.stringify(doc));
  }
});

test('random strings of the characters YAML gives a meaning to', () => {
  // A fixed seed: the same strings on every run, and many of them.
  let seed = 13;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const alphabet = ['a', 'Z', 'e', 'E', 'x', 'b', 'o', 'M', 'i', '0', '1', '7', '9', ' ', ':', '-', '.', '/', '#', '"', "'", '\n', '\t', ',', '[', '{', '&', '*', '!', '|', '>', '?', '@', '%', '`', '~', '=', '_', '+', 'é'];
  for (let i = 0; i < 1000; i++) {
    const length = 1 + Math.floor(random() * 8);
    const value = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    // Three positions of the seven: at the top of a map, in a list in a list, in a map in a list.
    for (const doc of [0, 4, 5].map((i) => placements(value)[i])) expect([value, manifestYaml(doc)]).toEqual([value, Yaml.stringify(doc)]);
  }
});

test('documents the block writer leaves to yaml whole are still written as Yaml.stringify writes them', () => {
  const shared = { name: 'the same object twice' };
  const docs: unknown[] = [
    { a: shared, b: [shared] },
    { 'needs quoting': 1 },
    { '80': 'http' },
    { yes: 'a key YAML 1.1 reads as true' },
    { a: undefined, b: 1 },
    { a: new Date(0) },
    ['a list at the top'],
    'a string document',
    42,
    null,
    {},
  ];
  for (const doc of docs) expect(manifestYaml(doc)).toBe(Yaml.stringify(doc));
  expect(manifestYaml({ a: 1 }, undefined, { b: [1, 2] })).toBe(Yaml.stringify({ a: 1 }, undefined, { b: [1, 2] }));
});
