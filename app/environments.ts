/**
 * Environments must not touch each other's data (SPEC "Environments"): no two
 * share a database, a storage bucket, an Ingress host or a namespace unless the
 * later one's file declares that share, and no two write the same cluster-wide
 * object (the cluster has one of each; no share of it can be declared). Synth
 * runs this over every environment of the config folder, also for `--env one`
 * (a partial run would otherwise let the environments it skips slip by), before
 * anything is written.
 */
import * as path from 'path';
import { directDatabaseHost } from '../constructs/shared/database';
import { ConfigError, ConfigLayer, ConfigSources, describeSource, EnvironmentShares, listEnvironments, loadEnvironment, LoadedEnvironment, shownPath as shown } from './config';
import { renderFiles, RenderedFile } from './render';
import { apiGroupOf } from '../manifest-check/manifests';
import { REPO_ROOT } from './shared/repo-root';

/** What two environments can share: the keys of `shares:` in an environment file. */
export type SharedResource = keyof EnvironmentShares;

/** A share a file declares and the files really have; synth prints one line per share on every run. */
export interface DeclaredShare {
  /** The later environment, whose file declares the share. */
  readonly env: string;
  /** The earlier environment it shares with. */
  readonly sharedWith: string;
  readonly resource: SharedResource;
  /** The shared thing in words: `database 'honeyDue' on ep-....neon.tech`. */
  readonly what: string;
  /** `staging: shares production's ...`, as synth prints it. */
  readonly line: string;
}

/**
 * Environments that share data undeclared, declarations the files do not bear out, or two environments
 * writing one cluster-wide object: every problem at once.
 */
