/**
 * The server-side apply takeover of objects production made by hand, and the
 * HPA handoff: what the preview says the apply removes must be what the real
 * API server removes.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { leaves } from '../../app/shared/object-paths';
import { DeployResult, kubeconfig, kubectlFor, TestEnvironment, useClusterFixtures } from './harness';

useClusterFixtures();
jest.setTimeout(240_000);

type Live = { metadata: Record<string, unknown>; [key: string]: unknown };

/** The fields a reader compares: what the server keeps for itself and kubectl's own annotation left out. */
function fields(object: Live): Map<string, string> {
  const { status: _s, ...rest } = object;
  const { managedFields: _m, resourceVersion: _r, generation: _g, uid: _u, creationTimestamp: _c, ...metadata } = object.metadata;
  const annotations = { ...((metadata.annotations as Record<string, string> | undefined) ?? {}) };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  delete annotations['deployment.kubernetes.io/revision'];
  return leaves({ ...rest, metadata: { ...metadata, annotations } });
}

/** Per `Kind/name`, the preview's "removed from the live object" lines. */
function previewRemovals(run: DeployResult): Map<string, string[]> {
  const removals = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of run.stdout.split('\n')) {
    const row = /^ {2}[ +~±-] +\S+ +\S+ +(\S+\/\S+)/.exec(line);
    if (row !== null) current = row[1];
    const removed = /^ {8}removed from the live object: (.+)$/.exec(line);
    if (removed !== null && current !== undefined) removals.set(current, [...(removals.get(current) ?? []), removed[1]]);
  }
  return removals;
}

function objectsOf(path: string): Live[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as Live);
}

describe('taking over what production made with client-side kubectl', () => {
  let env: TestEnvironment;
  beforeAll(() => {
    env = new TestEnvironment('takeover');
  });
  afterAll(() => env.remove());

  test('what the preview says the apply removes is what the API server removed', async () => {
    const dist = env.synth();
    const k = env.kubectl;
    const ns = env.namespace;
    // The namespace and the Secrets, as the operator made them.
    k(['apply', '-f', join(dist, '00-namespace.yaml')]);
    env.createSecrets();

    // The ConfigMap from an env file, as chapter 14 of the book made it: one key more than the release.
    const [configMap] = objectsOf(join(dist, '10-config.yaml'));
    const data = { ...(configMap.data as Record<string, string>), LEGACY_DEBUG: 'true' };
    const envFile = join(env.dir, 'config.env');
    writeFileSync(envFile, Object.entries(data).map(([key, value]) => `${key}=${value}`).join('\n'));
    const created = k(['-n', ns, 'create', 'configmap', 'honeydue-config', `--from-env-file=${envFile}`, '--dry-run=client', '-o', 'yaml']);
    k(['apply', '-f', '-'], created);

    // api and worker from hand-written YAML: a label and an env var the release no longer has.
    for (const file of ['40-api.yaml', '45-worker.yaml']) {
      const objects = objectsOf(join(dist, file)).map((object) => {
        if (object.kind !== 'Deployment') return object;
        (object.metadata.labels as Record<string, string>)['legacy-tier'] = 'backend';
        const container = (object.spec as any).template.spec.containers[0];
        container.env = [...(container.env ?? []), { name: 'LEGACY_FLAG', value: '1' }];
        return object;
      });
      const old = join(env.dir, `old-${file}`);
      writeFileSync(old, objects.map((object) => stringify(object)).join('---\n'));
      k(['apply', '-f', old]);
    }
    // Two hand edits: worker's with --save-config (kubectl-edit then owns the last-applied annotation,
    // so kubectl's takeover migrates kubectl-edit and not kubectl-client-side-apply), api's without.
    const editor = join(env.dir, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nsed -i "0,/^  labels:/s//  labels:\\n    edited-by: hand/" "$1"\n');
    chmodSync(editor, 0o755);
    const editing = kubectlFor(kubeconfig(), { KUBE_EDITOR: editor });
    expect(editing.try(['-n', ns, 'edit', 'deployment/worker', '--save-config'])).toMatchObject({ code: 0 });
    expect(editing.try(['-n', ns, 'edit', 'deployment/api'])).toMatchObject({ code: 0 });

    const watched = [
      ['configmap', 'honeydue-config', 'ConfigMap/honeydue-config'],
      ['deployment', 'api', 'Deployment/api'],
      ['deployment', 'worker', 'Deployment/worker'],
    ] as const;
    const before = new Map(watched.map(([kind, name, key]) => [key, fields(env.get<Live>(kind, name))]));

    const run = await env.deploy(env.release());

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\ntakeover: .*Deployment\/worker.* last written by .*kubectl-edit/);
    const said = previewRemovals(run);
    for (const [kind, name, key] of watched) {
      const after = fields(env.get<Live>(kind, name));
      const removed = [...(before.get(key) as Map<string, string>).keys()].filter((path) => !after.has(path)).sort();
      expect({ object: key, removed: (said.get(key) ?? []).sort() }).toEqual({ object: key, removed });
    }
    // What the server did, in the book's words: the env file's extra key went, the edit of worker went
    // (its manager was migrated), api's hand edit stayed (kubectl-edit kept it), and so did the legacy
    // label of worker, still owned by kubectl-client-side-apply, which no longer owns the annotation.
    expect(env.get<any>('configmap', 'honeydue-config').data.LEGACY_DEBUG).toBeUndefined();
    expect(env.get<any>('deployment', 'worker').metadata.labels['edited-by']).toBeUndefined();
    expect(env.get<any>('deployment', 'api').metadata.labels['edited-by']).toBe('hand');
    expect(env.get<any>('deployment', 'worker').metadata.labels['legacy-tier']).toBe('backend');
    expect(env.get<any>('deployment', 'api').metadata.labels['legacy-tier']).toBeUndefined();
  });
});

describe('handing api replicas to the HPA', () => {
  let env: TestEnvironment;
  const autoscaling: [readonly string[], unknown] = [['api', 'autoscaling'], { minReplicas: 3, maxReplicas: 6, cpuUtilization: 70, memoryUtilization: 80 }];
  beforeAll(async () => {
    env = new TestEnvironment('hpa');
    env.prepare();
    const first = await env.deploy(env.release());
    expect(first.code).toBe(0);
  });
  afterAll(() => env.remove());

  test('the preview warns that api would drop to one pod: the dry run answers 3 -> 1, not "removed"', async () => {
    env.writeConfig({ config: [autoscaling] });

    const previewed = await env.deploy(env.release(), { bare: true, env: {} });

    expect(previewed.code).toBe(1);
    expect(previewed.stdout).toContain('changed: spec.replicas: 3 -> 1');
    expect(previewed.stderr).toContain(`warning: ${env.namespace}/api loses spec.replicas (3 -> 1)`);
    expect(env.get<any>('deployment', 'api').spec.replicas).toBe(3);
  });

  test('after the documented handoff the deploy neither warns nor scales api down', async () => {
    const handoff = join(env.dir, 'api-replicas.yaml');
    writeFileSync(handoff, stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', namespace: env.namespace }, spec: { replicas: 3 } }));
    env.kubectl(['apply', '--server-side', '--field-manager=handover-to-hpa', '--validate=false', '-f', handoff]);

    const deployed = await env.deploy(env.release());

    expect(deployed.code).toBe(0);
    expect(deployed.stderr).not.toContain('loses spec.replicas');
    expect(env.get<any>('deployment', 'api').spec.replicas).toBe(3);
    expect(env.get<any>('horizontalpodautoscaler', 'api').spec.minReplicas).toBe(3);
  });
});
