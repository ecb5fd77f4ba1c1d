/**
 * Reading Kubernetes manifests the way kubectl, the API server and the container
 * runtime do: the documents of a YAML text (the one parser: duplicate keys and
 * syntax errors refused, aliases bounded), the API group of an apiVersion, which built-in kinds are
 * cluster-scoped, where a workload keeps its pod template, which Secrets and
 * ConfigMaps a pod reads, the parts of an image reference, and the model of a
 * manifest object (built from a document by app/shared/manifest-object.ts). The
 * manifest check, the deploy, the review and the architecture picture all read
 * manifests through these, so they cannot disagree about what a manifest says.
 */
import { parseAllDocuments } from 'yaml';

/** `apps/v1` -> `apps`; `v1` -> '' (the core group, which has no name in apiVersion). */
export function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** `apps/v1` -> `v1`; `v1` -> `v1`. */
export function apiVersionOnly(apiVersion: string): string {
  return apiVersion.slice(apiVersion.indexOf('/') + 1);
}

export { isClusterScopedBuiltin } from '../constructs/shared/cluster-scope';

/** One document of a manifest file, kept with the file: normally a Kubernetes object, but anything YAML can hold. */
export interface ManifestDocument {
  /** The file as the reader names it in messages, e.g. `dist/production/40-api.yaml`. */
  readonly file: string;
  /** The parsed document. */
  readonly object: unknown;
}

/** One Kubernetes object of a manifest, its identity read once. */
export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  /** API group ('' for the core group): live objects are matched on group and kind, not version. */
  readonly group: string;
  readonly name: string;
  /** Unset for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * The file the object came from: its base name for the deploy and the review
   * (`40-api.yaml`), the path its findings show for the check.
   */
  readonly file: string;
  /** The whole object as synthesized. */
  readonly manifest: Readonly<Record<string, unknown>>;
}

/**
 * Where each built-in kind keeps the template of the pods it runs, by
 * `group/Kind`. A CronJob nests it one level deeper, in its Job template.
 */
