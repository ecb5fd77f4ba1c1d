/**
 * Pod Security Standards, restricted: every control fails on the field that breaks
 * it, on every kind that carries a pod template, and passes on the hardened stack.
 */
import { check, expectFindings, goodDocs, goodPlus, goodWith, meta, objectIn } from './check-helpers';

const API = 'Deployment honeydue/api';
const pod = 'spec.template.spec';
const api = `${pod}.containers[0]`;
const apiContext = `${api}.securityContext`;

/** The good set with the api Deployment's pod spec edited. */
const apiPodWith = (edit: (spec: any, container: any) => void) =>
  goodWith('Deployment', 'api', (d) => edit(d.spec.template.spec, d.spec.template.spec.containers[0]));

describe.each([
  ['pss/host-process', (spec: any) => { spec.securityContext.windowsOptions = { hostProcess: true }; }, `${pod}.securityContext.windowsOptions.hostProcess`],
  ['pss/host-namespaces', (spec: any) => { spec.hostNetwork = true; }, `${pod}.hostNetwork`],
  ['pss/host-namespaces', (spec: any) => { spec.hostPID = true; }, `${pod}.hostPID`],
  ['pss/host-namespaces', (spec: any) => { spec.hostIPC = true; }, `${pod}.hostIPC`],
  ['pss/privileged', (_: any, c: any) => { c.securityContext.privileged = true; }, `${apiContext}.privileged`],
  ['pss/capabilities', (_: any, c: any) => { delete c.securityContext.capabilities; }, `${apiContext}.capabilities.drop`],
  ['pss/capabilities', (_: any, c: any) => { c.securityContext.capabilities.drop = ['NET_RAW']; }, `${apiContext}.capabilities.drop`],
  ['pss/capabilities', (_: any, c: any) => { c.securityContext.capabilities.add = ['NET_BIND_SERVICE', 'SYS_ADMIN']; }, `${apiContext}.capabilities.add[1]`],
  ['pss/volume-types', (spec: any) => { spec.volumes.push({ name: 'host', hostPath: { path: '/var/run' } }); }, `${pod}.volumes[2].hostPath`],
  ['pss/volume-types', (spec: any) => { spec.volumes.push({ name: 'share', nfs: { server: 'nas', path: '/x' } }); }, `${pod}.volumes[2].nfs`],
  ['pss/host-ports', (_: any, c: any) => { c.ports[0].hostPort = 8000; }, `${api}.ports[0].hostPort`],
  ['pss/host-probes', (_: any, c: any) => { c.readinessProbe.httpGet.host = '10.0.0.1'; }, `${api}.readinessProbe.httpGet.host`],
  ['pss/host-probes', (_: any, c: any) => { c.lifecycle = { preStop: { tcpSocket: { port: 8000, host: 'node' } } }; }, `${api}.lifecycle.preStop.tcpSocket.host`],
  ['pss/apparmor', (_: any, c: any) => { c.securityContext.appArmorProfile = { type: 'Unconfined' }; }, `${apiContext}.appArmorProfile.type`],
  ['pss/apparmor', (spec: any) => { spec.securityContext.appArmorProfile = { type: 'Unconfined' }; }, `${pod}.securityContext.appArmorProfile.type`],
  ['pss/selinux', (_: any, c: any) => { c.securityContext.seLinuxOptions = { type: 'spc_t' }; }, `${apiContext}.seLinuxOptions.type`],
  ['pss/selinux', (spec: any) => { spec.securityContext.seLinuxOptions = { user: 'system_u' }; }, `${pod}.securityContext.seLinuxOptions.user`],
  ['pss/proc-mount', (_: any, c: any) => { c.securityContext.procMount = 'Unmasked'; }, `${apiContext}.procMount`],
  ['pss/seccomp', (spec: any) => { spec.securityContext.seccompProfile.type = 'Unconfined'; }, `${pod}.securityContext.seccompProfile.type`],
  ['pss/seccomp', (spec: any) => { delete spec.securityContext.seccompProfile; }, `${apiContext}.seccompProfile.type`],
  ['pss/seccomp', (_: any, c: any) => { c.securityContext.seccompProfile = { type: 'Unconfined' }; }, `${apiContext}.seccompProfile.type`],
  ['pss/sysctls', (spec: any) => { spec.securityContext.sysctls = [{ name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'kernel.msgmax', value: '65536' }]; }, `${pod}.securityContext.sysctls[1].name`],
  ['pss/privilege-escalation', (_: any, c: any) => { delete c.securityContext.allowPrivilegeEscalation; }, `${apiContext}.allowPrivilegeEscalation`],
  ['pss/privilege-escalation', (_: any, c: any) => { c.securityContext.allowPrivilegeEscalation = true; }, `${apiContext}.allowPrivilegeEscalation`],
  ['pss/run-as-non-root', (spec: any) => { delete spec.securityContext.runAsNonRoot; }, `${apiContext}.runAsNonRoot`],
  ['pss/run-as-non-root', (_: any, c: any) => { c.securityContext.runAsNonRoot = false; }, `${apiContext}.runAsNonRoot`],
  ['pss/run-as-user', (spec: any) => { spec.securityContext.runAsUser = 0; }, `${pod}.securityContext.runAsUser`],
  ['pss/run-as-user', (_: any, c: any) => { c.securityContext.runAsUser = 0; }, `${apiContext}.runAsUser`],
])('%s', (rule, edit, path) => {
  test(`fails at ${path}`, () => {
    const report = check(apiPodWith(edit));
    expectFindings(report, [{ rule, object: API, path }]);
    expect(report.findings[0].message.length).toBeGreaterThan(30);
  });

  test('passes on every pod template of the hardened stack', () => {
    const tally = check(goodDocs()).byRule.get(rule)!;
    // api, admin, worker, redis, vmagent Deployments and the migrate Job.
    expect(tally).toEqual({ passed: 6, failed: 0 });
  });
});

