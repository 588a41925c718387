#!/usr/bin/env bash
# Interleaved wall-time comparison behind `synclr pipeline --jobs 2` (Docs/scaling.md, "Several
# runs side by side"): two independent `synclr train` runs (seeds 0 and 1) one after another with
# THREADS threads each, against the same two side by side with THREADS / 2 threads each; the order
# alternates between rounds. Prints each round's seconds and ratio.
# Usage: Scripts/bench/measure_jobs.sh DATA [rounds] [extra synclr train options...]
# (DATA: a generated image folder such as runs/paper-small/images; the default options are the
# paper-small preset's SynCLR recipe.)
set -euo pipefail
DATA=$1; shift
ROUNDS=${1:-3}; shift || true
BIN=${BIN:-.build/release/synclr}
THREADS=${THREADS:-2}
STEPS=${STEPS:-200}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ARGS=(train --data "$DATA" --steps "$STEPS" --warmup 100 --batch-captions 16 --images-per-caption 4
      --local-crops 2 --local-size 16 --prototypes 256 --checkpoint-every 0 "$@")
now() { date +%s.%N; }
sequential() {
    local s; s=$(now)
    for k in 0 1; do SYNCLR_NUM_THREADS=$THREADS "$BIN" "${ARGS[@]}" --seed $k --out "$TMP/seq-$k" >/dev/null; done
    echo "$(now) - $s" | bc
}
side_by_side() {
    local s p; s=$(now)
    SYNCLR_NUM_THREADS=$((THREADS / 2)) "$BIN" "${ARGS[@]}" --seed 0 --out "$TMP/par-0" >/dev/null & p=$!
    SYNCLR_NUM_THREADS=$((THREADS / 2)) "$BIN" "${ARGS[@]}" --seed 1 --out "$TMP/par-1" >/dev/null
    wait $p
    echo "$(now) - $s" | bc
}
for r in $(seq 1 "$ROUNDS"); do
    rm -rf "$TMP"/*
    if (( r % 2 )); then a=$(sequential); b=$(side_by_side); else b=$(side_by_side); a=$(sequential); fi
    printf 'round %d: one after another (%d threads) %.1f s; side by side (%d thread(s) each) %.1f s; ratio %.2f\n' \
        "$r" "$THREADS" "$a" $((THREADS / 2)) "$b" "$(echo "$a / $b" | bc -l)"
done
