#!/usr/bin/env bash
# Interleaved throughput comparison on one machine: `synclr train` as 1 process x T threads
# against `mpiexec -n R` ranks x (T / R) threads, same global batch and steps; prints each run's
# images/s (from metrics.jsonl, the first logging window, which holds start-up, left out) and the
# medians. Usage: Scripts/bench/measure_scaling.sh [rounds] [extra synclr train options...]
set -euo pipefail
ROUNDS=${1:-3}; shift || true
BIN=${BIN:-.build/release/synclr}
RANKS=${RANKS:-2}
THREADS=${THREADS:-2}
STEPS=${STEPS:-41}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
ARGS=(train --data fashion-mnist --limit 4000 --group-by class --objective synclr --model vit-nano32
      --steps "$STEPS" --checkpoint-every 0 "$@")
rate() {  # median images/s over the logged windows after the first
    python3 -c '
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("%.2f" % statistics.median(r["imagesPerSecond"] for r in rows[1:]))' "$1/metrics.jsonl"
}
single=(); multi=()
for r in $(seq 1 "$ROUNDS"); do
    SYNCLR_NUM_THREADS=$THREADS "$BIN" "${ARGS[@]}" --out "$TMP/single" >/dev/null
    s=$(rate "$TMP/single"); single+=("$s")
    SYNCLR_NUM_THREADS=$((THREADS / RANKS)) mpiexec --oversubscribe --bind-to none -n "$RANKS" "$BIN" "${ARGS[@]}" --out "$TMP/multi" >/dev/null
    m=$(rate "$TMP/multi"); multi+=("$m")
    echo "round $r: 1 process x $THREADS threads $s img/s; $RANKS ranks x $((THREADS / RANKS)) threads $m img/s"
done
python3 - "${single[*]}" "${multi[*]}" <<'PY'
import statistics, sys
s = [float(x) for x in sys.argv[1].split()]; m = [float(x) for x in sys.argv[2].split()]
print("median: single %.2f img/s, ranks %.2f img/s, ratio %.3f; per-round ratios %s" % (
    statistics.median(s), statistics.median(m), statistics.median(m) / statistics.median(s),
    " ".join("%.3f" % (b / a) for a, b in zip(s, m))))
PY
