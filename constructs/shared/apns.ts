import { MountedVolume } from './pod-security';
import { dnsLabelProblem, isRecord, ProblemList, ValueProblem } from './validation';

/** Where the APNs key is mounted; `APNS_AUTH_KEY_PATH` in the ConfigMap names the file. */
export const APNS_KEY_DIRECTORY = '/secrets/apns';
/** The key of the APNs Secret and the file name under {@link APNS_KEY_DIRECTORY}. */
export const APNS_KEY_FILE = 'apns_auth_key.p8';
/** The Secret holding the APNs auth key file (key {@link APNS_KEY_FILE}), created by the operator. */
export interface ApnsKey {
  /** The Secret's name in the workload's namespace. */
  readonly secretName: string;
}

/**
 * The APNs auth key file, read-only at {@link APNS_KEY_DIRECTORY}. api and the
 * worker (task reminders) run the same Go codebase, which stats the key at
 * startup even while push is disabled: both pods need the file to exist.
 */
export function apnsKeyVolume(secretName: string): MountedVolume {
  return {
    volume: { name: 'apns-key', secret: { secretName, items: [{ key: APNS_KEY_FILE, path: APNS_KEY_FILE }] } },
    mountPath: APNS_KEY_DIRECTORY,
    readOnly: true,
  };
}

/** The APNs volume a workload mounts: none when `apnsKey` is unset or false. */
export function apnsKeyVolumes(apnsKey: ApnsKey | false | undefined): MountedVolume[] {
  return apnsKey ? [apnsKeyVolume(apnsKey.secretName)] : [];
}

/** The problems of an `apnsKey` prop: the Secret it names must be a valid object name. */
export function apnsKeyProblems(owner: string, apnsKey: unknown): ValueProblem[] {
  const problems = new ProblemList(owner);
  if (isRecord(apnsKey)) problems.string('apnsKey.secretName', apnsKey.secretName, dnsLabelProblem);
  return problems.problems;
}
