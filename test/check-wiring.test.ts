/**
 * Wiring: references inside one environment resolve, and no object fights another
 * (autoscaler vs pinned replicas, PodDisruptionBudget vs node drains).
 */
import { check, expectFindings, goodDocs, goodPlus, goodWith, meta, objectIn } from './check-helpers';

const passedOnStack = (rule: string) => check(goodDocs()).byRule.get(rule)!;

/** A report's findings of one rule, in full: rule, object, path and message. */
const findingsOf = (report: ReturnType<typeof check>, rule: string) =>
  report.findings.filter((f) => f.rule === rule).map((f) => ({ rule: f.rule, object: f.object, path: f.path, message: f.message }));
/** `rule` found nothing and judged `passed` objects. */
const expectPasses = (report: ReturnType<typeof check>, rule: string, passed: number) =>
  expect({ findings: findingsOf(report, rule), counts: report.byRule.get(rule) }).toEqual({ findings: [], counts: { passed, failed: 0 } });

/** The api HPA of SPEC: 3..6 replicas on CPU 70 % and memory 80 %. */
const apiHpa = (minReplicas = 3, target = 'api') => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: meta('api'),
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
    minReplicas,
    maxReplicas: 6,
    metrics: [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
    ],
  },
});

/** The good set with the HPA on: the api Deployment leaves spec.replicas to it. */
const withHpa = (minReplicas = 3, target = 'api') => {
  const docs = goodPlus(apiHpa(minReplicas, target));
  delete objectIn(docs, 'Deployment', 'api').spec.replicas;
  return docs;
};

describe('wiring/namespace', () => {
  test('fails on a namespaced object without a namespace', () => {
    expectFindings(check(goodWith('NetworkPolicy', 'default-deny', (n) => { delete n.metadata.namespace; })), [
      { rule: 'wiring/namespace', object: 'NetworkPolicy default-deny', path: 'metadata.namespace' },
    ]);
  });

  test('an object left without its namespace also drops out of the references to it', () => {
    const report = check(goodWith('ConfigMap', 'honeydue-config', (c) => { delete c.metadata.namespace; }));
    expect(report.findings.filter((f) => f.rule === 'wiring/namespace').map((f) => f.object)).toEqual(['ConfigMap honeydue-config']);
    expect(report.findings.filter((f) => f.rule === 'wiring/configmap-ref')).toHaveLength(5);
  });

  test('says the object has no metadata.namespace and where apply would put it', () => {
    const report = check(goodWith('NetworkPolicy', 'default-deny', (n) => { delete n.metadata.namespace; }));
    expect(findingsOf(report, 'wiring/namespace')).toEqual([{
      rule: 'wiring/namespace', object: 'NetworkPolicy default-deny', path: 'metadata.namespace',
      message: 'NetworkPolicy has no metadata.namespace: apply would put it in whatever namespace the kubectl context points at; set it (honeydue)',
    }]);
  });

  test('passes namespaced objects with one, and cluster-scoped kinds (Namespace, ClusterRole) without', () => {
    const clusterRole = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'reader' }, rules: [] };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'api', namespace: 'honeydue' }],
    };
    const docs = goodPlus(clusterRole, binding);
    const tally = check(docs).byRule.get('wiring/namespace')!;
    expect(tally.failed).toBe(0);
    // Every object but the Namespace, the ClusterRole and the ClusterRoleBinding.
    expect(tally.passed).toBe(docs.length - 3);
  });
});

describe('wiring/duplicate', () => {
  test('fails on the second object with the same group, kind, namespace and name', () => {
    const docs = goodDocs();
    const copy = structuredClone(objectIn(docs, 'ConfigMap', 'honeydue-config'));
    const report = check([...docs, { file: 'config-again.yaml', object: copy }]);
    expectFindings(report, [{ rule: 'wiring/duplicate', object: 'ConfigMap honeydue/honeydue-config', path: 'metadata.name' }]);
    expect(report.findings[0]).toMatchObject({ file: 'config-again.yaml', message: expect.stringMatching(/first in .*10-config\.yaml/) });
  });

  test('the same name in another kind or namespace is not a duplicate', () => {
    // api is a ServiceAccount, a Deployment and a Service; a ConfigMap in another namespace shares a name.
    const other = { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('honeydue-config', 'kube-system'), data: {} };
    expect(check(goodPlus(other)).findings).toEqual([]);
  });
});

describe('wiring/secret-data', () => {
  const secret = (extra: object) => ({ apiVersion: 'v1', kind: 'Secret', metadata: meta('honeydue-secrets'), type: 'Opaque', ...extra });

  test.each([
    ['data', { data: { SECRET_KEY: 'aHVudGVyMg==' } }],
    ['stringData', { stringData: { SECRET_KEY: 'hunter2' } }],
  ])('fails on a Secret with %s', (field, extra) => {
    const report = check(goodPlus(secret(extra)));
    expectFindings(report, [{ rule: 'wiring/secret-data', object: 'Secret honeydue/honeydue-secrets', path: field }]);
    expect(report.findings[0].message).toMatch(/keys \["SECRET_KEY"\].*out of band/);
    expect(report.findings[0].message).not.toMatch(/hunter2|aHVudGVyMg/);
  });

  test('audits only core Secrets, not a custom kind named Secret in another API group', () => {
    const custom = { apiVersion: 'vault.example.com/v1', kind: 'Secret', metadata: meta('honeydue-secrets'), data: { path: 'kv/honeydue' } };
    const report = check(goodPlus(custom));
    expect(findingsOf(report, 'wiring/secret-data')).toEqual([]);
    expect(report.byRule.get('wiring/secret-data')).toBeUndefined();
  });

  test('passes a Secret whose data and stringData are null: they carry no values', () => {
    const report = check(goodPlus(secret({ data: null, stringData: null })));
    expectPasses(report, 'wiring/secret-data', 1);
  });

  test('passes a Secret that carries no values', () => {
    const report = check(goodPlus(secret({})));
    expect(report.findings).toEqual([]);
    expect(report.byRule.get('wiring/secret-data')).toEqual({ passed: 1, failed: 0 });
  });
});

