#!/bin/sh
# run.sh LVM [options] — build the actor guest programs and run them through LVM, each
# with --threads 1 and with the default worker threads. The driver is run.py; see README.md.
# Guests are built into DIR/actor-tests next to LVM (build/actor-tests for build/lvm).
set -e
if [ $# -lt 1 ]; then
    echo "usage: $0 LVM [--only GLOB] [--verbose] [--build-dir DIR]" >&2
    exit 2
fi
exec python3 "$(dirname "$0")/run.py" "$@"
