import { k8s } from './k8s';
import { check, cpuProblem, memoryProblem } from './validation';

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

/** Applies overrides on a workload's defaults and validates each quantity. */
export function resolveResources(owner: string, defaults: Resources, overrides: ResourceOverrides = {}): Resources {
  const resolved: Resources = {
    requests: { ...defaults.requests, ...overrides.requests },
    limits: { ...defaults.limits, ...overrides.limits },
  };
  for (const side of ['requests', 'limits'] as const) {
    check(owner, `resources.${side}.cpu`, cpuProblem(resolved[side].cpu));
    check(owner, `resources.${side}.memory`, memoryProblem(resolved[side].memory));
  }
  return resolved;
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