describe('wiring/service-selector and wiring/service-target-port', () => {
  test('fails on a Service whose selector matches no pod template', () => {
    const report = check(goodWith('Service', 'api', (s) => { s.spec.selector = { 'app.kubernetes.io/name': 'apii' }; }));
    expectFindings(report, [{ rule: 'wiring/service-selector', object: 'Service honeydue/api', path: 'spec.selector' }]);
  });

  test('fails on a selector that includes the per-release version label', () => {
    const report = check(goodWith('Service', 'api', (s) => { s.spec.selector['app.kubernetes.io/version'] = 'old'; }));
    expectFindings(report, [{ rule: 'wiring/service-selector', object: 'Service honeydue/api', path: 'spec.selector' }]);
  });

  test('fails on a Service whose selector matches pods only in another namespace', () => {
    const service = {
      apiVersion: 'v1', kind: 'Service', metadata: meta('api', 'kube-system'),
      spec: { selector: { 'app.kubernetes.io/name': 'api' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    };
    expect(findingsOf(check(goodPlus(service)), 'wiring/service-selector')).toEqual([{
      rule: 'wiring/service-selector', object: 'Service kube-system/api', path: 'spec.selector',
      message: 'Service selector {"app.kubernetes.io/name":"api"} matches no pod template in namespace "kube-system": ' +
        'the Service would have no endpoints; select the workload\'s app.kubernetes.io/name label',
    }]);
  });

  test('fails on a targetPort no selected container declares', () => {
    const report = check(goodWith('Service', 'admin', (s) => { s.spec.ports[0].targetPort = 8080; }));
    expectFindings(report, [{ rule: 'wiring/service-target-port', object: 'Service honeydue/admin', path: 'spec.ports[0].targetPort' }]);
    expect(report.findings[0].message).toMatch(/targets 8080.*declared: http, 3000/);
  });

  test('says none when the selected pods declare no port', () => {
    const service = {
      apiVersion: 'v1', kind: 'Service', metadata: meta('worker'),
      spec: { selector: { 'app.kubernetes.io/name': 'worker' }, ports: [{ name: 'http', port: 80, targetPort: 8000 }] },
    };
    const report = check(goodPlus(service));
    expectFindings(report, [{ rule: 'wiring/service-target-port', object: 'Service honeydue/worker', path: 'spec.ports[0].targetPort' }]);
    expect(report.findings[0].message).toBe(
      'Service port 80 targets 8000, which no selected container declares (declared: none): point targetPort at the container\'s port',
    );
  });

  test('fails on a port entry that is null, naming it rather than crashing', () => {
    const report = check(goodWith('Service', 'admin', (s) => { s.spec.ports.push(null); }));
    expect(report.findings.filter((f) => f.rule === 'wiring/service-target-port').map((f) => [f.path, f.message])).toEqual([[
      'spec.ports[1].targetPort',
      'Service port nothing targets nothing, which no selected container declares (declared: http, 3000): point targetPort at the container\'s port',
    ]]);
  });

  test('matches a containerPort without a name only by number', () => {
    const docs = goodWith('Service', 'admin', (s) => { s.spec.ports[0].targetPort = 'http'; });
    delete objectIn(docs, 'Deployment', 'admin').spec.template.spec.containers[0].ports[0].name;
    expect(findingsOf(check(docs), 'wiring/service-target-port')).toEqual([{
      rule: 'wiring/service-target-port', object: 'Service honeydue/admin', path: 'spec.ports[0].targetPort',
      message: 'Service port 3000 targets "http", which no selected container declares (declared: 3000): point targetPort at the container\'s port',
    }]);
  });

  test('matches a port entry without a containerPort only by name', () => {
    const docs = goodDocs();
    delete objectIn(docs, 'Deployment', 'admin').spec.template.spec.containers[0].ports[0].containerPort;
    expect(findingsOf(check(docs), 'wiring/service-target-port')).toEqual([{
      rule: 'wiring/service-target-port', object: 'Service honeydue/admin', path: 'spec.ports[0].targetPort',
      message: 'Service port 3000 targets 3000, which no selected container declares (declared: http): point targetPort at the container\'s port',
    }]);
  });

  test('skips a null containerPort entry of a selected pod rather than crashing', () => {
    const docs = goodWith('Deployment', 'admin', (d) => { d.spec.template.spec.containers[0].ports.push(null); });
    const report = check(docs);
    expectPasses(report, 'wiring/service-target-port', 3);
  });

  test('passes a Service without ports: it has no targetPort to check', () => {
    const headless = { apiVersion: 'v1', kind: 'Service', metadata: meta('api-headless'), spec: { clusterIP: 'None', selector: { 'app.kubernetes.io/name': 'api' } } };
    const report = check(goodPlus(headless));
    expect(report.findings).toEqual([]);
    expect(report.byRule.get('wiring/service-target-port')).toEqual({ passed: 4, failed: 0 });
  });

  test('does not audit an ExternalName Service even when it carries a selector', () => {
    const external = {
      apiVersion: 'v1', kind: 'Service', metadata: meta('db'),
      spec: { type: 'ExternalName', externalName: 'db.example.com', selector: { 'app.kubernetes.io/name': 'postgres' }, ports: [{ port: 5432 }] },
    };
    const report = check(goodPlus(external));
    expect(report.findings).toEqual([]);
    expect(report.byRule.get('wiring/service-selector')).toEqual({ passed: 3, failed: 0 });
    expect(report.byRule.get('wiring/service-target-port')).toEqual({ passed: 3, failed: 0 });
  });

  test.each([
    ['without spec', undefined],
    ['without selector (manual endpoints)', { ports: [{ port: 5432 }] }],
    ['with an empty selector', { selector: {}, ports: [{ port: 5432 }] }],
  ])('does not audit a Service %s: it routes to no selected pods', (_, spec) => {
    const service = { apiVersion: 'v1', kind: 'Service', metadata: meta('db'), ...(spec && { spec }) };
    const report = check(goodPlus(service));
    expect(findingsOf(report, 'wiring/service-selector')).toEqual([]);
    expect(findingsOf(report, 'wiring/service-target-port')).toEqual([]);
    expect(report.byRule.get('wiring/service-selector')).toEqual({ passed: 3, failed: 0 });
    expect(report.byRule.get('wiring/service-target-port')).toEqual({ passed: 3, failed: 0 });
  });

  test('matches a string targetPort by container port name', () => {
    const docs = goodWith('Service', 'admin', (s) => { s.spec.ports[0].targetPort = 'http'; });
    const report = check(docs);
    expectPasses(report, 'wiring/service-target-port', 3);
  });

  test('passes the api, admin and redis Services; ExternalName Services are not audited', () => {
    expect(passedOnStack('wiring/service-selector')).toEqual({ passed: 3, failed: 0 });
    expect(passedOnStack('wiring/service-target-port')).toEqual({ passed: 3, failed: 0 });
    const external = { apiVersion: 'v1', kind: 'Service', metadata: meta('db'), spec: { type: 'ExternalName', externalName: 'ep-floral-truth-amttbc5a.c-5.us-east-1.aws.neon.tech' } };
    expect(check(goodPlus(external)).findings).toEqual([]);
  });
});

describe('wiring/pdb-selector', () => {
  test('fails on a PodDisruptionBudget that selects nothing', () => {
    const report = check(goodWith('PodDisruptionBudget', 'admin-pdb', (p) => { p.spec.selector.matchLabels['app.kubernetes.io/name'] = 'web'; }));
    expectFindings(report, [{ rule: 'wiring/pdb-selector', object: 'PodDisruptionBudget honeydue/admin-pdb', path: 'spec.selector' }]);
  });

  test('passes every PodDisruptionBudget of the stack, including matchExpressions', () => {
    const docs = goodWith('PodDisruptionBudget', 'admin-pdb', (p) => {
      p.spec.selector = { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['admin'] }] };
    });
    expect(check(docs).findings).toEqual([]);
    expect(passedOnStack('wiring/pdb-selector')).toEqual({ passed: 5, failed: 0 });
  });

  test('names the selector it read and the namespace in the finding', () => {
    const report = check(goodWith('PodDisruptionBudget', 'admin-pdb', (p) => { p.spec.selector.matchLabels['app.kubernetes.io/name'] = 'web'; }));
    expect(findingsOf(report, 'wiring/pdb-selector')).toEqual([{
      rule: 'wiring/pdb-selector',
      object: 'PodDisruptionBudget honeydue/admin-pdb',
      path: 'spec.selector',
      message: 'PodDisruptionBudget selector {"matchLabels":{"app.kubernetes.io/name":"web"}} selects no pod template in namespace "honeydue": ' +
        "it protects nothing; select the workload's app.kubernetes.io/name label",
    }]);
  });

  test('fails on a PodDisruptionBudget without a spec as selecting nothing', () => {
    const report = check(goodWith('PodDisruptionBudget', 'admin-pdb', (p) => { delete p.spec; }));
    expect(findingsOf(report, 'wiring/pdb-selector')).toEqual([{
      rule: 'wiring/pdb-selector',
      object: 'PodDisruptionBudget honeydue/admin-pdb',
      path: 'spec.selector',
      message: 'PodDisruptionBudget selector nothing selects no pod template in namespace "honeydue": ' +
        "it protects nothing; select the workload's app.kubernetes.io/name label",
    }]);
  });
});

