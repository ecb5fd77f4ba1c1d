import { parseImageReference, podReads, podTemplateOf } from '../../manifest-check/manifests';
import { stringify } from 'yaml';
import { FIELD_MANAGER } from './apply';
import { lastErrorLine } from './kubectl';
import { DeployError } from './options';
import { kubectlCall, Step } from './step';
import { ManifestObject, StackManifests } from '../shared/manifest-object';

/** One Secret the release reads, with the keys it needs and who needs them. */
export interface SecretNeed {
  readonly namespace: string;
  readonly name: string;
  /** Keys that must exist (optional references are left out). */
  readonly keys: Set<string>;
  /** No reference needs it (all are optional): left out of the check. */
  optional: boolean;
  /** An image pull Secret (`imagePullSecrets`): type kubernetes.io/dockerconfigjson. */
  pull: boolean;
  /** Keys that pods mount as files (a `--from-file` in the create command). */
  readonly fileKeys: Set<string>;
  /** The registry host of the images pulled with it (for the create command). */
  registries: Set<string>;
  /** Every workload that references the Secret (named when the Secret is missing). */
  readonly users: Set<string>;
  /** Per required key, the workloads that read that key (named when the key is missing). */
  readonly keyUsers: Map<string, Set<string>>;
}

/**
 * Key names only: the API server sends kubectl the whole Secret, values
 * included (a go-template is rendered by kubectl, not by the server), and
 * kubectl prints only the Secret's name and its `.data` keys. So the values
 * reach the kubectl child process and stop there: they never reach this
 * process, its output or the terminal. `--ignore-not-found` turns a missing
 * Secret into empty output.
 */
const KEYS_OF_ONE = '{{.metadata.name}}{{range $key, $value := .data}} {{$key}}{{end}}{{"\\n"}}';
/** One line per Secret found: kubectl answers a List for several names and the object for one. */
const KEYS_TEMPLATE = `{{if .items}}{{range .items}}${KEYS_OF_ONE}{{end}}{{else}}{{if .metadata}}${KEYS_OF_ONE}{{end}}{{end}}`;

/** Every Secret the release reads in one namespace, in one call. */
export const secretKeysArgs = (namespace: string, names: readonly string[]): string[] => [
  'get', 'secret', ...names, '-n', namespace, '--ignore-not-found', '-o', `go-template=${KEYS_TEMPLATE}`,
];

interface PodSpecLike {
  imagePullSecrets?: Array<{ name?: string }>;
  containers?: Array<{ image?: string }>;
  initContainers?: Array<{ image?: string }>;
}

/**
 * The pod spec of an object that runs pods (a workload, a Job, a Pod), read
 * from the synthesized object. A PodTemplate object runs none, so the Secrets
 * it names are not needed for this release to start.
 */
function podSpecOf(object: ManifestObject): PodSpecLike | undefined {
  const template = podTemplateOf(object.manifest);
  return template?.runsPods === true ? (template.spec as PodSpecLike | undefined) : undefined;
}

