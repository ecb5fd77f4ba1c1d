// No imports: the manifest check reads this value too, without loading the constructs.

/**
 * Lets a drain evict a pod that is running but not Ready. With the default
 * (`IfHealthyBudget`) a pod stuck in CrashLoopBackOff counts against
 * minAvailable, the budget is never met and `kubectl drain` waits forever on a
 * pod that serves nothing anyway.
 */
export const UNHEALTHY_POD_EVICTION_POLICY = 'AlwaysAllow';