const POD_TEMPLATE_ROUTES: Readonly<Record<string, readonly string[]>> = {
  'apps/Deployment': ['spec', 'template'],
  'apps/StatefulSet': ['spec', 'template'],
  'apps/DaemonSet': ['spec', 'template'],
  'apps/ReplicaSet': ['spec', 'template'],
  '/ReplicationController': ['spec', 'template'],
  'batch/Job': ['spec', 'template'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template'],
  '/PodTemplate': ['template'],
};

/** The pod definition of an object: a workload's template, or a Pod itself. */
export interface PodTemplateAt {
  /** The template's metadata (labels, annotations); undefined when absent. */
  readonly metadata: unknown;
  /** The PodSpec; undefined when absent. */
  readonly spec: unknown;
  /** Keys from the object to the template (`['spec', 'template']`); `[]` for a Pod, which is its own template. */
  readonly route: readonly string[];
  /** Jobs and CronJobs run their pods to completion, so no readiness or liveness is expected of them. */
  readonly runsToCompletion: boolean;
  /** False for a PodTemplate object: it stores a template for others to use and runs no pod itself. */
  readonly runsPods: boolean;
}

/**
 * The pod template of a built-in workload (or the Pod itself), found by API
 * group and kind; undefined for every other kind and for anything that is not
 * an object with a string apiVersion and kind.
 */
export function podTemplateOf(object: unknown): PodTemplateAt | undefined {
  if (!isRecord(object) || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') return undefined;
  const group = apiGroupOf(object.apiVersion);
  if (group === '' && object.kind === 'Pod') {
    return { metadata: object.metadata, spec: object.spec, route: [], runsToCompletion: false, runsPods: true };
  }
  const route = POD_TEMPLATE_ROUTES[`${group}/${object.kind}`];
  if (route === undefined) return undefined;
  let node: unknown = object;
  for (const key of route) node = isRecord(node) ? node[key] : undefined;
  const template = isRecord(node) ? node : {};
  return {
    metadata: template.metadata,
    spec: template.spec,
    route,
    runsToCompletion: group === 'batch',
    runsPods: !(group === '' && object.kind === 'PodTemplate'),
  };
}

/** A Secret or ConfigMap a pod reads: all of it, or one key of it. */
export interface PodRead {
  readonly kind: 'Secret' | 'ConfigMap';
  readonly name: string;
  /** The key read; undefined when the whole object is read (envFrom, a volume without items, a pull Secret). */
  readonly key?: string;
  /** The reference is optional: the pod starts without it. */
  readonly optional: boolean;
  /**
   * How the pod reads it: an environment variable (`env`), all its keys as
   * variables (`envFrom`), files of a volume (`volume`, a projected one too),
   * or the credentials the images are pulled with (`pull`).
   */
  readonly via: 'env' | 'envFrom' | 'volume' | 'pull';
}

/** The parts of a PodSpec that name Secrets and ConfigMaps. */
interface PodSpecReads {
  readonly containers?: readonly ContainerReads[];
  readonly initContainers?: readonly ContainerReads[];
  readonly volumes?: ReadonlyArray<{
    readonly secret?: VolumeSource;
    readonly configMap?: VolumeSource;
    readonly projected?: { readonly sources?: ReadonlyArray<{ readonly secret?: VolumeSource; readonly configMap?: VolumeSource }> };
  }>;
  readonly imagePullSecrets?: ReadonlyArray<{ readonly name?: string }>;
}

interface ContainerReads {
  readonly env?: ReadonlyArray<{ readonly valueFrom?: { readonly secretKeyRef?: Reference; readonly configMapKeyRef?: Reference } }>;
  readonly envFrom?: ReadonlyArray<{ readonly secretRef?: Reference; readonly configMapRef?: Reference }>;
}

interface Reference {
  readonly name?: string;
  readonly key?: string;
  readonly optional?: boolean;
}

interface VolumeSource {
  readonly name?: string;
  readonly secretName?: string;
  readonly optional?: boolean;
  readonly items?: ReadonlyArray<{ readonly key?: string }>;
}

/**
 * Every Secret and ConfigMap (or key of one) a PodSpec reads, in the order the
 * spec names them: each container's `env` and `envFrom` (init containers
 * after the others), then the volumes (projected sources too), then the
 * image pull Secrets. A reference without a name is left out: the API server
 * refuses it, so it reads nothing.
 */
export function podReads(podSpec: unknown): PodRead[] {
  if (!isRecord(podSpec)) return [];
  const spec = podSpec as PodSpecReads;
  const reads: PodRead[] = [];
  const add = (kind: PodRead['kind'], via: PodRead['via'], name: string | undefined, key: string | undefined, optional: boolean | undefined): void => {
    if (name !== undefined) reads.push({ kind, name, key, optional: optional === true, via });
  };
  // A Secret volume names its Secret `secretName`; a projected Secret source and every ConfigMap source say `name`.
  const fromVolume = (kind: PodRead['kind'], source: VolumeSource | undefined, name: string | undefined): void => {
    if (source === undefined) return;
    if (source.items === undefined || source.items.length === 0) add(kind, 'volume', name, undefined, source.optional);
    else for (const item of source.items) add(kind, 'volume', name, item.key, source.optional);
  };
  for (const container of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const variable of container.env ?? []) {
      const secret = variable.valueFrom?.secretKeyRef;
      const configMap = variable.valueFrom?.configMapKeyRef;
      if (secret !== undefined) add('Secret', 'env', secret.name, secret.key, secret.optional);
      if (configMap !== undefined) add('ConfigMap', 'env', configMap.name, configMap.key, configMap.optional);
    }
    for (const source of container.envFrom ?? []) {
      if (source.secretRef !== undefined) add('Secret', 'envFrom', source.secretRef.name, undefined, source.secretRef.optional);
      if (source.configMapRef !== undefined) add('ConfigMap', 'envFrom', source.configMapRef.name, undefined, source.configMapRef.optional);
    }
  }
  for (const volume of spec.volumes ?? []) {
    fromVolume('Secret', volume.secret, volume.secret?.secretName);
    fromVolume('ConfigMap', volume.configMap, volume.configMap?.name);
    for (const projected of volume.projected?.sources ?? []) {
      fromVolume('Secret', projected.secret, projected.secret?.name);
      fromVolume('ConfigMap', projected.configMap, projected.configMap?.name);
    }
  }
  for (const pull of spec.imagePullSecrets ?? []) add('Secret', 'pull', pull.name, undefined, false);
  return reads;
}

/** The parts of a container image reference (`registry/repository:tag@digest`). */
export interface ImageReference {
  /** The registry host (with its port), or undefined for the default registry (`redis`, `bitnami/redis`). */
  readonly registry?: string;
  /** The repository path without the registry. */
  readonly repository: string;
  /** The tag; undefined when the reference names none (the runtime then pulls `latest`). */
  readonly tag?: string;
  /** The digest (`sha256:...`); undefined when the reference is not pinned. */
  readonly digest?: string;
}

/**
 * Splits an image reference as the container runtime does: the first path
 * component is a registry only when it has a `.` or a `:`, is `localhost`, or
 * has an upper-case letter (repository names cannot), so `bitnami/redis` is on
 * the default registry and `registry.local:5000/api` is not; the tag follows
 * the last `:` after the last `/`, and a digest follows `@`.
 */
export function parseImageReference(image: string): ImageReference {
  const at = image.indexOf('@');
  const digest = at < 0 ? undefined : image.slice(at + 1);
  const named = at < 0 ? image : image.slice(0, at);
  const slash = named.indexOf('/');
  const first = slash < 0 ? '' : named.slice(0, slash);
  const hasRegistry = slash >= 0 && (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase());
  const registry = hasRegistry ? first : undefined;
  const path = hasRegistry ? named.slice(slash + 1) : named;
  const colon = path.indexOf(':', path.lastIndexOf('/') + 1);
  return {
    registry,
    repository: colon < 0 ? path : path.slice(0, colon),
    tag: colon < 0 ? undefined : path.slice(colon + 1),
    digest,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A document of a YAML text that does not parse; `reason` is the parser's message, with line and column. */
export class YamlDocumentError extends Error {
  constructor(
    /** 1-based position of the document in the text. */
    readonly document: number,
    readonly reason: string,
  ) {
    super(`document ${document}: ${reason}`);
    this.name = 'YamlDocumentError';
  }
}

/** One non-empty document of a YAML text, as plain data. */
export interface YamlDocument {
  /** 1-based position of the document in the text (empty documents count). */
  readonly document: number;
  readonly value: unknown;
}

/**
 * The documents of a multi-document YAML text, as plain data. Empty documents
 * (a trailing `---`) are left out. The first syntax error or duplicate key
 * throws a {@link YamlDocumentError}: kubectl would reject the file, and a
 * duplicate key means one of its two values is silently lost.
 */
export function parseYamlDocuments(text: string): YamlDocument[] {
  const found: YamlDocument[] = [];
  parseAllDocuments(text, { prettyErrors: true }).forEach((document, index) => {
    const error = document.errors[0];
    if (error) throw new YamlDocumentError(index + 1, error.message);
    // Bounded aliases: a file of nested anchors (a "billion laughs") must not exhaust memory.
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value !== null && value !== undefined) found.push({ document: index + 1, value });
  });
  return found;
}

/**
 * Parses every document of a multi-document YAML text. Empty documents (a trailing
 * `---`) are skipped; a syntax error or duplicate key throws, naming the file and line.
 */
export function parseManifests(text: string, file: string): ManifestDocument[] {
  try {
    return parseYamlDocuments(text).map(({ value }) => ({ file, object: value }));
  } catch (error) {
    if (error instanceof YamlDocumentError) throw new Error(`${file}: ${error.reason}`);
    throw error;
  }
}
