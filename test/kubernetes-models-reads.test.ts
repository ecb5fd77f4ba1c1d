/**
 * The gap between kubernetes-models' typings and its validators, which the schema rules
 * (check-schema.test.ts) close. Its own file: it starts a node process, so `npm run mutate`
 * leaves it out (test/mutate/jest.config.js); no mutant can reach a child process.
 */
import { execFileSync } from 'child_process';
import { join } from 'path';

test('kubernetes-models reads every field its typings declare, except the ones the checker declares back', () => {
  // Each model's .d.ts lists the schema's fields; its validator, run over an empty
  // recording object, reveals the ones it reads. Any gap is a field the checker
  // would wrongly call unknown. Read in a plain node process (see the script).
  const script = join(__dirname, 'fixtures', 'check', 'kubernetes-models-reads.js');
  const { typings, unread } = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8' })) as { typings: number; unread: string[] };
  expect(typings).toBeGreaterThan(800);
  expect(unread.sort()).toEqual([
    'apiextensions.k8s.io/v1/CustomResourceColumnDefinition.d.ts: description',
    'apiextensions.k8s.io/v1/ExternalDocumentation.d.ts: description',
    'apiextensions.k8s.io/v1/JSONSchemaProps.d.ts: description, x-kubernetes-embedded-resource, x-kubernetes-int-or-string, ' +
      'x-kubernetes-list-map-keys, x-kubernetes-list-type, x-kubernetes-map-type, x-kubernetes-preserve-unknown-fields, x-kubernetes-validations',
    'apiextensions.k8s.io/v1beta1/CustomResourceColumnDefinition.d.ts: description',
    'apiextensions.k8s.io/v1beta1/ExternalDocumentation.d.ts: description',
    'apiextensions.k8s.io/v1beta1/JSONSchemaProps.d.ts: description, x-kubernetes-embedded-resource, x-kubernetes-int-or-string, ' +
      'x-kubernetes-list-map-keys, x-kubernetes-list-type, x-kubernetes-map-type, x-kubernetes-preserve-unknown-fields',
    'scheduling.k8s.io/v1/PriorityClass.d.ts: description',
    'scheduling.k8s.io/v1beta1/PriorityClass.d.ts: description',
  ]);
});
