/** The ONNX I/O contract of DESIGN section 1: names, element types and ranks. */
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

export interface ValueMeta { name: string; isTensor?: boolean; type?: string; shape?: readonly (number | string)[] }

/** Returns the list of contract violations of a session's metadata (empty when it conforms). */
export function checkContract(inputs: readonly ValueMeta[], outputs: readonly ValueMeta[]): string[] {
  const problems: string[] = [];
  const check = (kind: 'input' | 'output', have: readonly ValueMeta[], want: readonly { name: string; type: string; rank: number }[]) => {
    for (const w of want) {
      const h = have.find((x) => x.name === w.name);
      if (!h) { problems.push(`missing ${kind} "${w.name}" (${w.type}, rank ${w.rank})`); continue; }
      if (h.type && h.type !== w.type) problems.push(`${kind} "${w.name}" is ${h.type}, the contract needs ${w.type}`);
      if (h.shape && h.shape.length !== w.rank) problems.push(`${kind} "${w.name}" has rank ${h.shape.length}, the contract needs ${w.rank}`);
    }
  };
  check('input', inputs, CONTRACT_INPUTS);
  check('output', outputs, CONTRACT_OUTPUTS);
  return problems;
}
