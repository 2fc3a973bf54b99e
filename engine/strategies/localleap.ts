import type { Strategy } from './types.js';
import { byConfidence, commitOf, series } from './rank.js';

/**
 * LocalLeap: positions whose confidence clears a high bar are anchors; around each anchor (within `radius`
 * positions) tokens are committed under a relaxed bar, because a confident neighbour makes its neighbourhood
 * determined too ("local determinism"). Nothing qualifying: the most confident position alone. Anchors are
 * recorded as extra.anchor (1 at anchors, 0.5 at positions committed through an anchor).
 */
export const localLeap: Strategy<{ anchor_threshold: number; local_threshold: number; radius: number }> = {
  name: 'localleap',
  description: 'Commit high-confidence anchors and, within a radius of each, positions above a relaxed threshold.',
  paper: 'LocalLeap (friedrichor/LocalLeap): anchor-guided local parallel decoding for diffusion LMs',
  params: {
    anchor_threshold: {
      type: 'number',
      default: 0.9,
      min: 0,
      max: 1,
      minExclusive: true,
      description: 'confidence that makes a position an anchor',
    },
    local_threshold: {
      type: 'number',
      default: 0.7,
      min: 0,
      max: 1,
      minExclusive: true,
      description: 'relaxed confidence for positions near an anchor',
    },
    radius: {
      type: 'integer',
      default: 2,
      min: 1,
      max: 64,
      description: 'how far from an anchor the relaxed threshold applies',
    },
  },
  series: { anchor: { label: 'LocalLeap anchors (1) and local commits (0.5)', kind: 'heatmap' } },
  decide(view, { anchor_threshold, local_threshold, radius }) {
    const r = byConfidence(view);
    const anchors = r.filter((x) => x.pred.confidence >= anchor_threshold);
    const a = series(view);
    if (!anchors.length) return { commit: r.slice(0, 1).map(commitOf), series: { anchor: a }, forced: true };
    const near = (p: number) => anchors.some((x) => Math.abs(x.p - p) <= radius);
    const local = r.filter(
      (x) => x.pred.confidence < anchor_threshold && x.pred.confidence >= local_threshold && near(x.p),
    );
    for (const x of anchors) a[x.p - view.promptLength] = 1;
    for (const x of local) a[x.p - view.promptLength] = 0.5;
    return { commit: [...anchors, ...local].map(commitOf), series: { anchor: a }, forced: false };
  },
};
