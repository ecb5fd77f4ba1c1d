/**
 * The deploy under faults, each caused for real: a hung API server, missing
 * Secrets, a failed Traefik upgrade, a failing health endpoint, and a directory
 * the manifest check refuses. The lock's faults are in deploy-lock.test.ts, the
 * signals in deploy-signals.test.ts.
 *
 * Why a stand-in and not the control plane of cluster/ (test/cluster/ has what the
 * API server does): a kubectl that hangs in one given call (the
 * Secrets read, a watch), a request timeout on one call, and a helm-install pod
 * found running a given number of times happen on demand only here; the hung and
 * slow real API servers are in test/cluster/api-server.test.ts.
 */
import { readFileSync } from 'node:fs';
import { applied, DeployRun, health, isAlive, LOCK_READ, LOCK_RELEASE, plainDeploy, release, runDeploy as run, RunSetup, sandbox, SELECTOR, SSA, useDeployFixtures } from './deploy-helpers';

useDeployFixtures();

const runDeploy = (args: string[], setup: RunSetup = {}): Promise<DeployRun> => run(sandbox, args, setup);
/** The helm-install Job's uid: read at the confirmation, then after the apply until the helm-controller replaced the Job. */
const HELM_UID = 'get job helm-install-traefik -n kube-system --ignore-not-found -o jsonpath={.metadata.uid}';
/**
 * The poll of the new helm-install Job's pods, by the uid the stand-in answers after the apply (every 2 s until a
 * pod succeeded, failed or restarted: the Job restarts its pod OnFailure, so its own status.failed stays 0).
 */
const HELM_PODS =
  'get pods -n kube-system -l batch.kubernetes.io/controller-uid=uid-new -o jsonpath={range .items[*]}{.status.phase}:{.status.containerStatuses[*].restartCount}{"\\n"}{end}';

