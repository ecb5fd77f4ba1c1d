/**
 * Pod Security Standards, restricted profile, as Pod Security Admission enforces it
 * on Kubernetes 1.34: every baseline control plus the restricted ones. The namespace
 * carries `pod-security.kubernetes.io/enforce: restricted`, so a pod that fails any
 * of these is rejected by the API server: the Deployment applies, its ReplicaSet
 * never gets a pod, and the rollout hangs. We fail at synth instead.
 *
 * Every container list is audited (containers, initContainers, ephemeralContainers),
 * as admission does. The optional "non-root groups" control is not enforced by
 * admission and is not checked here.
 */
import { child, show } from '../paths';
import { isPlainObject } from '../objects';
import { allContainers, containerName, hasPodTemplate, templateOf, type ContainerAt, type PodTemplate } from '../workloads';
import type { Json, Rule, Violation } from '../types';

/** A pod-template rule: the engine applies it to every object that has pods. */
function podRule(id: string, summary: string, audit: (template: PodTemplate) => Violation[]): Rule {
  return { id, summary, appliesTo: hasPodTemplate, check: (obj, ctx) => audit(templateOf(obj, ctx)!) };
}

function securityContextOf(container: Json): Json {
  return isPlainObject(container.securityContext) ? container.securityContext : {};
}

function podSecurityContext(template: PodTemplate): Json {
  return isPlainObject(template.spec.securityContext) ? template.spec.securityContext : {};
}

const podContextPath = (template: PodTemplate) => `${template.specPath}.securityContext`;
const containerContextPath = (at: ContainerAt) => `${at.path}.securityContext`;

/** Sysctls that are namespaced per pod and safe to set (Pod Security Admission 1.32+). */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem',
]);

/** Volume sources the restricted profile allows: the ones that cannot reach the node or a foreign storage driver directly. */
const ALLOWED_VOLUME_SOURCES = new Set([
  'configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'image', 'persistentVolumeClaim', 'projected', 'secret',
]);

const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const PROFILE_TYPES = new Set(['RuntimeDefault', 'Localhost']);

