import { gunzipSync } from 'node:zlib';
import { DlensError } from '../errors.js';
import { checkCells, maxOf, MAX_RECORD_BYTES, type Imported } from './build.js';
import { parseJsonChecked } from '../trace/json-guard.js';
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
  let raw: Uint8Array = bytes;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      raw = gunzipSync(bytes, { maxOutputLength: MAX_RECORD_BYTES });
    } catch (e) {
      throw new DlensError(
        (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError
          ? `${file} decompresses to more than ${MAX_RECORD_BYTES >> 20} MiB; dlens imports records up to that size`
          : `${file} is not valid gzip (a truncated or damaged download?)`,
      );
    }
  }
  let json: unknown;
  try {
    json = parseJsonChecked(new TextDecoder().decode(raw), 32);
  } catch (e) {
    throw new DlensError(`${file} is not ParallelBench's gzipped JSON: ${(e as Error).message}`);
  }
  const outputs = json && typeof json === 'object' ? (json as { outputs?: unknown }).outputs : undefined;
  if (!Array.isArray(outputs)) throw new DlensError(`${file}: no "outputs" list (ParallelBench's results hold one)`);
  if (index < 0 || index >= outputs.length)
    throw new DlensError(`${file} holds ${outputs.length} outputs; --index must be 0..${outputs.length - 1}`);
  const at = `${file}, outputs[${index}]`;
  if (!outputs[index] || typeof outputs[index] !== 'object' || Array.isArray(outputs[index]))
    throw new DlensError(`${at} is not an object (ParallelBench writes one per example)`);
  const o = outputs[index] as Record<string, unknown>;
  const history = o.history;
  const order = o.decoding_order;
  if (!Array.isArray(history) || !history.length || !history.every((h) => typeof h === 'string'))
    throw new DlensError(
      `${at}: "history" is missing or not a list of strings (run ParallelBench with output_history, text histories)`,
    );
  if (!Array.isArray(order) || !order.every((x) => Number.isSafeInteger(x)))
    throw new DlensError(`${at}: "decoding_order" is missing or not a list of integers`);
  if (!tok)
    throw new DlensError(
      `ParallelBench keeps decoded text per step: give the model's tokenizer (--tokenizer PATH/tokenizer.json) to recover token positions`,
    );
  if (!tok.mask) throw new DlensError(`the tokenizer has no mask token (a special token named like <|mask|>)`);
  const G = order.length;
  checkCells(history.length + 1, G, `${at}: history × decoding_order`);
  const finalIds = tok.encode(history[history.length - 1] as string);
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
    vocabSize: maxOf(finalIds, tok.vocabSize - 1) + 1,
    tokenText: tok.tokenText,
    output: typeof o.output === 'string' ? o.output : tok.decode(finalIds),
    prompt,
    source: { tool: 'ParallelBench', format: 'parallelbench', file },
    nfe: nfeOf(o.nfe, at),
    extra:
      typeof o.label === 'string'
        ? { task: { suite: 'parallelbench', id: String(index), reference: o.label, score: null } }
        : {},
  };
}

/** The forward passes a record reports: a whole number of them, at most 2^31 − 1 (a trace stores int32). */
function nfeOf(v: unknown, at: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > 2 ** 31 - 1)
    throw new DlensError(`${at}: "nfe" must be a whole number of forward passes (0..2^31 - 1)`);
  return v;
}
