/**
 * Checks shared by the constructs (construct-time errors) and the config
 * schema (config-time errors), so a value is judged by one rule wherever it
 * enters. Each returns a problem sentence, or undefined when the value is fine.
 */
import { IConstruct } from 'constructs';
import { claimUnclaimedObjectsAtSynth } from './unique-names';

/** A CPU quantity as Kubernetes reads it: `100m`, `0.5`, `2`. */
const CPU_QUANTITY = /^(\d+m|\d+(\.\d+)?)$/;

/**
 * A memory quantity: a number with a binary (`Ki`, `Mi`, `Gi`, `Ti`) or decimal
 * (`k`, `M`, `G`, `T`) suffix. `512MB` is not one: Kubernetes rejects it at apply.
 */
const MEMORY_QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;

/** A git commit SHA, short or full, as the deploy script tags images. */
const COMMIT_SHA = /^[0-9a-f]{7,40}$/;

/** An RFC 1123 DNS label: the rule for Kubernetes object and namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** An RFC 1123 hostname of dot-separated labels. */
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/;

/** An environment variable name a container accepts. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function cpuProblem(value: string): string | undefined {
  return CPU_QUANTITY.test(value) ? undefined : `'${value}' is not a CPU quantity; write millicores like '100m' or cores like '1'`;
}

export function memoryProblem(value: string): string | undefined {
  return MEMORY_QUANTITY.test(value)
    ? undefined
    : `'${value}' is not a memory quantity; write a binary suffix like '512Mi' or '1Gi' (not 'MB')`;
}

/** Tags other than a commit SHA are refused: `IfNotPresent` would keep a stale image under a reused tag. */
export function imageTagProblem(tag: string): string | undefined {
  if (tag === 'latest') {
    return `'latest' is not allowed: kubelet's IfNotPresent keeps a stale image under a reused tag; use the commit SHA of the application repository the images were built from`;
  }
  return COMMIT_SHA.test(tag) ? undefined : `'${tag}' is not a commit SHA; use 7 to 40 lowercase hex characters: the commit of the application repository the images were built from`;
}

export function dnsLabelProblem(value: string): string | undefined {
  return DNS_LABEL.test(value)
    ? undefined
    : `'${value}' is not a valid Kubernetes name; use lowercase letters, digits and '-', at most 63 characters`;
}

export function hostnameProblem(value: string): string | undefined {
  return HOSTNAME.test(value) ? undefined : `'${value}' is not a hostname; write lowercase labels joined by dots, like 'api.example.com'`;
}

export function envNameProblem(value: string): string | undefined {
  return ENV_NAME.test(value) ? undefined : `'${value}' is not an environment variable name; use letters, digits and '_'`;
}

export function portProblem(value: number): string | undefined {
  return Number.isInteger(value) && value >= 1 && value <= 65535 ? undefined : `${value} is not a port; use a whole number from 1 to 65535`;
}

/**
 * A value a construct refuses, as data: which construct, which prop (`rules[1].host`),
 * the value, and the sentence saying what is wrong and how to fix it. The message reads
 * `Owner: path: problem`; a caller that knows where the prop came from (`HoneydueStack`
 * maps its children's props to its own keys, which are the config file's) reads the
 * fields instead of parsing it. Constructs throw them inside {@link ValueProblems}.
 */
export class ValueProblem extends Error {
  public constructor(
    public readonly owner: string,
    public readonly path: string,
    public readonly problem: string,
    public readonly value?: unknown,
    /** Other props the sentence names (`autoscaling.minReplicas`), so a caller mapping props to config keys can rename them too. */
    public readonly related: readonly string[] = [],
  ) {
    super(`${owner}: ${path}: ${problem}`);
    this.name = 'ValueProblem';
  }

  /** `path` as keys: `api.secretKeys[1]` is `['api', 'secretKeys', 1]`, the form a config file's position is looked up by. */
  public get keys(): (string | number)[] {
    return pathKeys(this.path);
  }
}

