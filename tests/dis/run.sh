#!/bin/sh
# tests/dis/run.sh LVM [--update] — `lvm dis` against the listings kept here.
#
# For each NAME.wat in this folder: wat2wasm builds NAME.wasm (beside LVM, in dis-tests/),
# and `LVM dis NAME.wasm` must print exactly NAME.expected. A file NAME.func-F.expected
# is the listing of `LVM dis NAME.wasm --func F` alone. A difference is printed as a
# unified diff and the script exits 1. With --update, the .expected files are rewritten
# from what lvm prints today (then read the diff with git before committing it).
set -u
LVM=${1:?usage: tests/dis/run.sh path/to/lvm [--update]}
UPDATE=${2:-}
HERE=$(dirname "$0")
OUT=$(dirname "$LVM")/dis-tests
mkdir -p "$OUT"
fail=0
count=0

check() {   # check EXPECTED-FILE WASM [ARGS...]
    expected=$1; wasm=$2; shift 2
    got="$OUT/$(basename "$expected").got"
    "$LVM" dis "$wasm" "$@" >"$got" 2>&1 || { echo "FAIL: lvm dis $wasm $* exited $?"; cat "$got"; fail=1; return; }
    count=$((count + 1))
    if [ "$UPDATE" = "--update" ]; then
        cp "$got" "$expected"
    elif ! diff -u "$expected" "$got"; then
        echo "FAIL: lvm dis $(basename "$wasm") $* differs from $expected (left: expected)"
        fail=1
    fi
}

for wat in "$HERE"/*.wat; do
    name=$(basename "$wat" .wat)
    wasm="$OUT/$name.wasm"
    wat2wasm "$wat" -o "$wasm" || { echo "FAIL: wat2wasm $wat"; fail=1; continue; }
    check "$HERE/$name.expected" "$wasm"
    for fexp in "$HERE/$name".func-*.expected; do
        [ -e "$fexp" ] || continue
        f=${fexp##*.func-}
        check "$fexp" "$wasm" --func "${f%.expected}"
    done
done
verb=match
[ "$UPDATE" = "--update" ] && verb=written
[ $fail = 0 ] && echo "tests/dis: $count listings $verb"
exit $fail
