#!/usr/bin/env bash
# Chaos test of resume (issue 17, Docs/reliability.md): every long job is run once uninterrupted,
# then N times killed with SIGKILL at a random moment and rerun to completion; the finished
# outputs must be byte-identical to the uninterrupted run's.
#
#   Scripts/checks/chaos.sh [--kills N] [--jobs "JOB ..."] [--seed S] [--work DIR] [--keep]
#
# Jobs: captions-template captions-native images diffusion-train train-synclr train-stablerep
#       train-simclr train-supervised eval pipeline (default: all).
# Environment: SYNCLR (the binary, default .build/release/synclr), SYNCLR_NUM_THREADS (default 2).
#
# A kill point is uniform over the uninterrupted run's wall time, so it lands in start-up, in
# the middle of writing, or between checkpoints alike. Every file of the run folder is compared
# with `cmp`, except the few that record wall-clock time (listed per job in `timing_files` and
# `excluded_files`): TensorBoard event files (every event carries its wall time, and the file
# name the start time) are excluded; JSON lines with timing fields are compared with exactly
# those fields removed. A leftover temporary or lock file fails the comparison (the file sets
# must match). Every run of a job writes the same path, so outputs that record their own path
# compare equal. Prints one line per job, "JOB: P/N identical", and exits non-zero if any kill
# point did not end identical. The folder of a failed kill point is kept as JOB/kill-I.
set -u

KILLS=${CHAOS_KILLS:-20}
JOBS="captions-template captions-native images diffusion-train train-synclr train-stablerep train-simclr train-supervised eval pipeline"
SEED=${CHAOS_SEED:-17}
WORK=""
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --kills) KILLS=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "chaos.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$KILLS" in ''|*[!0-9]*) echo "chaos.sh: --kills must be a whole number, got '$KILLS'" >&2; exit 2 ;; esac

BIN=${SYNCLR:-.build/release/synclr}
[ -x "$BIN" ] || { echo "chaos.sh: $BIN is not an executable (swift build -c release first, or set SYNCLR)" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
export SYNCLR_NUM_THREADS=${SYNCLR_NUM_THREADS:-2}
if [ -z "$WORK" ]; then WORK=$(mktemp -d "${TMPDIR:-/tmp}/synclr-chaos.XXXXXX"); fi
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
INPUTS=$WORK/inputs
RANDOM=$SEED

# ---- the jobs: tiny configurations of every long-running command (resume flags always on, so
# the uninterrupted run and a resumed one record the same command line).

# run_JOB DIR: runs the job writing into DIR (the process is the synclr binary itself, so the
# PID that is killed is the writer's).
run_captions-template() { exec "$BIN" captions --backend template --count 40000 --batch-size 64 --out "$1/captions.jsonl"; }
run_captions-native() { exec "$BIN" captions --backend native --count 6 --batch-size 2 --out "$1/captions.jsonl"; }
run_images() { exec "$BIN" images --captions "$INPUTS/captions.jsonl" --out "$1" --per-caption 2 --steps 6 --batch-captions 2; }
run_diffusion-train() {
  exec "$BIN" diffusion train --captions "$INPUTS/fashion-captions.jsonl" --out "$1" --resume --steps 8 --batch-size 4 --limit 100 \
    --checkpoint-every 2 --sample-every 4 --warmup 2 --channels 32,32 --attention 0,1
}
run_train() {
  exec "$BIN" train --data "$INPUTS/images" --objective "$2" --steps 16 --batch-captions 4 --images-per-caption 2 --prototypes 32 \
    --local-crops 2 --warmup 2 --checkpoint-every 2 --out "$1" --resume
}
run_train-synclr() { run_train "$1" synclr; }
run_train-stablerep() { run_train "$1" stablerep; }
run_train-simclr() { run_train "$1" simclr; }
run_train-supervised() { run_train "$1" supervised; }
run_eval() { exec "$BIN" eval --checkpoint "$INPUTS/model.safetensors" --dataset "$INPUTS/folder" --k 5 --probe-grid 3 --out "$1/eval.json"; }
run_pipeline() { exec "$BIN" pipeline --config "$INPUTS/pipeline.json" --out "$1"; }

# timing_files JOB: regular expressions of files compared without their wall-clock fields.
timing_files() {
  case "$1" in
    diffusion-train) echo '^loss\.jsonl$' ;;
    train-*) echo '^metrics\.jsonl$' ;;
    eval) echo '^eval\.json$' ;;
    pipeline) echo '^train/metrics\.jsonl$|^eval\.json$|^eval/.*\.json$|^stages/.*\.json$' ;;
    *) echo '^$' ;;
  esac
}
# excluded_files JOB: files not compared at all (each is wall-clock time through and through).
excluded_files() {
  case "$1" in
    pipeline) echo 'events\.out\.tfevents\.|^report\.md$|^report\.html$' ;;
    *) echo 'events\.out\.tfevents\.' ;;
  esac
}
# The fields that hold wall-clock time, removed before comparing a timing file.
# (A line holding only such a field, as in pretty-printed JSON, is dropped whole.)
TIMING_KEYS='elapsed|seconds|images_per_second|imagesPerSecond'
strip_timing() {
  sed -E -e "/^[[:space:]]*\"($TIMING_KEYS)\" *: *[-0-9.eE+]+,?[[:space:]]*\$/d" \
    -e "s/\"($TIMING_KEYS)\" *: *[-0-9.eE+]+,//g" -e "s/,\"($TIMING_KEYS)\" *: *[-0-9.eE+]+//g" "$1"
}

