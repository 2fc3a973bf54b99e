import { z } from 'zod';
import type { ApiMethod } from './methods.js';
import { CACHE_MODES } from '../cache/modes.js';

/**
 * Every message that crosses a process boundary (Electron IPC, the WebSocket of `dlens serve`) is checked against
 * these schemas before the engine acts on it; a malformed message gets an error naming the field.
 */
const name = z.string().min(1).max(200);
const num = z.number().finite();
export const RecordJobSchema = z
  .object({
    model: name.optional(),
    prompt: z.string().max(200_000).optional(),
    task: z
      .object({ suite: name, index: z.number().int().min(0).max(1e9), seed: z.number().int().optional() })
      .optional(),
    strategy: name,
    params: z.record(z.string().max(100), z.union([num, z.boolean(), z.string().max(100)])),
    cache: z.enum(CACHE_MODES),
    cacheParams: z.record(z.string().max(100), num),
    genLength: z.number().int().min(1).max(8192),
    blockLength: z.number().int().min(1).max(8192),
    steps: z.number().int().min(1).max(8192),
    seed: z.number().int(),
    temperature: num.min(0).max(10),
    /** Learn2PD's End-of-Text Prediction. */
    eot: z.boolean().optional(),
  })
  .strict()
  .refine((j) => (j.prompt !== undefined && j.prompt !== '') !== (j.task !== undefined), {
    message: 'give exactly one of prompt or task',
  });
/** A recording the page asks for: the schema's own type, so the two can never disagree. */
export type RecordJob = z.infer<typeof RecordJobSchema>;

export const BenchJobSchema = z
  .object({
    model: name.optional(),
    suites: z.array(name).min(1).max(20),
    strategies: z.array(name).min(1).max(20),
    caches: z.array(z.enum(CACHE_MODES)).min(1).max(CACHE_MODES.length),
    limit: z.number().int().min(1).max(1000),
    genLength: z.number().int().min(1).max(4096),
  })
  .strict();
export type BenchJob = z.infer<typeof BenchJobSchema>;

export const ImportJobSchema = z
  .object({
    dir: z.string().min(1).max(4096),
    name: z
      .string()
      .regex(/^[\w][\w.-]{0,63}$/, 'a model name: letters, digits, ".", "-", "_"')
      .optional(),
    dtype: z.enum(['fp32', 'fp16', 'int8', 'int4']).optional(),
    kvDtype: z.enum(['fp32', 'fp16']).optional(),
    blockSize: z.number().int().min(1).max(4096).optional(),
  })
  .strict();
export type ImportJob = z.infer<typeof ImportJobSchema>;

const bytes = z.instanceof(Uint8Array);
/** Largest range one readTraceRange call returns: a chunk of steps, never a whole large trace. */
export const MAX_RANGE = 64 * 1024 * 1024;
export const ARGS: Record<ApiMethod, z.ZodType<unknown[]>> = {
  models: z.tuple([]),
  strategies: z.tuple([]),
  caches: z.tuple([]),
  suites: z.tuple([]),
  recent: z.tuple([]),
  taskPrompt: z.tuple([name, z.number().int().min(0).max(1e9)]),
  startRecording: z.tuple([RecordJobSchema]),
  cancelRecording: z.tuple([z.string().regex(/^[a-z0-9-]{1,64}$/)]),
  readTrace: z.tuple([z.string().min(1).max(4096)]),
  traceSize: z.tuple([z.string().min(1).max(4096)]),
  readTraceRange: z.tuple([
    z.string().min(1).max(4096),
    z
      .number()
      .int()
      .min(0)
      .max(2 ** 50),
    z.number().int().min(0).max(MAX_RANGE),
  ]),
  traces: z.tuple([]),
  saveTrace: z.tuple([z.string().min(1).max(255), bytes]),
  bench: z.tuple([BenchJobSchema]),
  importCheckpoint: z.tuple([ImportJobSchema]),
  openSet: z.tuple([z.string().min(1).max(4096)]),
  setTrace: z.tuple([z.string().min(1).max(4096), z.string().regex(/^[0-9a-f]{1,64}$/)]),
  setConfidenceGrids: z.tuple([z.string().min(1).max(4096)]),
};

/** Checks a call's arguments; throws an Error whose message says which argument is wrong and how. */
export function validateCall(method: string, args: unknown): { method: ApiMethod; args: unknown[] } {
  if (!Object.hasOwn(ARGS, method)) throw new Error(`unknown engine method "${method}"`);
  const r = ARGS[method as ApiMethod].safeParse(args);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`invalid arguments to ${method}: ${i.path.length ? `at ${i.path.join('.')}: ` : ''}${i.message}`);
  }
  return { method: method as ApiMethod, args: r.data };
}
