/**
 * Wiring: references between the objects of one environment resolve, and nothing in
 * the set fights another piece of it (an autoscaler and a pinned replica count, a
 * PodDisruptionBudget and a node drain).
 */
import { UNHEALTHY_POD_EVICTION_POLICY } from '../../constructs/shared/eviction-policy';
import { child, show } from '../paths';
import { isPlainObject } from '../objects';
import { apiGroupOf } from '../manifests';
import {
  allContainers, autoscalersOf, containerName, hasPodTemplate, isReplicated, labelSelectorMatches, mapSelectorMatches,
  podLabels, steadyReplicas, templateOf, type PodTemplate,
} from '../workloads';
import type { CheckContext, Json, KubeObject, Rule, Violation } from '../types';

const isKind = (group: string, kind: string) => (obj: KubeObject) => obj.group === group && obj.kind === kind;
const isService = isKind('', 'Service');
const isPdb = isKind('policy', 'PodDisruptionBudget');
const isHpa = isKind('autoscaling', 'HorizontalPodAutoscaler');
const isIngress = isKind('networking.k8s.io', 'Ingress');
const isBinding = (obj: KubeObject) => obj.group === 'rbac.authorization.k8s.io' && (obj.kind === 'RoleBinding' || obj.kind === 'ClusterRoleBinding');

/** Workloads (with a pod template) of a namespace whose pods a selector picks. */
function workloadsSelected(ctx: CheckContext, namespace: string, matches: (labels: Record<string, string>) => boolean): KubeObject[] {
  return ctx.objects.filter((obj) => {
    if (obj.namespace !== namespace) return false;
    const template = templateOf(obj, ctx);
    return template !== undefined && matches(podLabels(template));
  });
}

/** The whole-set key of an object: API group (not version), kind, namespace, name. */
function identity(obj: KubeObject): string {
  return `${obj.group}/${obj.kind}/${obj.namespace}/${obj.name}`;
}

/** A PodDisruptionBudget's minAvailable/maxUnavailable as a pod count (percentages round up, as the disruption controller does). */
function scaled(value: unknown, total: number): number | undefined {
  if (Number.isInteger(value)) return value as number;
  if (typeof value === 'string' && /^\d+%$/.test(value)) return Math.ceil((Number(value.slice(0, -1)) * total) / 100);
  return undefined;
}

/** ConfigMap references of a pod: envFrom, configMapKeyRef, configMap volumes and projected sources. */
interface ConfigMapRef {
  readonly name: unknown;
  /** The key read, for configMapKeyRef and volume items. */
  readonly key?: unknown;
  readonly path: string;
  readonly optional: boolean;
  /** Who references it, for messages: `container "api" envFrom`. */
  readonly what: string;
}

function configMapRefs(template: PodTemplate): ConfigMapRef[] {
  const refs: ConfigMapRef[] = [];
  for (const at of allContainers(template)) {
    // Stryker disable next-line ArrayDeclaration: an envFrom entry that is no mapping has no configMapRef, so a non-empty default finds nothing either
    (Array.isArray(at.container.envFrom) ? at.container.envFrom : []).forEach((source: Json, index: number) => {
      const ref = source?.configMapRef;
      if (isPlainObject(ref)) {
        refs.push({ name: ref.name, path: `${at.path}.envFrom[${index}].configMapRef.name`, optional: ref.optional === true, what: `${containerName(at)} envFrom` });
      }
    });
    // Stryker disable next-line ArrayDeclaration: an item that is no object has no valueFrom, so nothing is read from it
    (Array.isArray(at.container.env) ? at.container.env : []).forEach((variable: Json, index: number) => {
      const ref = variable?.valueFrom?.configMapKeyRef;
      if (isPlainObject(ref)) {
        refs.push({
          name: ref.name, key: ref.key, path: `${at.path}.env[${index}].valueFrom.configMapKeyRef`,
          optional: ref.optional === true, what: `${containerName(at)} env ${show(variable.name)}`,
        });
      }
    });
  }
  // Stryker disable next-line ArrayDeclaration: a volume that is no mapping has no configMap or projected sources, so a non-empty default finds nothing either
  (Array.isArray(template.spec.volumes) ? template.spec.volumes : []).forEach((volume: Json, index: number) => {
    const path = `${template.specPath}.volumes[${index}]`;
    const sources: Array<[Json, string]> = [];
    if (isPlainObject(volume?.configMap)) sources.push([volume.configMap, `${path}.configMap`]);
    // Stryker disable next-line ArrayDeclaration: a projected source that is no mapping has no configMap, so a non-empty default finds nothing either
    (Array.isArray(volume?.projected?.sources) ? volume.projected.sources : []).forEach((source: Json, i: number) => {
      if (isPlainObject(source?.configMap)) sources.push([source.configMap, `${path}.projected.sources[${i}].configMap`]);
    });
    for (const [ref, refPath] of sources) {
      const what = `volume ${show(volume.name)}`;
      refs.push({ name: ref.name, path: `${refPath}.name`, optional: ref.optional === true, what });
      (Array.isArray(ref.items) ? ref.items : []).forEach((item: Json, i: number) => {
        refs.push({ name: ref.name, key: item?.key, path: `${refPath}.items[${i}]`, optional: ref.optional === true, what });
      });
    }
  });
  return refs;
}