prepare_inputs() {
  [ -f "$INPUTS/ready" ] && return 0
  mkdir -p "$INPUTS"
  "$BIN" captions --backend template --count 24 --batch-size 8 --out "$INPUTS/captions.jsonl" >"$INPUTS/log" 2>&1 &&
  "$BIN" captions --backend template --count 60 --batch-size 8 --concepts fashion-mnist --out "$INPUTS/fashion-captions.jsonl" >>"$INPUTS/log" 2>&1 &&
  "$BIN" images --captions "$INPUTS/captions.jsonl" --out "$INPUTS/images" --per-caption 2 --steps 6 --batch-captions 4 >>"$INPUTS/log" 2>&1 &&
  "$BIN" train --data "$INPUTS/images" --steps 4 --batch-captions 4 --images-per-caption 2 --prototypes 32 --local-crops 2 \
    --warmup 2 --out "$INPUTS/train" >>"$INPUTS/log" 2>&1 &&
  cp "$INPUTS/train/model.safetensors" "$INPUTS/model.safetensors" || { echo "chaos.sh: preparing inputs failed:"; cat "$INPUTS/log"; exit 1; }
  # A two-class ImageFolder of the generated images for the evaluation job (split 80/20).
  mkdir -p "$INPUTS/folder/even" "$INPUTS/folder/odd"
  for f in "$INPUTS"/images/images/00000/*.png; do
    n=$(basename "$f" .png); n=${n%_*}
    if [ $((10#$n % 2)) = 0 ]; then cp "$f" "$INPUTS/folder/even/"; else cp "$f" "$INPUTS/folder/odd/"; fi
  done
  cat >"$INPUTS/pipeline.json" <<'EOF'
{"captions": {"count": 24, "backend": "template"},
 "images": {"steps": 6, "perCaption": 2},
 "train": {"steps": 6, "batchCaptions": 3, "imagesPerCaption": 2, "prototypes": 32, "localCrops": 2, "warmup": 2},
 "eval": {"trainLimit": 300, "probeGrid": 3, "baselines": ["raw-pixels"]}}
EOF
  touch "$INPUTS/ready"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# compare JOB REF DIR: 0 when DIR holds the same files as REF, byte for byte (timing files without
# their timing fields); prints the differences otherwise.
compare() {
  local job=$1 ref=$2 dir=$3 timing excluded a b f status=0
  timing=$(timing_files "$job"); excluded=$(excluded_files "$job")
  a=$( (cd "$ref" && find . -type f | sed 's|^\./||' | grep -Ev "$excluded" | sort) )
  b=$( (cd "$dir" && find . -type f | sed 's|^\./||' | grep -Ev "$excluded" | sort) )
  if [ "$a" != "$b" ]; then
    echo "    file sets differ:"; diff <(echo "$a") <(echo "$b") | sed 's/^/      /' | head -20
    status=1
  fi
  for f in $a; do
    [ -f "$dir/$f" ] || continue
    if echo "$f" | grep -Eq "$timing"; then
      cmp -s <(strip_timing "$ref/$f") <(strip_timing "$dir/$f") || { echo "    differs (timing fields removed): $f"; status=1; }
    else
      cmp -s "$ref/$f" "$dir/$f" || { echo "    differs: $f"; status=1; }
    fi
  done
  return $status
}

# compared_files JOB REF: the list written to the summary (what "identical" covers).
compared_files() {
  local timing excluded
  timing=$(timing_files "$1"); excluded=$(excluded_files "$1")
  (cd "$2" && find . -type f | sed 's|^\./||' | grep -Ev "$excluded" | sort) | while read -r f; do
    if echo "$f" | grep -Eq "$timing"; then echo "$f (without timing fields)"; else echo "$f"; fi
  done
}

overall=0
SUMMARY=$WORK/summary.txt
: >"$SUMMARY"
prepare_inputs
for job in $JOBS; do
  if ! declare -F "run_$job" >/dev/null; then echo "chaos.sh: unknown job '$job'" >&2; exit 2; fi
  jdir=$WORK/$job
  rm -rf "$jdir"; mkdir -p "$jdir"
  # Every run writes the same path ($jdir/run) and is moved aside afterwards: outputs may record
  # their own path (a model file its command line, a pipeline stage its configuration).
  dir=$jdir/run
  t0=$(now_ms)
  ( "run_$job" "$dir" ) >"$jdir/ref.log" 2>&1 || { echo "$job: the uninterrupted run failed:"; tail -5 "$jdir/ref.log"; overall=1; continue; }
  span=$(( $(now_ms) - t0 ))
  mv "$dir" "$jdir/ref"
  compared_files "$job" "$jdir/ref" >"$jdir/compared-files.txt"
  pass=0; killed=0
  for i in $(seq 1 "$KILLS"); do
    rm -rf "$dir"
    delay=$(( span * RANDOM / 32768 ))
    ( "run_$job" "$dir" ) >"$jdir/kill-$i.log" 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ $? = 137 ] && killed=$((killed + 1))
    if ! ( "run_$job" "$dir" ) >>"$jdir/kill-$i.log" 2>&1; then
      echo "$job kill $i (after ${delay} ms): the resumed run failed:"; tail -5 "$jdir/kill-$i.log" | sed 's/^/    /'
      mv "$dir" "$jdir/kill-$i"; overall=1; continue
    fi
    if compare "$job" "$jdir/ref" "$dir" >"$jdir/kill-$i.diff"; then
      pass=$((pass + 1)); rm -f "$jdir/kill-$i.diff"
      if [ $KEEP = 1 ]; then mv "$dir" "$jdir/kill-$i"; fi
    else
      echo "$job kill $i (after ${delay} ms): outputs differ from the uninterrupted run:"; cat "$jdir/kill-$i.diff"
      mv "$dir" "$jdir/kill-$i"; overall=1
    fi
  done
  rm -rf "$dir"
  line="$job: $pass/$KILLS identical ($killed killed while running, uninterrupted run ${span} ms, $(wc -l <"$jdir/compared-files.txt") files compared)"
  echo "$line" | tee -a "$SUMMARY"
done
echo "chaos: work folder $WORK (summary.txt; <job>/compared-files.txt lists the files compared)"
exit $overall
