/*
 * ctx.c — a WASI context's state: creating and freeing it, the guest's fd table, and the
 * helpers every function shares (host errno → WASI errno, filestat, guest paths and
 * iovecs, storing results in guest memory).
 *
 * Where it sits: wasi.c binds imports to functions; the functions (fd.c, dir.c, path.c,
 * poll.c, sock.c) find their file descriptors through wasi_fd_get() here. The fd table is
 * a plain array indexed by guest fd: 0–2 are stdio, then the preopened directories, then
 * the preopened sockets, then whatever the guest opens (lowest free number first, as
 * POSIX does).
 *
 * Read next: fd.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wasi_internal.h"

/* ---- errno ------------------------------------------------------------------------- */

uint32_t wasi_errno(int e)
{
    switch (e) {
    case 0: return WASI_ESUCCESS;
    case E2BIG: return WASI_E2BIG;            case EACCES: return WASI_EACCES;
    case EADDRINUSE: return WASI_EADDRINUSE;  case EADDRNOTAVAIL: return WASI_EADDRNOTAVAIL;
    case EAFNOSUPPORT: return WASI_EAFNOSUPPORT;
    case EAGAIN: return WASI_EAGAIN;          case EALREADY: return WASI_EALREADY;
    case EBADF: return WASI_EBADF;            case EBADMSG: return WASI_EBADMSG;
    case EBUSY: return WASI_EBUSY;            case ECANCELED: return WASI_ECANCELED;
    case ECHILD: return WASI_ECHILD;          case ECONNABORTED: return WASI_ECONNABORTED;
    case ECONNREFUSED: return WASI_ECONNREFUSED; case ECONNRESET: return WASI_ECONNRESET;
    case EDEADLK: return WASI_EDEADLK;        case EDESTADDRREQ: return WASI_EDESTADDRREQ;
    case EDOM: return WASI_EDOM;              case EDQUOT: return WASI_EDQUOT;
    case EEXIST: return WASI_EEXIST;          case EFAULT: return WASI_EFAULT;
    case EFBIG: return WASI_EFBIG;            case EHOSTUNREACH: return WASI_EHOSTUNREACH;
    case EIDRM: return WASI_EIDRM;            case EILSEQ: return WASI_EILSEQ;
    case EINPROGRESS: return WASI_EINPROGRESS; case EINTR: return WASI_EINTR;
    case EINVAL: return WASI_EINVAL;          case EIO: return WASI_EIO;
    case EISCONN: return WASI_EISCONN;        case EISDIR: return WASI_EISDIR;
    case ELOOP: return WASI_ELOOP;            case EMFILE: return WASI_EMFILE;
    case EMLINK: return WASI_EMLINK;          case EMSGSIZE: return WASI_EMSGSIZE;
    case EMULTIHOP: return WASI_EMULTIHOP;    case ENAMETOOLONG: return WASI_ENAMETOOLONG;
    case ENETDOWN: return WASI_ENETDOWN;      case ENETRESET: return WASI_ENETRESET;
    case ENETUNREACH: return WASI_ENETUNREACH; case ENFILE: return WASI_ENFILE;
    case ENOBUFS: return WASI_ENOBUFS;        case ENODEV: return WASI_ENODEV;
    case ENOENT: return WASI_ENOENT;          case ENOEXEC: return WASI_ENOEXEC;
    case ENOLCK: return WASI_ENOLCK;          case ENOLINK: return WASI_ENOLINK;
    case ENOMEM: return WASI_ENOMEM;          case ENOMSG: return WASI_ENOMSG;
    case ENOPROTOOPT: return WASI_ENOPROTOOPT; case ENOSPC: return WASI_ENOSPC;
    case ENOSYS: return WASI_ENOSYS;          case ENOTCONN: return WASI_ENOTCONN;
    case ENOTDIR: return WASI_ENOTDIR;        case ENOTEMPTY: return WASI_ENOTEMPTY;
    case ENOTRECOVERABLE: return WASI_ENOTRECOVERABLE;
    case ENOTSOCK: return WASI_ENOTSOCK;      case ENOTSUP: return WASI_ENOTSUP;
    case ENOTTY: return WASI_ENOTTY;          case ENXIO: return WASI_ENXIO;
    case EOVERFLOW: return WASI_EOVERFLOW;    case EOWNERDEAD: return WASI_EOWNERDEAD;
    case EPERM: return WASI_EPERM;            case EPIPE: return WASI_EPIPE;
    case EPROTO: return WASI_EPROTO;          case EPROTONOSUPPORT: return WASI_EPROTONOSUPPORT;
    case EPROTOTYPE: return WASI_EPROTOTYPE;  case ERANGE: return WASI_ERANGE;
    case EROFS: return WASI_EROFS;            case ESPIPE: return WASI_ESPIPE;
    case ESRCH: return WASI_ESRCH;            case ESTALE: return WASI_ESTALE;
    case ETIMEDOUT: return WASI_ETIMEDOUT;    case ETXTBSY: return WASI_ETXTBSY;
    case EXDEV: return WASI_EXDEV;
    }
    return WASI_EIO;   /* a host error WASI has no name for */
}

