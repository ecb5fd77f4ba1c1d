import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { declareTraffic, ServiceEndpoint, TrafficSource, workloadTraffic, WorkloadTraffic } from './shared/network';
import { hardenedPodTemplate, HardenedPodOptions, MountedVolume, workloadServiceAccount, WorkloadPodSpec } from './shared/pod-security';
import { Resources, toResourceRequirements } from './shared/resources';
import { imageTagOf } from './shared/validation';

/** Everything {@link Workload.buildPods} needs to know about a workload's pods, with defaults resolved and values validated. */
export interface WorkloadPodDefinition {
  /** Construct class name, for error messages. */
  readonly owner: string;
  /** The pods' `app.kubernetes.io/name`, the container's name and the ServiceAccount's. */
  readonly name: string;
  /** Namespace of the ServiceAccount and of the objects running the pods. */
  readonly namespace: string;
  /** Image with a pinned tag; the tag becomes the pods' `app.kubernetes.io/version`. */
  readonly image: string;
  /** uid of the pod; also its gid and fsGroup unless `runAsGroup` says otherwise. */
  readonly runAsUser: number;
  /** gid and fsGroup, for images whose user's group is numbered apart from the user. @default runAsUser */
  readonly runAsGroup?: number;
  /** docker-registry Secret the pods pull with. @default undefined (no pull secret) */
  readonly imagePullSecret?: string;
  /** The stack's labels for pod templates, beside name and version. @default {} */
  readonly podLabels?: Record<string, string>;
  /** Pod-template annotations (scrape, config hash). @default undefined (none) */
  readonly annotations?: Record<string, string>;
  /** Why the pods call the Kubernetes API; see {@link HardenedPodOptions.kubernetesApiAccess}. @default undefined (no token) */
  readonly kubernetesApiAccess?: string;
  /** The annotation key that reason goes to. @default 'kubernetes-api-access' */
  readonly kubernetesApiAccessAnnotation?: string;
  /** The main container's requests and limits, resolved and validated. */
  readonly resources: Resources;
  /** The main container, without what the builder sets (image, resources, securityContext, mounts). @default {} */
  readonly container?: Omit<HardenedPodOptions['container'], 'image' | 'resources'>;
  /** Volumes besides `tmp`, each mounted in the main container. @default [] */
  readonly volumes?: MountedVolume[];
  /** Pod spec fields the workload sets itself. @default undefined */
  readonly podSpec?: WorkloadPodSpec;
  /** In-cluster endpoints the pods connect to; undefined entries (a Redis not wired) are skipped. @default [] */
  readonly connectsTo?: readonly (ServiceEndpoint | undefined)[];
  /** TCP ports the pods dial outside the cluster. @default [] */
  readonly externalPorts?: readonly number[];
}

/**
 * What every workload construct is (`HoneydueApi`, `NextjsApp`, `Worker`,
 * `MigrateJob`, `Redis`, `VmAgent`): pods with a name and a namespace, run
 * under their own ServiceAccount, and the connections those pods open, which
 * `NetworkPolicies` turns into allows. Each workload builds its pods once,
 * through {@link Workload.buildPods}, so the hardening, the ServiceAccount and
 * the traffic declaration are written in one place, and the object that runs
 * the pods (a Deployment, a Job) is the workload's own.
 */
export abstract class Workload extends Construct implements TrafficSource {
  /** The name of its pods (`app.kubernetes.io/name`, the selector value), its ServiceAccount and its other objects (a MigrateJob's Job is `jobName`). */
  public readonly name!: string;
  /** The namespace its objects are in. */
  public readonly namespace!: string;
  /** The workload's own ServiceAccount, token automount off: a Role granted to one workload never reaches another. */
  public readonly serviceAccount!: k8s.KubeServiceAccount;
  /** The connections its pods open, for `NetworkPolicies`. */
  public readonly traffic!: WorkloadTraffic;

  /**
   * The one way a workload builds its pods. Validates the traffic first, then
   * creates the ServiceAccount (the workload's first object beside what its
   * pods mount) and returns the hardened pod template for the object that runs
   * the pods. Sets `name`, `namespace`, `serviceAccount` and `traffic`.
   */
  protected buildPods(pods: WorkloadPodDefinition): k8s.PodTemplateSpec {
    const { name, namespace } = pods;
    const traffic = workloadTraffic(this, pods.owner, pods, { connectsTo: pods.connectsTo, externalPorts: pods.externalPorts });
    const serviceAccount = workloadServiceAccount(this, name, namespace, pods.kubernetesApiAccess, pods.kubernetesApiAccessAnnotation);
    // The fields are readonly for users; the base class writes them here, once, for every workload.
    Object.assign(this, { name, namespace, serviceAccount, traffic: declareTraffic(this, traffic) });
    return hardenedPodTemplate({
      name,
      version: imageTagOf(pods.image)!,
      runAsUser: pods.runAsUser,
      runAsGroup: pods.runAsGroup,
      serviceAccountName: name,
      imagePullSecrets: pods.imagePullSecret === undefined ? undefined : [pods.imagePullSecret],
      labels: pods.podLabels,
      annotations: pods.annotations,
      kubernetesApiAccess: pods.kubernetesApiAccess,
      kubernetesApiAccessAnnotation: pods.kubernetesApiAccessAnnotation,
      podSpec: pods.podSpec,
      volumes: pods.volumes,
      container: { ...pods.container, image: pods.image, resources: toResourceRequirements(pods.resources) },
    });
  }
}