describe('pss/run-as-non-root on the pod', () => {
  test('fails on a pod that sets runAsNonRoot to false, and on each container it leaves unset', () => {
    const report = check(apiPodWith((spec) => { spec.securityContext.runAsNonRoot = false; }));
    expect(report.findings.map((f) => [f.rule, f.path, f.message])).toEqual([
      ['pss/run-as-non-root', `${pod}.securityContext.runAsNonRoot`, 'the pod sets runAsNonRoot to false: set it to true'],
      ['pss/run-as-non-root', `${apiContext}.runAsNonRoot`, `container "api" may run as root (runAsNonRoot unset on the container and the pod): set ${pod}.securityContext.runAsNonRoot: true`],
    ]);
  });
});

describe('allowed values pass', () => {
  test.each([
    ['NET_BIND_SERVICE added on top of drop ALL', (_: any, c: any) => { c.securityContext.capabilities.add = ['NET_BIND_SERVICE']; }],
    ['the seccomp profile set per container instead of per pod', (spec: any, c: any) => {
      delete spec.securityContext.seccompProfile;
      c.securityContext.seccompProfile = { type: 'RuntimeDefault' };
    }],
    ['runAsNonRoot set per container instead of per pod', (spec: any, c: any) => {
      delete spec.securityContext.runAsNonRoot;
      c.securityContext.runAsNonRoot = true;
    }],
    ['a safe sysctl', (spec: any) => { spec.securityContext.sysctls = [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }]; }],
    // The baseline profile's list (Pod Security Standards, Kubernetes 1.32 and later), every one of them.
    ['every safe sysctl of the Pod Security Standards', (spec: any) => {
      spec.securityContext.sysctls = [
        'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range',
        'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time',
        'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes', 'net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem',
      ].map((name) => ({ name, value: '1' }));
    }],
    ['SELinux container_kvm_t, seccomp and AppArmor Localhost with a profile', (_: any, c: any) => {
      Object.assign(c.securityContext, {
        seLinuxOptions: { type: 'container_kvm_t' },
        seccompProfile: { type: 'Localhost', localhostProfile: 'honeydue/api.json' },
        appArmorProfile: { type: 'Localhost', localhostProfile: 'honeydue-api' },
      });
    }],
    ['AppArmor RuntimeDefault, SELinux container_t, procMount Default', (_: any, c: any) => {
      Object.assign(c.securityContext, { appArmorProfile: { type: 'RuntimeDefault' }, seLinuxOptions: { type: 'container_t' }, procMount: 'Default' });
    }],
    ['hostPort 0 and an empty probe host', (_: any, c: any) => { c.ports[0].hostPort = 0; c.readinessProbe.httpGet.host = ''; }],
    ['an SELinux user and role set empty', (_: any, c: any) => { c.securityContext.seLinuxOptions = { user: '', role: '' }; }],
    ['csi, projected, downwardAPI, configMap and ephemeral volumes', (spec: any) => {
      spec.volumes.push(
        { name: 'csi', csi: { driver: 'secrets-store.csi.k8s.io' } },
        { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
        { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } } },
      );
    }],
  ])('%s', (_what, edit) => {
    expect(check(apiPodWith(edit)).findings).toEqual([]);
  });

  test.each([
    ['runtime/default', 'runtime/default'],
    ['a localhost/ profile', 'localhost/honeydue-api'],
    ['an empty value', ''],
  ])('the AppArmor annotation %s passes', (_what, value) => {
    const report = check(goodWith('Deployment', 'api', (d) => {
      d.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/api'] = value;
    }));
    expect(report.findings).toEqual([]);
  });

  test('the AppArmor annotation runtime/default passes, unconfined fails', () => {
    const annotate = (value: string) => goodWith('Deployment', 'api', (d) => {
      d.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/api'] = value;
    });
    expect(check(annotate('runtime/default')).findings).toEqual([]);
    expectFindings(check(annotate('unconfined')), [{
      rule: 'pss/apparmor', object: API, path: 'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/api"]',
    }]);
  });
});

