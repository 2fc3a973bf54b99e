import { readFileSync, statSync } from 'node:fs';
import type { Strategy } from './types.js';
import { byConfidence, commitOf, series, probability } from './rank.js';
import { FilterSchema, features, score, type Filter } from '../learn/filter.js';
import { DlensError } from '../errors.js';

interface L2State {
  filter: Filter;
  last: Map<number, { token: number; run: number }>;
}

/**
 * Learn2PD: a small learned filter (train it with `dlens learn --traces DIR --out filter.json`) predicts, per masked
 * position, whether its current prediction already equals its final token; positions it trusts above `threshold`
 * are committed (at least the most confident one). Pair with `--eot` for Learn2PD's End-of-Text Prediction.
 * The filter's score is recorded as extra.filter_score.
 */
export const learn2pd: Strategy<{ filter: string; threshold: number }, L2State> = {
  name: 'learn2pd',
  description:
    'Commit positions a learned filter (dlens learn) judges already final; pair with --eot for end-of-text prediction.',
  paper: 'Learn2PD: learning to parallel-decode diffusion LLMs with a learned filter and end-of-text prediction',
  params: {
    filter: { type: 'string', default: '', description: 'path of a filter.json written by dlens learn' },
    threshold: probability('filter probability needed to commit'),
  },
  series: { filter_score: { label: 'Learn2PD filter: P(prediction is final)', kind: 'heatmap' } },
  initState(p) {
    if (!p.filter)
      throw new DlensError(
        'strategy learn2pd needs a filter: train one with `dlens learn --traces DIR --out filter.json`, then --set filter=filter.json',
      );
    let text: string;
    try {
      if (!statSync(p.filter).isFile()) throw new DlensError(`the Learn2PD filter ${p.filter} is not a regular file`);
      text = readFileSync(p.filter, 'utf8');
    } catch (e) {
      if (e instanceof DlensError) throw e;
      throw new DlensError(
        `cannot read the Learn2PD filter ${p.filter} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
      );
    }
    let json: unknown;
    // Never quote the file: a filter path may name a file that is not a filter at all.
    try {
      json = JSON.parse(text);
    } catch {
      throw new DlensError(`${p.filter} is not a dlens filter (not JSON); write one with dlens learn`);
    }
    const r = FilterSchema.safeParse(json);
    if (!r.success)
      throw new DlensError(
        `${p.filter} is not a dlens filter (field ${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}); write one with dlens learn`,
      );
    return { filter: r.data, last: new Map() };
  },
  decide(view, p, st) {
    const { filter, last } = st;
    const next = new Map(last);
    const s = series(view);
    const r = byConfidence(view).map((x) => {
      const prev = last.get(x.p);
      const run = prev && prev.token === x.pred.token ? prev.run + 1 : 0;
      next.set(x.p, { token: x.pred.token, run });
      const top2 = x.pred.topProbs.length > 1 && !Number.isNaN(x.pred.topProbs[1]!) ? x.pred.topProbs[1]! : 0;
      const sc = score(
        filter,
        features({
          confidence: x.pred.confidence,
          top2,
          entropy: x.pred.entropy,
          run,
          offset: x.p - view.blockStart,
          blockLength: view.blockLength,
        }),
      );
      s[x.p - view.promptLength] = sc;
      return { ...x, sc };
    });
    const pass = r.filter((x) => x.sc > p.threshold);
    return {
      commit: (pass.length ? pass : r.slice(0, 1)).map(commitOf),
      series: { filter_score: s },
      state: { filter, last: next },
      forced: !pass.length,
    };
  },
};
