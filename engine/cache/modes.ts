/** The KV-cache policies, by name: the one list the command line, the API schema and the trace format read. */
export const CACHE_MODES = ['none', 'prefix', 'dual', 'sparse'] as const;
export type CacheMode = (typeof CACHE_MODES)[number];
