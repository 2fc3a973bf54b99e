import { z } from 'zod';
import { CACHE_MODES } from '../cache/modes.js';

/**
 * The manifest in `__metadata__.dlens` (docs/trace-format.md), validated before a trace is trusted. Built on first
 * use: a page that opens no trace (the Set view) does not pay for the schema when it loads.
 */
const manifestSchema = () =>
  z
    .object({
      format: z.enum(['dlens-trace/1', 'dlens-trace/2', 'dlens-trace/3']),
      /** Who wrote the trace (v2; absent in v1, written by the engine). */
      source: z
        .object({
          kind: z.enum(['engine', 'python', 'import']),
          /** The tool that decoded (dlens, transformers, ParallelBench, lmdeploy…) and its version. */
          tool: z.string().max(200).optional(),
          tool_version: z.string().max(200).optional(),
          /** For imports: the original format (docs/trace-format.md lists them). */
          format: z.string().max(200).optional(),
          file: z.string().max(4096).optional(),
        })
        .optional(),
      created: z.string(),
      app: z.string(),
      model: z.object({ name: z.string(), card: z.record(z.string(), z.unknown()) }),
      prompt: z.string(),
      prompt_length: z.number().int().nonnegative(),
      gen_length: z.number().int().nonnegative(),
      // What a decode outside dlens may not know defaults to 'unknown' / 0 (v2): the views then say so.
      strategy: z
        .object({ name: z.string(), params: z.record(z.string(), z.unknown()) })
        .default({ name: 'unknown', params: {} }),
      cache: z
        .object({ mode: z.enum([...CACHE_MODES, 'unknown']), params: z.record(z.string(), z.unknown()) })
        .default({ mode: 'unknown', params: {} }),
      seed: z.number().int().nullable().default(null),
      output: z.string().default(''),
      steps: z.number().int().nonnegative(),
      nfe: z.number().int().nonnegative().default(0),
      wall_ms: z.number().nonnegative().default(0),
      task: z
        .object({ suite: z.string(), id: z.string(), reference: z.string(), score: z.number().nullable() })
        .nullable()
        .optional(),
      vocab: z.record(z.string(), z.string()).default({}),
      extras: z.record(z.string(), z.object({ label: z.string(), kind: z.string() }).passthrough()).default({}),
      /** Block-causal attention (BD3LM, SDAR): the `attn_block` tensor gives each position's block per step. */
      attention: z.enum(['bidirectional', 'block-causal']).optional(),
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
let built: ReturnType<typeof manifestSchema> | undefined;
export const ManifestSchema = { safeParse: (x: unknown) => (built ??= manifestSchema()).safeParse(x) };

export type Manifest = z.infer<ReturnType<typeof manifestSchema>>;
/** What a writer gives (defaults filled by the reader). */
export type ManifestInput = z.input<ReturnType<typeof manifestSchema>>;
