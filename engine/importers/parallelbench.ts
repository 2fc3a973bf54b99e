import { gunzipSync } from 'node:zlib';
import { DlensError } from '../errors.js';
import type { Imported } from './build.js';
import type { ImportTokenizer } from './tokenizer.js';

/**
 * ParallelBench (furiosa-ai/ParallelBench eval.py) saves results/*.json.gz: {cfg_file, metrics, outputs: [...]},
 * each output with `history` (the generated text after each step, special tokens kept, as the model's tokenizer
 * decodes it), `decoding_order` (per generated token, the history index at which it was first unmasked; 2^31 − 1 if
 * never) and `output`. Text carries no positions, so the model's tokenizer turns the last history entry back into the
 * generated tokens; each step's state is then those tokens where decoding_order says they were decided.
 */
const NEVER = 2 ** 31 - 1;

export function parseParallelBench(
  bytes: Uint8Array,
  file: string,
  tok: ImportTokenizer | undefined,
  index: number,
): Imported {
  let json: unknown;
  try {
    const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
    json = JSON.parse(new TextDecoder().decode(raw));
  } catch (e) {
    throw new DlensError(`${file} is not ParallelBench's gzipped JSON: ${(e as Error).message}`);
  }
  const outputs = (json as { outputs?: unknown })?.outputs;
  if (!Array.isArray(outputs)) throw new DlensError(`${file}: no "outputs" list (ParallelBench's results hold one)`);
  if (index < 0 || index >= outputs.length)
    throw new DlensError(`${file} holds ${outputs.length} outputs; --index must be 0..${outputs.length - 1}`);
  const o = outputs[index] as Record<string, unknown>;
  const at = `${file}, outputs[${index}]`;
  const history = o.history;
  const order = o.decoding_order;
  if (!Array.isArray(history) || !history.length || !history.every((h) => typeof h === 'string'))
    throw new DlensError(
      `${at}: "history" is missing or not a list of strings (run ParallelBench with output_history, text histories)`,
    );
  if (!Array.isArray(order) || !order.every((x) => Number.isInteger(x)))
    throw new DlensError(`${at}: "decoding_order" is missing or not a list of integers`);
  if (!tok)
    throw new DlensError(
      `ParallelBench keeps decoded text per step: give the model's tokenizer (--tokenizer PATH/tokenizer.json) to recover token positions`,
    );
  if (!tok.mask) throw new DlensError(`the tokenizer has no mask token (a special token named like <|mask|>)`);
  const finalIds = tok.encode(history[history.length - 1] as string);
  const G = order.length;
  if (finalIds.length !== G)
    throw new DlensError(
      `${at}: the last history entry tokenizes to ${finalIds.length} tokens but decoding_order has ${G}: is --tokenizer the model's?`,
    );
  const S = history.length;
  const mask = tok.mask;
  const states: number[][] = [];
  for (let s = 0; s <= S; s++)
    states.push(order.map((k: number, g) => (k !== NEVER && k < s ? finalIds[g]! : mask.id)));
  // Cross-check with the text: each history entry holds as many mask tokens as the state after that step.
  for (let s = 1; s <= S; s++) {
    const inText = (history[s - 1] as string).split(mask.text).length - 1;
    const inState = states[s]!.filter((v) => v === mask.id).length;
    if (inText !== inState)
      throw new DlensError(
        `${at}: history[${s - 1}] shows ${inText} mask tokens but decoding_order leaves ${inState} undecided after that step`,
      );
  }
  const input = o.input;
  const prompt = Array.isArray(input)
    ? input
        .map((m) => (m as { content?: unknown })?.content)
        .filter((c) => typeof c === 'string')
        .join('\n')
    : '';
  return {
    states,
    promptLength: 0,
    maskId: mask.id,
    eosId: tok.eosId,
    vocabSize: Math.max(tok.vocabSize, ...finalIds.map((i) => i + 1)),
    tokenText: tok.tokenText,
    output: typeof o.output === 'string' ? o.output : tok.decode(finalIds),
    prompt,
    source: { tool: 'ParallelBench', format: 'parallelbench', file },
    nfe: Number.isInteger(o.nfe) ? (o.nfe as number) : undefined,
    extra:
      typeof o.label === 'string'
        ? { task: { suite: 'parallelbench', id: String(index), reference: o.label, score: null } }
        : {},
  };
}
