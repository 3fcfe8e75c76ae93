#!/bin/sh
# install-deps.sh — install the Debian packages lvm needs to build, test and benchmark,
# but only those that are missing (so a machine that has them is not touched).
# Called by the Makefile before anything is built; safe to run by hand.
set -e
pkgs="gcc make pkg-config libffi-dev check libxxhash-dev wabt clang lld wasi-libc
      libclang-rt-14-dev-wasm32 libclang-rt-14-dev libjansson-dev python3 hyperfine tmux"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
