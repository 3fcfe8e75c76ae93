/*
 * fd.c — the fd_* functions that work on one open file descriptor: reading and writing
 * (fd_read, fd_write, fd_pread, fd_pwrite), position (fd_seek, fd_tell), durability
 * (fd_sync, fd_datasync), hints and space (fd_advise, fd_allocate), the table itself
 * (fd_close, fd_renumber), and status (fd_fdstat_*, fd_filestat_*).
 *
 * Where it sits: called through wasi.c's dispatcher. Each function checks the fd and its
 * rights with wasi_fd_get() (EBADF / ENOTCAPABLE, as the witx docs say), checks every
 * guest pointer it will write before doing anything, then makes one host call. Reads and
 * writes on pipes, terminals and sockets first ask wasi_wait() whether they would block
 * (poll.c), so that with a scheduler they can return HOST_BLOCK having done nothing.
 * Directory listing and preopen names are in dir.c.
 *
 * Read next: dir.c, path.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

/* ---- reading and writing ---------------------------------------------------------------- */

/* Regular files and directories never block (and poll says so); anything else may. */
static bool may_block(const WasiFd *f)
{
    return f->filetype != WASI_FILETYPE_REGULAR_FILE && f->filetype != WASI_FILETYPE_DIRECTORY;
}

/* fd_read, fd_write, fd_pread, fd_pwrite in one: `write` picks the direction, `at` the
 * offset (-1: the file position). The count pointer is checked before any I/O, so an
 * error never follows a transfer that already happened. */
static uint32_t transfer(WasiCall *c, const Value *a, bool write, bool positioned)
{
    uint64_t rights = write ? WASI_RIGHT_FD_WRITE : WASI_RIGHT_FD_READ;
    if (positioned) rights |= WASI_RIGHT_FD_SEEK;
    uint32_t done_ptr = positioned ? ARG32(4) : ARG32(3);
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), rights, &f);
    if (r) return r;
    if (!guest_range(c, done_ptr, 4)) return WASI_EFAULT;
    struct iovec iov[WASI_IOV_MAX];
    uint32_t n;
    if ((r = wasi_iovecs(c, ARG32(1), ARG32(2), iov, WASI_IOV_MAX, &n))) return r;
    if (positioned && ARG64(3) > INT64_MAX) return WASI_EINVAL;
    if (!positioned && n > 0 && may_block(f) &&
        (r = wasi_wait(c, f, write ? POLLOUT : POLLIN)))
        return r;   /* EAGAIN, or WASI_BLOCKED: nothing was done */
    ssize_t got;
    off_t at = (off_t)ARG64(3);
    do {
        if (n == 0) got = 0;   /* only empty buffers: nothing to do, not even a syscall */
        else if (write && !positioned && f->filetype == WASI_FILETYPE_SOCKET_STREAM)
            got = sendmsg(f->host, &(struct msghdr){ .msg_iov = iov, .msg_iovlen = n },
                          MSG_NOSIGNAL);   /* a closed peer: EPIPE, never SIGPIPE */
        else if (write) got = positioned ? pwritev(f->host, iov, (int)n, at)
                                         : writev(f->host, iov, (int)n);
        else got = positioned ? preadv(f->host, iov, (int)n, at) : readv(f->host, iov, (int)n);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return wasi_errno(errno);
    put_u32(guest_ptr(c, done_ptr), (uint32_t)got);
    return WASI_ESUCCESS;
}

/* fd_read(fd, iovs, iovs_len, nread) */
WASI_IMPL(wasi_fd_read) { return transfer(c, a, false, false); }
/* fd_write(fd, iovs, iovs_len, nwritten) */
WASI_IMPL(wasi_fd_write) { return transfer(c, a, true, false); }
/* fd_pread(fd, iovs, iovs_len, offset, nread): does not move the file position */
WASI_IMPL(wasi_fd_pread) { return transfer(c, a, false, true); }
/* fd_pwrite(fd, iovs, iovs_len, offset, nwritten) */
WASI_IMPL(wasi_fd_pwrite) { return transfer(c, a, true, true); }

/* ---- position ---------------------------------------------------------------------------- */

/* fd_seek(fd, offset i64, whence, newoffset). Asking only for the position (0, CUR)
 * needs FD_TELL, anything else FD_SEEK (witx: "If only fd_tell is granted…"). */
