import { writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { Kubectl, lastErrorLine } from './kubectl';
import { DeployError } from './options';
import { Output, ProcessResult } from './process';
import { DeployStopped } from './stop';
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
  /** The Lease's leaseDurationSeconds: stale this long after its last renewal. @default LOCK_DURATION_SECONDS */
  readonly durationSeconds?: number;
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
/**
 * `kubectl delete lease` sends no precondition, so it would delete a Lease that
 * another deploy took over a moment before. A raw DELETE carries DeleteOptions
 * as its body (the file), with `preconditions.resourceVersion`: the API server
 * deletes the Lease only if it is still the version this deploy read (and saw
 * itself holding), and answers Conflict otherwise.
 */
const deleteArgs = (env: string, optionsFile: string): string[] => [
  'delete', '--raw', `/apis/coordination.k8s.io/v1/namespaces/${LOCK_NAMESPACE}/leases/${lockName(env)}`, '-f', optionsFile,
];
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

/** The DeleteOptions body of the release, in the deploy's folder. */
const DELETE_OPTIONS_FILE = 'lease-delete-options.json';

/**
 * What this deploy knows of the Lease: `none` (it never created it, or was
 * refused), `held` (created or taken over, renewed since), `unknown` (the create
 * or replace was cut off by a stop, a watchdog or a timeout: the API server may
 * have done it anyway), `lost` (a renewal found another holder).
 */
type Claim = 'none' | 'held' | 'unknown' | 'lost';

/**
 * The environment's deploy lock: a coordination.k8s.io Lease created
 * atomically by the API server (a second create gets AlreadyExists), renewed
 * while the deploy runs, deleted when it ends however it ends, and only while
 * it still names this deploy as its holder.
 */
export class DeployLock {
  private renewTimer: NodeJS.Timeout | undefined;
  private claim: Claim = 'none';
  private renewal: Promise<void> | undefined;
  /** When the Lease was last renewed (or taken) by this deploy, in ms since the epoch. */
  private lastRenewed = 0;
  private readonly leaseFile: string;
  private readonly deleteOptionsFile: string;

  constructor(
    private readonly settings: LockSettings,
    private readonly onLost: (why: string) => void,
  ) {
    this.leaseFile = join(settings.workDir, 'lease.json');
    this.deleteOptionsFile = join(settings.workDir, DELETE_OPTIONS_FILE);
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
        `the Lease is renewed every ${LOCK_RENEW_MS / 1000}s (kubectl patch lease; a failed renewal is retried, a changed holder stops the deploy)\n` +
          'and deleted when the deploy ends, if it still names this deploy as holder (read, then deleted on that resourceVersion)',
      ),
    ];
  }

  /** What --dry-run prints for releasing the lock. */
  static releasePlan(env: string, workDir: string): PlanLine[] {
    return [
      kubectlCall(getArgs(env)),
      note('only if the Lease still names this deploy as its holder, deleted on the resourceVersion just read (the file holds it):'),
      kubectlCall(deleteArgs(env, join(workDir, DELETE_OPTIONS_FILE))),
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
        leaseDurationSeconds: this.settings.durationSeconds ?? LOCK_DURATION_SECONDS,
      },
    };
  }

  private async acquire(kubectl: Kubectl, output: Output): Promise<void> {
    const now = microTime(new Date());
    writeFileSync(this.leaseFile, JSON.stringify(this.lease(now)));
    const created = await this.claiming(() => kubectl.run(createArgs(this.leaseFile), { showOutput: false }));
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
    const replaced = await this.claiming(() => kubectl.run(replaceArgs(this.leaseFile), { showOutput: false }));
    if (replaced.code !== 0) {
      throw new DeployError(
        `could not take over the stale lock ${where}: ${lastErrorLine(replaced)} (another deploy may have taken it ` +
          'first); nothing was applied',
      );
    }
    output.err(`took over the stale lock ${where} from ${holder} (held since ${since})\n`);
    return this.start(kubectl, output, 'taken over');
  }

  /**
   * Runs a create or replace of the Lease. Until it answers, whether the API
   * server made this deploy the holder is unknown: a stop or the watchdog may end
   * kubectl after the server acted. The release then reads the Lease to know.
   */
  private async claiming(call: () => Promise<ProcessResult>): Promise<ProcessResult> {
    this.claim = 'unknown';
    const result = await call();
    // Refused for sure (another holder, a changed version, no permission): nothing was created or replaced.
    // A request that failed on its way back (a timeout) may have been done: it stays unknown.
    if (result.code !== 0 && /AlreadyExists|already exists|Conflict|Forbidden/.test(result.stderr)) this.claim = 'none';
    return result;
  }

  private start(kubectl: Kubectl, output: Output, how: string): void {
    this.claim = 'held';
    this.lastRenewed = Date.now();
    output.out(`lock ${LOCK_NAMESPACE}/${lockName(this.settings.env)} ${how} by ${this.settings.holder}\n`);
    this.renewTimer = setInterval(() => {
      if (this.renewal === undefined) this.renewal = this.renew(kubectl, output).finally(() => (this.renewal = undefined));
    }, this.settings.renewMs);
    this.renewTimer.unref();
  }

  /**
   * One renewal. A failure that is only the connection (a request timeout, a
   * refused connection) is retried on the next tick: the Lease stays valid for
   * LOCK_DURATION_SECONDS after the last renewal that worked. The deploy stops
   * when the Lease names another holder (the patch's `test` op failed) or is
   * gone, or when the next try would come after the Lease went stale (another
   * deploy may then take it over).
   */
  private async renew(kubectl: Kubectl, output: Output): Promise<void> {
    if (this.claim !== 'held') return;
    const started = Date.now();
    let failure: string;
    try {
      const result = await kubectl.run(renewArgs(this.settings.env, this.settings.holder, microTime(new Date(started))), {
        showOutput: false,
      });
      if (result.code === 0) {
        this.lastRenewed = started;
        return;
      }
      failure = lastErrorLine(result);
      // The API server's answer to a failed `test` op is a plain 422, like any invalid patch: only
      // the Lease itself says whether another deploy holds it now.
      const holder = await this.holderNow(kubectl);
      if (this.claim === 'held' && holder !== undefined && holder !== this.settings.holder) {
        return this.lose(
          'lost',
          `the deploy lock could not be renewed (${failure}): ${holder === null ? 'the Lease is gone (someone deleted it)' : `it is now held by ${holder}`}`,
        );
      }
    } catch (error) {
      // A renewal cut off by a stop: the release below reads the Lease and deletes it anyway.
      if (error instanceof DeployStopped) return;
      // The first sentence: what went wrong, without the advice to re-run that the warning contradicts.
      failure = (error as Error).message.split('. ')[0];
    }
    if (this.claim !== 'held') return;
    const staleAt = this.lastRenewed + (this.settings.durationSeconds ?? LOCK_DURATION_SECONDS) * 1000;
    if (Date.now() + this.settings.renewMs >= staleAt) {
      // Still this deploy's as far as it knows: the release reads it and deletes it if so.
      return this.lose('unknown',
        `the deploy lock could not be renewed since ${new Date(this.lastRenewed).toISOString()} (last failure: ${failure}): ` +
          `it goes stale at ${new Date(staleAt).toISOString()}, before the next try, and another deploy could take it over`,
      );
    }
    output.err(
      `warning: renewing the deploy lock failed (${failure}); retrying in ${this.settings.renewMs / 1000}s ` +
        `(the Lease stays valid until ${new Date(staleAt).toISOString()})\n`,
    );
  }

  /** The Lease's holder now: null when the Lease is gone, undefined when it could not be read. */
  private async holderNow(kubectl: Kubectl): Promise<string | null | undefined> {
    const live = await kubectl.run(getArgs(this.settings.env), { showOutput: false });
    if (live.code !== 0) return /NotFound|not found/.test(live.stderr) ? null : undefined;
    return (JSON.parse(live.stdout) as LiveLease).spec?.holderIdentity ?? '(no holder)';
  }

  private lose(claim: 'lost' | 'unknown', why: string): void {
    this.claim = claim;
    this.stopRenewing();
    this.onLost(why);
  }

  private stopRenewing(): void {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /**
   * Deletes the Lease if it still names this deploy as its holder; runs even
   * after a stop. Held or unknown (a create cut off by the stop), the Lease is
   * read first: a Lease of another holder is left alone, and this deploy's own
   * is deleted on the resourceVersion just read, so a takeover in between is
   * never deleted.
   */
  async release(kubectl: Kubectl, output: Output): Promise<void> {
    this.stopRenewing();
    await this.renewal;
    const claim = this.claim;
    if (claim !== 'held' && claim !== 'unknown') return;
    this.claim = 'none';
    const where = `${LOCK_NAMESPACE}/${lockName(this.settings.env)}`;
    const byHand = `check who holds it (kubectl get lease ${lockName(this.settings.env)} -n ${LOCK_NAMESPACE} -o yaml) and, if it is this deploy (${this.settings.holder}), delete it: kubectl delete lease ${lockName(this.settings.env)} -n ${LOCK_NAMESPACE}`;
    try {
      // A renewal that just landed changes the resourceVersion: read again once.
      for (let attempt = 1; attempt <= 2; attempt++) {
        const live = await kubectl.run(getArgs(this.settings.env), { showOutput: false, afterStop: true });
        if (live.code !== 0) {
          if (/NotFound|not found/.test(live.stderr)) {
            if (claim === 'held') output.err(`the lock ${where} was already gone (someone deleted it)\n`);
            return;
          }
          output.err(`could not release the lock ${where}: reading it failed: ${lastErrorLine(live)}; ${byHand}\n`);
          return;
        }
        const lease = JSON.parse(live.stdout) as LiveLease;
        const holder = lease.spec?.holderIdentity;
        if (holder !== this.settings.holder) {
          // Unknown and another holder: this deploy's create never happened; nothing to say.
          if (claim === 'held') output.err(`the lock ${where} is now held by ${holder ?? 'an unknown holder'}: left as it is\n`);
          return;
        }
        writeFileSync(
          this.deleteOptionsFile,
          JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: lease.metadata.resourceVersion } }),
        );
        const deleted = await kubectl.run(deleteArgs(this.settings.env, this.deleteOptionsFile), { showOutput: false, afterStop: true });
        if (deleted.code === 0) {
          output.out(`lock ${where} released\n`);
          return;
        }
        if (!/Conflict|modified|precondition/i.test(deleted.stderr) || attempt === 2) {
          output.err(`could not release the lock ${where}: ${lastErrorLine(deleted)}; ${byHand}\n`);
          return;
        }
      }
    } catch (error) {
      output.err(`could not release the lock ${where}: ${(error as Error).message}; ${byHand}\n`);
    }
  }
}

/** A Lease's MicroTime: RFC 3339 with microseconds. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
