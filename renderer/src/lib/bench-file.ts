import { z } from 'zod';

/** A bench result's cells, as `dlens bench --format json` and bench:diagnostics write them (the fields shown); built
 * when a file is first loaded, not when the page loads. */
const cellSchema = () =>
  z.object({
    suite: z.string(),
    strategy: z.string(),
    cache: z.string(),
    n: z.number(),
    accuracy: z.number(),
    tpf: z.number(),
    tpf_answer: z.number(),
    steps: z.number(),
    instances: z
      .array(
        z.object({
          index: z.number(),
          task_id: z.string(),
          score: z.number(),
          tpf: z.number(),
          steps: z.number(),
          flagged: z.array(z.string()),
          kendall: z.number().nullable(),
          trace: z.string().optional(),
        }),
      )
      .optional(),
  });

let cellSchema_: ReturnType<typeof cellSchema> | undefined;
export type BenchFileCell = z.infer<ReturnType<typeof cellSchema>>;

/** Parses a bench JSON file; the message names what is wrong and what the file should be. */
export function parseBenchJson(text: string): BenchFileCell[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('it is not JSON; load what `dlens bench --format json --out FILE` wrote');
  }
  const cells = (json as { cells?: unknown })?.cells;
  const parsed = z
    .array((cellSchema_ ??= cellSchema()))
    .min(1)
    .safeParse(cells);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(
      cells === undefined
        ? 'it has no "cells": load what `dlens bench --format json --out FILE` wrote'
        : `cells.${i.path.join('.')}: ${i.message}`,
    );
  }
  return parsed.data;
}
