#!/usr/bin/env bash
# scripts/check_docs_examples.sh — runs the example commands of README.md and docs/*.md as printed,
# from a scratch copy of the repository's layout, and checks the flags every documented odlm
# command line names.
#
#   bash scripts/check_docs_examples.sh [--odlm PATH] [--timeout SECONDS] [--list] [FILE.md …]
#
# What it does, per Markdown file (default: README.md and docs/*.md):
#  1. Every fenced code block of shell commands (``` or ```sh/bash/console; blocks whose first
#     word is not a command, such as diagrams, are not commands) is run with bash -euo pipefail in
#     a scratch directory that looks like the repository root: examples/, docs/ and scripts/ link
#     to the repository's, build/ to the build that holds the odlm binary, and `odlm` is on PATH.
#     A block is one unit (its lines may use each other's files). A block is SKIPPED, with the
#     reason printed, when it needs what a check cannot have: a running server or a teacher model,
#     minutes of compute (the 1.1B-parameter presets, full benchmarks), a build of its own, or the
#     machine set-up of README's two commands. A Markdown comment on the line before a block,
#     <!-- docs-example: skip REASON -->, skips it with that reason.
#  2. Every odlm command line, in code blocks (run or skipped) and in `inline code`, must name an
#     existing command, and each of its flags must be one that command's --help lists.
# Exit status: 0 when nothing failed (skips are not failures), 1 otherwise, 2 on a usage error.
# Bounded: each block runs under `timeout` (default 300 s). No network is used.
# --list prints what would run and what would be skipped, without running anything.
set -euo pipefail
cd "$(dirname "$0")/.."
ODLM_BIN="${ODLM_BUILD_DIR:-build}/odlm"
TIMEOUT_S=300
LIST=0
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --odlm) ODLM_BIN=$2; shift 2 ;;
    --timeout) TIMEOUT_S=$2; shift 2 ;;
    --list) LIST=1; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "check_docs_examples: unknown option $1" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done
