/*
 * guest_test.h — what the guest test programs of every suite share (tests/wasi,
 * tests/actors: each suite's common.h includes it). Built for wasm32-wasi.
 *
 * The conventions the drivers (guest_tests.py) rely on:
 *   - A check that fails prints `FAIL: FILE:LINE: what` on stdout, on a line of its own,
 *     and exits with status 1; the driver reports the test as failed with that line
 *     (the first one, when several processes print).
 *   - main hands argv[1] to a section function (RUN_SECTIONS): a `// test: SECTION`
 *     block of the source runs that section.
 */
#ifndef TESTS_LIB_GUEST_TEST_H
#define TESTS_LIB_GUEST_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* ---- failing -------------------------------------------------------------------------- */

__attribute__((noreturn, format(printf, 3, 4)))
static inline void fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    /* On a line of its own, whatever came before: the driver looks for lines that start
     * with "FAIL: ", and a partial line (or another process's) may be pending. */
    printf("\nFAIL: %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    exit(1);
}

#define FAIL(...) fail_at(__FILE_NAME__, __LINE__, __VA_ARGS__)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)
#define CHECK_EQ(a, b) do {                                                              \
        long long a_ = (long long)(a), b_ = (long long)(b);                              \
        if (a_ != b_) FAIL("%s == %lld, want %s == %lld", #a, a_, #b, b_);               \
    } while (0)

/* ---- preopens ----------------------------------------------------------------------------- */

/* The fd of the preopened directory the guest knows as `name`, or -1; found the way
 * wasi-libc does it, fd_prestat_get from 3 up until BADF. Raw WASI, so that it works
 * whatever libc's start-up did (an actor's child is a fresh instance). */
static inline int find_preopen(const char *name)
{
    for (int fd = 3; fd < 1024; fd++) {
        __wasi_prestat_t ps;
        int e = __wasi_fd_prestat_get(fd, &ps);
        if (e == __WASI_ERRNO_BADF) break;
        if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR) continue;
        char buf[256];
        size_t n = ps.u.dir.pr_name_len;
        if (n >= sizeof buf) continue;
        if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, n) != 0) continue;
        buf[n] = '\0';
        if (strcmp(buf, name) == 0) return fd;
    }
    return -1;
}

/* ---- sections ------------------------------------------------------------------------------ */

/* Dispatch on argv[1]: `static const Section sections[] = {{"name", fn}, ...}`. */
typedef struct Section {
    const char *name;
    void (*run)(int argc, char **argv);
} Section;

static inline int run_sections(const Section *s, size_t n, int argc, char **argv)
{
    if (argc < 2) FAIL("usage: %s SECTION [args...]", argc > 0 ? argv[0] : "?");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].name, argv[1]) == 0) {
            s[i].run(argc - 1, argv + 1);
            fflush(stdout);
            return 0;
        }
    }
    FAIL("unknown section '%s'", argv[1]);
}

#define RUN_SECTIONS(s, argc, argv) run_sections(s, sizeof s / sizeof s[0], argc, argv)

#endif