/** Ports of the pods a Service selects: by name and by number. */
function portsOf(workloads: KubeObject[], ctx: CheckContext): { names: Set<string>; numbers: Set<number> } {
  const names = new Set<string>();
  const numbers = new Set<number>();
  for (const workload of workloads) {
    for (const at of allContainers(templateOf(workload, ctx)!)) {
      // Stryker disable next-line ArrayDeclaration: a port entry that is no mapping has no string name nor integer containerPort, so a non-empty default adds nothing either
      for (const port of Array.isArray(at.container.ports) ? at.container.ports : []) {
        if (typeof port?.name === 'string') names.add(port.name);
        if (Number.isInteger(port?.containerPort)) numbers.add(port.containerPort);
      }
    }
  }
  return { names, numbers };
}

/** Workloads a Service routes to: called only for Services that route by selector, so the selector is a non-empty map. */
function selectedByService(service: KubeObject, ctx: CheckContext): KubeObject[] {
  const selector = service.manifest.spec.selector;
  return workloadsSelected(ctx, service.namespace, (labels) => mapSelectorMatches(selector, labels));
}

/** Services that route by selector: ExternalName and selector-less Services (manual endpoints) route elsewhere. */
function routesBySelector(service: KubeObject): boolean {
  const spec = service.manifest.spec;
  return spec?.type !== 'ExternalName' && isPlainObject(spec?.selector) && Object.keys(spec.selector).length > 0;
}

/** ConfigMaps Kubernetes itself publishes in every namespace: referencing them needs nothing in the set. */
const CLUSTER_PUBLISHED_CONFIGMAPS = new Set(['kube-root-ca.crt']);

