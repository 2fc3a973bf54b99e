import { z } from 'zod';

export const PROMPT_TEMPLATE_MAX = 64 * 1024;
/** dlens-model.json is read at most this large and nested this deep (docs/security.md). */
export const CARD_LIMITS = { maxBytes: 4 << 20, maxDepth: 32 };

/** dlens-model.json (docs/model-contract.md). */
export const ModelCardSchema = z
  .object({
    name: z.string().min(1),
    format: z.enum(['dlens-model/1', 'dlens-model/2']),
    attention: z.enum(['bidirectional', 'block-causal']),
    mask_token_id: z.number().int().nonnegative(),
    eos_token_id: z.number().int().nonnegative(),
    pad_token_id: z.number().int().nonnegative(),
    vocab_size: z.number().int().positive(),
    num_layers: z.number().int().positive(),
    num_heads: z.number().int().positive(),
    head_dim: z.number().int().positive(),
    max_positions: z.number().int().positive(),
    // At most 64 KiB: a rendered chat template is a few hundred characters, and every prompt is built from it.
    prompt_template: z
      .string()
      .max(PROMPT_TEMPLATE_MAX, `must be at most ${PROMPT_TEMPLATE_MAX} characters`)
      .refine((s) => s.includes('{prompt}'), 'must contain {prompt}'),
    license: z.string(),
    training: z.record(z.string(), z.unknown()),
    eval: z.record(z.string(), z.unknown()),
    /** Dream: row j of the logits is position j's prediction only in a full pass (the graph shifts rows back). */
    shifted_logits: z.boolean().optional(),
    // Contract v2 (docs/model-contract.md):
    /** Key/value heads (grouped-query attention); num_heads when absent. */
    num_kv_heads: z.number().int().positive().optional(),
    /** How keys and values cross the graph and sit in the cache. */
    kv_dtype: z.enum(['float32', 'float16']).optional(),
    /** Candidates per row in the graph's token statistics. */
    top_k: z.number().int().positive().optional(),
    /** Block size of block-causal attention. */
    block_size: z.number().int().positive().optional(),
    /**
     * What the model was trained to denoise: 'mask' (masked diffusion, the default: undecided positions hold the mask
     * token) or 'uniform' (uniform-noise diffusion, DiffusionGemma: they hold random tokens).
     */
    noise: z.enum(['mask', 'uniform']).optional(),
  })
  .passthrough()
  .superRefine((c, ctx) => {
    const need = (ok: boolean, path: string, message: string) => {
      if (!ok) ctx.addIssue({ code: 'custom', path: [path], message });
    };
    if (c.format === 'dlens-model/2') need(c.top_k !== undefined, 'top_k', 'is required by dlens-model/2');
    if (c.format === 'dlens-model/2' && c.attention === 'block-causal')
      need(c.block_size !== undefined, 'block_size', 'is required for block-causal attention');
    for (const k of ['mask_token_id', 'eos_token_id', 'pad_token_id'] as const)
      need(c[k] < c.vocab_size, k, `must be a token id below vocab_size (${c.vocab_size})`);
    const kv = c.num_kv_heads ?? c.num_heads;
    need(c.num_heads % kv === 0, 'num_kv_heads', `must divide num_heads (${c.num_heads})`);
  });

export type ModelCard = z.infer<typeof ModelCardSchema>;
