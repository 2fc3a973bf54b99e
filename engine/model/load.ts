import { closeSync, existsSync, lstatSync, readdirSync, statSync } from 'node:fs';
import { join, resolve, delimiter } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { DlensError } from '../errors.js';
import { CARD_LIMITS, ModelCardSchema, type ModelCard } from './card.js';
import { openRegularFile, readJsonFile, readJsonObject } from '../util/safe-read.js';
import {
  checkContract,
  checkCardAgainstGraph,
  checkLogitsOnly,
  contractV2,
  checkOptionalIo,
  hasLensIo,
  graphKind,
  type GraphKind,
  type ValueMeta,
} from './contract.js';
import { deviceUnavailable, type Device } from './devices.js';
import { userModelsDir } from '../home.js';
import { ensureBundledModels } from './bundled.js';
import { DEFAULT_MODEL, MODELS_DIR, REPO_ROOT } from './paths.js';
import { floatArrayToHalf } from '../trace/f16.js';

export { REPO_ROOT, MODELS_DIR, DEFAULT_MODEL };

// onnxruntime's own log goes to stderr; dlens reports failures itself, with what to do (DLENS_ORT_LOG=verbose|info|
// warning|error shows onnxruntime's log when debugging a model or a device).
ort.env.logLevel = (process.env.DLENS_ORT_LOG as typeof ort.env.logLevel | undefined) ?? 'fatal';

/** Keys and values as the graph passes them: float32, or float16 bits when the card's kv_dtype says so. */
export type KvArray = Float32Array | Uint16Array;

export interface ForwardInputs {
  inputIds: BigInt64Array;
  positionIds: BigInt64Array;
  B: number;
  Q: number;
  pastKeys: KvArray;
  pastValues: KvArray;
  C: number;
  queryWeights: Float32Array;
  /** Block-causal models: block ids of the queries [B, Q] and of the keys, cached first [B, C + Q]. */
  queryBlocks?: BigInt64Array;
  keyBlocks?: BigInt64Array;
  /** A v2 graph's logits are fetched only when asked (sampling at temperature > 0): its statistics suffice else. */
  needLogits?: boolean;
  /**
   * The rows (flat indices into the B·Q rows) whose logit lens to read out, in a graph that has it; none (the
   * default) fetches nothing and costs one row's heads.
   */
  lensRows?: BigInt64Array;
}

/** Each layer's top-1 through the final norm and head, and its probability, for the rows asked: [Ly, R] each. */
export interface LensOutputs {
  ids: BigInt64Array;
  probs: Float32Array;
}

/** A v2 graph's token statistics per row (mask excluded): K = the card's top_k. */
export interface RowStatistics {
  K: number;
  topIds: BigInt64Array; // [B, Q, K]
  topProbs: Float32Array; // [B, Q, K]
  entropy: Float32Array; // [B, Q]
  logZ: Float32Array; // [B, Q]
}

export interface ForwardOutputs {
  /** [B, Q, V]; empty when a v2 graph's statistics stand in for them. */
  logits: Float32Array;
  keys: KvArray; // [Ly, B, Hkv, Q, Dh]
  values: KvArray;
  saliency: Float32Array; // [Ly, B, H, C+Q]
  /** The weighted queries' mean q·k/√d per key, head-averaged [Ly, B, C+Q]; empty when the graph lacks it. */
  keyScores: Float32Array;
  stats?: RowStatistics;
  /** Present when rows were asked for (lensRows) and the graph has the logit lens. */
  lens?: LensOutputs;
}

export interface LoadedModel {
  dir: string;
  card: ModelCard;
  /** 'full': the v1 contract (cache, saliency); 'logits-only': input_ids to logits, full passes only. */
  graph: GraphKind;
  /** Whether the graph has the optional `key_scores` output (Sparse-dLLM's selection needs it). */
  hasKeyScores: boolean;
  /** Whether the graph has the logit lens (input lens_rows, outputs lens_ids, lens_probs: `dlens convert --lens`). */
  hasLens: boolean;
  tokenizer: Tokenizer;
  encode(text: string): number[];
  decode(ids: number[]): string;
  tokenText(id: number): string;
  forward(x: ForwardInputs): Promise<ForwardOutputs>;
  release(): Promise<void>;
}

