import { z } from 'zod';
import { CACHE_MODES } from '../cache/modes.js';

/** The manifest in `__metadata__.dlens` (docs/trace-format.md), validated before a trace is trusted. */
export const ManifestSchema = z
  .object({
    format: z.literal('dlens-trace/1'),
    created: z.string(),
    app: z.string(),
    model: z.object({ name: z.string(), card: z.record(z.string(), z.unknown()) }),
    prompt: z.string(),
    prompt_length: z.number().int().nonnegative(),
    gen_length: z.number().int().nonnegative(),
    strategy: z.object({ name: z.string(), params: z.record(z.string(), z.unknown()) }),
    cache: z.object({ mode: z.enum(CACHE_MODES), params: z.record(z.string(), z.unknown()) }),
    seed: z.number().int(),
    output: z.string(),
    steps: z.number().int().nonnegative(),
    nfe: z.number().int().nonnegative(),
    wall_ms: z.number().nonnegative(),
    task: z
      .object({ suite: z.string(), id: z.string(), reference: z.string(), score: z.number().nullable() })
      .nullable()
      .optional(),
    vocab: z.record(z.string(), z.string()),
    extras: z.record(z.string(), z.object({ label: z.string(), kind: z.string() }).passthrough()),
    /** false when the run was cancelled or failed: the trace holds the steps done so far. */
    complete: z.boolean().default(true),
    incomplete_reason: z.string().optional(),
    top_k: z.number().int().positive().optional(),
    block_length: z.number().int().positive().optional(),
    mask_token_id: z.number().int().nonnegative().optional(),
    eos_token_id: z.number().int().nonnegative().optional(),
    num_layers: z.number().int().nonnegative().optional(),
    branch: z.object({ from: z.string(), at: z.number().int().nonnegative(), strategy: z.string() }).optional(),
    refresh_steps: z.array(z.number().int()).optional(),
    /** Why the trace holds no attention (saliency is NaN throughout): views say so instead of drawing nothing. */
    no_saliency_reason: z.string().max(500).optional(),
    peak_cache_bytes: z.number().nonnegative().optional(),
  })
  .passthrough();

export type Manifest = z.infer<typeof ManifestSchema>;
