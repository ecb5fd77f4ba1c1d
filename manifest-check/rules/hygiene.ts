/**
 * Workload hygiene: what keeps a rollout predictable and a compromised pod contained,
 * beyond what admission enforces.
 */
import { child, show } from '../paths';
import { isPlainObject } from '../objects';
import { parseQuantity } from '../quantity';
import { parseImageReference } from '../manifests';
import { allContainers, containerName, hasPodTemplate, templateOf, type ContainerAt, type PodTemplate } from '../workloads';
import type { CheckContext, Json, KubeObject, Rule, Violation } from '../types';

function podRule(id: string, summary: string, audit: (template: PodTemplate, obj: KubeObject, ctx: CheckContext) => Violation[]): Rule {
  return { id, summary, appliesTo: hasPodTemplate, check: (obj, ctx) => audit(templateOf(obj, ctx)!, obj, ctx) };
}

/** Containers that run with the pod's lifetime and own resources: regular and init, not ephemeral debug ones. */
function runningContainers(template: PodTemplate): ContainerAt[] {
  return allContainers(template).filter((at) => at.list !== 'ephemeralContainers');
}

/** The tag of an image reference, '' when there is none; a digest pin counts as a tag. */
export function imageTag(image: string): string {
  const reference = parseImageReference(image);
  return reference.digest ?? reference.tag ?? '';
}

const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;

function declaredPorts(container: Json): Json[] {
  // Stryker disable next-line ArrayDeclaration: the filter drops whatever the empty list would hold
  return (Array.isArray(container.ports) ? container.ports : []).filter(isPlainObject);
}

