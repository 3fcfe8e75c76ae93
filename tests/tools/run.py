#!/usr/bin/env python3
"""tests/tools/run.py — `make test-tools`: lvm --trace, --trace-sched, --top and --stats.

    tests/tools/run.py --lvm build/lvm [--update]

- --trace: tests/trace/calls.wat (built with wat2wasm --debug-names, so functions have
  names) is run with --threads 1 for each case below; what lvm prints on stderr must be
  tests/trace/CASE.expected exactly (--update rewrites those files instead).
- --trace-sched: tests/tools/watched.c, a few processes that sleep and receive, run with
  --threads 1; the events must come in an order that makes sense for each process
  (spawned before it runs, woken only after it blocked, nothing after its exit). No
  timings are compared.
- --top: watched.c run for a few seconds in a detached tmux session of a fixed size;
  the screen, captured with `tmux capture-pane -p` as a person would see it, must show
  the processes: their pids, states, and the names two of them registered.
- --stats: the totals lines, `reductions: N` first (bench/run.py reads it).

The guest is built with clang for wasm32-wasi, with the SDK, into DIR/tools-tests next
to the lvm binary. Exits 1 on the first failure, saying what differed.
"""
import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRACE_DIR = os.path.join(ROOT, "tests", "trace")

# name -> lvm arguments after --threads 1 (the module is calls.wasm)
TRACE_CASES = {
    "sumsq": ["--trace", "--invoke", "sumsq", "calls.wasm", "3", "4"],
    "sumsq-square": ["--trace=square", "--invoke", "sumsq", "calls.wasm", "3", "4"],
    "sumsq-index": ["--trace=0", "--invoke", "sumsq", "calls.wasm", "3", "4"],
    "countdown": ["--trace", "--invoke", "countdown", "calls.wasm", "2"],
    "div-trap": ["--trace", "--invoke", "div", "calls.wasm", "7", "0"],
}


def fail(msg):
    print(f"test-tools: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def build(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    subprocess.run(["wat2wasm", "--debug-names", os.path.join(TRACE_DIR, "calls.wat"),
                    "-o", os.path.join(out_dir, "calls.wasm")], check=True)
    cc = ["clang", "--target=wasm32-wasi", "-O2", "-Wall", "-Wextra", "-I" + ROOT]
    objs = []
    for src in ["tests/tools/watched.c", "sdk/lvm.c", "sdk/server.c", "sdk/supervisor.c"]:
        obj = os.path.join(out_dir, os.path.basename(src)[:-2] + ".o")
        subprocess.run(cc + ["-c", os.path.join(ROOT, src), "-o", obj], check=True)
        objs.append(obj)
    # Linked without -O: clang 14 would run binaryen's wasm-opt if it finds one.
    subprocess.run(["clang", "--target=wasm32-wasi"] + objs +
                   ["-o", os.path.join(out_dir, "watched.wasm")], check=True)


def test_trace(lvm, out_dir, update):
    for name, args in TRACE_CASES.items():
        p = subprocess.run([lvm, "--threads", "1"] + args, cwd=out_dir, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # The trace is what comes before lvm's own messages (a trap's backtrace).
        got = "".join(l for l in p.stderr.splitlines(True) if l.startswith("[pid "))
        path = os.path.join(TRACE_DIR, name + ".expected")
        if update:
            with open(path, "w") as f:
                f.write(got)
            continue
        with open(path) as f:
            want = f.read()
        if got != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                path, "lvm " + " ".join(args)))
            fail(f"--trace {name}:\n{diff}")
        print(f"test-tools: --trace {name}: ok")


