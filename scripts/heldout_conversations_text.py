#!/usr/bin/env python3
"""scripts/heldout_conversations_text.py — the default model's held-out conversations as one text.

Reads a CoQA-format file (models/odlm-grounded-qa.heldout.json: 40 conversations about entities
the model never saw) and writes each conversation in the CoDi role format the model was trained
on, one per line:
  [CONTEXT] document[/CONTEXT] [USER] question[/USER] [AGENT] answer[/AGENT] ...
`odlm bench-contexts --history-text OUT --special` builds its contexts from it, so the context
memory's quality is measured on text of the kind the model reads (docs/PERFORMANCE.md).

Usage: python3 scripts/heldout_conversations_text.py [IN.json] OUT.txt
"""
import json
import sys


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[-1])
    src = argv[1] if len(argv) == 3 else "models/odlm-grounded-qa.heldout.json"
    with open(src, encoding="utf-8") as f:
        data = json.load(f)["data"]
    lines = []
    for conv in data:
        turns = "".join(
            f" [USER] {q['input_text']}[/USER] [AGENT] {a['input_text']}[/AGENT]"
            for q, a in zip(conv["questions"], conv["answers"]))
        lines.append(f"[CONTEXT] {conv['story']}[/CONTEXT]{turns}")
    with open(argv[-1], "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv)
