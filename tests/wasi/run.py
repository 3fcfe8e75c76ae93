#!/usr/bin/env python3
"""run.py — the WASI test driver (tests/wasi/README.md).

Builds the guest programs tests/wasi/*.c for wasm32-wasi, then runs every test through
the real lvm binary, each in a fresh temporary directory, and compares its exit status
and stdout with what the test states. Prints `PASS name` / `FAIL name: why` (or XFAIL /
FIXED / STALE / FLAKY, see expected-failures.txt) per test and ends with
`wasi: N passed, M failed`.

    run.py [--build-dir DIR] [--only GLOB]... [--verbose] [--keep] [--expected FILE] LVM

Tests come from two places:
  - `// test:` blocks in the .c files (the directives are described in README.md);
  - cli_tests() below: command-line cases that need no guest of their own.
What every guest suite does the same way (building, the common directives, running lvm,
judging, the expected-failures list) is tests/lib/guest_tests.py; this file has what is
WASI's own: a temporary world per test, its setup hooks and checks, the CLI cases.
"""

import hashlib
import os
import re
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.dont_write_bytecode = True   # no __pycache__ left in the source tree
import guest_tests as gt   # noqa: E402  (found through the line above)

TIMEOUT = float(os.environ.get("LVM_WASI_TIMEOUT", "30"))   # seconds per lvm run
# Set in lvm's environment (with the rest of ours): no guest may see it.
CANARY = ("LVM_WASI_TEST_CANARY", "host-only")


# ---- test descriptions ---------------------------------------------------------------------

class Test(gt.GuestTest):
    def __init__(self, name, program=None, args=(), where=None):
        super().__init__(name, program, args, where)
        self.argv = None           # the whole lvm command line, for cli_tests()
        self.check_stdout = True
        self.stderr_lines = None   # exact number of stderr lines, if set
        self.stdin = None          # bytes, or None for /dev/null
        self.setup = []            # [hook name, args...] lists
        self.files = []            # (path under scratch, expected contents)
        self.or_trap = False       # a wasm trap (status 134, "wasm trap" on stderr) also passes
        self.stdout_sha256 = None  # instead of expect lines, for long outputs
        self.expect_contains = None  # (cli_tests) a substring of stdout
        self.expect_re = None        # (cli_tests) the one line of stdout matches it


def _stdin(t, val):
    t.stdin = (t.stdin or b"") + val.encode() + b"\n"


def _file(t, val):
    path, _, text = val.partition(" ")
    t.files.append((path, text))


# WASI's own directives (README.md); the common ones are guest_tests.parse_directives'.
DIRECTIVES = {
    "stdin": _stdin,
    "setup": lambda t, val: t.setup.append(shlex.split(val)),
    "file": _file,
    "or-trap": lambda t, val: setattr(t, "or_trap", True),
    "stdout-sha256": lambda t, val: setattr(t, "stdout_sha256", val.strip()),
}


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
    # Numeric options refuse garbage, zero, negatives and overflow: the reason and the
    # pointer to --help (as for an unknown option), status 2.
    for opt, val in [("--threads", "abc"), ("--threads", "0"), ("--threads", "5000"),
                     ("--reductions", "-1"), ("--max-processes", "0"),
                     ("--seed", "99999999999999999999999")]:
        add("cli.bad_value%s_%s" % (opt.replace("-", "_"), val[:8].replace("-", "neg")),
            [opt, val, "{wasm}"], 2, stderr_lines=2, stderr=[opt, "--help"])
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
            HOOKS[h[0]](run, *[gt.expand(a, run.subst) for a in h[1:]])
        if t.argv is not None:
            argv = [lvm] + [gt.expand(a, run.subst) for a in t.argv]
        else:
            argv = ([lvm] + [gt.expand(a, run.subst) for a in t.lvm] + [run.subst["wasm"]] +
                    [gt.expand(a, run.subst) for a in t.args])
        env = dict(os.environ)
        env[CANARY[0]] = CANARY[1]
        threads = [threading.Thread(target=f, daemon=True) for f in run.during]

        def started():
            if run.stdin_fd is not None:
                os.close(run.stdin_fd)   # lvm has its copy; the feeder's end stays open
            for th in threads:
                th.start()
        try:
            o = gt.run_lvm(argv, run.scratch, TIMEOUT, env=env,
                           stdin=run.stdin_fd, input=t.stdin, started=started)
        finally:
            run.stop.set()
            for th in threads:
                if th.is_alive():
                    th.join(timeout=TIMEOUT)
        if o.timed_out:
            return gt.timed_out_reason(o, TIMEOUT, argv)
        for f in run.after:
            f()
        why = judge(t, run, o)
        if why and verbose:
            why += gt.details(argv, o)
        return why
    finally:
        run.close()


