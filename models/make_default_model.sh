#!/usr/bin/env bash
# models/make_default_model.sh — makes odlm's default model end to end with odlm's own pipeline
# (models/README.md): synthetic world → CoDi conversations from the world teacher → BPE tokenizer →
# training from scratch → quantization → held-out evaluation. Every step is seeded; the same
# commands on the same build give the same files.
#
#   bash models/make_default_model.sh [WORK_DIR]        (default WORK_DIR: build/default-model)
#
# Resumable: each finished step leaves its output and is skipped on the next run; training writes
# checkpoints to WORK_DIR/ckpt and continues from the last one (kill it at any time and run the
# script again). Environment: ODLM (the odlm binary, default build/odlm), THREADS (training
# threads, default 2: the summation order of the gradients depends on the thread count, so the
# committed model is remade bit for bit with 2), STEPS (optimizer steps, default the recipe's),
# OUT (the quantized model, default models/odlm-grounded-qa.gguf).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ODLM=${ODLM:-$ROOT/build/odlm}
WORK=${1:-$ROOT/build/default-model}
OUT=${OUT:-$ROOT/models/odlm-grounded-qa.gguf}
THREADS=${THREADS:-2}
GRAPH=$ROOT/examples/world/grounded_qa_graph.yaml
CONFIG=$ROOT/models/odlm-grounded-qa.config.json
TEMPLATE=$ROOT/models/codi_chat_template.jinja

# --- the recipe (models/README.md explains each choice) ---
WORLD_SEED=1 TRAIN_ENTITIES=10000 TEST_ENTITIES=200
TRAIN_CONVS=40000 TEST_CONVS=400 SYNTH_SEED=1 TEST_SEED=2
VOCAB_SIZE=2048
STEPS=${STEPS:-3000} BATCH=8 CTX=512 LR=2e-3 WARMUP=100 MIN_LR_RATIO=0.05 TRAIN_SEED=1
ROLE_WEIGHTS=CONTEXT=1,USER=1,AGENT=1
QUANT=q8_0

[[ -x $ODLM ]] || { echo "make_default_model: $ODLM not found; build odlm first (bash scripts/build.sh)" >&2; exit 1; }
mkdir -p "$WORK"
cd "$WORK"
step() { echo "make_default_model: $*"; }

if [[ ! -f world/world.json ]]; then
  step "world: $TRAIN_ENTITIES train + $TEST_ENTITIES test entities, seed $WORLD_SEED"
  "$ODLM" world gen --seed "$WORLD_SEED" --entities "$TRAIN_ENTITIES" \
    --test-entities "$TEST_ENTITIES" --out-dir world
fi

if [[ ! -f train.jsonl || ! -f test_coqa.json ]]; then
  step "conversations: CoDi synthesis against the world teacher"
  "$ODLM" world teacher --world world/world.json --port 0 --threads 32 > teacher.out 2> teacher.err &
  TEACHER=$!
  trap 'kill $TEACHER 2>/dev/null || true' EXIT
  for _ in $(seq 100); do grep -q listening teacher.out 2>/dev/null && break; sleep 0.1; done
  URL=$(grep -o 'http://[0-9.:]*' teacher.out | head -1)
  [[ -n $URL ]] || { echo "make_default_model: the teacher did not start: $(cat teacher.err)" >&2; exit 1; }
  # A partly written --out file (an interrupted run) is continued with --resume.
  TRAIN_RESUME=() TEST_RESUME=()
  [[ -s train_convs.jsonl ]] && TRAIN_RESUME=(--resume)
  [[ -s test_convs.jsonl ]] && TEST_RESUME=(--resume)
  "$ODLM" codi synth --graph "$GRAPH" --docs world/train.jsonl --teacher "$URL" \
    --model odlm-world-teacher --out train_convs.jsonl -n "$TRAIN_CONVS" --concurrency 16 \
    --seed "$SYNTH_SEED" "${TRAIN_RESUME[@]}"
  "$ODLM" codi synth --graph "$GRAPH" --docs world/test.jsonl --teacher "$URL" \
    --model odlm-world-teacher --out test_convs.jsonl -n "$TEST_CONVS" --seed "$TEST_SEED" \
    "${TEST_RESUME[@]}"
  kill $TEACHER; wait $TEACHER 2>/dev/null || true
  trap - EXIT
  "$ODLM" codi export train_convs.jsonl --format odlm --out train.jsonl
  "$ODLM" codi export test_convs.jsonl --format coqa --out test_coqa.json
