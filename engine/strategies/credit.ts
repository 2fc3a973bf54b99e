import type { Strategy } from './types.js';
import { byConfidence, series, probability } from './rank.js';

type Credits = Map<number, Map<number, number>>;

/**
 * CreditDecoding: a position's earlier predictions are evidence too. Each step every masked position adds its
 * current top-1 probability (to the power `gamma`) to that token's credit, after decaying old credit by `decay`; the
 * candidates' probabilities are then fused with their credit, p~(v) ∝ p(v)(1 + C(v))^alpha, renormalised over the
 * recorded top-k plus the remaining mass, and positions whose fused confidence exceeds `threshold` are committed
 * (at least the most confident). Credits are recorded as extra.credit (the credit of the fused top token).
 */
export const creditDecoding: Strategy<{ threshold: number; alpha: number; decay: number; gamma: number }, Credits> = {
  name: 'credit',
  description:
    "Accumulate trace credit from earlier steps' top predictions, fuse it with the current probabilities, commit above a threshold.",
  paper: 'CreditDecoding: accelerating parallel decoding in diffusion LLMs with trace credits',
  params: {
    threshold: probability('fused confidence needed to commit'),
    alpha: { type: 'number', default: 0.5, min: 0, max: 4, description: 'weight of credit in the fusion' },
    decay: { type: 'number', default: 0.8, min: 0, max: 1, description: 'share of old credit kept each step' },
    gamma: {
      type: 'number',
      default: 1,
      min: 0,
      max: 4,
      minExclusive: true,
      description: 'exponent on the probability added as credit',
    },
  },
  series: { credit: { label: 'CreditDecoding: credit of the fused top token', kind: 'heatmap' } },
  initState: () => new Map(),
  decide(view, p, st) {
    const credits = new Map(st);
    const s = series(view);
    const fused = byConfidence(view)
      .map(({ p: pos, pred }) => {
        const old = credits.get(pos) ?? new Map<number, number>();
        const c = new Map<number, number>();
        for (const [tok, v] of old) c.set(tok, v * p.decay);
        c.set(pred.topIds[0]!, (c.get(pred.topIds[0]!) ?? 0) + Math.pow(pred.topProbs[0]!, p.gamma));
        credits.set(pos, c);
        let rest = 1,
          z = 0,
          best = -1,
          bestW = -1;
        pred.topIds.forEach((tok, j) => {
          if (tok < 0) return;
          const pr = pred.topProbs[j]!;
          rest -= pr;
          const w = pr * Math.pow(1 + (c.get(tok) ?? 0), p.alpha);
          z += w;
          if (w > bestW) {
            bestW = w;
            best = tok;
          }
        });
        z += Math.max(0, rest);
        s[pos - view.promptLength] = c.get(best) ?? 0;
        return { position: pos, token: best, conf: bestW / z };
      })
      .sort((a, b) => b.conf - a.conf || a.position - b.position);
    const pass = fused.filter((x) => x.conf > p.threshold);
    const commit = (pass.length ? pass : fused.slice(0, 1)).map(({ position, token }) => ({ position, token }));
    for (const c of commit) credits.delete(c.position);
    return { commit, series: { credit: s }, state: credits, forced: !pass.length };
  },
};
