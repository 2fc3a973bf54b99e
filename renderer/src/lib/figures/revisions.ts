import type { Trace } from '../../../../engine/trace/trace.js';

/** Colours of a committed token's later changes (Okabe–Ito, apart from the timeline's commit colours). */
export const REVISION_COLOR = { edit: '#D55E00', remask: '#CC79A7' } as const;

/** One change to a position's committed token: at `step`, to another token (edit) or back to noise (remask). */
export interface Revision {
  step: number;
  kind: 'edit' | 'remask';
  from: number;
  to: number;
}

/**
 * The life of every position whose committed token changed (trace `edits`): the step that first committed it and
 * each change after, in order. Positions committed once are absent: their life is the timeline's commit bar.
 */
export function positionLives(t: Trace): Map<number, { first: number; changes: Revision[] }> {
  const { T, S } = t.dims;
  const out = new Map<number, { first: number; changes: Revision[] }>();
  for (let i = 0; i < t.edits.length; i += 4) {
    const step = t.edits[i]!,
      p = t.edits[i + 1]!;
    if (p < t.dims.P) continue;
    let life = out.get(p);
    if (!life) {
      let first = 0;
      while (first < S && t.masked[(first + 1) * T + p]) first++;
      life = { first, changes: [] };
      out.set(p, life);
    }
    const kind = t.masked[(step + 1) * T + p] ? 'remask' : 'edit';
    life.changes.push({ step, kind, from: t.edits[i + 2]!, to: t.edits[i + 3]! });
  }
  return out;
}

/**
 * Timeline marks of revisited positions: a thin line over the steps the position held a committed token, a diamond
 * where it was edited and a cross where it was remasked. `x` maps a step to the plot, `row` a position to its band
 * (top, height) or null when out of view.
 */
export function lifeMarksSvg(
  lives: Map<number, { first: number; changes: Revision[] }>,
  x: (step: number) => number,
  row: (p: number) => { y: number; h: number } | null,
  lastStep: number,
): string {
  let s = '';
  for (const [p, life] of lives) {
    const r = row(p);
    if (!r) continue;
    const cy = r.y + r.h / 2,
      size = Math.max(2, Math.min(4, r.h / 2));
    // Held spans: from each commit to the next change (a remask ends one; the next commit starts another).
    let from: number | null = life.first;
    for (const c of life.changes) {
      if (from !== null)
        s += `<line x1="${x(from)}" x2="${x(c.step + 1)}" y1="${cy}" y2="${cy}" stroke="#555" stroke-width="1"/>`;
      from = c.kind === 'edit' ? c.step + 1 : null;
    }
    if (from !== null)
      s += `<line x1="${x(from)}" x2="${x(lastStep)}" y1="${cy}" y2="${cy}" stroke="#555" stroke-width="1"/>`;
    for (const c of life.changes) {
      const cx = x(c.step + 0.5);
      s +=
        c.kind === 'edit'
          ? `<path d="M${cx},${cy - size}L${cx + size},${cy}L${cx},${cy + size}L${cx - size},${cy}Z" fill="${REVISION_COLOR.edit}" data-kind="edit"/>`
          : `<path d="M${cx - size},${cy - size}L${cx + size},${cy + size}M${cx - size},${cy + size}L${cx + size},${cy - size}" stroke="${REVISION_COLOR.remask}" stroke-width="1.6" data-kind="remask"/>`;
    }
  }
  return s;
}

/**
 * How the replay marks each revisited position in state `step`: 'edited' or 'remasked' by the step that led to it,
 * 'revised' when its token came from an earlier edit. Positions committed once are absent.
 */
export function revisionMarksAt(t: Trace, step: number): Map<number, 'edited' | 'remasked' | 'revised'> {
  const out = new Map<number, 'edited' | 'remasked' | 'revised'>();
  const { T } = t.dims;
  for (let i = 0; i < t.edits.length; i += 4) {
    const s = t.edits[i]!,
      p = t.edits[i + 1]!;
    if (s >= step) continue;
    const remasked = t.masked[(s + 1) * T + p] === 1;
    if (s === step - 1) out.set(p, remasked ? 'remasked' : 'edited');
    else if (!remasked && !t.masked[step * T + p]) out.set(p, 'revised');
    else out.delete(p);
  }
  return out;
}

/**
 * Format v3 (insertions and deletions): positions of state `step` whose token sat elsewhere in the state before
 * ('moved') or had no place there ('inserted'), followed by the alignment to the final state. Empty without one.
 */
export function moveMarksAt(t: Trace, step: number): Map<number, 'moved' | 'inserted'> {
  const out = new Map<number, 'moved' | 'inserted'>();
  const { align } = t;
  if (!align || step <= 0 || step > t.dims.S) return out;
  const { T } = t.dims;
  const before = new Map<number, number>();
  for (let p = 0; p < T; p++) if (align[(step - 1) * T + p]! >= 0) before.set(align[(step - 1) * T + p]!, p);
  for (let p = t.dims.P; p < T; p++) {
    const f = align[step * T + p]!;
    if (f < 0) continue;
    const q = before.get(f);
    if (q === undefined) out.set(p, 'inserted');
    else if (q !== p) out.set(p, 'moved');
  }
  return out;
}
