import type { Trace } from '../trace/trace.js';
import type { Regions } from './regions.js';

/**
 * What revisiting decoders did to committed tokens (trace `edits`): edits (a token replaced by another), remasks
 * (a token back to noise), how many positions and answer positions changed, and the last step that changed one.
 * Commit-once decoders have none.
 */
export interface Revisions {
  edits: number;
  remasks: number;
  positions: number;
  answerPositions: number;
  lastStep: number | null;
}

export function revisions(trace: Trace, regions: Regions): Revisions {
  const { edits: e, masked, dims } = trace;
  const changed = new Set<number>();
  let edits = 0,
    remasks = 0,
    lastStep: number | null = null;
  for (let i = 0; i < e.length; i += 4) {
    const s = e[i]!,
      p = e[i + 1]!;
    if (masked[(s + 1) * dims.T + p] === 1) remasks++;
    else edits++;
    changed.add(p);
    lastStep = s;
  }
  let answerPositions = 0;
  for (const p of changed) if (regions.has('answer', p)) answerPositions++;
  return { edits, remasks, positions: changed.size, answerPositions, lastStep };
}

/** One line for `dlens info` and `dlens diff`. */
export function revisionsLine(r: Revisions): string {
  if (!r.edits && !r.remasks) return 'revisions: none (every committed token kept)';
  return `revisions: ${r.edits} edits, ${r.remasks} remasks over ${r.positions} positions (${r.answerPositions} in the answer); last at step ${r.lastStep}`;
}