WASI_IMPL(wasi_fd_seek)
{
    int64_t off = (int64_t)ARG64(1);
    uint32_t whence = ARG32(2);
    bool tell = off == 0 && whence == WASI_WHENCE_CUR;
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), tell ? WASI_RIGHT_FD_TELL : WASI_RIGHT_FD_SEEK, &f);
    if (r) return r;
    int how = whence == WASI_WHENCE_SET ? SEEK_SET
              : whence == WASI_WHENCE_CUR ? SEEK_CUR
              : whence == WASI_WHENCE_END ? SEEK_END : -1;
    if (how < 0) return WASI_EINVAL;
    if (!guest_range(c, ARG32(3), 8)) return WASI_EFAULT;
    off_t pos = lseek(f->host, (off_t)off, how);
    if (pos < 0) return wasi_errno(errno);
    put_u64(guest_ptr(c, ARG32(3)), (uint64_t)pos);
    return WASI_ESUCCESS;
}

/* fd_tell(fd, offset) */
WASI_IMPL(wasi_fd_tell)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_TELL, &f);
    if (r) return r;
    if (!guest_range(c, ARG32(1), 8)) return WASI_EFAULT;
    off_t pos = lseek(f->host, 0, SEEK_CUR);
    if (pos < 0) return wasi_errno(errno);
    put_u64(guest_ptr(c, ARG32(1)), (uint64_t)pos);
    return WASI_ESUCCESS;
}

/* ---- durability, hints, space ------------------------------------------------------------ */

WASI_IMPL(wasi_fd_sync)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_SYNC, &f);
    if (r) return r;
    return fsync(f->host) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
}

WASI_IMPL(wasi_fd_datasync)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_DATASYNC, &f);
    if (r) return r;
    return fdatasync(f->host) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
}

/* fd_advise(fd, offset, len, advice): advice 0..5 is normal, sequential, random,
 * willneed, dontneed, noreuse (witx `advice`). */
WASI_IMPL(wasi_fd_advise)
{
    static const int host[] = { POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE };
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_ADVISE, &f);
    if (r) return r;
    if (ARG32(3) > 5 || ARG64(1) > INT64_MAX || ARG64(2) > INT64_MAX) return WASI_EINVAL;
    int e = posix_fadvise(f->host, (off_t)ARG64(1), (off_t)ARG64(2), host[ARG32(3)]);
    /* Advice about a pipe or a directory is harmless to drop (Wasmtime accepts it). */
    return e == 0 || e == ESPIPE ? WASI_ESUCCESS : wasi_errno(e);
}

/* fd_allocate(fd, offset, len) */
WASI_IMPL(wasi_fd_allocate)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_ALLOCATE, &f);
    if (r) return r;
    uint64_t off = ARG64(1), len = ARG64(2);
    if (off > INT64_MAX || len > INT64_MAX) return WASI_EINVAL;
    if (len > (uint64_t)INT64_MAX - off) return WASI_EFBIG;
    int e = posix_fallocate(f->host, (off_t)off, (off_t)len);
    return wasi_errno(e);
}

/* ---- the table ------------------------------------------------------------------------------ */

/* fd_close(fd). Preopens may be closed too (then they are gone for good). */
WASI_IMPL(wasi_fd_close)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), 0, &f);
    if (r) return r;
    wasi_fd_release(f);
    return WASI_ESUCCESS;
}

/* fd_renumber(fd, to): atomically replace `to` with `fd`; both must be open (Wasmtime). */
WASI_IMPL(wasi_fd_renumber)
{
    WasiFd *from, *to;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), 0, &from);
    if (r || (r = wasi_fd_get(c->ctx, ARG32(1), 0, &to))) return r;
    if (from == to) return WASI_ESUCCESS;
    wasi_fd_release(to);
    *to = *from;
    memset(from, 0, sizeof *from);   /* moved, not closed */
    return WASI_ESUCCESS;
}

/* ---- fdstat ---------------------------------------------------------------------------------- */

/* fd_fdstat_get(fd, buf): fdstat is filetype u8 @0, flags u16 @2, rights_base u64 @8,
 * rights_inheriting u64 @16 — 24 bytes. */
WASI_IMPL(wasi_fd_fdstat_get)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), 0, &f);
    if (r) return r;
    if (!guest_range(c, ARG32(1), 24)) return WASI_EFAULT;
    uint8_t *p = guest_ptr(c, ARG32(1));
    memset(p, 0, 24);
    put_u8(p, f->filetype);
    put_u16(p + 2, f->flags);
    put_u64(p + 8, f->rights_base);
    put_u64(p + 16, f->rights_inheriting);
    return WASI_ESUCCESS;
}

