#!/usr/bin/env python3
"""run.py — the WASI test driver (tests/wasi/README.md).

Builds the guest programs tests/wasi/*.c for wasm32-wasi, then runs every test through
the real lvm binary, each in a fresh temporary directory, and compares its exit status
and stdout with what the test states. Prints `PASS name` / `FAIL name: why` (or XFAIL /
FIXED / STALE, see expected-failures.txt) per test and ends with `wasi: N passed, M failed`.

    run.py [--build-dir DIR] [--only GLOB]... [--verbose] [--keep] [--expected FILE] LVM

Tests come from two places:
  - `// test:` blocks in the .c files (the directives are described in README.md);
  - cli_tests() below: command-line cases that need no guest of their own.
"""

import argparse
import concurrent.futures
import fnmatch
import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = float(os.environ.get("LVM_WASI_TIMEOUT", "30"))   # seconds per lvm run
# Set in lvm's environment (with the rest of ours): no guest may see it.
CANARY = ("LVM_WASI_TEST_CANARY", "host-only")


# ---- building the guests -------------------------------------------------------------------

def build_guest(src, build_dir):
    """Compile src (a .c file) to build_dir/NAME.wasm unless it is up to date.
    Returns (wasm_path, error_text_or_None)."""
    name = os.path.splitext(os.path.basename(src))[0]
    obj = os.path.join(build_dir, name + ".o")
    wasm = os.path.join(build_dir, name + ".wasm")
    deps = [src, os.path.join(HERE, "common.h")]
    if os.path.exists(wasm) and all(os.path.getmtime(d) <= os.path.getmtime(wasm) for d in deps):
        return wasm, None
    # Link without -O: clang 14 would run binaryen's wasm-opt if it finds one on PATH.
    for cmd in (["clang", "--target=wasm32-wasi", "-O2", "-Wall", "-Wextra",
                 "-Wno-unused-parameter", "-c", src, "-o", obj],
                ["clang", "--target=wasm32-wasi", obj, "-o", wasm]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            msg = (r.stderr.strip() or "exit %d" % r.returncode).splitlines()
            errs = [l for l in msg if "error" in l] or msg
            return None, "build failed: " + errs[0]
    return wasm, None


# ---- test descriptions ---------------------------------------------------------------------

class Test:
    def __init__(self, name, program=None):
        self.name = name
        self.program = program     # guest name (NAME of NAME.c), or None
        self.args = []             # guest arguments (after the module)
        self.lvm = []              # lvm options (before the module)
        self.argv = None           # the whole lvm command line, for CLI_TESTS
        self.expect = []           # stdout lines, exactly
        self.check_stdout = True
        self.status = 0            # int, or "nonzero"
        self.stderr = []           # substrings stderr must contain
        self.stderr_lines = None   # exact number of stderr lines, if set
        self.stdin = None          # bytes, or None for /dev/null
        self.setup = []            # [hook name, args...] lists
        self.files = []            # (path under scratch, expected contents)
        self.or_trap = False       # a wasm trap (status 134, "wasm trap" on stderr) also passes
        self.stdout_sha256 = None  # instead of expect lines, for long outputs


def parse_directives(src):
    """The `// test:` blocks of a guest source."""
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
                t = Test("%s.%s" % (prog, args[0]), prog)
                t.args = args
                tests.append(t)
                continue
            if key not in ("name", "lvm", "expect", "status", "stderr", "stdin", "setup",
                           "file", "or-trap", "stdout-sha256"):
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
            elif key == "stdin":
                t.stdin = (t.stdin or b"") + val.encode() + b"\n"
            elif key == "setup":
                t.setup.append(shlex.split(val))
            elif key == "or-trap":
                t.or_trap = True
            elif key == "stdout-sha256":
                t.stdout_sha256 = val.strip()
            elif key == "file":
                path, _, text = val.partition(" ")
                t.files.append((path, text))
    return tests


def cli_tests():
    """Command-line cases that need no guest of their own ({wasm} is hello.wasm)."""
    out = []

    def add(name, argv, status, **kw):
        t = Test(name, "hello")
        t.argv = argv
        t.status = status
        t.check_stdout = False
        for k, v in kw.items():
            setattr(t, k, v)
        out.append(t)

    add("cli.help", ["--help"], 0, stderr_lines=0, expect_contains="usage")
    add("cli.version", ["--version"], 0, stderr_lines=0, expect_re=r"lvm \S+")
    add("cli.missing_module", ["{scratch}/no-such-module.wasm"], "nonzero_not_trap",
        stderr_lines=1, stderr=["no-such-module.wasm"])
    add("cli.not_a_module", ["{scratch}/garbage.wasm"], "nonzero_not_trap",
        stderr_lines=1, stderr=["garbage.wasm"], setup=[["garbage_file"]])
    add("cli.no_module", [], 2, stderr=["lvm"])
    add("cli.bad_flag", ["--frobnicate", "{wasm}"], 2, stderr=["--frobnicate"])
    add("cli.missing_dir", ["--dir", "{scratch}/no-such-dir", "{wasm}"], "nonzero_not_trap",
        stderr_lines=1, stderr=["no-such-dir"])
    add("cli.invoke_missing", ["--invoke", "no_such_export", "{wasm}"], "nonzero_not_trap",
        stderr_lines=1, stderr=["no_such_export"])
    add("cli.unknown_import", ["{wasm_badimport}"], "nonzero_not_trap", stderr_lines=1,
        stderr=["no_such_function"])
    return out


# ---- hooks: per-test setup and checks ------------------------------------------------------

def snapshot(paths, exclude=()):
    """Everything about the files under `paths` (recursively, without following links,
    skipping `exclude`) that a guest could change: type, mode, size, times, links,
    contents, link targets."""
    snap = {}

    def one(p):
        if p in exclude:
            return
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            snap[p] = None
            return
        rec = [st.st_mode, st.st_size, st.st_mtime_ns, st.st_nlink, st.st_ino, st.st_uid]
        if os.path.islink(p):
            rec.append(os.readlink(p))
        elif os.path.isfile(p):
            with open(p, "rb") as f:
                rec.append(hashlib.sha256(f.read()).hexdigest())
        snap[p] = rec
        if os.path.isdir(p) and not os.path.islink(p):
            for e in sorted(os.listdir(p)):
                one(os.path.join(p, e))

    for p in paths:
        one(p)
    return snap


def diff_snapshots(before, after):
    changes = []
    for p in sorted(set(before) | set(after)):
        a, b = before.get(p, None), after.get(p, None)
        if a != b:
            if a is None:
                changes.append("created " + p)
            elif b is None:
                changes.append("deleted " + p)
            else:
                changes.append("changed " + p)
    return changes


class Run:
    """One test's temporary world: {root}/scratch is the guest's working directory and
    usually its preopen; the rest of {root} is 'outside'."""

    def __init__(self, test, keep):
        self.test = test
        self.root = tempfile.mkdtemp(prefix="lvm-wasi-")
        self.scratch = os.path.join(self.root, "scratch")
        os.mkdir(self.scratch)
        self.keep = keep
        self.subst = {"scratch": self.scratch, "root": self.root}
        self.problems = []       # what hooks found wrong
        self.after = []          # callables run after lvm exits
        self.stdin_fd = None     # a pipe's read end, for delayed stdin
        self.during = []         # callables run (in threads) while lvm runs
        self.stop = threading.Event()

    def close(self):
        if self.keep:
            print("  (kept %s)" % self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)


def hook_sandbox(run):
    """A world to escape from: files outside the preopen, and links inside it that point
    out. After the run, nothing outside may differ."""
    r, s = run.root, run.scratch
    with open(os.path.join(r, "outside.txt"), "w") as f:
        f.write("outside, do not touch\n")
    os.mkdir(os.path.join(r, "outside_dir"))
    with open(os.path.join(r, "outside_dir", "inner.txt"), "w") as f:
        f.write("inner, do not touch\n")
    with open(os.path.join(s, "inside.txt"), "w") as f:
        f.write("inside\n")
    os.symlink("../outside.txt", os.path.join(s, "escape"))
    os.symlink(os.path.join(r, "outside.txt"), os.path.join(s, "abs_escape"))
    os.symlink("../outside_dir", os.path.join(s, "dir_escape"))
    os.symlink("/etc", os.path.join(s, "etc_escape"))
    os.mkdir(os.path.join(s, "sub"))
    os.symlink("../../outside.txt", os.path.join(s, "sub", "deep_escape"))
    # Stat times of the outside files must not move either: make them distinctive.
    for p in ("outside.txt", "outside_dir/inner.txt", "outside_dir"):
        os.utime(os.path.join(r, p), ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    # ROOT itself (its mtime moves if anything is made in it) and all in it but scratch.
    watched = [r, "/etc/passwd", "/etc/hostname", "/tmp/lvm-wasi-escape", "/lvm-wasi-escape",
               "/etc/lvm-wasi-escape"]
    before = snapshot(watched, exclude={s})

    def check():
        after = snapshot(watched, exclude={s})
        changes = diff_snapshots(before, after)
        if changes:
            run.problems.append("outside the sandbox: " + "; ".join(changes[:5]))
        for p in ("/tmp/lvm-wasi-escape", "/lvm-wasi-escape", "/etc/lvm-wasi-escape"):
            if os.path.lexists(p) and before.get(p) is None:
                (shutil.rmtree if os.path.isdir(p) else os.remove)(p)
    run.after.append(check)


def hook_readdir_tree(run):
    """scratch/list: a directory of known entries (the guest lists them)."""
    d = os.path.join(run.scratch, "list")
    os.mkdir(d)
    for name, size in (("alpha", 1), ("beta", 22), ("gamma", 333)):
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"x" * size)
    os.mkdir(os.path.join(d, "delta_dir"))
    os.symlink("alpha", os.path.join(d, "epsilon_link"))


def hook_hostfiles(run):
    """Files the guest reads by name through its preopens."""
    with open(os.path.join(run.scratch, "hello.txt"), "w") as f:
        f.write("hello from the host\n")
    os.mkdir(os.path.join(run.scratch, "sub"))
    with open(os.path.join(run.scratch, "sub", "inner.txt"), "w") as f:
        f.write("inner file\n")


def hook_garbage_file(run):
    with open(os.path.join(run.scratch, "garbage.wasm"), "wb") as f:
        f.write(b"\0asm\x01\0\0\0this is not a module")


def hook_stdin_later(run, secs, text):
    """stdin is a pipe that stays empty for `secs` seconds, then gets text + newline
    and is closed."""
    rfd, wfd = os.pipe()
    run.stdin_fd = rfd

    def feed():
        if not run.stop.wait(float(secs)):
            try:
                os.write(wfd, text.encode() + b"\n")
            except OSError:
                pass
        os.close(wfd)
    run.during.append(feed)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hook_socket_client(run, send, expect):
    """A TCP client for a guest that serves on --tcplisten 127.0.0.1:{port}: connect
    (retrying until lvm listens), send `send` + newline, read until the guest shuts its
    side down, which must have sent exactly `expect` + newline (nothing if `expect` is
    empty); then send "bye\\n" and close."""
    port = free_port()
    run.subst["port"] = str(port)
    want = expect.encode() + b"\n" if expect else b""

    def client():
        deadline = time.monotonic() + TIMEOUT
        conn = None
        while conn is None and not run.stop.is_set() and time.monotonic() < deadline:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                time.sleep(0.05)
        if conn is None:
            if not run.stop.is_set():
                run.problems.append("client: could not connect to 127.0.0.1:%d" % port)
            return
        got = b""
        try:
            conn.settimeout(TIMEOUT)
            conn.sendall(send.encode() + b"\n")
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                got += chunk
            conn.sendall(b"bye\n")
            conn.shutdown(socket.SHUT_WR)
        except OSError as e:
            if want:   # (a guest that sends nothing may also cut the connection short)
                run.problems.append("client: %s (received %r)" % (e, got))
            return
        finally:
            conn.close()
        if got != want:
            run.problems.append("client received %r, want %r" % (got, want))
    run.during.append(client)


def hook_relative_module(run):
    """Give lvm the module as a relative path (a copy in scratch, the working directory)."""
    name = os.path.basename(run.subst["wasm"])
    shutil.copy(run.subst["wasm"], os.path.join(run.scratch, name))
    run.subst["wasm"] = name


HOOKS = {
    "relative_module": hook_relative_module,
    "sandbox": hook_sandbox,
    "readdir_tree": hook_readdir_tree,
    "hostfiles": hook_hostfiles,
    "garbage_file": hook_garbage_file,
    "stdin_later": hook_stdin_later,
    "socket_client": hook_socket_client,
}


# ---- running one test ----------------------------------------------------------------------

def expand(s, subst):
    for k, v in subst.items():
        s = s.replace("{%s}" % k, v)
    return s


def run_test(t, lvm, wasms, keep, verbose):
    """Returns None if the test passed, else the reason."""
    if t.program not in wasms or wasms[t.program][0] is None:
        return wasms.get(t.program, (None, "no program %s.c" % t.program))[1]
    run = Run(t, keep)
    try:
        run.subst["wasm"] = wasms[t.program][0]
        run.subst["now"] = str(int(time.time()))
        if "badimport" in wasms and wasms["badimport"][0]:
            run.subst["wasm_badimport"] = wasms["badimport"][0]
        for h in t.setup:
            if h[0] not in HOOKS:
                return "unknown setup hook '%s'" % h[0]
            HOOKS[h[0]](run, *[expand(a, run.subst) for a in h[1:]])
        if t.argv is not None:
            argv = [lvm] + [expand(a, run.subst) for a in t.argv]
        else:
            argv = ([lvm] + [expand(a, run.subst) for a in t.lvm] + [run.subst["wasm"]] +
                    [expand(a, run.subst) for a in t.args])
        env = dict(os.environ)
        env[CANARY[0]] = CANARY[1]
        if t.stdin is not None:
            stdin = subprocess.PIPE
        elif run.stdin_fd is not None:
            stdin = run.stdin_fd
        else:
            stdin = subprocess.DEVNULL
        start = time.monotonic()
        # A session of its own, so that a timeout kills whatever lvm started too.
        proc = subprocess.Popen(argv, cwd=run.scratch, env=env, stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        if run.stdin_fd is not None:
            os.close(run.stdin_fd)
        threads = [threading.Thread(target=f, daemon=True) for f in run.during]
        for th in threads:
            th.start()
        try:
            out, err = proc.communicate(input=t.stdin, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            return "timed out after %g s: %s" % (TIMEOUT, shlex.join(argv))
        finally:
            run.stop.set()
            for th in threads:
                th.join(timeout=TIMEOUT)
        elapsed = time.monotonic() - start
        for f in run.after:
            f()
        run.out_raw = out
        out_s = out.decode("utf-8", "replace")
        err_s = err.decode("utf-8", "replace")
        why = judge(t, run, proc.returncode, out_s, err_s)
        if why and verbose:
            why += "\n  command: %s\n  took %.2f s\n  stdout:\n%s\n  stderr:\n%s" % (
                shlex.join(argv), elapsed, indent(out_s), indent(err_s))
        return why
    finally:
        run.close()


def indent(s, limit=40):
    lines = s.splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + ["... (%d more lines)" % (len(lines) - limit)]
    return "\n".join("    | " + l for l in lines)


def judge(t, run, status, out, err):
    problems = []
    fail_line = next((l for l in out.splitlines() if l.startswith("FAIL: ")), None)
    if fail_line:
        problems.append(fail_line[6:])
    sanitizer = [l.strip() for l in err.splitlines()
                 if "ERROR: AddressSanitizer" in l or "ERROR: LeakSanitizer" in l
                 or "runtime error:" in l]
    if t.or_trap and status == 134 and "wasm trap" in err and not fail_line and not sanitizer:
        return "; ".join(run.problems) or None
    if status < 0:
        problems.append("lvm killed by signal %d" % -status)
    elif t.status == "nonzero":
        if status == 0:
            problems.append("exit status 0, want non-zero")
    elif t.status == "nonzero_not_trap":
        if status in (0, 134):
            problems.append("exit status %d, want an error status (not 0, not 134)" % status)
    elif status != t.status:
        problems.append("exit status %d, want %d" % (status, t.status))
    if sanitizer:
        problems.append("sanitizer: " + sanitizer[0])
    if t.stdout_sha256:
        got = hashlib.sha256(run.out_raw).hexdigest()
        if got != t.stdout_sha256:
            problems.append("stdout (%d bytes) has sha256 %s, want %s" % (
                len(out), got, t.stdout_sha256))
    elif t.check_stdout and not fail_line:
        want = [expand(l, run.subst) for l in t.expect]
        got = out.splitlines()
        if got != want or (out and not out.endswith("\n")):
            problems.append(first_difference(got, want, out))
    if getattr(t, "expect_contains", None) and t.expect_contains not in out:
        problems.append("stdout does not contain %r" % t.expect_contains)
    if getattr(t, "expect_re", None):
        lines = out.splitlines()
        if len(lines) != 1 or not re.fullmatch(t.expect_re, lines[0]):
            problems.append("stdout %r does not match %r" % (out, t.expect_re))
    for s in t.stderr:
        s = expand(s, run.subst)
        if s not in err:
            problems.append("stderr does not contain %r (stderr: %r)" % (s, err[:300]))
    if t.stderr_lines is not None:
        n = len(err.splitlines())
        if n != t.stderr_lines:
            problems.append("stderr has %d lines, want %d: %r" % (n, t.stderr_lines,
                                                                  err[:300]))
    for path, text in t.files:
        p = os.path.join(run.scratch, path)
        try:
            with open(p, encoding="utf-8", errors="replace") as f:
                got = f.read()
        except OSError as e:
            problems.append("%s: %s" % (path, e.strerror))
            continue
        if got != text + "\n":
            problems.append("%s holds %r, want %r" % (path, got, text + "\n"))
    problems += run.problems
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


# ---- the expected-failures list ------------------------------------------------------------

def load_expected(path):
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
    ap = argparse.ArgumentParser(description="Run the WASI guest tests through lvm.")
    ap.add_argument("lvm", help="the lvm binary")
    ap.add_argument("--build-dir", help="where the guests are built (default: DIR/wasi-tests "
                    "next to the lvm binary, build/wasi-tests for build/lvm)")
    ap.add_argument("--only", action="append", help="run only tests matching this glob")
    ap.add_argument("--verbose", "-v", action="store_true",
                    help="show the command, stdout and stderr of failing tests")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    ap.add_argument("--expected", default=os.path.join(HERE, "expected-failures.txt"))
    o = ap.parse_args()

    lvm = os.path.abspath(o.lvm)
    if not os.access(lvm, os.X_OK):
        print("wasi: %s: not an executable" % o.lvm)
        print("wasi: 0 passed, 1 failed")
        return 1
    build_dir = os.path.abspath(o.build_dir or os.path.join(os.path.dirname(lvm), "wasi-tests"))
    os.makedirs(build_dir, exist_ok=True)

    sources = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".c"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        built = list(ex.map(lambda s: build_guest(s, build_dir), sources))
    wasms = {os.path.splitext(os.path.basename(s))[0]: b for s, b in zip(sources, built)}

    tests = []
    for s in sources:
        tests += parse_directives(s)
    tests += cli_tests()
    names = [t.name for t in tests]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        print("wasi: duplicate test names: " + ", ".join(dups))
        return 1
    selected = [t for t in tests if not o.only or any(fnmatch.fnmatch(t.name, g) for g in o.only)]
    expected = load_expected(o.expected)

    passed = failed = xfailed = 0
    for t in selected:
        try:
            why = run_test(t, lvm, wasms, o.keep, o.verbose)
        except Exception as e:   # a hook or the driver itself: still one line per test
            why = "driver error: %r" % e
        if t.name in expected and expected[t.name].startswith("flaky:"):
            # fails only sometimes (a race in lvm): neither outcome decides the run
            if why:
                xfailed += 1
                print("FLAKY %s: failed this time: %s" % (t.name, why.splitlines()[0]))
            else:
                passed += 1
                print("FLAKY %s: passed this time" % t.name)
        elif t.name in expected:
            if why:
                xfailed += 1
                print("XFAIL %s: %s" % (t.name, why.splitlines()[0] if not o.verbose else why))
            else:
                failed += 1
                print("FIXED %s: passes now; remove it from %s" % (
                    t.name, os.path.relpath(o.expected)))
        elif why:
            failed += 1
            print("FAIL %s: %s" % (t.name, why))
        else:
            passed += 1
            print("PASS %s" % t.name)
        sys.stdout.flush()
    if not o.only:
        for name in sorted(set(expected) - set(names)):
            failed += 1
            print("STALE %s: on %s but there is no such test" % (
                name, os.path.relpath(o.expected)))
    if xfailed:
        print("(%d expected failures, listed in %s)" % (xfailed, os.path.relpath(o.expected)))
    print("wasi: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
