#!/usr/bin/env bash
# Recipe ablations of Docs/results.md: trains one ViT per variant on a fixed image folder and
# scores it on Fashion-MNIST's held-out validation split (fashion-mnist:val: 10,000 training
# images set aside), never on the test set.
#
#   Scripts/experiments/ablate.sh DATA OUT NAME [synclr train flags...]
#
# DATA: a folder with manifest.jsonl (e.g. runs/demo/images); OUT/NAME/ gets the model,
# metrics.jsonl and eval.json; OUT/results.tsv gets one line per variant:
# name, student kNN and linear top-1, EMA teacher kNN and linear top-1 (SynCLR), training
# seconds, flags.
set -euo pipefail
data=$1 out=$2 name=$3; shift 3
bin=${SYNCLR:-.build/release/synclr}
dir=$out/$name
mkdir -p "$dir"
if [[ ! -f $dir/eval.json ]]; then
  start=$(date +%s.%N)
  "$bin" train --data "$data" --out "$dir" --resume "$@" >"$dir/train.log" 2>&1
  end=$(date +%s.%N)
  "$bin" eval --checkpoint "$dir/model.safetensors" --dataset fashion-mnist:val --train-limit 10000 \
    --probe-grid 8 --out "$dir/eval.json" >"$dir/eval.log" 2>&1
  if [[ -f $dir/teacher.safetensors ]]; then
    "$bin" eval --checkpoint "$dir/teacher.safetensors" --dataset fashion-mnist:val --train-limit 10000 \
      --probe-grid 8 --out "$dir/eval-teacher.json" >>"$dir/eval.log" 2>&1
  fi
  python3 - "$dir" "$name" "$(echo "$end - $start" | bc)" "$*" >>"$out/results.tsv" <<'PY'
import json, os, sys
d = sys.argv[1]
r = json.load(open(f"{d}/eval.json"))
t = json.load(open(f"{d}/eval-teacher.json")) if os.path.exists(f"{d}/eval-teacher.json") else None
teacher = f"{t['knn_top1']:.2f}\t{t['linear_top1']:.2f}" if t else "-\t-"
print(f"{sys.argv[2]}\t{r['knn_top1']:.2f}\t{r['linear_top1']:.2f}\t{teacher}\t{float(sys.argv[3]):.0f}\t{sys.argv[4]}")
PY
fi
tail -n 1 "$out/results.tsv"
