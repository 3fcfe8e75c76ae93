"""guest_tests.py — what the guest-program test drivers share (tests/wasi/run.py,
tests/actors/run.py; standard library only).

Both suites are C programs built for wasm32-wasi and run through the real lvm binary,
each test stated by `// key: value` comment lines in its program's source. This module
has the parts that are the same for every such suite:

  - building a guest (clang, only when a dependency is newer);
  - the directives every suite has (test, name, lvm, expect, status, stderr), with a
    hook for a suite's own;
  - running lvm in a session of its own with a timeout (the whole group is killed);
  - judging status, stdout and stderr (the guest's `FAIL:` line, sanitizer reports);
  - the expected-failures list (XFAIL / FIXED / STALE / FLAKY) and the closing line
    `SUITE: N passed, M failed`, which make and CI read.

A suite keeps what is its own: extra directives, setup hooks, run variants, extra checks.
The C side of the conventions (the `FAIL:` line, sections chosen by argv[1]) is
guest_test.h, next to this file.
"""

import argparse
import concurrent.futures
import fnmatch
import os
import shlex
import signal
import subprocess
import sys
import time

LIB = os.path.dirname(os.path.abspath(__file__))

# ---- building the guests ------------------------------------------------------------------

GUEST_CC = ["clang", "--target=wasm32-wasi"]
GUEST_CFLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
# Every guest depends on these too: the shared C helpers, and the flags above.
LIB_DEPS = [os.path.join(LIB, "guest_test.h"), os.path.abspath(__file__)]


def newer(target, deps):
    """Whether target exists and no file of deps was changed after it."""
    return os.path.exists(target) and all(os.path.getmtime(d) <= os.path.getmtime(target)
                                          for d in deps)


def run_cmd(cmd):
    """Run a build command; None if it worked, else `build failed: ` and its first error
    line (the whole of clang's output would drown the report)."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        msg = (r.stderr.strip() or "exit %d" % r.returncode).splitlines()
        errs = [l for l in msg if "error" in l] or msg
        return "build failed: " + errs[0]
    return None


def build_guest(src, build_dir, deps=(), cflags=(), link_pre=(), link_post=()):
    """Compile src to build_dir/NAME.wasm unless it is newer than src, deps and LIB_DEPS.
    The link is `clang LINK_PRE NAME.o LINK_POST -o NAME.wasm`.
    Returns (wasm_path, error_text_or_None)."""
    name = os.path.splitext(os.path.basename(src))[0]
    obj = os.path.join(build_dir, name + ".o")
    wasm = os.path.join(build_dir, name + ".wasm")
    if newer(wasm, [src] + list(deps) + LIB_DEPS):
        return wasm, None
    # Link without -O: clang 14 would run binaryen's wasm-opt if it finds one on PATH.
    for cmd in (GUEST_CC + GUEST_CFLAGS + list(cflags) + ["-c", src, "-o", obj],
                GUEST_CC + list(link_pre) + [obj] + list(link_post) + ["-o", wasm]):
        err = run_cmd(cmd)
        if err:
            return None, err
    return wasm, None


def program_name(src):
    return os.path.splitext(os.path.basename(src))[0]


def build_all(sources, build_one):
    """build_one(src) for every source, in parallel (clang is the slow part of a run).
    Returns {NAME: (wasm_path or None, error or None)}."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        built = list(ex.map(build_one, sources))
    return {program_name(s): b for s, b in zip(sources, built)}


# ---- test descriptions --------------------------------------------------------------------

class GuestTest:
    """A test as the common directives describe it; a suite subclasses it for its own."""

    def __init__(self, name, program, args=(), where=None):
        self.name = name           # PROGRAM.SECTION, or PROGRAM.NAME after `// name:`
        self.program = program     # NAME of NAME.c
        self.args = list(args)     # guest arguments (after the module); args[0]: section
        self.where = where         # FILE:LINE of its `// test:`
        self.lvm = []              # lvm options (before the module)
        self.expect = []           # stdout lines, exactly
        self.status = 0            # int, "nonzero" or "nonzero_not_trap"
        self.stderr = []           # substrings stderr must contain


def parse_directives(src, new_test, extra=None):
    """The tests of a guest source: a `// test: SECTION [args...]` line starts one, and
    the directive lines after it (until the next `test:`) describe it:

        // name: NAME        its name (default: SECTION); the test is PROGRAM.NAME
        // lvm: OPTIONS      lvm options (before the module), shell-quoted
        // expect: LINE      a line of stdout (all of them, in order)
        // status: N         the exit status (default 0), or `nonzero`
        // stderr: TEXT      stderr contains TEXT

    new_test(name, program, args, where) makes the test; extra maps a suite's own keys
    to handler(test, value). Other `// word: ...` lines are ordinary comments. Only the
    one space after the colon is taken off a value (expect lines keep the rest)."""
    prog = program_name(src)
    extra = extra or {}
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
                t = new_test("%s.%s" % (prog, args[0]), prog, args, where)
                tests.append(t)
                continue
            if key not in ("name", "lvm", "expect", "status", "stderr") and key not in extra:
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
                t.status = val.strip() if val.strip() == "nonzero" else int(val)
            elif key == "stderr":
                t.stderr.append(val)
            else:
                extra[key](t, val)
    return tests