/* ---- guest memory ---------------------------------------------------------------------- */

uint32_t wasi_store_u32(WasiCall *c, uint32_t ptr, uint32_t v)
{
    if (!guest_range(c, ptr, 4)) return WASI_EFAULT;
    put_u32(guest_ptr(c, ptr), v);
    return WASI_ESUCCESS;
}

uint32_t wasi_store_u64(WasiCall *c, uint32_t ptr, uint64_t v)
{
    if (!guest_range(c, ptr, 8)) return WASI_EFAULT;
    put_u64(guest_ptr(c, ptr), v);
    return WASI_ESUCCESS;
}

uint32_t wasi_guest_path(WasiCall *c, uint32_t ptr, uint32_t len, char **out)
{
    if (!guest_range(c, ptr, len)) return WASI_EFAULT;
    if (len >= PATH_MAX) return WASI_ENAMETOOLONG;   /* before allocating anything */
    const uint8_t *p = guest_ptr(c, ptr);
    if (memchr(p, 0, len)) return WASI_EINVAL;       /* the host would see a shorter path */
    char *s = malloc((size_t)len + 1);
    if (!s) return WASI_ENOMEM;
    memcpy(s, p, len);
    s[len] = 0;
    *out = s;
    return WASI_ESUCCESS;
}

uint32_t wasi_iovecs(WasiCall *c, uint32_t iovs, uint32_t count, struct iovec *out,
                     uint32_t max, uint32_t *n)
{
    if (!guest_range(c, iovs, (uint64_t)count * 8)) return WASI_EFAULT;
    uint32_t k = 0;
    for (uint32_t i = 0; i < count && k < max; i++) {
        const uint8_t *e = guest_ptr(c, iovs + 8 * i);
        uint32_t buf = get_u32(e), len = get_u32(e + 4);
        if (!guest_range(c, buf, len)) return WASI_EFAULT;
        if (len == 0) continue;
        out[k].iov_base = guest_ptr(c, buf);
        out[k].iov_len = len;
        k++;
    }
    *n = k;
    return WASI_ESUCCESS;
}

/* ---- the fd table ------------------------------------------------------------------------ */

uint64_t wasi_type_rights(uint8_t filetype)
{
    switch (filetype) {
    case WASI_FILETYPE_REGULAR_FILE: return WASI_RIGHTS_FILE;
    case WASI_FILETYPE_DIRECTORY: return WASI_RIGHTS_DIR;
    case WASI_FILETYPE_SOCKET_STREAM:
    case WASI_FILETYPE_SOCKET_DGRAM: return WASI_RIGHTS_SOCKET;
    }
    return WASI_RIGHTS_STREAM;
}

/* A right missing because the guest gave it up (or never asked for it) is ENOTCAPABLE;
 * one this kind of file can never have gets the error the operation would give on it
 * (as Wasmtime does): seeking a pipe is ESPIPE, a path operation on a file ENOTDIR,
 * reading a directory EBADF. */
static uint32_t missing(const WasiFd *f, uint64_t rights)
{
    if (rights & wasi_type_rights(f->filetype)) return WASI_ENOTCAPABLE;
    if ((rights & (WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL)) &&
        f->filetype != WASI_FILETYPE_DIRECTORY)
        return WASI_ESPIPE;
    if (rights & (WASI_RIGHTS_DIR & ~WASI_RIGHTS_FILE)) return WASI_ENOTDIR;
    return WASI_EBADF;
}

uint32_t wasi_fd_get(WasiCtx *ctx, uint32_t fd, uint64_t rights, WasiFd **out)
{
    if (fd >= ctx->nfds || !ctx->fds[fd].used) return WASI_EBADF;
    WasiFd *f = &ctx->fds[fd];
    if ((f->rights_base & rights) != rights) return missing(f, rights & ~f->rights_base);
    *out = f;
    return WASI_ESUCCESS;
}

/* The first free slot from `from` on, or nfds. */
static uint32_t free_slot(WasiCtx *ctx, uint32_t from)
{
    for (uint32_t i = from; i < ctx->nfds; i++)
        if (!ctx->fds[i].used) return i;
    return ctx->nfds;
}

