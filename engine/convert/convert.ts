import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  lstatSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { DlensError } from '../errors.js';
import { ModelCardSchema } from '../model/card.js';
import { leftoversOfGoneRuns } from '../util/atomic-write.js';
import { openRegularFile, optionalFileIn, readJsonObject, readRegularFile } from '../util/safe-read.js';
import { JSON_LIMITS, openCheckpoint, type Checkpoint } from './checkpoint.js';
import { renderChatTemplate } from './chat-template.js';
import { configFields } from './config-fields.js';
import { GraphBuilder } from './onnx-graph.js';
import { GRAPH_REVISION } from './transformer.js';
import { LLADA } from './llada.js';
import { QWEN } from './qwen.js';
import type { ConvertDtype, QuantBlock } from './weights.js';
/** Candidates per position a converted graph reports: more than a trace records by default (5). */
export const GRAPH_TOP_K = 8;

/** The architectures `dlens convert` knows, by their checkpoint's config.json (docs/model-contract.md). */
export const ARCHITECTURES = [LLADA, QWEN] as const;

export interface ConvertOptions {
  dtype?: ConvertDtype;
  name?: string;
  /** Keys and values as the cache holds them; fp16 halves the cache (default fp32). */
  kvDtype?: 'fp32' | 'fp16';
  /** Block-causal attention with this block size (BD3LM); config.json's block_size when it has one. */
  blockSize?: number;
  /** int8/int4: the MatMulNBits block along the input dimension (default 32; weights.ts says why). */
  quantBlock?: QuantBlock;
  /** Top candidates per position the graph reports (the most a trace can record). */
  topK?: number;
  /**
   * 'full' (default): probabilities are the softmax over the whole vocabulary, as the papers' decoders compute
   * confidence; 'without-mask': renormalised without the mask token (for a model whose mask token can win, compared
   * with a reference that set the mask logit to −inf).
   */
  confidence?: 'full' | 'without-mask';
  /** The logit lens outputs (each layer's top-1 through the final norm and head): one more head per layer. */
  lens?: boolean;
  onProgress?: (done: number, total: number, what: string) => void;
}

export interface ConvertResult {
  dir: string;
  architecture: string;
  card: Record<string, unknown>;
  /** Bytes of model.onnx.data. */
  weightBytes: number;
  /** Largest resident set seen while converting, in bytes. */
  peakRss: number;
}

