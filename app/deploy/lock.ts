import { writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { Kubectl, lastErrorLine } from './kubectl';
import { DeployError } from './options';
import { Output } from './process';
import { kubectlCall, note, PlanLine, Step } from './step';

/**
 * Where the deploy locks live: kube-system exists on every k3s cluster before
 * the first deploy (the preflight reads it), unlike the environment's own
 * namespace, which the deploy itself creates.
 */
export const LOCK_NAMESPACE = 'kube-system';

/** The Lease of one environment: one deploy of it at a time, whoever runs it. */
export const lockName = (env: string): string => `honeydue-deploy-${env}`;

/**
 * A holder that stops renewing (a killed laptop, a lost network) leaves a
 * Lease that goes stale this long after its last renewal. The deploy renews
 * every LOCK_RENEW_MS, so a live deploy's Lease is never stale.
 */
export const LOCK_DURATION_SECONDS = 120;
export const LOCK_RENEW_MS = 30_000;

export interface LockSettings {
  readonly env: string;
  /** Folder of this deploy (the Lease manifests are written there). */
  readonly workDir: string;
  readonly takeOverStale: boolean;
  /** Interval between renewals (tests shorten it). */
  readonly renewMs: number;
  /** Who this deploy is, as the Lease's holderIdentity says. */
  readonly holder: string;
}

interface LiveLease {
  readonly metadata: { readonly resourceVersion?: string };
  readonly spec?: {
    readonly holderIdentity?: string;
    readonly acquireTime?: string;
    readonly renewTime?: string;
    readonly leaseDurationSeconds?: number;
  };
}

/** `user@host pid N`: enough for whoever is refused to find the other deploy. */
export function defaultHolder(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container): keep 'unknown'
  }
  return `${user}@${hostname()} pid ${process.pid}`;
}

const getArgs = (env: string): string[] => ['get', 'lease', lockName(env), '-n', LOCK_NAMESPACE, '-o', 'json'];
const deleteArgs = (env: string): string[] => ['delete', 'lease', lockName(env), '-n', LOCK_NAMESPACE, '--ignore-not-found'];
const createArgs = (file: string): string[] => ['create', '-f', file, '-o', 'name'];
const replaceArgs = (file: string): string[] => ['replace', '-f', file, '-o', 'name'];

/** JSON patch that renews only while this deploy still holds the Lease (the `test` op fails otherwise). */
const renewArgs = (env: string, holder: string, now: string): string[] => [
  'patch', 'lease', lockName(env), '-n', LOCK_NAMESPACE, '--type=json', '-p',
  JSON.stringify([
    { op: 'test', path: '/spec/holderIdentity', value: holder },
    { op: 'replace', path: '/spec/renewTime', value: now },
  ]),
];

/**
 * The environment's deploy lock: a coordination.k8s.io Lease created
 * atomically by the API server (a second create gets AlreadyExists), renewed
 * while the deploy runs, deleted when it ends however it ends.
 */
export class DeployLock {
  private renewTimer: NodeJS.Timeout | undefined;
  private held = false;
  private renewing = false;
  private lost: string | undefined;
  private readonly leaseFile: string;

  constructor(
    private readonly settings: LockSettings,
    private readonly onLost: (why: string) => void,
  ) {
    this.leaseFile = join(settings.workDir, 'lease.json');
  }

  /** What --dry-run prints for taking the lock. */
  static plan(env: string, leaseFile: string): PlanLine[] {
    return [
      kubectlCall(createArgs(leaseFile)),
      {
        kind: 'only-if',
        when: `the Lease ${LOCK_NAMESPACE}/${lockName(env)} exists (another deploy holds it, or held it and stopped)`,
        calls: [getArgs(env)],
      },
      note(
        `the Lease is renewed every ${LOCK_RENEW_MS / 1000}s (kubectl patch lease) and deleted when the deploy ends:\n` +
          `kubectl delete lease ${lockName(env)} -n ${LOCK_NAMESPACE}`,
      ),
    ];
  }

  step(): Step {
    const { env } = this.settings;
    return {
      title: `take the deploy lock (Lease ${LOCK_NAMESPACE}/${lockName(env)})`,
      plan: DeployLock.plan(env, this.leaseFile),
      run: async ({ kubectl, output }) => this.acquire(kubectl, output),
    };
  }