/* New numbers go up (like Wasmtime's table), so a closed fd's number is not handed out
 * again at once and a stale fd is EBADF rather than somebody else's file; at the top of
 * the table the search starts again from 0. */
uint32_t wasi_fd_insert(WasiCtx *ctx, const WasiFd *f, uint32_t *guest)
{
    uint32_t i = free_slot(ctx, ctx->next_fd);
    if (i == ctx->nfds && ctx->nfds >= WASI_MAX_FDS) i = free_slot(ctx, 0);
    if (i == ctx->nfds) {
        if (ctx->nfds >= WASI_MAX_FDS) return WASI_EMFILE;
        uint32_t cap = ctx->nfds ? ctx->nfds * 2 : 8;
        if (cap > WASI_MAX_FDS) cap = WASI_MAX_FDS;
        WasiFd *nf = realloc(ctx->fds, cap * sizeof *nf);
        if (!nf) return WASI_ENOMEM;
        memset(nf + ctx->nfds, 0, (cap - ctx->nfds) * sizeof *nf);
        ctx->fds = nf;
        ctx->nfds = cap;
    }
    ctx->fds[i] = *f;
    ctx->fds[i].used = true;
    ctx->next_fd = i + 1;
    *guest = i;
    return WASI_ESUCCESS;
}

void wasi_fd_release(WasiFd *f)
{
    if (f->owned && f->host >= 0) close(f->host);
    free(f->preopen);
    memset(f, 0, sizeof *f);
}

