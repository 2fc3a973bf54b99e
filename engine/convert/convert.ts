import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { DlensError } from '../errors.js';
import { openCheckpoint, type Checkpoint } from './checkpoint.js';
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
  const h = createHash('sha256').update(readFileSync(join(ck.dir, 'config.json')));
  for (const s of ck.shards)
    for await (const chunk of createReadStream(join(ck.dir, s), { highWaterMark: 8 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The prompt template: the chat template rendered around a user message "{prompt}", else the bare prompt. */
function promptTemplate(tokConfig: Record<string, unknown>): string {
  const tpl = tokConfig.chat_template;
  if (typeof tpl !== 'string') return '{prompt}';
  const special = (k: string) => {
    const v = tokConfig[k];
    return typeof v === 'string'
      ? v
      : v && typeof v === 'object'
        ? String((v as { content?: unknown }).content ?? '')
        : '';
  };
  const text = new Template(tpl).render({
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
  const added = (tokJson.added_tokens as { id: number; content: string }[] | undefined) ?? [];
  return added.find((a) => texts.includes(a.content))?.id;
}

/**
 * Card fields a checkpoint's author adds beside config.json, in dlens-card.json: license, description, and the
 * training and eval records (dlens-tiny's recipe and scores). Everything structural comes from config.json.
 */
function authorCard(hfDir: string): { license?: string; description?: string; training?: object; eval?: object } {
  const p = join(hfDir, 'dlens-card.json');
  if (!existsSync(p)) return {};
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    throw new DlensError(`${p} is not valid JSON; fix it or remove it (it only adds license, training and eval notes)`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new DlensError(`${p} is not a JSON object`);
  const { license, description, training, eval: ev } = v as Record<string, unknown>;
  const obj = (x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? (x as object) : undefined);
  return {
    ...(typeof license === 'string' ? { license } : {}),
    ...(typeof description === 'string' ? { description } : {}),
    ...(obj(training) ? { training: obj(training) } : {}),
    ...(obj(ev) ? { eval: obj(ev) } : {}),
  };
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
  if (existsSync(dest))
    throw new DlensError(`${out} already exists; give a new folder for the converted model (or remove it)`);
  const ck = openCheckpoint(hfDir);
  const arch = ARCHITECTURES.find((a) => a.matches(ck.config));
  if (!arch)
    throw new DlensError(
      `config.json describes ${JSON.stringify(ck.config.architectures ?? ck.config.model_type ?? 'an unknown model')}; dlens converts ${ARCHITECTURES.map((a) => a.name).join(', ')} checkpoints`,
    );
  const tokPath = join(hfDir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new DlensError(`${tokPath} is missing; dlens needs the checkpoint's tokenizer.json`);
  let tokJson: Record<string, unknown>;
  try {
    tokJson = JSON.parse(readFileSync(tokPath, 'utf8'));
    new Tokenizer(tokJson, {});
  } catch {
    throw new DlensError(`${tokPath} is not a readable Hugging Face tokenizer`);
  }
  const tcPath = join(hfDir, 'tokenizer_config.json');
  const tokConfig = existsSync(tcPath) ? (JSON.parse(readFileSync(tcPath, 'utf8')) as Record<string, unknown>) : {};
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

  const blockSize = o.blockSize ?? (typeof ck.config.block_size === 'number' ? ck.config.block_size : undefined);
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
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
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
      max_positions: ids.maxPositions ?? 4096,
      prompt_template: promptTemplate(tokConfig),
      license:
        author.license ?? (typeof ck.config.license === 'string' ? ck.config.license : 'as the source checkpoint'),
      ...(author.description ? { description: author.description } : {}),
      training: { ...author.training, source },
      eval: author.eval ?? {},
      ...extras,
    };
    writeFileSync(join(tmp, 'dlens-model.json'), JSON.stringify(card, null, 1));
    const weightBytes = statSync(join(tmp, 'model.onnx.data')).size;
    renameSync(tmp, dest);
    return { dir: dest, architecture: archName, card, weightBytes, peakRss };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