  private lease(acquireTime: string, resourceVersion?: string): object {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: lockName(this.settings.env),
        namespace: LOCK_NAMESPACE,
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
        labels: { 'app.kubernetes.io/managed-by': 'honeydue-k8s-deploy' },
      },
      spec: {
        holderIdentity: this.settings.holder,
        acquireTime,
        renewTime: acquireTime,
        leaseDurationSeconds: LOCK_DURATION_SECONDS,
      },
    };
  }

  private async acquire(kubectl: Kubectl, output: Output): Promise<void> {
    const now = microTime(new Date());
    writeFileSync(this.leaseFile, JSON.stringify(this.lease(now)));
    const created = await kubectl.run(createArgs(this.leaseFile), { showOutput: false });
    if (created.code === 0) return this.start(kubectl, output, 'taken');
    if (!/AlreadyExists|already exists/.test(created.stderr)) {
      throw new DeployError(
        `could not take the deploy lock ${LOCK_NAMESPACE}/${lockName(this.settings.env)}: ${lastErrorLine(created)}; ` +
          'nothing was applied. The deploy needs permission to create Leases in kube-system',
      );
    }
    const live = await kubectl.run(getArgs(this.settings.env), { showOutput: false });
    if (live.code !== 0) {
      throw new DeployError(`the deploy lock exists but could not be read: ${lastErrorLine(live)}; nothing was applied`);
    }
    const lease = JSON.parse(live.stdout) as LiveLease;
    const holder = lease.spec?.holderIdentity ?? 'an unknown holder';
    const since = lease.spec?.acquireTime ?? 'an unknown time';
    const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
    const expires = renewed + (lease.spec?.leaseDurationSeconds ?? LOCK_DURATION_SECONDS) * 1000;
    const stale = Number.isNaN(renewed) || expires < Date.now();
    const where = `${LOCK_NAMESPACE}/${lockName(this.settings.env)}`;
    if (!stale) {
      throw new DeployError(
        `another deploy of ${this.settings.env} is running: the lock ${where} is held by ${holder} since ${since} ` +
          `(last renewed ${lease.spec?.renewTime ?? since}). Nothing was applied. Wait for it to finish, or ask its holder`,
      );
    }
    if (!this.settings.takeOverStale) {
      throw new DeployError(
        `the lock ${where} is stale: held by ${holder} since ${since}, not renewed since ${lease.spec?.renewTime ?? since} ` +
          `(more than ${lease.spec?.leaseDurationSeconds ?? LOCK_DURATION_SECONDS}s ago), so that deploy most likely died. ` +
          'Nothing was applied. Make sure it is not running, then re-run with --take-over-stale-lock',
      );
    }
    // replace carries the resourceVersion read above: if another deploy took the lock in between, it is refused.
    writeFileSync(this.leaseFile, JSON.stringify(this.lease(now, lease.metadata.resourceVersion)));
    const replaced = await kubectl.run(replaceArgs(this.leaseFile), { showOutput: false });
    if (replaced.code !== 0) {
      throw new DeployError(
        `could not take over the stale lock ${where}: ${lastErrorLine(replaced)} (another deploy may have taken it ` +
          'first); nothing was applied',
      );
    }
    output.err(`took over the stale lock ${where} from ${holder} (held since ${since})\n`);
    return this.start(kubectl, output, 'taken over');
  }

  private start(kubectl: Kubectl, output: Output, how: string): void {
    this.held = true;
    output.out(`lock ${LOCK_NAMESPACE}/${lockName(this.settings.env)} ${how} by ${this.settings.holder}\n`);
    this.renewTimer = setInterval(() => void this.renew(kubectl), this.settings.renewMs);
    this.renewTimer.unref();
  }

  private async renew(kubectl: Kubectl): Promise<void> {
    if (!this.held || this.renewing) return;
    this.renewing = true;
    try {
      const result = await kubectl.run(renewArgs(this.settings.env, this.settings.holder, microTime(new Date())), {
        showOutput: false,
      });
      if (result.code !== 0 && this.held) {
        this.lost = lastErrorLine(result);
        this.held = false;
        this.stopRenewing();
        this.onLost(`the deploy lock could not be renewed (${this.lost}): another deploy may have taken it over`);
      }
    } catch {
      // A renewal cut off by a stop: the release below deletes the Lease anyway.
    } finally {
      this.renewing = false;
    }
  }

  private stopRenewing(): void {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /** Deletes the Lease if this deploy holds it; runs even after a stop. */
  async release(kubectl: Kubectl, output: Output): Promise<void> {
    this.stopRenewing();
    if (!this.held) return;
    this.held = false;
    const where = `${LOCK_NAMESPACE}/${lockName(this.settings.env)}`;
    try {
      const result = await kubectl.run(deleteArgs(this.settings.env), { showOutput: false, afterStop: true });
      if (result.code === 0) output.out(`lock ${where} released\n`);
      else output.err(`could not release the lock ${where}: ${lastErrorLine(result)}; delete it: kubectl delete lease ${lockName(this.settings.env)} -n ${LOCK_NAMESPACE}\n`);
    } catch (error) {
      output.err(`could not release the lock ${where}: ${(error as Error).message}; delete it: kubectl delete lease ${lockName(this.settings.env)} -n ${LOCK_NAMESPACE}\n`);
    }
  }
}

/** A Lease's MicroTime: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
