/**
 * The labels that make an object part of one environment's stack, read from
 * the environment's config (`labels`, `environmentLabel`) rather than kept
 * here: the constructs write what the config says, so the deploy finds the
 * objects by the same words, whichever product's config it deploys.
 */
import { join } from 'node:path';
import { ConfigError, listEnvironments, loadEnvironment } from '../config';
import type { ManifestObject, StackManifests } from './manifest-object';
import { StackError } from './stack-error';

/** The stack's labels as one environment's config sets them. */
export interface StackLabels {
  /** The config's `labels`, on every object's metadata: prune lists only objects that carry all of them. */
  readonly common: Readonly<Record<string, string>>;
  /** The config's `environmentLabel`: the key whose value names the environment on every object's metadata. */
  readonly environmentKey: string;
}

/**
 * The stack labels of an environment, from its config file. A config without
 * `environmentLabel` is refused: the lock and prune would not know which
 * objects are this environment's, and a prune that cannot tell would delete
 * another environment's objects in a namespace they share (kube-system).
 */
export function stackLabelsOf(env: string, configDir?: string): StackLabels {
  const loaded = loadEnvironment(env, { configDir });
  const environmentKey = loaded.props.environmentLabel;
  if (environmentKey === undefined) {
    throw new StackError(
      `${loaded.file} sets no environmentLabel: the deploy's lock and prune find ${env}'s objects by that label; ` +
        'set it (e.g. environmentLabel: example.com/environment) and synthesize again',
    );
  }
  return { common: loaded.props.labels ?? {}, environmentKey };
}

/** The labels one environment's stack objects carry: every common label, then the environment's (without `env`, the common ones only). */
export function stackLabelPairs(labels: StackLabels, env?: string): [string, string][] {
  return [...Object.entries(labels.common), ...(env === undefined ? [] : [[labels.environmentKey, env] as [string, string]])];
}

/** The label selector of one environment's stack objects: every common label, then the environment's. */
export function stackSelector(labels: StackLabels, env: string): string {
  return stackLabelPairs(labels, env).map(([key, value]) => `${key}=${value}`).join(',');
}

/** True when an object's labels hold every common stack label and, when `env` is given, name that environment. */
export function carriesStackLabels(objectLabels: Readonly<Record<string, string>>, labels: StackLabels, env?: string): boolean {
  return stackLabelPairs(labels, env).every(([key, value]) => objectLabels[key] === value);
}

/** Objects without every common stack label: prune will never find them once they leave the stack. */
export function unlabelledObjects(manifests: StackManifests, labels: StackLabels): ManifestObject[] {
  return manifests.objects.filter((object) => !carriesStackLabels(object.labels, labels));
}

/**
 * The one environment the objects name under the environment key; undefined
 * when none names one. Objects of two environments in one directory are refused.
 */
export function namedEnvironment(manifests: StackManifests, environmentKey: string): string | undefined {
  const named = [...new Set(manifests.objects.flatMap((o) => (o.labels[environmentKey] === undefined ? [] : [o.labels[environmentKey]])))];
  if (named.length > 1) {
    throw new StackError(
      `${manifests.dir} holds objects of several environments (${environmentKey}: ${named.join(', ')}): ` +
        'deploy one environment\'s directory (dist/<env>/) at a time',
    );
  }
  return named[0];
}

/**
 * Which environment reviewed files (--manifests) are for. The files name it
 * under their config's `environmentLabel`, so the key is looked up in the
 * configs of the config folder: the one key the objects carry names the
 * environment.
 */
export function reviewedEnvironment(manifests: StackManifests, configDir?: string): string {
  const keys = new Set(configuredLabels(configDir).map((labels) => labels.environmentKey));
  const carried = [...keys].filter((key) => manifests.objects.some((o) => o.labels[key] !== undefined));
  if (carried.length === 0) {
    const known = keys.size === 0 ? 'no config there sets environmentLabel' : [...keys].join(', ');
    throw new StackError(
      `the objects in ${manifests.dir} carry no environment label (the environmentLabel of the configs in ${configDir ?? 'config/'}: ${known}): ` +
        'synthesize again (npm run synth) so the lock and prune know the environment',
    );
  }
  if (carried.length > 1) {
    throw new StackError(
      `the objects in ${manifests.dir} carry ${carried.join(' and ')}, the environment labels of different configs: ` +
        'deploy one environment\'s synthesized directory (dist/<env>/)',
    );
  }
  return namedEnvironment(manifests, carried[0]) as string;
}

/**
 * The stack labels of reviewed files' environment: its own config's when it
 * has one; otherwise those of the configs that name environments by the same
 * key, which must agree (the files were synthesized by one of them).
 */
export function reviewedStackLabels(env: string, manifests: StackManifests, configDir?: string): StackLabels {
  if (listEnvironments(configDir).includes(env)) return stackLabelsOf(env, configDir);
  const candidates = configuredLabels(configDir).filter((labels) => manifests.objects.some((o) => o.labels[labels.environmentKey] === env));
  const distinct = [...new Set(candidates.map((labels) => JSON.stringify(labels)))];
  if (distinct.length !== 1) {
    throw new StackError(
      `${env} has no config file in ${configDir ?? 'config/'}, and the configs that name environments by the same label ` +
        `${distinct.length === 0 ? 'cannot be read' : 'set different labels'}: add ${join(configDir ?? 'config', `${env}.yaml`)} so the deploy knows the stack's labels`,
    );
  }
  return JSON.parse(distinct[0]) as StackLabels;
}

/**
 * The stack labels of every config in the folder that loads and sets an
 * `environmentLabel`. A config that does not load names no labels: the
 * environment's own config is judged by the deploy's refusal check, which fails safe.
 */
function configuredLabels(configDir?: string): StackLabels[] {
  return listEnvironments(configDir).flatMap((env) => {
    try {
      const props = loadEnvironment(env, { configDir }).props;
      return props.environmentLabel === undefined ? [] : [{ common: props.labels ?? {}, environmentKey: props.environmentLabel }];
    } catch (error) {
      if (error instanceof ConfigError) return [];
      throw error;
    }
  });
}
