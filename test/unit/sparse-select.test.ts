import { describe, it, expect } from 'vitest';
import { selectKept } from '../../engine/cache/sparse.js';

describe('Sparse-dLLM selection', () => {
  it('keeps the top ratio by max-pooled attention, so neighbours of a salient position survive', () => {
    const positions = [0, 1, 2, 3, 4, 5, 6, 7];
    const scores = Float32Array.from([0.01, 0.02, 0.9, 0.01, 0.03, 0.02, 0.01, 0.5]);
    // kernel 3: pooled = [.02 .9 .9 .9 .03 .03 .5 .5]; top 4 by pooled, then lowest position: 1, 2, 3, 6
    expect(selectKept(positions, scores, 0.5, 3)).toEqual([1, 2, 3, 6]);
    // kernel 1 is no smoothing: plain top 4
    expect(selectKept(positions, scores, 0.5, 1)).toEqual([1, 2, 4, 7]); // ties (0.02) go to the earlier position
  });
  it('pools along position order even when the cache lists positions out of order', () => {
    // pooled over 1,2,3,7: [.9 .9 .9 .5]
    expect(selectKept([7, 2, 3, 1], Float32Array.from([0.5, 0.9, 0.01, 0.02]), 0.5, 3)).toEqual([1, 2]);
  });
  it('cuts a plateau of equal pooled scores at the lowest positions, as torch.topk on CUDA does', () => {
    // pooled = [.2 .9 .9 .9 .3 0]: keep 2 of the plateau {1, 2, 3}; ranking the raw scores would keep 2 and 3
    expect(selectKept([0, 1, 2, 3, 4, 5], Float32Array.from([0.1, 0.2, 0.9, 0.3, 0, 0]), 0.34, 3)).toEqual([1, 2]);
  });
  it('keeps everything at ratio 1', () => {
    expect(selectKept([3, 1, 2], Float32Array.from([1, 2, 3]), 1, 3)).toEqual([3, 1, 2]);
  });
});
