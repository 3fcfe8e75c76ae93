"""benchlib.py — what bench/run.py and bench/run_actors.py (and footprint.py) share:
rebuilding only what is stale, running a build step, and naming the commit measured."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BenchError(Exception):
    pass


def stale(target, *sources):
    """True if target is missing or older than any of the sources."""
    if not os.path.exists(target):
        return True
    t = os.path.getmtime(target)
    return any(os.path.getmtime(s) > t for s in sources)


def sh(cmd):
    """Run one build step; its output goes into the error if it fails."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise BenchError("build failed: %s\n%s" % (" ".join(cmd), proc.stdout))


def git_commit():
    """The short hash of HEAD, for the JSON record (None outside a checkout)."""
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip() or None
    except OSError:
        return None
