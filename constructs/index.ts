export * from './traefik-config';
// The enum TraefikConfigProps.failurePolicy takes, generated from the HelmChartConfig CRD.
export { HelmChartConfigSpecFailurePolicy } from '../imports/helm.cattle.io';
