/**
 * Tokens to commit at each step of a block, as LLaDA's get_num_transfer_tokens: the block's masked count
 * split evenly over its steps, the remainder going to the first steps.
 */
export function numTransferTokens(maskCount: number, steps: number): number[] {
  const base = Math.floor(maskCount / steps),
    rem = maskCount % steps;
  return Array.from({ length: steps }, (_, i) => base + (i < rem ? 1 : 0));
}