describe('wiring/pdb-unhealthy-eviction', () => {
  test.each([['unset', undefined], ['IfHealthyBudget', 'IfHealthyBudget']])('fails when the policy is %s', (_name, value) => {
    const report = check(goodWith('PodDisruptionBudget', 'api-pdb', (p) => {
      if (value === undefined) delete p.spec.unhealthyPodEvictionPolicy;
      else p.spec.unhealthyPodEvictionPolicy = value;
    }));
    expectFindings(report, [{ rule: 'wiring/pdb-unhealthy-eviction', object: 'PodDisruptionBudget honeydue/api-pdb', path: 'spec.unhealthyPodEvictionPolicy' }]);
    expect(report.findings[0].message).toMatch(/CrashLoopBackOff .* set it to AlwaysAllow$/);
  });

  test('passes every PDB of the stack', () => {
    expect(passedOnStack('wiring/pdb-unhealthy-eviction')).toEqual({ passed: 5, failed: 0 });
  });
});

describe('wiring/pdb-blocks-drain', () => {
  test('fails on the production bug: worker-pdb minAvailable 1 with one replica', () => {
    const report = check(goodWith('PodDisruptionBudget', 'worker-pdb', (p) => { p.spec.minAvailable = 1; }));
    expectFindings(report, [{ rule: 'wiring/pdb-blocks-drain', object: 'PodDisruptionBudget honeydue/worker-pdb', path: 'spec.minAvailable' }]);
    expect(report.findings[0].message).toBe(
      'minAvailable 1 is not below 1, the replicas of Deployment worker: no pod may ever be evicted, so every node drain hangs ' +
        '(the worker-pdb production bug); set minAvailable to 0 or lower',
    );
  });

  test.each([
    ['minAvailable equal to the replicas', { minAvailable: 3 }, 'spec.minAvailable'],
    ['minAvailable 100%', { minAvailable: '100%' }, 'spec.minAvailable'],
    ['maxUnavailable 0', { maxUnavailable: 0 }, 'spec.maxUnavailable'],
    ['maxUnavailable 0%', { maxUnavailable: '0%' }, 'spec.maxUnavailable'],
    ['neither bound', {}, 'spec'],
  ])('fails on api-pdb with %s', (_what, bounds, path) => {
    const report = check(goodWith('PodDisruptionBudget', 'api-pdb', (p) => {
      delete p.spec.minAvailable;
      Object.assign(p.spec, bounds);
    }));
    expectFindings(report, [{ rule: 'wiring/pdb-blocks-drain', object: 'PodDisruptionBudget honeydue/api-pdb', path }]);
  });

  test.each([
    ['a percentage with a leading space', ' 0%'],
    ['a list holding a percentage', ['0%']],
  ])('reads a maxUnavailable that is %s as neither a count nor a percentage: no drain finding', (_what, value) => {
    const report = check(goodWith('PodDisruptionBudget', 'api-pdb', (p) => {
      delete p.spec.minAvailable;
      p.spec.maxUnavailable = value;
    }));
    expectPasses(report, 'wiring/pdb-blocks-drain', 5);
  });

  test('counts the HPA minimum, not spec.replicas, when an autoscaler owns the count', () => {
    expect(check(withHpa(3)).findings).toEqual([]);
    const report = check(withHpa(2));
    expectFindings(report, [{ rule: 'wiring/pdb-blocks-drain', object: 'PodDisruptionBudget honeydue/api-pdb', path: 'spec.minAvailable' }]);
    expect(report.findings[0].message).toMatch(/not below 2, the HPA minReplicas of Deployment api/);
  });

  test('ignores a PodDisruptionBudget that selects only a Job: no replica count to block', () => {
    const report = check(goodWith('PodDisruptionBudget', 'admin-pdb', (p) => {
      p.spec.selector.matchLabels['app.kubernetes.io/name'] = 'migrate';
      delete p.spec.minAvailable;
      delete p.spec.maxUnavailable;
    }));
    expectPasses(report, 'wiring/pdb-blocks-drain', 5);
  });

  test('sums the workloads a PodDisruptionBudget selects, naming them all and the HPA when any is autoscaled', () => {
    const docs = withHpa(3);
    const pdb = objectIn(docs, 'PodDisruptionBudget', 'api-pdb');
    pdb.spec.selector = { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['api', 'worker'] }] };
    pdb.spec.minAvailable = 4;
    expect(findingsOf(check(docs), 'wiring/pdb-blocks-drain')).toEqual([{
      rule: 'wiring/pdb-blocks-drain',
      object: 'PodDisruptionBudget honeydue/api-pdb',
      path: 'spec.minAvailable',
      message: 'minAvailable 4 is not below 4, the HPA minReplicas of Deployment api, Deployment worker: no pod may ever be evicted, ' +
        'so every node drain hangs (the worker-pdb production bug); set minAvailable to 3 or lower',
    }]);
  });

  test('leaves a PodDisruptionBudget without a selector to wiring/pdb-selector', () => {
    const report = check(goodWith('PodDisruptionBudget', 'api-pdb', (p) => { delete p.spec.selector; }));
    expectFindings(report, [{ rule: 'wiring/pdb-selector', object: 'PodDisruptionBudget honeydue/api-pdb', path: 'spec.selector' }]);
    expect(report.byRule.get('wiring/pdb-blocks-drain')).toEqual({ passed: 5, failed: 0 });
  });

  test('tells a PodDisruptionBudget with neither bound to set minAvailable below the replicas', () => {
    const report = check(goodWith('PodDisruptionBudget', 'api-pdb', (p) => { delete p.spec.minAvailable; delete p.spec.maxUnavailable; }));
    expect(findingsOf(report, 'wiring/pdb-blocks-drain')).toEqual([{
      rule: 'wiring/pdb-blocks-drain',
      object: 'PodDisruptionBudget honeydue/api-pdb',
      path: 'spec',
      message: 'PodDisruptionBudget sets neither minAvailable nor maxUnavailable: set minAvailable below the replicas (0 for a singleton)',
    }]);
  });

  test('tells a PodDisruptionBudget with maxUnavailable 0 which workloads it pins and to allow one', () => {
    const report = check(goodWith('PodDisruptionBudget', 'api-pdb', (p) => { delete p.spec.minAvailable; p.spec.maxUnavailable = 0; }));
    expect(findingsOf(report, 'wiring/pdb-blocks-drain')).toEqual([{
      rule: 'wiring/pdb-blocks-drain',
      object: 'PodDisruptionBudget honeydue/api-pdb',
      path: 'spec.maxUnavailable',
      message: 'maxUnavailable 0 allows no eviction of Deployment api: every node drain hangs; set maxUnavailable to 1',
    }]);
  });

  test('passes minAvailable 0 over a workload scaled to 0 replicas: nothing runs, so no drain waits on it', () => {
    const docs = goodDocs();
    objectIn(docs, 'Deployment', 'worker').spec.replicas = 0;
    objectIn(docs, 'PodDisruptionBudget', 'worker-pdb').spec.minAvailable = 0;
    const report = check(docs);
    expectPasses(report, 'wiring/pdb-blocks-drain', 5);
  });

  test('passes api 2-of-3, singletons at 0, maxUnavailable 1 and percentages that leave a pod', () => {
    expect(passedOnStack('wiring/pdb-blocks-drain')).toEqual({ passed: 5, failed: 0 });
    expect(check(goodWith('PodDisruptionBudget', 'api-pdb', (p) => { p.spec.minAvailable = '60%'; })).findings).toEqual([]);
  });
});

