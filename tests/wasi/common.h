/*
 * common.h — shared by the WASI guest programs in tests/wasi/ (built for wasm32-wasi).
 *
 * FAIL, CHECK and RUN_SECTIONS come from tests/lib/guest_test.h (what every guest suite
 * shares): a check that fails prints `FAIL: FILE:LINE: what` on stdout and exits with
 * status 1; the driver (run.py) then reports the test as failed with that line. Here:
 * the checks of WASI errno values, the raw imports and helpers for files and clocks.
 *
 * Raw imports: wasi-libc's __wasi_* wrappers take C pointers and NUL-terminated paths.
 * To pass a deliberately bad address or length, or to call a function the header lacks
 * (proc_raise), the programs import the WASI functions again under raw_* names, with
 * every pointer as a plain i32 (wasm-ld merges them with libc's imports of the same name).
 */
#ifndef TESTS_WASI_COMMON_H
#define TESTS_WASI_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#include "../lib/guest_test.h"

/* ---- failing with an errno ------------------------------------------------------------ */

static inline const char *ename(int e)
{
    switch (e) {
    case 0: return "SUCCESS";
    case __WASI_ERRNO_ACCES: return "ACCES";
    case __WASI_ERRNO_AGAIN: return "AGAIN";
    case __WASI_ERRNO_BADF: return "BADF";
    case __WASI_ERRNO_EXIST: return "EXIST";
    case __WASI_ERRNO_FAULT: return "FAULT";
    case __WASI_ERRNO_INVAL: return "INVAL";
    case __WASI_ERRNO_ISDIR: return "ISDIR";
    case __WASI_ERRNO_LOOP: return "LOOP";
    case __WASI_ERRNO_NAMETOOLONG: return "NAMETOOLONG";
    case __WASI_ERRNO_NOENT: return "NOENT";
    case __WASI_ERRNO_NOSYS: return "NOSYS";
    case __WASI_ERRNO_NOTDIR: return "NOTDIR";
    case __WASI_ERRNO_NOTEMPTY: return "NOTEMPTY";
    case __WASI_ERRNO_NOTSOCK: return "NOTSOCK";
    case __WASI_ERRNO_NOTSUP: return "NOTSUP";
    case __WASI_ERRNO_PERM: return "PERM";
    case __WASI_ERRNO_SPIPE: return "SPIPE";
    case __WASI_ERRNO_XDEV: return "XDEV";
    case __WASI_ERRNO_NOTCAPABLE: return "NOTCAPABLE";
    default: return "?";
    }
}

/* expr returns a WASI errno: it must be 0. */
#define CHECK_OK(expr) do {                                                              \
        int e_ = (expr);                                                                 \
        if (e_ != 0) FAIL("%s: errno %d (%s)", #expr, e_, ename(e_));                    \
    } while (0)

/* expr returns a WASI errno: it must be `want`. */
#define CHECK_ERR(expr, want) do {                                                       \
        int e_ = (expr);                                                                 \
        if (e_ != (want))                                                                \
            FAIL("%s: errno %d (%s), want %d (%s)", #expr, e_, ename(e_), (int)(want),   \
                 ename(want));                                                           \
    } while (0)

/* expr returns a WASI errno: it must be one of the two. */
#define CHECK_ERR2(expr, a, b) do {                                                      \
        int e_ = (expr);                                                                 \
        if (e_ != (a) && e_ != (b))                                                      \
            FAIL("%s: errno %d (%s), want %s or %s", #expr, e_, ename(e_), ename(a),     \
                 ename(b));                                                              \
    } while (0)

/* expr returns a WASI errno: it must be one of the three. */
#define CHECK_ERR3(expr, a, b, c) do {                                                   \
        int e_ = (expr);                                                                 \
        if (e_ != (a) && e_ != (b) && e_ != (c))                                         \
            FAIL("%s: errno %d (%s), want %s, %s or %s", #expr, e_, ename(e_), ename(a), \
                 ename(b), ename(c));                                                    \
    } while (0)

