#!/usr/bin/env python3
"""run.py — the actor test driver (tests/actors/README.md).

Builds the guest programs tests/actors/*.c for wasm32-wasi (with the guest SDK, sdk/*.c),
and the modules tests/actors/mod_*.c that tests load at run time (no libc, no _start),
then runs every test through the real lvm binary and compares its exit status and stdout
with what the test states. Each test runs twice, with `--threads 1` (one worker on the
main thread, deterministic) and with the default number of worker threads, unless its
`// lvm:` line chooses the threads itself. Prints `PASS name` / `FAIL name: why` (or
XFAIL / FIXED / STALE / FLAKY, see expected-failures.txt) per run and ends with
`actors: N passed, M failed`.

    run.py [--build-dir DIR] [--only GLOB] [--verbose] [--expected FILE] LVM

What every guest suite does the same way (building, the common directives, running lvm,
judging, the expected-failures list) is tests/lib/guest_tests.py; this file has what is
the actors' own: the SDK and the mod_*.c modules, per-file build flags, the two thread
modes, per-test timeouts and ThreadSanitizer variants.
"""

import glob
import os
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.dont_write_bytecode = True   # no __pycache__ left in the source tree
import guest_tests as gt   # noqa: E402  (found through the line above)

TIMEOUT = float(os.environ.get("LVM_ACTORS_TIMEOUT", "60"))   # seconds per lvm run

# The two ways every test runs: (suffix, lvm options).
MODES = [("t1", ["--threads", "1"]), ("tN", [])]

# The guests include sdk/lvm.h as "sdk/lvm.h".
CFLAGS = ["-I" + ROOT]


# ---- building --------------------------------------------------------------------------------

def sdk_objects(build_dir):
    """The SDK's objects: build/guest/sdk/X.o when make has built it from the current
    sdk/X.c, else our own compile of it. Returns (objects, error)."""
    objs = []
    headers = glob.glob(os.path.join(ROOT, "sdk", "*.h"))
    for src in sorted(glob.glob(os.path.join(ROOT, "sdk", "*.c"))):
        name = os.path.splitext(os.path.basename(src))[0]
        made = os.path.join(ROOT, "build", "guest", "sdk", name + ".o")
        if gt.newer(made, [src] + headers):
            objs.append(made)
            continue
        obj = os.path.join(build_dir, "sdk-" + name + ".o")
        if not gt.newer(obj, [src] + headers):
            err = gt.run_cmd(gt.GUEST_CC + gt.GUEST_CFLAGS + CFLAGS + ["-c", src, "-o", obj])
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
    """Build src to build_dir/NAME.wasm unless it is up to date. A mod_*.c file is a
    module for lvm_module_load: no libc, no _start, its functions exported by name.
    Returns (wasm_path, error_text_or_None)."""
    is_mod = os.path.basename(src).startswith("mod_")
    libs = [] if is_mod else sdk
    deps = [os.path.join(HERE, "common.h"), os.path.abspath(__file__)]
    deps += glob.glob(os.path.join(ROOT, "sdk", "*.h")) + libs
    cflags = CFLAGS + file_flags(src, "cflags")
    if is_mod:
        return gt.build_guest(src, build_dir, deps, cflags,
                              link_pre=["-nostdlib", "-Wl,--no-entry"])
    return gt.build_guest(src, build_dir, deps, cflags,
                          link_post=libs + file_flags(src, "ldflags"))


# ---- test descriptions ---------------------------------------------------------------------------

class Test(gt.GuestTest):
    def __init__(self, name, program, args, where):
        super().__init__(name, program, args, where)
        self.timeout = TIMEOUT
        self.tsan_args = None       # instead of args when lvm is built with ThreadSanitizer

    def modes(self):
        if "--threads" in self.lvm:
            return [(None, [])]
        return MODES


