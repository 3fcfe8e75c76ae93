#!/bin/sh
# convert.sh SRC_DIR OUT_DIR — turn the spec test suite's .wast scripts into what
# build/spec-runner reads.
#
#   SRC_DIR/NAME.wast       → OUT_DIR/NAME/NAME.json + NAME.N.wasm (+ NAME.N.wat for
#                             text-format assert_malformed modules), via wabt's wast2json
#   SRC_DIR/simd/NAME.wast  → OUT_DIR/simd/NAME.json only: lvm does not implement SIMD, so
#                             the runner only counts these commands and reports them as
#                             skipped; their modules are not kept.
#
# wabt 1.0.32's default features are exactly Wasm 2.0, so no --enable flag is passed
# (see SRC_DIR/README.md). Called by `make spec`; safe to run by hand.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 SRC_DIR OUT_DIR" >&2
    exit 2
fi
src=$1
out=$2

if ! command -v wast2json >/dev/null 2>&1; then
    echo "convert.sh: wast2json not found (apt-get install wabt)" >&2
    exit 1
fi
if ! ls "$src"/*.wast >/dev/null 2>&1; then
    echo "convert.sh: no .wast files in $src" >&2
    exit 1
fi

mkdir -p "$out"
n=0
failed=0
for f in "$src"/*.wast; do
    name=$(basename "$f" .wast)
    rm -rf "$out/$name"
    mkdir -p "$out/$name"
    if wast2json "$f" -o "$out/$name/$name.json"; then
        n=$((n + 1))
    else
        echo "convert.sh: wast2json failed on $f" >&2
        failed=$((failed + 1))
    fi
done

nsimd=0
if ls "$src"/simd/*.wast >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    rm -rf "$out/simd"
    mkdir -p "$out/simd"
    for f in "$src"/simd/*.wast; do
        name=$(basename "$f" .wast)
        if wast2json "$f" -o "$tmp/$name.json"; then
            cp "$tmp/$name.json" "$out/simd/$name.json"
            nsimd=$((nsimd + 1))
        else
            echo "convert.sh: wast2json failed on $f" >&2
            failed=$((failed + 1))
        fi
        rm -f "$tmp"/*
    done
fi

echo "convert.sh: $n scripts converted, $nsimd SIMD scripts to count, into $out"
[ "$failed" -eq 0 ]
