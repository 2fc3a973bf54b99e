import type { LoadedModel } from '../model/load.js';

/**
 * The text of a decode: the generated positions up to the first EOS, masks dropped. Empty when the model committed
 * EOS first (or a cancel came before any text): an empty answer is a valid answer, not an error.
 */
export function decodeOutput(model: LoadedModel, state: Int32Array, P: number): string {
  const gen = Array.from(state.subarray(P));
  const eos = gen.indexOf(model.card.eos_token_id);
  const kept = (eos >= 0 ? gen.slice(0, eos) : gen).filter((t) => t !== model.card.mask_token_id);
  return kept.length ? model.decode(kept).trim() : '';
}