/** Every Secret the release references, from the pod specs and ServiceAccounts it applies. */
export function secretNeeds(manifests: StackManifests): SecretNeed[] {
  const needs = new Map<string, SecretNeed>();
  const need = (namespace: string, name: string, user: string): SecretNeed => {
    const id = `${namespace}/${name}`;
    let found = needs.get(id);
    if (found === undefined) {
      found = { namespace, name, keys: new Set(), optional: true, pull: false, fileKeys: new Set(), registries: new Set(), users: new Set(), keyUsers: new Map() };
      needs.set(id, found);
    }
    found.users.add(user);
    return found;
  };
  const needKey = (found: SecretNeed, key: string, user: string): void => {
    found.keys.add(key);
    const readers = found.keyUsers.get(key) ?? new Set<string>();
    readers.add(user);
    found.keyUsers.set(key, readers);
  };
  for (const object of manifests.objects) {
    const namespace = object.namespace;
    if (namespace === undefined) continue;
    const user = `${object.kind}/${object.name}`;
    if (object.kind === 'ServiceAccount') {
      for (const ref of (object.manifest as PodSpecLike).imagePullSecrets ?? []) {
        if (ref.name !== undefined) Object.assign(need(namespace, ref.name, user), { optional: false, pull: true });
      }
      continue;
    }
    const spec = podSpecOf(object);
    if (spec === undefined) continue;
    const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
    // An optional reference (REDIS_PASSWORD) needs nothing: the pod starts without it.
    for (const read of podReads(spec).filter((r) => r.kind === 'Secret' && !r.optional)) {
      const found = need(namespace, read.name, user);
      found.optional = false;
      if (read.via === 'pull') {
        found.pull = true;
        for (const container of containers) {
          const host = registryHost(container.image);
          if (host !== undefined) found.registries.add(host);
        }
      } else if (read.key !== undefined) {
        needKey(found, read.key, user);
        if (read.via === 'volume') found.fileKeys.add(read.key);
      }
    }
  }
  return [...needs.values()]
    .filter((found) => !found.optional)
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

function registryHost(image: string | undefined): string | undefined {
  return image === undefined ? undefined : parseImageReference(image).registry;
}

/**
 * Who reads the missing keys: only the workloads that reference one of them
 * (an image pull Secret's one key is needed by every workload that pulls with it).
 */
function readersOf(need: SecretNeed, missingKeys: readonly string[]): string {
  if (need.pull) return [...need.users].join(', ');
  const readers = new Set(missingKeys.flatMap((key) => [...(need.keyUsers.get(key) ?? [])]));
  return [...need.users].filter((user) => readers.has(user)).join(', ');
}

/** The command that creates the missing Secret (placeholders, never values). */
function createCommand(need: SecretNeed, missingKeys: readonly string[]): string {
  const ns = need.namespace;
  if (need.pull) {
    const server = [...need.registries][0] ?? '<registry host>';
    return `kubectl -n ${ns} create secret docker-registry ${need.name} --docker-server=${server} --docker-username=<user> --docker-password=<token>`;
  }
  const sources = missingKeys.map((key) => (need.fileKeys.has(key) ? `--from-file=${key}=<path to the file>` : `--from-literal=${key}=<value>`));
  return `kubectl -n ${ns} create secret generic ${need.name} ${sources.join(' ')}`.trimEnd();
}

const namespacesArgs = (namespaces: readonly string[]): string[] => ['get', 'namespace', ...namespaces, '--ignore-not-found', '-o', 'name'];

/**
 * The release's own Namespace object (its Pod Security labels included), applied
 * as the deploy applies it, so the deploy later finds it already its own; written
 * out in the command because a synthesized release's folder is gone once the
 * deploy ends. A plain create when the release does not write that namespace.
 */
function createNamespaceCommand(manifests: StackManifests, namespace: string): string {
  const object = manifests.objects.find((o) => o.kind === 'Namespace' && o.name === namespace);
  if (object === undefined) return `kubectl create namespace ${namespace}`;
  // The here-document's lines start at the margin, so the block pastes into a shell as printed.
  return `kubectl apply --server-side --field-manager=${FIELD_MANAGER} -f - <<'YAML'\n${stringify(object.manifest).trimEnd()}\nYAML`;
}

const namesIn = (needs: readonly SecretNeed[], namespace: string): string[] => needs.filter((need) => need.namespace === namespace).map((need) => need.name);

/** The command that adds keys to an existing Secret. */
function addKeysCommand(need: SecretNeed, missingKeys: readonly string[]): string {
  const data = missingKeys.map((key) => `"${key}":"<base64 of the value>"`).join(',');
  return `kubectl -n ${need.namespace} patch secret ${need.name} --type=merge -p '{"data":{${data}}}'`;
}

/**
 * Before anything is applied: every Secret and key the release references
 * exists, and so does every image pull Secret. A missing one is named with who
 * needs it and the command that creates it; all are reported at once.
 */
export function secretsStep(manifests: StackManifests): Step {
  const needs = secretNeeds(manifests);
  const namespaces = [...new Set(needs.map((need) => need.namespace))];
  return {
    title: `check the Secrets the release reads (${needs.length}; key names only, never values)`,
    plan: needs.length === 0 ? [] : [kubectlCall(namespacesArgs(namespaces)), ...namespaces.map((namespace) => kubectlCall(secretKeysArgs(namespace, namesIn(needs, namespace))))],
    async run({ kubectl, output }) {
      if (needs.length === 0) return;
      const problems: string[] = [];
      // The Secrets are read alongside their namespaces: in a namespace that does not exist the read finds none.
      const [found, ...secretReads] = await kubectl.runAtOnce([
        [namespacesArgs(namespaces), { showOutput: false, requests: namespaces.length + 4 }],
        ...namespaces.map((namespace) => {
          const names = namesIn(needs, namespace);
          return [secretKeysArgs(namespace, names), { showOutput: false, requests: names.length + 4 }] as const;
        }),
      ]);
      if (found.code !== 0) throw new DeployError(`could not read the namespaces ${namespaces.join(', ')}: ${lastErrorLine(found)}; nothing was applied`);
      const missingNamespaces = new Set(namespaces.filter((namespace) => !found.stdout.split('\n').includes(`namespace/${namespace}`)));
      // A Secret cannot be created in a namespace that does not exist yet (the first deploy into an
      // empty cluster): the release's own Namespace comes first, with its Pod Security labels.
      for (const namespace of missingNamespaces) {
        const missing = needs.filter((need) => need.namespace === namespace);
        problems.push(
          `namespace ${namespace} does not exist yet, so neither do the Secrets the release reads there ` +
            `(${missing.map((need) => need.name).join(', ')}). In this order:\n` +
            `    ${createNamespaceCommand(manifests, namespace)}\n` +
            missing.map((need) => `    ${createCommand(need, need.pull ? ['.dockerconfigjson'] : [...need.keys].sort())}\n`).join('') +
            '  then re-run the deploy',
        );
      }
      const keysOf = new Map<string, string[]>();
      for (const [index, namespace] of namespaces.entries()) {
        if (missingNamespaces.has(namespace)) continue;
        const names = namesIn(needs, namespace);
        const result = secretReads[index];
        if (result.code !== 0) {
          throw new DeployError(`could not read the Secrets ${names.join(', ')} in ${namespace}: ${lastErrorLine(result)}; nothing was applied`);
        }
        for (const line of result.stdout.split('\n')) {
          const [name, ...keys] = line.split(' ').filter((word) => word !== '');
          if (name !== undefined) keysOf.set(`${namespace}/${name}`, keys);
        }
      }
      for (const need of needs.filter((n) => !missingNamespaces.has(n.namespace))) {
        const keys = keysOf.get(`${need.namespace}/${need.name}`);
        const users = [...need.users].join(', ');
        const required = need.pull ? ['.dockerconfigjson'] : [...need.keys].sort();
        if (keys === undefined) {
          problems.push(
            `Secret ${need.namespace}/${need.name} does not exist (${need.pull ? 'image pull Secret of' : 'read by'} ${users}). Create it:\n    ${createCommand(need, required)}`,
          );
          continue;
        }
        const missing = required.filter((key) => !keys.includes(key));
        if (missing.length > 0) {
          problems.push(
            `Secret ${need.namespace}/${need.name} lacks the key${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (read by ${readersOf(need, missing)}). ` +
              (need.pull
                ? `It is not a docker-registry Secret; delete it and create it again:\n    ${createCommand(need, missing)}`
                : `Add ${missing.length > 1 ? 'them' : 'it'}:\n    ${addKeysCommand(need, missing)}`),
          );
          continue;
        }
        output.out(`Secret ${need.namespace}/${need.name}: ${required.length === 0 ? 'exists' : `has ${required.join(', ')}`}\n`);
      }
      if (problems.length > 0) {
        throw new DeployError(`${problems.join('\n')}\nNothing was applied: the pods would not start without them`);
      }
    },
  };
}
