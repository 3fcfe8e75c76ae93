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
 * the listing that stays valid between calls — and it must fit in 32 bits, because
 * wasi-libc's telldir() returns it as a `long`. The kernel's own positions (d_off of
 * getdents64) are 63-bit hashes on ext4, so they cannot be cookies. As in Wasmtime, the
 * cookie is the entry's number instead: entry k has d_next = k + 1, and 0 is the start.
 * To start at cookie k we lseek the directory to a known (entry number, d_off) pair —
 * the start, or the entry where the previous call stopped, kept in the WasiFd — and skip
 * forward; a guest listing a directory from start to end thus reads it once. "." and
 * ".." are listed, as the kernel lists them.
 *
 * Read next: path.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
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

/* Append one entry (number k) to out[0..len) at *used, cut off at len. False once out
 * is full. */
static bool put_dirent(int dir, const struct host_dirent *d, uint64_t k, uint8_t *out,
                       uint32_t len, uint32_t *used)
{
    uint8_t rec[24] = { 0 };
    uint32_t namlen = (uint32_t)strlen(d->d_name);
    put_u64(rec, k + 1);
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

/* Host directory entries are read HOST_BUF bytes at a time into a buffer made for the
 * call: a thread-local array would cost every thread of the VM 32 KiB of touched memory. */
#define HOST_BUF 32768

/* Position the directory at entry number `cookie` (or its end, if it has fewer). */
static uint32_t seek_entry(WasiFd *f, uint64_t cookie, char *host_buf)
{
    uint64_t k = 0;
    int64_t off = 0;
    if (f->dir_cookie && f->dir_cookie <= cookie) {
        k = f->dir_cookie;
        off = f->dir_off;
    }
    while (k < cookie) {
        if (lseek(f->host, (off_t)off, SEEK_SET) < 0) return wasi_errno(errno);
        ssize_t n = getdents64(f->host, host_buf, HOST_BUF);
        if (n < 0) return wasi_errno(errno);
        if (n == 0) break;
        for (ssize_t at = 0; at < n && k < cookie; k++) {
            const struct host_dirent *d = (const struct host_dirent *)(host_buf + at);
            off = d->d_off;
            at += d->d_reclen;
        }
    }
    if (lseek(f->host, (off_t)off, SEEK_SET) < 0) return wasi_errno(errno);
    f->dir_cookie = k;
    f->dir_off = off;
    return WASI_ESUCCESS;
}

/* Fill out[0..len) from entry f->dir_cookie on; remembers where it stopped. */
static uint32_t fill(WasiFd *f, uint8_t *out, uint32_t len, uint32_t *used, char *host_buf)
{
    uint64_t k = f->dir_cookie;
    int64_t off = f->dir_off;
    bool room = len > 0;
    while (room) {
        ssize_t n = getdents64(f->host, host_buf, HOST_BUF);
        if (n < 0) return wasi_errno(errno);
        if (n == 0) break;
        for (ssize_t at = 0; at < n && room; k++) {
            const struct host_dirent *d = (const struct host_dirent *)(host_buf + at);
            f->dir_cookie = k;      /* the last entry written starts at off */
            f->dir_off = off;
            room = put_dirent(f->host, d, k, out, len, used);
            off = d->d_off;
            at += d->d_reclen;
        }
    }
    return WASI_ESUCCESS;
}

/* fd_readdir(fd, buf, buf_len, cookie, bufused) */
WASI_IMPL(wasi_fd_readdir)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_READDIR, &f);
    if (r) return r;
    uint32_t buf = ARG32(1), len = ARG32(2), used = 0;
    if (!guest_range(c, buf, len) || !guest_range(c, ARG32(4), 4)) return WASI_EFAULT;
    if (f->filetype != WASI_FILETYPE_DIRECTORY) return WASI_ENOTDIR;
    char *host_buf = malloc(HOST_BUF);
    if (!host_buf) return WASI_ENOMEM;
    if (!(r = seek_entry(f, ARG64(3), host_buf)))
        r = fill(f, guest_ptr(c, buf), len, &used, host_buf);
    free(host_buf);
    if (r) return r;
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