/** Folders searched for models by name: the bundled ones, then each folder in DLENS_MODEL_PATH (path-separated). */
function modelRoots(): string[] {
  return [
    MODELS_DIR,
    userModelsDir(),
    ...(process.env.DLENS_MODEL_PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => resolve(d)),
  ];
}

/**
 * Model names resolve to a bundled model (assets/models/NAME), one in ~/.dlens/models or in a DLENS_MODEL_PATH
 * folder; a path containing a separator is a folder.
 */
export function resolveModelDir(nameOrDir: string | undefined): string {
  const n = nameOrDir ?? DEFAULT_MODEL;
  if (n.includes('/') || n.includes('\\') || n.startsWith('.')) return resolve(n);
  const found = modelRoots()
    .map((r) => join(r, n))
    .find((d) => existsSync(join(d, 'dlens-model.json')));
  if (found) return found;
  if (existsSync(n)) return resolve(n);
  throw new DlensError(
    `no model named "${n}": bundled models are ${
      listModelDirs()
        .map((d) => d.split(/[\\/]/).pop())
        .join(', ') || '(none)'
    }; pass --model with a model folder path to use another`,
  );
}

export function listModelDirs(): string[] {
  return modelRoots()
    .filter((r) => existsSync(r))
    .flatMap((r) => readdirSync(r).map((d) => join(r, d)))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'dlens-model.json')));
}

export function readCard(dir: string): ModelCard {
  const p = join(dir, 'dlens-model.json');
  if (!existsSync(dir)) throw new DlensError(`model folder ${dir} does not exist`);
  if (!lstatSync(p, { throwIfNoEntry: false }))
    throw new DlensError(
      `${dir} is not a dlens model folder: dlens-model.json is missing (a model folder holds model.onnx, tokenizer.json and dlens-model.json)`,
    );
  let json: unknown;
  try {
    json = readJsonFile(p, '', CARD_LIMITS);
  } catch (e) {
    throw new DlensError(`${(e as Error).message}; fix the model card or re-export the model`);
  }
  const r = ModelCardSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new DlensError(
      `${p} is invalid: field "${i.path.join('.')}" ${i.message}; see docs/model-contract.md for the fields a model card needs`,
    );
  }
  return r.data;
}

/** The files onnxruntime and the tokenizer open, checked first: a named pipe among them would block forever. */
function checkModelFiles(dir: string) {
  for (const f of ['model.onnx', 'tokenizer.json', 'model.onnx.data']) {
    const p = join(dir, f);
    if (f === 'model.onnx.data' && !lstatSync(p, { throwIfNoEntry: false })) continue;
    if (!existsSync(p))
      throw new DlensError(
        `model folder ${dir} lacks ${f}; a model folder holds model.onnx, tokenizer.json and dlens-model.json`,
      );
    closeSync(openRegularFile(p, '').fd);
  }
}

/** A tokenizer.json is read whole: at most this large (Gemma's, among the largest, is 34 MB). */
const TOKENIZER_MAX = 256 << 20;

