#!/bin/bash
# examples/codi/slurm-array.sh — 16 shards of one CoDi run as a Slurm job array.
#
#   sbatch examples/codi/slurm-array.sh
# Each array task k writes shard-k.jsonl; a requeued or preempted task continues its file
# (--resume). The teacher runs elsewhere (here: two vLLM servers, balanced by odlm, which takes one
# that fails out of the pool until it answers again). Afterwards:
#   python3 examples/codi/merge_shards.py /shared/codi/run1/shard-*.jsonl > run1.jsonl
#SBATCH --job-name=codi-run1
#SBATCH --array=0-15
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --time=24:00:00
#SBATCH --requeue
#SBATCH --output=logs/codi-%A_%a.log
set -euo pipefail
SHARDS=16
OUT=/shared/codi/run1
mkdir -p "$OUT"
exec odlm codi synth \
  --graph examples/codi/coqa_graph.yaml \
  --docs /shared/docs.jsonl \
  --teacher http://gpu-node-01:8000 --teacher http://gpu-node-02:8000 \
  --model meta-llama/Meta-Llama-3-70B-Instruct \
  -n 1000000 --seed 1 --concurrency 32 --rate 200 \
  --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" \
  --out "$OUT/shard-${SLURM_ARRAY_TASK_ID}.jsonl" \
  --resume --progress 60
