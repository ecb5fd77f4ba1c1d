/**
 * Built-in kinds that live outside any namespace, by `group/Kind`: those a
 * Kubernetes 1.34 API server serves (test/fixtures/discovery/, recorded from
 * its discovery), and ClusterTrustBundle, beta and off by default. Keyed by
 * group because a custom resource may reuse a built-in kind's name (a
 * `Namespace` of example.com is namespaced unless its CRD says otherwise).
 * Everything else built in is namespaced; custom resources take their scope
 * from their CRD.
 */
const CLUSTER_SCOPED = new Set([
  '/Namespace', '/Node', '/PersistentVolume', '/ComponentStatus',
  'rbac.authorization.k8s.io/ClusterRole', 'rbac.authorization.k8s.io/ClusterRoleBinding',
  'storage.k8s.io/StorageClass', 'storage.k8s.io/CSIDriver', 'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment', 'storage.k8s.io/VolumeAttributesClass',
  'apiextensions.k8s.io/CustomResourceDefinition', 'apiregistration.k8s.io/APIService',
  'scheduling.k8s.io/PriorityClass', 'node.k8s.io/RuntimeClass', 'resource.k8s.io/DeviceClass', 'resource.k8s.io/ResourceSlice',
  'networking.k8s.io/IngressClass', 'networking.k8s.io/IPAddress', 'networking.k8s.io/ServiceCIDR',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'certificates.k8s.io/CertificateSigningRequest', 'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema', 'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'authentication.k8s.io/TokenReview', 'authentication.k8s.io/SelfSubjectReview',
  'authorization.k8s.io/SubjectAccessReview', 'authorization.k8s.io/SelfSubjectAccessReview',
  'authorization.k8s.io/SelfSubjectRulesReview',
]);

/** True when a built-in kind of the API group is cluster-scoped. */
export function isClusterScopedBuiltin(group: string, kind: string): boolean {
  return CLUSTER_SCOPED.has(`${group}/${kind}`);
}
