#!/usr/bin/env python3
"""tests/docs/check.py — every listing in docs/ is what the tools print today.

A listing in a doc is a fenced block right after an HTML comment that names the command
producing it:

    <!-- lvm dis docs/add.wat --func 0 -->
    ```
    ...what that command prints...
    ```

The comment is invisible on GitHub; the reader sees the listing, and can run the command
(after `wat2wasm docs/add.wat`). This script runs every such command and compares its
output with the block. Any argument ending in `.wat` is first built with wat2wasm into
a scratch folder, and the command runs there with the module's base name (`add.wasm`),
so the listing holds no path of this machine. Commands: `lvm` (the binary given with
--lvm), and the standard tools `od` and `wasm-objdump`.

    tests/docs/check.py --lvm build/lvm [--update] [docs/x.md ...]

Exits 1 with a unified diff for each stale listing. --update rewrites the blocks from
the tools' output instead (read the result with `git diff` before committing it).
"""
import argparse
import difflib
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^<!--\s*((?:lvm|od|wasm-objdump)\s.*?)\s*-->\s*$")
TOOLS = {"lvm", "od", "wasm-objdump"}


def build_wat(wat, scratch):
    """wat2wasm wat into scratch/<base>.wasm; returns that name (relative to scratch)."""
    base = os.path.splitext(os.path.basename(wat))[0] + ".wasm"
    subprocess.run(["wat2wasm", wat, "-o", os.path.join(scratch, base)], check=True)
    return base


def run(command, lvm, scratch):
    """The output of one marker's command, run in the scratch folder."""
    argv = shlex.split(command)
    if argv[0] not in TOOLS:
        raise SystemExit(f"check.py: '{argv[0]}' is not a tool listings may come from")
    if argv[0] == "lvm":
        argv[0] = os.path.abspath(lvm)
    argv = [build_wat(a, scratch) if a.endswith(".wat") else a for a in argv]
    p = subprocess.run(argv, cwd=scratch, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return p.stdout


def listings(lines):
    """(marker line index, command, first line of the block, index of the closing fence)."""
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if not m:
            i += 1
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            yield i, m.group(1), None, None
            i += 1
            continue
        end = i + 2
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        yield i, m.group(1), i + 2, end
        i = end + 1


def check_file(path, lvm, scratch, update):
    with open(path) as f:
        lines = f.read().split("\n")
    stale = 0
    count = 0
    out = list(lines)
    shift = 0   # lines added or removed above, when updating
    for at, command, start, end in listings(lines):
        if start is None:
            print(f"{path}:{at + 1}: a listing marker must be followed by a ``` block")
            stale += 1
            continue
        count += 1
        want = lines[start:end]
        got = run(command, lvm, scratch).rstrip("\n").split("\n")
        if got == want:
            continue
        if update:
            out[start + shift:end + shift] = got
            shift += len(got) - len(want)
            continue
        stale += 1
        print(f"{path}:{at + 1}: the listing of `{command}` is stale:")
        sys.stdout.writelines(l + "\n" for l in difflib.unified_diff(
            want, got, "in the doc", "printed today", lineterm=""))
    if update and out != lines:
        with open(path, "w") as f:
            f.write("\n".join(out))
        print(f"{path}: listings rewritten")
    return count, stale


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lvm", default="build/lvm")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("docs", nargs="*")
    args = ap.parse_args()
    docs = args.docs or sorted(glob.glob("docs/*.md"))
    total = stale = 0
    with tempfile.TemporaryDirectory(prefix="lvm-docs-") as scratch:
        for d in docs:
            n, s = check_file(d, args.lvm, scratch, args.update)
            total += n
            stale += s
    if stale:
        print(f"tests/docs: {stale} of {total} listings are stale "
              f"(tests/docs/check.py --lvm {args.lvm} --update rewrites them)")
        return 1
    print(f"tests/docs: {total} listings match what the tools print")
    return 0


if __name__ == "__main__":
    sys.exit(main())
