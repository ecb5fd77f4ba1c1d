/**
 * Reading pod specs out of manifests: where a kind keeps its pod template, and
 * which Secrets and ConfigMaps a pod reads.
 */

/** The parts of a pod spec the review reads. */
interface PodSpec {
  readonly containers?: readonly Container[];
  readonly initContainers?: readonly Container[];
  readonly volumes?: readonly Volume[];
  readonly imagePullSecrets?: ReadonlyArray<{ readonly name?: string }>;
}

interface Container {
  readonly env?: ReadonlyArray<{
    readonly valueFrom?: {
      readonly secretKeyRef?: KeyRef;
      readonly configMapKeyRef?: KeyRef;
    };
  }>;
  readonly envFrom?: ReadonlyArray<{ readonly secretRef?: KeyRef; readonly configMapRef?: KeyRef }>;
}

interface KeyRef {
  readonly name?: string;
  readonly key?: string;
  readonly optional?: boolean;
}

interface Source {
  readonly name?: string;
  readonly secretName?: string;
  readonly optional?: boolean;
  readonly items?: ReadonlyArray<{ readonly key?: string }>;
}

interface Volume {
  readonly secret?: Source;
  readonly configMap?: Source;
  readonly projected?: { readonly sources?: ReadonlyArray<{ readonly secret?: Source; readonly configMap?: Source }> };
}

/** A Secret or ConfigMap a pod reads, a key of it or (key unset) all of it. */
export interface PodRead {
  readonly kind: 'Secret' | 'ConfigMap';
  readonly name: string;
  readonly key?: string;
  readonly optional: boolean;
}

/**
 * The pod spec of a manifest: `spec.template.spec` for the workload kinds and
 * Jobs, `spec.jobTemplate.spec.template.spec` for a CronJob, `spec` for a Pod;
 * undefined for objects that run no pods.
 */
export function podTemplateOf(manifest: Readonly<Record<string, unknown>>): PodSpec | undefined {
  const spec = manifest.spec as { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } | undefined;
  switch (manifest.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return spec?.template?.spec;
    case 'CronJob':
      return spec?.jobTemplate?.spec?.template?.spec;
    case 'Pod':
      return manifest.spec as PodSpec | undefined;
    default:
      return undefined;
  }
}

/** Every Secret and ConfigMap (or key of one) the pod reads: env, envFrom, volumes, projected volumes, pull secrets. */
export function secretAndConfigMapReads(pod: PodSpec): PodRead[] {
  const reads: PodRead[] = [];
  const add = (kind: PodRead['kind'], name: string | undefined, key: string | undefined, optional: boolean | undefined) => {
    if (name !== undefined) reads.push({ kind, name, key, optional: optional === true });
  };
  const fromSource = (kind: PodRead['kind'], source: Source | undefined) => {
    if (source === undefined) return;
    const name = kind === 'Secret' ? source.secretName ?? source.name : source.name;
    if (source.items === undefined || source.items.length === 0) add(kind, name, undefined, source.optional);
    else for (const item of source.items) add(kind, name, item.key, source.optional);
  };
  for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const variable of container.env ?? []) {
      const secret = variable.valueFrom?.secretKeyRef;
      const configMap = variable.valueFrom?.configMapKeyRef;
      if (secret !== undefined) add('Secret', secret.name, secret.key, secret.optional);
      if (configMap !== undefined) add('ConfigMap', configMap.name, configMap.key, configMap.optional);
    }
    for (const source of container.envFrom ?? []) {
      if (source.secretRef !== undefined) add('Secret', source.secretRef.name, undefined, source.secretRef.optional);
      if (source.configMapRef !== undefined) add('ConfigMap', source.configMapRef.name, undefined, source.configMapRef.optional);
    }
  }
  for (const volume of pod.volumes ?? []) {
    fromSource('Secret', volume.secret);
    fromSource('ConfigMap', volume.configMap);
    for (const projected of volume.projected?.sources ?? []) {
      fromSource('Secret', projected.secret);
      fromSource('ConfigMap', projected.configMap);
    }
  }
  for (const pull of pod.imagePullSecrets ?? []) add('Secret', pull.name, undefined, false);
  return reads;
}