export const wiringRules: Rule[] = [
  {
    id: 'wiring/namespace',
    summary: 'every namespaced object names its namespace (never left to the kubectl context)',
    appliesTo: (obj, ctx) => ctx.isNamespaced(obj),
    check(obj) {
      if (obj.namespace) return [];
      return [{ path: 'metadata.namespace', message: `${obj.kind} has no metadata.namespace: apply would put it in whatever namespace the kubectl context points at; set it (honeydue)` }];
    },
  },
  {
    id: 'wiring/duplicate',
    summary: 'no two objects share API group, kind, namespace and name (the second apply overwrites the first)',
    appliesTo: () => true,
    check(obj, ctx) {
      const first = ctx.objects.find((other) => identity(other) === identity(obj));
      if (!first || first === obj) return [];
      return [{ path: 'metadata.name', message: `${obj.label} is defined twice (first in ${first.doc.file}): the later apply silently replaces the earlier one; rename or remove one` }];
    },
  },
  {
    id: 'wiring/secret-data',
    summary: 'no Secret carries data or stringData: secret values are created out of band, never in the repo or dist/',
    appliesTo: isKind('', 'Secret'),
    check(obj) {
      return (['data', 'stringData'] as const)
        .filter((field) => obj.manifest[field] !== undefined && obj.manifest[field] !== null)
        .map((field) => ({
          path: field,
          message: `Secret carries ${field} (keys ${show(isPlainObject(obj.manifest[field]) ? Object.keys(obj.manifest[field]) : obj.manifest[field])}): ` +
            'secret values must never reach the repo or dist/; delete the Secret from the stack and create it with kubectl out of band',
        }));
    },
  },
  {
    id: 'wiring/service-selector',
    summary: 'a Service selector matches the pod labels of some workload in its namespace',
    appliesTo: (obj) => isService(obj) && routesBySelector(obj),
    check(service, ctx) {
      if (selectedByService(service, ctx).length > 0) return [];
      return [{
        path: 'spec.selector',
        message: `Service selector ${show(service.manifest.spec.selector)} matches no pod template in namespace ${show(service.namespace)}: ` +
          'the Service would have no endpoints; select the workload\'s app.kubernetes.io/name label',
      }];
    },
  },
  {
    id: 'wiring/service-target-port',
    summary: 'every Service targetPort names or numbers a containerPort of the pods it selects',
    appliesTo: (obj) => isService(obj) && routesBySelector(obj),
    check(service, ctx) {
      const selected = selectedByService(service, ctx);
      if (selected.length === 0) return [];
      const { names, numbers } = portsOf(selected, ctx);
      const found: Violation[] = [];
      (Array.isArray(service.manifest.spec.ports) ? service.manifest.spec.ports : []).forEach((port: Json, index: number) => {
        const target = port?.targetPort ?? port?.port;
        const ok = typeof target === 'string' ? names.has(target) : numbers.has(target);
        if (!ok) {
          found.push({
            path: `spec.ports[${index}].targetPort`,
            message: `Service port ${show(port?.port)} targets ${show(target)}, which no selected container declares ` +
              `(declared: ${[...names, ...numbers].map(String).join(', ') || 'none'}): point targetPort at the container's port`,
          });
        }
      });
      return found;
    },
  },
  {
    id: 'wiring/pdb-selector',
    summary: 'a PodDisruptionBudget selects the pods of some workload in its namespace',
    appliesTo: isPdb,
    check(pdb, ctx) {
      const selector = pdb.manifest.spec?.selector;
      if (isPlainObject(selector) && workloadsSelected(ctx, pdb.namespace, (labels) => labelSelectorMatches(selector, labels)).length > 0) return [];
      return [{
        path: 'spec.selector',
        message: `PodDisruptionBudget selector ${show(selector)} selects no pod template in namespace ${show(pdb.namespace)}: it protects nothing; select the workload's app.kubernetes.io/name label`,
      }];
    },
  },
  {
    id: 'wiring/pdb-blocks-drain',
    summary: 'a PodDisruptionBudget leaves at least one pod evictable: minAvailable below the replicas (the HPA minimum when autoscaled), maxUnavailable above 0',
    appliesTo: isPdb,
    check(pdb, ctx) {
      const spec = isPlainObject(pdb.manifest.spec) ? pdb.manifest.spec : {};
      const selector = spec.selector;
      if (!isPlainObject(selector)) return [];
      const workloads = workloadsSelected(ctx, pdb.namespace, (labels) => labelSelectorMatches(selector, labels));
      const counted = workloads.filter(isReplicated);
      if (counted.length === 0) return [];
      const replicas = counted.reduce((sum, workload) => sum + steadyReplicas(workload, ctx), 0);
      const names = counted.map((w) => `${w.kind} ${w.name}`).join(', ');
      const source = counted.some((w) => autoscalersOf(w, ctx).length > 0) ? 'the HPA minReplicas of' : 'the replicas of';
      if (spec.minAvailable === undefined && spec.maxUnavailable === undefined) {
        return [{ path: 'spec', message: 'PodDisruptionBudget sets neither minAvailable nor maxUnavailable: set minAvailable below the replicas (0 for a singleton)' }];
      }
      if (spec.minAvailable !== undefined) {
        const minAvailable = scaled(spec.minAvailable, replicas);
        if (minAvailable !== undefined && replicas > 0 && minAvailable >= replicas) {
          return [{
            path: 'spec.minAvailable',
            message: `minAvailable ${show(spec.minAvailable)} is not below ${replicas}, ${source} ${names}: no pod may ever be evicted, so every node drain hangs ` +
              `(the worker-pdb production bug); set minAvailable to ${Math.max(0, replicas - 1)} or lower`,
          }];
        }
      }
      if (spec.maxUnavailable !== undefined && scaled(spec.maxUnavailable, replicas) === 0) {
        return [{
          path: 'spec.maxUnavailable',
          message: `maxUnavailable ${show(spec.maxUnavailable)} allows no eviction of ${names}: every node drain hangs; set maxUnavailable to 1`,
        }];
      }
      return [];
    },
  },
  {
    id: 'wiring/pdb-unhealthy-eviction',
    summary: `a PodDisruptionBudget lets a drain evict pods that are not Ready (unhealthyPodEvictionPolicy: ${UNHEALTHY_POD_EVICTION_POLICY})`,
    appliesTo: isPdb,
    check(pdb) {
      const policy = isPlainObject(pdb.manifest.spec) ? pdb.manifest.spec.unhealthyPodEvictionPolicy : undefined;
      if (policy === UNHEALTHY_POD_EVICTION_POLICY) return [];
      return [{
        path: 'spec.unhealthyPodEvictionPolicy',
        message: `unhealthyPodEvictionPolicy is ${show(policy)}: a pod stuck in CrashLoopBackOff counts against the budget, ` +
          `so the budget is never met and a node drain waits forever on a pod that serves nothing; set it to ${UNHEALTHY_POD_EVICTION_POLICY}`,
      }];
    },
  },
  {
    id: 'wiring/hpa-target',
    summary: 'a HorizontalPodAutoscaler\'s scaleTargetRef names a workload in the set',
    appliesTo: isHpa,
    check(hpa, ctx) {
      const target = hpa.manifest.spec?.scaleTargetRef;
      const group = typeof target?.apiVersion === 'string' ? apiGroupOf(target.apiVersion) : '';
      if (isPlainObject(target) && ctx.find(group, String(target.kind), hpa.namespace, String(target.name))) return [];
      return [{
        path: 'spec.scaleTargetRef',
        message: `scaleTargetRef ${show(target)} names no object in namespace ${show(hpa.namespace)}: the autoscaler would scale nothing; point it at the Deployment (apiVersion apps/v1, kind Deployment, its name)`,
      }];
    },
  },
  {
    id: 'wiring/hpa-pinned-replicas',
    summary: 'a workload scaled by an HPA does not also pin spec.replicas (each apply would undo the autoscaler)',
    appliesTo: isReplicated,
    check(workload, ctx) {
      const hpas = autoscalersOf(workload, ctx);
      if (hpas.length === 0 || workload.manifest.spec?.replicas === undefined) return [];
      return [{
        path: 'spec.replicas',
        message: `spec.replicas is ${show(workload.manifest.spec.replicas)} while HorizontalPodAutoscaler ${hpas[0].name} scales this ${workload.kind}: ` +
          'every apply resets the count the autoscaler chose; omit spec.replicas when the HPA is on',
      }];
    },
  },
  {
    id: 'wiring/configmap-ref',
    summary: 'every ConfigMap a pod references (envFrom, configMapKeyRef with its key, volumes) is in the set',
    appliesTo: hasPodTemplate,
    check(obj, ctx) {
      const found: Violation[] = [];
      for (const ref of configMapRefs(templateOf(obj, ctx)!)) {
        if (ref.optional || CLUSTER_PUBLISHED_CONFIGMAPS.has(String(ref.name))) continue;
        const configMap = typeof ref.name === 'string' ? ctx.find('', 'ConfigMap', obj.namespace, ref.name) : undefined;
        if (!configMap) {
          // A volume item of a missing ConfigMap: the volume's own name reference already says so.
          if (ref.path.includes('.items[')) continue;
          found.push({
            path: ref.path,
            message: `${ref.what} references ConfigMap ${show(ref.name)}, which is not in namespace ${show(obj.namespace)} of the set: ` +
              'the pod would stay in CreateContainerConfigError; fix the name or add the ConfigMap',
          });
          continue;
        }
        if (ref.key === undefined) continue;
        const keys = new Set([...Object.keys(configMap.manifest.data ?? {}), ...Object.keys(configMap.manifest.binaryData ?? {})]);
        if (typeof ref.key !== 'string' || !keys.has(ref.key)) {
          found.push({
            path: `${ref.path}.key`,
            message: `${ref.what} reads key ${show(ref.key)} of ConfigMap ${show(ref.name)}, which has no such key ` +
              `(keys: ${[...keys].join(', ') || 'none'}): fix the key or add it to the config`,
          });
        }
      }
      return found;
    },
  },
  {
    id: 'wiring/service-account-ref',
    summary: 'every ServiceAccount a pod runs as, or a binding grants to in the stack\'s namespaces, is in the set (default excepted: the cluster creates it)',
    appliesTo: (obj, ctx) => hasPodTemplate(obj, ctx) || isBinding(obj),
    check(obj, ctx) {
      if (isBinding(obj)) return bindingSubjects(obj, ctx);
      const template = templateOf(obj, ctx)!;
      const field = template.spec.serviceAccountName !== undefined ? 'serviceAccountName' : 'serviceAccount';
      const name = template.spec[field];
      if (name === undefined || name === 'default') return [];
      if (typeof name === 'string' && ctx.find('', 'ServiceAccount', obj.namespace, name)) return [];
      return [{
        path: child(template.specPath, field),
        message: `${field} ${show(name)} is not a ServiceAccount in namespace ${show(obj.namespace)} of the set: ` +
          'the ReplicaSet cannot create pods (serviceaccount not found); add the ServiceAccount or fix the name',
      }];
    },
  },
  {
    id: 'wiring/ingress-backend',
    summary: 'every Ingress backend is a Service in the set that exposes that port (by number or name)',
    appliesTo: isIngress,
    check(ingress, ctx) {
      const found: Violation[] = [];
      const audit = (backend: unknown, path: string) => {
        if (!isPlainObject(backend) || !isPlainObject(backend.service)) return;
        const { name, port } = backend.service;
        const service = typeof name === 'string' ? ctx.find('', 'Service', ingress.namespace, name) : undefined;
        if (!service) {
          found.push({ path: `${path}.service.name`, message: `backend Service ${show(name)} is not in namespace ${show(ingress.namespace)} of the set: requests would get 503; fix the name or add the Service` });
          return;
        }
        const ports: Json[] = Array.isArray(service.manifest.spec?.ports) ? service.manifest.spec.ports : [];
        const ok = port?.number !== undefined ? ports.some((p) => p?.port === port.number) : ports.some((p) => p?.name === port?.name);
        if (!ok) {
          found.push({
            path: `${path}.service.port`,
            message: `backend port ${show(port)} is not a port of Service ${show(name)} (ports: ${ports.map((p) => p?.name ? `${p.name}/${p.port}` : String(p?.port)).join(', ') || 'none'}): ` +
              'use the Service port (not the containerPort)',
          });
        }
      };
      const spec = isPlainObject(ingress.manifest.spec) ? ingress.manifest.spec : {};
      audit(spec.defaultBackend, 'spec.defaultBackend');
      // Stryker disable next-line ArrayDeclaration: a rule that is no mapping has no http.paths, so a non-empty default audits nothing either
      (Array.isArray(spec.rules) ? spec.rules : []).forEach((rule: Json, r: number) => {
        // Stryker disable next-line ArrayDeclaration: a path that is no mapping has no backend, and audit() ignores a missing one
        (Array.isArray(rule?.http?.paths) ? rule.http.paths : []).forEach((entry: Json, p: number) => {
          audit(entry?.backend, `spec.rules[${r}].http.paths[${p}].backend`);
        });
      });
      return found;
    },
  },
];

