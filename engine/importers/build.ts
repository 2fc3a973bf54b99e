import { DlensError } from '../errors.js';
import { writeTrace, type TraceInput } from '../trace/write.js';
import { deriveCommitSteps } from '../trace/derive.js';
import type { ManifestInput } from '../trace/manifest.js';
import { APP } from '../version.js';

/** Records read at most this large, decompressed included (a 2 MB gzip bomb must not become gigabytes). */
export const MAX_RECORD_BYTES = 256 << 20;
/**
 * Steps × positions an imported trace may hold: 16M cells (a 4,096-position decode of 4,096 steps), 96 MB of
 * states and masks. Checked before anything is allocated: a step_map of [0, 100000000] asks for 100M steps.
 */
export const MAX_CELLS = 1 << 24;

export function checkCells(steps: number, positions: number, at: string) {
  if (steps * positions > MAX_CELLS)
    throw new DlensError(
      `${at}: ${steps} steps × ${positions} positions is more than dlens imports (${MAX_CELLS} cells); is the record right?`,
    );
}

/** The largest of many numbers (Math.max(...xs) overflows the stack at a few hundred thousand). */
export function maxOf(xs: readonly number[], init = -Infinity): number {
  let m = init;
  for (const x of xs) if (x > m) m = x;
  return m;
}

export function minOf(xs: readonly number[], init = Infinity): number {
  let m = init;
  for (const x of xs) if (x < m) m = x;
  return m;
}

/** What an importer recovered from another tool's record: at least the states. */
export interface Imported {
  /** [S+1][T] token ids, the state before the first step and after each. */
  states: number[][];
  promptLength: number;
  /** [S+1][T] 1 where undecided, for records without a mask id in their states. */
  masked?: number[][];
  maskId?: number;
  eosId?: number;
  vocabSize: number;
  tokenText(id: number): string;
  output: string;
  prompt?: string;
  source: { tool: string; format: string; file: string; tool_version?: string };
  model?: string;
  strategy?: string;
  nfe?: number;
  extra?: Partial<ManifestInput>;
}

/** The `.dlens` bytes (format v2, source "import") of an imported record. */
export function importedTrace(r: Imported): Uint8Array {
  const S = r.states.length - 1,
    T = r.states[0]!.length,
    P = r.promptLength;
  const state = Int32Array.from(r.states.flat());
  const masked = r.masked ? Uint8Array.from(r.masked.flat()) : undefined;
  const m = masked ?? Uint8Array.from(state, (v) => (v === r.maskId ? 1 : 0));
  const ids = new Set<number>(state);
  const complete = !m.subarray(S * T + P, (S + 1) * T).some((v) => v === 1);
  const manifest: ManifestInput = {
    format: 'dlens-trace/2',
    source: { kind: 'import', ...r.source },
    created: new Date().toISOString(),
    app: APP,
    model: {
      name: r.model ?? 'unknown',
      card: {
        vocab_size: r.vocabSize,
        ...(r.maskId !== undefined ? { mask_token_id: r.maskId } : {}),
        ...(r.eosId !== undefined ? { eos_token_id: r.eosId } : {}),
      },
    },
    prompt: r.prompt ?? '',
    prompt_length: P,
    gen_length: T - P,
    strategy: { name: r.strategy ?? 'unknown', params: {} },
    output: r.output,
    steps: S,
    nfe: r.nfe ?? S,
    vocab: Object.fromEntries([...ids].sort((a, b) => a - b).map((i) => [String(i), r.tokenText(i)])),
    complete,
    ...(complete ? {} : { incomplete_reason: 'the record ends with undecided positions' }),
    ...(r.maskId !== undefined ? { mask_token_id: r.maskId } : {}),
    ...(r.eosId !== undefined ? { eos_token_id: r.eosId } : {}),
    ...r.extra,
  };
  const input: TraceInput = {
    manifest: manifest as TraceInput['manifest'],
    dims: { S, T, G: T - P, P, K: 0, Ly: 0 },
    state,
    masked,
    commitStep: deriveCommitSteps(state, m, S, T, P),
  };
  return writeTrace(input);
}
