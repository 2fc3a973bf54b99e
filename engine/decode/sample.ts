import type { Rng } from '../util/rng.js';

/**
 * LLaDA's add_gumbel_noise: the token of a logits row sampled at `temperature` (> 0), as the argmax of
 * exp(l) / (-log u)^T, i.e. of l + T·g with g Gumbel noise. Computed as l/T + g, which has the same argmax and stays
 * finite for any temperature (1e308, Infinity: then every token is equally likely). The mask token is never drawn:
 * committing it would leave the position masked forever. Draws exactly one Gumbel value per vocabulary entry.
 */
export function gumbelArgmax(
  logits: Float32Array,
  offset: number,
  V: number,
  temperature: number,
  rng: Rng,
  maskId: number,
): number {
  let best = -Infinity,
    token = -1;
  for (let v = 0; v < V; v++) {
    const g = rng.gumbel();
    if (v === maskId) continue;
    const s = logits[offset + v]! / temperature + g;
    if (s > best || token < 0) {
      best = s;
      token = v;
    }
  }
  return token;
}
