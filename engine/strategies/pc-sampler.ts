import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import type { Strategy } from './types.js';
import { commitOf, series } from './rank.js';
import { DlensError } from '../errors.js';

/** Background token frequencies: a token's count over the corpus's count; tokens it never saw get 1 / total. */
interface Background {
  freq: Map<number, number>;
  unseen: number | null;
}

const BaselineSchema = z.object({
  num_token: z.number().positive(),
  p_baseline_dict: z.record(z.string().regex(/^\d+$/), z.number().nonnegative()),
});

/**
 * PC-Sampler (NEUIR/PC-Sampler, src/generate.py generate_with_pc_sampler): LLaDA's schedule, ranking the block's
 * masked positions by exp(−λ·i) · min(α, −p · log f(token)), i the position's offset in the block, p its confidence
 * and f the token's background frequency (a `baseline` JSON as PC-Sampler's utils/calculate_p_baseline.py writes:
 * {"num_token": N, "p_baseline_dict": {"id": count}}). Without a baseline every token has frequency 1 / vocabulary.
 * The score is recorded as extra.pc_score.
 */
export const pcSampler: Strategy<{ lambda: number; alpha: number; baseline: string }, Background> = {
  name: 'pc-sampler',
  description:
    'Commit the scheduled masked positions with the highest position-decayed, frequency-calibrated confidence.',
  paper:
    'Huang et al. 2025, PC-Sampler: Position-Aware Calibration of Decoding Bias in Masked Diffusion Models, arXiv:2508.13021',
  params: {
    lambda: { type: 'number', default: 0.25, min: 0, description: 'decay of the score along the block (per position)' },
    alpha: { type: 'number', default: 10, min: 0, minExclusive: true, description: 'cap of the calibrated confidence' },
    baseline: { type: 'string', default: '', description: 'background token counts (PC-Sampler baseline JSON)' },
  },
  series: { pc_score: { label: 'PC-Sampler score', kind: 'heatmap' } },
  initState: ({ baseline }) => (baseline ? readBaseline(baseline) : { freq: new Map(), unseen: null }),
  decide(view, p, bg) {
    const score = series(view);
    const uniform = 1 / view.vocabSize;
    const ranked = view.masked.map((q) => {
      const pred = view.predictions[q - view.promptLength]!;
      const f = bg.freq.get(pred.token) ?? bg.unseen ?? uniform;
      const s = Math.exp(-p.lambda * (q - view.blockStart)) * Math.min(p.alpha, -pred.confidence * Math.log(f + 1e-9));
      score[q - view.promptLength] = s;
      return { p: q, pred, s };
    });
    ranked.sort((a, b) => b.s - a.s || a.p - b.p);
    return { commit: ranked.slice(0, view.scheduled).map(commitOf), series: { pc_score: score } };
  },
};

function readBaseline(path: string): Background {
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new DlensError(`the PC-Sampler baseline ${path} is not a regular file`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof DlensError) throw e;
    throw new DlensError(
      `cannot read the PC-Sampler baseline ${path} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`,
    );
  }
  let parsed: z.infer<typeof BaselineSchema>;
  try {
    parsed = BaselineSchema.parse(JSON.parse(text));
  } catch {
    throw new DlensError(
      `the PC-Sampler baseline ${path} is not {"num_token": N, "p_baseline_dict": {"token id": count}}: write it with PC-Sampler's utils/calculate_p_baseline.py`,
    );
  }
  const freq = new Map<number, number>();
  for (const [id, n] of Object.entries(parsed.p_baseline_dict)) freq.set(Number(id), n / parsed.num_token);
  return { freq, unseen: 1 / parsed.num_token };
}
