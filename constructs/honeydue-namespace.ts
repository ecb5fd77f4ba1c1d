import { k8s } from './shared/k8s';
import { JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { objectLabels } from './shared/labels';
import { dnsLabelProblem, ProblemList, reportProblems } from './shared/validation';
import { claimObjectNames } from './shared/unique-names';

/** Props of {@link HoneydueNamespace}. */
export interface HoneydueNamespaceProps {
  /** The namespace's name. */
  readonly name: string;
  /**
   * Pod Security Admission level enforced, audited and warned on.
   * @default 'restricted' (every workload here is built to meet it)
   */
  readonly podSecurityLevel?: 'restricted' | 'baseline' | 'privileged';
}

/**
 * The app's Namespace, labelled for Pod Security Admission so the API server
 * itself refuses a pod that drops the hardening. Cluster-scoped: it carries no
 * `metadata.namespace`, in a Chart with a namespace too.
 */
export class HoneydueNamespace extends Construct {
  /** The Namespace object (named `namespaceObject`: `namespace` is a name string on every other construct). */
  public readonly namespaceObject: k8s.KubeNamespace;
  /** The namespace's name. */
  public readonly name: string;

  public constructor(scope: Construct, id: string, props: HoneydueNamespaceProps) {
    super(scope, id);
    const name = props.name;
    const level = props.podSecurityLevel ?? 'restricted';
    reportProblems(this, new ProblemList('HoneydueNamespace').string('name', name, dnsLabelProblem).problems);

    this.name = name;
    this.namespaceObject = new k8s.KubeNamespace(this, 'Resource', {
      metadata: {
        name,
        labels: {
          ...objectLabels(name),
          'pod-security.kubernetes.io/enforce': level,
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': level,
          'pod-security.kubernetes.io/warn': level,
        },
      },
    });
    // cdk8s gives every object its chart's namespace; a Namespace is cluster-scoped, and a namespace on it misleads every tool that reads it.
    // In a chart without one the remove finds nothing to delete: cdk8s applies patches unvalidated.
    this.namespaceObject.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    claimObjectNames(this, 'HoneydueNamespace');
  }
}