describe('bounded calls', () => {
  test('every call that talks to the API server is bounded: --request-timeout, or its own --timeout for a watch', async () => {
    const result = await plainDeploy();

    // `version -o json` included: it asks the API server for its version.
    expect(result.calls[0]).toEqual(['version', '-o', 'json', '--request-timeout=30s']);
    for (const call of result.calls) {
      const bounds = call.filter((arg) => arg.startsWith('--request-timeout=') || arg.startsWith('--timeout='));
      expect([call.join(' '), bounds.length]).toEqual([call.join(' '), 1]);
    }
  });

  test('a hung API server ends the deploy with a message: the watchdog ends the call that never returns', async () => {
    const result = await runDeploy(['--manifests', release.arg, '--request-timeout', '1s'], {
      watchdogGraceMs: 500,
      scenario: { STANDIN_HANG: 'get secret' },
    });

    expect(result.code).toBe(1);
    expect(result.seconds).toBeLessThan(14);
    // The bound of a plain call is --request-timeout for each of the requests it makes, plus the 0.5 s grace: the one read
    // of the namespace's 4 Secrets makes at most 8 (a GET per name, and discovery), so 8.5 s, said as 9s.
    expect(result.stderr).toMatch(/kubectl get secret did not return within 9s \(its bound plus the deploy's watchdog\) and was ended: the API server is not answering/);
    expect(applied(result.lines)).toEqual([]);
    expect(result.lines.slice(-2)).toEqual([`${LOCK_READ} --request-timeout=1s`, expect.stringMatching(/^delete --raw \S+ -f \S+\/lease-delete-options\.json --request-timeout=1s$/)]);
    expect(sandbox.kubectlPids().length).toBeGreaterThan(3);
    for (const pid of sandbox.kubectlPids()) expect(isAlive(pid)).toBe(false);
  });

  test('a call that kubectl itself ended at --request-timeout says the API server took the request and did not answer', async () => {
    const result = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_TIMEOUT: 'get secret' } });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'deploy failed: kubectl get secret: the API server took the request but did not answer within --request-timeout=30s ' +
        '(Unable to connect to the server: net/http: request canceled (Client.Timeout exceeded while awaiting headers)). ' +
        'It is hung or overloaded: check it (kubectl get --raw /readyz --request-timeout=10s) and re-run the deploy\n',
    );
    // The one read of the namespace's Secrets failed: none after it, and nothing applied.
    expect(result.lines.filter((line) => line.startsWith('get secret'))).toHaveLength(1);
    expect(applied(result.lines)).toEqual([]);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });

  test.each([
    [
      'the cluster check',
      'get namespace',
      'cannot reach the cluster (current context, default kubeconfig): Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout\n' +
        'Point kubectl at it (export KUBECONFIG=~/.kube/honeydue-k3s.yaml, or pass --kubeconfig / --context) and re-run; nothing was applied\n',
    ],
    [
      'a Secret read',
      'get secret',
      'could not read the Secrets gitea-credentials, honeydue-apns-key, honeydue-secrets, vmagent-ingest-token in honeydue: ' +
        'Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout; nothing was applied\n',
    ],
  ])('a request timeout of %s that never connected (dial tcp) is an unreachable server, not a hung one: kubectl\'s error is passed on', async (_name, call, message) => {
    const result = await runDeploy(['--manifests', release.arg], {
      scenario: { STANDIN_TIMEOUT: call, STANDIN_TIMEOUT_ERROR: 'Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout' },
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`deploy failed: ${message}`);
    expect(result.stderr).not.toContain('took the request');
    expect(applied(result.lines)).toEqual([]);
  });

  test('a rollout status that hangs is ended by the watchdog behind its --timeout', async () => {
    const result = await runDeploy(['--manifests', release.arg, '--timeout', '1s'], {
      watchdogGraceMs: 500,
      scenario: { STANDIN_HANG: 'rollout status' },
    });

    expect(result.code).toBe(1);
    expect(result.seconds).toBeLessThan(15);
    expect(result.stderr).toMatch(/<== step \d+ failed after .*\n[^]*deploy failed: kubectl rollout status did not return within 2s \(its bound plus the deploy's watchdog\) and was ended: the API server is not answering/);
    expect(result.lines.filter((line) => line.startsWith('rollout status'))).toEqual(['rollout status daemonset/traefik -n kube-system --timeout=1s']);
    for (const pid of sandbox.kubectlPids()) expect(isAlive(pid)).toBe(false);
  });
});

describe('Secrets preflight', () => {
  test('reads key names only, never values', async () => {
    const result = await plainDeploy();

    // One call for the namespace's four Secrets; the template prints each found Secret's name and key names, a line
    // each, whether kubectl answers a List (several names) or the object itself (one).
    const secretCalls = result.lines.filter((line) => / secrets?\b/.test(line) && !line.startsWith('get -f'));
    const ofOne = '{{.metadata.name}}{{range $key, $value := .data}} {{$key}}{{end}}{{"\\n"}}';
    expect(secretCalls).toEqual([
      'get secret gitea-credentials honeydue-apns-key honeydue-secrets vmagent-ingest-token -n honeydue --ignore-not-found ' +
        `-o go-template={{if .items}}{{range .items}}${ofOne}{{end}}{{else}}{{if .metadata}}${ofOne}{{end}}{{end}}`,
    ]);
  });

  test('a missing Secret, a missing key and a missing pull Secret are all named, with the command that creates each; nothing is applied', async () => {
    sandbox.writeSecret('honeydue', 'honeydue-secrets', ['POSTGRES_PASSWORD', 'SECRET_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'EMAIL_HOST_PASSWORD', 'B2_KEY_ID']);
    sandbox.writeSecret('honeydue', 'honeydue-apns-key', null);
    sandbox.writeSecret('honeydue', 'gitea-credentials', null);

    const result = await runDeploy(['--manifests', release.arg]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      // The migrate Job reads only POSTGRES_PASSWORD of this Secret: it is not named for B2_APP_KEY.
      "Secret honeydue/honeydue-secrets lacks the key B2_APP_KEY (read by Deployment/api, Deployment/worker). Add it:\n    kubectl -n honeydue patch secret honeydue-secrets --type=merge -p '{\"data\":{\"B2_APP_KEY\":\"<base64 of the value>\"}}'",
    );
    expect(result.stderr).toContain(
      'Secret honeydue/honeydue-apns-key does not exist (read by Deployment/api, Deployment/worker). Create it:\n    kubectl -n honeydue create secret generic honeydue-apns-key --from-file=apns_auth_key.p8=<path to the file>',
    );
    expect(result.stderr).toMatch(
      /Secret honeydue\/gitea-credentials does not exist \(image pull Secret of [^)]*Deployment\/api[^)]*\)\. Create it:\n {4}kubectl -n honeydue create secret docker-registry gitea-credentials --docker-server=gitea\.treytartt\.com --docker-username=<user> --docker-password=<token>/,
    );
    // The optional REDIS_PASSWORD is not required.
    expect(result.stderr).not.toContain('REDIS_PASSWORD');
    expect(applied(result.lines)).toEqual([]);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });
});

describe('Secrets preflight, first deploy into an empty cluster', () => {
  test('a missing namespace is named once, with the release\'s Namespace to apply first and then every Secret to create in it; nothing is applied', async () => {
    const result = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_MISSING_NAMESPACES: 'honeydue' } });

    expect(result.code).toBe(1);
    // The namespace and its Secrets are read at once; in a namespace that does not exist the read finds none.
    expect(result.lines.filter((line) => line.startsWith('get namespace'))).toEqual([
      'get namespace kube-system -o name',
      'get namespace honeydue --ignore-not-found -o name',
    ]);
    expect(result.lines.filter((line) => line.startsWith('get secret'))).toEqual([
      expect.stringMatching(/^get secret gitea-credentials honeydue-apns-key honeydue-secrets vmagent-ingest-token -n honeydue --ignore-not-found -o go-template=/),
    ]);
    // The release's own Namespace, with its Pod Security labels, applied as the deploy applies it: pasteable as printed.
    const namespace = readFileSync(release.file('namespace.yaml'), 'utf8').split('\n').filter((line) => !line.startsWith('#')).join('\n').trimEnd();
    expect(namespace).toContain('pod-security.kubernetes.io/enforce: restricted');
    expect(result.stderr).toContain(
      'namespace honeydue does not exist yet, so neither do the Secrets the release reads there ' +
        '(gitea-credentials, honeydue-apns-key, honeydue-secrets, vmagent-ingest-token). In this order:\n' +
        `    kubectl apply --server-side --field-manager=honeydue-k8s -f - <<'YAML'\n${namespace}\nYAML\n` +
        '    kubectl -n honeydue create secret docker-registry gitea-credentials --docker-server=gitea.treytartt.com --docker-username=<user> --docker-password=<token>\n' +
        '    kubectl -n honeydue create secret generic honeydue-apns-key --from-file=apns_auth_key.p8=<path to the file>\n' +
        '    kubectl -n honeydue create secret generic honeydue-secrets --from-literal=ADMIN_EMAIL=<value> --from-literal=ADMIN_PASSWORD=<value> ' +
        '--from-literal=B2_APP_KEY=<value> --from-literal=B2_KEY_ID=<value> --from-literal=EMAIL_HOST_PASSWORD=<value> ' +
        '--from-literal=POSTGRES_PASSWORD=<value> --from-literal=SECRET_KEY=<value>\n' +
        '    kubectl -n honeydue create secret generic vmagent-ingest-token --from-file=token=<path to the file>\n' +
        '  then re-run the deploy\n' +
        'Nothing was applied: the pods would not start without them\n',
    );
    expect(result.stderr.match(/does not exist/g)).toHaveLength(1);
    expect(applied(result.lines)).toEqual([]);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });
});