if [ ${#files[@]} -eq 0 ]; then files=(README.md docs/*.md); fi
if [ ! -x "$ODLM_BIN" ]; then
  echo "check_docs_examples: no odlm binary at $ODLM_BIN (build it first: bash scripts/build.sh," \
       "or pass --odlm PATH)" >&2
  exit 2
fi
ODLM_BIN=$(cd "$(dirname "$ODLM_BIN")" && pwd)/$(basename "$ODLM_BIN")

exec python3 - "$ODLM_BIN" "$TIMEOUT_S" "$LIST" "${files[@]}" <<'PY'
import os, re, shutil, subprocess, sys, tempfile

odlm, timeout_s, list_only, files = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4:]
repo = os.getcwd()
build_dir = os.path.dirname(odlm)

# Words a command line of a shell block may start with; a block starting otherwise is not a
# command block (a diagram, program output).
COMMAND_WORDS = {"odlm", "bash", "sh", "cmake", "ninja", "curl", "mkdir", "for", "kill", "export",
                 "cd", "printf", "echo", "python3", "cat", "rm", "cp", "ls", "wait", "sleep"}

# Automatic skips: (regex on the block's text, reason). The first that matches wins.
SKIPS = [
    (r"scripts/(demo|test|setup)\.sh", "README's set-up command: installs packages and builds "
     "everything (run by hand or by CI, not from a check)"),
    (r"(^|\n|;|&&)\s*(cmake|ninja)\b", "builds a tree of its own (this check runs an existing build)"),
    (r"--teacher\b", "needs a teacher: a large model behind an OpenAI-compatible server"),
    (r"\bodlm (serve|world teacher)\b|\bcurl\b|&\s*($|\n)", "needs a running server"),
    (r"tinyllama-1\.1b|/tmp/models/tl-|\btl-q4_0\.gguf|\btiny-llama-lora-r8\.gguf",
     "minutes of compute or the optional reference data (a 1.1B-parameter model, or the "
     "reference adapter)"),
    (r"\bbench-contexts\b(?![^\n]*--quick)", "minutes of compute (a full context-memory benchmark)"),
    (r"build[-\w]*/src/\S+_bench\b", "a benchmark binary of its own build"),
]

def blocks_of(path):
    """Yields (line number, language, annotation, text) of each fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+|~~~+)\s*([\w-]*)", lines[i])
        if not m:
            i += 1
            continue
        fence, lang, start = m.group(2), m.group(3), i
        annotation = None
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0:
            a = re.match(r"^\s*<!--\s*docs-example:\s*skip\s+(.*?)\s*-->\s*$", lines[j])
            if a:
                annotation = a.group(1)
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        yield start + 1, lang, annotation, "\n".join(body)

def commands_of(text):
    """The logical command lines of a shell block: continuations joined, comments dropped."""
    out, cur = [], ""
    for line in text.split("\n"):
        if cur == "" and (not line.strip() or line.strip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        out.append(cur + line)
        cur = ""
    if cur:
        out.append(cur)
    return out

def first_word(cmd):
    words = cmd.strip().split()
    while words and re.match(r"^[A-Za-z_]\w*=", words[0]):  # VAR=value before the command
        rest = words[0].split("=", 1)[1]
        if rest.startswith("$("):
            return first_word(rest[2:] + " " + " ".join(words[1:]))
        words = words[1:]
    w = words[0] if words else ""
    return "odlm" if re.match(r"^(\./)?(build[-\w]*/)?odlm$", w) else w

def segments(cmd):
    """The simple commands of a command line: split at $( ), ;, &&, ||, pipes and &."""
    return [p.strip() for p in re.split(r"\$\(|\)|;|&&|\|\||\s\|\s|&", cmd) if p.strip()]

# --- flags: every documented odlm command line names flags its --help lists ---------------------
help_cache = {}
def help_text(words):
    key = tuple(words)
    if key not in help_cache:
        try:
            r = subprocess.run([odlm] + list(words) + ["--help"], capture_output=True, text=True,
                               timeout=30)
            help_cache[key] = (r.returncode, r.stdout + r.stderr)
        except subprocess.TimeoutExpired:
            help_cache[key] = (1, "")
    return help_cache[key]

def check_flags(cmd, where, problems):
    words = cmd.replace("\\|", "|").split()
    if not words or first_word(cmd) != "odlm":
        return
    args = words[1:]
    if not args or not re.match(r"^[a-z][a-z0-9-]*(\|[a-z0-9-|]+)?$", args[0]):
        return
    command = args[0].split("|")[0]
    rc, top = help_text([command])
    if rc != 0:
        problems.append(f"{where}: `odlm {command}` is not an odlm command")
        return
    texts = [top]
    if len(args) > 1 and re.match(r"^[a-z][a-z0-9-]*(\|[a-z0-9|-]+)?$", args[1]):
        for sub in args[1].split("|"):
            rc2, sub_help = help_text([command, sub])
            if rc2 == 0 and sub_help != top:
                texts.append(sub_help)
    joined = "\n".join(texts)
    rest = " ".join(args[1:])
    for flag in sorted(set(re.findall(r"(?<![\w\-./=:])(--?[A-Za-z][\w-]*)", rest))):
        if flag in ("-h", "--help"):
            continue
        if not re.search(r"(?<![\w-])" + re.escape(flag) + r"(?![\w-])", joined):
            problems.append(f"{where}: `odlm {' '.join(args[:2])}`: {flag} is not an option "
                            f"of that command (see odlm {command} --help)")

# --- the scratch repository ------------------------------------------------------------------------
def scratch_dir():
    d = tempfile.mkdtemp(prefix="odlm-docs-examples-")
    for name in ("examples", "docs", "scripts", "tests", "src"):
        os.symlink(os.path.join(repo, name), os.path.join(d, name))
    os.symlink(build_dir, os.path.join(d, "build"))
    os.makedirs(os.path.join(d, ".bin"))
    os.symlink(odlm, os.path.join(d, ".bin", "odlm"))
    return d

ran = failed = skipped = 0
problems = []
for path in files:
    rel = os.path.relpath(path, repo)
    text = open(path, encoding="utf-8").read()
    # Inline code: `odlm …` spans outside fenced blocks.
    outside = re.sub(r"(?ms)^(\s*)(```+|~~~+).*?^\s*\2[ \t]*$", "", text)
    for n, line in enumerate(outside.split("\n"), 1):
        for span in re.findall(r"`((?:build[-\w]*/)?odlm [^`]+)`", line):
            check_flags(span, f"{rel} (inline `{span[:40]}…`)", problems)
    for line_no, lang, annotation, body in blocks_of(path):
        if lang not in ("", "sh", "bash", "shell", "console"):
            continue
        cmds = commands_of(body)
        if not cmds or first_word(cmds[0]) not in COMMAND_WORDS:
            continue
        where = f"{rel}:{line_no}"
        for c in cmds:
            for seg in segments(c):
                check_flags(seg, where, problems)
        reason = annotation
        if reason is None:
            for pattern, why in SKIPS:
                if re.search(pattern, body):
                    reason = why
                    break
        label = cmds[0].strip()[:72] + (" …" if len(cmds) > 1 or len(cmds[0].strip()) > 72 else "")
        if reason is not None:
            skipped += 1
            print(f"SKIP {where}: {label}\n     ({reason})")
            continue
        if list_only:
            print(f"RUN  {where}: {label}")
            continue
        work = scratch_dir()
        env = dict(os.environ, PATH=os.path.join(work, ".bin") + os.pathsep + os.environ["PATH"])
        try:
            r = subprocess.run(["timeout", "--kill-after=10", str(timeout_s), "bash", "-euo",
                                "pipefail", "-c", body], cwd=work, env=env, capture_output=True,
                               text=True)
            rc, out = r.returncode, r.stdout + r.stderr
        finally:
            shutil.rmtree(work, ignore_errors=True)
        ran += 1
        if rc == 0:
            print(f"OK   {where}: {label}")
        else:
            failed += 1
            why = f"timed out after {timeout_s} s" if rc in (124, 137) else f"exit status {rc}"
            print(f"FAIL {where}: {label}\n     ({why}); its output ends with:")
            for l in out.rstrip().split("\n")[-25:]:
                print("     | " + l)

for p in problems:
    print("FAIL " + p)
print(f"check_docs_examples: {ran} blocks run, {failed} failed, {skipped} skipped; "
      f"{len(problems)} flag problems")
sys.exit(1 if failed or problems else 0)
PY
