/* args.c — args_get, args_sizes_get, environ_get, environ_sizes_get.
 *
 * argv is exactly the module path as given followed by everything after it on lvm's
 * command line (options included); the environment is exactly what --env gave, nothing
 * of the host's (HOME, PATH and the driver's canary variable are set in lvm's own
 * environment). */
#include "common.h"

// test: argv "hello world" "" "ünïcödé" --not-an-option -x "a=b"
// expect: argc=8
// expect: argv[0]={wasm}
// expect: argv[1]=argv
// expect: argv[2]=hello world
// expect: argv[3]=
// expect: argv[4]=ünïcödé
// expect: argv[5]=--not-an-option
// expect: argv[6]=-x
// expect: argv[7]=a=b

// test: argv
// name: argv_relative
// setup: relative_module
// expect: argc=2
// expect: argv[0]=args.wasm
// expect: argv[1]=argv

// test: env
// lvm: --env FOO=bar --env EMPTY= --env "WITH_EQ=a=b" --env "SPACE=x y"
// expect: environ: 4 entries
// expect: EMPTY=
// expect: FOO=bar
// expect: SPACE=x y
// expect: WITH_EQ=a=b

// test: env
// name: env_none
// expect: environ: 0 entries

// test: env inherit
// name: env_inherit
// lvm: --env LVM_WASI_TEST_CANARY --env X=1
// expect: environ: 2 entries
// expect: LVM_WASI_TEST_CANARY=host-only
// expect: X=1

// test: env
// name: env_home
// lvm: --env HOME=/guest/home
// expect: environ: 1 entries
// expect: HOME=/guest/home

extern char **environ;

/* The raw calls agree with what libc got through them. */
static void check_args_raw(int argc, char **argv)
{
    __wasi_size_t n = 0, size = 0;
    CHECK_OK(__wasi_args_sizes_get(&n, &size));
    CHECK((int)n == argc, "args_sizes_get: %u arguments, libc has %d", (unsigned)n, argc);
    size_t want = 0;
    for (int i = 0; i < argc; i++) want += strlen(argv[i]) + 1;
    CHECK(size == want, "args_sizes_get: buffer size %u, want %zu", (unsigned)size, want);

    /* A buffer one byte larger than needed, with a guard: args_get writes exactly size
     * bytes, NUL-terminated strings, and pointers into the buffer. */
    char *buf = malloc(size + 1);
    uint8_t **ptrs = calloc(n + 1, sizeof *ptrs);
    CHECK(buf && ptrs, "malloc");
    memset(buf, 0x5A, size + 1);
    ptrs[n] = (uint8_t *)0x12345;
    CHECK_OK(__wasi_args_get(ptrs, (uint8_t *)buf));
    CHECK((uint8_t)buf[size] == 0x5A, "args_get wrote past the size args_sizes_get gave");
    CHECK(ptrs[n] == (uint8_t *)0x12345, "args_get wrote past argc pointers");
    for (__wasi_size_t i = 0; i < n; i++) {
        char *p = (char *)ptrs[i];
        CHECK(p >= buf && p < buf + size, "argv[%u] points outside the buffer", (unsigned)i);
        CHECK(strcmp(p, argv[i]) == 0, "argv[%u]: raw '%s', libc '%s'", (unsigned)i, p,
              argv[i]);
    }
    free(buf);
    free(ptrs);
}

static void sec_argv(int argc, char **argv)
{
    /* argv here starts at the section name; the module path is one before it */
    int full_argc = argc + 1;
    char **full = argv - 1;
    check_args_raw(full_argc, full);
    printf("argc=%d\n", full_argc);
    for (int i = 0; i < full_argc; i++) printf("argv[%d]=%s\n", i, full[i]);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sec_env(int argc, char **argv)
{
    __wasi_size_t n = 0, size = 0;
    CHECK_OK(__wasi_environ_sizes_get(&n, &size));
    size_t count = 0, want = 0;
    for (char **e = environ; e && *e; e++) {
        count++;
        want += strlen(*e) + 1;
    }
    CHECK(n == count, "environ_sizes_get: %u entries, libc has %zu", (unsigned)n, count);
    CHECK(size == want, "environ_sizes_get: size %u, want %zu", (unsigned)size, want);

    char *buf = malloc(size + 1);
    uint8_t **ptrs = calloc(n + 1, sizeof *ptrs);
    CHECK(buf && ptrs, "malloc");
    memset(buf, 0x5A, size + 1);
    CHECK_OK(__wasi_environ_get(ptrs, (uint8_t *)buf));
    CHECK((uint8_t)buf[size] == 0x5A, "environ_get wrote past its size");
    for (__wasi_size_t i = 0; i < n; i++)
        CHECK(strcmp((char *)ptrs[i], environ[i]) == 0, "environ[%u] differs", (unsigned)i);

    /* nothing of the host's unless asked (`--env KEY` passes the host's value, as in
     * Wasmtime): the driver sets these for lvm itself */
    if (argc < 2 || strcmp(argv[1], "inherit") != 0)
        CHECK(getenv("LVM_WASI_TEST_CANARY") == NULL, "the host's LVM_WASI_TEST_CANARY leaked in");
    CHECK(getenv("PATH") == NULL, "the host's PATH leaked in");
    const char *home = getenv("HOME");
    CHECK(home == NULL || strcmp(home, "/guest/home") == 0, "the host's HOME leaked in: %s",
          home);

    char **sorted = calloc(count + 1, sizeof *sorted);
    CHECK(sorted, "malloc");
    memcpy(sorted, environ, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, cmp_str);
    printf("environ: %zu entries\n", count);
    for (size_t i = 0; i < count; i++) printf("%s\n", sorted[i]);
    free(sorted);
    free(buf);
    free(ptrs);
}

static const Section sections[] = {
    {"argv", sec_argv},
    {"env", sec_env},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
