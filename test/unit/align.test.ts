import { describe, it, expect } from 'vitest';
import { alignPair, alignStates, positionAt } from '../../engine/trace/align.js';
import { writeTrace } from '../../engine/trace/write.js';
import { readTrace, TraceError } from '../../engine/trace/trace.js';
import { handMadeManifest } from '../support/sample-trace.js';
import { Rng } from '../../engine/util/rng.js';
import { traceMetrics } from '../../engine/metrics/index.js';
import { loadTrace, confidenceHistory } from '../../renderer/src/lib/traceModel.js';
import { buildMatrix } from '../../renderer/src/lib/heatmap.js';

const M = 1, // mask
  D = 9; // a token that LLaDA 2.2's DELETE would have removed, say

describe('alignment of a step (fewest insertions, deletions and substitutions)', () => {
  it.each([
    ['commits in place stay in place', [5, M, M, M], [5, 7, M, 8], [0, 1, 2, 3]],
    ['a deletion shifts the rest left (the block padded with a mask)', [5, D, 6, 7], [5, 6, 7, M], [0, -1, 1, 2]],
    ['an insertion (SPLIT: a mask before the token) shifts the rest right', [5, 6, 7, 8], [5, M, 6, 7], [0, 2, 3, -1]],
    ['a longer sequence', [5, 6], [5, 4, 6], [0, 2]],
  ] as const)('%s', (_, a, b, want) => {
    expect(Array.from(alignPair(a, b))).toEqual(want);
  });
});

/** A decode of 2 prompt tokens through a deletion (DELETE removes D; the rest shifts left) and growth by one. */
function movingTrace() {
  const states = [
    [2, 3, M, M, M, M, M],
    [2, 3, 5, D, 6, 7, M],
    [2, 3, 5, 6, 7, M, M],
    [2, 3, 5, 6, 7, 8, 0, 0],
  ];
  const { S, T, state, align } = alignStates(states, 0);
  const manifest = handMadeManifest(2, T - 2, S, { format: 'dlens-trace/2', mask_token_id: M, eos_token_id: 0 });
  return { S, T, state, align, manifest };
}