/**
 * ServiceAccount subjects of a binding that point into a namespace the stack owns:
 * one it creates, or one where it defines ServiceAccounts. A grant to a system
 * account elsewhere (kube-system) is not ours to resolve.
 */
function bindingSubjects(binding: KubeObject, ctx: CheckContext): Violation[] {
  const managed = new Set<string>();
  for (const obj of ctx.objects) {
    if (obj.group === '' && obj.kind === 'Namespace') managed.add(obj.name);
    if (obj.group === '' && obj.kind === 'ServiceAccount' && obj.namespace) managed.add(obj.namespace);
  }
  const found: Violation[] = [];
  // Stryker disable next-line ArrayDeclaration: a subject that is no mapping is not a ServiceAccount, so a non-empty default finds nothing either
  (Array.isArray(binding.manifest.subjects) ? binding.manifest.subjects : []).forEach((subject: Json, index: number) => {
    if (subject?.kind !== 'ServiceAccount') return;
    const namespace = typeof subject.namespace === 'string' ? subject.namespace : binding.namespace;
    if (!managed.has(namespace) || subject.name === 'default') return;
    if (ctx.find('', 'ServiceAccount', namespace, String(subject.name))) return;
    found.push({
      path: `subjects[${index}]`,
      message: `${binding.kind} grants to ServiceAccount ${show(subject.name)} in ${show(namespace)}, which is not in the set: the grant reaches nobody (or a later namesake); fix the subject or add the ServiceAccount`,
    });
  });
  return found;
}
