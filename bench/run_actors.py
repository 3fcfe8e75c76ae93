#!/usr/bin/env python3
"""run_actors.py — `make bench`: the actor workloads, lvm beside BEAM (bench/README.md).

Builds the guest programs of bench/actors/ (wasm32-wasi, sdk/lvm.h) into
build/bench/actors/, runs each --runs times in a fresh lvm, takes the median of every
figure, and prints them beside the same workloads on Erlang/OTP (../shared/bench/beam/
run.sh) when `erl` is on PATH, else beside the reference figures of ACTORS.md. The same
data, with every run, goes to bench/out/actors.json.

    python3 bench/run_actors.py --lvm build/lvm [--runs 3] [--only NAME] [--threads N]
                                [--lvm-flag ARG]... [--no-beam] [--mem-limit-gb G]

Standard library only. Exit status: 0 if every lvm workload ran, 1 otherwise.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in bench/
from benchlib import BenchError, git_commit, sh, stale  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC_DIR = os.path.join(ROOT, "bench", "actors")
SDK_DIR = os.path.join(ROOT, "sdk")
OUT_DIR = os.path.join(ROOT, "bench", "out")
BUILD_DIR = os.path.join(ROOT, "build", "bench", "actors")
BEAM_DIR = os.path.join(os.path.dirname(ROOT), "shared", "bench", "beam")

# Workload -> the run.sh key of its Erlang version (ba_spawn:main() does both spawn_exit_*).
WORKLOADS = [
    ("spawn_exit_msg", "spawn"), ("spawn_exit_monitor", "spawn"), ("spawn_idle_1m", "idle"),
    ("ring", "ring"), ("pingpong", "pingpong"), ("fanin", "fanin"),
    ("fairness", "fairness"), ("skynet", "skynet"),
]
NAMES = [w for w, _ in WORKLOADS]
# When the full size does not fit under --mem-limit-gb: (argument, what the note says).
FALLBACK = {"spawn_idle_1m": ("n=100000", "1,000,000 idle processes", "n=100,000"),
            "skynet": ("size=100000", "the 1,111,111-process tree", "100,000 leaves "
                       "(111,111 processes)")}

# Compile with -O2 -c, link without -O (clang 14 runs binaryen's wasm-opt when it links with
# -O and finds one, so the module would depend on the machine). The default 64 KiB stack.
WASM_CFLAGS = ["--target=wasm32-wasi", "-O2", "-std=gnu11", "-Wall", "-Wextra", "-I", ROOT]
WASM_LDFLAGS = ["--target=wasm32-wasi"]

# What the table shows: (RESULT name, run or None, field, unit, lower is better?, goal).
# BEAM's field name where it differs: fairness hogs count reductions, ours loop iterations.
ROWS = [
    ("spawn_exit_msg", "cold", "us_per_spawn", "µs/spawn", True, None),
    ("spawn_exit_msg", "warm", "us_per_spawn", "µs/spawn", True, "spawn"),
    ("spawn_exit_monitor", "cold", "us_per_spawn", "µs/spawn", True, None),
    ("spawn_exit_monitor", "warm", "us_per_spawn", "µs/spawn", True, "spawn"),
    ("spawn_idle_1m", "cold", "us_per_spawn", "µs/spawn", True, None),
    ("spawn_idle_1m", "cold", "bytes_per_proc", "B/process", True, "idle"),
    ("spawn_idle_1m", "cold", "kill_all_ms", "ms kill all", True, None),
    ("spawn_idle_1m", "warm", "us_per_spawn", "µs/spawn", True, None),
    ("spawn_idle_1m", "warm", "bytes_per_proc", "B/process", True, None),
    ("spawn_idle_1m", "warm", "kill_all_ms", "ms kill all", True, None),
    ("ring", "cold", "msgs_per_s", "msgs/s", False, None),
    ("ring", "warm", "msgs_per_s", "msgs/s", False, "ring"),
    ("ring", "warm", "ns_per_hop", "ns/hop", True, None),
    ("ring", "warm", "build_ms", "ms build", True, None),
    ("pingpong", "cold", "rtt_us", "µs/round trip", True, None),
    ("pingpong", "warm", "rtt_us", "µs/round trip", True, "pingpong"),
    ("fanin", "cold", "msgs_per_s", "msgs/s", False, None),
    ("fanin", "warm", "msgs_per_s", "msgs/s", False, None),
    ("fanin", "warm", "mb_per_s", "MB/s", False, None),
    ("fairness_idle", None, "p50_ms", "ms late p50", True, None),
    ("fairness_idle", None, "p99_ms", "ms late p99", True, None),
    ("fairness_idle", None, "max_ms", "ms late max", True, None),
    ("fairness_loaded", None, "p50_ms", "ms late p50", True, None),
    ("fairness_loaded", None, "p99_ms", "ms late p99", True, "fairness"),
    ("fairness_loaded", None, "max_ms", "ms late max", True, None),
    ("fairness_loaded", None, "hog_iters_per_s", "hog iter/s", False, None),
    ("skynet", "cold", "total_ms", "ms total", True, None),
    ("skynet", "cold", "us_per_proc", "µs/process", True, None),
    ("skynet", "warm", "total_ms", "ms total", True, None),
    ("skynet", "warm", "us_per_proc", "µs/process", True, None),
]
BEAM_FIELD = {"hog_iters_per_s": "hog_reds_per_s"}
RESULT_OF = {"fairness": ["fairness_idle", "fairness_loaded"]}   # else the workload's name

# ACTORS.md: "BEAM on this machine (OTP 25.2.3, JIT, 2 schedulers, medians of quiet runs)".
# (value used for the ratio, text shown)
BEAM_REF = {
    ("spawn_exit_msg", "us_per_spawn"): (10.0, "10"),
    ("spawn_exit_monitor", "us_per_spawn"): (7.7, "7.7"),
    ("spawn_idle_1m", "bytes_per_proc"): (2648.0, "2648"),
    ("ring", "msgs_per_s"): (1.8e6, "1.7–1.9M"),
    ("pingpong", "rtt_us"): (0.82, "0.82"),
    ("fanin", "msgs_per_s"): (1.95e6, "1.7–2.2M"),
    ("fairness_loaded", "p99_ms"): (1.03, "1.03"),
    ("skynet", "total_ms"): (3800.0, "3800"),
    ("skynet", "us_per_proc"): (3.42, "3.42"),
}
IDLE_GOAL_BYTES = 16 * 1024


# ---- building -------------------------------------------------------------------------

def build_sdk(cc):
    """The SDK's .c files (if it has any), compiled once for every workload."""
    headers = [os.path.join(SDK_DIR, f) for f in sorted(os.listdir(SDK_DIR)) if f.endswith(".h")]
    objs = []
    for f in sorted(os.listdir(SDK_DIR)):
        if not f.endswith(".c"):
            continue
        src = os.path.join(SDK_DIR, f)
        obj = os.path.join(BUILD_DIR, "sdk", f[:-2] + ".o")
        os.makedirs(os.path.dirname(obj), exist_ok=True)
        if stale(obj, src, *headers):
            sh([cc] + WASM_CFLAGS + ["-c", src, "-o", obj])
        objs.append(obj)
    return objs, headers