describe('Secrets preflight readers', () => {
  test('a missing key names only the workloads that read that key; a missing Secret names every workload that reads it', async () => {
    sandbox.writeSecret('honeydue', 'honeydue-secrets', ['SECRET_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'EMAIL_HOST_PASSWORD', 'B2_KEY_ID', 'B2_APP_KEY']);

    const key = await runDeploy(['--manifests', release.arg]);

    expect(key.code).toBe(1);
    expect(key.stderr).toMatch(/Secret honeydue\/honeydue-secrets lacks the key POSTGRES_PASSWORD \(read by Job\/honeydue-migrate, Deployment\/api, Deployment\/worker\)\./);

    sandbox.writeSecret('honeydue', 'honeydue-secrets', null);
    const secret = await runDeploy(['--manifests', release.arg]);

    expect(secret.code).toBe(1);
    expect(secret.stderr).toContain('Secret honeydue/honeydue-secrets does not exist (read by Job/honeydue-migrate, Deployment/api, Deployment/worker). Create it:');
    expect(applied(secret.lines)).toEqual([]);
  });
});

describe('--manifests runs the manifest check', () => {
  test('a directory with a Secret holding data and a latest tag is refused before the cluster is contacted', async () => {
    const api = readFileSync(release.file('api.yaml'), 'utf8').replace('honeydue-api:abc1234', 'honeydue-api:latest');
    const config =
      readFileSync(release.file('config.yaml'), 'utf8') +
      '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n  namespace: honeydue\n  labels:\n    honeydue.io/environment: production\ndata:\n  TOKEN: c2VjcmV0\n';
    const dir = release.copy(sandbox, 'bad', { 'api.yaml': api, 'config.yaml': config });

    const result = await runDeploy(['--manifests', dir]);

    expect(result.code).toBe(1);
    expect(result.calls).toEqual([]);
    expect(result.stderr).toMatch(/the manifest check refused \S+bad; nothing was applied and the cluster was not contacted/);
    expect(result.stderr).toMatch(/Secret honeydue\/leaked/);
    expect(result.stderr).toMatch(/latest/);
  });
});

describe('Traefik', () => {
  test('after the HelmChartConfig: waits for the helm-install Job and the DaemonSet, before the app', async () => {
    const result = await plainDeploy();

    const lines = result.lines;
    const traefikApply = lines.findIndex((line) => line.startsWith(SSA) && line.includes('traefik.yaml'));
    // The uid read before the apply (at the confirmation), then again until the helm-controller's new Job shows.
    expect(lines[lines.findIndex((line) => line.startsWith(SSA)) - 1]).toBe('get job helm-install-traefik -n kube-system --ignore-not-found -o jsonpath={.metadata.uid}');
    // Then the new Job's pods (by its uid), polled until one succeeded (here at once), then the DaemonSet's rollout.
    expect(lines.slice(traefikApply + 1, traefikApply + 4)).toEqual([
      'get job helm-install-traefik -n kube-system --ignore-not-found -o jsonpath={.metadata.uid}',
      HELM_PODS,
      'rollout status daemonset/traefik -n kube-system --timeout=15m',
    ]);
    // No wait on the Job and no read of its counts: neither ever says Failed while the pod restarts.
    expect(lines.some((line) => line.startsWith('wait') && line.includes('helm-install-traefik'))).toBe(false);
    expect(lines.some((line) => line.startsWith('get job helm-install-traefik') && line.includes('status'))).toBe(false);
    expect(lines.indexOf('rollout status daemonset/traefik -n kube-system --timeout=15m')).toBeLessThan(
      lines.findIndex((line) => line.startsWith(SSA) && line.includes('migrate.yaml')),
    );
  });

  test.each([
    // The real Job's way to fail: its pod restarts OnFailure. Found running at the first poll, restarted at the next.
    ['a pod that restarted', { STANDIN_HELM_JOB: 'failed', STANDIN_HELM_POD_RUNS: '1' }, [HELM_PODS, HELM_PODS]],
    ['a Failed pod', { STANDIN_HELM_JOB: 'pod-failed' }, [HELM_PODS]],
  ])('a failed Traefik upgrade (%s) is named, with its newest pod\'s log, and nothing of the app is applied', async (_name, scenario, polls) => {
    const result = await runDeploy(['--manifests', release.arg], { scenario });

    expect(result.code).toBe(1);
    // helm-controller's Job retries a failed pod up to 1000 times: the first failing pod decides, and the newest pod's log is shown.
    const traefikApply = result.lines.findIndex((line) => line.startsWith(SSA) && line.includes('traefik.yaml'));
    expect(result.lines.slice(traefikApply + 1)).toEqual([
      HELM_UID,
      ...polls,
      'get pods -n kube-system -l batch.kubernetes.io/job-name=helm-install-traefik --sort-by=.metadata.creationTimestamp -o jsonpath={.items[*].metadata.name}',
      'logs pod/helm-install-traefik-newest -n kube-system --tail=50',
      ...LOCK_RELEASE,
    ]);
    expect(result.stderr).toContain(
      "\nthe Traefik upgrade Job kube-system/helm-install-traefik has a failing pod; its log:\nlog of helm-install-traefik-newest, the newest of the Job's 2 pod(s):\n",
    );
    expect(result.stderr).toContain(
      "the Traefik upgrade failed: the pod of Job kube-system/helm-install-traefik failed (the helm-controller's Job restarts it and retries up to 1000 times, " +
        'so the Job itself will not say Failed for hours). helm keeps the previous Traefik release serving. ' +
        "Read why (the newest pod's log): kubectl -n kube-system logs --tail=50 $(kubectl -n kube-system get pods -l batch.kubernetes.io/job-name=helm-install-traefik " +
        '--sort-by=.metadata.creationTimestamp -o name | tail -n 1) ; fix the HelmChartConfig traefik (traefik.* in the config) and re-run. Nothing of the app was applied',
    );
    expect(applied(result.lines).some((line) => line.includes('migrate.yaml') || line.includes('api.yaml'))).toBe(false);
  });

  test('a pod found running is polled again until it succeeded, then the DaemonSet rolls out and the deploy goes on', async () => {
    const result = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_HELM_POD_RUNS: '2' } });

    expect(result.code).toBe(0);
    const traefikApply = result.lines.findIndex((line) => line.startsWith(SSA) && line.includes('traefik.yaml'));
    expect(result.lines.slice(traefikApply + 1, traefikApply + 6)).toEqual([
      HELM_UID,
      HELM_PODS,
      HELM_PODS,
      HELM_PODS,
      'rollout status daemonset/traefik -n kube-system --timeout=15m',
    ]);
    // Every 2 s: three polls take at least 4 s.
    expect(result.seconds).toBeGreaterThan(4);
  });

  test('an unchanged HelmChartConfig upgrades nothing, so nothing is waited for', async () => {
    const config = readFileSync(release.file('traefik.yaml'), 'utf8');
    const { parse } = await import('yaml');
    const live = parse(config.split('\n').filter((l) => !l.startsWith('#')).join('\n'));
    const result = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_LIVE_OBJECTS: sandbox.json('live.json', [live]) } });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ {3}unchanged +kube-system +HelmChartConfig\/traefik\n/);
    expect(result.stdout).toContain(
      "the HelmChartConfig's values and failurePolicy are unchanged: k3s starts no helm-install Job, so Traefik is not upgraded\n",
    );
    // Only the Job's uid, read at the confirmation; no poll of the Job, no wait.
    expect(result.lines.filter((line) => line.includes('helm-install-traefik'))).toEqual([HELM_UID]);
  });

  test('a HelmChartConfig that changes only in a label is updated, but upgrades nothing: only valuesContent and failurePolicy start a helm-install Job', async () => {
    const config = readFileSync(release.file('traefik.yaml'), 'utf8');
    const { parse } = await import('yaml');
    const live = parse(config.split('\n').filter((l) => !l.startsWith('#')).join('\n'));
    live.metadata.labels['app.kubernetes.io/name'] = 'traefik-old';
    const result = await runDeploy(['--manifests', release.arg], { scenario: { STANDIN_LIVE_OBJECTS: sandbox.json('live.json', [live]) } });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/~  update +kube-system +HelmChartConfig\/traefik\n {8}changed: metadata\.labels\.app\.kubernetes\.io\/name: "traefik-old" -> "traefik"\n/);
    expect(result.stdout).toContain(
      "the HelmChartConfig's values and failurePolicy are unchanged: k3s starts no helm-install Job, so Traefik is not upgraded\n",
    );
    expect(result.lines.filter((line) => line.includes('helm-install-traefik'))).toEqual([HELM_UID]);
  });
});