def test_trace_sched(lvm, out_dir):
    p = subprocess.run([lvm, "--threads", "1", "--trace-sched", "watched.wasm", "100"],
                       cwd=out_dir, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        fail(f"--trace-sched: exit status {p.returncode}\n{p.stderr}")
    events = [l[len("[sched] "):] for l in p.stderr.splitlines() if l.startswith("[sched] ")]
    if not events or events[0] != "spawn pid 1 by the host: _start":
        fail(f"--trace-sched: the first event is not the root's spawn: {events[:1]}")
    state = {}            # pid -> "spawned" | "running" | "runnable" | "blocked" | "exited"
    seen = set()
    for e in events:
        m = re.match(r"(\w+) pid (\d+)", e)
        if not m:
            fail(f"--trace-sched: unreadable event {e!r}")
        kind, pid = m.group(1), int(m.group(2))
        seen.add(kind)
        s = state.get(pid)
        ok = {
            "spawn": s is None,
            "run": s in ("spawned", "runnable"),
            "yield": s == "running",
            "block": s == "running" and re.search(r" on (receive|sleep)", e),
            "wake": s == "blocked",
            "exit": s in ("running", "runnable", "spawned"),
            "steal": s in ("spawned", "runnable"),
        }.get(kind)
        if not ok:
            fail(f"--trace-sched: {e!r} when pid {pid} was {s}\n" + "\n".join(events))
        state[pid] = {"spawn": "spawned", "run": "running", "yield": "runnable",
                      "block": "blocked", "wake": "runnable", "exit": "exited",
                      "steal": s}[kind]
    for kind in ("spawn", "run", "block", "wake", "exit"):
        if kind not in seen:
            fail(f"--trace-sched: no {kind} event\n" + "\n".join(events))
    if state.get(1) != "exited" or len(state) != 5:
        fail(f"--trace-sched: expected 5 processes and the root's exit: {state}")
    print(f"test-tools: --trace-sched: ok ({len(events)} events)")


def test_top(lvm, out_dir):
    if not shutil.which("tmux"):
        fail("--top: tmux is not installed (tools/install-deps.sh installs it)")
    session = f"lvm-top-test-{os.getpid()}"
    cmd = f"cd {out_dir} && {os.path.abspath(lvm)} --top watched.wasm 4000; sleep 30"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "30", cmd],
                   check=True)
    try:
        screen = ""
        deadline = time.time() + 10
        want = ["PID", "STATE", "keeper", "napper", "waiting (receive)", "workers:"]
        while time.time() < deadline:
            time.sleep(0.5)
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], text=True,
                                    stdout=subprocess.PIPE).stdout
            if all(w in screen for w in want) and re.search(r"^\s+5\s", screen, re.M):
                break
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], stderr=subprocess.DEVNULL)
    for w in want:
        if w not in screen:
            fail(f"--top: {w!r} is not on the screen:\n{screen}")
    for pid in range(1, 6):
        if not re.search(rf"^\s+{pid}\s", screen, re.M):
            fail(f"--top: pid {pid} is not on the screen:\n{screen}")
    if not re.search(r"^\s+1\s+keeper\s+waiting \(sleep\)", screen, re.M):
        fail(f"--top: the root is not shown as keeper, sleeping:\n{screen}")
    print("test-tools: --top: ok")


def test_stats(lvm, out_dir):
    p = subprocess.run([lvm, "--threads", "1", "--stats", "watched.wasm", "10"], cwd=out_dir,
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = p.stderr.splitlines()
    if not lines or not re.fullmatch(r"reductions: \d+", lines[0]):
        fail(f"--stats: the first line is not 'reductions: N': {p.stderr!r}")
    for want in (r"processes spawned: 5", r"processes exited: \d+", r"messages: \d+",
                 r"steals: \d+", r"peak memory: [1-9]\d* KiB"):
        if not any(re.fullmatch(want, l) for l in lines):
            fail(f"--stats: no line '{want}' in:\n{p.stderr}")
    print("test-tools: --stats: ok")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lvm", required=True)
    ap.add_argument("--update", action="store_true",
                    help="rewrite tests/trace/*.expected from what lvm prints")
    a = ap.parse_args()
    lvm = os.path.abspath(a.lvm)
    out_dir = os.path.join(os.path.dirname(lvm), "tools-tests")
    build(out_dir)
    test_trace(lvm, out_dir, a.update)
    if a.update:
        return
    test_trace_sched(lvm, out_dir)
    test_stats(lvm, out_dir)
    test_top(lvm, out_dir)
    print("test-tools: all passed")


if __name__ == "__main__":
    main()
