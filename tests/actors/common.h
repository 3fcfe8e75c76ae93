/*
 * common.h — shared by the actor test programs in tests/actors/ (built for wasm32-wasi,
 * linked with the guest SDK, run through the real lvm binary by run.py).
 *
 * Conventions:
 *   - The root process (main) prints what the test checks, one fact a line; the driver
 *     compares stdout with the `// expect:` lines of the test. Children never print on
 *     success: they report to the root by message, so the output does not depend on the
 *     order in which processes run.
 *   - A check that fails (FAIL, CHECK, CHECK_EQ of tests/lib/guest_test.h, which every
 *     guest suite shares) prints `FAIL: FILE:LINE: what` and ends the program with status 1
 *     (in the root) or ends the child with reason LVM_EXIT_USER + 1 after flushing stdout
 *     (children are fresh instances without libc's exit machinery being needed, but
 *     wasi-libc's exit() still flushes stdio, so both use it). The driver reports the first
 *     FAIL line it sees, from any process.
 *   - Only the raw imports of sdk/lvm.h (the ABI of hostfns/actor.c) and its constants are
 *     used, plus the small helpers below: the tests check the VM, not the SDK's helpers.
 *   - Every wait in the root has a timeout (WAIT_MS) so that a lost message fails the test
 *     with a line saying what was missing rather than by the driver's timeout.
 */
#ifndef TESTS_ACTORS_COMMON_H
#define TESTS_ACTORS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wasi/api.h>

#include "sdk/lvm.h"
#include "../lib/guest_test.h"

/* How long the root waits for something that should come "at once" (ms). Generous:
 * sanitizer builds and a loaded machine are slow, and a pass costs nothing extra. */
#define WAIT_MS 10000

/* ---- reasons ------------------------------------------------------------------------------- */

/* Trap kinds in the order of vm/vm.h's LVM_TRAPS (reason = LVM_EXIT_TRAP + kind). */
enum {
    KIND_UNREACHABLE = 1,
    KIND_MEMORY_OOB = 2,
    KIND_TABLE_OOB = 3,
    KIND_INT_DIV_ZERO = 4,
    KIND_INT_OVERFLOW = 5,
    KIND_INVALID_CONVERSION = 6,
    KIND_UNDEFINED_ELEMENT = 7,
    KIND_UNINITIALIZED_ELEMENT = 8,
    KIND_INDIRECT_CALL_TYPE = 9,
    KIND_STACK_EXHAUSTED = 10,
    KIND_OUT_OF_MEMORY = 11,
    KIND_HOST = 12,
};

/* Trap with "integer divide by zero" (both operands volatile: clang turns 1 / x into a
 * compare, since dividing by zero is undefined in C). */
static inline void trap_div0(void)
{
    volatile int64_t num = 7, zero = 0;
    int64_t q = num / zero;
    num = q;
}

/* A reason in words, for the expected output: "normal", "killed", "trap+4", "user+7"… */
static inline const char *reason_name(int32_t r)
{
    static char buf[4][32];
    static int next;
    char *b = buf[next++ & 3];
    switch (r) {
    case LVM_EXIT_NORMAL: return "normal";
    case LVM_EXIT_KILLED: return "killed";
    case LVM_EXIT_NOPROC: return "noproc";
    case LVM_EXIT_OUT_OF_MEMORY: return "out_of_memory";
    case LVM_EXIT_OUT_OF_REDUCTIONS: return "out_of_reductions";
    case LVM_EXIT_SPAWN_FAILED: return "spawn_failed";
    default: break;
    }
    if (r >= LVM_EXIT_TRAP && r < LVM_EXIT_USER)
        snprintf(b, 32, "trap+%d", (int)(r - LVM_EXIT_TRAP));
    else if (r >= LVM_EXIT_USER)
        snprintf(b, 32, "user+%d", (int)(r - LVM_EXIT_USER));
    else
        snprintf(b, 32, "reason(%d)", (int)r);
    return b;
}

/* ---- time ------------------------------------------------------------------------------------ */

static inline int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- messages ------------------------------------------------------------------------------------ */

static inline int32_t send_i64(lvm_pid to, int64_t tag, int64_t v)
{
    return lvm_send(to, tag, &v, 8);
}

static inline int64_t msg_i64(void)
{
    int64_t v = 0;
    lvm_msg_read(&v, 8, 0);
    return v;
}

typedef struct ExitMsg { lvm_pid pid; int32_t reason; } ExitMsg;
typedef struct DownMsg { int64_t ref; lvm_pid pid; int32_t reason; } DownMsg;

/* The payloads of the VM's messages: little-endian, packed (12 and 20 bytes). */
static inline ExitMsg msg_exit(void)
{
    ExitMsg e = { 0, 0 };
    lvm_msg_read(&e.pid, 8, 0);
    lvm_msg_read(&e.reason, 4, 8);
    return e;
}

static inline DownMsg msg_down(void)
{
    DownMsg d = { 0, 0, 0 };
    lvm_msg_read(&d.ref, 8, 0);
    lvm_msg_read(&d.pid, 8, 8);
    lvm_msg_read(&d.reason, 4, 16);
    return d;
}

static inline int32_t reg(const char *name, lvm_pid pid)
{
    return lvm_register_raw(name, (int32_t)strlen(name), pid);
}

static inline int32_t unreg(const char *name)
{
    return lvm_unregister_raw(name, (int32_t)strlen(name));
}

static inline lvm_pid whereis(const char *name)
{
    return lvm_whereis_raw(name, (int32_t)strlen(name));
}

/* ---- spawning ---------------------------------------------------------------------------------- */

#define NARGS_(...) (int32_t)(sizeof((int64_t[]){ __VA_ARGS__ }) / sizeof(int64_t))

