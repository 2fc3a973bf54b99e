import type { Detector, Finding } from './types.js';

/** Returns to a token a position held before, from which its changes count as oscillating. */
export const OSCILLATION_RETURNS = 2;

/**
 * Oscillation (revisiting decoders: ReMDM, WINO, LLaDA 2.1's edits): a position whose committed token goes back to a
 * token it held before OSCILLATION_RETURNS or more times (A → B → A → B): the decoder keeps changing its mind between
 * the same candidates, spending passes without converging.
 */
export const oscillation: Detector = {
  id: 'oscillation',
  label: 'Oscillation',
  definition: `a position that returns ${OSCILLATION_RETURNS} or more times to a token it held before (edits or remask and recommit)`,
  notApplicable: (cx) => (cx.trace.edits.length ? null : 'no committed token changed in this decode'),
  detect(cx) {
    const { state, masked, dims } = cx.trace;
    const { S, T, P } = dims;
    const out: Finding[] = [];
    const revised = new Set<number>();
    for (let i = 0; i < cx.trace.edits.length; i += 4) revised.add(cx.trace.edits[i + 1]!);
    for (const p of [...revised].sort((a, b) => a - b)) {
      if (p < P) continue;
      const held: number[] = [];
      let returns = 0,
        first = -1;
      for (let s = 0; s <= S; s++) {
        if (masked[s * T + p]) continue;
        const tok = state[s * T + p]!;
        if (held.length && held[held.length - 1] === tok) continue;
        if (held.includes(tok) && ++returns === OSCILLATION_RETURNS) first = s - 1;
        held.push(tok);
      }
      if (returns >= OSCILLATION_RETURNS) {
        const distinct = new Set(held).size;
        out.push({
          detector: 'oscillation',
          step: first,
          positions: [p],
          detail: `position ${p} changed ${held.length - 1} times between ${distinct} tokens, returning to an earlier one ${returns} times`,
        });
      }
    }
    return out.sort((a, b) => a.step - b.step);
  },
};
