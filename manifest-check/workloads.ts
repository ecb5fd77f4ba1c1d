/**
 * Pod templates and label selectors: what several rule areas read from workloads.
 */
import { child } from './paths';
import { isPlainObject } from './objects';
import { labelSelectorMatches as sharedLabelSelectorMatches, type LabelSelector } from './label-selector';
import { apiGroupOf, podTemplateOf } from './manifests';
import type { CheckContext, Json, KubeObject } from './types';

/** Where a workload keeps its pods' definition. */
export interface PodTemplate {
  /** Template metadata (labels, annotations); `{}` when absent. */
  readonly metadata: Json;
  /** The PodSpec; `{}` when absent. */
  readonly spec: Json;
  /** Path of the PodSpec in the object, e.g. `spec.template.spec`. */
  readonly specPath: string;
  /** Path of the template metadata, e.g. `spec.template.metadata`. */
  readonly metadataPath: string;
  /** Jobs and CronJobs run to completion: no readiness/liveness expected. */
  readonly runsToCompletion: boolean;
}

/** A container of a pod template with its path, whatever list it sits in. */
export interface ContainerAt {
  readonly container: Json;
  readonly path: string;
  readonly list: 'containers' | 'initContainers' | 'ephemeralContainers';
}

/**
 * The pod template of a workload (or the Pod itself), found by the shared
 * podTemplateOf, with the paths findings name; undefined for other kinds.
 * Memoized: the rules of one run share it.
 */
export function templateOf(obj: KubeObject, ctx: CheckContext): PodTemplate | undefined {
  return ctx.memo(obj, 'podTemplate', () => {
    const found = podTemplateOf(obj.manifest);
    if (found === undefined) return undefined;
    const at = (key: string) => [...found.route, key].join('.');
    return {
      metadata: isPlainObject(found.metadata) ? found.metadata : {},
      spec: isPlainObject(found.spec) ? found.spec : {},
      specPath: at('spec'),
      metadataPath: at('metadata'),
      runsToCompletion: found.runsToCompletion,
    };
  });
}

export function hasPodTemplate(obj: KubeObject, ctx: CheckContext): boolean {
  return templateOf(obj, ctx) !== undefined;
}

/** Every container of a pod spec: regular, init and ephemeral (Pod Security Admission audits all three). */
export function allContainers(template: PodTemplate): ContainerAt[] {
  const found: ContainerAt[] = [];
  for (const list of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    const items = template.spec[list];
    if (!Array.isArray(items)) continue;
    items.forEach((container, index) => {
      if (isPlainObject(container)) found.push({ container, path: child(child(template.specPath, list), index), list });
    });
  }
  return found;
}

/** A display name for a container in messages: `container "api"`. */
export function containerName(at: ContainerAt): string {
  const kind = at.list === 'containers' ? 'container' : at.list === 'initContainers' ? 'init container' : 'ephemeral container';
  return `${kind} ${JSON.stringify(at.container.name ?? '?')}`;
}

/** Labels of the pods a workload creates. */
export function podLabels(template: PodTemplate): Record<string, string> {
  return isPlainObject(template.metadata.labels) ? template.metadata.labels : {};
}

/** True when a map selector (Service `spec.selector`) selects the labels. */
export function mapSelectorMatches(selector: Record<string, unknown>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/**
 * True when a LabelSelector (matchLabels + matchExpressions) selects the labels.
 * An empty selector selects everything, as it does for a PodDisruptionBudget in policy/v1.
 */
export const labelSelectorMatches = (selector: Json, labels: Record<string, string>): boolean =>
  sharedLabelSelectorMatches(selector as LabelSelector, labels);

/** Kinds whose pods a PodDisruptionBudget protects with a replica count we can read. */
export const REPLICATED_KINDS = new Set(['apps/Deployment', 'apps/StatefulSet', 'apps/ReplicaSet', '/ReplicationController']);

export function isReplicated(obj: KubeObject): boolean {
  return REPLICATED_KINDS.has(`${obj.group}/${obj.kind}`);
}

/** The HorizontalPodAutoscalers of the set that scale this workload. */
export function autoscalersOf(workload: KubeObject, ctx: CheckContext): KubeObject[] {
  return ctx.objects.filter((hpa) => {
    if (hpa.group !== 'autoscaling' || hpa.kind !== 'HorizontalPodAutoscaler') return false;
    if (hpa.namespace !== workload.namespace) return false;
    const target = hpa.manifest.spec?.scaleTargetRef;
    if (!isPlainObject(target)) return false;
    const group = typeof target.apiVersion === 'string' ? apiGroupOf(target.apiVersion) : '';
    return target.kind === workload.kind && target.name === workload.name && group === workload.group;
  });
}

/**
 * The pods a workload keeps running in steady state: the HPA minimum when an
 * autoscaler owns the count, else spec.replicas (1 when unset, the API default).
 */
export function steadyReplicas(workload: KubeObject, ctx: CheckContext): number {
  const hpas = autoscalersOf(workload, ctx);
  if (hpas.length > 0) {
    return Math.min(...hpas.map((hpa) => (Number.isInteger(hpa.manifest.spec?.minReplicas) ? hpa.manifest.spec.minReplicas : 1)));
  }
  const replicas = workload.manifest.spec?.replicas;
  return Number.isInteger(replicas) ? replicas : 1;
}
