import { k8s } from './shared/k8s';
import { Construct } from 'constructs';
import { CONFIG_HASH_ANNOTATION, ConfigMapSource } from './shared/app-workload';
import { contentHash } from './shared/content-hash';
import { namespaceOf, objectLabels } from './shared/labels';
import { dnsLabelProblem, envNameProblem, isRecord, ProblemList, reportProblems, ValueProblem } from './shared/validation';
import { claimObjectNames } from './shared/unique-names';

/** Props of {@link HoneydueConfigMap}. */
export interface HoneydueConfigMapProps {
  /** Non-secret environment of the app workloads; keys become env var names. Never put a secret here. */
  readonly data: Record<string, string>;
  /** The ConfigMap's name, as workloads reference it. */
  readonly name: string;
  /** Its namespace. @default the enclosing Chart's namespace */
  readonly namespace?: string;
  /** The pod-template annotation key workloads stamp `contentHash` under. @default {@link CONFIG_HASH_ANNOTATION} ('checksum/config') */
  readonly hashAnnotation?: string;
}

/**
 * Every problem of {@link HoneydueConfigMapProps}: the names, and each entry (an
 * env var name, since workloads read the map with envFrom, and a string value).
 * `namespace` is the resolved one (the Chart's when the prop is unset).
 */
export function honeydueConfigMapProblems(props: HoneydueConfigMapProps, namespace: unknown = props.namespace): ValueProblem[] {
  const problems = new ProblemList('HoneydueConfigMap');
  problems.string('name', props.name, dnsLabelProblem);
  problems.string('namespace', namespace, dnsLabelProblem);
  const data: unknown = props.data;
  if (!isRecord(data)) return problems.problems;
  for (const [key, value] of Object.entries(data)) {
    problems.string(`data.${key}`, key, envNameProblem);
    if (typeof value !== 'string') problems.add(`data.${key}`, `${JSON.stringify(value)} must be a string; quote numbers like "587"`, value);
  }
  return problems.problems;
}

/**
 * The ConfigMap every app workload reads with envFrom, plus `contentHash`: a
 * hash of its content that workloads stamp on their pod templates. Pods do not
 * reload env when a ConfigMap changes; with the hash on the template a
 * reviewed config change rolls the pods on apply, no `rollout restart` needed.
 *
 * @example const config = new HoneydueConfigMap(chart, 'config', { name: 'shop-config', data: { DB_HOST: 'db.internal' } });
 *          new HoneydueApi(chart, 'api', { image, configMap: config });
 */
export class HoneydueConfigMap extends Construct implements ConfigMapSource {
  /** The ConfigMap object. */
  public readonly configMap: k8s.KubeConfigMap;
  /** The ConfigMap's name, as workloads reference it. */
  public readonly name: string;
  /** The namespace its objects are in. */
  public readonly namespace: string;
  /** First 16 hex digits of the SHA-256 of the sorted entries. */
  public readonly contentHash: string;
  /** The annotation key workloads stamp the hash under. */
  public readonly hashAnnotation: string;
  /** The entries, for constructs that need to check a key exists. */
  public readonly data: Readonly<Record<string, string>>;

  public constructor(scope: Construct, id: string, props: HoneydueConfigMapProps) {
    super(scope, id);
    const name = props.name;
    const namespace = namespaceOf(scope, 'HoneydueConfigMap', props.namespace);

    reportProblems(this, honeydueConfigMapProblems(props, namespace));

    const sorted = Object.fromEntries(Object.keys(props.data).sort().map((key) => [key, props.data[key]]));
    this.name = name;
    this.namespace = namespace;
    this.data = sorted;
    this.contentHash = contentHash(JSON.stringify(sorted));
    this.hashAnnotation = props.hashAnnotation ?? CONFIG_HASH_ANNOTATION;
    this.configMap = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: { name, namespace, labels: objectLabels(name) },
      data: sorted,
    });
    claimObjectNames(this, 'HoneydueConfigMap');
  }
}
