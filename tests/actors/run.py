#!/usr/bin/env python3
"""run.py — the actor test driver (tests/actors/README.md).

Builds the guest programs tests/actors/*.c for wasm32-wasi (with the guest SDK, sdk/*.c),
and the modules tests/actors/mod_*.c that tests load at run time (no libc, no _start),
then runs every test through the real lvm binary and compares its exit status and stdout
with what the test states. Each test runs twice, with `--threads 1` (one worker on the
main thread, deterministic) and with the default number of worker threads, unless its
`// lvm:` line chooses the threads itself. Prints `PASS name` / `FAIL name: why` (or
XFAIL / FIXED / STALE, see expected-failures.txt) per run and ends with
`actors: N passed, M failed`.

    run.py [--build-dir DIR] [--only GLOB] [--verbose] [--keep-going] LVM
"""

import argparse
import concurrent.futures
import fnmatch
import glob
import os
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMEOUT = float(os.environ.get("LVM_ACTORS_TIMEOUT", "60"))   # seconds per lvm run

# The two ways every test runs: (suffix, lvm options).
MODES = [("t1", ["--threads", "1"]), ("tN", [])]

GUEST_CC = ["clang", "--target=wasm32-wasi"]
GUEST_CFLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-I" + ROOT]


# ---- building --------------------------------------------------------------------------------

def newer(target, deps):
    return os.path.exists(target) and all(os.path.getmtime(d) <= os.path.getmtime(target)
                                          for d in deps)