describe('health check after the rollout', () => {
  test('asks the health URL through the route; a pass goes on to prune', async () => {
    const result = await plainDeploy();

    expect(result.code).toBe(0);
    expect(result.healthHits).toBe(1);
    expect(result.stdout).toContain(`health check passed: ${health.url} answered 2xx (attempt 1)`);
    // After the pass, prune lists each namespace: the listings are the last kubectl calls before the lock release.
    const passed = result.stdout.indexOf('health check passed');
    const pruneStep = result.stdout.indexOf('==> step', passed);
    expect(result.stdout.slice(pruneStep)).toMatch(/^==> step \d+: prune objects that left the stack\n\$ kubectl get configmap,/);
    const listings = result.lines.slice(-4, -2);
    expect(listings.map((line) => line.replace(/^get configmap,\S+ /, 'get <kinds> '))).toEqual([
      `get <kinds> -n honeydue -l ${SELECTOR} -o json`,
      `get <kinds> -n kube-system -l ${SELECTOR} -o json`,
    ]);
    expect(result.lines.slice(-2)).toEqual(LOCK_RELEASE);
  });

  test("the default URL is the release's public API URL + /health/ (https://<domains.api>/api/health/)", async () => {
    const result = await runDeploy(['--manifests', release.arg, '--dry-run'], { bare: true });

    expect(result.stdout).toMatch(/==> step \d+: health check https:\/\/api\.myhoneydue\.com\/api\/health\/\n/);
    expect(result.stdout).toContain('  # GET https://api.myhoneydue.com/api/health/ until it answers 2xx (every 2s, at most 60s)\n');
  });

  test('a failed check stops before prune; with --rollback-on-failure it rolls back what this deploy rolled', async () => {
    health.status = 503;
    const { parse } = await import('yaml');
    const docs = readFileSync(release.file('api.yaml'), 'utf8').split(/^---$/m).map((d) => parse(d)).filter((d) => d);
    const api = docs.find((d: any) => d.kind === 'Deployment');
    api.spec.template.spec.containers[0].image = 'gitea.treytartt.com/admin/honeydue-api:0ld0ld0';

    const result = await runDeploy(['--manifests', release.arg, '--rollback-on-failure', '--health-timeout', '1s'], {
      scenario: { STANDIN_LIVE_OBJECTS: sandbox.json('live.json', [api]) },
    });

    expect(result.code).toBe(1);
    expect(health.hits).toBeGreaterThan(0);
    expect(result.stderr).toMatch(new RegExp(`health check failed: ${health.url.replace(/[./]/g, '\\$&')} did not answer 2xx within 1s \\(last: HTTP 503\\)`));
    const afterIngress = result.lines.slice(result.lines.findIndex((line) => line.startsWith(`${SSA} -f`) && line.includes('ingress.yaml')) + 1);
    expect(afterIngress).toEqual([
      'rollout undo deployment/api -n honeydue',
      'rollout status deployment/api -n honeydue --timeout=15m',
      ...LOCK_RELEASE,
    ]);
    expect(result.stderr).toContain('rolled back what this deploy rolled: deployment/api');
  });

  test('without --rollback-on-failure nothing is undone and the way back is printed', async () => {
    health.status = 500;

    const result = await runDeploy(['--manifests', release.arg, '--health-timeout', '1s']);

    expect(result.code).toBe(1);
    expect(result.lines.some((line) => line.startsWith('rollout undo'))).toBe(false);
    expect(result.stderr).toMatch(/Prune did not run/);
  });
});