# ---- running lvm --------------------------------------------------------------------------

class Outcome:
    """One lvm run: status (negative: killed by that signal), out/err decoded, raw_out
    the bytes of stdout, elapsed seconds, timed_out."""

    def __init__(self, status, out, err, elapsed, timed_out):
        self.status = status
        self.raw_out = out
        self.out = out.decode("utf-8", "replace")
        self.err = err.decode("utf-8", "replace")
        self.elapsed = elapsed
        self.timed_out = timed_out


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_lvm(argv, cwd, timeout, env=None, stdin=None, input=None, started=None):
    """Run argv with stdout and stderr captured. stdin: a file descriptor for lvm's
    stdin, else /dev/null, or with input (bytes) a pipe fed with it. started(): called
    once lvm is running (to start helpers that talk to it). After `timeout` seconds
    lvm is killed."""
    if input is not None:
        stdin = subprocess.PIPE
    elif stdin is None:
        stdin = subprocess.DEVNULL
    start = time.monotonic()
    # A session of its own, so that a timeout (or ^C) kills whatever lvm started too.
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        if started:
            started()
        out, err = proc.communicate(input=input, timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_group(proc)
        try:
            out, err = proc.communicate(timeout=10)   # what it wrote before (its FAIL line)
        except subprocess.TimeoutExpired:
            out, err = b"", b""
        timed_out = True
    except BaseException:
        # In its own session, lvm does not get the terminal's ^C: it must not outlive us.
        kill_group(proc)
        raise
    return Outcome(proc.returncode, out, err, time.monotonic() - start, timed_out)


def timed_out_reason(o, timeout, argv):
    """Why a run that timed out failed: the guest's FAIL line, if it wrote one, says what
    it was waiting for."""
    why = "timed out after %g s" % timeout
    fail = fail_line(o.out)
    if fail:
        why += " (%s)" % fail
    return why + ": " + shlex.join(argv)


def expand(s, subst):
    """{key} in s replaced by subst[key] (other braces are left alone)."""
    for k, v in subst.items():
        s = s.replace("{%s}" % k, v)
    return s


# ---- judging a run ------------------------------------------------------------------------

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer", "runtime error:")


def fail_line(out):
    """What the guest's first `FAIL: ` line says (guest_test.h's FAIL), or None."""
    line = next((l for l in out.splitlines() if l.startswith("FAIL: ")), None)
    return line[6:] if line else None


def sanitizer_lines(err):
    return [l.strip() for l in err.splitlines() if any(m in l for m in SANITIZER_MARKS)]


def judge(o, status, expect=None, stderr=(), after_stdout=(), after_stderr=()):
    """The reason run `o` failed ("; "-joined problems), or None if it passed.
    status: an int, "nonzero" or "nonzero_not_trap" (an error, not a trap's 134).
    expect: the stdout lines, exactly (None: not checked; not either when the guest
    wrote a FAIL line, which says more). stderr: substrings it must contain.
    after_stdout, after_stderr: a suite's own problems, reported after those."""
    problems = []
    fail = fail_line(o.out)
    if fail:
        problems.append(fail)
    sanitizer = sanitizer_lines(o.err)
    if o.status < 0:
        problems.append("lvm killed by signal %d" % -o.status)
    elif status == "nonzero":
        if o.status == 0:
            problems.append("exit status 0, want non-zero")
    elif status == "nonzero_not_trap":
        if o.status in (0, 134):
            problems.append("exit status %d, want an error status (not 0, not 134)" % o.status)
    elif o.status != status:
        problems.append("exit status %d, want %d" % (o.status, status))
        # lvm's own last words (a trap, an error) usually say why.
        last = [l for l in o.err.splitlines() if l.strip()][-1:]
        if last and not sanitizer:
            problems[-1] += " (stderr: %s)" % last[0][:200]
    if sanitizer:
        problems.append("sanitizer: " + sanitizer[0])
    if expect is not None and not fail:
        got = o.out.splitlines()
        if got != expect or (o.out and not o.out.endswith("\n")):
            problems.append(first_difference(got, expect, o.out))
    problems += after_stdout
    for s in stderr:
        if s not in o.err:
            problems.append("stderr does not contain %r (stderr: %r)" % (s, o.err[:300]))
    problems += after_stderr
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


def details(argv, o):
    """What --verbose adds to a failure: the command, its time and its output."""
    return "\n  command: %s\n  took %.2f s\n  stdout:\n%s\n  stderr:\n%s" % (
        shlex.join(argv), o.elapsed, indent(o.out), indent(o.err))


def indent(s, limit=40):
    lines = s.splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + ["... (%d more lines)" % (len(lines) - limit)]
    return "\n".join("    | " + l for l in lines)


# ---- the driver: options, the expected-failures list, the tally ---------------------------

def arg_parser(description, suite_dir, build_help, only_help):
    """The options every driver has (run.sh passes them on); a suite adds its own."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("lvm", help="the lvm binary")
    ap.add_argument("--build-dir", help=build_help)
    ap.add_argument("--only", action="append", help=only_help)
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="show the command, stdout and stderr of failing tests")
    ap.add_argument("--expected", default=os.path.join(suite_dir, "expected-failures.txt"))
    return ap


def prepare(suite, o, build_subdir):
    """The lvm binary and the build directory (made if need be) from the options, or
    (None, None) after the failing closing lines when lvm is not an executable."""
    lvm = os.path.abspath(o.lvm)
    if not os.access(lvm, os.X_OK):
        print("%s: %s: not an executable" % (suite, o.lvm))
        print("%s: 0 passed, 1 failed" % suite)
        return None, None
    build_dir = os.path.abspath(o.build_dir or os.path.join(os.path.dirname(lvm), build_subdir))
    os.makedirs(build_dir, exist_ok=True)
    return lvm, build_dir


def unique_names(suite, tests):
    """False (after the failing closing lines) if two tests have the same name: the
    expected-failures list and --only could not tell them apart."""
    names = [t.name for t in tests]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        print("%s: duplicate test names: %s" % (suite, ", ".join(dups)))
        print("%s: 0 passed, 1 failed" % suite)
        return False
    return True


def selected(name_sets, globs):
    """Which items to run: all without --only, else those of which one of the names
    matches one of the globs. name_sets: (names, item) pairs."""
    return [item for names, item in name_sets
            if not globs or any(fnmatch.fnmatch(n, g) for n in names for g in globs)]


def attempt(run_one, *args):
    """run_one(*args), which returns None or why it failed; an exception in a hook or the
    driver itself is a failure too, so that every test still gets its line."""
    try:
        return run_one(*args)
    except Exception as e:
        return "driver error: %r" % e


def load_expected(path):
    """{NAME: reason} from the expected-failures list: `NAME reason` lines, # comments."""
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


class Tally:
    """The results of a suite's runs, one line each, judged against its expected-failures
    list: PASS / FAIL; XFAIL for a listed test that fails, FIXED (a failure: take it off
    the list) for one that passes; FLAKY, for a listed test whose reason starts `flaky:`
    (a race in lvm), either way without deciding the run; STALE for a listed name that
    is no test."""

    def __init__(self, suite, expected_path, verbose):
        self.suite = suite
        self.path = expected_path
        self.expected = load_expected(expected_path)
        self.verbose = verbose
        self.passed = self.failed = self.xfailed = 0

    def record(self, display, why, listed_as=()):
        """One run, named `display`; why: None if it passed. The list may name it as
        display or as any of listed_as (actors: the test for all of its modes)."""
        key = next((k for k in (display,) + tuple(listed_as) if k in self.expected), None)
        rel = os.path.relpath(self.path)
        if key and self.expected[key].startswith("flaky:"):
            if why:
                self.xfailed += 1
                print("FLAKY %s: failed this time: %s" % (display, why.splitlines()[0]))
            else:
                self.passed += 1
                print("FLAKY %s: passed this time" % display)
        elif key:
            if why:
                self.xfailed += 1
                print("XFAIL %s: %s" % (display, why if self.verbose else why.splitlines()[0]))
            else:
                self.failed += 1
                print("FIXED %s: passes now; remove it from %s" % (display, rel))
        elif why:
            self.failed += 1
            print("FAIL %s: %s" % (display, why))
        else:
            self.passed += 1
            print("PASS %s" % display)
        sys.stdout.flush()

    def finish(self, known=None):
        """The STALE lines (unless known is None: with --only, the list cannot be judged),
        the count of expected failures, the closing line. Returns the exit status."""
        rel = os.path.relpath(self.path)
        if known is not None:
            for name in sorted(set(self.expected) - set(known)):
                self.failed += 1
                print("STALE %s: on %s but there is no such test" % (name, rel))
        if self.xfailed:
            print("(%d expected failures, listed in %s)" % (self.xfailed, rel))
        print("%s: %d passed, %d failed" % (self.suite, self.passed, self.failed))
        return 0 if self.failed == 0 else 1
