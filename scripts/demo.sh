#!/usr/bin/env bash
# scripts/demo.sh — README command 1: sets up, builds the odlm binary (not the tests), and asks the
# default model (models/odlm-grounded-qa.gguf, trained by odlm's own pipeline: models/README.md)
# questions about a document it has never seen, follow-ups with a pronoun and one the document does
# not answer among them. Progress is shown as it goes: the set-up's package installation, then
# CMake/Ninja's own [n/N] build lines.
#
#   bash scripts/demo.sh [DOCUMENT.txt "question" ...]
#
# With arguments, the model answers those questions about that document instead (one
# conversation, greedy).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "odlm demo: [1/3] system packages (scripts/setup.sh)"
bash scripts/setup.sh
echo "odlm demo: [2/3] building odlm (~180 steps, shown as [n/N]): a first build takes 10-20" \
     "minutes on 2 free cores, longer on a busy machine; later runs rebuild only what changed"
ODLM_BUILD_TARGETS="odlm" bash scripts/build.sh
ODLM="${ODLM_BUILD_DIR:-build}/odlm"

if [[ $# -ge 2 ]]; then
  DOC=$1
  shift
  QUESTIONS=("$@")
else
  # A held-out document: its river is one of the 200 test entities, whose names never occur in
  # the training data (models/README.md). tests/default_model_test.cc asks the same questions.
  DOC=examples/documents/zeivar-river.txt
  mapfile -t QUESTIONS < examples/documents/zeivar-river.questions.txt
fi
[[ -f $DOC ]] || { echo "odlm demo: no such document: $DOC" >&2; exit 2; }
echo "odlm demo: [3/3] the default model answers questions about $DOC (odlm chat --context)"
echo
fold -s -w 100 "$DOC"
echo
# One conversation: each answer is in the history of the next question, so "it" can be resolved.
mapfile -t ANSWERS < <(printf '%s\n' "${QUESTIONS[@]}" | "$ODLM" chat --context "$DOC" --temp 0 -n 48)
for i in "${!QUESTIONS[@]}"; do
  echo "Q: ${QUESTIONS[$i]}"
  echo "A: ${ANSWERS[$i]:-}"
done