uint8_t wasi_filetype(mode_t mode, int host_fd)
{
    if (S_ISREG(mode)) return WASI_FILETYPE_REGULAR_FILE;
    if (S_ISDIR(mode)) return WASI_FILETYPE_DIRECTORY;
    if (S_ISCHR(mode)) return WASI_FILETYPE_CHARACTER_DEVICE;
    if (S_ISBLK(mode)) return WASI_FILETYPE_BLOCK_DEVICE;
    if (S_ISLNK(mode)) return WASI_FILETYPE_SYMBOLIC_LINK;
    if (S_ISSOCK(mode)) {
        int type = 0;
        socklen_t len = sizeof type;
        if (host_fd >= 0 && getsockopt(host_fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
            type == SOCK_DGRAM)
            return WASI_FILETYPE_SOCKET_DGRAM;
        return WASI_FILETYPE_SOCKET_STREAM;
    }
    return WASI_FILETYPE_UNKNOWN;   /* FIFOs: WASI has no filetype for them (Wasmtime too) */
}

/* filestat (witx): dev u64 @0, ino u64 @8, filetype u8 @16, nlink u64 @24, size u64 @32,
 * atim @40, mtim @48, ctim @56 — timestamps in nanoseconds. */
void wasi_put_filestat(uint8_t *p, const struct stat *st)
{
    memset(p, 0, 64);
    put_u64(p + 0, (uint64_t)st->st_dev);
    put_u64(p + 8, (uint64_t)st->st_ino);
    put_u8(p + 16, wasi_filetype(st->st_mode, -1));
    put_u64(p + 24, (uint64_t)st->st_nlink);
    put_u64(p + 32, (uint64_t)st->st_size);
    put_u64(p + 40, (uint64_t)st->st_atim.tv_sec * 1000000000u + (uint64_t)st->st_atim.tv_nsec);
    put_u64(p + 48, (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec);
    put_u64(p + 56, (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec);
}

/* ---- creating a context ----------------------------------------------------------------- */

/* A NULL-terminated copy of n strings; *bytes gets the sum of their sizes with NULs. */
static char **copy_strings(int n, const char *const *src, size_t *bytes)
{
    char **out = calloc((size_t)n + 1, sizeof *out);
    *bytes = 0;
    for (int i = 0; out && i < n; i++) {
        out[i] = strdup(src[i]);
        if (!out[i]) return out;   /* caller sees the NULL gap and frees */
        *bytes += strlen(src[i]) + 1;
    }
    return out;
}

static void free_strings(char **s, int n)
{
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

/* A borrowed host fd (stdio, a socket): its rights follow its type and access mode. */
static WasiFd borrowed_fd(int host)
{
    WasiFd f = { .host = host, .owned = false };
    struct stat st;
    if (host < 0 || fstat(host, &st) != 0) {
        f.host = -1;
        return f;
    }
    f.filetype = wasi_filetype(st.st_mode, host);
    /* Only a terminal lacks seek and tell (wasi-libc's isatty() looks at exactly that);
     * /dev/null and other seekable character devices keep them. */
    bool seekable = S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(host) &&
                                             lseek(host, 0, SEEK_CUR) >= 0);
    f.rights_base = seekable ? WASI_RIGHTS_FILE
                    : S_ISSOCK(st.st_mode) ? WASI_RIGHTS_SOCKET : WASI_RIGHTS_STREAM;
    int fl = fcntl(host, F_GETFL);
    if (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY) f.rights_base &= ~WASI_RIGHTS_WRITING;
    if (fl >= 0 && (fl & O_ACCMODE) == O_WRONLY) f.rights_base &= ~WASI_RIGHTS_READING;
    if (fl >= 0 && (fl & O_APPEND)) f.flags |= WASI_FDFLAG_APPEND;
    return f;
}

/* Slot `fd` of a table already grown to hold it. */
static void place(WasiCtx *ctx, uint32_t fd, const WasiFd *f)
{
    ctx->fds[fd] = *f;
    ctx->fds[fd].used = f->host >= 0;   /* a closed stdio stream keeps its number free */
}

static bool add_preopen(WasiCtx *ctx, uint32_t fd, const WasiPreopen *p, char *err,
                        size_t errlen)
{
    int host = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (host < 0) {
        snprintf(err, errlen, "%s: %s", p->host_path, strerror(errno));
        return false;
    }
    WasiFd f = { .host = host, .owned = true, .filetype = WASI_FILETYPE_DIRECTORY,
                 .rights_base = WASI_RIGHTS_DIR, .rights_inheriting = WASI_RIGHTS_ALL,
                 .preopen = strdup(p->guest_path) };
    place(ctx, fd, &f);
    if (!f.preopen) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    return true;
}

/* fds 0, 1, 2, then preopened directories, then sockets, in the order given (wasi-libc
 * looks for preopens from fd 3 up until fd_prestat_get says EBADF). */
static bool fill_fds(WasiCtx *ctx, const WasiConfig *cfg, char *err, size_t errlen)
{
    uint32_t n = 3 + (uint32_t)cfg->npreopens + (uint32_t)cfg->nsockets;
    if (n > WASI_MAX_FDS || !(ctx->fds = calloc(n, sizeof *ctx->fds))) {
        snprintf(err, errlen, "too many preopened files");
        return false;
    }
    ctx->nfds = n;
    ctx->next_fd = n;
    int stdio[3] = { cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd };
    for (uint32_t i = 0; i < 3; i++) {
        WasiFd f = borrowed_fd(stdio[i]);
        place(ctx, i, &f);
    }
    for (int i = 0; i < cfg->npreopens; i++)
        if (!add_preopen(ctx, 3 + (uint32_t)i, &cfg->preopens[i], err, errlen)) return false;
    for (int i = 0; i < cfg->nsockets; i++) {
        WasiFd f = borrowed_fd(cfg->sockets[i]);
        if (f.host < 0) {
            snprintf(err, errlen, "socket %d is not open", cfg->sockets[i]);
            return false;
        }
        f.flags = 0;
        place(ctx, 3 + (uint32_t)cfg->npreopens + (uint32_t)i, &f);
    }
    return true;
}

WasiCtx *wasi_new(const WasiConfig *cfg, char *err, size_t errlen)
{
    WasiCtx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) goto oom;
    ctx->argc = cfg->argc;
    ctx->nenv = cfg->nenv;
    ctx->argv = copy_strings(cfg->argc, cfg->argv, &ctx->argv_bytes);
    ctx->env = copy_strings(cfg->nenv, cfg->env, &ctx->env_bytes);
    if (!ctx->argv || !ctx->env) goto oom;
    for (int i = 0; i < cfg->argc; i++) if (!ctx->argv[i]) goto oom;
    for (int i = 0; i < cfg->nenv; i++) if (!ctx->env[i]) goto oom;
    /* For testing the fallback resolver on kernels that have openat2 (docs/wasi.md). */
    const char *no2 = getenv("LVM_WASI_NO_OPENAT2");
    ctx->no_openat2 = no2 && *no2 && strcmp(no2, "0") != 0;
    if (!fill_fds(ctx, cfg, err, errlen)) {
        wasi_free(ctx);
        return NULL;
    }
    return ctx;
oom:
    wasi_free(ctx);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

void wasi_free(WasiCtx *ctx)
{
    if (!ctx) return;
    for (uint32_t i = 0; i < ctx->nfds; i++)
        if (ctx->fds[i].used) wasi_fd_release(&ctx->fds[i]);
    free(ctx->fds);
    free_strings(ctx->argv, ctx->argc);
    free_strings(ctx->env, ctx->nenv);
    for (int i = 0; i < WASI_NFUNCS; i++) vm_host_function_free(ctx->fns.funcs[i]);
    free(ctx);
}