def build_wasm(cc, name, sdk_objs, headers):
    src = os.path.join(SRC_DIR, name + ".c")
    common = os.path.join(SRC_DIR, "common.h")
    obj = os.path.join(BUILD_DIR, name + ".o")
    wasm = os.path.join(BUILD_DIR, name + ".wasm")
    if stale(obj, src, common, *headers):
        sh([cc] + WASM_CFLAGS + ["-c", src, "-o", obj])
    if stale(wasm, obj, *sdk_objs):
        sh([cc] + WASM_LDFLAGS + [obj] + sdk_objs + ["-o", wasm])
    return wasm


# ---- the machine ------------------------------------------------------------------------

HZ = os.sysconf("SC_CLK_TCK")


def busy_idle():
    """Busy and idle jiffies of the whole machine (as run.sh's busy_idle)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], v[3] + v[4]


def wait_quiet(pct, max_s):
    """Wait until the machine is < pct % busy for 1 s, at most max_s; returns seconds waited."""
    if pct <= 0:
        return 0.0
    t0 = time.monotonic()
    while True:
        b0, i0 = busy_idle()
        time.sleep(1)
        b1, i1 = busy_idle()
        busy = 100 * (b1 - b0) / ((b1 - b0) + (i1 - i0) + 1)
        if busy < pct or time.monotonic() - t0 >= max_s:
            return time.monotonic() - t0


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return None


# ---- running lvm --------------------------------------------------------------------------

def parse_result(line):
    """`RESULT name k=v …` -> (name, {k: number or text})."""
    parts = line.split()
    kv = {}
    for p in parts[2:]:
        k, _, v = p.partition("=")
        try:
            kv[k] = int(v) if re.fullmatch(r"-?\d+", v) else float(v)
        except ValueError:
            kv[k] = v
    return parts[1], kv


def run_vm(cmd, timeout, mem_limit_kib):
    """Runs one VM. The guest may print `MEASURE label…` lines: each time, the VmRSS of the
    process is recorded and a newline written to its stdin, which it waits for.
    Returns a dict: results [(name, kv)], measures [(label, rss_kib)], wall_s, cpu_s,
    maxrss_kib, foreign_cpu_s, error (None if it ran to the end with status 0)."""
    err_file = tempfile.TemporaryFile(mode="w+")
    b0, _ = busy_idle()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err_file,
                            text=True, bufsize=1)
    killed = {}
    done = threading.Event()

    def watchdog():
        while not done.wait(0.1):
            if time.perf_counter() - start > timeout:
                killed["why"] = "timed out after %d s" % timeout
            else:
                rss = rss_kib(proc.pid)
                if rss is not None and mem_limit_kib and rss > mem_limit_kib:
                    killed["why"] = ("resident memory passed the limit of %.1f GiB (--mem-limit-gb)"
                                     % (mem_limit_kib / 2**20))
                    killed["rss_kib"] = rss
            if killed:
                proc.kill()
                return

    wd = threading.Thread(target=watchdog, daemon=True)
    wd.start()
    results, measures, other = [], [], []
    for line in proc.stdout:
        line = line.rstrip("\n")
        if line.startswith("RESULT "):
            results.append(parse_result(line))
        elif line.startswith("MEASURE "):
            measures.append((line.split(None, 1)[1], rss_kib(proc.pid)))
            try:
                proc.stdin.write("\n")
                proc.stdin.flush()
            except OSError:
                pass
        else:
            other.append(line)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    done.set()
    wd.join()
    b1, _ = busy_idle()
    try:
        proc.stdin.close()
    except OSError:
        pass
    err_file.seek(0)
    stderr = err_file.read()
    err_file.close()
    cpu = usage.ru_utime + usage.ru_stime
    out = {"results": results, "measures": measures, "wall_s": wall, "cpu_s": cpu,
           "maxrss_kib": usage.ru_maxrss, "foreign_cpu_s": max(0.0, (b1 - b0) / HZ - cpu),
           "error": None, "killed": killed or None}
    if killed:
        out["error"] = killed["why"]
    elif proc.returncode != 0:
        tail = [l for l in (stderr.strip().splitlines() + other) if l.strip()][-1:] or ["(no output)"]
        out["error"] = "exit status %d: %s" % (proc.returncode, tail[0])
    return out


def median_results(runs):
    """[{key: {field: value}}] over runs -> {key: {field: median}} (numeric fields only)."""
    keys = []
    for r in runs:
        for k in r:
            if k not in keys:
                keys.append(k)
    med = {}
    for k in keys:
        fields = {}
        for r in runs:
            for f, v in r.get(k, {}).items():
                if isinstance(v, (int, float)):
                    fields.setdefault(f, []).append(v)
        med[k] = {f: statistics.median(v) for f, v in fields.items()}
    return med


def keyed(results):
    """[(name, kv)] -> {"name/run" or "name": kv}."""
    out = {}
    for name, kv in results:
        kv = dict(kv)
        run = kv.pop("run", None)
        out[name + ("/" + run if run else "")] = kv
    return out


def run_lvm_workload(name, wasm, args, lvm_cmd, log):
    res = {"name": name, "runs": [], "status": "ok", "error": None, "note": None}
    extra = []
    if name == "spawn_idle_1m":
        extra = ["handshake"] + (["n=%d" % args.idle_n] if args.idle_n else [])
    elif name == "fairness":
        extra = ["workers=%d" % args.threads]
    # skynet's 1,111,111 processes may all be alive at once (a node waits for its ten
    # children; run oldest first, the whole tree is spawned before the leaves run): past
    # lvm's default limit of 1,048,576, as BEAM's run.sh raises +P to 2,000,000 for it.
    flags = ["--max-processes", "2000000"] if name == "skynet" else []
    attempt = 0
    while len(res["runs"]) < args.runs:
        attempt += 1
        if attempt > args.runs + 1:
            break
        waited = wait_quiet(args.quiet_pct, args.quiet_max)
        cmd = lvm_cmd + flags + [wasm] + extra
        r = run_vm(cmd, args.timeout, args.mem_limit_kib)
        r["cmd"] = cmd
        r["quiet_wait_s"] = round(waited, 1)
        log(" %.1fs" % r["wall_s"])
        if r["error"] and name in FALLBACK and r["killed"] and "rss_kib" in r["killed"] \
                and not any("=" in a and not a.startswith("workers=") for a in extra):
            # The full size does not fit: measure a smaller one, say so, go on.
            arg, what, small = FALLBACK[name]
            res["note"] = ("%s did not fit: lvm was stopped at %.1f GiB resident after %.0f s; "
                           "the figures are for %s" % (what, r["killed"]["rss_kib"] / 2**20,
                                                       r["wall_s"], small))
            res["failed_full_run"] = {k: r[k] for k in ("wall_s", "maxrss_kib", "error", "cmd")}
            log(" (does not fit; %s)" % arg)
            extra = extra + [arg]
            continue
        if r["error"]:
            res["status"], res["error"] = "FAILED", r["error"]
            res["runs"].append(r)
            break
        r["keyed"] = keyed(r["results"])
        if name == "spawn_idle_1m":
            add_idle_memory(r)
        wanted = RESULT_OF.get(name, [name])
        if not any(k.split("/")[0] in wanted for k in r["keyed"]):
            res["status"], res["error"] = "FAILED", "no RESULT line"
        res["runs"].append(r)
    ok_runs = [r["keyed"] for r in res["runs"] if not r["error"]]
    res["median"] = median_results(ok_runs) if ok_runs else {}
    return res


def add_idle_memory(r):
    """bytes_per_proc from the VmRSS read at `MEASURE base run=X` / `MEASURE loaded run=X`."""
    rss = {}
    for label, kib in r["measures"]:
        what, _, run = label.partition(" run=")
        rss[(what, run)] = kib
    for key, kv in r["keyed"].items():
        if not key.startswith("spawn_idle_1m/"):
            continue
        run = key.split("/", 1)[1]
        base, loaded = rss.get(("base", run)), rss.get(("loaded", run))
        if base is not None and loaded is not None and kv.get("n"):
            kv["rss_base_mb"] = round(base / 1024, 1)
            kv["rss_loaded_mb"] = round(loaded / 1024, 1)
            kv["bytes_per_proc"] = round((loaded - base) * 1024 / kv["n"], 1)


# ---- running BEAM -------------------------------------------------------------------------

def run_beam(keys, args, log):
    """Runs ../shared/bench/beam/run.sh for these run.sh keys; returns (runs, info)."""
    env = dict(os.environ, REPS=str(args.runs), SCHED=str(args.threads), ONLY=" ".join(keys),
               QUIET_PCT=str(args.quiet_pct), QUIET_MAX=str(args.quiet_max))
    ebin = os.path.join(ROOT, "build", "bench", "beam-ebin")
    os.makedirs(ebin, exist_ok=True)
    env["EBIN"] = ebin
    try:
        proc = subprocess.run(["bash", os.path.join(args.beam_dir, "run.sh")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=args.timeout * args.runs * 2)
    except subprocess.TimeoutExpired:
        return None, "run.sh timed out"
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        return None, "run.sh exit status %d: %s" % (proc.returncode, tail)
    # One VM's RESULT lines are followed by its `# vm=…` line.
    vms, pending, info = [], [], {"otp": None, "vm_lines": []}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            name, kv = parse_result(line)
            if name != "constants":
                pending.append((name, kv))
            else:
                info["constants"] = kv
        elif line.startswith("# vm="):
            vms.append(keyed(pending))
            pending = []
            info["vm_lines"].append(line[2:])
        elif line.startswith("# otp=") and not info["otp"]:
            info["otp"] = line[2:]
    return vms, info


# ---- reporting ------------------------------------------------------------------------------

def fmt_num(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1e6:
        return "%.2fM" % (v / 1e6)
    if a >= 1e4:
        return "%.0f" % v
    if a >= 100:
        return "%.1f" % v
    if a >= 10:
        return "%.2f" % v
    return "%.3f" % v


def compare(lvm, beam, lower_better):
    """'2.1x slower' / '1.3x faster' (or worse/better for lateness and memory)."""
    if lvm is None or beam is None or lvm <= 0 or beam <= 0:
        return ""
    f = lvm / beam if lower_better else beam / lvm
    if 0.95 <= f <= 1.05:
        return "same"
    return "%.1fx %s" % (f if f > 1 else 1 / f, "slower" if f > 1 else "faster")


PER_PROCESS = {"us_per_spawn", "bytes_per_proc", "us_per_proc"}


def build_table(lvm_med, beam_med, beam_label, selected, reduced):
    """reduced: workloads measured at a smaller size (marked *; totals not compared)."""
    head = ["workload", "run", "figure", "lvm", beam_label, "lvm vs BEAM"]
    rows = []
    for name, run, field, unit, lower, goal in ROWS:
        wl = "fairness" if name.startswith("fairness") else name
        if wl not in selected:
            continue
        key = name + ("/" + run if run else "")
        lv = lvm_med.get(key, {}).get(field)
        bv_text, bv = "-", None
        if beam_med is not None:
            bv = beam_med.get(key, {}).get(BEAM_FIELD.get(field, field))
            bv_text = fmt_num(bv)
        elif (name, field) in BEAM_REF and (run in (None, "warm") or name == "spawn_idle_1m"):
            bv, bv_text = BEAM_REF[(name, field)]
        verdict = compare(lv, bv, lower)
        lv_text = fmt_num(lv)
        if wl in reduced and lv is not None:
            lv_text += "*"
            if field not in PER_PROCESS:
                verdict = "(smaller size)"
        if field == "hog_iters_per_s" and verdict:
            verdict += " (BEAM: reds/s)"
        rows.append([name, run or "", unit, lv_text, bv_text, verdict])
    widths = [max(len(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    lines = []
    for r in [head] + rows:
        cells = [str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "-" * max(len(l) for l in lines))
    return "\n".join(lines)


def goals(lvm_med, beam_med):
    """The goals of issue 4, each (text, met?) or (text, None) when it cannot be judged."""
    def get(med, key, field):
        return None if med is None else med.get(key, {}).get(field)
    beam = beam_med
    if beam is None:
        beam = {}
        for (name, field), (v, _) in BEAM_REF.items():
            for run in ("warm", "cold") if name not in ("fairness_loaded",) else (None,):
                beam.setdefault(name + ("/" + run if run else ""), {})[field] = v
    out = []
    for text, key, field, lower in [
            ("spawn+exit at least as fast as BEAM (warm, µs/spawn)", "spawn_exit_msg/warm", "us_per_spawn", True),
            ("spawn+monitor at least as fast as BEAM (warm, µs/spawn)", "spawn_exit_monitor/warm", "us_per_spawn", True),
            ("ring at least as fast as BEAM (warm, msgs/s)", "ring/warm", "msgs_per_s", False),
            ("ping-pong at least as fast as BEAM (warm, µs)", "pingpong/warm", "rtt_us", True),
            ("fairness: loaded p99 lateness no worse than BEAM's (ms)", "fairness_loaded", "p99_ms", True)]:
        lv, bv = get(lvm_med, key, field), get(beam, key, field)
        met = None if lv is None or bv is None else (lv <= bv if lower else lv >= bv)
        out.append(("%s: lvm %s, BEAM %s" % (text, fmt_num(lv), fmt_num(bv)), met))
    # BEAM rounds `after 1` up to about 2 ms, so ACTORS.md says to compare loaded against
    # idle: the p99 lateness the hogs add. The hogs cannot make a ticker earlier: a
    # difference below zero is the noise of two runs, and counts as adding nothing.
    def added(med):
        a, b = get(med, "fairness_loaded", "p99_ms"), get(med, "fairness_idle", "p99_ms")
        return None if a is None or b is None else max(a - b, 0.0)
    la, ba = added(lvm_med), added(beam_med)
    out.append(("fairness: p99 lateness the hogs add (loaded - idle) no more than BEAM's (ms): "
                "lvm %s, BEAM %s" % (fmt_num(la), fmt_num(ba)),
                None if la is None or ba is None else la <= ba))
    lv = get(lvm_med, "spawn_idle_1m/cold", "bytes_per_proc")
    out.append(("an idle process under 16 KiB resident: lvm %s B" % fmt_num(lv),
                None if lv is None else lv < IDLE_GOAL_BYTES))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lvm", default=os.path.join(ROOT, "build", "lvm"), help="lvm binary")
    ap.add_argument("--runs", type=int, default=3, help="fresh VMs per workload (default 3)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="run only this workload (repeatable): " + " ".join(NAMES))
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                    help="lvm --threads and BEAM's schedulers (+S); default: the cores")
    ap.add_argument("--lvm-flag", action="append", default=[], metavar="ARG",
                    help="pass ARG to lvm before the module (repeatable; split like a shell "
                         "word list)")
    ap.add_argument("--no-beam", action="store_true",
                    help="do not run BEAM even if erl is installed (reference figures instead)")
    ap.add_argument("--beam-dir", default=BEAM_DIR, help="the Erlang versions and run.sh")
    ap.add_argument("--idle-n", type=int, default=0,
                    help="processes for spawn_idle_1m (default 1,000,000, or 100,000 if "
                         "those do not fit under --mem-limit-gb)")
    ap.add_argument("--mem-limit-gb", type=float, default=None,
                    help="stop an lvm run whose resident memory passes this (default: 70%% "
                         "of MemAvailable at start)")
    ap.add_argument("--quiet-pct", type=int, default=10,
                    help="before each VM wait until the machine is below this %% busy for "
                         "1 s (0: do not wait); as run.sh's QUIET_PCT")
    ap.add_argument("--quiet-max", type=int, default=30, help="longest such wait, s")
    ap.add_argument("--cc", default=os.environ.get("BENCH_CC", "clang"))
    ap.add_argument("--timeout", type=int, default=600, help="seconds per run")
    ap.add_argument("--json", default=os.path.join(OUT_DIR, "actors.json"))
    argv, i = [], 1
    while i < len(sys.argv):   # `--lvm-flag --reductions` is not an option of ours
        if sys.argv[i] == "--lvm-flag" and i + 1 < len(sys.argv):
            argv.append("--lvm-flag=" + sys.argv[i + 1])
            i += 2
        else:
            argv.append(sys.argv[i])
            i += 1
    args = ap.parse_args(argv)
    args.lvm_flag = [w for flag in args.lvm_flag for w in shlex.split(flag)]
    names = NAMES
    if args.only:
        unknown = [n for n in args.only if n not in NAMES]
        if unknown:
            ap.error("unknown workload %s; known: %s" % (", ".join(unknown), " ".join(NAMES)))
        names = [n for n in NAMES if n in args.only]
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.mem_limit_gb is None:
        args.mem_limit_kib = int((mem_available_kib() or 8 << 20) * 0.7)
    else:
        args.mem_limit_kib = int(args.mem_limit_gb * 2**20)

    if not os.access(args.lvm, os.X_OK):
        print("run_actors.py: lvm binary %s not found (build it with make)" % args.lvm,
              file=sys.stderr)
        return 2
    os.makedirs(BUILD_DIR, exist_ok=True)
    try:
        sdk_objs, headers = build_sdk(args.cc)
        wasms = {n: build_wasm(args.cc, n, sdk_objs, headers) for n in names}
    except BenchError as e:
        print("run_actors.py: %s" % e, file=sys.stderr)
        return 1
    lvm_cmd = [args.lvm, "--threads", str(args.threads)] + args.lvm_flag

    erl = shutil.which("erl")
    use_beam = erl is not None and not args.no_beam and os.path.exists(
        os.path.join(args.beam_dir, "run.sh"))
    if use_beam and not shutil.which("erlc"):
        use_beam = False

    def log(s):
        print(s, end="", flush=True, file=sys.stderr)

    results, beam_vms, beam_info, beam_error = [], [], {}, None
    # Workloads with the same run.sh key run next to each other, then BEAM's version of them,
    # so both sides see the machine in about the same state.
    groups = []
    for n in names:
        key = dict(WORKLOADS)[n]
        if groups and groups[-1][0] == key:
            groups[-1][1].append(n)
        else:
            groups.append((key, [n]))
    for key, members in groups:
        for n in members:
            log("actors: %-19s lvm" % n)
            r = run_lvm_workload(n, wasms[n], args, lvm_cmd, log)
            results.append(r)
            log("" if r["status"] == "ok" else "  *** %s: %s" % (r["status"], r["error"]))
            log("\n")
        if use_beam:
            log("actors: %-19s BEAM (run.sh ONLY=%s, %d VMs) ..." % ("/".join(members)[:19], key, args.runs))
            t0 = time.monotonic()
            vms, info = run_beam([key], args, log)
            if vms is None:
                beam_error = info
                log(" *** %s\n" % info)
            else:
                beam_vms.extend(vms)
                beam_info.setdefault("otp", info.get("otp"))
                beam_info.setdefault("vm_lines", []).extend(info["vm_lines"])
                if "constants" in info:
                    beam_info["constants"] = info["constants"]
                log(" %.0f s\n" % (time.monotonic() - t0))

    lvm_med = {}
    for r in results:
        lvm_med.update(r["median"])
    beam_med = median_results(beam_vms) if use_beam and beam_vms else None
    beam_label = "BEAM" if beam_med is not None else "BEAM (ref)"

    print()
    reduced = {r["name"] for r in results if r.get("note")}
    print(build_table(lvm_med, beam_med, beam_label, names, reduced))
    print()
    print("lvm: %s; medians of %d fresh VMs per workload (cold/warm: twice in one VM)."
          % (" ".join(lvm_cmd), args.runs))
    if beam_med is not None:
        print("BEAM: %s, +S %d, medians of run.sh's %d VMs per workload (%s)."
              % (beam_info.get("otp") or "erl", args.threads, args.runs,
                 os.path.relpath(os.path.join(args.beam_dir, "run.sh"), os.getcwd())))
        print("BEAM's B/process is erlang:memory(processes) growth, not RSS; its hog figure "
              "is reductions/s (1 per loop iteration).")
    elif erl is None:
        print("erl is not installed (Debian: apt-get install erlang-base): BEAM (ref) are the "
              "figures quoted in ../shared/bench/ACTORS.md, not measured now.")
    else:
        print("BEAM not run (%s): BEAM (ref) are the figures quoted in ACTORS.md."
              % (beam_error or "--no-beam"))
    for r in results:
        if r.get("note"):
            print("* %s: %s" % (r["name"], r["note"]))
    foreign = [run["foreign_cpu_s"] / run["wall_s"] for r in results for run in r["runs"]
               if run.get("wall_s")]
    if foreign and max(foreign) > 0.1:
        print("note: other programs kept up to %.2f cores busy during an lvm run" % max(foreign))
    print("\ngoals (issue 4):")
    for text, met in goals(lvm_med, beam_med):
        print("  [%s] %s" % ({True: "met", False: "NOT met", None: " ? "}[met], text))
    failed = [r["name"] for r in results if r["status"] != "ok"]
    if failed:
        print("\n*** FAILED: %s ***" % ", ".join(
            "%s (%s)" % (r["name"], r["error"]) for r in results if r["status"] != "ok"))

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": git_commit(),
        "host": platform.node(), "machine": platform.machine(), "cpus": os.cpu_count(),
        "runs": args.runs, "threads": args.threads, "lvm": lvm_cmd,
        "mem_limit_gb": round(args.mem_limit_kib / 2**20, 2),
        "lvm_median": lvm_med,
        "beam": {"source": "measured" if beam_med is not None else "reference (ACTORS.md)",
                 "median": beam_med if beam_med is not None else
                 {"%s %s" % k: v[1] for k, v in BEAM_REF.items()},
                 "runs": beam_vms, "info": beam_info, "error": beam_error},
        "goals": [{"goal": t, "met": m} for t, m in goals(lvm_med, beam_med)],
        "failed": failed,
        "workloads": [{k: v for k, v in r.items()} for r in results],
    }
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2, default=str)
        f.write("\n")
    print("\nwrote %s" % os.path.relpath(args.json, os.getcwd()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