def _timeout(t, val):
    t.timeout = float(val) * float(os.environ.get("LVM_ACTORS_TIMEOUT_SCALE", "1"))


# The actors' own directives, beside the common ones (guest_tests.parse_directives):
#
#     // timeout: SECONDS           instead of the default (per run)
#     // tsan: SECTION [args]       the arguments instead when lvm is built with
#                                   ThreadSanitizer (for tests too big for it)
#
# In lvm lines {mods} is the folder of the mod_*.wasm; in expect lines, {argN} is the
# Nth argument of the run (0: the section).
DIRECTIVES = {
    "timeout": _timeout,
    "tsan": lambda t, val: setattr(t, "tsan_args", shlex.split(val)),
}


# ---- running -------------------------------------------------------------------------------------

def tsan_build(lvm):
    """Whether lvm was built with ThreadSanitizer (its runtime's symbols are in it)."""
    try:
        with open(lvm, "rb") as f:
            return b"__tsan_init" in f.read()
    except OSError:
        return False


def run_test(t, mode_opts, lvm, wasms, mods_dir, verbose, tsan):
    """Returns None if the run passed, else the reason."""
    wasm, err = wasms.get(t.program, (None, "no program %s.c" % t.program))
    if not wasm:
        return err
    subst = {"mods": mods_dir}
    args = t.tsan_args if tsan and t.tsan_args else t.args
    argv = ([lvm] + mode_opts + [a.format(**subst) for a in t.lvm] + [wasm] +
            [a.format(**subst) for a in args])
    o = gt.run_lvm(argv, mods_dir, t.timeout)
    if o.timed_out:
        return gt.timed_out_reason(o, t.timeout, argv)
    expect = list(t.expect)
    for i, a in enumerate(args):
        expect = [l.replace("{arg%d}" % i, a) for l in expect]
    why = gt.judge(o, t.status, expect, t.stderr)
    if why and verbose:
        why += gt.details(argv, o)
    return why


def main():
    ap = gt.arg_parser("Run the actor guest tests through lvm.", HERE,
                       build_help="where the guests are built (default: DIR/actor-tests "
                       "next to the lvm binary)",
                       only_help="run only tests matching this glob "
                       "(matched against NAME and NAME/MODE)")
    o = ap.parse_args()
    lvm, build_dir = gt.prepare("actors", o, "actor-tests")
    if not lvm:
        return 1

    sdk, sdk_err = sdk_objects(build_dir)
    sources = sorted(glob.glob(os.path.join(HERE, "*.c")))
    if sdk_err:
        wasms = {gt.program_name(s): (None, sdk_err) for s in sources}
    else:
        wasms = gt.build_all(sources, lambda s: build_guest(s, build_dir, sdk))
    for name, (wasm, err) in sorted(wasms.items()):
        if name.startswith("mod_") and err:
            print("actors: %s.c: %s" % (name, err))

    tests = []
    for s in sources:
        tests += gt.parse_directives(s, Test, DIRECTIVES)
    if not gt.unique_names("actors", tests):
        return 1

    runs = []     # (display name, test, lvm options)
    for t in tests:
        for suffix, opts in t.modes():
            runs.append((t.name + ("/" + suffix if suffix else ""), t, opts))
    known = [t.name for t in tests] + [r[0] for r in runs]
    runs = gt.selected([((r[0], r[1].name), r) for r in runs], o.only)

    tsan = tsan_build(lvm)
    if tsan:
        print("(a ThreadSanitizer build: tests with a `tsan:` line run smaller)")
    tally = gt.Tally("actors", o.expected, o.verbose)
    for display, t, opts in runs:
        why = gt.attempt(run_test, t, opts, lvm, wasms, build_dir, o.verbose, tsan)
        # The list names a test for both modes, or NAME/MODE for one.
        tally.record(display, why, listed_as=[t.name])
    return tally.finish(None if o.only else known)


if __name__ == "__main__":
    sys.exit(main())
