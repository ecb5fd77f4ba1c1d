import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { HoneydueConfigMap, MigrateJob } from '../constructs';
import { directDatabaseHost } from '../constructs/shared/database';
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

  test("goose is /usr/local/bin/goose and the migrations /app/migrations by default; goose runs last, by exec, so its exit status is the pod's", () => {
    expect(script.split('\n').slice(-2)).toEqual(['exec /usr/local/bin/goose -dir /app/migrations up', '']);
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

describe('the migrate script, run by sh with a stand-in goose that prints its argv and environment', () => {
  const POOLER_HOST = 'ep-floral-truth-amttbc5a-pooler.c-5.us-east-1.aws.neon.tech';
  const DIRECT_HOST = 'ep-floral-truth-amttbc5a.c-5.us-east-1.aws.neon.tech';
  let dir: string, script: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'honeydue-migrate-'));
    const goosePath = path.join(dir, 'goose');
    fs.writeFileSync(goosePath, [
      '#!/bin/sh',
      'echo "argv: $*"',
      'echo "GOOSE_DRIVER=${GOOSE_DRIVER-<unset>}"',
      'echo "GOOSE_DBSTRING=${GOOSE_DBSTRING-<unset>}"',
      'echo "PGPASSWORD=${PGPASSWORD-<unset>}"',
      '',
    ].join('\n'), { mode: 0o755 });
    const job = find(synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, goosePath })), 'Job', 'honeydue-migrate');
    script = container(job).command[2];
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** The script as the pod runs it, with the ConfigMap's and the Secret's values (DB_PORT unset: 5432) on top of `env`, `without` one of them. */
  const run = (env: Record<string, string>, without?: string) => {
    const podEnv: Record<string, string> = { DB_HOST: POOLER_HOST, POSTGRES_USER: 'neondb_owner', POSTGRES_DB: 'honeyDue', POSTGRES_PASSWORD: 's3cret', ...env };
    if (without !== undefined) delete podEnv[without];
    return spawnSync('/bin/sh', ['-c', script], { env: podEnv, encoding: 'utf8' });
  };

  test('goose up -dir /app/migrations against the direct host (no -pooler), port 5432, sslmode=require; the password in PGPASSWORD, not in the DSN', () => {
    const result = run({ PATH: process.env.PATH! });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `goose up against ${DIRECT_HOST} (DB_HOST was ${POOLER_HOST})`,
      'argv: -dir /app/migrations up',
      'GOOSE_DRIVER=postgres',
      `GOOSE_DBSTRING=host='${DIRECT_HOST}' port='5432' user='neondb_owner' dbname='honeyDue' sslmode=require`,
      'PGPASSWORD=s3cret',
      '',
    ]);
    expect(result.stdout).not.toMatch(/GOOSE_DBSTRING=.*s3cret/);
  });

  test.each(['DB_HOST', 'POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_PASSWORD'])('without %s the pod fails before goose, saying where the value comes from', (key) => {
    const result = run({ PATH: process.env.PATH! }, key);
    expect(result.status).not.toBe(0);
    const from = key === 'POSTGRES_PASSWORD' ? 'the Secret (migrate.secretKeys)' : 'the ConfigMap';
    expect(result.stderr).toContain(`${key}: ${key} is not set; it comes from ${from}`);
    expect(result.stdout).toBe('');
  });

  test('set -e: a step that fails (here sed, missing from PATH) stops the script before goose', () => {
    const result = run({ PATH: dir });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/sed: (command )?not found/);
    expect(result.stdout).toBe('');
  });
});

test('secretKeys can add keys, but not drop the database password', () => {
  const objects = synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, secretKeys: ['POSTGRES_PASSWORD', { key: 'REDIS_PASSWORD', optional: true }] }));
  expect(container(find(objects, 'Job', 'honeydue-migrate')).env.map((e: any) => e.name)).toEqual(['POSTGRES_PASSWORD', 'REDIS_PASSWORD']);
  expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, secretKeys: [{ key: 'DATABASE_PASSWORD' }] }))).toThrow(
    /MigrateJob: secretKeys: \[DATABASE_PASSWORD\] lacks POSTGRES_PASSWORD, which the script hands to goose as PGPASSWORD/,
  );
  expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, secretKeys: ['DATABASE_PASSWORD', 'REDIS_PASSWORD'] }))).toThrow(
    'MigrateJob: secretKeys: [DATABASE_PASSWORD, REDIS_PASSWORD] lacks POSTGRES_PASSWORD, which the script hands to goose as PGPASSWORD; ' +
      'add it, or leave secretKeys unset (the default reads only POSTGRES_PASSWORD)',
  );
});

