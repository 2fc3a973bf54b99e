#!/bin/sh
# Stages the original modeling and decoding code that the GPU benchmarks run, from fetched git mirrors, into
# .ref/gpu/ (ignored by git: none of it is committed). The mirrors are bare git dirs of
#   ML-GSAI/LLaDA (generate.py), ZHZisZZ/dllm (LLaDA's and Dream's modeling code and Dream's diffusion_generate).
#     scripts/reference-code.sh [MIRRORS_DIR]    (default /work/.mirror: OWNER+NAME/repo per repository)
set -eu
M=${1:-/work/.mirror}
OUT=.ref/gpu
rm -rf "$OUT" && mkdir -p "$OUT/dllm_llada" "$OUT/dllm_dream"
llada="git --git-dir=$M/ML-GSAI+LLaDA/repo"
dllm="git --git-dir=$M/ZHZisZZ+dllm/repo"
$llada show HEAD:generate.py > "$OUT/llada_generate.py"
for f in modeling_llada.py configuration_llada.py; do
  $dllm show "HEAD:dllm/pipelines/llada/models/$f" > "$OUT/dllm_llada/$f"
done
for f in modeling_dream.py configuration_dream.py generation_utils.py; do
  $dllm show "HEAD:dllm/pipelines/dream/models/$f" > "$OUT/dllm_dream/$f"
done
: > "$OUT/dllm_llada/__init__.py"
: > "$OUT/dllm_dream/__init__.py"
{ echo "ML-GSAI/LLaDA $($llada rev-parse HEAD)"; echo "ZHZisZZ/dllm $($dllm rev-parse HEAD)"; } > "$OUT/COMMITS"
cat "$OUT/COMMITS"
