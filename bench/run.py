#!/usr/bin/env python3
"""run.py — `make bench`: the compute workloads, lvm against native (bench/README.md).

For each workload in bench/compute/ this builds a native binary and an import-free Wasm
module from the same C source (into build/bench/), runs both N times, interleaved, checks
that lvm returns the native checksum, and prints the medians, the ratio lvm/native and the
geometric mean of the ratios; the same goes to bench/out/compute.json.

    python3 bench/run.py --lvm build/lvm [--runs 5] [--only NAME] [--no-reductions]
                         [--lvm-flag ARG]... [--native-only]

Standard library only. Exit status: 0 if every workload ran and matched, 1 otherwise.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in bench/
from benchlib import BenchError, git_commit, sh, stale  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC_DIR = os.path.join(ROOT, "bench", "compute")
OUT_DIR = os.path.join(ROOT, "bench", "out")
BUILD_DIR = os.path.join(ROOT, "build", "bench")

WORKLOADS = [
    "fannkuch", "spectral-norm", "mandelbrot", "binary-trees", "fib-rec", "crc32",
    "heapsort", "lz-compress", "bf-interp", "xorshift-popcnt", "strided",
]

# Compile with -O2 -c, link without -O: clang 14 runs binaryen's wasm-opt when it links
# with -O and wasm-opt is installed, which would make the module depend on the machine.
NATIVE_CFLAGS = ["-O2", "-std=gnu11", "-Wall", "-Wextra"]
WASM_CFLAGS = ["--target=wasm32-wasi", "-O2", "-std=gnu11", "-Wall", "-Wextra"]
# The Wasm build is a WASI command, like the native one: main() prints the checksum.
WASM_LDFLAGS = ["--target=wasm32-wasi", "-Wl,-z,stack-size=1048576"]

# A module exporting `run: [] -> [i64]` that returns 42, to ask lvm whether it takes --stats.
PROBE_WASM = bytes([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,         # magic, version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7e,               # type section: () -> i64
    0x03, 0x02, 0x01, 0x00,                                 # func 0: type 0
    0x07, 0x07, 0x01, 0x03, 0x72, 0x75, 0x6e, 0x00, 0x00,   # export "run" = func 0
    0x0a, 0x06, 0x01, 0x04, 0x00, 0x42, 0x2a, 0x0b,         # code: i64.const 42; end
])

MASK64 = (1 << 64) - 1


# ---- building -------------------------------------------------------------------------

def build_native(cc, name):
    obj_dir = os.path.join(BUILD_DIR, "native")
    os.makedirs(obj_dir, exist_ok=True)
    src = os.path.join(SRC_DIR, name + ".c")
    main_src = os.path.join(SRC_DIR, "native_main.c")
    obj = os.path.join(obj_dir, name + ".o")
    main_obj = os.path.join(obj_dir, "native_main.o")
    exe = os.path.join(obj_dir, name)
    if stale(main_obj, main_src):
        sh([cc] + NATIVE_CFLAGS + ["-c", main_src, "-o", main_obj])
    if stale(obj, src):
        sh([cc] + NATIVE_CFLAGS + ["-c", src, "-o", obj])
    if stale(exe, obj, main_obj):
        sh([cc, obj, main_obj, "-o", exe, "-lm"])
    return exe


def build_wasm(cc, name):
    obj_dir = os.path.join(BUILD_DIR, "wasm")
    os.makedirs(obj_dir, exist_ok=True)
    src = os.path.join(SRC_DIR, name + ".c")
    main_src = os.path.join(SRC_DIR, "native_main.c")
    obj = os.path.join(obj_dir, name + ".o")
    main_obj = os.path.join(obj_dir, "native_main.o")
    wasm = os.path.join(BUILD_DIR, name + ".wasm")
    if stale(main_obj, main_src):
        sh([cc] + WASM_CFLAGS + ["-c", main_src, "-o", main_obj])
    if stale(obj, src):
        sh([cc] + WASM_CFLAGS + ["-c", src, "-o", obj])
    if stale(wasm, obj, main_obj):
        sh([cc] + WASM_LDFLAGS + [obj, main_obj, "-o", wasm])
        check_module(wasm)
    return wasm


def check_module(path):
    """The module must be Wasm; lvm runs it as a WASI command (its _start)."""
    with open(path, "rb") as f:
        if f.read(8) != PROBE_WASM[:8]:
            raise BenchError("%s: not a Wasm 1.0 module" % path)


# ---- running --------------------------------------------------------------------------

def parse_checksum(stdout):
    """The last integer-looking token of stdout; tolerates a suffix such as `: i64`."""
    for tok in reversed(stdout.split()):
        m = re.match(r"^(-?\d+)", tok)
        if m:
            return int(m.group(1)) & MASK64
    return None


def parse_reductions(stderr):
    m = re.search(r"^\s*reductions:\s*(\d+)\s*$", stderr, re.MULTILINE)
    return int(m.group(1)) if m else None


def timed(cmd, timeout):
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, "timed out after %d s" % timeout
    elapsed = time.perf_counter() - start
    return elapsed, proc, None


def probe_lvm(lvm, flags, extra):
    """Runs lvm on the probe module; returns (ok, stderr)."""
    probe = os.path.join(BUILD_DIR, "probe.wasm")
    with open(probe, "wb") as f:
        f.write(PROBE_WASM)
    try:
        proc = subprocess.run([lvm] + flags + extra + ["--invoke", "run", probe],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)
    return proc.returncode == 0 and parse_checksum(proc.stdout) == 42, proc.stderr.strip()


def signed64(v):
    return v - (1 << 64) if v is not None and v >= 1 << 63 else v


def run_workload(name, args, lvm_cmd):
    """Runs native and lvm alternately; returns a result dict."""
    native = build_native(args.cc, name)
    wasm = build_wasm(args.cc, name)
    res = {"name": name, "native_times": [], "lvm_times": [], "reductions": [],
           "native_checksum": None, "lvm_checksum": None, "status": "ok", "error": None}
    for i in range(args.runs):
        elapsed, proc, err = timed([native], args.timeout)
        if err or proc.returncode != 0:
            raise BenchError("%s: native run failed: %s" % (name, err or proc.stderr.strip()))
        res["native_times"].append(elapsed)
        res["native_checksum"] = parse_checksum(proc.stdout)
        if lvm_cmd is None or res["status"] != "ok":
            continue
        elapsed, proc, err = timed(lvm_cmd + [wasm], args.timeout)
        if err is None and proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
            err = "exit status %d: %s" % (proc.returncode, tail)
        if err:
            res["status"], res["error"] = "FAILED", err
            continue
        got = parse_checksum(proc.stdout)
        res["lvm_times"].append(elapsed)
        res["lvm_checksum"] = got
        red = parse_reductions(proc.stderr)
        if red is not None:
            res["reductions"].append(red)
        if got != res["native_checksum"]:
            res["status"] = "MISMATCH"
            res["error"] = "checksum: native %s, lvm %s (stdout %r)" % (
                signed64(res["native_checksum"]), signed64(got), proc.stdout.strip()[-80:])
    res["native_s"] = statistics.median(res["native_times"])
    res["lvm_s"] = statistics.median(res["lvm_times"]) if res["lvm_times"] else None
    res["ratio"] = (res["lvm_s"] / res["native_s"]
                    if res["status"] == "ok" and res["lvm_s"] else None)
    if res["reductions"] and res["lvm_s"]:
        res["reductions_median"] = int(statistics.median(res["reductions"]))
        res["reductions_per_s"] = res["reductions_median"] / res["lvm_s"]
    res["native_checksum"] = signed64(res["native_checksum"])
    res["lvm_checksum"] = signed64(res["lvm_checksum"])
    return res


# ---- reporting ------------------------------------------------------------------------

def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def table(results, geomean, show_lvm):
    show_red = any("reductions_per_s" in r for r in results)
    head = ["workload", "native s"]
    if show_lvm:
        head += ["lvm s", "lvm/native"] + (["Mred/s"] if show_red else []) + ["status"]
    rows = []
    for r in results:
        row = [r["name"], fmt(r["native_s"], ".3f")]
        if show_lvm:
            row += [fmt(r["lvm_s"], ".3f"), fmt(r["ratio"], ".2f")]
            if show_red:
                rps = r.get("reductions_per_s")
                row.append(fmt(rps / 1e6 if rps is not None else None, ".1f"))
            status = r["status"]
            row.append(status if status == "ok" else "*** %s *** %s" % (status, r["error"]))
        rows.append(row)
    if show_lvm:
        foot = ["geomean", ""] + ["", fmt(geomean, ".2f")]
        rows.append(foot + [""] * (len(head) - len(foot)))
    widths = [max(len(str(x[i])) for x in [head] + rows) for i in range(len(head) - 1)]
    lines = []
    for row in [head] + rows:
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells + [str(row[-1])]).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    if show_lvm:
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lvm", default=os.path.join(ROOT, "build", "lvm"), help="lvm binary")
    ap.add_argument("--runs", type=int, default=5, help="runs of each side (default 5)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only this workload (repeatable)")
    ap.add_argument("--lvm-flag", action="append", default=[], metavar="ARG",
                    help="pass ARG to lvm before --invoke (repeatable; split like a shell "
                         "word list, so --lvm-flag '--reductions 0' works too)")
    ap.add_argument("--no-reductions", action="store_true",
                    help="pass --no-reductions to lvm (comparison only)")
    ap.add_argument("--native-only", action="store_true",
                    help="build everything, run only the native side")
    ap.add_argument("--cc", default=os.environ.get("BENCH_CC", "clang"))
    ap.add_argument("--timeout", type=int, default=900, help="seconds per run")
    ap.add_argument("--json", help="where to write the results (default "
                    "bench/out/compute.json, or compute-noreds.json with --no-reductions)")
    # `--lvm-flag --reductions` must not read --reductions as an option of ours.
    argv, i = [], 1
    while i < len(sys.argv):
        if sys.argv[i] == "--lvm-flag" and i + 1 < len(sys.argv):
            argv.append("--lvm-flag=" + sys.argv[i + 1])
            i += 2
        else:
            argv.append(sys.argv[i])
            i += 1
    args = ap.parse_args(argv)
    args.lvm_flag = [w for flag in args.lvm_flag for w in shlex.split(flag)]
    if args.json is None:
        args.json = os.path.join(OUT_DIR, "compute-noreds.json" if args.no_reductions
                                 else "compute.json")

    names = WORKLOADS
    if args.only:
        unknown = [n for n in args.only if n not in WORKLOADS]
        if unknown:
            ap.error("unknown workload %s; known: %s" % (", ".join(unknown), " ".join(WORKLOADS)))
        names = [n for n in WORKLOADS if n in args.only]
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    os.makedirs(BUILD_DIR, exist_ok=True)
    lvm_cmd, stats = None, False
    if not args.native_only:
        if not os.access(args.lvm, os.X_OK):
            print("run.py: lvm binary %s not found (build it with make, or use --native-only)"
                  % args.lvm, file=sys.stderr)
            return 2
        flags = list(args.lvm_flag) + (["--no-reductions"] if args.no_reductions else [])
        ok, err = probe_lvm(args.lvm, flags, [])
        if not ok:
            print("run.py: %s does not run a trivial module with flags %r: %s"
                  % (args.lvm, flags, err), file=sys.stderr)
            return 2
        stats = probe_lvm(args.lvm, flags, ["--stats"])[0]
        lvm_cmd = [args.lvm] + flags + (["--stats"] if stats else [])

    results = []
    try:
        for name in names:
            print("bench: %-16s" % name, end="", flush=True, file=sys.stderr)
            r = run_workload(name, args, lvm_cmd)
            results.append(r)
            print(" native %.3f s%s%s" % (
                r["native_s"],
                "" if r["lvm_s"] is None else ", lvm %.3f s" % r["lvm_s"],
                "" if r["status"] == "ok" else "  *** %s: %s" % (r["status"], r["error"])),
                file=sys.stderr)
    except BenchError as e:
        print("\nrun.py: %s" % e, file=sys.stderr)
        return 1

    ratios = [r["ratio"] for r in results if r["ratio"] is not None]
    geomean = math.exp(sum(math.log(x) for x in ratios) / len(ratios)) if ratios else None
    failed = [r["name"] for r in results if r["status"] != "ok"]

    print()
    print(table(results, geomean, lvm_cmd is not None))
    if lvm_cmd is not None:
        print("\n%d runs each, interleaved; medians of wall time per process; "
              "lvm: %s NAME.wasm" % (args.runs, " ".join(lvm_cmd)))
        if len(ratios) < len(results):
            print("geomean over the %d of %d workloads that ran and matched"
                  % (len(ratios), len(results)))
    if failed:
        print("\n*** FAILED: %s ***" % ", ".join(failed))

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": git_commit(),
        "host": platform.node(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "runs": args.runs,
        "lvm": None if lvm_cmd is None else lvm_cmd[:-2],
        "no_reductions": args.no_reductions,
        "stats": stats,
        "geomean_ratio": geomean,
        "failed": failed,
        "workloads": results,
    }
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print("\nwrote %s" % os.path.relpath(args.json, os.getcwd()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