describe('wiring/hpa-target and wiring/hpa-pinned-replicas', () => {
  test('passes SPEC\'s HPA on a Deployment that leaves replicas to it', () => {
    const report = check(withHpa());
    expect(report.findings).toEqual([]);
    expect(report.byRule.get('wiring/hpa-target')).toEqual({ passed: 1, failed: 0 });
  });

  test('fails on an HPA whose target is not in the set', () => {
    const docs = withHpa(3, 'apii');
    objectIn(docs, 'Deployment', 'api').spec.replicas = 3;
    expectFindings(check(docs), [{ rule: 'wiring/hpa-target', object: 'HorizontalPodAutoscaler honeydue/api', path: 'spec.scaleTargetRef' }]);
  });

  test('looks a scaleTargetRef without apiVersion up in the core group (a ReplicationController)', () => {
    const controller = {
      apiVersion: 'v1', kind: 'ReplicationController', metadata: meta('legacy'),
      spec: { selector: { 'app.kubernetes.io/name': 'worker' }, template: objectIn(goodDocs(), 'Deployment', 'worker').spec.template },
    };
    const hpa: any = apiHpa();
    hpa.metadata = meta('legacy');
    hpa.spec.scaleTargetRef = { kind: 'ReplicationController', name: 'legacy' };
    expect(check(goodPlus(controller, hpa)).byRule.get('wiring/hpa-target')).toEqual({ passed: 1, failed: 0 });
  });

  test.each([
    ['no spec', (h: any) => { delete h.spec; }],
    ['a spec without scaleTargetRef', (h: any) => { delete h.spec.scaleTargetRef; }],
  ])('fails on an HPA with %s, saying it would scale nothing', (_what, edit) => {
    const hpa: any = apiHpa();
    edit(hpa);
    expect(findingsOf(check(goodPlus(hpa)), 'wiring/hpa-target')).toEqual([{
      rule: 'wiring/hpa-target', object: 'HorizontalPodAutoscaler honeydue/api', path: 'spec.scaleTargetRef',
      message: 'scaleTargetRef nothing names no object in namespace "honeydue": the autoscaler would scale nothing; ' +
        'point it at the Deployment (apiVersion apps/v1, kind Deployment, its name)',
    }]);
  });

  test('passes an autoscaled workload without a spec: it pins no replicas', () => {
    const docs = withHpa();
    delete objectIn(docs, 'Deployment', 'api').spec;
    const report = check(docs);
    expectPasses(report, 'wiring/hpa-pinned-replicas', 5);
  });

  test('fails on a Deployment that pins spec.replicas under an HPA', () => {
    const docs = goodPlus(apiHpa());
    const report = check(docs);
    expectFindings(report, [{ rule: 'wiring/hpa-pinned-replicas', object: 'Deployment honeydue/api', path: 'spec.replicas' }]);
    expect(report.findings[0].message).toMatch(/spec\.replicas is 3 while HorizontalPodAutoscaler api scales this Deployment.*omit spec\.replicas/);
  });
});