describe('every kind with a pod template is audited, at its own path', () => {
  const template = () => structuredClone(objectIn(goodDocs(), 'Deployment', 'worker').spec.template);
  const selector = { matchLabels: { 'app.kubernetes.io/name': 'worker' } };
  const kinds: Array<[string, () => any, string]> = [
    ['DaemonSet', () => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta('agent'), spec: { selector, template: template() } }), 'spec.template.spec'],
    ['StatefulSet', () => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta('store'), spec: { selector, serviceName: 'store', template: template() } }), 'spec.template.spec'],
    ['Job', () => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: meta('once'), spec: { template: { ...template(), spec: { ...template().spec, restartPolicy: 'Never' } } } }), 'spec.template.spec'],
    ['CronJob', () => ({
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta('nightly'),
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { ...template(), spec: { ...template().spec, restartPolicy: 'Never' } } } } },
    }), 'spec.jobTemplate.spec.template.spec'],
    ['Pod', () => ({ apiVersion: 'v1', kind: 'Pod', metadata: { ...meta('debug'), labels: template().metadata.labels }, spec: template().spec }), 'spec'],
  ];

  test.each(kinds)('%s passes when hardened and fails on runAsUser 0 at its pod spec path', (kind, make, specPath) => {
    const workload = make();
    expect(check(goodPlus(workload)).findings).toEqual([]);
    const spec = specPath.split('.').reduce((node: any, key) => node[key], workload);
    spec.containers[0].securityContext.runAsUser = 0;
    expectFindings(check(goodPlus(workload)), [
      { rule: 'pss/run-as-user', object: `${kind} honeydue/${workload.metadata.name}`, path: `${specPath}.containers[0].securityContext.runAsUser` },
    ]);
  });

  test('init and ephemeral containers are audited like the main ones', () => {
    const report = check(apiPodWith((spec, c) => {
      spec.initContainers = [{ ...structuredClone(c), name: 'wait', ports: undefined, startupProbe: undefined, readinessProbe: undefined, livenessProbe: undefined }];
      spec.initContainers[0].securityContext.privileged = true;
      spec.ephemeralContainers = [{ name: 'debug', image: 'busybox:1.37', securityContext: structuredClone(c.securityContext) }];
      spec.ephemeralContainers[0].securityContext.capabilities = { drop: ['ALL'], add: ['SYS_PTRACE'] };
    }));
    expectFindings(report, [
      { rule: 'pss/privileged', object: API, path: `${pod}.initContainers[0].securityContext.privileged` },
      { rule: 'pss/capabilities', object: API, path: `${pod}.ephemeralContainers[0].securityContext.capabilities.add[0]` },
    ]);
  });
});

