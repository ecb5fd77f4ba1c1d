import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { appPodDefinition, appWorkloadProblems, AppWorkloadProps, ConfigMapSource, missingConfigKeys, SecretKey } from './shared/app-workload';
import { namespaceOf, objectLabels } from './shared/labels';
import { ServiceEndpoint } from './shared/network';
import { BACKEND_RESOURCES } from './shared/resources';
import { absolutePathProblem, dnsLabelProblem, isRecord, ProblemList, reportProblems, ValueProblem, wholeNumberAtLeast, wholeNumberInRangeProblem } from './shared/validation';
import { Workload } from './workload';
import { applyAfter } from './shared/ordering';
import { claimObjectNames } from './shared/unique-names';

/** Props of {@link MigrateJob}. `image` is the api image of the release: goose is baked in at build time. */
export interface MigrateJobProps extends AppWorkloadProps {
  /**
   * Job name, as the deploy gate and operators read it (`kubectl logs job/<jobName>`).
   * Renaming it leaves the old Job behind, so it is named by the product, not defaulted here.
   */
  readonly jobName: string;
  /**
   * The ConfigMap read with envFrom. The migrate script reads `DB_HOST`,
   * `POSTGRES_USER` and `POSTGRES_DB` from it (required: the pod fails without
   * them) and `DB_PORT` (5432 when absent). Pass the `HoneydueConfigMap`
   * construct: its content hash rolls the Job, and a missing key fails the
   * build instead of the deploy.
   */
  readonly configMap: ConfigMapSource;
  /** Pod retries before the Job counts as failed. @default 2 */
  readonly backoffLimit?: number;
  /**
   * Seconds before Kubernetes fails the Job. At most 600, the deploy gate's
   * wait; the default ends the Job a minute earlier so the gate reads a Failed
   * condition and its logs rather than its own timeout.
   * @default 540
   */
  readonly activeDeadlineSeconds?: number;
  /** Folder of goose migration files inside the api image. @default '/app/migrations' */
  readonly migrationsDir?: string;
  /** Path of the goose binary inside the api image. @default '/usr/local/bin/goose' */
  readonly goosePath?: string;
  /**
   * Keys of `secretName` wired as env vars. The script hands
   * `POSTGRES_PASSWORD` to goose as `PGPASSWORD`, so the list must hold it.
   * @default {@link MIGRATE_SECRET_KEYS} (`POSTGRES_PASSWORD` only)
   */
  readonly secretKeys?: readonly SecretKey[];
  /** uid, gid and fsGroup of the Job's pod. @default 1000 (the api image's user) */
  readonly runAsUser?: number;
  /**
   * The Redis the Job uses (pass the `Redis` construct). `NetworkPolicies`
   * reads it: the Job gets egress to Redis, Redis gets ingress from the Job.
   * @default undefined (no Redis traffic allowed once policies are on)
   */
  readonly redis?: ServiceEndpoint;
}

/**
 * The secret keys the Job reads by default: the database password, nothing
 * else. goose needs no other secret, and a required key missing from the
 * Secret (an SMTP or B2 key not created yet) would stop the pod from starting
 * and fail the deploy gate for a reason that has nothing to do with the schema.
 */
export const MIGRATE_SECRET_KEYS: readonly SecretKey[] = ['POSTGRES_PASSWORD'];

/** The ConfigMap keys the migrate script cannot run without (`DB_PORT` has a default). */
const MIGRATE_CONFIG_KEYS: readonly string[] = ['DB_HOST', 'POSTGRES_USER', 'POSTGRES_DB'];

/** The deploy gate waits this long for the Job; activeDeadlineSeconds may not exceed it. */
export const MIGRATE_GATE_SECONDS = 600;


/**
 * Every problem of {@link MigrateJobProps}, each naming its prop and value; the
 * constructor throws them all at once before it builds anything. Values of the
 * wrong type are left to the type checker (or the config schema). `namespace` is
 * the resolved one (the Chart's when the prop is unset).
 */
export function migrateJobProblems(props: MigrateJobProps, namespace: unknown = props.namespace): ValueProblem[] {
  const owner = 'MigrateJob';
  const problems = new ProblemList(owner);
  problems.string('jobName', props.jobName, dnsLabelProblem);
  problems.number('backoffLimit', props.backoffLimit, wholeNumberAtLeast(0));
  problems.number('runAsUser', props.runAsUser, wholeNumberAtLeast(1));
  problems.number('activeDeadlineSeconds', props.activeDeadlineSeconds, (value) => {
    const problem = wholeNumberInRangeProblem(value, 1, MIGRATE_GATE_SECONDS);
    return problem && `${problem}: the deploy gate stops waiting after 10 minutes`;
  });
  problems.string('migrationsDir', props.migrationsDir, absolutePathProblem);
  problems.string('goosePath', props.goosePath, absolutePathProblem);
  const listed: unknown = props.secretKeys;
  const keyNames = Array.isArray(listed) ? listed.map((key: unknown) => (isRecord(key) ? key.key : key)) : undefined;
  if (keyNames && !keyNames.includes('POSTGRES_PASSWORD')) {
    problems.add(
      'secretKeys',
      `[${keyNames.join(', ')}] lacks POSTGRES_PASSWORD, which the script hands to goose as PGPASSWORD; ` +
        'add it, or leave secretKeys unset (the default reads only POSTGRES_PASSWORD)',
      listed,
    );
  }
  const missing = missingConfigKeys(props.configMap, MIGRATE_CONFIG_KEYS);
  if (missing.length > 0) {
    const them = missing.length === 1 ? 'it' : 'them';
    problems.add(
      'configMap',
      `the migrate script reads ${missing.join(', ')} from ConfigMap ${props.configMap.name}, which does not have ${them}; add ${them} to the ConfigMap's data`,
    );
  }
  problems.addAll(appWorkloadProblems(owner, props, { name: 'migrate', namespace, defaultSecretKeys: MIGRATE_SECRET_KEYS }));
  return problems.problems;
}

