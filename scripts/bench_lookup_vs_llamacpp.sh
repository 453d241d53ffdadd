#!/usr/bin/env bash
# scripts/bench_lookup_vs_llamacpp.sh LLAMA_CPP_BUILD_DIR [MODEL.gguf] — prompt-lookup speculative
# decoding, odlm vs llama.cpp, interleaved, on grounded-QA prompts.
#
# Prompts: each examples/documents/NAME.txt with the first question of NAME.questions.txt, in the
# default model's prompt format ("[CONTEXT] … [/CONTEXT] [USER] …[/USER] [AGENT]"), as raw text
# (both tokenize it the same way: 161–205 tokens). Each round runs, per prompt, 64 greedy tokens
# past end-of-text (--ignore-eos, so every run decodes as many tokens):
#   llama-lookup --draft 0   (its plain decoding loop)      llama-lookup --draft 8
#   odlm run (plain)   odlm run --lookup-ngram 3 --draft-max 8 (adaptive)   … --draft-fixed
# and prints per configuration the median over rounds of the mean decode rate over prompts, and
# the drafts accepted. Not part of the test suite. MODEL defaults to the default model.
# Environment: ODLM (build/odlm), ROUNDS (3), THREADS (2).
set -euo pipefail

if [[ $# -lt 1 || ! -x "$1/bin/llama-lookup" ]]; then
  echo "usage: $0 LLAMA_CPP_BUILD_DIR [MODEL.gguf]  (needs LLAMA_CPP_BUILD_DIR/bin/llama-lookup)" >&2
  exit 2
fi
LOOKUP="$1/bin/llama-lookup"
MODEL=${2:-models/odlm-grounded-qa.gguf}
ODLM=${ODLM:-build/odlm}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

prompts=()
for doc in examples/documents/*.txt; do
  [[ $doc == *.questions.txt ]] && continue
  questions="${doc%.txt}.questions.txt"
  [[ -f $questions ]] || continue
  p="$WORK/$(basename "$doc")"
  printf '[CONTEXT] %s[/CONTEXT] [USER] %s[/USER] [AGENT]' \
    "$(sed -e 's/[[:space:]]*$//' "$doc")" "$(head -1 "$questions")" > "$p"
  prompts+=("$p")
done

out="$WORK/runs.txt"
for round in $(seq 1 "$ROUNDS"); do
  for p in "${prompts[@]}"; do
    for d in 0 8; do
      r=$("$LOOKUP" -m "$MODEL" -f "$p" -n 64 --draft "$d" -t "$THREADS" --temp 0 --ignore-eos 2>&1 |
        grep -E "decoded|n_drafted|n_accept " | tr '\n' ' ')
      echo "llama.cpp_lookup_--draft_$d $round $r" >> "$out"
    done
    for cfg in "plain" "--lookup-ngram 3 --draft-max 8" "--lookup-ngram 3 --draft-max 8 --draft-fixed"; do
      args=()
      [[ $cfg != plain ]] && read -r -a args <<< "$cfg"
      r=$("$ODLM" run -m "$MODEL" -f "$p" -n 64 -t "$THREADS" --temp 0 --ignore-eos -v "${args[@]}" \
        2>&1 > /dev/null | grep -E "generated|speculative" | tr '\n' ' ')
      echo "odlm_${cfg// /_} $round $r" >> "$out"
    done
  done
done

python3 - "$out" <<'EOF'
import collections, re, statistics, sys
rates = collections.defaultdict(lambda: collections.defaultdict(list))
drafts = collections.defaultdict(lambda: [0, 0])
for line in open(sys.argv[1]):
    cfg, rnd = line.split()[:2]
    m = re.search(r"speed:\s+([\d.]+) t/s", line) or re.search(r"generated, ([\d.]+) tok/s", line)
    rates[cfg][rnd].append(float(m.group(1)))
    d = re.search(r"n_drafted\s+=\s+(\d+) n_accept\s+=\s+(\d+)", line) or \
        re.search(r"(\d+) drafted .*?(\d+) accepted", line)
    if d:
        drafts[cfg][0] += int(d.group(1))
        drafts[cfg][1] += int(d.group(2))
print("| configuration | decode tok/s (median of rounds) | rounds | drafted | accepted |")
print("|---|---:|---|---:|---:|")
for cfg, by_round in rates.items():
    per_round = [statistics.mean(v) for v in by_round.values()]
    d, a = drafts[cfg]
    print(f"| {cfg.replace('_', ' ')} | {statistics.median(per_round):.1f} | "
          f"{', '.join(f'{x:.0f}' for x in per_round)} | {d} | {a} ({100 * a / max(1, d):.0f}%) |")
EOF