describe('what each pod-security finding says: what is wrong, why, the fix', () => {
  const allowed = 'configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected, secret';
  test.each<[string, (spec: any, c: any) => void, string, string, string]>([
    ['a HostProcess pod', (spec) => { spec.securityContext.windowsOptions = { hostProcess: true }; },
      'pss/host-process', `${pod}.securityContext.windowsOptions.hostProcess`,
      'the pod sets windowsOptions.hostProcess to true: a HostProcess container is a process on the node; remove it'],
    ['the host network', (spec) => { spec.hostNetwork = true; }, 'pss/host-namespaces', `${pod}.hostNetwork`,
      'hostNetwork is true: the pod would share the node\'s Network namespace, which the restricted profile forbids; remove it'],
    ['a hostPath volume', (spec) => { spec.volumes.push({ name: 'host', hostPath: { path: '/var/run' } }); }, 'pss/volume-types', `${pod}.volumes[2].hostPath`,
      `volume "host" is a hostPath volume: the restricted profile allows only ${allowed} (hostPath exposes the node filesystem); use a persistentVolumeClaim or an emptyDir`],
    ['an nfs volume', (spec) => { spec.volumes.push({ name: 'share', nfs: { server: 'nas', path: '/x' } }); }, 'pss/volume-types', `${pod}.volumes[2].nfs`,
      `volume "share" is a nfs volume: the restricted profile allows only ${allowed}; use a persistentVolumeClaim or an emptyDir`],
    ['a liveness probe on another host', (_spec, c) => { c.livenessProbe.httpGet.host = '10.0.0.1'; }, 'pss/host-probes', `${api}.livenessProbe.httpGet.host`,
      'container "api" livenessProbe targets host "10.0.0.1": the kubelet would call another address from the node; remove host to probe the pod itself'],
    ['a startup probe on another host', (_spec, c) => { c.startupProbe.httpGet.host = '10.0.0.1'; }, 'pss/host-probes', `${api}.startupProbe.httpGet.host`,
      'container "api" startupProbe targets host "10.0.0.1": the kubelet would call another address from the node; remove host to probe the pod itself'],
    ['a postStart hook on another host', (_spec, c) => { c.lifecycle = { postStart: { httpGet: { port: 8000, host: 'node' } } }; }, 'pss/host-probes', `${api}.lifecycle.postStart.httpGet.host`,
      'container "api" lifecycle.postStart targets host "node": the kubelet would call another address from the node; remove host to probe the pod itself'],
    ['an Unconfined AppArmor profile on the pod', (spec) => { spec.securityContext.appArmorProfile = { type: 'Unconfined' }; }, 'pss/apparmor', `${pod}.securityContext.appArmorProfile.type`,
      'the pod sets appArmorProfile.type "Unconfined": use RuntimeDefault (or Localhost with a loaded profile)'],
    ['an SELinux user on the pod', (spec) => { spec.securityContext.seLinuxOptions = { user: 'system_u' }; }, 'pss/selinux', `${pod}.securityContext.seLinuxOptions.user`,
      'the pod sets SELinux user "system_u": a custom SELinux user is forbidden; remove it'],
    ['an SELinux role on a container', (_spec, c) => { c.securityContext.seLinuxOptions = { role: 'system_r' }; }, 'pss/selinux', `${apiContext}.seLinuxOptions.role`,
      'container "api" sets SELinux role "system_r": a custom SELinux role is forbidden; remove it'],
    ['no seccomp profile on the pod nor the container', (spec) => { delete spec.securityContext.seccompProfile; }, 'pss/seccomp', `${apiContext}.seccompProfile.type`,
      `container "api" runs without a seccomp profile: set ${pod}.securityContext.seccompProfile.type: RuntimeDefault for the whole pod`],
  ])('%s', (_what, edit, rule, path, message) => {
    expect(check(apiPodWith(edit)).findings.map((f) => ({ rule: f.rule, object: f.object, path: f.path, message: f.message })))
      .toEqual([{ rule, object: API, path, message }]);
  });

  test('an AppArmor annotation that is not runtime/default names the key and the value', () => {
    const report = check(goodWith('Deployment', 'api', (d) => {
      d.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/api'] = 'unconfined';
    }));
    expect(report.findings.map((f) => ({ rule: f.rule, object: f.object, path: f.path, message: f.message }))).toEqual([{
      rule: 'pss/apparmor', object: API, path: 'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/api"]',
      message: 'AppArmor annotation "container.apparmor.security.beta.kubernetes.io/api" is "unconfined": use runtime/default, or better appArmorProfile.type RuntimeDefault',
    }]);
  });

  test('an AppArmor annotation that is no string fails as a value, not as a profile name', () => {
    const report = check(goodWith('Deployment', 'api', (d) => {
      d.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/api'] = true;
    }));
    expect(report.findings.filter((f) => f.rule === 'pss/apparmor').map((f) => [f.path, f.message])).toEqual([[
      'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/api"]',
      'AppArmor annotation "container.apparmor.security.beta.kubernetes.io/api" is true: use runtime/default, or better appArmorProfile.type RuntimeDefault',
    ]]);
  });

  test('a volume entry that is no mapping names no volume source', () => {
    const report = check(apiPodWith((spec) => { spec.volumes.push('scratch'); }));
    expect(report.findings.filter((f) => f.rule === 'pss/volume-types')).toEqual([]);
  });
});
