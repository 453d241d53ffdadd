#!/usr/bin/env python3
"""scripts/check_layers.py — fails on an #include that points up the layer order (ARCHITECTURE.md).

Each folder under src/ may include only itself and the folders listed for it below; tools/ and
tests may include anything. Public headers (include/odlm/) are the engine's API: core layers below
the engine must not include them.
"""
import pathlib
import re
import sys

ALLOWED = {
    "base": set(),
    "platform": {"base"},
    "tensor": {"base"},
    "kernels": {"base", "platform", "tensor"},
    "gguf": {"base", "platform", "tensor"},
    "tokenizer": {"base", "platform", "gguf"},
    "sample": {"base"},
    "model": {"base", "platform", "tensor", "kernels", "gguf", "adapters"},
    "model_gen": {"base", "platform", "tensor", "kernels", "gguf", "tokenizer", "model", "adapters"},
    "adapters": {"base", "platform", "tensor", "kernels", "gguf"},
    "kv": {"base", "platform", "tensor", "kernels"},
    "engine": {"base", "platform", "tensor", "kernels", "gguf", "tokenizer", "sample", "model",
               "adapters", "kv", "odlm"},
    "train": {"base", "platform", "tensor", "kernels", "gguf", "tokenizer", "sample", "model",
              "model_gen", "adapters", "kv"},
}
CORE = set(ALLOWED)
FRONTENDS = {"eval", "codi", "server", "world"}
for f in FRONTENDS:
    # Frontends use the public API and the leaf modules, never each other's internals.
    ALLOWED[f] = (CORE | {"odlm"}) - {"model", "kv", "adapters"}
ALLOWED["odlm"] = CORE - {"odlm"}  # include/odlm may name core types it wraps

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_0-9]+)/')


def layer_of(path: pathlib.Path, root: pathlib.Path):
    rel = path.relative_to(root).parts
    if rel[0] == "src" and len(rel) > 2:
        return rel[1]
    if rel[0] == "include" and len(rel) > 2:
        return rel[1]
    return None


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    errors = []
    for path in sorted(list(root.glob("src/**/*")) + list(root.glob("include/**/*"))):
        if path.suffix not in (".h", ".cc") or not path.is_file():
            continue
        layer = layer_of(path, root)
        if layer is None:
            continue
        if layer not in ALLOWED:
            errors.append(f"{path.relative_to(root)}: folder '{layer}' has no place in the layer map")
            continue
        is_test = path.stem.endswith("_test") or path.stem.endswith("_bench")
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m or is_test:
                continue
            target = m.group(1)
            if target == layer or target in ALLOWED[layer]:
                continue
            if target not in ALLOWED and target != "odlm":
                continue  # not one of ours (e.g. a library header in quotes)
            errors.append(f"{path.relative_to(root)}:{lineno}: '{layer}' may not include '{target}/'")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check_layers: {len(errors)} upward include(s)", file=sys.stderr)
        return 1
    print("check_layers: includes point down only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