test('backoffLimit 0 is accepted: a migration that fails once stops the deploy at once', () => {
  const job = find(synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, backoffLimit: 0 })), 'Job', 'honeydue-migrate');
  expect(job.spec.backoffLimit).toBe(0);
});

test.each([1, 600])('activeDeadlineSeconds %i, an end of the range the deploy gate waits, is accepted', (seconds) => {
  const job = find(synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, activeDeadlineSeconds: seconds })), 'Job', 'honeydue-migrate');
  expect(job.spec.activeDeadlineSeconds).toBe(seconds);
});

describe('MigrateJob fails', () => {
  test('fails with activeDeadlineSeconds above the 600 s gate', () => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, activeDeadlineSeconds: 900 }))).toThrow(
      /MigrateJob: activeDeadlineSeconds: 900 must be a whole number from 1 to 600/,
    );
  });
  test.each([0, 1.5])('fails with activeDeadlineSeconds %d, not a whole number from 1 to 600, saying the whole sentence', (seconds) => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, activeDeadlineSeconds: seconds }))).toThrow(
      new Error(`MigrateJob: activeDeadlineSeconds: ${seconds} must be a whole number from 1 to 600: the deploy gate stops waiting after 10 minutes`),
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
  test('fails when the ConfigMap construct lacks two keys the script reads, naming them as "them"', () => {
    expect(() => synthOf((chart) => {
      const configMap = new HoneydueConfigMap(chart, 'config', { name: 'honeydue-config', data: { DB_HOST: 'db' } });
      new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, configMap, image });
    })).toThrow(
      "MigrateJob: configMap: the migrate script reads POSTGRES_USER, POSTGRES_DB from ConfigMap honeydue-config, which does not have them; add them to the ConfigMap's data",
    );
  });
  test('fails when the default secret key (POSTGRES_PASSWORD) has no Secret to come from', () => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, secretName: undefined }))).toThrow(
      /MigrateJob: secretName: not set, but secretKeys lists POSTGRES_PASSWORD; name the Secret that holds them/,
    );
  });
  test('fails with runAsUser 0 (root)', () => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, runAsUser: 0 }))).toThrow(/MigrateJob: runAsUser: 0 /);
  });
  test('fails with a goosePath that is not absolute', () => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, goosePath: 'usr/local/bin/goose' }))).toThrow(
      "MigrateJob: goosePath: 'usr/local/bin/goose' is not an absolute path",
    );
  });
  test('fails in a Chart without a namespace when none is set', () => {
    expect(() => new MigrateJob(Testing.chart(), 'migrate', { ...MIGRATE_WIRING, image })).toThrow(/^MigrateJob: namespace: not set, and the enclosing Chart has none/);
  });
  test('fails when a second MigrateJob builds the same Job, naming both', () => {
    expect(() => synthOf((chart) => {
      new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image });
      new MigrateJob(chart, 'again', { ...MIGRATE_WIRING, image });
    })).toThrow(/^MigrateJob at test\/again: ServiceAccount honeydue\/migrate, Job honeydue\/honeydue-migrate are already built by test\/migrate: /);
  });
  test('fails with a negative backoffLimit', () => {
    expect(() => synthOf((chart) => new MigrateJob(chart, 'migrate', { ...MIGRATE_WIRING, image, backoffLimit: -1 }))).toThrow(/MigrateJob: backoffLimit: -1/);
  });
});

test('goose reaches the direct endpoint: directDatabaseHost drops the first -pooler label suffix, as the script\'s sed does', () => {
  expect(directDatabaseHost('ep-example-123-pooler.us-east-1.aws.neon.tech')).toBe('ep-example-123.us-east-1.aws.neon.tech');
  expect(directDatabaseHost('a-pooler.b-pooler.example.com')).toBe('a.b-pooler.example.com');
  expect(directDatabaseHost('db.example.com')).toBe('db.example.com');
});