export const hygieneRules: Rule[] = [
  podRule('hygiene/image-tag', 'every image names a tag (or digest) and the tag is not latest', (template) => {
    const found: Violation[] = [];
    for (const at of allContainers(template)) {
      const image = at.container.image;
      if (typeof image !== 'string' || image === '') {
        found.push({ path: `${at.path}.image`, message: `${containerName(at)} has no image (got ${show(image)}): set the release image` });
        continue;
      }
      const tag = imageTag(image);
      if (tag === '' || tag === 'latest') {
        found.push({
          path: `${at.path}.image`,
          message: `${containerName(at)} image ${show(image)} ${tag ? 'is tagged latest' : 'has no tag (it means latest)'}: ` +
            'with imagePullPolicy IfNotPresent a node keeps running a stale image; pin the release tag (the git SHA)',
        });
      }
    }
    return found;
  }),

  podRule('hygiene/resources', 'every container requests and limits cpu and memory, requests not above limits', (template) => {
    const found: Violation[] = [];
    for (const at of runningContainers(template)) {
      const resources = isPlainObject(at.container.resources) ? at.container.resources : {};
      for (const bound of ['requests', 'limits'] as const) {
        const values = isPlainObject(resources[bound]) ? resources[bound] : {};
        for (const resource of ['cpu', 'memory'] as const) {
          if (values[resource] === undefined) {
            found.push({
              path: `${at.path}.resources.${bound}.${resource}`,
              message: `${containerName(at)} sets no ${resource} ${bound === 'requests' ? 'request' : 'limit'}: ` +
                (bound === 'requests' ? 'the scheduler cannot place it fairly' : 'one pod can starve the node') + `; set resources.${bound}.${resource}`,
            });
          }
        }
      }
      const requests = isPlainObject(resources.requests) ? resources.requests : {};
      const limits = isPlainObject(resources.limits) ? resources.limits : {};
      for (const resource of ['cpu', 'memory'] as const) {
        const request = parseQuantity(requests[resource]);
        const limit = parseQuantity(limits[resource]);
        if (request !== undefined && limit !== undefined && request > limit) {
          found.push({
            path: `${at.path}.resources.requests.${resource}`,
            message: `${containerName(at)} requests ${resource} ${show(requests[resource])} above its limit ${show(limits[resource])}: the API server rejects the pod; lower the request or raise the limit`,
          });
        }
      }
    }
    return found;
  }),

  podRule('hygiene/probes', 'containers that declare ports have readiness and liveness probes (Jobs and CronJobs exempt)', (template) => {
    if (template.runsToCompletion) return [];
    const found: Violation[] = [];
    for (const at of allContainers(template).filter((c) => c.list === 'containers')) {
      if (declaredPorts(at.container).length === 0) continue;
      for (const probe of ['readinessProbe', 'livenessProbe'] as const) {
        if (!isPlainObject(at.container[probe])) {
          found.push({
            path: `${at.path}.${probe}`,
            message: `${containerName(at)} serves ports but has no ${probe}: ` +
              (probe === 'readinessProbe' ? 'its Service sends traffic before it is ready' : 'a hung process is never restarted') + `; add a ${probe}`,
          });
        }
      }
    }
    return found;
  }),

  podRule('hygiene/probe-port', 'every probe port names or numbers a containerPort the container declares', (template) => {
    const found: Violation[] = [];
    for (const at of runningContainers(template)) {
      const ports = declaredPorts(at.container);
      for (const probe of PROBES) {
        const handler = at.container[probe];
        if (!isPlainObject(handler)) continue;
        for (const action of ['httpGet', 'tcpSocket', 'grpc']) {
          const port = handler[action]?.port;
          if (port === undefined) continue;
          const declared = typeof port === 'string' ? ports.some((p) => p.name === port) : ports.some((p) => p.containerPort === port);
          if (!declared) {
            const offered = ports.map((p) => (p.name ? `${p.name} (${p.containerPort})` : String(p.containerPort))).join(', ') || 'none';
            found.push({
              path: `${at.path}.${probe}.${action}.port`,
              message: `${containerName(at)} ${probe} probes port ${show(port)}, which the container does not declare (declared: ${offered}): ` +
                'probe a declared port, or declare it under ports',
            });
          }
        }
      }
    }
    return found;
  }),

  podRule('hygiene/read-only-root-fs', 'every container sets readOnlyRootFilesystem: true (write to emptyDir mounts)', (template) =>
    runningContainers(template)
      .filter((at) => at.container.securityContext?.readOnlyRootFilesystem !== true)
      .map((at) => ({
        path: `${at.path}.securityContext.readOnlyRootFilesystem`,
        message: `${containerName(at)} has readOnlyRootFilesystem ${show(at.container.securityContext?.readOnlyRootFilesystem)}: ` +
          'an intruder could rewrite the image; set it to true and mount an emptyDir where the app writes (/tmp)',
      }))),

  podRule('hygiene/empty-dir-size-limit', 'every emptyDir volume sets a sizeLimit', (template) => {
    // Stryker disable next-line ArrayDeclaration: an entry that is no mapping yields no finding, so a non-empty default finds nothing either
    const volumes = Array.isArray(template.spec.volumes) ? template.spec.volumes : [];
    return volumes.flatMap((volume: Json, i: number) =>
      isPlainObject(volume) && isPlainObject(volume.emptyDir) && volume.emptyDir.sizeLimit === undefined
        ? [{
            path: `${child(template.specPath, 'volumes')}[${i}].emptyDir.sizeLimit`,
            message: `emptyDir volume ${show(volume.name)} has no sizeLimit: what the pod writes there (a cache, a queue) grows on the node's disk ` +
              'until the node runs out and the kubelet evicts pods at random; set emptyDir.sizeLimit, so only this pod is evicted when it overruns',
          }]
        : [],
    );
  }),

  podRule('hygiene/service-account-token', 'the pod does not mount a ServiceAccount token (automountServiceAccountToken: false on the pod or its ServiceAccount)', (template, obj, ctx) => {
    const podValue = template.spec.automountServiceAccountToken;
    const path = child(template.specPath, 'automountServiceAccountToken');
    if (podValue === false) return [];
    if (podValue === true) {
      return [{
        path,
        message: 'automountServiceAccountToken is true: every container carries an API token that anyone who gets into the pod can use; ' +
          'set it to false (a workload that needs the API can mount a projected serviceAccountToken volume in one container)',
      }];
    }
    const accountName = typeof template.spec.serviceAccountName === 'string' ? template.spec.serviceAccountName : 'default';
    const account = ctx.find('', 'ServiceAccount', obj.namespace, accountName);
    if (account && account.manifest.automountServiceAccountToken === false) return [];
    return [{
      path,
      message: `automountServiceAccountToken is unset and ServiceAccount ${show(accountName)} ` +
        (account ? 'does not disable it' : 'is not in the set') + ': every pod would carry an API token; set automountServiceAccountToken: false on the pod spec',
    }];
  }),
];
