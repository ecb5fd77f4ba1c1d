/**
 * The generated Kubernetes API classes of cdk8s-plus-28 (`k8s.KubeDeployment`,
 * `k8s.Quantity`, ...), the only part of that package the constructs use.
 * Imported from their own module because the package's index also loads its
 * whole L2 library, which costs every synth start-up time for nothing. The
 * classes are the same ones `import { k8s } from 'cdk8s-plus-28'` gives.
 */
export * as k8s from 'cdk8s-plus-28/lib/imports/k8s';