export class IsolationError extends Error {
  public constructor(public readonly problems: string[]) {
    super(`${problems.length} problem(s) with the data environments share (docs/environments.md):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'IsolationError';
  }
}

export interface IsolationOptions {
  /** @default 'config' beside the repo root */
  readonly configDir?: string;
  /** Environments synth was asked for; checked along with every `config/*.yaml` (not `_*.yaml`). */
  readonly envs?: string[];
  /** The tag override synth renders with, so a file's tag is judged as synth judges it. */
  readonly imageTag?: string;
  /** Where the tag override came from (`--tag`), for its problems. @default 'the imageTag override' */
  readonly imageTagSource?: string;
  /** Where synth writes, for the files a problem names. @default 'dist' beside the repo root */
  readonly outDir?: string;
}

/** One config key behind a claim, and which file set it. */
interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** `set in config/x.yaml`, `inherited from config/y.yaml` or `the stack's default` */
  readonly origin: string;
}

/** One thing an environment holds: what it is compared by, how it reads, and the keys that make it. */
interface Claim {
  readonly resource: SharedResource;
  readonly identity: string;
  readonly what: string;
  readonly keys: KeyValue[];
  /** How the later environment gets its own: `its own storage.bucket`. */
  readonly fix: string;
}

/** An environment loaded, built and rendered once, as the check leaves it for synth to write. */
export interface CheckedEnvironment {
  readonly loaded: LoadedEnvironment;
  /** Its files, as synth writes them: the check read its cluster-wide objects from them. */
  readonly files: RenderedFile[];
}

/** What {@link checkEnvironments} found: the declared shares, and every environment it loaded on the way. */
export interface EnvironmentsChecked {
  readonly shares: DeclaredShare[];
  /**
   * Every environment checked (each `config/*.yaml` not `_*`, and those asked for), by name.
   * Synth renders these rather than loading and building each environment a second time.
   */
  readonly environments: ReadonlyMap<string, CheckedEnvironment>;
}

/** An object the cluster holds one of, whichever environment writes it: cluster-scoped, or outside the environment's namespace. */
interface ClusterWideObject {
  /** `HelmChartConfig kube-system/traefik`, `PriorityClass honeydue-critical`: as the problem names it. */
  readonly name: string;
  /** The API group too, which tells two kinds of one name apart. */
  readonly identity: string;
  readonly file: RenderedFile;
}

interface Environment extends CheckedEnvironment {
  readonly claims: Claim[];
  readonly clusterWide: ClusterWideObject[];
}

/**
 * Judges the data every environment of the config folder holds and returns the
 * declared shares. Throws {@link IsolationError} naming both files, the keys and
 * the value for each undeclared share, and for each `shares:` entry that names
 * no environment, the environment itself, a later one, or something the two do
 * not share. Configs that do not load throw one {@link ConfigError} holding every
 * environment's problems, each with its file and line.
 */
export function checkIsolation(options: IsolationOptions = {}): DeclaredShare[] {
  return checkEnvironments(options).shares;
}

/**
 * {@link checkIsolation}, also returning the environments it loaded and built, so
 * a synth loads each environment once: the check, then the render of the same
 * {@link CheckedEnvironment}.
 */
export function checkEnvironments(options: IsolationOptions = {}): EnvironmentsChecked {
  const names = [...new Set([...listEnvironments(options.configDir).filter((env) => !env.startsWith('_')), ...(options.envs ?? [])])].sort();
  const environments = new Map<string, Environment>();
  // Every environment's config problems in one run: fixing them one synth at a time would take as many runs.
  const failed: ConfigError[] = [];
  // A file several environments extend (production) is parsed once for all of them.
  const filesRead = new Map<string, ConfigLayer>();
  for (const env of names) {
    try {
      environments.set(env, environmentOf(env, options, filesRead));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      failed.push(error);
    }
  }
  if (failed.length > 0) throw ConfigError.combine(failed);
  const problems: string[] = [];
  const shares: DeclaredShare[] = [];
  const used = new Set<string>();

  const groups = new Map<string, { env: Environment; claim: Claim }[]>();
  for (const env of environments.values()) {
    for (const claim of env.claims) {
      const group = groups.get(`${claim.resource}\u0000${claim.identity}`) ?? [];
      group.push({ env, claim });
      groups.set(`${claim.resource}\u0000${claim.identity}`, group);
    }
  }
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const [later, earlier] = order(group[i], group[j]);
        const { resource } = later.claim;
        const declaring = later.env.loaded;
        if (declaredWith(declaring.shares, resource).includes(earlier.env.loaded.env)) {
          used.add(`${declaring.env}\u0000${resource}\u0000${earlier.env.loaded.env}`);
          shares.push({
            env: declaring.env,
            sharedWith: earlier.env.loaded.env,
            resource,
            what: later.claim.what,
            line: `${declaring.env}: shares ${earlier.env.loaded.env}'s ${later.claim.what}, as ${shown(declaring.file)} declares (shares.${resource})`,
          });
          continue;
        }
        problems.push(
          `${shown(earlier.env.loaded.file)} and ${shown(declaring.file)} share the ${later.claim.what}` +
            `${resource === 'database' ? ' (hosts compared with -pooler stripped)' : ''}: ` +
            `${earlier.env.loaded.env} has ${keysOf(earlier.claim)}; ${declaring.env} has ${keysOf(later.claim)}. ` +
            `Give ${declaring.env} ${later.claim.fix} in ${shown(declaring.file)}, or declare the share there: ` +
            `'shares: { ${resource}: ${earlier.env.loaded.env} }' (${laterBecause(declaring, earlier.env.loaded)})`,
        );
      }
    }
  }

  for (const env of environments.values()) {
    const { loaded } = env;
    for (const resource of Object.keys(loaded.shares) as SharedResource[]) {
      for (const other of declaredWith(loaded.shares, resource)) {
        const where = `${describeSource(loaded.sources.locate(['shares', resource]))}: shares.${resource}: ${other}`;
        const otherEnv = environments.get(other);
        if (other === loaded.env) {
          problems.push(`${where} names this environment itself; remove it`);
        } else if (!otherEnv) {
          problems.push(`${where} is not an environment of ${shown(path.dirname(loaded.file))}; known environments: ${names.join(', ')}`);
        } else if (isLater(otherEnv.loaded, loaded)) {
          problems.push(`${where}: a share is declared in the later environment's file (${laterBecause(otherEnv.loaded, loaded)}); move it to ${shown(otherEnv.loaded.file)} as 'shares: { ${resource}: ${loaded.env} }'`);
        } else if (!used.has(`${loaded.env}\u0000${resource}\u0000${other}`)) {
          const ours = env.claims.filter((c) => c.resource === resource);
          problems.push(
            `${where}, but ${loaded.env} and ${other} share no ${resource}: ${loaded.env} has ${ours.map(keysOf).join('; ') || 'none'}; ` +
              `remove ${other} from shares.${resource}, so the line synth prints stays true`,
          );
        }
      }
    }
  }
  problems.push(...clusterWideProblems([...environments.values()], path.resolve(options.outDir ?? path.join(REPO_ROOT, 'dist'))));
  if (problems.length > 0) throw new IsolationError(problems);
  return { shares, environments };
}

