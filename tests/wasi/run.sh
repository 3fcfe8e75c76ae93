#!/bin/sh
# run.sh LVM [options] — build the WASI guest programs and run them through LVM.
# LVM may also be given as LVM=path; without it, build/lvm. The driver is run.py
# (python3 is one of tools/install-deps.sh's packages); see README.md for the options.
# Guests are built into DIR/wasi-tests next to LVM (build/wasi-tests for build/lvm).
set -e
lvm=build/lvm
if [ $# -ge 1 ]; then
    lvm=${1#LVM=}
    shift
fi
exec python3 "$(dirname "$0")/run.py" "$lvm" "$@"
