/**
 * The one model of a manifest: the Kubernetes objects of a YAML text (parsed by
 * manifest-check/manifests.ts) with their identity (group, kind,
 * namespace, name) and the file they came from. The manifest check, the
 * deploy, the review and the architecture picture all read manifests as these,
 * so they agree on what a file holds and on how an object is named.
 */
import { apiGroupOf, isClusterScopedBuiltin, parseYamlDocuments, YamlDocumentError, type ManifestDocument, type ManifestObject } from '../../manifest-check/manifests';
import { StackError } from './stack-error';

// The document and the object live with the manifest check, which the package ships.
export type { ManifestDocument, ManifestObject };

/** One file of a stack directory and its objects. */
export interface ManifestFile {
  /** Base name, e.g. `api.yaml` or `40-api.yaml`. */
  readonly name: string;
  /** The name in the deploy's phases (`api.yaml`, see phaseName). */
  readonly phaseName: string;
  /** Path as given to kubectl (relative to the working directory when it can be). */
  readonly path: string;
  readonly objects: readonly ManifestObject[];
}

/** The objects of one environment's stack: a synthesized directory, or one side of a review. */
export interface StackManifests {
  readonly dir: string;
  /** Present files, in deploy order (none when the objects were not read from a directory). */
  readonly files: readonly ManifestFile[];
  readonly objects: readonly ManifestObject[];
}

/**
 * The objects of one manifest file's text, as the deploy reads them (the
 * review reads the dist/ of a git revision, which is no file on disk, through
 * this too, so both agree on what a file holds).
 *
 * @param where names the file in messages: its path, or `<revision>:<path>`
 * @param file the file's base name, kept on each object
 */
export function parseManifestText(text: string, where: string, file: string): ManifestObject[] {
  let documents;
  try {
    documents = parseYamlDocuments(text);
  } catch (error) {
    if (!(error instanceof YamlDocumentError)) throw error;
    throw new StackError(`${where} document ${error.document} is not valid YAML: ${error.reason}`);
  }
  return documents.map(({ document, value }) => toManifestObject(value, `${where} document ${document}`, file));
}

/** A synthesized object (cdk8s's toJson) as a {@link ManifestObject} of the file it goes to. */
export const manifestObjectOf = (value: unknown, file: string): ManifestObject => toManifestObject(value, `${file}: an object`, file);

function toManifestObject(value: unknown, where: string, file: string): ManifestObject {
  const object = value as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, string> };
  };
  if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
    throw new StackError(`${where} is not a Kubernetes object (needs apiVersion, kind and metadata.name)`);
  }
  const namespace = typeof object.metadata.namespace === 'string' ? object.metadata.namespace : undefined;
  // One list of cluster-scoped kinds, keyed by API group, shared with the manifest check: a kind
  // the check accepts without a namespace is one the deploy applies without one.
  if (namespace === undefined && !isClusterScopedBuiltin(apiGroupOf(object.apiVersion), object.kind)) {
    // kubectl would put it in whatever namespace the operator's context defaults to.
    throw new StackError(
      `${where}: ${object.kind} ${object.metadata.name} has no metadata.namespace; ` +
        'set it in the construct so the object cannot land in the kubeconfig context\'s default namespace',
    );
  }
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    group: apiGroupOf(object.apiVersion),
    name: object.metadata.name,
    namespace,
    labels: object.metadata.labels ?? {},
    file,
    manifest: value as Record<string, unknown>,
  };
}

/** `group/Kind/namespace/name`: one object of the cluster, whichever apiVersion names it. */
export const objectKey = (o: Pick<ManifestObject, 'group' | 'kind' | 'namespace' | 'name'>): string =>
  `${o.group}/${o.kind}/${o.namespace ?? ''}/${o.name}`;

/** `kind.group/name` (just `kind/name` for the core group), as kubectl takes it. */
export function resourceRef(object: Pick<ManifestObject, 'kind' | 'group' | 'name'>): string {
  return `${resourceType(object)}/${object.name}`;
}

/** `kind.group` in lowercase, a resource type kubectl resolves without ambiguity. */
export function resourceType(object: Pick<ManifestObject, 'kind' | 'group'>): string {
  const kind = object.kind.toLowerCase();
  return object.group === '' ? kind : `${kind}.${object.group}`;
}
