/**
 * What `kubectl apply` refuses of a changed object (immutable fields, a claim
 * that shrinks) and the claim that grows on a class that cannot expand it,
 * each with the way through.
 */
import { parseQuantity } from '../../manifest-check/quantity';
import { ManifestObject, resourceType } from '../shared/manifest-object';
import { isMigrateJob, isWorkload, nameOf } from './objects';
import type { FieldChange, Finding } from './types';

/**
 * StorageClasses known not to expand claims when dist/ does not define them.
 * k3s's `local-path` provisioner makes a host directory per claim and
 * implements no resize, and k3s ships its class without
 * `allowVolumeExpansion`: the API server refuses a bigger request.
 */
export const NON_EXPANDING_CLASSES: ReadonlySet<string> = new Set(['local-path']);

/** The class a claim without `storageClassName` gets on k3s, the cluster this stack is written for. */
const DEFAULT_CLASS = 'local-path';

/** The StatefulSet fields the API server lets an update change; every other `spec` field is immutable. */
const STATEFULSET_MUTABLE = ['replicas', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds', 'ordinals'];

/** Changes the API server refuses on update (`field is immutable`), each with the way through. */
export function immutableChanges(was: ManifestObject, now: ManifestObject, fields: readonly FieldChange[]): Finding[] {
  const object = nameOf(now);
  const paths = (test: (path: string) => boolean) => fields.filter((f) => test(f.path)).map((f) => f.path);
  const refusal = (what: string, changedPaths: readonly string[], fix: string): Finding => ({
    object,
    message: `${what} is immutable (changed: ${changedPaths.join(', ')}): kubectl apply is refused with "field is immutable". ${fix}`,
  });
  const findings: Finding[] = [];
  const ref = `${resourceType(now)}/${now.name}`;
  const ns = now.namespace === undefined ? '' : `-n ${now.namespace} `;
  if (isWorkload(now) || (now.group === 'apps' && now.kind === 'ReplicaSet')) {
    const selector = paths((p) => p.startsWith('spec.selector.'));
    if (selector.length > 0) {
      findings.push(
        refusal('spec.selector', selector,
          `Delete it without its pods first (kubectl ${ns}delete ${ref} --cascade=orphan), deploy, then delete the old ReplicaSet once the new pods are ready; or keep the old selector`),
      );
    }
    if (now.kind === 'StatefulSet') {
      const frozen = paths((p) => p.startsWith('spec.') && !p.startsWith('spec.selector.') && !STATEFULSET_MUTABLE.includes(p.split(/[.[]/)[1]));
      if (frozen.length > 0) findings.push(refusal('a StatefulSet\'s spec outside replicas, template, updateStrategy, minReadySeconds and the PVC retention policy', frozen, `Delete it without its pods (kubectl ${ns}delete ${ref} --cascade=orphan) and deploy`));
    }
  }
  if (now.group === 'batch' && now.kind === 'Job' && !isMigrateJob(now)) {
    const frozen = paths((p) => p.startsWith('spec.template.') || p.startsWith('spec.selector.') || p === 'spec.completions');
    if (frozen.length > 0) findings.push(refusal('a Job\'s template', frozen, `Delete the Job (kubectl ${ns}delete ${ref}) before the deploy creates the new one`));
  }
  if (now.group === '' && now.kind === 'PersistentVolumeClaim') {
    const frozen = paths((p) => p.startsWith('spec.') && p !== 'spec.resources.requests.storage');
    if (frozen.length > 0) {
      findings.push(refusal('a PersistentVolumeClaim\'s spec, except growing spec.resources.requests.storage,', frozen,
        'A new claim (another name) and a copy of the data is the way to change it; or keep the old values'));
    }
    const size = storageChange(was, now);
    if (size !== undefined && size.after < size.before) {
      findings.push({ object, message: `spec.resources.requests.storage shrinks ${size.text}: a claim can only grow, kubectl apply is refused. Keep ${size.was}, or move the data to a new, smaller claim` });
    }
  }
  if (now.group === '' && now.kind === 'Service') {
    const ip = fields.filter((f) => (f.path === 'spec.clusterIP' || f.path.startsWith('spec.clusterIPs')) && f.after !== undefined);
    if (ip.length > 0) {
      findings.push(refusal('a Service\'s spec.clusterIP', ip.map((f) => f.path),
        `Leave clusterIP unset so the cluster keeps the one it allocated, or delete the Service (kubectl ${ns}delete ${ref}: clients lose it until the deploy re-creates it)`));
    }
  }
  if (now.group === '' && (now.kind === 'ConfigMap' || now.kind === 'Secret') && was.manifest.immutable === true) {
    const frozen = paths((p) => p.startsWith('data.') || p.startsWith('binaryData.') || p.startsWith('stringData.') || p === 'immutable');
    if (frozen.length > 0) findings.push(refusal(`an immutable ${now.kind}'s data`, frozen, `Give the changed content a new name, or delete it (kubectl ${ns}delete ${ref}) before the deploy`));
  }
  if (now.group === 'rbac.authorization.k8s.io' && (now.kind === 'RoleBinding' || now.kind === 'ClusterRoleBinding')) {
    const frozen = paths((p) => p.startsWith('roleRef.'));
    if (frozen.length > 0) findings.push(refusal('a binding\'s roleRef', frozen, `Delete the binding (kubectl ${ns}delete ${ref}) before the deploy, or bind the new role under another name`));
  }
  return findings;
}

interface StorageChange {
  readonly before: number;
  readonly after: number;
  readonly was: string;
  readonly text: string;
}

function storageChange(was: ManifestObject, now: ManifestObject): StorageChange | undefined {
  const request = (object: ManifestObject) => (object.manifest.spec as { resources?: { requests?: { storage?: unknown } } } | undefined)?.resources?.requests?.storage;
  const [from, to] = [request(was), request(now)];
  const [before, after] = [parseQuantity(from), parseQuantity(to)];
  if (before === undefined || after === undefined || before === after) return undefined;
  return { before, after, was: String(from), text: `${String(from)} -> ${String(to)}` };
}

/**
 * A claim that grows: fine on a StorageClass that allows expansion, a hand
 * step on one that does not. A class defined in the release is read; one that
 * is not is judged by NON_EXPANDING_CLASSES, and any other is flagged for a
 * look, since offline nothing says whether it expands.
 */
export function claimResize(was: ManifestObject, now: ManifestObject, release: readonly ManifestObject[]): Finding[] {
  if (now.group !== '' || now.kind !== 'PersistentVolumeClaim') return [];
  const size = storageChange(was, now);
  if (size === undefined || size.after < size.before) return [];
  const named = (now.manifest.spec as { storageClassName?: unknown } | undefined)?.storageClassName;
  const className = typeof named === 'string' && named !== '' ? named : DEFAULT_CLASS;
  const which = typeof named === 'string' && named !== '' ? `StorageClass ${className}` : `the default StorageClass (${DEFAULT_CLASS} on k3s)`;
  const defined = release.find((o) => o.group === 'storage.k8s.io' && o.kind === 'StorageClass' && o.name === className);
  const object = nameOf(now);
  if (defined !== undefined ? defined.manifest.allowVolumeExpansion === true : false) return [];
  if (defined !== undefined || NON_EXPANDING_CLASSES.has(className)) {
    return [{
      object,
      message:
        `grows ${size.text} on ${which}, which cannot expand a claim: kubectl apply is refused. ` +
        `Keep ${size.was} in the config, or by hand: scale its workload to 0, back up the data, delete the claim, deploy (a new claim of the new size), restore the data`,
    }];
  }
  return [{
    object,
    message:
      `grows ${size.text} on ${which}, which is not in dist/: the apply is refused unless the class allows expansion. ` +
      `Check before the deploy: kubectl get storageclass ${className} -o jsonpath='{.allowVolumeExpansion}' must print true`,
  }];
}
