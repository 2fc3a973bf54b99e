import { z } from 'zod';

/** dlens-model.json (docs/model-contract.md). */
export const ModelCardSchema = z
  .object({
    name: z.string().min(1),
    format: z.literal('dlens-model/1'),
    attention: z.enum(['bidirectional', 'block-causal']),
    mask_token_id: z.number().int().nonnegative(),
    eos_token_id: z.number().int().nonnegative(),
    pad_token_id: z.number().int().nonnegative(),
    vocab_size: z.number().int().positive(),
    num_layers: z.number().int().positive(),
    num_heads: z.number().int().positive(),
    head_dim: z.number().int().positive(),
    max_positions: z.number().int().positive(),
    prompt_template: z.string().refine((s) => s.includes('{prompt}'), 'must contain {prompt}'),
    license: z.string(),
    training: z.record(z.string(), z.unknown()),
    eval: z.record(z.string(), z.unknown()),
    /** Dream: row j of the logits is position j's prediction only in a full pass (the graph shifts rows back). */
    shifted_logits: z.boolean().optional(),
  })
  .passthrough();

export type ModelCard = z.infer<typeof ModelCardSchema>;
