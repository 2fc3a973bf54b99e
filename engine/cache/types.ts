/**
 * A KV-cache policy decides, per step, which positions the model computes now and which cached keys/values
 * it attends to. Mode "none" recomputes everything; the other policies come with the cache issue.
 */
export type CacheMode = 'none' | 'prefix' | 'dual' | 'sparse';

export interface CachePlan {
  /** Absolute positions computed by this call (queries). */
  compute: number[];
  /** Whether this step refreshed the cache (a full pass). */
  refresh: boolean;
}
