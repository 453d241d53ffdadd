#!/usr/bin/env python3
"""scripts/check_layers.py — fails on an #include or a link that points up the layer order
(ARCHITECTURE.md).

Each folder under src/ may include only itself and the folders listed for it below (its .h, .cc
and .inc files); its tests and benchmarks (*_test.cc, *_bench.cc) may also include tests/support.
tools/ and tests/ may include anything. Public headers (include/odlm/) are the engine's API: core
layers below the engine must not include them. The build graph is checked the same way: every
library an src/<folder>/CMakeLists.txt declares may link only odlm libraries of its own folder and
the folders below it.
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
CMAKE_TARGET = re.compile(r"odlm_(library|test|benchmark)\(\s*([a-z_0-9]+)(.*?)\)", re.S)
CMAKE_DEP = re.compile(r"\bodlm_([a-z_0-9]+)\b")


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
        if path.suffix not in (".h", ".cc", ".inc") or not path.is_file():
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
            if not m:
                continue
            target = m.group(1)
            if target == layer or target in ALLOWED[layer] or (is_test and target == "tests"):
                continue
            if target not in ALLOWED and target != "odlm":
                continue  # not one of ours (e.g. a library header in quotes)
            errors.append(f"{path.relative_to(root)}:{lineno}: '{layer}' may not include '{target}/'")
    errors += check_cmake_links(root)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check_layers: {len(errors)} upward include(s) or link(s)", file=sys.stderr)
        return 1
    print("check_layers: includes and links point down only")
    return 0


def check_cmake_links(root: pathlib.Path):
    """Every odlm_library/odlm_test/odlm_benchmark in src/<folder>/CMakeLists.txt links only odlm
    libraries of its folder or of the folders below it."""
    errors = []
    libraries = {}  # library name (without odlm_) -> the folder that declares it
    files = sorted(root.glob("src/*/CMakeLists.txt"))
    for cmake in files:
        for m in CMAKE_TARGET.finditer(cmake.read_text(encoding="utf-8")):
            if m.group(1) == "library":
                libraries[m.group(2)] = cmake.parent.name
    for cmake in files:
        folder = cmake.parent.name
        if folder not in ALLOWED:
            continue
        for m in CMAKE_TARGET.finditer(cmake.read_text(encoding="utf-8")):
            deps = m.group(3).split("DEPS", 1)[1] if "DEPS" in m.group(3) else ""
            for dep in CMAKE_DEP.findall(deps):
                dep_folder = libraries.get(dep)
                if dep_folder is None:
                    continue  # not a layer library (test_main and the like)
                if dep_folder == folder or dep_folder in ALLOWED[folder]:
                    continue
                errors.append(f"{cmake.relative_to(root)}: {m.group(1)} '{m.group(2)}' of "
                              f"'{folder}' may not link odlm_{dep} ('{dep_folder}/')")
    return errors


if __name__ == "__main__":
    sys.exit(main())
