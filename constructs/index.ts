// The public API of honeydue-k8s: every construct and props type, nothing private.
export * from './honeydue-stack';
export * from './honeydue-api';
export * from './nextjs-app';
export * from './worker';
export * from './redis';
export * from './migrate-job';
export * from './honeydue-config-map';
export * from './honeydue-namespace';
export * from './honeydue-ingress';
export * from './vm-agent';
export * from './network-policies';
export type { ResourceOverrides, CpuMemory } from './shared/resources';
export type { ProbeOverrides, ProbeTiming } from './shared/probes';
export type { WorkloadProps, AppWorkloadProps, ConfigMapSource, SecretKey, SecretKeyRef } from './shared/app-workload';
export { Workload } from './workload';
export { CONFIG_HASH_ANNOTATION } from './shared/app-workload';
export * from './traefik-config';
// The enum TraefikConfigProps.failurePolicy takes, generated from the HelmChartConfig CRD.
export { HelmChartConfigSpecFailurePolicy } from '../imports/helm.cattle.io';
export type { ServiceEndpoint, MetricsEndpoint, WorkloadTraffic } from './shared/network';
export { SCRAPE_ANNOTATIONS, HTTPS_PORT } from './shared/network';
export { KUBERNETES_API_ACCESS_ANNOTATION } from './shared/pod-security';
export { ValueProblem, ValueProblems } from './shared/validation';
// The manifest check, as a cdk8s validation plugin (cdk8s.yaml `validations`) and as a function for tests.
export { ManifestCheck, checkObjects, type SynthValidationContext } from '../manifest-check/plugin';
export type { Finding } from '../manifest-check/types';
