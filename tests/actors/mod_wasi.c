/*
 * mod_wasi.c — a module loaded at run time that imports WASI (and lvm): spawning it is
 * refused when the spawner forbids LVM_NS_WASI (tests limits.ns_*). No libc.
 */
#include "sdk/lvm.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int32_t wasi_fd_write(int32_t fd, const void *iovs, int32_t n, int32_t *written);

/* Write nothing (an empty write to stdout), then send 1 to `to` (tag 1). */
__attribute__((export_name("hello"))) void hello(int64_t to)
{
    struct { const char *p; int32_t len; } iov = { "", 0 };
    int32_t n;
    wasi_fd_write(1, &iov, 1, &n);
    lvm_send_i64(to, 1, 1);
}