/** sha256 over config.json and every shard, streamed (an 8B checkpoint is 16 GB): the checkpoint's identity. */
export async function checkpointHash(ck: Checkpoint): Promise<string> {
  const h = createHash('sha256').update(readRegularFile(ck.configPath, '', JSON_LIMITS.config.maxBytes));
  for (const path of ck.shardPaths) {
    const { fd } = openRegularFile(path, 'shard');
    for await (const chunk of createReadStream('', { fd, highWaterMark: 8 << 20 })) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

/** The prompt template: the chat template rendered around a user message "{prompt}", else the bare prompt. */
function promptTemplate(tokConfig: Record<string, unknown>): string {
  const tpl = tokConfig.chat_template;
  if (tpl === undefined || tpl === null) return '{prompt}';
  if (typeof tpl !== 'string')
    throw new DlensError(
      'tokenizer_config.json: chat_template is not a string (dlens reads one template; a list of named ones is not supported)',
    );
  const special = (k: string) => {
    const v = tokConfig[k];
    return typeof v === 'string'
      ? v
      : v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string'
        ? (v as { content: string }).content
        : '';
  };
  const text = renderChatTemplate(tpl, {
    messages: [{ role: 'user', content: '{prompt}' }],
    add_generation_prompt: true,
    bos_token: special('bos_token'),
    eos_token: special('eos_token'),
  });
  if (!text.includes('{prompt}'))
    throw new DlensError(
      'tokenizer_config.json: the chat template drops the user message; dlens cannot make a prompt template from it',
    );
  return text;
}

/** An id the tokenizer marks special, by its text (the mask token when the config does not say it). */
function specialId(tokJson: Record<string, unknown>, texts: string[]): number | undefined {
  const added = Array.isArray(tokJson.added_tokens) ? (tokJson.added_tokens as unknown[]) : [];
  for (const a of added) {
    const { id, content } = (a ?? {}) as { id?: unknown; content?: unknown };
    if (typeof content === 'string' && texts.includes(content) && Number.isSafeInteger(id) && (id as number) >= 0)
      return id as number;
  }
  return undefined;
}

/**
 * Card fields a checkpoint's author adds beside config.json, in dlens-card.json: license, description, and the
 * training and eval records (dlens-tiny's recipe and scores). Everything structural comes from config.json.
 */
function authorCard(hfDir: string): {
  license?: string;
  description?: string;
  training?: object;
  eval?: object;
  noise?: 'mask' | 'uniform';
} {
  const p = optionalFileIn(hfDir, 'dlens-card.json');
  if (!p) return {};
  let v: Record<string, unknown>;
  try {
    v = readJsonObject(p, '', JSON_LIMITS.card);
  } catch (e) {
    throw new DlensError(
      `${(e as Error).message}; fix it or remove it (it only adds license, training and eval notes)`,
    );
  }
  const { license, description, training, eval: ev, noise } = v;
  if (noise !== undefined && noise !== 'mask' && noise !== 'uniform')
    throw new DlensError(
      `dlens-card.json: noise is ${JSON.stringify(noise)}; it says what the model denoises, "mask" or "uniform"`,
    );
  const obj = (x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? (x as object) : undefined);
  return {
    ...(typeof license === 'string' ? { license } : {}),
    ...(typeof description === 'string' ? { description } : {}),
    ...(obj(training) ? { training: obj(training) } : {}),
    ...(obj(ev) ? { eval: obj(ev) } : {}),
    ...(noise ? { noise } : {}),
  };
}

/** The checkpoint's tokenizer.json, parsed and loaded once to check that it is one. */
function readTokenizer(hfDir: string): { path: string; json: Record<string, unknown> } {
  const path = optionalFileIn(hfDir, 'tokenizer.json');
  if (!path)
    throw new DlensError(`${join(hfDir, 'tokenizer.json')} is missing; dlens needs the checkpoint's tokenizer.json`);
  const json = readJsonObject(path, '', JSON_LIMITS.tokenizer);
  try {
    new Tokenizer(json, {});
  } catch {
    throw new DlensError(`${path} is not a readable Hugging Face tokenizer`);
  }
  return { path, json };
}

/** Folders `${dest}.tmp-PID` that a killed conversion left (their process is gone) are removed before the next. */
function removeStaleTempFolders(dest: string) {
  for (const p of leftoversOfGoneRuns(dirname(dest), `${basename(dest)}.tmp-`))
    rmSync(p, { recursive: true, force: true });
}

/**
 * `dlens convert`: a Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json) to a dlens model
 * folder (model.onnx with its weights in model.onnx.data, tokenizer.json, dlens-model.json). Tensors are read and
 * written one at a time; everything is written into a temporary folder beside `out` and renamed into place, so a
 * failed conversion leaves nothing at `out`.
 */
export async function convertCheckpoint(hfDir: string, out: string, o: ConvertOptions = {}): Promise<ConvertResult> {
  const dtype = o.dtype ?? 'fp32';
  const dest = resolve(out);
  // lstat, not exists: a dangling link or a pipe at `out` is something there too, and is never replaced.
  if (lstatSync(dest, { throwIfNoEntry: false }))
    throw new DlensError(`${out} already exists; give a new folder for the converted model (or remove it)`);
  const ck = openCheckpoint(hfDir);
  const arch = ARCHITECTURES.find((a) => a.matches(ck.config));
  if (!arch)
    throw new DlensError(
      `config.json describes ${JSON.stringify(ck.config.architectures ?? ck.config.model_type ?? 'an unknown model')}; dlens converts ${ARCHITECTURES.map((a) => a.name).join(', ')} checkpoints`,
    );
  const { path: tokPath, json: tokJson } = readTokenizer(hfDir);
  const tcPath = optionalFileIn(hfDir, 'tokenizer_config.json');
  const tokConfig = tcPath ? readJsonObject(tcPath, '', JSON_LIMITS.tokenizerConfig) : {};
  const author = authorCard(hfDir);
  const dims = arch.dims(ck.config);
  const archName = 'flavor' in arch ? arch.flavor(ck.config) : arch.name;
  const extras = 'cardExtras' in arch ? arch.cardExtras(ck.config) : {};
  const ids = arch.ids(ck.config);
  const mask = ids.mask ?? specialId(tokJson, ['<|mdm_mask|>', '<|mask|>', '[MASK]', '<mask>']);
  if (mask === undefined)
    throw new DlensError('neither config.json nor tokenizer.json names a mask token; dlens needs one');
  const eos = ids.eos ?? specialId(tokJson, ['<|eot_id|>', '<|endoftext|>', '</s>']);
  if (eos === undefined) throw new DlensError('neither config.json nor tokenizer.json names an end-of-text token');

  const maxPositions = ids.maxPositions ?? 4096;
  for (const [k, v] of [
    ['mask_token_id', mask],
    ['eos_token_id', eos],
    ['pad_token_id', ids.pad],
  ] as const)
    if (v !== undefined && v >= dims.vocab)
      throw new DlensError(`${k} ${v} is outside the model's vocabulary of ${dims.vocab} (config.json's vocab_size)`);
  const blockSize =
    o.blockSize ??
    (ck.config.block_size === undefined || ck.config.block_size === null
      ? undefined
      : configFields(ck.config).int('block_size', { max: maxPositions }));
  if (blockSize === undefined && /bd3lm/i.test(String(ck.config._name_or_path ?? basename(resolve(hfDir)))))
    throw new DlensError(
      "this looks like a block-causal (BD3LM) checkpoint, and config.json does not say its block size: pass --block-size N (in the app: the block size box; the size it was trained with; dllm's BD3LM models use 32)",
    );
  const graphOptions = {
    kvDtype: o.kvDtype === 'fp16' ? ('float16' as const) : ('float32' as const),
    blockCausal: blockSize !== undefined,
    topK: o.topK ?? GRAPH_TOP_K,
    maskId: mask,
    maskInSoftmax: o.confidence !== 'without-mask',
    lens: o.lens === true,
  };

  const tmp = `${dest}.tmp-${process.pid}`;
  mkdirSync(dirname(dest), { recursive: true });
  removeStaleTempFolders(dest);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  let peakRss = process.memoryUsage().rss;
  try {
    const g = new GraphBuilder(join(tmp, 'model.onnx.data'), 'model.onnx.data');
    arch.build(g, ck, dims, { dtype, quantBlock: o.quantBlock }, graphOptions);
    await g.writeWeights((done, total, name) => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      o.onProgress?.(done, total, name);
    });
    const source = {
      architecture: archName,
      checkpoint: basename(resolve(hfDir)),
      sha256: await checkpointHash(ck),
      graph_revision: GRAPH_REVISION,
      dtype,
      ...(o.quantBlock && (dtype === 'int8' || dtype === 'int4') ? { quant_block: o.quantBlock } : {}),
      ...(graphOptions.lens ? { lens: true } : {}),
    };
    writeFileSync(join(tmp, 'model.onnx'), g.finish({ 'dlens.source': JSON.stringify(source) }));
    copyFileSync(tokPath, join(tmp, 'tokenizer.json'));
    const card = {
      name: o.name ?? basename(dest),
      format: 'dlens-model/2',
      attention: blockSize === undefined ? 'bidirectional' : 'block-causal',
      ...(blockSize === undefined ? {} : { block_size: blockSize }),
      mask_token_id: mask,
      eos_token_id: eos,
      pad_token_id: ids.pad ?? eos,
      vocab_size: dims.vocab,
      num_layers: dims.layers,
      num_heads: dims.heads,
      num_kv_heads: dims.kvHeads,
      head_dim: dims.headDim,
      kv_dtype: graphOptions.kvDtype,
      top_k: graphOptions.topK,
      ...(graphOptions.maskInSoftmax ? {} : { confidence: 'without-mask' }),
      max_positions: maxPositions,
      prompt_template: promptTemplate(tokConfig),
      license:
        author.license ?? (typeof ck.config.license === 'string' ? ck.config.license : 'as the source checkpoint'),
      ...(author.description ? { description: author.description } : {}),
      ...(author.noise ? { noise: author.noise } : {}),
      training: { ...author.training, source },
      eval: author.eval ?? {},
      ...extras,
    };
    // The card is checked by the loader's own schema before the folder is renamed into place: convert never writes a
    // model that `dlens record` would refuse.
    const checked = ModelCardSchema.safeParse(card);
    if (!checked.success) {
      const i = checked.error.issues[0]!;
      throw new DlensError(
        `the converted model's card would be invalid: "${i.path.join('.')}" ${i.message}; check config.json's fields for it`,
      );
    }
    writeFileSync(join(tmp, 'dlens-model.json'), JSON.stringify(card, null, 1));
    const weightBytes = statSync(join(tmp, 'model.onnx.data')).size;
    renameSync(tmp, dest);
    return { dir: dest, architecture: archName, card, weightBytes, peakRss };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
