/*
 * sock.c — sock_accept, sock_recv, sock_send, sock_shutdown: preview 1's sockets, which
 * are only the ones the embedder preopened (`lvm --tcplisten HOST:PORT`) and the
 * connections accepted from them. Preview 1 has no socket(), bind() or connect().
 *
 * Where it sits: called through wasi.c's dispatcher. Like fd_read and fd_write, each
 * call that could block asks wasi_wait() (poll.c) first, so it can later return
 * HOST_BLOCK having done nothing. Sends use MSG_NOSIGNAL: a peer that went away is
 * EPIPE for the guest, never a SIGPIPE for the VM.
 *
 * Read next: docs/wasi.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_internal.h"

/* A socket fd with `rights`; ENOTSOCK for anything else. */
static uint32_t get_socket(WasiCall *c, uint32_t fd, uint64_t rights, WasiFd **f)
{
    uint32_t r = wasi_fd_get(c->ctx, fd, 0, f);
    if (r) return r;
    if ((*f)->filetype != WASI_FILETYPE_SOCKET_STREAM &&
        (*f)->filetype != WASI_FILETYPE_SOCKET_DGRAM)
        return WASI_ENOTSOCK;
    return ((*f)->rights_base & rights) == rights ? WASI_ESUCCESS : WASI_ENOTCAPABLE;
}

/* sock_accept(fd, flags, ro_fd): flags may only be NONBLOCK (for the new fd). */
WASI_IMPL(wasi_sock_accept)
{
    WasiFd *f;
    uint32_t r = get_socket(c, ARG32(0), WASI_RIGHT_SOCK_ACCEPT, &f);
    if (r) return r;
    if (ARG32(1) & ~(uint32_t)WASI_FDFLAG_NONBLOCK) return WASI_EINVAL;
    if (!guest_range(c, ARG32(2), 4)) return WASI_EFAULT;
    if ((r = wasi_wait(c, f, POLLIN))) return r;
    int host;
    do host = accept4(f->host, NULL, NULL, SOCK_CLOEXEC);
    while (host < 0 && errno == EINTR);
    if (host < 0) return wasi_errno(errno);
    WasiFd nf = { .host = host, .owned = true, .filetype = WASI_FILETYPE_SOCKET_STREAM,
                  .flags = (uint16_t)ARG32(1),
                  .rights_base = WASI_RIGHTS_SOCKET & ~WASI_RIGHT_SOCK_ACCEPT };
    uint32_t fd;
    if ((r = wasi_fd_insert(c->ctx, &nf, &fd))) {
        close(host);
        return r;
    }
    put_u32(guest_ptr(c, ARG32(2)), fd);
    return WASI_ESUCCESS;
}

/* sock_recv(fd, ri_data, ri_data_len, ri_flags, ro_datalen, ro_flags) */
WASI_IMPL(wasi_sock_recv)
{
    WasiFd *f;
    uint32_t r = get_socket(c, ARG32(0), WASI_RIGHT_FD_READ, &f);
    if (r) return r;
    uint32_t riflags = ARG32(3);
    if (riflags & ~(uint32_t)(WASI_RIFLAG_PEEK | WASI_RIFLAG_WAITALL)) return WASI_EINVAL;
    if (!guest_range(c, ARG32(4), 4) || !guest_range(c, ARG32(5), 2)) return WASI_EFAULT;
    struct iovec iov[WASI_IOV_MAX];
    uint32_t n;
    if ((r = wasi_iovecs(c, ARG32(1), ARG32(2), iov, WASI_IOV_MAX, &n))) return r;
    if ((r = wasi_wait(c, f, POLLIN))) return r;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n };
    int flags = ((riflags & WASI_RIFLAG_PEEK) ? MSG_PEEK : 0) |
                ((riflags & WASI_RIFLAG_WAITALL) ? MSG_WAITALL : 0);
    ssize_t got;
    do got = recvmsg(f->host, &msg, flags);
    while (got < 0 && errno == EINTR);
    if (got < 0) return wasi_errno(errno);
    put_u32(guest_ptr(c, ARG32(4)), (uint32_t)got);
    put_u16(guest_ptr(c, ARG32(5)), (msg.msg_flags & MSG_TRUNC) ? WASI_ROFLAG_TRUNCATED : 0);
    return WASI_ESUCCESS;
}

/* sock_send(fd, si_data, si_data_len, si_flags, so_datalen): no siflags are defined. */
WASI_IMPL(wasi_sock_send)
{
    WasiFd *f;
    uint32_t r = get_socket(c, ARG32(0), WASI_RIGHT_FD_WRITE, &f);
    if (r) return r;
    if (ARG32(3) != 0) return WASI_EINVAL;
    if (!guest_range(c, ARG32(4), 4)) return WASI_EFAULT;
    struct iovec iov[WASI_IOV_MAX];
    uint32_t n;
    if ((r = wasi_iovecs(c, ARG32(1), ARG32(2), iov, WASI_IOV_MAX, &n))) return r;
    if ((r = wasi_wait(c, f, POLLOUT))) return r;
    struct msghdr msg = { .msg_iov = iov, .msg_iovlen = n };
    ssize_t sent;
    do sent = sendmsg(f->host, &msg, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent < 0) return wasi_errno(errno);
    put_u32(guest_ptr(c, ARG32(4)), (uint32_t)sent);
    return WASI_ESUCCESS;
}

/* sock_shutdown(fd, how): how is RD (1), WR (2) or both. */
WASI_IMPL(wasi_sock_shutdown)
{
    WasiFd *f;
    uint32_t r = get_socket(c, ARG32(0), WASI_RIGHT_SOCK_SHUTDOWN, &f);
    if (r) return r;
    int how;
    switch (ARG32(1)) {
    case WASI_SDFLAG_RD: how = SHUT_RD; break;
    case WASI_SDFLAG_WR: how = SHUT_WR; break;
    case WASI_SDFLAG_RD | WASI_SDFLAG_WR: how = SHUT_RDWR; break;
    default: return WASI_EINVAL;
    }
    return shutdown(f->host, how) == 0 ? WASI_ESUCCESS : wasi_errno(errno);
}
