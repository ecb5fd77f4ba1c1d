/**
 * Selectors against the pods a side would run: a Service, PDB or
 * NetworkPolicy that selects no pods or the pods of another workload, an HPA
 * whose target is not in the release, a Deployment whose selector misses its
 * own pod template.
 */
import { labelSelectorMatches, type LabelSelector } from '../../manifest-check/label-selector';
import { ManifestObject } from '../shared/manifest-object';
import { podTemplateOf } from '../../manifest-check/manifests';
import { LABEL_NAME } from '../../constructs/shared/labels';
import { nameOf } from './objects';
import type { Finding } from './types';

type Labels = Readonly<Record<string, string>>;


/** An object that runs pods, and the labels its pod template gives them. */
export interface PodRunner {
  readonly object: ManifestObject;
  readonly labels: Labels;
  /** The PodSpec its pods run. */
  readonly spec: unknown;
}

/** The objects of a side that run pods (a PodTemplate object runs none), with their pods' labels. */
export function podRunners(objects: readonly ManifestObject[]): PodRunner[] {
  return objects.flatMap((object) => {
    const template = podTemplateOf(object.manifest);
    if (template?.runsPods !== true) return [];
    const labels = ((template.metadata as { labels?: Labels } | undefined)?.labels ?? {}) as Labels;
    return [{ object, labels, spec: template.spec }];
  });
}


