/**
 * The environments' config, as the commands and tests import it: the schema
 * (schema.ts), loading with `extends` (load.ts), where a value was set
 * (sources.ts) and how its problems are worded (messages.ts).
 */
export { configSchema } from './schema';
export type { EnvironmentDeploy, EnvironmentShares, HoneydueConfig, ValidatedStackProps } from './schema';
export { ConfigSources, describeSource, shownPath } from './sources';
export type { ConfigIssue, ConfigLayer, ConfigOverride, ConfigPath, ValueSource } from './sources';
export { ConfigError, formatIssue } from './messages';
export { configuredImageTag, deepMerge, listEnvironments, loadConfig, loadEnvironment } from './load';
export type { LoadConfigOptions, LoadedEnvironment } from './load';