/**
 * One problem per environment that writes a cluster-wide object another, earlier
 * environment writes too (the one it extends, else the one that sorts first keeps
 * it). No `shares:` entry allows it: each deploy would apply its own version over
 * the other's, and prune it as its own.
 */
function clusterWideProblems(environments: Environment[], outDir: string): string[] {
  const writers = new Map<string, { env: Environment; object: ClusterWideObject }[]>();
  for (const env of environments) {
    for (const object of env.clusterWide) writers.set(object.identity, [...(writers.get(object.identity) ?? []), { env, object }]);
  }
  const problems: string[] = [];
  for (const group of writers.values()) {
    const owner = group.find((a) => group.every((b) => b === a || isLater(b.env.loaded, a.env.loaded))) ?? group[0];
    for (const other of group) {
      if (other === owner) continue;
      const [later, earlier] = [other.env.loaded, owner.env.loaded];
      const written = (writer: typeof other) => shown(path.join(outDir, writer.object.file.relativePath));
      problems.push(
        `${shown(later.file)} and ${shown(earlier.file)} both write ${other.object.name} (${written(other)}, ${written(owner)}): ` +
          `${turnOff(other.object, later)}`,
      );
    }
  }
  return problems;
}

/** How the later environment stops writing a cluster-wide object: the config key, when one concern's switch is it. */
function turnOff(object: ClusterWideObject, env: LoadedEnvironment): string {
  const { concern } = object.file;
  if (concern === 'traefik') return `the cluster has one Traefik; set traefik.enabled: false in ${shown(env.file)}`;
  return `the cluster holds one ${object.name}; leave it to one environment and change what writes it (the ${concern} concern) in ${shown(env.file)}`;
}

/**
 * Why `npm run deploy -- --env <env>` must refuse, or undefined when the
 * environment is deployable. The sentence names the file that sets
 * `deploy.enabled: false` and carries its `deploy.reason` word for word. The
 * deploy command calls it before it synthesizes or contacts the cluster; synth
 * itself still writes `dist/<env>/` for review.
 *
 * @param configDir folder of `<env>.yaml` files; @default 'config' beside the repo root
 * @throws ConfigError when the environment's config does not load or validate
 * @example deployRefusal('staging') // "environment 'staging' is not deployable (deploy.enabled: false, set in config/staging.yaml): staging has no database ..."
 */
export function deployRefusal(env: string, configDir?: string): string | undefined {
  const loaded = loadEnvironment(env, { configDir });
  if (loaded.deploy === undefined || loaded.deploy.enabled) return undefined;
  const origin = originOf(loaded.chain, ['deploy', 'enabled']);
  return (
    `environment '${env}' is not deployable (deploy.enabled: false, ${origin}): ${loaded.deploy.reason}. ` +
    (origin.startsWith('set in') ? `Once that is done, remove deploy from ${shown(loaded.file)}` : `Once that is done, write 'deploy: null' in ${shown(loaded.file)}`)
  );
}

