#!/usr/bin/env python3
"""footprint.py — how small lvm is: run by `make bench` after the compute workloads.

Reports, against the goals of issue 5:
  - the stripped size of the default lvm and of the minimal one (make MINIMAL=1):
    under 400 KiB and 150 KiB;
  - the peak resident memory and the wall time of a WASI "hello world" (C, puts, built
    with clang --target=wasm32-wasi): under 2 MiB and 2 ms.

Peak RSS is the kernel's ru_maxrss of the lvm process (os.wait4), wall time the best and
the median of RUNS runs from fork to exit. Both builds run the same hello.wasm, with the
default threads and with --threads 1 (no worker threads: the main thread runs it).

usage: footprint.py --lvm build/lvm --minimal build/minimal/lvm [--runs 50]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello, world"); return 0; }\n'
GOALS = {"lvm": 400 * 1024, "minimal": 150 * 1024, "rss_kib": 2048, "ms": 2.0}


def stripped_size(path):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "stripped")
        subprocess.run(["strip", "-o", out, path], check=True)
        return os.path.getsize(out)


def build_hello(workdir):
    src = os.path.join(workdir, "hello.c")
    obj = os.path.join(workdir, "hello.o")
    wasm = os.path.join(workdir, "hello.wasm")
    with open(src, "w") as f:
        f.write(HELLO_C)
    # -O2 -c, then link without -O (as the Makefile does: no wasm-opt at link time)
    subprocess.run(["clang", "--target=wasm32-wasi", "-O2", "-c", src, "-o", obj], check=True)
    subprocess.run(["clang", "--target=wasm32-wasi", obj, "-o", wasm], check=True)
    return wasm


def run_once(argv):
    """Wall time (ms) and peak RSS (KiB) of one run; the output must be the greeting."""
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.close(r)
        os.execv(argv[0], argv)
    os.close(w)
    out = b""
    while chunk := os.read(r, 4096):
        out += chunk
    _, status, ru = os.wait4(pid, 0)
    ms = (time.perf_counter() - t0) * 1000
    os.close(r)
    if status != 0 or out != b"hello, world\n":
        sys.exit(f"footprint: {' '.join(argv)} failed (status {status}, output {out!r})")
    return ms, ru.ru_maxrss


def measure(argv, runs):
    samples = [run_once(argv) for _ in range(runs)]
    times = sorted(s[0] for s in samples)
    rss = max(s[1] for s in samples)
    return times[0], statistics.median(times), rss


def verdict(ok):
    return "ok" if ok else "OVER"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lvm", required=True)
    ap.add_argument("--minimal", required=True)
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()

    print("\nfootprint (issue 5 goals in brackets)")
    for name, path in (("lvm", a.lvm), ("minimal", a.minimal)):
        size = stripped_size(path)
        print(f"  stripped {name:8s} {size / 1024:7.1f} KiB  [< {GOALS[name] // 1024} KiB] "
              f"{verdict(size < GOALS[name])}")

    with tempfile.TemporaryDirectory() as d:
        wasm = build_hello(d)
        for name, path in (("lvm", a.lvm), ("minimal", a.minimal)):
            for threads in (None, 1):
                argv = [os.path.abspath(path)] + (["--threads", "1"] if threads else []) + [wasm]
                best, med, rss = measure(argv, a.runs)
                label = f"{name}{' --threads 1' if threads else ''}"
                print(f"  hello world {label:20s} {best:5.2f} ms best, {med:5.2f} ms median "
                      f"[< {GOALS['ms']} ms] {verdict(med < GOALS['ms'])};  "
                      f"peak RSS {rss / 1024:5.2f} MiB [< 2 MiB] {verdict(rss < GOALS['rss_kib'])}")


if __name__ == "__main__":
    main()
