#!/usr/bin/env python3
"""bench/results/gpu-recorder-overhead.md from the JSON that bench/gpu_recorder_overhead.py and bench/gpu_eval_set.py
wrote (copied into bench/results/):

    python3 bench/gpu_results_md.py bench/results/gpu-overhead-llada.json bench/results/gpu-overhead-dream.json \\
        bench/results/gpu-overhead-llada-h200-nosync-{a,b}.json bench/results/gpu-overhead-llada-s16-{a,b,c}.json \\
        bench/results/gpu-overhead-dream-s16.json \\
        bench/results/gpu-eval-set.json > bench/results/gpu-recorder-overhead.md
"""
import json
import sys


def pct(x):
    return f'{x * 100:+.1f} %'


def main(paths):
    overhead = [json.load(open(p)) for p in paths if 'eval' not in p]
    evals = [json.load(open(p)) for p in paths if 'eval' in p]
    out = ['# The Python recorder on a GPU', '',
           'What recording costs where evaluations run: the original decoders, unedited (LLaDA\'s generate.py; dllm\'s '
           'copy of Dream\'s diffusion_generate), on LLaDA-8B- and Dream-7B-sized models built from their original '
           'modeling code (random weights, bf16), timed bare and recorded into a trace set; the best of the '
           'repetitions listed in the JSON (`reps`), runs interleaved. "default": top-5 statistics of the rows each '
           'step decides from; "with saliency": plus the attention each position receives, per layer. "save s": the '
           'time spent writing the batch\'s decodes (copies to the host, compaction), part of the overhead.', '',
           'Commands: `scripts/reference-code.sh`, then `python3 bench/gpu_recorder_overhead.py .ref/gpu OUT.json '
           '--models llada --reps 2` (and `--models dream --gen 256 --reps 1`), `python3 bench/gpu_eval_set.py '
           '.ref/gpu SET OUT.json`; this page: `python3 bench/gpu_results_md.py` on the JSON in bench/results/.', '',
           'Targets (issue 32): at most +3 % with the default recording and +10 % with saliency in every cell.', '']
    for r in overhead:
        out += [f"Device: {r['device']}, torch {r['torch']}; reference code: {'; '.join(r['reference'])}."
                + (f" {r['note']}" if r.get('note') else ''), '']
        out += ['| model | batch | gen | steps | bare s | default | with saliency | save s (default) | '
                'bytes/decode (default) | bytes/decode (saliency) |', '|---|---|---|---|---|---|---|---|---|---|']
        for c in r['runs']:
            saves = c.get('save_seconds', {}).get('recorder', [])
            b = c['bytes_per_decode']
            out.append(f"| {c['model']} | {c['batch']} | {c['gen_length']} | {c['steps']} | "
                       f"{c['seconds_best']['bare']:.2f} | {pct(c['overhead']['recorder'])} | "
                       f"{pct(c['overhead']['recorder+saliency'])} | {min(saves):.2f} | "
                       f"{b.get('recorder', 0) / 1e3:.0f} kB | {b.get('recorder+saliency', 0) / 1e3:.0f} kB |"
                       if saves else
                       f"| {c['model']} | {c['batch']} | {c['gen_length']} | {c['steps']} | "
                       f"{c['seconds_best']['bare']:.2f} | {pct(c['overhead']['recorder'])} | "
                       f"{pct(c['overhead']['recorder+saliency'])} | – | – | – |")
        out.append('')
    for e in evals:
        out += ['## An evaluation-shaped run', '',
                f"{e['prompts']} prompts, batch {e['batch']}, gen {e['gen_length']}, {e['steps']} steps, on "
                f"{e['device']}: bare {e['seconds_bare']:.1f} s, recorded into a set {e['seconds_recorded']:.1f} s "
                f"({pct(e['overhead'])}); {e['decodes']} decodes, same answers: {e['same_answers']}; "
                f"{e['bytes_per_decode'] / 1e3:.1f} kB per decode ({e['set_bytes'] / 1e6:.2f} MB in all).", '']
    print('\n'.join(out))


if __name__ == '__main__':
    main(sys.argv[1:])
