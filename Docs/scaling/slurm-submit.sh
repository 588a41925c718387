#!/bin/bash
# Chains the stages on a Slurm cluster: captions (MPI ranks), images (job array), the manifest
# (one task that skips every finished image and rewrites manifest.jsonl once all shards are done),
# then data-parallel training. Run from a directory on the shared file system.
set -euo pipefail
RUN=${RUN:-$PWD/run}
mkdir -p logs "$RUN"
export RUN
# Captions on 4 MPI ranks (srun starts them through PMIx): each generates alternate batches, rank 0
# writes captions.jsonl, byte-identical to one process's.
captions=$(sbatch --parsable --job-name=synclr-captions --ntasks=4 --cpus-per-task=2 --output=logs/captions-%j.out \
    --wrap "srun --mpi=pmix synclr captions --count 100000 --backend native --out $RUN/captions.jsonl --shard auto")
images=$(sbatch --parsable --dependency=afterok:$captions "$(dirname "$0")/slurm-images.sbatch")
manifest=$(sbatch --parsable --dependency=afterok:$images --job-name=synclr-manifest --cpus-per-task=1 \
    --output=logs/manifest-%j.out \
    --wrap "synclr images --captions $RUN/captions.jsonl --out $RUN/images --per-caption 4 --seed 0 --shard 0/1")
sbatch --dependency=afterok:$manifest "$(dirname "$0")/slurm-train.sbatch"
