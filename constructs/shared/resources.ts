import { k8s } from './k8s';
import { cpuProblem, isRecord, memoryProblem, ProblemList, ValueProblem } from './validation';

/** CPU and memory of one side (requests or limits) of a container's resources. */
export interface CpuMemory {
  /** CPU quantity, like `100m` or `1`. @default the workload's value */
  readonly cpu?: string;
  /** Memory quantity, like `128Mi`. @default the workload's value */
  readonly memory?: string;
}

/** Resource overrides: any field left out keeps the workload's default. */
export interface ResourceOverrides {
  /** What the scheduler reserves for the pod. @default the workload's requests */
  readonly requests?: CpuMemory;
  /** What the kernel enforces: CPU is throttled above it, memory is OOM-killed. @default the workload's limits */
  readonly limits?: CpuMemory;
}

/** Fully resolved resources: every field set. */
export interface Resources {
  readonly requests: Required<CpuMemory>;
  readonly limits: Required<CpuMemory>;
}

/** Applies overrides on a workload's defaults; {@link resourcesProblems} has judged them before. */
export function resolveResources(defaults: Resources, overrides: ResourceOverrides = {}): Resources {
  return {
    requests: { ...defaults.requests, ...overrides.requests },
    limits: { ...defaults.limits, ...overrides.limits },
  };
}

/**
 * The problems of resource overrides: each quantity set must be one Kubernetes
 * reads (the defaults are). A number (`cpu: 1` in a config file) is judged as its text.
 */
export function resourcesProblems(owner: string, overrides: unknown): ValueProblem[] {
  const problems = new ProblemList(owner);
  if (!isRecord(overrides)) return problems.problems;
  for (const side of ['requests', 'limits'] as const) {
    const given = overrides[side];
    if (!isRecord(given)) continue;
    const asText = (rule: (value: string) => string | undefined) => (value: number) => rule(String(value));
    problems.string(`resources.${side}.cpu`, given.cpu, cpuProblem).number(`resources.${side}.cpu`, given.cpu, asText(cpuProblem));
    problems.string(`resources.${side}.memory`, given.memory, memoryProblem).number(`resources.${side}.memory`, given.memory, asText(memoryProblem));
  }
  return problems.problems;
}

/** The container `resources` field. */
export function toResourceRequirements(resources: Resources): k8s.ResourceRequirements {
  const quantities = (side: Required<CpuMemory>) => ({
    cpu: k8s.Quantity.fromString(side.cpu),
    memory: k8s.Quantity.fromString(side.memory),
  });
  return { requests: quantities(resources.requests), limits: quantities(resources.limits) };
}

/**
 * The Go backend's size (api, migrate Job): 100m baseline for a CPU-bursty API
 * with a 1000m ceiling; 512Mi is comfortable where it uses 100-200Mi.
 */
export const BACKEND_RESOURCES: Resources = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '1000m', memory: '512Mi' },
};

/**
 * Redis' size: the memory limit is twice a 256mb `maxmemory`, because the AOF
 * rewrite forks and the child's copy-on-write pages count against it too.
 */
export const REDIS_RESOURCES: Resources = {
  requests: { cpu: '100m', memory: '128Mi' },
  limits: { cpu: '500m', memory: '512Mi' },
};

/** The small workloads' size: the Next.js apps, the worker and vmagent. */
export const SMALL_RESOURCES: Resources = {
  requests: { cpu: '50m', memory: '64Mi' },
  limits: { cpu: '500m', memory: '256Mi' },
};
