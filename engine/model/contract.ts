/** The ONNX I/O contract of docs/model-contract.md: names, element types and ranks. */
export const CONTRACT_INPUTS = [
  { name: 'input_ids', type: 'int64', rank: 2 },
  { name: 'position_ids', type: 'int64', rank: 2 },
  { name: 'past_keys', type: 'float32', rank: 5 },
  { name: 'past_values', type: 'float32', rank: 5 },
  { name: 'query_weights', type: 'float32', rank: 2 },
] as const;

export const CONTRACT_OUTPUTS = [
  { name: 'logits', type: 'float32', rank: 3 },
  { name: 'keys', type: 'float32', rank: 5 },
  { name: 'values', type: 'float32', rank: 5 },
  { name: 'saliency', type: 'float32', rank: 4 },
] as const;

/**
 * What a graph may have beyond its version's, checked when present: the output `key_scores` [Ly, B, C+Q], the weighted
 * queries' mean q·k/√d per key averaged over heads, which Sparse-dLLM's cache selection ranks by; and the logit lens,
 * which comes whole: input `lens_rows` [R] (flat indices into the B·Q rows to read out, R ≥ 1) and
 * outputs `lens_ids`, `lens_probs` [Ly, R], each layer's top-1 through the final norm and head.
 */
export const OPTIONAL_OUTPUTS = [{ name: 'key_scores', type: 'float32', rank: 3 }] as const;
export const LENS_IO = {
  inputs: [{ name: 'lens_rows', type: 'int64', rank: 1 }],
  outputs: [
    { name: 'lens_ids', type: 'int64', rank: 2 },
    { name: 'lens_probs', type: 'float32', rank: 2 },
  ],
} as const;

/** Whether a graph has the logit lens (any part of it: checkOptionalIo refuses a part without the rest). */
export const hasLensIo = (inputs: readonly ValueMeta[], outputs: readonly ValueMeta[]) =>
  [...inputs, ...outputs].some((x) => [...LENS_IO.inputs, ...LENS_IO.outputs].some((io) => io.name === x.name));

/** The optional inputs and outputs a graph has, checked like the required ones; the lens must come whole. */
export function checkOptionalIo(inputs: readonly ValueMeta[], outputs: readonly ValueMeta[]): string[] {
  const present = OPTIONAL_OUTPUTS.filter((o) => outputs.some((x) => x.name === o.name));
  const problems = checkContract([], outputs, { inputs: [], outputs: present });
  if (hasLensIo(inputs, outputs))
    problems.push(...checkContract(inputs, outputs, LENS_IO).map((p) => `the logit lens: ${p}`));
  return problems;
}

/**
 * Contract v2: keys and values per key/value head, in the card's kv_dtype; token statistics beside the logits; with
 * block-causal attention, block ids of the queries and of the keys (cached first, then this call's).
 */
export function contractV2(kvType: 'float32' | 'float16', blockCausal: boolean) {
  const kv = kvType;
  return {
    inputs: [
      ...CONTRACT_INPUTS.map((x) => (x.name.startsWith('past_') ? { ...x, type: kv } : x)),
      ...(blockCausal
        ? [
            { name: 'query_blocks', type: 'int64', rank: 2 },
            { name: 'key_blocks', type: 'int64', rank: 2 },
          ]
        : []),
    ],
    outputs: [
      ...CONTRACT_OUTPUTS.map((x) => (x.name === 'keys' || x.name === 'values' ? { ...x, type: kv } : x)),
      { name: 'top_ids', type: 'int64', rank: 3 },
      { name: 'top_probs', type: 'float32', rank: 3 },
      { name: 'entropy', type: 'float32', rank: 2 },
      { name: 'log_z', type: 'float32', rank: 2 },
    ],
  };
}

type IoSpec = readonly { name: string; type: string; rank: number }[];

