import { DlensError } from '../../errors.js';
import { QUANT_BLOCKS, type QuantBlock } from '../../convert/weights.js';
import { intOpt, pathOpt, parse, usageOf, type Command } from '../args.js';

export const convertCommand: Command = {
  name: 'convert',
  usage: `dlens convert HF_DIR --out MODEL_DIR [--dtype fp32|fp16|int8|int4] [--kv-dtype fp32|fp16] [--top-k N]
              [--block-size N] [--quant-block 16|32|64|128] [--confidence full|without-mask] [--lens] [--name NAME]
              [--json]
               (a Hugging Face checkpoint folder to a dlens model; architectures: llada, dream, a2d-qwen3, a2d-qwen2,
                llada-moe; --block-size: block-causal attention, for BD3LM checkpoints; --quant-block: int8/int4 block;
                --confidence: softmax over the whole vocabulary as the papers' code (default), or without the mask token;
                --lens: the logit lens, each layer's top-1 recorded at every step, at one output head per layer)`,
  summary:
    "a Hugging Face checkpoint folder (config.json, `*.safetensors` shards, tokenizer.json, tokenizer_config.json) to a dlens model folder: the ONNX graph with its weights in `model.onnx.data`, the tokenizer, and a card made from the config and the chat template; tensors are streamed one at a time, and nothing is left at `--out` if it fails. Writes model contract v2 (docs/model-contract.md): `--kv-dtype fp16` halves the cache, `--top-k` sets the candidates the graph reports (default 8), `--block-size N` makes the attention block-causal (BD3LM; config.json's `block_size` when it has one), `--confidence without-mask` renormalises probabilities without the mask token (default `full`: the whole vocabulary's softmax, as the papers' decoders compute confidence; docs/fidelity.md), `--lens` adds the logit lens (each layer's top-1, recorded at every step; docs/diagnostics.md). Architectures: LLaDA (`LLaDAModelLM`), Dream (`DreamModel`), dllm A2D Qwen3/Qwen2 (MDLM and BD3LM), LLaDA-MoE (`LLaDAMoEModelLM`)",
  run,
};

async function run(argv: string[]) {
  const { values, positionals } = parse(
    convertCommand,
    argv,
    {
      out: { type: 'string' },
      dtype: { type: 'string' },
      'kv-dtype': { type: 'string' },
      'top-k': { type: 'string' },
      'block-size': { type: 'string' },
      'quant-block': { type: 'string' },
      confidence: { type: 'string' },
      lens: { type: 'boolean' },
      name: { type: 'string' },
      json: { type: 'boolean' },
    },
    'some',
  );
  pathOpt(values.out as string | undefined, '--out');
  if (positionals.length !== 1 || !values.out)
    throw new DlensError(`dlens convert takes one checkpoint folder and --out MODEL_DIR\n${usageOf(convertCommand)}`);
  const dtype = (values.dtype as string | undefined) ?? 'fp32';
  if (!['fp32', 'fp16', 'int8', 'int4'].includes(dtype))
    throw new DlensError(`--dtype must be fp32, fp16, int8 or int4, got "${dtype}"`);
  const kvDtype = (values['kv-dtype'] as string | undefined) ?? 'fp32';
  if (kvDtype !== 'fp32' && kvDtype !== 'fp16')
    throw new DlensError(`--kv-dtype must be fp32 or fp16, got "${kvDtype}"`);
  const confidence = (values.confidence as string | undefined) ?? 'full';
  if (confidence !== 'full' && confidence !== 'without-mask')
    throw new DlensError(`--confidence must be full or without-mask, got "${confidence}"`);
  const quantBlock = intOpt(values['quant-block'] as string | undefined, '--quant-block', 1);
  if (quantBlock !== undefined && !(QUANT_BLOCKS as readonly number[]).includes(quantBlock))
    throw new DlensError(`--quant-block must be ${QUANT_BLOCKS.join(', ')} (MatMulNBits blocks), got ${quantBlock}`);
  if (quantBlock !== undefined && dtype !== 'int8' && dtype !== 'int4')
    throw new DlensError(`--quant-block applies to --dtype int8 or int4, not ${dtype}`);
  const { convertCheckpoint } = await import('../../convert/convert.js');
  const tty = process.stderr.isTTY && !values.json;
  const t0 = performance.now();
  const r = await convertCheckpoint(positionals[0]!, values.out as string, {
    dtype: dtype as 'fp32' | 'fp16' | 'int8' | 'int4',
    kvDtype,
    topK: intOpt(values['top-k'] as string | undefined, '--top-k', 1),
    blockSize: intOpt(values['block-size'] as string | undefined, '--block-size', 1),
    quantBlock: quantBlock as QuantBlock | undefined,
    confidence,
    lens: values.lens === true,
    name: values.name as string | undefined,
    onProgress: tty ? (d, t, what) => process.stderr.write(`\r[${d}/${t}] ${what.slice(0, 60).padEnd(60)}`) : undefined,
  });
  if (tty) process.stderr.write('\n');
  const summary = {
    dir: r.dir,
    architecture: r.architecture,
    weight_bytes: r.weightBytes,
    peak_rss_bytes: r.peakRss,
    seconds: (performance.now() - t0) / 1000,
  };
  if (values.json) console.log(JSON.stringify(summary));
  else
    console.log(
      `converted ${r.architecture} checkpoint to ${r.dir} (${(r.weightBytes / 1e6).toFixed(1)} MB of ${dtype} weights, peak memory ${(r.peakRss / 1e6).toFixed(0)} MB, ${summary.seconds.toFixed(1)} s). Use it: dlens record --model ${r.dir} --prompt "..."`,
    );
}