def judge(t, run, o):
    """The common checks (guest_tests.judge) and WASI's own: the sha256 of stdout, the
    CLI cases' stdout patterns and stderr line count, files left in scratch, and what the
    hooks found."""
    if (t.or_trap and o.status == 134 and "wasm trap" in o.err and not gt.fail_line(o.out)
            and not gt.sanitizer_lines(o.err)):
        return "; ".join(run.problems) or None
    after_stdout = []
    expect = None
    if t.stdout_sha256:
        got = hashlib.sha256(o.raw_out).hexdigest()
        if got != t.stdout_sha256:
            after_stdout.append("stdout (%d bytes) has sha256 %s, want %s" % (
                len(o.out), got, t.stdout_sha256))
    elif t.check_stdout:
        expect = [gt.expand(l, run.subst) for l in t.expect]
    if t.expect_contains and t.expect_contains not in o.out:
        after_stdout.append("stdout does not contain %r" % t.expect_contains)
    if t.expect_re:
        lines = o.out.splitlines()
        if len(lines) != 1 or not re.fullmatch(t.expect_re, lines[0]):
            after_stdout.append("stdout %r does not match %r" % (o.out, t.expect_re))
    after_stderr = []
    if t.stderr_lines is not None:
        n = len(o.err.splitlines())
        if n != t.stderr_lines:
            after_stderr.append("stderr has %d lines, want %d: %r" % (n, t.stderr_lines,
                                                                      o.err[:300]))
    for path, text in t.files:
        p = os.path.join(run.scratch, path)
        try:
            with open(p, encoding="utf-8", errors="replace") as f:
                got = f.read()
        except OSError as e:
            after_stderr.append("%s: %s" % (path, e.strerror))
            continue
        if got != text + "\n":
            after_stderr.append("%s holds %r, want %r" % (path, got, text + "\n"))
    after_stderr += run.problems
    return gt.judge(o, t.status, expect, [gt.expand(s, run.subst) for s in t.stderr],
                    after_stdout, after_stderr)


def main():
    ap = gt.arg_parser("Run the WASI guest tests through lvm.", HERE,
                       build_help="where the guests are built (default: DIR/wasi-tests "
                       "next to the lvm binary, build/wasi-tests for build/lvm)",
                       only_help="run only tests matching this glob")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    o = ap.parse_args()
    lvm, build_dir = gt.prepare("wasi", o, "wasi-tests")
    if not lvm:
        return 1

    sources = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".c"))
    common = [os.path.join(HERE, "common.h")]
    wasms = gt.build_all(sources, lambda s: gt.build_guest(s, build_dir, deps=common))

    tests = []
    for s in sources:
        tests += gt.parse_directives(s, Test, DIRECTIVES)
    tests += cli_tests()
    if not gt.unique_names("wasi", tests):
        return 1
    tally = gt.Tally("wasi", o.expected, o.verbose)
    for t in gt.selected([([t.name], t) for t in tests], o.only):
        tally.record(t.name, gt.attempt(run_test, t, lvm, wasms, o.keep, o.verbose))
    return tally.finish(None if o.only else [t.name for t in tests])


if __name__ == "__main__":
    sys.exit(main())