def run_cmd(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        msg = (r.stderr.strip() or "exit %d" % r.returncode).splitlines()
        errs = [l for l in msg if "error" in l] or msg
        return "build failed: " + errs[0]
    return None


def sdk_objects(build_dir):
    """The SDK's objects: build/guest/sdk/X.o when make has built it from the current
    sdk/X.c, else our own compile of it. Returns (objects, error)."""
    objs = []
    headers = glob.glob(os.path.join(ROOT, "sdk", "*.h"))
    for src in sorted(glob.glob(os.path.join(ROOT, "sdk", "*.c"))):
        name = os.path.splitext(os.path.basename(src))[0]
        made = os.path.join(ROOT, "build", "guest", "sdk", name + ".o")
        if newer(made, [src] + headers):
            objs.append(made)
            continue
        obj = os.path.join(build_dir, "sdk-" + name + ".o")
        if not newer(obj, [src] + headers):
            err = run_cmd(GUEST_CC + GUEST_CFLAGS + ["-c", src, "-o", obj])
            if err:
                return None, "sdk/%s.c: %s" % (name, err)
        objs.append(obj)
    return objs, None


def file_flags(src, key):
    """`// key: flags` lines of a source (build options of the whole file)."""
    out = []
    with open(src, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if s.startswith("// %s:" % key):
                out += shlex.split(s.split(":", 1)[1])
    return out


def build_guest(src, build_dir, sdk):
    """Compile src to build_dir/NAME.wasm unless it is up to date. A mod_*.c file is a
    module for lvm_module_load: no libc, no _start, its functions exported by name.
    Returns (wasm_path, error_text_or_None)."""
    name = os.path.splitext(os.path.basename(src))[0]
    obj = os.path.join(build_dir, name + ".o")
    wasm = os.path.join(build_dir, name + ".wasm")
    is_mod = name.startswith("mod_")
    deps = [src, os.path.join(HERE, "common.h"), os.path.join(HERE, "run.py")]
    deps += glob.glob(os.path.join(ROOT, "sdk", "*.h"))
    libs = [] if is_mod else sdk
    if newer(wasm, deps + libs):
        return wasm, None
    cflags = GUEST_CFLAGS + file_flags(src, "cflags")
    # Link without -O: clang 14 would run binaryen's wasm-opt if it finds one on PATH.
    if is_mod:
        link = GUEST_CC + ["-nostdlib", "-Wl,--no-entry", obj, "-o", wasm]
    else:
        link = GUEST_CC + [obj] + libs + file_flags(src, "ldflags") + ["-o", wasm]
    for cmd in (GUEST_CC + cflags + ["-c", src, "-o", obj], link):
        err = run_cmd(cmd)
        if err:
            return None, err
    return wasm, None


# ---- test descriptions ---------------------------------------------------------------------------

class Test:
    def __init__(self, name, program, args, where):
        self.name = name           # PROGRAM.SECTION, or set by `// name:`
        self.program = program     # NAME of NAME.c
        self.args = args           # guest arguments (after the module)
        self.where = where
        self.lvm = []              # lvm options (before the module)
        self.expect = []           # stdout lines, exactly
        self.status = 0
        self.stderr = []           # substrings stderr must contain
        self.timeout = TIMEOUT
        self.tsan_args = None       # instead of args when lvm is built with ThreadSanitizer

    def modes(self):
        if "--threads" in self.lvm:
            return [(None, [])]
        return MODES


def parse_directives(src):
    """The `// test:` blocks of a guest source:

        // test: SECTION [args...]    a test running the program with these arguments
        // name: NAME                 its name (default: SECTION)
        // lvm: OPTIONS               lvm options; {mods} is the folder of the mod_*.wasm
        // expect: LINE               a line of stdout (all of them, in order)
        // status: N                  the exit status (default 0)
        // stderr: TEXT               stderr contains TEXT
        // timeout: SECONDS           instead of the default (per run)
        // tsan: SECTION [args]       the arguments instead when lvm is built with
                                      ThreadSanitizer (for tests too big for it)
    In expect lines, {argN} is the Nth argument of the run (0: the section).
    """
    prog = os.path.splitext(os.path.basename(src))[0]
    tests, t = [], None
    with open(src, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s.startswith("// "):
                continue
            key, sep, val = s[3:].partition(":")
            if not sep or " " in key:
                continue
            val = val[1:] if val.startswith(" ") else val
            where = "%s:%d" % (os.path.basename(src), lineno)
            if key == "test":
                args = shlex.split(val)
                if not args:
                    raise SystemExit("%s: `test:` needs at least the section name" % where)
                t = Test("%s.%s" % (prog, args[0]), prog, args, where)
                tests.append(t)
                continue
            if key not in ("name", "lvm", "expect", "status", "stderr", "timeout", "tsan"):
                continue
            if t is None:
                raise SystemExit("%s: `%s:` before any `test:`" % (where, key))
            if key == "name":
                t.name = "%s.%s" % (prog, val.strip())
            elif key == "lvm":
                t.lvm += shlex.split(val)
            elif key == "expect":
                t.expect.append(val)
            elif key == "status":
                t.status = int(val)
            elif key == "stderr":
                t.stderr.append(val)
            elif key == "tsan":
                t.tsan_args = shlex.split(val)
            elif key == "timeout":
                t.timeout = float(val) * float(os.environ.get("LVM_ACTORS_TIMEOUT_SCALE", "1"))
    return tests


# ---- running -------------------------------------------------------------------------------------

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer", "runtime error:")


def tsan_build(lvm):
    """Whether lvm was built with ThreadSanitizer (its runtime's symbols are in it)."""
    try:
        with open(lvm, "rb") as f:
            return b"__tsan_init" in f.read()
    except OSError:
        return False


def run_test(t, mode_opts, lvm, wasms, mods_dir, verbose, tsan):
    """Returns (None or the reason it failed, stderr)."""
    wasm, err = wasms.get(t.program, (None, "no program %s.c" % t.program))
    if not wasm:
        return err, ""
    subst = {"mods": mods_dir}
    args = t.tsan_args if tsan and t.tsan_args else t.args
    argv = ([lvm] + mode_opts + [a.format(**subst) for a in t.lvm] + [wasm] +
            [a.format(**subst) for a in args])
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=mods_dir, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, errb = proc.communicate(timeout=t.timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, errb = proc.communicate()
        fail_line = next((l for l in out.decode("utf-8", "replace").splitlines()
                          if l.startswith("FAIL: ")), None)
        why = "timed out after %g s" % t.timeout
        if fail_line:
            why += " (%s)" % fail_line[6:]
        return why + ": " + shlex.join(argv), errb.decode("utf-8", "replace")
    elapsed = time.monotonic() - start
    out_s = out.decode("utf-8", "replace")
    err_s = errb.decode("utf-8", "replace")
    expect = list(t.expect)
    for i, a in enumerate(args):
        expect = [l.replace("{arg%d}" % i, a) for l in expect]
    why = judge(t, expect, proc.returncode, out_s, err_s)
    if why and verbose:
        why += "\n  command: %s\n  took %.2f s\n  stdout:\n%s\n  stderr:\n%s" % (
            shlex.join(argv), elapsed, indent(out_s), indent(err_s))
    return why, err_s


def indent(s, limit=40):
    lines = s.splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + ["... (%d more lines)" % (len(lines) - limit)]
    return "\n".join("    | " + l for l in lines)


def judge(t, expect, status, out, err):
    problems = []
    fail_line = next((l for l in out.splitlines() if l.startswith("FAIL: ")), None)
    if fail_line:
        problems.append(fail_line[6:])
    sanitizer = [l.strip() for l in err.splitlines() if any(m in l for m in SANITIZER_MARKS)]
    if status < 0:
        problems.append("lvm killed by signal %d" % -status)
    elif status != t.status:
        problems.append("exit status %d, want %d" % (status, t.status))
        last = [l for l in err.splitlines() if l.strip()][-1:]
        if last and not sanitizer:
            problems[-1] += " (stderr: %s)" % last[0][:200]
    if sanitizer:
        problems.append("sanitizer: " + sanitizer[0])
    if not fail_line:
        got = out.splitlines()
        if got != expect or (out and not out.endswith("\n")):
            problems.append(first_difference(got, expect, out))
    for s in t.stderr:
        if s not in err:
            problems.append("stderr does not contain %r (stderr: %r)" % (s, err[:300]))
    return "; ".join(problems) if problems else None


def first_difference(got, want, raw):
    for i in range(max(len(got), len(want))):
        g = got[i] if i < len(got) else None
        w = want[i] if i < len(want) else None
        if g != w:
            if g is None:
                return "stdout ends after %d lines, want line %d %r" % (len(got), i + 1, w)
            if w is None:
                return "stdout line %d %r: not expected (%d lines expected)" % (
                    i + 1, g, len(want))
            return "stdout line %d: got %r, want %r" % (i + 1, g, w)
    return "stdout does not end with a newline: %r" % raw[-40:]


# ---- the expected-failures list --------------------------------------------------------------------

def load_expected(path):
    """NAME REASON lines; NAME is a test (both modes) or a test/MODE (t1 or tN)."""
    exp = {}
    if not os.path.exists(path):
        return exp
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, reason = line.partition(" ")
            exp[name] = reason.strip()
    return exp


def main():
    ap = argparse.ArgumentParser(description="Run the actor guest tests through lvm.")
    ap.add_argument("lvm", help="the lvm binary")
    ap.add_argument("--build-dir", help="where the guests are built (default: DIR/actor-tests "
                    "next to the lvm binary)")
    ap.add_argument("--only", action="append", help="run only tests matching this glob "
                    "(matched against NAME and NAME/MODE)")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="show the command, stdout and stderr of failing tests")
    ap.add_argument("--expected", default=os.path.join(HERE, "expected-failures.txt"))
    o = ap.parse_args()

    lvm = os.path.abspath(o.lvm)
    if not os.access(lvm, os.X_OK):
        print("actors: %s: not an executable" % o.lvm)
        print("actors: 0 passed, 1 failed")
        return 1
    build_dir = os.path.abspath(o.build_dir or os.path.join(os.path.dirname(lvm), "actor-tests"))
    os.makedirs(build_dir, exist_ok=True)

    sdk, sdk_err = sdk_objects(build_dir)
    sources = sorted(glob.glob(os.path.join(HERE, "*.c")))
    if sdk_err:
        wasms = {os.path.splitext(os.path.basename(s))[0]: (None, sdk_err) for s in sources}
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
            built = list(ex.map(lambda s: build_guest(s, build_dir, sdk), sources))
        wasms = {os.path.splitext(os.path.basename(s))[0]: b for s, b in zip(sources, built)}
    for name, (wasm, err) in sorted(wasms.items()):
        if name.startswith("mod_") and err:
            print("actors: %s.c: %s" % (name, err))

    tests = []
    for s in sources:
        tests += parse_directives(s)
    names = [t.name for t in tests]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        print("actors: duplicate test names: " + ", ".join(dups))
        print("actors: 0 passed, 1 failed")
        return 1
    expected = load_expected(o.expected)

    runs = []     # (display name, test, lvm options)
    for t in tests:
        for suffix, opts in t.modes():
            runs.append((t.name + ("/" + suffix if suffix else ""), t, opts))
    if o.only:
        runs = [r for r in runs if any(fnmatch.fnmatch(r[0], g) or fnmatch.fnmatch(r[1].name, g)
                                       for g in o.only)]

    tsan = tsan_build(lvm)
    if tsan:
        print("(a ThreadSanitizer build: tests with a `tsan:` line run smaller)")
    passed = failed = xfailed = 0
    for display, t, opts in runs:
        why, _ = run_test(t, opts, lvm, wasms, build_dir, o.verbose, tsan)
        key = display if display in expected else t.name if t.name in expected else None
        if key:
            if why:
                xfailed += 1
                print("XFAIL %s: %s" % (display, why.splitlines()[0] if not o.verbose else why))
            else:
                failed += 1
                print("FIXED %s: passes now; remove it from %s" % (
                    display, os.path.relpath(o.expected)))
        elif why:
            failed += 1
            print("FAIL %s: %s" % (display, why))
        else:
            passed += 1
            print("PASS %s" % display)
        sys.stdout.flush()
    if not o.only:
        known = set(names) | {r[0] for r in runs}
        for name in sorted(set(expected) - known):
            failed += 1
            print("STALE %s: on %s but there is no such test" % (
                name, os.path.relpath(o.expected)))
    if xfailed:
        print("(%d expected failures, listed in %s)" % (xfailed, os.path.relpath(o.expected)))
    print("actors: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
