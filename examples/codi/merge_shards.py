#!/usr/bin/env python3
"""examples/codi/merge_shards.py — merges the shard files of one `odlm codi synth` run.

    python3 examples/codi/merge_shards.py shard-*.jsonl > run.jsonl

Writes one record per conversation index, in index order: an "ok" record rather than a failed one
(the first of each kind as the files are given). Lines that are not JSON objects with an "index"
(a torn last line of a shard that was killed) are skipped and counted on stderr, as are the
duplicate records dropped — a shard run twice into two files, or two partial runs of one shard.
Records are written as they were read, byte for byte.
"""
import json
import sys


def main(paths):
    best = {}  # index -> (ok, line)
    torn = dropped = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    record = json.loads(line)
                    index = record["index"]
                except (ValueError, KeyError, TypeError):
                    torn += 1
                    continue
                ok = record.get("status") == "ok"
                if index in best:
                    dropped += 1
                    if ok and not best[index][0]:
                        best[index] = (ok, line)
                else:
                    best[index] = (ok, line)
    for index in sorted(best):
        line = best[index][1]
        sys.stdout.write(line if line.endswith("\n") else line + "\n")
    failed = sum(1 for ok, _ in best.values() if not ok)
    print(f"merge_shards: {len(best)} conversations ({failed} failed) from {len(paths)} files; "
          f"{dropped} duplicates dropped, {torn} unreadable lines skipped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
