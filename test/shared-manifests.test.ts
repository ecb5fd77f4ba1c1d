/** The manifest helpers the check, the deploy, the review and the architecture picture share read manifests as the cluster does. */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadManifests } from '../app/deploy/manifests';
import { secretNeeds } from '../app/deploy/secrets';
import type { ManifestObject } from '../app/shared/manifest-object';
import {
  apiGroupOf, apiVersionOnly, parseImageReference, parseManifests, parseYamlDocuments, podReads, podTemplateOf, YamlDocumentError,
} from '../manifest-check/manifests';

describe('API group and version', () => {
  test('the core group has no name; others are what precedes the slash', () => {
    expect([apiGroupOf('v1'), apiGroupOf('apps/v1'), apiGroupOf('traefik.io/v1alpha1')]).toEqual(['', 'apps', 'traefik.io']);
    expect([apiVersionOnly('v1'), apiVersionOnly('batch/v1')]).toEqual(['v1', 'v1']);
  });
});

describe('YAML documents', () => {
  test('empty documents are left out and the others keep their position in the text', () => {
    expect(parseYamlDocuments('---\na: 1\n---\n---\nb: 2\n')).toEqual([
      { document: 1, value: { a: 1 } },
      { document: 3, value: { b: 2 } },
    ]);
  });

  test('a duplicate key in the second document names that document', () => {
    let error: unknown;
    try {
      parseYamlDocuments('a: 1\n---\nb: 1\nb: 2\n');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(YamlDocumentError);
    expect((error as YamlDocumentError).document).toBe(2);
    expect((error as YamlDocumentError).reason).toMatch(/unique/i);
  });

  test('the check and the deploy refuse the same file with the same reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shared-manifests-'));
    try {
      const text = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n';
      writeFileSync(join(dir, '00-namespace.yaml'), text);
      let reason = '';
      try {
        parseYamlDocuments(text);
      } catch (error) {
        reason = (error as YamlDocumentError).reason;
      }
      expect(reason).toMatch(/unique/i);
      expect(() => parseManifests(text, 'ns.yaml')).toThrow(`ns.yaml: ${reason}`);
      expect(() => loadManifests(dir)).toThrow(`00-namespace.yaml document 1 is not valid YAML: ${reason}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pod templates', () => {
  const container = { name: 'app', image: 'app:1' };

  test('a CronJob keeps its pods one level deeper, in its Job template', () => {
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', spec: { jobTemplate: { spec: { template: { metadata: { labels: { a: 'b' } }, spec: { containers: [container] } } } } } };
    expect(podTemplateOf(cron)).toEqual({
      metadata: { labels: { a: 'b' } },
      spec: { containers: [container] },
      route: ['spec', 'jobTemplate', 'spec', 'template'],
      runsToCompletion: true,
      runsPods: true,
    });
  });

  test('a Pod is its own template', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [container] } };
    expect(podTemplateOf(pod)).toMatchObject({ route: [], spec: { containers: [container] }, runsToCompletion: false, runsPods: true });
  });

  test('a PodTemplate object holds a template but runs no pod', () => {
    const stored = { apiVersion: 'v1', kind: 'PodTemplate', template: { spec: { containers: [container] } } };
    expect(podTemplateOf(stored)).toMatchObject({ route: ['template'], runsPods: false });
  });

  test('the API group decides: a custom kind named Deployment has no pod template we know', () => {
    expect(podTemplateOf({ apiVersion: 'example.com/v1', kind: 'Deployment', spec: { template: { spec: {} } } })).toBeUndefined();
    expect(podTemplateOf({ apiVersion: 'apps/v1', kind: 'Deployment', spec: { template: { spec: {} } } })?.route).toEqual(['spec', 'template']);
  });
});

describe('what a pod reads', () => {
  test('every Secret and ConfigMap, by key where one is named, in the order the spec names them, with how it is read', () => {
    const spec = {
      containers: [{
        name: 'app',
        env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'a' } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'c', key: 'b', optional: true } } }],
        envFrom: [{ secretRef: { name: 'all' } }],
      }],
      initContainers: [{ name: 'init', envFrom: [{ configMapRef: { name: 'init-config' } }] }],
      volumes: [
        { name: 'tls', secret: { secretName: 'tls', items: [{ key: 'tls.crt', path: 'crt' }] } },
        { name: 'p', projected: { sources: [{ secret: { name: 'token', optional: true } }, { configMap: { name: 'ca' } }] } },
      ],
      imagePullSecrets: [{ name: 'pull' }],
    };
    expect(podReads(spec)).toEqual([
      { kind: 'Secret', name: 's', key: 'a', optional: false, via: 'env' },
      { kind: 'ConfigMap', name: 'c', key: 'b', optional: true, via: 'env' },
      { kind: 'Secret', name: 'all', key: undefined, optional: false, via: 'envFrom' },
      { kind: 'ConfigMap', name: 'init-config', key: undefined, optional: false, via: 'envFrom' },
      { kind: 'Secret', name: 'tls', key: 'tls.crt', optional: false, via: 'volume' },
      { kind: 'Secret', name: 'token', key: undefined, optional: true, via: 'volume' },
      { kind: 'ConfigMap', name: 'ca', key: undefined, optional: false, via: 'volume' },
      { kind: 'Secret', name: 'pull', key: undefined, optional: false, via: 'pull' },
    ]);
  });

  test('a Secret volume is named by secretName, as the API reads it; nothing is read from what is not a pod spec', () => {
    expect(podReads({ volumes: [{ name: 'v', secret: { name: 'not-the-field' } }] })).toEqual([]);
    expect([podReads(undefined), podReads('spec'), podReads([])]).toEqual([[], [], []]);
  });
});

describe('image references', () => {
  test('a first component with a dot or a port is a registry; a plain owner is on the default registry', () => {
    expect(parseImageReference('registry.local:5000/api:3f2c9e1')).toEqual({ registry: 'registry.local:5000', repository: 'api', tag: '3f2c9e1', digest: undefined });
    expect(parseImageReference('gitea.example.com/admin/honeydue-api:abc1234')).toMatchObject({ registry: 'gitea.example.com', repository: 'admin/honeydue-api', tag: 'abc1234' });
    expect(parseImageReference('bitnami/redis:7')).toEqual({ registry: undefined, repository: 'bitnami/redis', tag: '7', digest: undefined });
  });

  test('localhost and an upper-case first component are registries, as the container runtime reads them', () => {
    expect(parseImageReference('localhost/api:1').registry).toBe('localhost');
    expect(parseImageReference('MyRegistry/api:1').registry).toBe('MyRegistry');
  });

  test('no tag, and a digest pin with or without a tag', () => {
    expect(parseImageReference('redis')).toEqual({ registry: undefined, repository: 'redis', tag: undefined, digest: undefined });
    expect(parseImageReference('redis@sha256:0123abcd')).toMatchObject({ repository: 'redis', tag: undefined, digest: 'sha256:0123abcd' });
    expect(parseImageReference('registry.local:5000/redis:7@sha256:0123abcd')).toEqual({ registry: 'registry.local:5000', repository: 'redis', tag: '7', digest: 'sha256:0123abcd' });
  });
});

describe('the deploy\'s Secret preflight reads pod templates and images through them', () => {
  const object = (apiVersion: string, kind: string, manifest: Record<string, unknown>): ManifestObject => ({
    apiVersion, kind, group: apiGroupOf(apiVersion), name: kind.toLowerCase(), namespace: 'shop', labels: {}, file: 'app.yaml',
    manifest: { apiVersion, kind, metadata: { name: kind.toLowerCase(), namespace: 'shop' }, ...manifest },
  });
  const needs = (...objects: ManifestObject[]) => secretNeeds({ dir: 'dist/shop', files: [], objects });
  const envFromSecret = (name: string) => ({ containers: [{ name: 'app', image: 'app:1', envFrom: [{ secretRef: { name } }] }] });

  test('a ReplicaSet\'s pods need their Secrets; a PodTemplate object runs no pod, so its Secrets are not needed', () => {
    const found = needs(
      object('apps/v1', 'ReplicaSet', { spec: { template: { spec: envFromSecret('replica-secrets') } } }),
      object('v1', 'PodTemplate', { template: { spec: envFromSecret('stored-secrets') } }),
    );
    expect(found.map((need) => need.name)).toEqual(['replica-secrets']);
  });

  test('a pull Secret learns the registry of an image on localhost', () => {
    const pod = { imagePullSecrets: [{ name: 'pull' }], containers: [{ name: 'app', image: 'localhost:5000/app:1' }, { name: 'side', image: 'localhost/side:1' }] };
    const [pull] = needs(object('apps/v1', 'Deployment', { spec: { template: { spec: pod } } }));
    expect([...pull.registries].sort()).toEqual(['localhost', 'localhost:5000']);
  });
});