/** `k=v, k in (a, b), k` as a reader writes a selector. */
export function selectorText(selector: LabelSelector): string {
  const pairs = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`);
  const expressions = (selector.matchExpressions ?? []).map(({ key, operator, values = [] }) =>
    operator === 'Exists' ? key : operator === 'DoesNotExist' ? `!${key}` : `${key} ${operator.toLowerCase()} (${values.join(', ')})`,
  );
  return [...pairs, ...expressions].join(', ');
}

/** The pod runners of the object's namespace its selector selects. */
export const selectedBy = (object: ManifestObject, selector: LabelSelector, runners: readonly PodRunner[]): PodRunner[] =>
  runners.filter((r) => r.object.namespace === object.namespace && labelSelectorMatches(selector, r.labels));

/** `Deployment api`: the namespace is the selector's own. */
export const runnerName = (runner: PodRunner): string => `${runner.object.kind} ${runner.object.name}`;

const spec = (object: ManifestObject) => (object.manifest.spec ?? {}) as Record<string, unknown>;
const isKind = (object: ManifestObject, group: string, kind: string) => object.group === group && object.kind === kind;

/** Every selector of a side that selects nothing or another workload's pods, in object order. */
export function selectorFindings(objects: readonly ManifestObject[]): Finding[] {
  const runners = podRunners(objects);
  const findings: Finding[] = [];
  for (const object of objects) {
    const finding = isKind(object, 'autoscaling', 'HorizontalPodAutoscaler') ? missingScaleTarget(object, objects) : selectorFinding(object, objects, runners);
    if (finding !== undefined) findings.push({ object: nameOf(object), message: finding });
  }
  return findings;
}

function selectorFinding(object: ManifestObject, objects: readonly ManifestObject[], runners: readonly PodRunner[]): string | undefined {
  const { selector, podSelector } = spec(object) as { selector?: LabelSelector & Labels; podSelector?: LabelSelector };
  if (isKind(object, '', 'Service')) {
    // A Service without a selector has its endpoints written by hand: nothing to match.
    if (selector === undefined || Object.keys(selector).length === 0) return undefined;
    return judged(object, 'spec.selector', { matchLabels: selector }, runners, serviceEffects(object, objects));
  }
  if (isKind(object, 'policy', 'PodDisruptionBudget') && selector !== undefined) {
    return judged(object, 'spec.selector', selector, runners, { none: 'it guards nothing during a drain', others: 'a drain counts them against its budget' });
  }
  if (isKind(object, 'networking.k8s.io', 'NetworkPolicy') && podSelector !== undefined) {
    // An empty podSelector is the whole namespace (default-deny, allow-dns): meant so.
    if (selectorText(podSelector) === '') return undefined;
    return judged(object, 'spec.podSelector', podSelector, runners, { none: 'its rules apply to no pod', others: 'its rules apply to them' });
  }
  const own = runners.find((r) => r.object === object);
  if (own !== undefined && object.group === 'apps' && selector !== undefined && !labelSelectorMatches(selector, own.labels)) {
    return `spec.selector ${selectorText(selector)} does not select its own pod template: the API server refuses the ${object.kind} (selector does not match template labels)`;
  }
  return undefined;
}

interface Effects {
  /** What selecting no pods does. */
  readonly none: string;
  /** What selecting another workload's pods does to them. */
  readonly others: string;
}

/**
 * The object belongs to the workload its `app.kubernetes.io/name` label names
 * (the api Service, api-pdb and api-egress all say `api`); when no workload
 * carries that name, selecting several workloads is what is named.
 */
function judged(object: ManifestObject, field: string, selector: LabelSelector, runners: readonly PodRunner[], effects: Effects): string | undefined {
  const what = `${field} ${selectorText(selector)}`;
  const selected = selectedBy(object, selector, runners);
  if (selected.length === 0) return `${what} selects no pods: ${effects.none}`;
  const owner = object.labels[LABEL_NAME];
  const owned = (r: PodRunner) => r.labels[LABEL_NAME] === owner;
  if (owner === undefined || !runners.some((r) => r.object.namespace === object.namespace && owned(r))) {
    return selected.length > 1 && object.kind === 'PodDisruptionBudget' ? `${what} selects the pods of ${selected.length} workloads (${selected.map(runnerName).join(', ')}): ${effects.others}` : undefined;
  }
  const others = selected.filter((r) => !owned(r));
  if (others.length === 0) return undefined;
  const list = others.map(runnerName).join(', ');
  return `${what} selects the pods of ${list}${selected.some(owned) ? ` besides ${owner}'s` : `, not ${owner}'s`}: ${effects.others}`;
}

/** What a Service's selector reaches, by the Ingresses that send to it. */
function serviceEffects(service: ManifestObject, objects: readonly ManifestObject[]): Effects {
  const routes = objects
    .filter((o) => isKind(o, 'networking.k8s.io', 'Ingress') && o.namespace === service.namespace)
    .map((ingress) => ({ ingress, hosts: hostsTo(ingress, service.name) }))
    .filter(({ hosts }) => hosts !== undefined);
  if (routes.length === 0) return { none: 'the Service has no endpoints, so connections to it fail', others: 'its connections reach them' };
  const sent = `what ${routes.map(({ ingress }) => `Ingress ${ingress.name}`).join(', ')} sends to it (${routes.flatMap(({ hosts }) => hosts!).join(', ')})`;
  return { none: `the Service has no endpoints, so ${sent} gets 503`, others: `${sent} reaches them` };
}

interface Backend {
  readonly service?: { readonly name?: string };
}

/** The hosts an Ingress sends to a Service (`*` for a rule or default backend without a host), or undefined when it sends none. */
function hostsTo(ingress: ManifestObject, service: string): string[] | undefined {
  const { rules = [], defaultBackend } = spec(ingress) as {
    rules?: ReadonlyArray<{ host?: string; http?: { paths?: ReadonlyArray<{ backend?: Backend }> } }>;
    defaultBackend?: Backend;
  };
  const hosts = rules.filter((rule) => (rule.http?.paths ?? []).some((p) => p.backend?.service?.name === service)).map((rule) => rule.host ?? '*');
  if (defaultBackend?.service?.name === service) hosts.push('*');
  return hosts.length === 0 ? undefined : [...new Set(hosts)];
}

/** An HPA scales an object of its own namespace, found by kind and name. */
function missingScaleTarget(hpa: ManifestObject, objects: readonly ManifestObject[]): string | undefined {
  const target = (spec(hpa).scaleTargetRef ?? {}) as { kind?: string; name?: string };
  if (objects.some((o) => o.namespace === hpa.namespace && o.kind === target.kind && o.name === target.name)) return undefined;
  return `spec.scaleTargetRef ${target.kind} ${target.name} is not in the release: the HPA has nothing to scale`;
}

/** The HPA of a side that scales an object, if any. */
export function scalerOf(object: ManifestObject, objects: readonly ManifestObject[]): ManifestObject | undefined {
  return objects.find((o) => {
    if (!isKind(o, 'autoscaling', 'HorizontalPodAutoscaler') || o.namespace !== object.namespace) return false;
    const target = (spec(o).scaleTargetRef ?? {}) as { kind?: string; name?: string };
    return target.kind === object.kind && target.name === object.name;
  });
}