/* An attempt to leave a preopen: NOTCAPABLE (the WASI spec, older Wasmtime) or PERM
 * (Wasmtime since cap-std). Never success, never another error that hides the cause. */
#define CHECK_ESCAPE(expr) CHECK_ERR2(expr, __WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_PERM)

/* ---- raw imports ------------------------------------------------------------------------ */

#define WASI_IMPORT(name) \
    __attribute__((import_module("wasi_snapshot_preview1"), import_name(#name)))

typedef int32_t ptr32;   /* a guest address, any value */
#define P(x) ((ptr32)(uintptr_t)(x))

WASI_IMPORT(args_get) int32_t raw_args_get(ptr32 argv, ptr32 buf);
WASI_IMPORT(args_sizes_get) int32_t raw_args_sizes_get(ptr32 argc, ptr32 size);
WASI_IMPORT(environ_get) int32_t raw_environ_get(ptr32 env, ptr32 buf);
WASI_IMPORT(environ_sizes_get) int32_t raw_environ_sizes_get(ptr32 n, ptr32 size);
WASI_IMPORT(clock_res_get) int32_t raw_clock_res_get(int32_t id, ptr32 out);
WASI_IMPORT(clock_time_get) int32_t raw_clock_time_get(int32_t id, int64_t prec, ptr32 out);
WASI_IMPORT(random_get) int32_t raw_random_get(ptr32 buf, int32_t len);
WASI_IMPORT(fd_read) int32_t raw_fd_read(int32_t fd, ptr32 iovs, int32_t n, ptr32 nread);
WASI_IMPORT(fd_write) int32_t raw_fd_write(int32_t fd, ptr32 iovs, int32_t n, ptr32 nwritten);
WASI_IMPORT(fd_pread) int32_t raw_fd_pread(int32_t fd, ptr32 iovs, int32_t n, int64_t off,
                                            ptr32 nread);
WASI_IMPORT(fd_pwrite) int32_t raw_fd_pwrite(int32_t fd, ptr32 iovs, int32_t n, int64_t off,
                                              ptr32 nwritten);
WASI_IMPORT(fd_readdir) int32_t raw_fd_readdir(int32_t fd, ptr32 buf, int32_t len,
                                                int64_t cookie, ptr32 used);
WASI_IMPORT(fd_prestat_get) int32_t raw_fd_prestat_get(int32_t fd, ptr32 out);
WASI_IMPORT(fd_prestat_dir_name) int32_t raw_fd_prestat_dir_name(int32_t fd, ptr32 buf,
                                                                  int32_t len);
WASI_IMPORT(fd_fdstat_get) int32_t raw_fd_fdstat_get(int32_t fd, ptr32 out);
WASI_IMPORT(fd_filestat_get) int32_t raw_fd_filestat_get(int32_t fd, ptr32 out);
WASI_IMPORT(fd_seek) int32_t raw_fd_seek(int32_t fd, int64_t off, int32_t whence, ptr32 out);
WASI_IMPORT(fd_tell) int32_t raw_fd_tell(int32_t fd, ptr32 out);
WASI_IMPORT(path_open) int32_t raw_path_open(int32_t fd, int32_t dirflags, ptr32 path,
                                              int32_t path_len, int32_t oflags, int64_t base,
                                              int64_t inheriting, int32_t fdflags, ptr32 out);
WASI_IMPORT(path_create_directory) int32_t raw_path_create_directory(int32_t fd, ptr32 path,
                                                                      int32_t len);
WASI_IMPORT(path_filestat_get) int32_t raw_path_filestat_get(int32_t fd, int32_t flags,
                                                              ptr32 path, int32_t len,
                                                              ptr32 out);
WASI_IMPORT(path_readlink) int32_t raw_path_readlink(int32_t fd, ptr32 path, int32_t len,
                                                      ptr32 buf, int32_t buf_len, ptr32 used);
WASI_IMPORT(path_symlink) int32_t raw_path_symlink(ptr32 old, int32_t old_len, int32_t fd,
                                                    ptr32 new_, int32_t new_len);
WASI_IMPORT(path_unlink_file) int32_t raw_path_unlink_file(int32_t fd, ptr32 path,
                                                            int32_t len);
WASI_IMPORT(path_rename) int32_t raw_path_rename(int32_t fd, ptr32 old, int32_t old_len,
                                                  int32_t new_fd, ptr32 new_,
                                                  int32_t new_len);
WASI_IMPORT(poll_oneoff) int32_t raw_poll_oneoff(ptr32 in, ptr32 out, int32_t n,
                                                  ptr32 nevents);
WASI_IMPORT(proc_raise) int32_t raw_proc_raise(int32_t sig);
WASI_IMPORT(sock_recv) int32_t raw_sock_recv(int32_t fd, ptr32 iovs, int32_t n, int32_t flags,
                                              ptr32 nread, ptr32 oflags);
WASI_IMPORT(sock_send) int32_t raw_sock_send(int32_t fd, ptr32 iovs, int32_t n, int32_t flags,
                                              ptr32 nwritten);

/* ---- helpers ------------------------------------------------------------------------------ */

/* The fd of the preopened directory the guest knows as `name` (there must be one). */
static inline int preopen_fd(const char *name)
{
    int fd = find_preopen(name);
    if (fd < 0) FAIL("no preopened directory named '%s'", name);
    return fd;
}

/* Rights wide enough for any file operation. */
#define ALL_RIGHTS ((__wasi_rights_t)0x1FFFFFFF)

/* path_open with the usual arguments; returns the errno, the new fd in *fd. Like
 * wasi-libc, asks for no more rights than the directory can pass on. */
static inline int open_at(int dirfd, const char *path, int lookup, int oflags,
                   __wasi_rights_t base, int fdflags, int *fd)
{
    __wasi_fd_t out = (__wasi_fd_t)-1;
    __wasi_fdstat_t st;
    __wasi_rights_t inh = ALL_RIGHTS;
    if (__wasi_fd_fdstat_get(dirfd, &st) == 0) inh = st.fs_rights_inheriting;
    int e = __wasi_path_open(dirfd, lookup, path, oflags, base & inh, inh, fdflags, &out);
    *fd = e == 0 ? (int)out : -1;
    return e;
}

/* Create (or truncate) `path` under dirfd with `text` in it. */
static inline void put_file(int dirfd, const char *path, const char *text)
{
    int fd;
    CHECK_OK(open_at(dirfd, path, 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, ALL_RIGHTS,
                     0, &fd));
    __wasi_ciovec_t iov = { (const uint8_t *)text, strlen(text) };
    __wasi_size_t n;
    CHECK_OK(__wasi_fd_write(fd, &iov, 1, &n));
    CHECK(n == strlen(text), "short write to %s: %u", path, (unsigned)n);
    CHECK_OK(__wasi_fd_close(fd));
}

/* fd_write of a whole buffer; returns the errno. */
static inline int write_all(int fd, const void *buf, size_t len)
{
    __wasi_ciovec_t iov = { buf, len };
    __wasi_size_t n;
    int e = __wasi_fd_write(fd, &iov, 1, &n);
    if (e == 0 && n != len) return -1;
    return e;
}

/* fd_read into buf (up to len), returns the count; a failure fails the test. */
static inline size_t read_some(int fd, void *buf, size_t len)
{
    __wasi_iovec_t iov = { buf, len };
    __wasi_size_t n;
    CHECK_OK(__wasi_fd_read(fd, &iov, 1, &n));
    return n;
}

static inline uint64_t now_ns(__wasi_clockid_t id)
{
    __wasi_timestamp_t t;
    CHECK_OK(__wasi_clock_time_get(id, 0, &t));
    return t;
}

#endif