/* SPAWN(fn, flags, args...): fn is a function of this module taking int64_t arguments. */
#define SPAWN(fn, flags, ...)                                                            \
    lvm_spawn_raw((int32_t)(uintptr_t)(fn), (int64_t[]){ __VA_ARGS__ }, NARGS_(__VA_ARGS__), \
                  (flags), 0)
#define SPAWN0(fn, flags) lvm_spawn_raw((int32_t)(uintptr_t)(fn), 0, 0, (flags), 0)

/* Spawn with a monitor; *ref gets the reference. */
#define SPAWN_MON(ref, fn, ...)                                                          \
    lvm_spawn_raw((int32_t)(uintptr_t)(fn), (int64_t[]){ __VA_ARGS__ }, NARGS_(__VA_ARGS__), \
                  LVM_SPAWN_MONITOR, (ref))

/* ---- receiving --------------------------------------------------------------------------------- */

/* Receive a message with this tag within WAIT_MS, or fail saying what was awaited. */
#define RECV(tag, what) recv_at(__FILE_NAME__, __LINE__, (tag), (what))

static inline void recv_at(const char *file, int line, int64_t tag, const char *what)
{
    if (lvm_receive(&tag, 1, WAIT_MS) != 0)
        fail_at(file, line, "no %s message (tag %lld) within %d ms", what, (long long)tag,
                WAIT_MS);
}

/* Wait for the DOWN message of monitor `ref`; returns its reason and checks its pid. */
#define EXPECT_DOWN(ref, pid) expect_down_at(__FILE_NAME__, __LINE__, (ref), (pid))

static inline int32_t expect_down_at(const char *file, int line, int64_t ref, lvm_pid pid)
{
    int64_t tag = LVM_TAG_DOWN;
    if (lvm_receive(&tag, 1, WAIT_MS) != 0)
        fail_at(file, line, "no DOWN message within %d ms", WAIT_MS);
    DownMsg d = msg_down();
    if (lvm_msg_size() != 20)
        fail_at(file, line, "DOWN message of %d bytes, want 20", (int)lvm_msg_size());
    if (d.ref != ref)
        fail_at(file, line, "DOWN with ref %lld, want %lld", (long long)d.ref, (long long)ref);
    if (d.pid != pid)
        fail_at(file, line, "DOWN with pid %lld, want %lld", (long long)d.pid, (long long)pid);
    return d.reason;
}

/* Wait for the DOWN messages of n monitors, in any order; reasons[i] gets the reason of
 * monitor refs[i] (whose pid must be pids[i]). */
#define EXPECT_DOWNS(n, refs, pids, reasons) \
    expect_downs_at(__FILE_NAME__, __LINE__, (n), (refs), (pids), (reasons))

static inline void expect_downs_at(const char *file, int line, int n, const int64_t *refs,
                                   const lvm_pid *pids, int32_t *reasons)
{
    for (int i = 0; i < n; i++)
        reasons[i] = -1;
    for (int k = 0; k < n; k++) {
        int64_t tag = LVM_TAG_DOWN;
        if (lvm_receive(&tag, 1, WAIT_MS) != 0)
            fail_at(file, line, "only %d of %d DOWN messages within %d ms", k, n, WAIT_MS);
        DownMsg d = msg_down();
        int i = 0;
        while (i < n && refs[i] != d.ref)
            i++;
        if (i == n || reasons[i] != -1)
            fail_at(file, line, "DOWN with ref %lld: not expected", (long long)d.ref);
        if (d.pid != pids[i])
            fail_at(file, line, "DOWN with pid %lld, want %lld", (long long)d.pid,
                    (long long)pids[i]);
        reasons[i] = d.reason;
    }
}

/* Nothing with this tag arrives within ms milliseconds. */
#define EXPECT_NOTHING(tag, ms, what) do {                                               \
        int64_t t_ = (tag);                                                              \
        if (lvm_receive(&t_, 1, (ms)) == 0)                                              \
            FAIL("unexpected %s message (tag %lld)", (what), (long long)t_);             \
    } while (0)

/* ---- files ------------------------------------------------------------------------------------------ */

/* Read all of file `name` in the preopened directory the guest knows as `dir` into buf
 * (at most cap bytes); returns its size. Raw WASI (path_open on the preopen's fd), so that
 * it works in any process and whatever libc's start-up did. */
static inline size_t read_preopen_file(const char *dir, const char *name, void *buf, size_t cap)
{
    int fd = find_preopen(dir);
    if (fd < 0) FAIL("no preopened directory '%s' (the driver passes --dir {mods}::%s)", dir, dir);
    __wasi_fd_t f;
    int e = __wasi_path_open(fd, 0, name, 0, __WASI_RIGHTS_FD_READ, 0, 0, &f);
    if (e != 0) FAIL("path_open %s in %s: errno %d", name, dir, e);
    size_t total = 0;
    for (;;) {
        __wasi_iovec_t iov = { (uint8_t *)buf + total, cap - total };
        __wasi_size_t got;
        if ((e = __wasi_fd_read(f, &iov, 1, &got)) != 0) FAIL("fd_read %s: errno %d", name, e);
        if (got == 0) break;
        total += got;
        if (total == cap) FAIL("%s is larger than %zu bytes", name, cap);
    }
    (void)__wasi_fd_close(f);
    return total;
}

/* Load module mod_NAME.wasm of the driver's module folder (preopened as /mods). */
static inline int64_t load_mod(const char *file)
{
    static unsigned char buf[64 << 10];   /* the test modules are small */
    size_t n = read_preopen_file("/mods", file, buf, sizeof buf);
    int64_t h = lvm_module_load(buf, (int32_t)n);
    if (h == 0) FAIL("lvm_module_load of %s (%zu bytes) failed", file, n);
    return h;
}

#endif
