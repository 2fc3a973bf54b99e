import type { Trace } from '../trace/trace.js';
import { positionRegions } from './regions.js';

/**
 * The logit lens across the diffusion loop (docs/diagnostics.md): at every step, each layer's top-1 token through the
 * final norm and the output head (trace tensors lens_ids, lens_probs [S, Ly, G]). These functions read it; they never
 * need more than the rows asked for.
 */

/**
 * One step's lens row turned into the first layer (1-based) whose top-1 is each position's final token: Ly + 1 where
 * no layer has it on top, NaN where the step computed no lens for the position. `final` holds the final tokens of
 * the generated positions.
 */
export function firstCorrectLayerRow(row: Int32Array, final: ArrayLike<number>, Ly: number, G: number): Float32Array {
  const out = new Float32Array(G).fill(NaN);
  for (let g = 0; g < G; g++) {
    if (row[g]! < 0) continue;
    let l = 0;
    while (l < Ly && row[l * G + g] !== final[g]) l++;
    out[g] = l + 1;
  }
  return out;
}

/** The generated positions' final tokens. */
export const finalTokens = (t: Trace) => {
  const { S, T, P } = t.dims;
  return t.state.subarray(S * T + P, (S + 1) * T);
};

export interface LensSummary {
  layers: number;
  /** Committed answer tokens whose commit step has a lens. */
  commits: number;
  /** Of those, the first layer with the final token on top at the commit step: mean and median (1-based). */
  meanFirstLayer: number;
  medianFirstLayer: number;
  /** Share whose final token was top-1 from the first layer on, and share where no layer had it on top. */
  fromFirstLayer: number;
  never: number;
}

/**
 * At the step that committed each answer token, the first layer whose top-1 was that token: how deep the model had to
 * go to know what it committed. Undefined when the trace holds no lens or its rows are not read yet.
 */
export function lensSummary(t: Trace): LensSummary | undefined {
  const all = t.lensIds.present ? t.lensIds.full() : undefined;
  if (!all) return undefined;
  const { Ly, G, P } = t.dims;
  const final = finalTokens(t);
  const regions = positionRegions(t);
  const layers: number[] = [];
  for (let g = 0; g < G; g++) {
    const s = t.commitStep[P + g]! - 1;
    if (s < 0 || !regions.has('answer', P + g)) continue;
    const row = all.subarray(s * Ly * G, (s + 1) * Ly * G);
    const first = firstCorrectLayerRow(row, final, Ly, G)[g]!;
    if (!Number.isNaN(first)) layers.push(first);
  }
  const n = layers.length;
  const sorted = [...layers].sort((a, b) => a - b);
  return {
    layers: Ly,
    commits: n,
    meanFirstLayer: n ? layers.reduce((a, b) => a + b, 0) / n : NaN,
    medianFirstLayer: n ? sorted[Math.floor((n - 1) / 2)]! : NaN,
    fromFirstLayer: n ? layers.filter((l) => l === 1).length / n : NaN,
    never: n ? layers.filter((l) => l > Ly).length / n : NaN,
  };
}
