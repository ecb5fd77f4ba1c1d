import { execFileSync, spawnSync } from 'child_process';
import { HoneydueConfigMap, MigrateJob } from '../constructs';
import { container, find, hardeningOf, synthOf, MIGRATE_WIRING, imageOf } from './helpers';

const image = imageOf('api');

describe('MigrateJob with only the api image', () => {
  let objects: any[], job: any, pod: any, migrate: any, script: string;
  beforeEach(() => {
    objects = synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image }));
    job = find(objects, 'Job', 'honeydue-migrate');
    pod = job.spec.template.spec;
    migrate = container(job);
    script = migrate.command[2];
  });

  test('Job honeydue-migrate in honeydue with the api image of the release', () => {
    expect(job.metadata.namespace).toBe('honeydue');
    expect(migrate.image).toBe(image);
  });

  test('restartPolicy Never, backoffLimit 2, activeDeadlineSeconds 540 (under the 10-minute gate)', () => {
    expect(pod.restartPolicy).toBe('Never');
    expect(job.spec.backoffLimit).toBe(2);
    expect(job.spec.activeDeadlineSeconds).toBe(540);
  });

  test('same hardening and wiring as api: own ServiceAccount, uid 1000, ConfigMap, secrets by reference', () => {
    expect(find(objects, 'ServiceAccount', 'migrate').automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('migrate');
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(migrate.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(pod.imagePullSecrets).toEqual([{ name: 'gitea-credentials' }]);
    expect(migrate.envFrom).toEqual([{ configMapRef: { name: 'honeydue-config' } }]);
  });

  test("resources are api's: requests 100m / 128Mi, limits 1000m / 512Mi", () => {
    expect(migrate.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1000m', memory: '512Mi' } });
  });

  test('the DSN\'s values are quoted the way libpq reads them: single quotes, \\ and \' escaped', () => {
    // Run the script's own quoting function on values that would break an unquoted DSN.
    const quoteLine = script.split('\n').find((line) => line.startsWith('dsn_value()'))!;
    const out = execFileSync('sh', ['-c', `${quoteLine}\ndsn_value "$1"`, 'sh', `o'brien \\ x`]).toString();
    expect(out).toBe(`'o\\'brien \\\\ x'`);
  });

  test('the script strips -pooler from DB_HOST (goose needs a session; PgBouncer transaction mode drops it)', () => {
    // Run the script's own sed line against the production host.
    const sedLine = script.split('\n').find((line) => line.startsWith('DIRECT_HOST='))!;
    const out = execFileSync('sh', ['-c', `DB_HOST=ep-floral-truth-amttbc5a-pooler.c-5.us-east-1.aws.neon.tech; ${sedLine}; printf %s "$DIRECT_HOST"`]).toString();
    expect(out).toBe('ep-floral-truth-amttbc5a.c-5.us-east-1.aws.neon.tech');
  });

  test('the script stops before goose when DB_HOST or POSTGRES_PASSWORD is missing, naming where each comes from', () => {
    const run = (env: Record<string, string>) => spawnSync('sh', ['-c', script], { env, encoding: 'utf8' });
    const noHost = run({ POSTGRES_PASSWORD: 'x' });
    expect(noHost.status).not.toBe(0);
    expect(noHost.stderr).toContain('DB_HOST is not set; it comes from the ConfigMap');
    const noPassword = run({ DB_HOST: 'db' });
    expect(noPassword.status).not.toBe(0);
    expect(noPassword.stderr).toContain('POSTGRES_PASSWORD is not set; it comes from the Secret (migrate.secretKeys)');
  });

  test('a ServiceAccount and the Job, each labelled name migrate, part-of honeydue, managed-by honeydue-k8s; container migrate with a 64Mi /tmp', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['ServiceAccount/migrate', 'Job/honeydue-migrate']);
    for (const o of objects) {
      expect(o.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'migrate', 'app.kubernetes.io/part-of': 'honeydue', 'app.kubernetes.io/managed-by': 'honeydue-k8s' });
    }
    expect(migrate.name).toBe('migrate');
    expect(migrate.command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    expect(migrate.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
  });

  test('probes, securityContext and PDB', () => {
    expect(hardeningOf(objects)).toMatchSnapshot();
  });
});

test('secretKeys can add keys, but not drop the database password', () => {
  const objects = synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, secretKeys: ['POSTGRES_PASSWORD', { key: 'REDIS_PASSWORD', optional: true }] }));
  expect(container(find(objects, 'Job', 'honeydue-migrate')).env.map((e: any) => e.name)).toEqual(['POSTGRES_PASSWORD', 'REDIS_PASSWORD']);
  expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, secretKeys: [{ key: 'DATABASE_PASSWORD' }] }))).toThrow(
    /MigrateJob: secretKeys: \[DATABASE_PASSWORD\] lacks POSTGRES_PASSWORD, which the script hands to goose as PGPASSWORD/,
  );
});

test('backoffLimit 0 is accepted: a migration that fails once stops the deploy at once', () => {
  const job = find(synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, backoffLimit: 0 })), 'Job', 'honeydue-migrate');
  expect(job.spec.backoffLimit).toBe(0);
});

describe('MigrateJob fails', () => {
  test('fails with activeDeadlineSeconds above the 600 s gate', () => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, activeDeadlineSeconds: 900 }))).toThrow(
      /MigrateJob: activeDeadlineSeconds: 900 must be a whole number from 1 to 600/,
    );
  });
  test('fails when the ConfigMap construct lacks one key the script reads, naming it as "it"', () => {
    expect(() => synthOf((chart) => {
      const configMap = new HoneydueConfigMap(chart, 'config', { name: 'honeydue-config', data: { DB_HOST: 'db', POSTGRES_USER: 'u' } });
      new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, configMap, image });
    })).toThrow(
      "MigrateJob: configMap: the migrate script reads POSTGRES_DB from ConfigMap honeydue-config, which does not have it; add it to the ConfigMap's data",
    );
  });
  test('fails with a negative backoffLimit', () => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, backoffLimit: -1 }))).toThrow(/MigrateJob: backoffLimit: -1/);
  });
});
