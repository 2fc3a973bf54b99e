import { DlensError } from '../errors.js';
import type { CachePolicy } from './types.js';
import { CACHE_MODES, type CacheMode } from './modes.js';
import { resolveParams, type ParamSpec, type Params } from '../params.js';
import { noneCache } from './none.js';
import { prefixCache } from './prefix.js';
import { dualCache } from './dual.js';
import { SPARSE_PARAMS, sparseCache } from './sparse.js';

export { CACHE_MODES };

/** Parameters of each policy as data (the app's record form and `--set cache.K=V` read them). */
export const CACHE_PARAMS: Record<CacheMode, Record<string, ParamSpec>> = {
  none: {},
  prefix: {},
  dual: {},
  sparse: SPARSE_PARAMS,
};
const FACTORIES: Record<CacheMode, (p: Params) => CachePolicy> = {
  none: noneCache,
  prefix: prefixCache,
  dual: dualCache,
  sparse: sparseCache,
};

export const isCacheMode = (m: string): m is CacheMode => (CACHE_MODES as readonly string[]).includes(m);

/** The policy `mode` with its parameters resolved like a strategy's (defaults, own names only, ranges). */
export function makeCache(
  mode: string,
  given: Record<string, unknown>,
  attention: 'bidirectional' | 'block-causal',
): CachePolicy {
  if (!isCacheMode(mode)) throw new DlensError(`unknown cache mode "${mode}": choose one of ${CACHE_MODES.join(', ')}`);
  const policy = FACTORIES[mode](resolveParams(`cache ${mode}`, CACHE_PARAMS[mode], given));
  if (policy.needsSuffix && attention === 'block-causal')
    throw new DlensError(
      `cache ${mode} caches positions after the block, but this model is block-causal and never attends to them; use --cache prefix`,
    );
  return policy;
}