export async function loadModel(
  nameOrDir?: string,
  opts: { threads?: number; device?: Device } = {},
): Promise<LoadedModel> {
  const device = opts.device ?? 'cpu';
  await ensureBundledModels();
  const dir = resolveModelDir(nameOrDir);
  const card = readCard(dir);
  checkModelFiles(dir);
  let tokJson: Record<string, unknown>;
  try {
    tokJson = readJsonObject(join(dir, 'tokenizer.json'), '', { maxBytes: TOKENIZER_MAX, maxDepth: 64 });
  } catch (e) {
    throw new DlensError(`${(e as Error).message}; copy the model's tokenizer.json again`);
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokJson, {});
  } catch (e) {
    throw new DlensError(
      `${join(dir, 'tokenizer.json')} is not a Hugging Face tokenizer (${(e as Error).name}); copy the model's tokenizer.json again`,
    );
  }
  const model = tokJson.model as { vocab?: Record<string, number> } | undefined;
  const added = (tokJson.added_tokens as { id: number }[] | undefined) ?? [];
  const ids = [...Object.values(model?.vocab ?? {}), ...added.map((a) => a.id)];
  // (A loop, not Math.max(...ids): a 150k-token vocabulary is too many arguments for one call.)
  const tokVocab = ids.reduce((m, x) => Math.max(m, x + 1), 0);
  // The graph's vocabulary may be larger than the tokenizer's (LLaDA, Qwen and Dream pad their embeddings to a round
  // size); a tokenizer with ids the graph cannot produce means the two do not belong together.
  if (tokVocab > card.vocab_size)
    throw new DlensError(
      `vocab size mismatch: dlens-model.json says ${card.vocab_size} but tokenizer.json has ${tokVocab} ids; the card and the tokenizer must come from the same export`,
    );
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
      intraOpNumThreads: opts.threads ?? 0,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      executionProviders: [device],
      // A provider that fails to start logs its own error too; dlens's message below says it once, with what to do.
      logSeverityLevel: device === 'cpu' ? 2 : 4,
    });
  } catch (e) {
    const msg = (e as Error).message;
    // A provider that cannot start (missing libraries, no such backend) is the device's fault, not the model's.
    if (device !== 'cpu' && /backend|provider|shared library|adapter|Failed to load/i.test(msg))
      throw deviceUnavailable(device, msg);
    throw new DlensError(`onnxruntime could not load ${join(dir, 'model.onnx')}: ${msg}`);
  }
  const meta = (s: ort.InferenceSession, kind: 'input' | 'output'): ValueMeta[] =>
    (kind === 'input' ? s.inputMetadata : s.outputMetadata).map((x) =>
      x.isTensor ? { name: x.name, isTensor: true, type: x.type, shape: x.shape } : { name: x.name, isTensor: false },
    );
  const graph = graphKind(meta(session, 'input'));
  const v2 = card.format === 'dlens-model/2';
  const kvType = card.kv_dtype ?? 'float32';
  const blockCausal = v2 && card.attention === 'block-causal';
  const problems =
    graph === 'full'
      ? checkContract(meta(session, 'input'), meta(session, 'output'), v2 ? contractV2(kvType, blockCausal) : undefined)
      : checkLogitsOnly(meta(session, 'input'), meta(session, 'output'));
  problems.push(...checkCardAgainstGraph(card, meta(session, 'input'), meta(session, 'output')));
  const special = new Set(added.filter((a) => (a as { special?: boolean }).special).map((a) => a.id));
  if (!special.has(card.mask_token_id))
    problems.push(
      `dlens-model.json says mask_token_id ${card.mask_token_id}, but that id is not a special token of tokenizer.json (${[...special].slice(0, 8).join(', ')}…)`,
    );
  const hasKeyScores = session.outputNames.includes('key_scores');
  // (Only dlens convert writes the lens, into v2 graphs; a v1 graph is run with v1's feeds.)
  const hasLens = graph === 'full' && v2 && hasLensIo(meta(session, 'input'), meta(session, 'output'));
  if (graph === 'full') problems.push(...checkOptionalIo(meta(session, 'input'), meta(session, 'output')));
  if (problems.length) {
    await session.release();
    throw new DlensError(
      `${join(dir, 'model.onnx')} does not meet the dlens model contract: ${problems.join('; ')}. Fix dlens-model.json or re-export the model as docs/model-contract.md describes.`,
    );
  }
  const vocabText = new Map<number, string>();
  const { num_layers: Ly, head_dim: Dh, vocab_size: V } = card;
  const Hkv = card.num_kv_heads ?? card.num_heads;
  const statsOutputs = ['keys', 'values', 'saliency', 'top_ids', 'top_probs', 'entropy', 'log_z'];
  if (hasKeyScores) statsOutputs.push('key_scores');
  const inputNames = new Set(session.inputNames);
  return {
    dir,
    card,
    graph,
    hasKeyScores,
    hasLens,
    tokenizer,
    encode: (text) => tokenizer.encode(text).ids,
    // Ids past the tokenizer's (padding rows of the embedding, which an untrained row can still win) have no text.
    decode: (ids) =>
      tokenizer.decode(
        ids.filter((i) => i < tokVocab),
        { skip_special_tokens: true },
      ),
    tokenText(id) {
      const cached = vocabText.get(id);
      if (cached !== undefined) return cached;
      const s = id < tokVocab ? tokenizer.decode([id], { skip_special_tokens: false }) : `<${id}>`;
      vocabText.set(id, s);
      return s;
    },
    async forward(x) {
      if (graph === 'logits-only') {
        const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', x.inputIds, [x.B, x.Q]) };
        if (inputNames.has('position_ids')) feeds.position_ids = new ort.Tensor('int64', x.positionIds, [x.B, x.Q]);
        if (inputNames.has('attention_mask'))
          feeds.attention_mask = new ort.Tensor('int64', new BigInt64Array(x.B * x.Q).fill(1n), [x.B, x.Q]);
        const logits = (await session.run(feeds)).logits!.data as Float32Array;
        const none = new Float32Array(0);
        return { logits, keys: none, values: none, saliency: none, keyScores: none };
      }
      const kvShape = [Ly, x.B, Hkv, x.C, Dh];
      // Callers with no cache pass an empty Float32Array; float16 keys travel as their bits.
      const asKv = (a: KvArray) => (kvType === 'float16' && a instanceof Float32Array ? floatArrayToHalf(a) : a);
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', x.inputIds, [x.B, x.Q]),
        position_ids: new ort.Tensor('int64', x.positionIds, [x.B, x.Q]),
        past_keys: new ort.Tensor(kvType, asKv(x.pastKeys), kvShape),
        past_values: new ort.Tensor(kvType, asKv(x.pastValues), kvShape),
        query_weights: new ort.Tensor('float32', x.queryWeights, [x.B, x.Q]),
      };
      if (blockCausal) {
        if (!x.queryBlocks || !x.keyBlocks) throw new Error('a block-causal model needs query and key block ids');
        feeds.query_blocks = new ort.Tensor('int64', x.queryBlocks, [x.B, x.Q]);
        feeds.key_blocks = new ort.Tensor('int64', x.keyBlocks, [x.B, x.C + x.Q]);
      }
      if (v2) {
        // Only what is fetched crosses into JavaScript: [Q, V] logits (500 MB for 1,000 positions of LLaDA) stay in
        // onnxruntime unless sampling needs them.
        const fetch = [...statsOutputs];
        if (x.needLogits) fetch.push('logits');
        const lens = hasLens && !!x.lensRows?.length;
        if (hasLens) {
          // Not wanted: one row (onnxruntime's CPU kernels stop the process on zero rows), computed and left there.
          const rows = lens ? x.lensRows! : new BigInt64Array(1);
          feeds.lens_rows = new ort.Tensor('int64', rows, [rows.length]);
        }
        if (lens) fetch.push('lens_ids', 'lens_probs');
        const out = await session.run(feeds, fetch);
        return {
          logits: x.needLogits ? (out.logits!.data as Float32Array) : new Float32Array(0),
          keys: out.keys!.data as KvArray,
          values: out.values!.data as KvArray,
          saliency: out.saliency!.data as Float32Array,
          keyScores: hasKeyScores ? (out.key_scores!.data as Float32Array) : new Float32Array(0),
          stats: {
            K: card.top_k!,
            topIds: out.top_ids!.data as BigInt64Array,
            topProbs: out.top_probs!.data as Float32Array,
            entropy: out.entropy!.data as Float32Array,
            logZ: out.log_z!.data as Float32Array,
          },
          ...(lens
            ? { lens: { ids: out.lens_ids!.data as BigInt64Array, probs: out.lens_probs!.data as Float32Array } }
            : {}),
        };
      }
      const out = await session.run(feeds);
      const logits = out.logits!.data as Float32Array;
      if (logits.length !== x.B * x.Q * V)
        throw new DlensError(
          `model returned ${logits.length} logits, expected ${x.B}x${x.Q}x${V}: its vocabulary does not match dlens-model.json`,
        );
      return {
        logits,
        keys: out.keys!.data as Float32Array,
        values: out.values!.data as Float32Array,
        saliency: out.saliency!.data as Float32Array,
        keyScores: hasKeyScores ? (out.key_scores!.data as Float32Array) : new Float32Array(0),
      };
    },
    release: () => session.release(),
  };
}
