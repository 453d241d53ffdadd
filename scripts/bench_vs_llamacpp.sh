#!/usr/bin/env bash
# scripts/bench_vs_llamacpp.sh LLAMA_CPP_BUILD_DIR [MODEL.gguf ...] — odlm vs llama.cpp, interleaved.
#
# For each model (default: TinyLlama-1.1B-shaped Q4_0, Q8_0 and Q4_K_M files generated into
# $WORK with `odlm gen-model --preset tinyllama-1.1b`), runs in every round, one after the other:
#   llama-bench -m M -t T -p P -n N -r R -o json
#   odlm bench  -m M -t T -p P -n N -r R --json             (the mmap default)
#   odlm bench  -m M -t T -p P -n N -r R --json --no-mmap
# and prints per model the median over rounds of prefill (pp P) and decode (tg N) tokens/s and the
# odlm / llama.cpp ratios. Not part of the test suite: it takes minutes per model. The machine is
# shared and noisy: run it when it is quiet, and compare ratios within one run.
#
# LLAMA_CPP_BUILD_DIR is a llama.cpp build made outside this repository (its bin/llama-bench).
# Environment: ODLM (default build/odlm), ROUNDS (3), THREADS (2), P (128), N (64), R (2),
# WORK (/tmp/odlm-vs-llamacpp), ODLM_CPU (caps odlm's kernels, e.g. avx2).
set -euo pipefail

if [[ $# -lt 1 || ! -x "$1/bin/llama-bench" ]]; then
  echo "usage: $0 LLAMA_CPP_BUILD_DIR [MODEL.gguf ...]  (needs LLAMA_CPP_BUILD_DIR/bin/llama-bench)" >&2
  exit 2
fi
LLAMA_BENCH="$1/bin/llama-bench"
shift
ODLM=${ODLM:-build/odlm}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
P=${P:-128}
N=${N:-64}
R=${R:-2}
WORK=${WORK:-/tmp/odlm-vs-llamacpp}
mkdir -p "$WORK"

models=("$@")
if [[ ${#models[@]} -eq 0 ]]; then
  for type in q4_0 q8_0 q4_K_M; do
    f="$WORK/tinyllama-shaped-$type.gguf"
    [[ -f "$f" ]] || "$ODLM" gen-model -o "$f" --preset tinyllama-1.1b --type "$type" >&2
    models+=("$f")
  done
fi

results="$WORK/results.jsonl"
: > "$results"
for round in $(seq 1 "$ROUNDS"); do
  for m in "${models[@]}"; do
    echo "round $round: $(basename "$m")" >&2
    "$LLAMA_BENCH" -m "$m" -t "$THREADS" -p "$P" -n "$N" -r "$R" -o json 2>/dev/null |
      python3 -c '
import json, sys
rows = json.load(sys.stdin)
pp = next(r["avg_ts"] for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0)
tg = next(r["avg_ts"] for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0)
print(json.dumps({"model": sys.argv[1], "runner": "llama.cpp", "pp": pp, "tg": tg}))
' "$m" >> "$results"
    for mode in mmap no-mmap; do
      extra=()
      [[ $mode == no-mmap ]] && extra=(--no-mmap)
      "$ODLM" bench -m "$m" -t "$THREADS" -p "$P" -n "$N" -r "$R" --json "${extra[@]}" 2>/dev/null |
        python3 -c '
import json, sys
j = json.loads(sys.stdin.read().strip().splitlines()[-1])
print(json.dumps({"model": sys.argv[1], "runner": "odlm " + sys.argv[2], "pp": j["prefill_tok_s"],
                  "tg": j["decode_tok_s"], "cpu": j.get("cpu_model", ""), "isa": j.get("cpu", "")}))
' "$m" "$mode" >> "$results"
    done
  done
done

python3 - "$results" "$P" "$N" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
p, n = sys.argv[2], sys.argv[3]
cpu = next((r["cpu"] + " [" + r["isa"] + "]" for r in rows if r.get("cpu")), "unknown CPU")
print(f"CPU: {cpu}; medians over rounds; pp{p} / tg{n} tokens/s")
print(f"| file | llama.cpp pp | odlm pp (ratio) | llama.cpp tg | odlm tg mmap (ratio) | odlm tg --no-mmap (ratio) |")
print("|---|---:|---:|---:|---:|---:|")
for m in dict.fromkeys(r["model"] for r in rows):
    med = lambda runner, k: statistics.median(r[k] for r in rows if r["model"] == m and r["runner"] == runner)
    lp, lt = med("llama.cpp", "pp"), med("llama.cpp", "tg")
    op, ot, on = med("odlm mmap", "pp"), med("odlm mmap", "tg"), med("odlm no-mmap", "tg")
    name = m.rsplit("/", 1)[-1]
    print(f"| {name} | {lp:.2f} | {op:.2f} ({op/lp:.2f}x) | {lt:.2f} | {ot:.2f} ({ot/lt:.2f}x) | {on:.2f} ({on/lt:.2f}x) |")
EOF