/** A prop path (`rules[1].host`) as keys (`['rules', 1, 'host']`). */
export function pathKeys(path: string): (string | number)[] {
  return path
    .split(/\.|(?=\[)/)
    .filter((part) => part !== '')
    .map((part) => (/^\[\d+\]$/.test(part) ? Number(part.slice(1, -1)) : part));
}

/** Keys as a prop path: numbers as indexes (`rules[1].host`). */
export function keysPath(keys: readonly (string | number)[]): string {
  return keys.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

/**
 * Every problem a construct found in its props, thrown at once before it
 * creates any child: one run tells the operator everything to fix. The message
 * is one `Owner: path: problem` line per problem.
 */
export class ValueProblems extends Error {
  public constructor(public readonly problems: readonly ValueProblem[]) {
    super(problems.map((p) => p.message).join('\n'));
    this.name = 'ValueProblems';
  }
}

/** Throws {@link ValueProblems} when the list holds any. */
export function throwProblems(problems: readonly ValueProblem[]): void {
  if (problems.length > 0) throw new ValueProblems(problems);
}

/** Takes the problems a construct found in its props (see {@link collectProblems}). */
export type ProblemSink = (construct: IConstruct, problems: readonly ValueProblem[]) => void;

const sinks = new WeakMap<IConstruct, ProblemSink>();

/**
 * Makes `scope` take the problems of the constructs built under it, until the
 * function returned is called: each hands them to `sink` and is built all the
 * same, instead of throwing its own. A construct made of others
 * (`HoneydueStack`) judges every child in its one build this way, and throws
 * them together at its own keys.
 */
export function collectProblems(scope: IConstruct, sink: ProblemSink): () => void {
  sinks.set(scope, sink);
  return () => sinks.delete(scope);
}

/**
 * A construct's problems with its props: thrown at once in a {@link ValueProblems},
 * before it creates any child, unless a scope above it collects them
 * ({@link collectProblems}), which then gets them. Every construct reports
 * here, so every App of the constructs also claims at synth the objects no
 * construct of the library built ({@link claimUnclaimedObjectsAtSynth}).
 */
export function reportProblems(construct: IConstruct, problems: readonly ValueProblem[]): void {
  claimUnclaimedObjectsAtSynth(construct);
  if (problems.length === 0) return;
  const sink = construct.node.scopes.map((scope) => sinks.get(scope)).reverse().find((found) => found !== undefined);
  if (sink === undefined) throw new ValueProblems(problems);
  sink(construct, problems);
}

/**
 * Where a child construct's props come from in its parent's props (for
 * `HoneydueStack`, the config file's keys).
 */
export interface PropKeys {
  /** The key the child's own props sit under: the api's `replicas` is `api.replicas`. */
  readonly section: readonly string[];
  /**
   * Props the parent sets from another key, by prop path, with the key it
   * comes from: the Ingress's `rules[1].host` is `domains.admin`. A prop under
   * one listed is under its key too.
   * @default {} (every prop is under `section`)
   */
  readonly renamed?: Readonly<Record<string, readonly (string | number)[]>>;
}

/**
 * A child's problem at its parent's key, reported by `owner`: its path by
 * {@link PropKeys}, and the props its sentence names (its `related`) renamed
 * the same way, so the sentence reads in the parent's keys.
 */
export function atParentKeys(owner: string, problem: ValueProblem, keys: PropKeys): ValueProblem {
  const renamed = keys.renamed ?? {};
  const keyOf = (path: string) => {
    const prop = Object.keys(renamed)
      .filter((from) => path === from || path.startsWith(`${from}.`) || path.startsWith(`${from}[`))
      .sort((a, b) => b.length - a.length)[0];
    return keysPath(prop === undefined ? [...keys.section, ...pathKeys(path)] : [...renamed[prop], ...pathKeys(path.slice(prop.length))]);
  };
  const sentence = problem.related.reduce(
    (text, other) => text.replace(new RegExp(`(?<![\\w.\\[])${other.replace(/[.[\]]/g, '\\$&')}(?![\\w\\[])`, 'g'), keyOf(other)),
    problem.problem,
  );
  return new ValueProblem(owner, keyOf(problem.path), sentence, problem.value, problem.related.map(keyOf));
}

/**
 * Collects the problems of one construct's props. Each rule judges a value only
 * when it has the type the rule reads: a props object built from a config file
 * may hold a string where a number belongs, and that is the schema's to report,
 * so rules run beside the type check and every problem is reported in one pass.
 */
export class ProblemList {
  /** The problems found so far, in the order the rules ran. */
  public readonly problems: ValueProblem[] = [];

  public constructor(private readonly owner: string) {}

  /** Records `problem` at `path` when it is set. */
  public add(path: string, problem: string | undefined, value?: unknown, related: readonly string[] = []): this {
    if (problem !== undefined) this.problems.push(new ValueProblem(this.owner, path, problem, value, related));
    return this;
  }

  /** Judges `value` by `rule` when it is a string. */
  public string(path: string, value: unknown, rule: (value: string) => string | undefined): this {
    return typeof value === 'string' ? this.add(path, rule(value), value) : this;
  }

  /** Judges `value` by `rule` when it is a number. */
  public number(path: string, value: unknown, rule: (value: number) => string | undefined): this {
    return typeof value === 'number' ? this.add(path, rule(value), value) : this;
  }

  /** Adds problems another rule set found (a shared helper's), as they are. */
  public addAll(problems: readonly ValueProblem[]): this {
    this.problems.push(...problems);
    return this;
  }
}

/** A plain object (not an array, not null): what a props section must be before its fields are judged. */
export function isRecord(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A whole number at least `min`. */
export function wholeNumberProblem(value: number, min: number): string | undefined {
  return Number.isInteger(value) && value >= min ? undefined : `${value} must be a whole number of at least ${min}`;
}

/** {@link wholeNumberProblem} with its minimum given first: the rule `ProblemList.number` takes. */
export function wholeNumberAtLeast(min: number): (value: number) => string | undefined {
  return (value) => wholeNumberProblem(value, min);
}

/** A whole number from `min` to `max`. */
export function wholeNumberInRangeProblem(value: number, min: number, max: number): string | undefined {
  return Number.isInteger(value) && value >= min && value <= max ? undefined : `${value} must be a whole number from ${min} to ${max}`;
}

/** A value that must say something: an empty or blank string names nothing. */
export function nonEmptyProblem(value: string): string | undefined {
  return value.trim() === '' ? `${JSON.stringify(value)} is empty; write the value` : undefined;
}

/** The URL `value` spells, or undefined when it is none. */
function parsedUrl(value: string): URL | undefined {
  return URL.canParse(value) ? new URL(value) : undefined;
}

/** An http(s) URL, as a browser or server-side renderer fetches it. */
export function httpUrlProblem(value: string): string | undefined {
  const url = parsedUrl(value);
  if (url === undefined) return `'${value}' is not a URL; write it like 'https://api.example.com/api'`;
  return url.protocol === 'https:' || url.protocol === 'http:' ? undefined : `'${value}' is not an http(s) URL; write it like 'https://api.example.com/api'`;
}

/** A registry and owner images live under: `host[:port]/owner`, lowercase, no scheme or tag. */
export function registryProblem(value: string): string | undefined {
  return /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(value)
    ? undefined
    : `'${value}' is not a registry path; write host/owner like 'registry.example.com/team', without a scheme or tag`;
}

/** An image repository name under a registry: lowercase path components, no tag (the stack appends `imageTag`). */
export function imageRepositoryProblem(value: string): string | undefined {
  return /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(value)
    ? undefined
    : `'${value}' is not an image repository name; use lowercase letters, digits, '.', '_' and '-', without a tag (imageTag is appended)`;
}

/** An absolute path in the container's file system. */
export function absolutePathProblem(value: string): string | undefined {
  return value.startsWith('/') ? undefined : `'${value}' is not an absolute path; write it from the root, like '/${value}'`;
}

/** The tag of an image reference (`registry/repo:tag`), or undefined when it has none. */
export function imageTagOf(image: string): string | undefined {
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  return colon === -1 ? undefined : lastSegment.slice(colon + 1);
}

/**
 * An image reference must carry a pinned tag. Constructs accept any tag except
 * `latest` (a library user may pin `redis:7-alpine`); the config file further
 * demands a commit SHA for honeyDue's own images.
 */
export function imageProblem(image: string): string | undefined {
  const tag = imageTagOf(image);
  if (tag === undefined || tag === '') {
    return `'${image}' has no tag; pin one, like '${image}:<git-sha>'`;
  }
  if (tag === 'latest') {
    return `'${image}' uses 'latest': kubelet's IfNotPresent keeps a stale image under a reused tag; pin the commit SHA`;
  }
  return undefined;
}

/**
 * An IPv4 CIDR block (`10.42.0.0/16`, `178.104.247.152/32`), the form a
 * NetworkPolicy `ipBlock.cidr` takes. Host bits must be zero: the API server
 * accepts `10.42.1.5/16` but the reader of the policy cannot tell what was meant.
 */
export function cidrProblem(value: string): string | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  // Stryker disable next-line ArrayDeclaration: without a match the check below returns before the octets are read
  const octets = match ? match.slice(1, 5).map(Number) : [];
  // Stryker disable next-line UnaryOperator: without a match the check below returns before the prefix is read
  const prefix = match ? Number(match[5]) : -1;
  if (!match || octets.some((o) => o > 255) || prefix > 32) {
    return `'${value}' is not an IPv4 CIDR block; write it like '10.42.0.0/16' or '178.104.247.152/32'`;
  }
  const address = octets.reduce((n, o) => n * 256 + o, 0);
  // A /32 leaves 2 ** 0 = 1: every address is a whole multiple of it.
  const hostBits = address % 2 ** (32 - prefix);
  return hostBits === 0 ? undefined : `'${value}' has host bits set below the /${prefix} prefix; write the network address`;
}

/** An IPv4 or IPv6 CIDR block in network form (`173.245.48.0/20`, `2400:cb00::/32`). */
export function ipCidrProblem(value: string): string | undefined {
  const notCidr = `'${value}' is not an IPv4 or IPv6 CIDR block; write it like '173.245.48.0/20' or '2400:cb00::/32'`;
  if (!value.includes(':')) {
    const problem = cidrProblem(value);
    return problem?.includes('host bits') ? problem : problem && notCidr;
  }
  const slash = value.lastIndexOf('/');
  // Stryker disable next-line UnaryOperator: without a slash the address is undefined and the next line returns before the prefix is read
  const prefix = slash === -1 ? -1 : Number(value.slice(slash + 1));
  // Stryker disable next-line UnaryOperator: slash 1 leaves one character, no address either way; without a slash the prefix test below reads the whole value and fails
  const address = slash === -1 ? undefined : ipv6ToBigInt(value.slice(0, slash));
  if (address === undefined || !/^\d{1,3}$/.test(value.slice(slash + 1)) || prefix > 128) return notCidr;
  const hostBits = address % 2n ** BigInt(128 - prefix);
  return hostBits === 0n ? undefined : `'${value}' has host bits set below the /${prefix} prefix; write the network address`;
}

/** The 128-bit value of an IPv6 address in colon-hex form (no embedded IPv4), or undefined. */
function ipv6ToBigInt(address: string): bigint | undefined {
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!all.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
  return all.reduce((n, group) => n * 65536n + BigInt(parseInt(group, 16)), 0n);
}

/** A key of a Secret or ConfigMap: the API server's rule for `data` keys. */
export function dataKeyProblem(value: string): string | undefined {
  return /^[-._a-zA-Z0-9]{1,253}$/.test(value) ? undefined : `'${value}' is not a Secret key; use letters, digits, '-', '_' and '.'`;
}

/** A Prometheus-style duration as vmagent reads `scrape_interval`: `30s`, `1m`. */
export function durationProblem(value: string): string | undefined {
  return /^[1-9]\d*(s|m|h)$/.test(value) ? undefined : `'${value}' is not a duration; write it like '30s' or '1m'`;
}

/**
 * An https URL. A bearer token sent over plain http is readable by every hop
 * between the cluster and the receiver.
 */
export function httpsUrlProblem(value: string): string | undefined {
  const url = parsedUrl(value);
  if (url === undefined) return `'${value}' is not a URL; write it like 'https://obs.example.com/api/v1/write'`;
  return url.protocol === 'https:' ? undefined : `'${value}' is not https: the bearer token would cross the internet in clear text; use https://`;
}

/** A Redis size as `--maxmemory` reads it: `256mb`, `1gb` (not a Kubernetes `256Mi`). */
export function redisSizeProblem(value: string): string | undefined {
  return /^\d+(b|kb|mb|gb)$/i.test(value) ? undefined : `'${value}' is not a Redis size; write it like '256mb' or '1gb'`;
}

/** A URL path as probes and scrapers request it. */
export function httpPathProblem(value: string): string | undefined {
  return value.startsWith('/') ? undefined : `'${value}' must start with '/', like '/${value}'`;
}

/** Bytes of a Redis size (`256mb`: Redis reads `kb`/`mb`/`gb` as powers of 1024), or undefined. */
function redisBytes(value: string): number | undefined {
  const match = /^(\d+)(b|kb|mb|gb)$/i.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[match[2].toLowerCase() as 'b' | 'kb' | 'mb' | 'gb'];
}

/** Bytes of a Kubernetes memory quantity (`512Mi`, `1G`), or undefined. */
export function memoryBytes(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(value);
  if (!match) return undefined;
  const units: Record<string, number> = { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
  return Number(match[1]) * units[match[2] ?? ''];
}

/**
 * Redis' `--maxmemory` against its container's memory limit. The AOF rewrite
 * forks, and the child's copy-on-write pages count against the same cgroup: with
 * a limit below twice maxmemory a full cache gets the pod OOM-killed mid-rewrite.
 */
export function redisMemoryProblem(maxMemory: string, memoryLimit: string): string | undefined {
  const cache = redisBytes(maxMemory);
  const limit = memoryBytes(memoryLimit);
  if (cache === undefined || limit === undefined || limit >= 2 * cache) return undefined;
  const needed = Math.ceil((2 * cache) / 1024 ** 2);
  return `'${maxMemory}' needs a memory limit of at least twice that (the AOF rewrite forks and the copy counts against the limit), but resources.limits.memory is '${memoryLimit}'; raise the limit to ${needed}Mi or lower maxMemory`;
}