export const podSecurityRules: Rule[] = [
  podRule('pss/host-process', 'no Windows HostProcess pods or containers', (template) => {
    const found: Violation[] = [];
    const check = (context: Json, path: string, who: string) => {
      if (context.windowsOptions?.hostProcess === true) {
        found.push({ path: `${path}.windowsOptions.hostProcess`, message: `${who} sets windowsOptions.hostProcess to true: a HostProcess container is a process on the node; remove it` });
      }
    };
    check(podSecurityContext(template), podContextPath(template), 'the pod');
    for (const at of allContainers(template)) check(securityContextOf(at.container), containerContextPath(at), containerName(at));
    return found;
  }),

  podRule('pss/host-namespaces', 'hostNetwork, hostPID and hostIPC are unset or false', (template) =>
    (['hostNetwork', 'hostPID', 'hostIPC'] as const)
      .filter((field) => template.spec[field] === true)
      .map((field) => ({
        path: child(template.specPath, field),
        message: `${field} is true: the pod would share the node's ${field.slice(4)} namespace, which the restricted profile forbids; remove it`,
      }))),

  podRule('pss/privileged', 'no privileged containers', (template) =>
    allContainers(template)
      .filter((at) => securityContextOf(at.container).privileged === true)
      .map((at) => ({
        path: `${containerContextPath(at)}.privileged`,
        message: `${containerName(at)} sets privileged to true: it would get every device and capability of the node; remove it or set false`,
      }))),

  podRule('pss/capabilities', 'every container drops ALL capabilities and adds none but NET_BIND_SERVICE', (template) => {
    const found: Violation[] = [];
    for (const at of allContainers(template)) {
      const capabilities = securityContextOf(at.container).capabilities ?? {};
      // Stryker disable next-line ArrayDeclaration: a default that does not hold 'ALL' fails the same way, and the message shows the field as written
      const drop: unknown[] = Array.isArray(capabilities.drop) ? capabilities.drop : [];
      if (!drop.includes('ALL')) {
        found.push({
          path: `${containerContextPath(at)}.capabilities.drop`,
          message: `${containerName(at)} drops ${show(capabilities.drop)}, not ALL: the runtime's default capabilities stay; set capabilities.drop: [ALL]`,
        });
      }
      const add: unknown[] = Array.isArray(capabilities.add) ? capabilities.add : [];
      add.forEach((capability, index) => {
        if (capability !== 'NET_BIND_SERVICE') {
          found.push({
            path: `${containerContextPath(at)}.capabilities.add[${index}]`,
            message: `${containerName(at)} adds capability ${show(capability)}: only NET_BIND_SERVICE may be added; remove it`,
          });
        }
      });
    }
    return found;
  }),

  podRule('pss/volume-types', 'volumes are configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected or secret (no hostPath)', (template) => {
    const found: Violation[] = [];
    // Stryker disable next-line ArrayDeclaration: an entry that is no mapping is skipped, so a non-empty default finds nothing either
    const volumes: unknown[] = Array.isArray(template.spec.volumes) ? template.spec.volumes : [];
    volumes.forEach((volume, index) => {
      if (!isPlainObject(volume)) return;
      const path = `${template.specPath}.volumes[${index}]`;
      const sources = Object.keys(volume).filter((key) => key !== 'name');
      for (const source of sources.filter((key) => !ALLOWED_VOLUME_SOURCES.has(key))) {
        found.push({
          path: `${path}.${source}`,
          message: `volume ${show(volume.name)} is a ${source} volume: the restricted profile allows only ${[...ALLOWED_VOLUME_SOURCES].join(', ')}` +
            (source === 'hostPath' ? ' (hostPath exposes the node filesystem)' : '') + '; use a persistentVolumeClaim or an emptyDir',
        });
      }
    });
    return found;
  }),

  podRule('pss/host-ports', 'no container port binds a hostPort', (template) => {
    const found: Violation[] = [];
    for (const at of allContainers(template)) {
      // Stryker disable next-line ArrayDeclaration: an entry that is no mapping is skipped, so a non-empty default finds nothing either
      const ports: unknown[] = Array.isArray(at.container.ports) ? at.container.ports : [];
      ports.forEach((port, index) => {
        if (isPlainObject(port) && port.hostPort !== undefined && port.hostPort !== 0) {
          found.push({
            path: `${at.path}.ports[${index}].hostPort`,
            message: `${containerName(at)} binds hostPort ${show(port.hostPort)}: a host port ties the pod to one per node and is forbidden; remove hostPort and reach the pod through a Service`,
          });
        }
      });
    }
    return found;
  }),

  podRule('pss/host-probes', 'probes and lifecycle hooks do not set a host (Kubernetes 1.34 baseline)', (template) => {
    const found: Violation[] = [];
    for (const at of allContainers(template)) {
      const handlers: Array<[string, unknown]> = [
        ['livenessProbe', at.container.livenessProbe],
        ['readinessProbe', at.container.readinessProbe],
        ['startupProbe', at.container.startupProbe],
        ['lifecycle.postStart', at.container.lifecycle?.postStart],
        ['lifecycle.preStop', at.container.lifecycle?.preStop],
      ];
      for (const [where, handler] of handlers) {
        if (!isPlainObject(handler)) continue;
        for (const action of ['httpGet', 'tcpSocket']) {
          const host = handler[action]?.host;
          if (typeof host === 'string' && host !== '') {
            found.push({
              path: `${at.path}.${where}.${action}.host`,
              message: `${containerName(at)} ${where} targets host ${show(host)}: the kubelet would call another address from the node; remove host to probe the pod itself`,
            });
          }
        }
      }
    }
    return found;
  }),

  podRule('pss/apparmor', 'AppArmor profile is RuntimeDefault or Localhost, never Unconfined', (template) => {
    const found: Violation[] = [];
    const check = (context: Json, path: string, who: string) => {
      const type = context.appArmorProfile?.type;
      if (type !== undefined && !PROFILE_TYPES.has(type)) {
        found.push({ path: `${path}.appArmorProfile.type`, message: `${who} sets appArmorProfile.type ${show(type)}: use RuntimeDefault (or Localhost with a loaded profile)` });
      }
    };
    check(podSecurityContext(template), podContextPath(template), 'the pod');
    for (const at of allContainers(template)) check(securityContextOf(at.container), containerContextPath(at), containerName(at));
    const annotations = isPlainObject(template.metadata.annotations) ? template.metadata.annotations : {};
    for (const [key, value] of Object.entries(annotations)) {
      if (!key.startsWith('container.apparmor.security.beta.kubernetes.io/')) continue;
      if (value === '' || value === 'runtime/default' || (typeof value === 'string' && value.startsWith('localhost/'))) continue;
      found.push({ path: child(`${template.metadataPath}.annotations`, key), message: `AppArmor annotation ${show(key)} is ${show(value)}: use runtime/default, or better appArmorProfile.type RuntimeDefault` });
    }
    return found;
  }),

  podRule('pss/selinux', 'SELinux type is a container type (or unset); user and role are unset', (template) => {
    const found: Violation[] = [];
    const check = (context: Json, path: string, who: string) => {
      const options = context.seLinuxOptions;
      if (!isPlainObject(options)) return;
      if (options.type !== undefined && !SELINUX_TYPES.has(options.type)) {
        found.push({ path: `${path}.seLinuxOptions.type`, message: `${who} sets SELinux type ${show(options.type)}: only container_t, container_init_t, container_kvm_t or container_engine_t are allowed; remove it` });
      }
      for (const field of ['user', 'role']) {
        if (typeof options[field] === 'string' && options[field] !== '') {
          found.push({ path: `${path}.seLinuxOptions.${field}`, message: `${who} sets SELinux ${field} ${show(options[field])}: a custom SELinux ${field} is forbidden; remove it` });
        }
      }
    };
    check(podSecurityContext(template), podContextPath(template), 'the pod');
    for (const at of allContainers(template)) check(securityContextOf(at.container), containerContextPath(at), containerName(at));
    return found;
  }),

  podRule('pss/proc-mount', 'procMount is unset or Default (the masked /proc)', (template) =>
    allContainers(template)
      .filter((at) => {
        const procMount = securityContextOf(at.container).procMount;
        return procMount !== undefined && procMount !== 'Default';
      })
      .map((at) => ({
        path: `${containerContextPath(at)}.procMount`,
        message: `${containerName(at)} sets procMount ${show(securityContextOf(at.container).procMount)}: an unmasked /proc exposes the host kernel; remove it`,
      }))),

  podRule('pss/seccomp', 'seccomp profile RuntimeDefault or Localhost on the pod, or on every container', (template) => {
    const found: Violation[] = [];
    const podType = podSecurityContext(template).seccompProfile?.type;
    const podPath = `${podContextPath(template)}.seccompProfile.type`;
    if (podType !== undefined && !PROFILE_TYPES.has(podType)) {
      found.push({ path: podPath, message: `the pod's seccompProfile.type is ${show(podType)}: set RuntimeDefault` });
    }
    for (const at of allContainers(template)) {
      const type = securityContextOf(at.container).seccompProfile?.type;
      const path = `${containerContextPath(at)}.seccompProfile.type`;
      if (type !== undefined && !PROFILE_TYPES.has(type)) {
        found.push({ path, message: `${containerName(at)} sets seccompProfile.type ${show(type)}: remove it or set RuntimeDefault` });
      } else if (type === undefined && podType === undefined) {
        // Stryker disable next-line Regex: pod spec paths come from fixed routes that hold no ".type", so the first ".type" of podPath is its last
        found.push({ path, message: `${containerName(at)} runs without a seccomp profile: set ${podPath.replace(/\.type$/, '')}.type: RuntimeDefault for the whole pod` });
      }
    }
    return found;
  }),

  podRule('pss/sysctls', 'only the namespaced, safe sysctls', (template) => {
    const sysctls: unknown[] = Array.isArray(podSecurityContext(template).sysctls) ? podSecurityContext(template).sysctls : [];
    const found: Violation[] = [];
    sysctls.forEach((sysctl, index) => {
      const name = isPlainObject(sysctl) ? sysctl.name : undefined;
      if (!SAFE_SYSCTLS.has(name)) {
        found.push({ path: `${podContextPath(template)}.sysctls[${index}].name`, message: `sysctl ${show(name)} is not in the safe set (it is node-wide or not namespaced): remove it` });
      }
    });
    return found;
  }),

  podRule('pss/privilege-escalation', 'every container sets allowPrivilegeEscalation: false', (template) =>
    allContainers(template)
      .filter((at) => securityContextOf(at.container).allowPrivilegeEscalation !== false)
      .map((at) => ({
        path: `${containerContextPath(at)}.allowPrivilegeEscalation`,
        message: `${containerName(at)} has allowPrivilegeEscalation ${show(securityContextOf(at.container).allowPrivilegeEscalation)}: setuid binaries could gain root; set it to false`,
      }))),

  podRule('pss/run-as-non-root', 'runAsNonRoot: true on the pod (containers may not override it to false) or on every container', (template) => {
    const found: Violation[] = [];
    const podValue = podSecurityContext(template).runAsNonRoot;
    const podPath = `${podContextPath(template)}.runAsNonRoot`;
    if (podValue === false) found.push({ path: podPath, message: 'the pod sets runAsNonRoot to false: set it to true' });
    for (const at of allContainers(template)) {
      const value = securityContextOf(at.container).runAsNonRoot;
      const path = `${containerContextPath(at)}.runAsNonRoot`;
      if (value === false) {
        found.push({ path, message: `${containerName(at)} sets runAsNonRoot to false: remove it so the pod's true applies` });
      } else if (value === undefined && podValue !== true) {
        found.push({ path, message: `${containerName(at)} may run as root (runAsNonRoot unset on the container and the pod): set ${podPath}: true` });
      }
    }
    return found;
  }),

  podRule('pss/run-as-user', 'runAsUser is never 0 (root), on the pod or any container', (template) => {
    const found: Violation[] = [];
    if (podSecurityContext(template).runAsUser === 0) {
      found.push({ path: `${podContextPath(template)}.runAsUser`, message: 'the pod sets runAsUser 0 (root): use the image\'s non-root uid (api 1000, admin 1001, redis 999)' });
    }
    for (const at of allContainers(template)) {
      if (securityContextOf(at.container).runAsUser === 0) {
        found.push({ path: `${containerContextPath(at)}.runAsUser`, message: `${containerName(at)} sets runAsUser 0 (root): use a non-zero uid` });
      }
    }
    return found;
  }),
];