fi

# The held-out sample tests/default_model_test.cc scores (the first 40 test conversations), the
# held-out document README command 1 asks about (test entity test-0084, the Zeivar River) and the
# 200 held-out documents and the 400 held-out conversations (in the CoDi format) as texts
# (docs/PERFORMANCE.md's perplexity and context-memory runs).
if [[ ! -f heldout_sample.json || ! -f heldout_docs.txt || ! -f heldout_convs.txt ]]; then
  grep -E '"id":"c000000[0-3][0-9]",' test_convs.jsonl > heldout_sample.jsonl
  "$ODLM" codi export heldout_sample.jsonl --format coqa --out heldout_sample.json
  "$ODLM" codi export test_convs.jsonl --format odlm --out heldout_convs.jsonl
  python3 -c 'import json
open("heldout_convs.txt", "w").write("\n".join(json.loads(l)["text"] for l in open("heldout_convs.jsonl")) + "\n")'
  python3 -c 'import json, sys
docs = [json.loads(line) for line in open("world/test.jsonl")]
sys.stdout.write("\n\n".join(d["text"] for d in docs) + "\n")
open("zeivar-river.txt", "w").write(next(d for d in docs if d["id"] == "test-0084")["text"] + "\n")' \
    > heldout_docs.txt
fi

if [[ ! -f vocab.gguf ]]; then
  step "tokenizer: byte-level BPE, $VOCAB_SIZE tokens, CoDi role tags as single tokens"
  "$ODLM" tokenizer train --input train.jsonl --format jsonl --field text \
    --vocab-size "$VOCAB_SIZE" --special '<|endoftext|>' --special '[CONTEXT]' \
    --special '[/CONTEXT]' --special '[USER]' --special '[/USER]' --special '[AGENT]' \
    --special '[/AGENT]' --special-type user --bos '<|endoftext|>' --eos '[/AGENT]' \
    --pad '<|endoftext|>' --chat-template "$TEMPLATE" --out vocab.gguf
fi

if [[ ! -f model-f32.gguf ]]; then
  step "training: $STEPS steps of $BATCH x $CTX tokens (resumes from ckpt/)"
  sed "s|\"vocab\": *\"[^\"]*\"|\"vocab\": \"$WORK/vocab.gguf\"|" "$CONFIG" > config.json
  RESUME=()
  [[ -f ckpt/checkpoint.gguf ]] && RESUME=(--resume)
  "$ODLM" train full --init config.json --data train.jsonl --format codi \
    --role-weights "$ROLE_WEIGHTS" --out model-f32.gguf --steps "$STEPS" --batch "$BATCH" \
    --ctx "$CTX" --lr "$LR" --warmup "$WARMUP" --schedule cosine --min-lr-ratio "$MIN_LR_RATIO" \
    --seed "$TRAIN_SEED" --val-frac 0.01 --eval-every 250 --checkpoint-dir ckpt \
    --checkpoint-every 50 --plot loss.svg -t "$THREADS" "${RESUME[@]}"
fi

step "quantization: $QUANT -> $OUT"
"$ODLM" quantize model-f32.gguf "$OUT" "$QUANT"
cp heldout_sample.json "$(dirname "$OUT")/odlm-grounded-qa.heldout.json"
cp zeivar-river.txt "$ROOT/examples/documents/zeivar-river.txt"

step "evaluation on the held-out entities (gold and predicted history)"
"$ODLM" eval coqa --data test_coqa.json -m "$OUT" --history gold \
  --refusal "The document does not say." --out preds_gold.json
"$ODLM" eval coqa --data test_coqa.json -m "$OUT" --history pred \
  --refusal "The document does not say." --out preds_pred.json
"$ODLM" eval report --data test_coqa.json --preds preds_gold.json --preds-pred preds_pred.json \
  --out report
"$ODLM" eval score coqa --data test_coqa.json --preds preds_gold.json
"$ODLM" eval score coqa --data test_coqa.json --preds preds_pred.json
