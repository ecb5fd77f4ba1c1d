import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { objectLabels, podLabels } from './labels';

/** The `tmp` emptyDir bound so a runaway process cannot fill the node's disk. */
export const TMP_SIZE_LIMIT = '64Mi';

/**
 * Annotation on a ServiceAccount and pod template that mount the
 * service-account token: why this pod talks to the Kubernetes API. The only
 * way to get a token here, so every exception to "no token" names its reason
 * in the manifest a reviewer (or the manifest check) reads.
 */
export const KUBERNETES_API_ACCESS_ANNOTATION = 'honeydue.io/kubernetes-api-access';

/** A volume and where the main container mounts it. */
export interface MountedVolume {
  readonly volume: k8s.Volume;
  readonly mountPath: string;
  readonly readOnly?: boolean;
}

/** What a hardened pod template needs from its workload. */
export interface HardenedPodOptions {
  /** `app.kubernetes.io/name`, the container name and the selector value. */
  readonly name: string;
  /** The release version (image tag), a pod-template-only label. */
  readonly version: string;
  /** uid, gid and fsGroup of the pod. */
  readonly runAsUser: number;
  readonly serviceAccountName: string;
  /** The main container; its securityContext is set here, never by the caller. */
  readonly container: Omit<k8s.Container, 'name' | 'securityContext' | 'volumeMounts'>;
  /** Volumes besides `tmp`, each mounted in the main container. */
  readonly volumes?: MountedVolume[];
  readonly imagePullSecrets?: string[];
  readonly annotations?: Record<string, string>;
  /** Scheduling and lifecycle fields of the pod spec (nodeSelector, restartPolicy, ...). */
  readonly scheduling?: Pick<k8s.PodSpec, 'nodeSelector' | 'topologySpreadConstraints' | 'restartPolicy'>;
  /**
   * Why the pod calls the Kubernetes API. Set, it mounts the service-account
   * token and writes the reason to {@link KUBERNETES_API_ACCESS_ANNOTATION}.
   * @default undefined (no token: a stolen app pod gets no API credentials)
   */
  readonly kubernetesApiAccess?: string;
}

/**
 * A pod template that meets Pod Security Standards `restricted`: non-root with
 * a fixed uid, RuntimeDefault seccomp, no privilege escalation, read-only root
 * filesystem with a bounded `/tmp`, all capabilities dropped, and no
 * service-account token unless `kubernetesApiAccess` says why one is needed.
 */
export function hardenedPodTemplate(options: HardenedPodOptions): k8s.PodTemplateSpec {
  const volumes: MountedVolume[] = [
    ...(options.volumes ?? []),
    { volume: { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString(TMP_SIZE_LIMIT) } }, mountPath: '/tmp' },
  ];
  const annotations = { ...options.annotations, ...apiAccessAnnotation(options.kubernetesApiAccess) };
  return {
    metadata: {
      labels: podLabels(options.name, options.version),
      annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
    },
    spec: {
      serviceAccountName: options.serviceAccountName,
      automountServiceAccountToken: options.kubernetesApiAccess !== undefined,
      imagePullSecrets: options.imagePullSecrets?.map((name) => ({ name })),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: options.runAsUser,
        runAsGroup: options.runAsUser,
        fsGroup: options.runAsUser,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...options.scheduling,
      containers: [
        {
          name: options.name,
          ...options.container,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: volumes.map((v) => ({ name: v.volume.name, mountPath: v.mountPath, readOnly: v.readOnly })),
        },
      ],
      volumes: volumes.map((v) => v.volume),
    },
  };
}

/**
 * A workload's own ServiceAccount (SPEC: one per workload), with token
 * automount off unless `kubernetesApiAccess` gives the reason to mount it.
 */
export function workloadServiceAccount(scope: Construct, name: string, namespace: string, kubernetesApiAccess?: string): k8s.KubeServiceAccount {
  return new k8s.KubeServiceAccount(scope, 'ServiceAccount', {
    metadata: { name, namespace, labels: objectLabels(name), annotations: apiAccessAnnotation(kubernetesApiAccess) },
    automountServiceAccountToken: kubernetesApiAccess !== undefined,
  });
}

function apiAccessAnnotation(reason: string | undefined): Record<string, string> | undefined {
  if (reason === undefined) return undefined;
  if (reason.trim() === '') {
    throw new Error(`kubernetesApiAccess: ${JSON.stringify(reason)} is an empty reason; say why the pod calls the Kubernetes API (the reason lands in the manifest), or leave it unset`);
  }
  return { [KUBERNETES_API_ACCESS_ANNOTATION]: reason };
}
