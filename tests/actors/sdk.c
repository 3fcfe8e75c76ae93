/*
 * sdk.c — a root process linked with the guest SDK (every test program is) still gets
 * libc's start-up: wasi-libc finds its preopened directories in a constructor that _start
 * runs, so fopen of a file under a --dir works.
 *
 * (wasm-ld stops calling the constructors from _start when any object refers to
 * __wasm_call_ctors itself, so an SDK that calls it for its children must still leave
 * the root's start-up alone.)
 */
#include <errno.h>

#include "common.h"

// test: root_fopen
// lvm: --dir {mods}::/mods
// expect: fopen of a preopened file in the root: ok
static void root_fopen(int argc, char **argv)
{
    FILE *f = fopen("/mods/mod_basic.wasm", "rb");
    CHECK(f, "fopen(\"/mods/mod_basic.wasm\"): %s", strerror(errno));
    char magic[4];
    CHECK(fread(magic, 1, 4, f) == 4 && memcmp(magic, "\0asm", 4) == 0, "not a module");
    fclose(f);
    printf("fopen of a preopened file in the root: ok\n");
}

int main(int argc, char **argv)
{
    static const Section sections[] = { { "root_fopen", root_fopen } };
    return RUN_SECTIONS(sections, argc, argv);
}