/**
 * The schema migration Job: `goose up` against the direct Postgres endpoint.
 * The script strips `-pooler` from `DB_HOST`: goose's session-scoped advisory
 * lock cannot survive PgBouncer's transaction mode. The password reaches goose
 * as `PGPASSWORD` in its environment (libpq and pgx read it there), never in
 * the `GOOSE_DBSTRING` DSN, argv or the manifest; the DSN's other values are
 * quoted the way libpq reads them, so a space, quote or backslash in a user or
 * database name cannot break it.
 *
 * A Job's pod template is immutable: the deploy command deletes the previous
 * Job (`jobName`) before applying the new one.
 *
 * A {@link Workload}: it also has `name` (`migrate`, its pods' and ServiceAccount's), `namespace`, `serviceAccount` and `traffic`.
 *
 * @example new MigrateJob(chart, 'migrate', { jobName: 'shop-migrate', image: 'registry.example.com/team/api:237c6b8', configMap: config });
 */
export class MigrateJob extends Workload {
  /** The Job. */
  public readonly job: k8s.KubeJob;
  /** The Job's name, as the deploy gate and operators read it (`kubectl logs job/<jobName>`). */
  public readonly jobName: string;

  public constructor(scope: Construct, id: string, props: MigrateJobProps) {
    super(scope, id);
    reportProblems(this, migrateJobProblems(props, namespaceOf(scope, 'MigrateJob', props.namespace)));
    const jobName = props.jobName;
    const backoffLimit = props.backoffLimit ?? 2;
    const activeDeadlineSeconds = props.activeDeadlineSeconds ?? 540;
    const migrationsDir = props.migrationsDir ?? '/app/migrations';
    const goosePath = props.goosePath ?? '/usr/local/bin/goose';
    const runAsUser = props.runAsUser ?? 1000;
    // The pods' `app.kubernetes.io/name` (not the Job name): NetworkPolicies select the pods by it.
    const podName = 'migrate';

    const owner = 'MigrateJob';

    const script = [
      'set -eu',
      ': "${DB_HOST:?DB_HOST is not set; it comes from the ConfigMap}"',
      // Read only inside the DSN's $(...) below, where set -u stops the substitution but not the export.
      ': "${POSTGRES_USER:?POSTGRES_USER is not set; it comes from the ConfigMap}"',
      ': "${POSTGRES_DB:?POSTGRES_DB is not set; it comes from the ConfigMap}"',
      ': "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set; it comes from the Secret (migrate.secretKeys)}"',
      // goose holds a session-scoped advisory lock; PgBouncer transaction mode drops it, so go direct.
      'DIRECT_HOST=$(printf %s "$DB_HOST" | sed "s/-pooler\\././")',
      'echo "goose up against $DIRECT_HOST (DB_HOST was $DB_HOST)"',
      // A keyword/value DSN value in libpq's quoting (pgx reads the same): single quotes, \ and ' escaped by a backslash.
      String.raw`dsn_value() { printf "'%s'" "$(printf %s "$1" | sed "s/[\\\\']/\\\\&/g")"; }`,
      'export GOOSE_DRIVER=postgres',
      'export GOOSE_DBSTRING="host=$(dsn_value "$DIRECT_HOST") port=$(dsn_value "${DB_PORT:-5432}") user=$(dsn_value "$POSTGRES_USER") dbname=$(dsn_value "$POSTGRES_DB") sslmode=require"',
      // Not in the DSN, which goose and drivers may print: libpq and pgx read the password from PGPASSWORD.
      'export PGPASSWORD="$POSTGRES_PASSWORD"',
      `exec ${goosePath} -dir ${migrationsDir} up`,
      '',
    ].join('\n');

    const template = this.buildPods(appPodDefinition(this, props, {
      owner,
      name: podName,
      runAsUser,
      defaultSecretKeys: MIGRATE_SECRET_KEYS,
      defaultResources: BACKEND_RESOURCES,
      container: { command: ['sh', '-c', script] },
      podSpec: { restartPolicy: 'Never' },
      connectsTo: [props.redis],
    }));

    this.jobName = jobName;
    this.job = new k8s.KubeJob(this, 'Resource', {
      metadata: { name: jobName, namespace: this.namespace, labels: objectLabels(podName) },
      spec: { backoffLimit, activeDeadlineSeconds, template },
    });
    applyAfter(this.job, this.serviceAccount, props.configMap);
    claimObjectNames(this, 'MigrateJob');
  }
}
