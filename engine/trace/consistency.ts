/** A trace's manifest checked against its tensors (docs/trace-format.md, "What a reader must check"). */
import { TraceError, type Trace } from './trace-type.js';

/** The manifest's own numbers must describe the tensors it came with: another reader may trust either. */
export function checkManifestAgainstTensors(t: Trace) {
  const m = t.manifest,
    d = t.dims;
  const same = (field: string, said: number | undefined, has: number, what: string) => {
    if (said !== undefined && said !== has) throw new TraceError(`manifest ${field} is ${said} but ${what} ${has}`);
  };
  if (t.saliency.present || t.cached.present)
    same('num_layers', m.num_layers, d.Ly, `tensor "${t.saliency.present ? 'saliency' : 'cached'}" holds`);
  if (t.saliency.present && t.cached.present && t.cached.shape[1] !== d.Ly)
    throw new TraceError(`tensor "cached" holds ${t.cached.shape[1]} layers but "saliency" holds ${d.Ly}`);
  if (t.topkIds.present) same('top_k', m.top_k, d.K, 'tensor "topk_ids" holds');
  if (t.lensIds.present !== t.lensProbs.present)
    throw new TraceError('tensors "lens_ids" and "lens_probs" come together (the logit lens), with the same shape');
  if (t.lensIds.present) same('num_layers', m.num_layers, d.Ly, 'tensor "lens_ids" holds');
  if (t.topkProbs.present !== t.topkIds.present || (t.topkProbs.present && t.topkProbs.shape[2] !== d.K))
    throw new TraceError('tensors "topk_ids" and "topk_probs" come together, with the same shape');
  const card = m.model.card;
  const V = Number(card.vocab_size ?? Infinity);
  if (m.mask_token_id !== undefined && m.mask_token_id >= V)
    throw new TraceError(`manifest mask_token_id ${m.mask_token_id} is outside the model's vocabulary of ${V}`);
  if (m.mask_token_id !== undefined && typeof card.mask_token_id === 'number')
    same('mask_token_id', m.mask_token_id, card.mask_token_id, "the model card's is");
  for (const name of Object.keys(m.extras)) {
    if (!t.holds.has(name))
      throw new TraceError(`manifest extras names tensor "${name}", which the file does not hold`);
  }
  for (let s = 0; s < d.S; s++) {
    const a = t.block[2 * s]!,
      b = t.block[2 * s + 1]!;
    if (!(d.P <= a && a <= b && b <= d.T))
      throw new TraceError(`block of step ${s} is [${a}, ${b}), outside the generated positions ${d.P}..${d.T}`);
  }
  for (let i = 0; i < t.masked.length; i++)
    if (t.masked[i]! > 1) throw new TraceError(`masked holds ${t.masked[i]} at index ${i}; it holds 0 or 1`);
  for (let i = 0; i < t.edits.length; i += 4) {
    const [s, p, from, to] = [t.edits[i]!, t.edits[i + 1]!, t.edits[i + 2]!, t.edits[i + 3]!];
    if (!(s >= 0 && s < d.S && p >= 0 && p < d.T))
      throw new TraceError(
        `edit ${i / 4} names step ${s}, position ${p}: outside the trace's ${d.S} steps × ${d.T} positions`,
      );
    // With an alignment (v3) the token may have moved: only where it was is checked.
    const moved = t.align !== null;
    if (t.state[s * d.T + p] !== from || (!moved && t.state[(s + 1) * d.T + p] !== to) || t.masked[s * d.T + p])
      throw new TraceError(
        `edit ${i / 4} (step ${s}, position ${p}, ${from} → ${to}) disagrees with "state": a committed token must change there`,
      );
  }
}
