#!/usr/bin/env python3
"""footprint.py — how small lvm is: run by `make bench` after the compute workloads.

Reports, against the goals of issue 5:
  - the stripped size of the default lvm and of the minimal one (make MINIMAL=1):
    under 400 KiB and 150 KiB;
  - the peak resident memory and the wall time of a WASI "hello world" (C, puts, built
    with clang --target=wasm32-wasi): under 2 MiB and 2 ms.

Peak RSS is the kernel's ru_maxrss of the lvm process (through GNU time, see
peak_rss_kib), the median of RSS_RUNS runs with their range (see RSS_RUNS for why), wall time the best and the median of RUNS runs from spawn to exit (by hyperfine -N when it is installed). Both builds run the same hello.wasm, with the
default threads and with --threads 1 (no worker threads: the main thread runs it).

usage: footprint.py --lvm build/lvm --minimal build/minimal/lvm [--runs 50]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HELLO_C = '#include <stdio.h>\nint main(void) { puts("hello, world"); return 0; }\n'
GOALS = {"lvm": 400 * 1024, "minimal": 150 * 1024, "rss_kib": 2048, "ms": 2.0}
# Peak RSS moves by ±150 KiB from run to run of the same binary, and not at random: with
# address-space randomisation off (setarch -R) it is the same every time. Most of it is
# libc's pages, which the kernel maps 64 KiB at a time around each fault ("fault-around"),
# so where libc lands decides how many windows the same calls touch. So the goal is
# judged on the median of RSS_RUNS runs, like every other figure of make bench, and the
# range is printed beside it.
RSS_RUNS = 21


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


def wall_ms(argv):
    """Wall time (ms) of one run, from spawn to exit; the output must be the greeting."""
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE)
    ms = (time.perf_counter() - t0) * 1000
    if p.returncode != 0 or p.stdout != b"hello, world\n":
        sys.exit(f"footprint: {' '.join(argv)} failed (status {p.returncode}, output {p.stdout!r})")
    return ms


def peak_rss_kib(argv):
    """ru_maxrss of lvm alone. Not measured from this Python process: the kernel counts
    in a child's peak what its address space held before exec, and a child forked (or
    vforked) from Python starts with Python's ~10 MiB. GNU time's child starts with
    time's ~1 MiB, less than lvm's own, so its %M is lvm's peak."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    return int(p.stderr.strip().splitlines()[-1])


def hyperfine_ms(argv, runs):
    """Wall times (ms) by hyperfine without a shell (-N): it subtracts nothing, but spawns
    with less overhead than Python does (Python's subprocess adds about 0.7 ms)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--style", "none",
                        "--output", "null", "--export-json", out.name, " ".join(argv)],
                       check=True, stdout=subprocess.DEVNULL)
        return [t * 1000 for t in json.load(open(out.name))["results"][0]["times"]]


def measure(argv, runs):
    wall_ms(argv)        # checks the output, warms the page cache
    if shutil.which("hyperfine"):
        times = sorted(hyperfine_ms(argv, runs))
    else:
        times = sorted(wall_ms(argv) for _ in range(runs))
    rss = sorted(peak_rss_kib(argv) for _ in range(RSS_RUNS))
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
                rss_med = statistics.median(rss)
                label = f"{name}{' --threads 1' if threads else ''}"
                print(f"  hello world {label:20s} {best:5.2f} ms best, {med:5.2f} ms median "
                      f"[< {GOALS['ms']} ms] {verdict(med < GOALS['ms'])};  "
                      f"peak RSS {rss_med / 1024:5.2f} MiB median [< 2 MiB] "
                      f"{verdict(rss_med < GOALS['rss_kib'])} "
                      f"(runs {rss[0] / 1024:.2f}-{rss[-1] / 1024:.2f})")


if __name__ == "__main__":
    main()
