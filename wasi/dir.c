/*
 * dir.c — directory listing (fd_readdir) and the preopen descriptions (fd_prestat_get,
 * fd_prestat_dir_name) through which wasi-libc learns which directories it has.
 *
 * Where it sits: called through wasi.c's dispatcher, like fd.c.
 *
 * Cookies. fd_readdir(fd, buf, len, cookie, bufused) fills buf with dirents (24 bytes:
 * d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20, then the name without
 * NUL), the last one cut off where buf ends; a guest that sees bufused == len asks again
 * with the d_next of the last entry it read whole. So a cookie must name a position in
 * the listing that stays valid between calls. The kernel has exactly that: d_off of each
 * linux_dirent64 is the position after the entry, which lseek() on the directory accepts
 * (that is how telldir/seekdir work), and position 0 is the start. So cookie = d_off,
 * and each call is lseek(cookie) + getdents64 in a fixed 32 KiB host buffer, whatever the
 * guest's buffer size. "." and ".." are listed, as the kernel lists them.
 *
 * Read next: path.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi_internal.h"

/* The kernel's record (getdents64(2)). */
struct host_dirent {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[];
};

static uint8_t dirent_type(int dir, const struct host_dirent *d)
{
    switch (d->d_type) {
    case DT_REG: return WASI_FILETYPE_REGULAR_FILE;
    case DT_DIR: return WASI_FILETYPE_DIRECTORY;
    case DT_LNK: return WASI_FILETYPE_SYMBOLIC_LINK;
    case DT_CHR: return WASI_FILETYPE_CHARACTER_DEVICE;
    case DT_BLK: return WASI_FILETYPE_BLOCK_DEVICE;
    case DT_SOCK: return WASI_FILETYPE_SOCKET_STREAM;
    case DT_FIFO: return WASI_FILETYPE_UNKNOWN;
    }
    struct stat st;   /* DT_UNKNOWN: some filesystems do not say */
    if (fstatat(dir, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return WASI_FILETYPE_UNKNOWN;
    return wasi_filetype(st.st_mode, -1);
}

/* Append one entry to out[0..len) at *used, cut off at len. False once out is full. */
static bool put_dirent(int dir, const struct host_dirent *d, uint8_t *out, uint32_t len,
                       uint32_t *used)
{
    uint8_t rec[24] = { 0 };
    uint32_t namlen = (uint32_t)strlen(d->d_name);
    put_u64(rec, (uint64_t)d->d_off);
    put_u64(rec + 8, d->d_ino);
    put_u32(rec + 16, namlen);
    put_u8(rec + 20, dirent_type(dir, d));
    uint32_t room = len - *used, n = room < 24 ? room : 24;
    memcpy(out + *used, rec, n);
    *used += n;
    room = len - *used;
    n = room < namlen ? room : namlen;
    memcpy(out + *used, d->d_name, n);
    *used += n;
    return *used < len;
}

/* fd_readdir(fd, buf, buf_len, cookie, bufused) */
WASI_IMPL(wasi_fd_readdir)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_READDIR, &f);
    if (r) return r;
    uint32_t buf = ARG32(1), len = ARG32(2);
    uint64_t cookie = ARG64(3);
    if (!guest_range(c, buf, len) || !guest_range(c, ARG32(4), 4)) return WASI_EFAULT;
    if (f->filetype != WASI_FILETYPE_DIRECTORY) return WASI_ENOTDIR;
    if (cookie > INT64_MAX || lseek(f->host, (off_t)cookie, SEEK_SET) < 0)
        return WASI_EINVAL;   /* not a cookie we gave out */
    static _Thread_local char host[32768] __attribute__((aligned(8)));
    uint32_t used = 0;
    bool room = len > 0;
    while (room) {
        ssize_t n = getdents64(f->host, host, sizeof host);
        if (n < 0) return wasi_errno(errno);
        if (n == 0) break;
        for (ssize_t at = 0; at < n && room;) {
            const struct host_dirent *d = (const struct host_dirent *)(host + at);
            room = put_dirent(f->host, d, guest_ptr(c, buf), len, &used);
            at += d->d_reclen;
        }
    }
    put_u32(guest_ptr(c, ARG32(4)), used);
    return WASI_ESUCCESS;
}

/* fd_prestat_get(fd, buf): prestat is tag u8 @0 (0 = dir), pr_name_len u32 @4. Any fd
 * that is not a preopened directory is EBADF: wasi-libc counts preopens until it sees
 * that. */
WASI_IMPL(wasi_fd_prestat_get)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), 0, &f);
    if (r) return r;
    if (!f->preopen) return WASI_EBADF;
    if (!guest_range(c, ARG32(1), 8)) return WASI_EFAULT;
    uint8_t *p = guest_ptr(c, ARG32(1));
    memset(p, 0, 8);
    put_u8(p, WASI_PREOPENTYPE_DIR);
    put_u32(p + 4, (uint32_t)strlen(f->preopen));
    return WASI_ESUCCESS;
}

/* fd_prestat_dir_name(fd, path, path_len): the name, no NUL. A buffer shorter than the
 * name is ENAMETOOLONG (Wasmtime). */
WASI_IMPL(wasi_fd_prestat_dir_name)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), 0, &f);
    if (r) return r;
    if (!f->preopen) return WASI_EBADF;
    uint32_t n = (uint32_t)strlen(f->preopen);
    if (!guest_range(c, ARG32(1), ARG32(2))) return WASI_EFAULT;
    if (ARG32(2) < n) return WASI_ENAMETOOLONG;
    memcpy(guest_ptr(c, ARG32(1)), f->preopen, n);
    return WASI_ESUCCESS;
}
