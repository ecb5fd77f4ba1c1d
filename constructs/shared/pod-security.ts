import { k8s } from './k8s';
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
export const KUBERNETES_API_ACCESS_ANNOTATION = 'kubernetes-api-access';

/** A volume and where the main container mounts it. */
export interface MountedVolume {
  readonly volume: k8s.Volume;
  readonly mountPath: string;
  readonly readOnly?: boolean;
}

/** The pod spec fields a workload chooses; everything security-related is set by {@link hardenedPodTemplate}. */
export type WorkloadPodSpec = Pick<k8s.PodSpec, 'nodeSelector' | 'topologySpreadConstraints' | 'restartPolicy' | 'terminationGracePeriodSeconds'>;

/** What a hardened pod template needs from its workload. */
export interface HardenedPodOptions {
  /** `app.kubernetes.io/name`, the container name and the selector value. */
  readonly name: string;
  /** The release version (image tag), a pod-template-only label. */
  readonly version: string;
  /** uid of the pod; also its gid and fsGroup unless `runAsGroup` says otherwise. */
  readonly runAsUser: number;
  /**
   * gid and fsGroup of the pod, for images whose user's primary group is not
   * numbered like the user (`redis:7-alpine`: uid 999, gid 1000).
   * @default runAsUser
   */
  readonly runAsGroup?: number;
  readonly serviceAccountName: string;
  /** The main container; its securityContext is set here, never by the caller. */
  readonly container: Omit<k8s.Container, 'name' | 'securityContext' | 'volumeMounts'>;
  /** Volumes besides `tmp`, each mounted in the main container. */
  readonly volumes?: MountedVolume[];
  readonly imagePullSecrets?: string[];
  readonly annotations?: Record<string, string>;
  /** The stack's labels for pods, beside the name and version. @default {} */
  readonly labels?: Record<string, string>;
  /** Pod spec fields the workload sets itself: where it runs, how it restarts, how long it gets to stop. */
  readonly podSpec?: WorkloadPodSpec;
  /**
   * Why the pod calls the Kubernetes API. Set, the main container alone gets a
   * projected, hour-long service-account token where client libraries look for
   * it, and the reason goes to {@link KUBERNETES_API_ACCESS_ANNOTATION}.
   * Token automount stays off either way.
   * @default undefined (no token: a stolen app pod gets no API credentials)
   */
  readonly kubernetesApiAccess?: string;
  /** The annotation key the reason goes to. @default {@link KUBERNETES_API_ACCESS_ANNOTATION} */
  readonly kubernetesApiAccessAnnotation?: string;
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
    ...(options.kubernetesApiAccess !== undefined ? [API_TOKEN_VOLUME] : []),
    { volume: { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString(TMP_SIZE_LIMIT) } }, mountPath: '/tmp' },
  ];
  const annotations = { ...options.annotations, ...apiAccessAnnotation(options.kubernetesApiAccess, options.kubernetesApiAccessAnnotation) };
  const runAsGroup = options.runAsGroup ?? options.runAsUser;
  return {
    metadata: {
      labels: podLabels(options.name, options.version, options.labels),
      annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
    },
    spec: {
      serviceAccountName: options.serviceAccountName,
      automountServiceAccountToken: false,
      imagePullSecrets: options.imagePullSecrets?.map((name) => ({ name })),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: options.runAsUser,
        runAsGroup,
        fsGroup: runAsGroup,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...options.podSpec,
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
 * Where in-cluster clients (client-go, vmagent) read the token, CA and namespace:
 * the path the automounted token would use, so no client flag changes.
 */
export const API_TOKEN_DIRECTORY = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The API credentials of a pod that needs them, instead of automount: a
 * projected token that expires after an hour (the kubelet rotates it), the
 * cluster CA from the `kube-root-ca.crt` ConfigMap Kubernetes puts in every
 * namespace, and the pod's namespace; mounted in the main container only.
 */
const API_TOKEN_VOLUME: MountedVolume = {
  volume: {
    name: 'kube-api-access',
    projected: {
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardApi: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  },
  mountPath: API_TOKEN_DIRECTORY,
  readOnly: true,
};

/**
 * A workload's own ServiceAccount, one per workload so a Role granted to one
 * never reaches another, token automount off. With `kubernetesApiAccess` it carries the reason its pods hold a token.
 */
export function workloadServiceAccount(
  scope: Construct, name: string, namespace: string, kubernetesApiAccess?: string, annotationKey?: string,
): k8s.KubeServiceAccount {
  return new k8s.KubeServiceAccount(scope, 'ServiceAccount', {
    metadata: { name, namespace, labels: objectLabels(name), annotations: apiAccessAnnotation(kubernetesApiAccess, annotationKey) },
    automountServiceAccountToken: false,
  });
}

function apiAccessAnnotation(reason: string | undefined, key = KUBERNETES_API_ACCESS_ANNOTATION): Record<string, string> | undefined {
  if (reason === undefined) return undefined;
  if (reason.trim() === '') {
    throw new Error(`kubernetesApiAccess: ${JSON.stringify(reason)} is an empty reason; say why the pod calls the Kubernetes API (the reason lands in the manifest), or leave it unset`);
  }
  return { [key]: reason };
}