/** The environment's config, and the stack built from it in memory: the stack's own defaults say what it holds. */
function environmentOf(env: string, options: IsolationOptions, filesRead: Map<string, ConfigLayer>): Environment {
  const loaded = loadEnvironment(env, { configDir: options.configDir, imageTag: options.imageTag, imageTagSource: options.imageTagSource, filesRead });
  const { stack } = loaded;
  const files = renderFiles(loaded);
  const key = (name: string, value: string): KeyValue => ({ key: name, value, origin: originOf(loaded.chain, name.split('.'), loaded.sources) });
  const host = stack.config.data.DB_HOST;
  const database = stack.config.data.POSTGRES_DB;
  const direct = directDatabaseHost(host);
  const bucket = stack.config.data.B2_BUCKET_NAME;
  const claims: Claim[] = [
    {
      resource: 'database',
      identity: `${direct}/${database}`,
      what: `database '${database}' on ${direct}`,
      keys: [key('database.host', host), key('database.name', database)],
      fix: 'its own database (database.host, or database.name on the same server)',
    },
    { resource: 'bucket', identity: bucket, what: `storage bucket '${bucket}'`, keys: [key('storage.bucket', bucket)], fix: 'its own storage.bucket' },
    { resource: 'namespace', identity: stack.namespace, what: `namespace '${stack.namespace}'`, keys: [key('namespace', stack.namespace)], fix: 'its own namespace' },
  ];
  // One claim per host: an environment may route two of its own names to one host.
  const hosts = new Map<string, KeyValue[]>();
  for (const [field, name] of Object.entries(stack.domains)) hosts.set(name, [...(hosts.get(name) ?? []), key(`domains.${field}`, name)]);
  for (const [name, keys] of hosts) {
    claims.push({ resource: 'ingressHost', identity: name, what: `Ingress host '${name}'`, keys, fix: `its own ${keys.map((k) => k.key).join(' and ')}` });
  }
  return { loaded, files, claims, clusterWide: clusterWideObjectsOf(files, stack.namespace) };
}

/**
 * The objects outside the environment's namespace: cluster-scoped ones and those in another namespace
 * (Traefik's HelmChartConfig in kube-system). Its own Namespace is left to the namespace claim, whose
 * share a file may declare.
 */
function clusterWideObjectsOf(files: RenderedFile[], namespace: string): ClusterWideObject[] {
  return files.flatMap((file) =>
    file.objects.flatMap((object): ClusterWideObject[] => {
      const { kind, apiVersion } = object;
      const { name, namespace: objectNamespace } = object.metadata ?? {};
      if (objectNamespace === namespace) return [];
      if (objectNamespace === undefined && apiGroupOf(apiVersion) === '' && kind === 'Namespace' && name === namespace) return [];
      const where = objectNamespace === undefined ? name : `${objectNamespace}/${name}`;
      return [{ name: `${kind} ${where}`, identity: `${apiGroupOf(apiVersion)}/${kind} ${where}`, file }];
    }),
  );
}

/** The later of two environments first: the one that extends the other, else the one that sorts after. */
function order<T extends { env: Environment }>(a: T, b: T): [T, T] {
  return isLater(a.env.loaded, b.env.loaded) ? [a, b] : [b, a];
}

function isLater(a: LoadedEnvironment, b: LoadedEnvironment): boolean {
  if (extendsFrom(a, b.env)) return true;
  if (extendsFrom(b, a.env)) return false;
  return a.env > b.env;
}

function extendsFrom(env: LoadedEnvironment, base: string): boolean {
  return env.chain.slice(1).some((layer) => layer.env === base);
}

function laterBecause(later: LoadedEnvironment, earlier: LoadedEnvironment): string {
  return extendsFrom(later, earlier.env) ? `${later.env} extends ${earlier.env}` : `${later.env} sorts after ${earlier.env}`;
}

function declaredWith(shares: EnvironmentShares, resource: SharedResource): string[] {
  const named = shares[resource];
  return named === undefined ? [] : typeof named === 'string' ? [named] : named;
}

function keysOf(claim: Claim): string {
  return claim.keys.map((k) => `${k.key} '${k.value}' (${k.origin})`).join(', ');
}

/**
 * Which file of the chain sets a key: the first that has it; a `null` on the way gives the default back.
 * With `sources`, the file's line and column too, where a problem's reader goes to change it.
 */
function originOf(chain: readonly ConfigLayer[], keyPath: string[], sources?: ConfigSources): string {
  for (const [index, layer] of chain.entries()) {
    let node: unknown = layer.doc;
    let present = true;
    for (const key of keyPath) {
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !(key in node)) {
        present = false;
        break;
      }
      node = (node as Record<string, unknown>)[key];
      if (node === null) return `the stack's default, as ${shown(layer.file)} removes the inherited value`;
    }
    const where = sources ? describeSource(sources.locate(keyPath)) : shown(layer.file);
    if (present) return index === 0 ? `set in ${where}` : `inherited from ${where}`;
  }
  return "the stack's default";
}