describe('trace format v3: align', () => {
  it('composes each step back to the final state and writes a v3 trace whose reader follows tokens', () => {
    const { S, T, state, align, manifest } = movingTrace();
    expect(T).toBe(8);
    // state 1: D goes nowhere, 6 and 7 move one left, the last mask stays last; state 2 is in place; the padding of
    // shorter states is nowhere
    expect(Array.from(align.subarray(1 * T, 2 * T))).toEqual([0, 1, 2, -1, 3, 4, 6, -1]);
    expect(Array.from(align.subarray(2 * T, 3 * T))).toEqual([0, 1, 2, 3, 4, 5, 6, -1]);
    const t = readTrace(writeTrace({ manifest, dims: { S, T, G: T - 2, K: 0, Ly: 0, P: 2 }, state, align }));
    expect(t.manifest.format).toBe('dlens-trace/3');
    expect(Array.from(t.align!)).toEqual(Array.from(align));
    expect(positionAt(t.align, T, 1, 3)).toBe(4);
    // the final 6 (position 3) was committed by step 0 at position 4, and kept through its move: commit step 1
    expect(t.commitStep[3]).toBe(1);
    expect(t.commitStep[5]).toBe(3);
    // followed across its move, the 6 was never edited; D, deleted, is not followed
    expect(Array.from(t.edits)).toEqual([]);
  });

  it('refuses an alignment that a v2 manifest carries, or that breaks the tokens’ order or the final state', () => {
    const { S, T, state, align, manifest } = movingTrace();
    const dims = { S, T, G: T - 2, K: 0, Ly: 0, P: 2 };
    const bytes = (a: Int32Array, format = 'dlens-trace/3') => {
      const b = writeTrace({ manifest, dims, state, align: a });
      if (format === 'dlens-trace/3') return b;
      // the same file with the manifest saying v2: one byte of its header changed
      const at = Buffer.from(b).indexOf('dlens-trace/3');
      b[at + 'dlens-trace/'.length] = '2'.charCodeAt(0);
      return b;
    };
    expect(() => readTrace(bytes(align, 'dlens-trace/2'))).toThrow(/"align" is part of format v3/);
    const swapped = align.slice();
    swapped[2 * T + 3] = 4;
    swapped[2 * T + 4] = 3;
    expect(() => readTrace(bytes(swapped))).toThrow(TraceError);
    expect(() => readTrace(bytes(swapped))).toThrow(/does not keep the tokens' order/);
    const final = align.slice();
    final[S * T + 2] = 3;
    expect(() => readTrace(bytes(final))).toThrow(/final state must name each position itself/);
  });

  it('v1 and v2 traces carry no alignment: tokens stay at their index', () => {
    const { S, T, state, manifest } = movingTrace();
    const t = readTrace(writeTrace({ manifest, dims: { S, T, G: T - 2, K: 0, Ly: 0, P: 2 }, state }));
    expect(t.manifest.format).toBe('dlens-trace/2');
    expect(t.align).toBeNull();
    expect(positionAt(t.align, T, 0, 3)).toBe(3);
  });
});

describe('the reader under hostile alignments', () => {
  it('refuses 2,000 corrupted align tensors with its own error, and what it accepts still computes every metric', () => {
    const { S, T, state, align, manifest } = movingTrace();
    const dims = { S, T, G: T - 2, K: 0, Ly: 0, P: 2 };
    const rng = new Rng(20261207);
    let refused = 0,
      accepted = 0;
    const other: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const a = align.slice();
      for (let f = rng.int(1, 3); f > 0; f--)
        a[rng.int(0, a.length - 1)] = rng.pick([-2, -1, 0, 1, 3, 5, 7, 8, 1 << 30, -(1 << 30)]);
      try {
        const t = readTrace(writeTrace({ manifest, dims, state, align: a }));
        JSON.stringify(traceMetrics(t));
        accepted++;
      } catch (e) {
        if (e instanceof TraceError) refused++;
        else other.push(`case ${i}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    expect(other).toEqual([]);
    expect(refused).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(0); // some corruptions keep a valid alignment (−1 where a token may vanish)
  });
});

describe('views of a v3 trace', () => {
  it('a heatmap row is one token across its moves: the decided map puts each step where the token ends', () => {
    const { S, T, state, align, manifest } = movingTrace();
    const lt = loadTrace(writeTrace({ manifest, dims: { S, T, G: T - 2, K: 0, Ly: 0, P: 2 }, state, align }), 'v3');
    const m = buildMatrix(lt, 'decided');
    const G = T - 2;
    // the final 6 (position 3) was committed by step 0 at position 4: decided in state 1 already, in its own row
    expect(m.data[1 * G + (3 - 2)]).toBe(1);
    // state 1 in final rows: 5, 6, 7 decided (6 and 7 one row up from where they sat), D (deleted later) in no row,
    // the final 8's row empty (its token did not exist yet)
    expect(Array.from({ length: G }, (_, g) => m.data[1 * G + g])).toEqual([1, 1, 1, 0, 0, 0]);
    // the replay's hover card follows it too: its confidence history is read where it sat (no statistics here: NaN)
    expect(confidenceHistory(lt.trace, 3, S).length).toBe(S);
  });

  it("'top-1 equals final token' compares a prediction with the final token of the token it was made for", () => {
    const { S, T, state, align, manifest } = movingTrace();
    const G = T - 2;
    // Step 1 (state 1: 5, D, 6, 7, mask) predicts what sits there: D's row predicts 6, the rest their own tokens.
    const topkIds = new Int32Array(S * G).fill(-1);
    topkIds.set([5, 6, 6, 7, 8], 1 * G);
    const lt = loadTrace(
      writeTrace({
        manifest: { ...manifest, top_k: 1 },
        dims: { S, T, G, K: 1, Ly: 0, P: 2 },
        state,
        align,
        topkIds,
        topkProbs: new Float32Array(S * G).fill(0.5),
      }),
      'v3',
    );
    const m = buildMatrix(lt, 'correct');
    // 6 and 7 moved one row up by the final state: their predictions are right there, not compared with what ends at
    // their old index (7 and 8)
    expect(Array.from({ length: 4 }, (_, g) => m.data[1 * G + g])).toEqual([1, 1, 1, 0]);
  });
});