export interface ValueMeta {
  name: string;
  isTensor?: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

/** Returns the list of contract violations of a session's metadata (empty when it conforms). */
export function checkContract(
  inputs: readonly ValueMeta[],
  outputs: readonly ValueMeta[],
  want: { inputs: IoSpec; outputs: IoSpec } = { inputs: CONTRACT_INPUTS, outputs: CONTRACT_OUTPUTS },
): string[] {
  const problems: string[] = [];
  const check = (kind: 'input' | 'output', have: readonly ValueMeta[], want: IoSpec) => {
    for (const w of want) {
      const h = have.find((x) => x.name === w.name);
      if (!h) {
        problems.push(`missing ${kind} "${w.name}" (${w.type}, rank ${w.rank})`);
        continue;
      }
      if (h.type && h.type !== w.type) problems.push(`${kind} "${w.name}" is ${h.type}, the contract needs ${w.type}`);
      if (h.shape && h.shape.length !== w.rank)
        problems.push(`${kind} "${w.name}" has rank ${h.shape.length}, the contract needs ${w.rank}`);
    }
  };
  check('input', inputs, want.inputs);
  check('output', outputs, want.outputs);
  return problems;
}

/**
 * The card's numbers where the graph fixes them: past_keys is [layers, B, heads, C, head_dim] and logits
 * [B, Q, vocab]. A card that disagrees would make every forward call fail (or read keys of the wrong shape).
 */
export function checkCardAgainstGraph(
  card: {
    num_layers: number;
    num_heads: number;
    num_kv_heads?: number;
    head_dim: number;
    vocab_size: number;
    top_k?: number;
  },
  inputs: readonly ValueMeta[],
  outputs: readonly ValueMeta[],
): string[] {
  const problems: string[] = [];
  const dim = (list: readonly ValueMeta[], name: string, i: number) => {
    const d = list.find((x) => x.name === name)?.shape?.[i];
    return typeof d === 'number' ? d : undefined;
  };
  const same = (field: string, said: number, has: number | undefined, where: string) => {
    if (has !== undefined && has !== said)
      problems.push(`dlens-model.json says ${field} ${said}, but the graph has ${has} (${where})`);
  };
  same('num_layers', card.num_layers, dim(inputs, 'past_keys', 0), 'past_keys dimension 0');
  if (card.num_kv_heads === undefined)
    same('num_heads', card.num_heads, dim(inputs, 'past_keys', 2), 'past_keys dimension 2');
  else same('num_kv_heads', card.num_kv_heads, dim(inputs, 'past_keys', 2), 'past_keys dimension 2');
  if (card.top_k !== undefined) same('top_k', card.top_k, dim(outputs, 'top_ids', 2), 'top_ids dimension 2');
  same('num_layers', card.num_layers, dim(outputs, 'lens_ids', 0), 'lens_ids dimension 0');
  same('head_dim', card.head_dim, dim(inputs, 'past_keys', 4), 'past_keys dimension 4');
  same('vocab_size', card.vocab_size, dim(outputs, 'logits', 2), 'logits dimension 2');
  return problems;
}

/**
 * A graph that only maps input_ids to logits (as onnxruntime's own masked-diffusion exports do, optionally with
 * position_ids and attention_mask): dlens runs it with full passes only (cache none) and records no attention.
 */
export type GraphKind = 'full' | 'logits-only';
const LOGITS_ONLY_INPUTS = ['input_ids', 'position_ids', 'attention_mask'];
export function graphKind(inputs: readonly ValueMeta[]): GraphKind {
  // Only inputs a logits-only graph may have: otherwise it is meant to be a full v1 graph (and checked as one).
  return inputs.every((x) => LOGITS_ONLY_INPUTS.includes(x.name)) ? 'logits-only' : 'full';
}

/** The contract of a logits-only graph: input_ids in, logits out; any other input must be one dlens can feed. */
export function checkLogitsOnly(inputs: readonly ValueMeta[], outputs: readonly ValueMeta[]): string[] {
  const problems: string[] = [];
  if (!inputs.some((x) => x.name === 'input_ids')) problems.push('missing input "input_ids" (int64, rank 2)');
  if (!outputs.some((x) => x.name === 'logits')) problems.push('missing output "logits" (float32, rank 3)');
  for (const x of inputs)
    if (!['input_ids', 'position_ids', 'attention_mask'].includes(x.name))
      problems.push(
        `input "${x.name}" is neither the v1 contract's nor one a logits-only graph may have (position_ids, attention_mask)`,
      );
  return problems;
}