/* fd_fdstat_set_flags(fd, flags). APPEND goes to the host; NONBLOCK is the guest's view
 * (wasi_wait() honours it) and reaches the host only for files we own, so a guest never
 * changes the embedder's stdin. Linux cannot change the sync flags of an open file, so
 * those are ENOTSUP. */
WASI_IMPL(wasi_fd_fdstat_set_flags)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_FDSTAT_SET_FLAGS, &f);
    if (r) return r;
    uint32_t fl = ARG32(1);
    if (fl & ~0x1fu) return WASI_EINVAL;
    if (fl & (WASI_FDFLAG_DSYNC | WASI_FDFLAG_RSYNC | WASI_FDFLAG_SYNC)) return WASI_ENOTSUP;
    int host = fcntl(f->host, F_GETFL);
    if (host < 0) return wasi_errno(errno);
    host = (fl & WASI_FDFLAG_APPEND) ? host | O_APPEND : host & ~O_APPEND;
    if (f->owned) host = (fl & WASI_FDFLAG_NONBLOCK) ? host | O_NONBLOCK : host & ~O_NONBLOCK;
    if (fcntl(f->host, F_SETFL, host) != 0) return wasi_errno(errno);
    f->flags = (uint16_t)((f->flags & ~(WASI_FDFLAG_APPEND | WASI_FDFLAG_NONBLOCK)) | fl);
    return WASI_ESUCCESS;
}

/* fd_fdstat_set_rights(fd, base, inheriting): rights can only be dropped. */
WASI_IMPL(wasi_fd_fdstat_set_rights)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), 0, &f);
    if (r) return r;
    uint64_t base = ARG64(1), inh = ARG64(2);
    if ((base & ~f->rights_base) || (inh & ~f->rights_inheriting)) return WASI_ENOTCAPABLE;
    f->rights_base = base;
    f->rights_inheriting = inh;
    return WASI_ESUCCESS;
}

/* ---- filestat ------------------------------------------------------------------------------ */

WASI_IMPL(wasi_fd_filestat_get)
{
    WasiFd *f;
    struct stat st;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_FILESTAT_GET, &f);
    if (r) return r;
    if (!guest_range(c, ARG32(1), 64)) return WASI_EFAULT;
    if (fstat(f->host, &st) != 0) return wasi_errno(errno);
    wasi_put_filestat(guest_ptr(c, ARG32(1)), &st);
    if (f->filetype != WASI_FILETYPE_UNKNOWN)   /* e.g. a socket's DGRAM/STREAM */
        put_u8(guest_ptr(c, ARG32(1)) + 16, f->filetype);
    return WASI_ESUCCESS;
}

/* fd_filestat_set_size(fd, size) */
WASI_IMPL(wasi_fd_filestat_set_size)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_FILESTAT_SET_SIZE, &f);
    if (r) return r;
    if (ARG64(1) > INT64_MAX) return WASI_EINVAL;
    return ftruncate(f->host, (off_t)ARG64(1)) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
}

uint32_t wasi_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2])
{
    if (fst & ~0xfu) return WASI_EINVAL;
    if ((fst & WASI_FST_ATIM) && (fst & WASI_FST_ATIM_NOW)) return WASI_EINVAL;
    if ((fst & WASI_FST_MTIM) && (fst & WASI_FST_MTIM_NOW)) return WASI_EINVAL;
    ts[0] = (struct timespec){ 0, UTIME_OMIT };
    ts[1] = (struct timespec){ 0, UTIME_OMIT };
    if (fst & WASI_FST_ATIM)
        ts[0] = (struct timespec){ (time_t)(atim / 1000000000u), (long)(atim % 1000000000u) };
    if (fst & WASI_FST_ATIM_NOW) ts[0].tv_nsec = UTIME_NOW;
    if (fst & WASI_FST_MTIM)
        ts[1] = (struct timespec){ (time_t)(mtim / 1000000000u), (long)(mtim % 1000000000u) };
    if (fst & WASI_FST_MTIM_NOW) ts[1].tv_nsec = UTIME_NOW;
    return WASI_ESUCCESS;
}

/* fd_filestat_set_times(fd, atim, mtim, fst_flags) */
WASI_IMPL(wasi_fd_filestat_set_times)
{
    WasiFd *f;
    struct timespec ts[2];
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), WASI_RIGHT_FD_FILESTAT_SET_TIMES, &f);
    if (r || (r = wasi_times(ARG64(1), ARG64(2), ARG32(3), ts))) return r;
    return futimens(f->host, ts) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
}
