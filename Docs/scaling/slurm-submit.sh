#!/bin/bash
# Chains the stages on a Slurm cluster: captions (one task), images (job array), the manifest
# (one task that skips every finished image and rewrites manifest.jsonl once all shards are done),
# then data-parallel training. Run from a directory on the shared file system.
set -euo pipefail
RUN=${RUN:-$PWD/run}
mkdir -p logs "$RUN"
export RUN
captions=$(sbatch --parsable --job-name=synclr-captions --cpus-per-task=8 --output=logs/captions-%j.out \
    --wrap "synclr captions --count 100000 --backend template --out $RUN/captions.jsonl")
images=$(sbatch --parsable --dependency=afterok:$captions "$(dirname "$0")/slurm-images.sbatch")
manifest=$(sbatch --parsable --dependency=afterok:$images --job-name=synclr-manifest --cpus-per-task=1 \
    --output=logs/manifest-%j.out \
    --wrap "synclr images --captions $RUN/captions.jsonl --out $RUN/images --per-caption 4 --seed 0 --shard 0/1")
sbatch --dependency=afterok:$manifest "$(dirname "$0")/slurm-train.sbatch"
