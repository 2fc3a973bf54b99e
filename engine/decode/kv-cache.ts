import type { CachePolicy } from '../cache/types.js';
import type { KvArray } from '../model/load.js';
import type { Pass } from './pass.js';
import type { Run } from './run-state.js';

/** The cache of the current block: per layer the cached positions, and their keys and values [Ly, 1, Hkv, C, Dh]. */
export interface KvCache {
  positions: number[][];
  keys: KvArray;
  values: KvArray;
}

export const cacheBytes = (c: KvCache | null) => (c ? c.keys.byteLength + c.values.byteLength : 0);

/** Copies per-layer selections of positions out of a [Ly, H, N, Dh] source into a dense [Ly, H, C, Dh] cache. */
function gather<A extends KvArray>(src: A, Ly: number, H: number, N: number, Dh: number, idx: number[][]): A {
  const C = idx[0]?.length ?? 0;
  const out = new (src.constructor as new (n: number) => A)(Ly * H * C * Dh);
  for (let l = 0; l < Ly; l++)
    for (let h = 0; h < H; h++) {
      const sBase = (l * H + h) * N,
        dBase = (l * H + h) * C;
      idx[l]!.forEach((n, c) => out.set(src.subarray((sBase + n) * Dh, (sBase + n + 1) * Dh), (dBase + c) * Dh));
    }
  return out;
}

/**
 * After a full pass at `blockStep` of block [bs, be): the positions the policy caches, each layer keeping what its
 * rule selects from the block queries' scores of the candidates (key_scores). `written` marks the positions whose
 * keys/values the pass wrote (before any eviction: evictions show as positions that leave between steps). A policy
 * that keeps nothing gives no cache (the next step is a full pass again).
 */
function cacheAfterFullPass(
  run: Run,
  policy: CachePolicy,
  blockStep: number,
  pass: Pass,
  bs: number,
  be: number,
): { cache: KvCache | null; written: Uint8Array | null } {
  const { T } = run,
    { num_layers: Ly, num_heads: H, head_dim: Dh } = run.model.card,
    Hkv = run.model.card.num_kv_heads ?? H;
  // A full pass computes all T positions with no cache, so key_scores is [Ly, 1, T].
  // A shifted model's block pass also computes the position before the block (forwardPass): it is not cached.
  const candidates = policy.initial(T, bs - run.shift, be);
  const score = (l: number) => Float32Array.from(candidates, (p) => pass.out.keyScores[l * T + p]!);
  const kept = policy.keep
    ? policy.keep(blockStep, candidates, score, Ly)
    : Array.from({ length: Ly }, () => candidates);
  if (!kept.some((ps) => ps.length > 0)) return { cache: null, written: null };
  const cache = {
    positions: kept,
    keys: gather(pass.out.keys, Ly, Hkv, T, Dh, kept),
    values: gather(pass.out.values, Ly, Hkv, T, Dh, kept),
  };
  return {
    cache,
    written: positionMask(
      Array.from({ length: Ly }, () => candidates),
      T,
    ),
  };
}

/** [Ly, T] with 1 at each layer's positions. */
export function positionMask(positions: number[][], T: number): Uint8Array {
  const m = new Uint8Array(positions.length * T);
  positions.forEach((ps, l) => {
    for (const p of ps) m[l * T + p] = 1;
  });
  return m;
}

/**
 * The cache after this step's pass: rebuilt by a full pass, else the one the pass read. `mask` is what the trace
 * records as cached at this step. Keeps the run's peak cache size.
 */
export function cacheForStep(
  run: Run,
  policy: CachePolicy,
  blockStep: number,
  pass: Pass,
  bs: number,
  be: number,
  cache: KvCache | null,
): { cache: KvCache | null; mask: Uint8Array | null } {
  const next = pass.full ? cacheAfterFullPass(run, policy, blockStep, pass, bs, be) : null;
  const held = next ? next.cache : cache;
  const mask = next ? next.written : positionMask(cache!.positions, run.T);
  if (run.o.cache !== 'none') run.peakCacheBytes = Math.max(run.peakCacheBytes, cacheBytes(held));
  return { cache: held, mask };
}