describe('wiring/configmap-ref', () => {
  test.each([
    ['an envFrom ConfigMap that is not in the set', 'api', (s: any) => { s.containers[0].envFrom[0].configMapRef.name = 'honeydue-conf'; }, 'spec.template.spec.containers[0].envFrom[0].configMapRef.name'],
    ['a configMapKeyRef key the ConfigMap lacks', 'admin', (s: any) => { s.containers[0].env[2].valueFrom.configMapKeyRef.key = 'API_URL'; }, 'spec.template.spec.containers[0].env[2].valueFrom.configMapKeyRef.key'],
    ['a configMap volume that is not in the set', 'vmagent', (s: any) => { s.volumes[0].configMap.name = 'vmagent'; }, 'spec.template.spec.volumes[0].configMap.name'],
    ['a configMap volume item the ConfigMap lacks', 'vmagent', (s: any) => { s.volumes[0].configMap.items = [{ key: 'prometheus.yml', path: 'scrape.yaml' }]; }, 'spec.template.spec.volumes[0].configMap.items[0].key'],
  ])('fails on %s', (_what, name, edit, path) => {
    const report = check(goodWith('Deployment', name, (d) => edit(d.spec.template.spec)));
    expectFindings(report, [{ rule: 'wiring/configmap-ref', object: `Deployment honeydue/${name}`, path }]);
  });

  test('names the container and envFrom when an envFrom ConfigMap is missing', () => {
    const report = check(goodWith('Deployment', 'api', (d) => { d.spec.template.spec.containers[0].envFrom[0].configMapRef.name = 'honeydue-conf'; }));
    expect(findingsOf(report, 'wiring/configmap-ref')).toEqual([{
      rule: 'wiring/configmap-ref', object: 'Deployment honeydue/api', path: 'spec.template.spec.containers[0].envFrom[0].configMapRef.name',
      message: 'container "api" envFrom references ConfigMap "honeydue-conf", which is not in namespace "honeydue" of the set: ' +
        'the pod would stay in CreateContainerConfigError; fix the name or add the ConfigMap',
    }]);
  });

  test('fails on a ConfigMap name that is no string, even one that prints as the name of a ConfigMap in the set', () => {
    const report = check(goodWith('Deployment', 'api', (d) => { d.spec.template.spec.containers[0].envFrom[0].configMapRef.name = ['honeydue-config']; }));
    expect(findingsOf(report, 'wiring/configmap-ref')).toEqual([{
      rule: 'wiring/configmap-ref', object: 'Deployment honeydue/api', path: 'spec.template.spec.containers[0].envFrom[0].configMapRef.name',
      message: 'container "api" envFrom references ConfigMap ["honeydue-config"], which is not in namespace "honeydue" of the set: ' +
        'the pod would stay in CreateContainerConfigError; fix the name or add the ConfigMap',
    }]);
  });

  test('skips null envFrom and env entries rather than crashing', () => {
    const docs = goodWith('Deployment', 'api', (d) => {
      d.spec.template.spec.containers[0].envFrom.push(null);
      d.spec.template.spec.containers[0].env.push(null);
    });
    const report = check(docs);
    expectPasses(report, 'wiring/configmap-ref', 6);
  });

  test('passes an optional configMapKeyRef to a ConfigMap not in the set', () => {
    const docs = goodWith('Deployment', 'api', (d) => {
      d.spec.template.spec.containers[0].env.push({ name: 'FEATURE_X', valueFrom: { configMapKeyRef: { name: 'feature-flags', key: 'FEATURE_X', optional: true } } });
    });
    const report = check(docs);
    expectPasses(report, 'wiring/configmap-ref', 6);
  });

  test('names the keys the ConfigMap has when a key is missing', () => {
    const report = check(goodWith('Deployment', 'admin', (d) => { d.spec.template.spec.containers[0].env[2].valueFrom.configMapKeyRef.key = 'API_URL'; }));
    expect(report.findings[0].message).toMatch(/reads key "API_URL" of ConfigMap "honeydue-config", which has no such key \(keys: APNS_AUTH_KEY_PATH, .*DB_HOST, .*NEXT_PUBLIC_API_URL/);
  });

  test('says none when the ConfigMap read has no keys at all', () => {
    const docs = goodPlus({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('admin-flags') });
    objectIn(docs, 'Deployment', 'admin').spec.template.spec.containers[0].env[2].valueFrom.configMapKeyRef.name = 'admin-flags';
    const report = check(docs);
    expectFindings(report, [{ rule: 'wiring/configmap-ref', object: 'Deployment honeydue/admin', path: 'spec.template.spec.containers[0].env[2].valueFrom.configMapKeyRef.key' }]);
    expect(report.findings[0].message).toBe(
      'container "admin" env "NEXT_PUBLIC_API_URL" reads key "NEXT_PUBLIC_API_URL" of ConfigMap "admin-flags", which has no such key (keys: none): ' +
        'fix the key or add it to the config',
    );
  });

  test('names the volume and the projected source when a projected ConfigMap is missing', () => {
    const report = check(goodWith('Deployment', 'vmagent', (d) => { d.spec.template.spec.volumes[3].projected.sources[1].configMap.name = 'kube-root-ca'; }));
    expect(findingsOf(report, 'wiring/configmap-ref')).toEqual([{
      rule: 'wiring/configmap-ref', object: 'Deployment honeydue/vmagent', path: 'spec.template.spec.volumes[3].projected.sources[1].configMap.name',
      message: 'volume "kube-api-access" references ConfigMap "kube-root-ca", which is not in namespace "honeydue" of the set: ' +
        'the pod would stay in CreateContainerConfigError; fix the name or add the ConfigMap',
    }]);
  });

  test('passes an optional configMap volume: neither its ConfigMap nor its item keys need exist', () => {
    const docs = goodWith('Deployment', 'vmagent', (d) => {
      d.spec.template.spec.volumes[0].configMap.optional = true;
      d.spec.template.spec.volumes[0].configMap.items = [{ key: 'extra.yaml', path: 'extra.yaml' }];
      d.spec.template.spec.volumes.push({ name: 'flags', configMap: { name: 'feature-flags', optional: true } });
    });
    const report = check(docs);
    expectPasses(report, 'wiring/configmap-ref', 6);
  });

  test('a missing ConfigMap of a volume is named once, at its name, whatever its items hold', () => {
    const docs = goodWith('Deployment', 'vmagent', (d) => {
      d.spec.template.spec.volumes[0].configMap.name = 'vmagent-conf';
      d.spec.template.spec.volumes[0].configMap.items = [null, { path: 'no-key.yaml' }, { key: 'scrape.yaml', path: 'scrape.yaml' }];
    });
    expect(findingsOf(check(docs), 'wiring/configmap-ref').map((finding) => finding.path)).toEqual(['spec.template.spec.volumes[0].configMap.name']);
  });

  test('skips null volumes, projected sources and volume items rather than crashing', () => {
    const docs = goodWith('Deployment', 'vmagent', (d) => {
      const volumes = d.spec.template.spec.volumes;
      volumes[0].configMap.items = [null];
      volumes[3].projected.sources.push(null);
      volumes.push(null);
    });
    const report = check(docs);
    expectPasses(report, 'wiring/configmap-ref', 6);
  });

  test('passes optional references and the cluster-published kube-root-ca.crt', () => {
    const docs = goodWith('Deployment', 'api', (d) => {
      d.spec.template.spec.containers[0].envFrom.push({ configMapRef: { name: 'feature-flags', optional: true } });
    });
    expect(check(docs).findings).toEqual([]);
    expect(passedOnStack('wiring/configmap-ref')).toEqual({ passed: 6, failed: 0 });
  });
});

describe('wiring/service-account-ref', () => {
  test('fails on a pod that runs as a ServiceAccount not in the set', () => {
    const report = check(goodWith('Deployment', 'worker', (d) => { d.spec.template.spec.serviceAccountName = 'workers'; }));
    expect(report.findings.map((f) => [f.rule, f.path])).toContainEqual(['wiring/service-account-ref', 'spec.template.spec.serviceAccountName']);
  });

  test('reads the deprecated serviceAccount field when serviceAccountName is unset, and names it in the finding', () => {
    const report = check(goodWith('Deployment', 'worker', (d) => {
      delete d.spec.template.spec.serviceAccountName;
      d.spec.template.spec.serviceAccount = 'workers';
    }));
    expect(findingsOf(report, 'wiring/service-account-ref')).toEqual([{
      rule: 'wiring/service-account-ref', object: 'Deployment honeydue/worker', path: 'spec.template.spec.serviceAccount',
      message: 'serviceAccount "workers" is not a ServiceAccount in namespace "honeydue" of the set: ' +
        'the ReplicaSet cannot create pods (serviceaccount not found); add the ServiceAccount or fix the name',
    }]);
  });

  test('fails on a serviceAccountName that is no string, even one that prints as the name of a ServiceAccount in the set', () => {
    const report = check(goodWith('Deployment', 'worker', (d) => { d.spec.template.spec.serviceAccountName = ['api']; }));
    expect(findingsOf(report, 'wiring/service-account-ref')).toEqual([{
      rule: 'wiring/service-account-ref', object: 'Deployment honeydue/worker', path: 'spec.template.spec.serviceAccountName',
      message: 'serviceAccountName ["api"] is not a ServiceAccount in namespace "honeydue" of the set: ' +
        'the ReplicaSet cannot create pods (serviceaccount not found); add the ServiceAccount or fix the name',
    }]);
  });

  test.each([
    ['names no ServiceAccount (the cluster uses default)', (s: any) => { delete s.serviceAccountName; delete s.serviceAccount; }],
    ['runs as the default ServiceAccount, which the cluster creates', (s: any) => { s.serviceAccountName = 'default'; }],
  ])('passes a pod that %s', (_what, edit) => {
    const report = check(goodWith('Deployment', 'worker', (d) => edit(d.spec.template.spec)));
    expectPasses(report, 'wiring/service-account-ref', 7);
  });

  test('fails on a binding that grants to a ServiceAccount not in the set', () => {
    const report = check(goodWith('RoleBinding', 'vmagent', (b) => { b.subjects[0].name = 'vm-agent'; }));
    expectFindings(report, [{ rule: 'wiring/service-account-ref', object: 'RoleBinding honeydue/vmagent', path: 'subjects[0]' }]);
  });

  test('fails on a ClusterRoleBinding that grants to a ServiceAccount not in a namespace the stack owns', () => {
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'honeydue' }],
    };
    expect(findingsOf(check(goodPlus(binding)), 'wiring/service-account-ref')).toEqual([{
      rule: 'wiring/service-account-ref', object: 'ClusterRoleBinding reader', path: 'subjects[0]',
      message: 'ClusterRoleBinding grants to ServiceAccount "reader" in "honeydue", which is not in the set: ' +
        'the grant reaches nobody (or a later namesake); fix the subject or add the ServiceAccount',
    }]);
  });

  test('audits only RBAC bindings, not a custom kind named RoleBinding in another API group', () => {
    const custom = {
      apiVersion: 'iam.example.com/v1', kind: 'RoleBinding', metadata: meta('reader'),
      subjects: [{ kind: 'ServiceAccount', name: 'reader' }],
    };
    const report = check(goodPlus(custom));
    expectPasses(report, 'wiring/service-account-ref', 7);
  });

  const readerIn = (namespace: string) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
  });
  const readerMissingIn = (namespace: string) => [{
    rule: 'wiring/service-account-ref', object: 'ClusterRoleBinding reader', path: 'subjects[0]',
    message: `ClusterRoleBinding grants to ServiceAccount "reader" in "${namespace}", which is not in the set: ` +
      'the grant reaches nobody (or a later namesake); fix the subject or add the ServiceAccount',
  }];

  test('fails on a binding subject in a Namespace the set creates, even one where it defines no ServiceAccount', () => {
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tools' } };
    expect(findingsOf(check(goodPlus(namespace, readerIn('tools'))), 'wiring/service-account-ref')).toEqual(readerMissingIn('tools'));
  });

  test('fails on a binding subject in a namespace where the set defines other ServiceAccounts but creates no Namespace', () => {
    const account = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('tools', 'tools') };
    expect(findingsOf(check(goodPlus(account, readerIn('tools'))), 'wiring/service-account-ref')).toEqual(readerMissingIn('tools'));
  });

  test('passes a binding subject in a namespace that only shares its name with a core object of the set', () => {
    // The api Service and ServiceAccount are core objects named api; no Namespace api is in the set.
    expect(findingsOf(check(goodPlus(readerIn('api'))), 'wiring/service-account-ref')).toEqual([]);
  });

  test('passes a binding subject in a namespace where the set holds only other core objects: a ConfigMap makes it no namespace of the stack', () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('tools-config', 'tools'), data: {} };
    expect(findingsOf(check(goodPlus(configMap, readerIn('tools'))), 'wiring/service-account-ref')).toEqual([]);
  });

  test('passes subjects that are no ServiceAccount (a User, a Group) and one that is null', () => {
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta('people'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vmagent' },
      subjects: [{ kind: 'User', name: 'alice', namespace: 'honeydue' }, { kind: 'Group', name: 'ops' }, null],
    };
    expect(findingsOf(check(goodPlus(binding)), 'wiring/service-account-ref')).toEqual([]);
  });

  test("looks up a ServiceAccount subject without a namespace in the binding's own namespace", () => {
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta('ghost'),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vmagent' },
      subjects: [{ kind: 'ServiceAccount', name: 'ghost' }],
    };
    expect(findingsOf(check(goodPlus(binding)), 'wiring/service-account-ref')).toEqual([{
      rule: 'wiring/service-account-ref', object: 'RoleBinding honeydue/ghost', path: 'subjects[0]',
      message: 'RoleBinding grants to ServiceAccount "ghost" in "honeydue", which is not in the set: ' +
        'the grant reaches nobody (or a later namesake); fix the subject or add the ServiceAccount',
    }]);
  });

  test('passes a binding subject in a namespace named only by a custom kind called Namespace in another API group', () => {
    const custom = { apiVersion: 'example.com/v1', kind: 'Namespace', metadata: { name: 'tools' } };
    expect(findingsOf(check(goodPlus(custom, readerIn('tools'))), 'wiring/service-account-ref')).toEqual([]);
  });

  test('passes the stack, the default ServiceAccount, and subjects in namespaces the stack does not manage', () => {
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'other' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'metrics-server', namespace: 'kube-system' }, { kind: 'ServiceAccount', name: 'default', namespace: 'honeydue' }],
    };
    expect(check(goodPlus(binding)).findings).toEqual([]);
    expect(passedOnStack('wiring/service-account-ref')).toEqual({ passed: 7, failed: 0 });
  });
});

