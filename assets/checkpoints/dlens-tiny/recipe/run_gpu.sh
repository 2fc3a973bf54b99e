#!/bin/bash
# One GPU run: generate fresh training data with the TypeScript generator (bundled, run by a carried node),
# smoke-test the whole pipeline for a few seconds, then train, evaluate and export.
# Usage on the GPU machine: [PER=N] [DATA_SEED=S] assets/checkpoints/dlens-tiny/recipe/run_gpu.sh SECONDS [train.py args]
# (DATA_SEED: a new one per continued run gives fresh instances; runs 1-10 all used 1000)
set -e
R=assets/checkpoints/dlens-tiny/recipe
SECONDS_TRAIN=${1:-420}; shift || true
ROOT=$(pwd)
mkdir -p /tmp/data /tmp/smokedata
if ! command -v node >/dev/null; then xz -dc .data/node.xz > /tmp/node && chmod +x /tmp/node; NODE=/tmp/node; else NODE=node; fi
for i in $(seq 1 16); do DLENS_CORPUS=.data/corpus $NODE .data/stream.mjs $((${DATA_SEED:-1000}+i)) ${PER:-6000} > /tmp/data/train-$i.jsonl & done
DLENS_CORPUS=.data/corpus $NODE .data/stream.mjs 999 300 > /tmp/smokedata/train-0.jsonl
wait
wc -l /tmp/data/*.jsonl | tail -1
cd $R
PYTHONUNBUFFERED=1 python3 train.py --data /tmp/smokedata --eval $ROOT/.data/eval.jsonl --out /tmp/smoke --seconds 12 --eval-n 4 "$@" > /tmp/smoke.log 2>&1 || { cat /tmp/smoke.log; exit 1; }
tail -3 /tmp/smoke.log
PYTHONUNBUFFERED=1 python3 train.py --data /tmp/data --eval $ROOT/.data/eval.jsonl --out $OUT --seconds $SECONDS_TRAIN "$@"