describe('wiring/ingress-backend', () => {
  const ingress = 'Ingress honeydue/honeydue';

  test.each([
    ['a Service that is not in the set', (i: any) => { i.spec.rules[1].http.paths[0].backend.service.name = 'web'; }, 'spec.rules[1].http.paths[0].backend.service.name'],
    ['a port number the Service does not expose', (i: any) => { i.spec.rules[0].http.paths[0].backend.service.port = { number: 80 }; }, 'spec.rules[0].http.paths[0].backend.service.port'],
    ['a port name the Service does not expose', (i: any) => { i.spec.rules[1].http.paths[0].backend.service.port = { name: 'web' }; }, 'spec.rules[1].http.paths[0].backend.service.port'],
    ['a default backend that is not in the set', (i: any) => { i.spec.defaultBackend = { service: { name: 'web', port: { number: 3000 } } }; }, 'spec.defaultBackend.service.name'],
  ])('fails on %s', (_what, edit, path) => {
    expectFindings(check(goodWith('Ingress', 'honeydue', edit)), [{ rule: 'wiring/ingress-backend', object: ingress, path }]);
  });

  test('passes over a rule that is null: it routes nothing', () => {
    expect(findingsOf(check(goodWith('Ingress', 'honeydue', (i) => { i.spec.rules.push(null); })), 'wiring/ingress-backend')).toEqual([]);
  });

  test('the port message points at the Service port, not the containerPort', () => {
    const report = check(goodWith('Ingress', 'honeydue', (i) => { i.spec.rules[0].http.paths[0].backend.service.port = { number: 80 }; }));
    expect(report.findings[0].message).toMatch(/backend port \{"number":80\} is not a port of Service "api" \(ports: http\/8000\)/);
  });

  test('says none when the backend Service has no ports', () => {
    const report = check(goodWith('Service', 'admin', (s) => { delete s.spec.ports; }));
    expectFindings(report, [{ rule: 'wiring/ingress-backend', object: ingress, path: 'spec.rules[1].http.paths[0].backend.service.port' }]);
    expect(report.findings[0].message).toBe('backend port {"number":3000} is not a port of Service "admin" (ports: none): use the Service port (not the containerPort)');
  });

  test('lists a null entry among the Service\'s ports rather than crashing', () => {
    const report = check(goodWith('Service', 'admin', (s) => { s.spec.ports = [null]; }));
    expect(report.findings.filter((f) => f.rule === 'wiring/ingress-backend').map((f) => [f.path, f.message])).toEqual([[
      'spec.rules[1].http.paths[0].backend.service.port',
      'backend port {"number":3000} is not a port of Service "admin" (ports: undefined): use the Service port (not the containerPort)',
    ]]);
  });

  test('fails on a backend Service name that is no string, even one that prints as the name of a Service in the set', () => {
    const report = check(goodWith('Ingress', 'honeydue', (i) => { i.spec.rules[0].http.paths[0].backend.service.name = ['api']; }));
    expect(findingsOf(report, 'wiring/ingress-backend')).toEqual([{
      rule: 'wiring/ingress-backend', object: ingress, path: 'spec.rules[0].http.paths[0].backend.service.name',
      message: 'backend Service ["api"] is not in namespace "honeydue" of the set: requests would get 503; fix the name or add the Service',
    }]);
  });

  test('fails on a backend without a port rather than crashing', () => {
    const report = check(goodWith('Ingress', 'honeydue', (i) => { delete i.spec.rules[0].http.paths[0].backend.service.port; }));
    expect(findingsOf(report, 'wiring/ingress-backend')).toEqual([{
      rule: 'wiring/ingress-backend', object: ingress, path: 'spec.rules[0].http.paths[0].backend.service.port',
      message: 'backend port nothing is not a port of Service "api" (ports: http/8000): use the Service port (not the containerPort)',
    }]);
  });

  test('says none when the backend Service has no spec at all', () => {
    const report = check(goodWith('Service', 'admin', (s) => { delete s.spec; }));
    expect(findingsOf(report, 'wiring/ingress-backend')).toEqual([{
      rule: 'wiring/ingress-backend', object: ingress, path: 'spec.rules[1].http.paths[0].backend.service.port',
      message: 'backend port {"number":3000} is not a port of Service "admin" (ports: none): use the Service port (not the containerPort)',
    }]);
  });

  test('lists every port of the backend Service, named or not, when the backend port is none of them', () => {
    const docs = goodWith('Service', 'admin', (s) => { s.spec.ports = [{ port: 9100 }, { name: 'http', port: 3000 }]; });
    objectIn(docs, 'Ingress', 'honeydue').spec.rules[1].http.paths[0].backend.service.port = { number: 80 };
    expect(findingsOf(check(docs), 'wiring/ingress-backend')).toEqual([{
      rule: 'wiring/ingress-backend', object: ingress, path: 'spec.rules[1].http.paths[0].backend.service.port',
      message: 'backend port {"number":80} is not a port of Service "admin" (ports: 9100, http/3000): use the Service port (not the containerPort)',
    }]);
  });

  test('matches a backend port name against any port of the Service, past a null entry', () => {
    const docs = goodWith('Service', 'admin', (s) => { s.spec.ports = [null, { name: 'metrics', port: 9100 }, { name: 'http', port: 3000 }]; });
    objectIn(docs, 'Ingress', 'honeydue').spec.rules[1].http.paths[0].backend.service.port = { name: 'http' };
    expectPasses(check(docs), 'wiring/ingress-backend', 1);
  });

  test('skips a rule without http and a null path entry rather than crashing', () => {
    const docs = goodWith('Ingress', 'honeydue', (i) => { i.spec.rules.push({ host: 'static.myhoneydue.com' }, { host: 'www.myhoneydue.com', http: { paths: [null] } }); });
    expectPasses(check(docs), 'wiring/ingress-backend', 1);
  });

  test('passes the three hosts of SPEC', () => {
    expect(passedOnStack('wiring/ingress-backend')).toEqual({ passed: 1, failed: 0 });
  });
});
