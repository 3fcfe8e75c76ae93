/*
 * wasi_internal.h — what the files of wasi/ share: the WASI constants (numbered exactly as
 * in wasi_snapshot_preview1.witx), the guest's file-descriptor table, and bounds-checked
 * access to guest memory.
 *
 * Where it sits: private to wasi/ (wasi.h is the public face). Every host function is
 * written as a WasiImpl: it gets a WasiCall (the context and the caller's memory) and the
 * raw arguments, and returns a WASI errno, or WASI_BLOCKED / WASI_EXITED, which the
 * dispatcher in wasi.c turns into HOST_BLOCK / HOST_TRAP (DESIGN decision 7).
 *
 * Guest memory (DESIGN decision 9): every pointer and length comes from the guest and is
 * checked with 64-bit arithmetic by guest_range() before use; a bad one is WASI_EFAULT,
 * never a host access out of bounds. Structures are written field by field in little
 * endian (guest memory is little-endian by definition; DESIGN decision 10).
 *
 * Read next: wasi.c.
 */
#ifndef LVM_WASI_WASI_INTERNAL_H
#define LVM_WASI_WASI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "wasi.h"

/* ---- errno (witx `errno`, u16) ------------------------------------------------------ */
enum {
    WASI_ESUCCESS = 0, WASI_E2BIG = 1, WASI_EACCES = 2, WASI_EADDRINUSE = 3,
    WASI_EADDRNOTAVAIL = 4, WASI_EAFNOSUPPORT = 5, WASI_EAGAIN = 6, WASI_EALREADY = 7,
    WASI_EBADF = 8, WASI_EBADMSG = 9, WASI_EBUSY = 10, WASI_ECANCELED = 11,
    WASI_ECHILD = 12, WASI_ECONNABORTED = 13, WASI_ECONNREFUSED = 14, WASI_ECONNRESET = 15,
    WASI_EDEADLK = 16, WASI_EDESTADDRREQ = 17, WASI_EDOM = 18, WASI_EDQUOT = 19,
    WASI_EEXIST = 20, WASI_EFAULT = 21, WASI_EFBIG = 22, WASI_EHOSTUNREACH = 23,
    WASI_EIDRM = 24, WASI_EILSEQ = 25, WASI_EINPROGRESS = 26, WASI_EINTR = 27,
    WASI_EINVAL = 28, WASI_EIO = 29, WASI_EISCONN = 30, WASI_EISDIR = 31, WASI_ELOOP = 32,
    WASI_EMFILE = 33, WASI_EMLINK = 34, WASI_EMSGSIZE = 35, WASI_EMULTIHOP = 36,
    WASI_ENAMETOOLONG = 37, WASI_ENETDOWN = 38, WASI_ENETRESET = 39, WASI_ENETUNREACH = 40,
    WASI_ENFILE = 41, WASI_ENOBUFS = 42, WASI_ENODEV = 43, WASI_ENOENT = 44,
    WASI_ENOEXEC = 45, WASI_ENOLCK = 46, WASI_ENOLINK = 47, WASI_ENOMEM = 48,
    WASI_ENOMSG = 49, WASI_ENOPROTOOPT = 50, WASI_ENOSPC = 51, WASI_ENOSYS = 52,
    WASI_ENOTCONN = 53, WASI_ENOTDIR = 54, WASI_ENOTEMPTY = 55, WASI_ENOTRECOVERABLE = 56,
    WASI_ENOTSOCK = 57, WASI_ENOTSUP = 58, WASI_ENOTTY = 59, WASI_ENXIO = 60,
    WASI_EOVERFLOW = 61, WASI_EOWNERDEAD = 62, WASI_EPERM = 63, WASI_EPIPE = 64,
    WASI_EPROTO = 65, WASI_EPROTONOSUPPORT = 66, WASI_EPROTOTYPE = 67, WASI_ERANGE = 68,
    WASI_EROFS = 69, WASI_ESPIPE = 70, WASI_ESRCH = 71, WASI_ESTALE = 72,
    WASI_ETIMEDOUT = 73, WASI_ETXTBSY = 74, WASI_EXDEV = 75, WASI_ENOTCAPABLE = 76,
};

/* Not errnos: what a WasiImpl returns to make the dispatcher stop the call. */
#define WASI_BLOCKED 0x10000u   /* nothing done; HOST_BLOCK, call again when woken */
#define WASI_EXITED  0x10001u   /* proc_exit: vm_exec_set_exit was called; HOST_TRAP */

/* ---- rights (witx `rights`, u64 bit numbers) --------------------------------------- */
#define R(bit) ((uint64_t)1 << (bit))
#define WASI_RIGHT_FD_DATASYNC             R(0)
#define WASI_RIGHT_FD_READ                 R(1)
#define WASI_RIGHT_FD_SEEK                 R(2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS     R(3)
#define WASI_RIGHT_FD_SYNC                 R(4)
#define WASI_RIGHT_FD_TELL                 R(5)
#define WASI_RIGHT_FD_WRITE                R(6)
#define WASI_RIGHT_FD_ADVISE               R(7)
#define WASI_RIGHT_FD_ALLOCATE             R(8)
#define WASI_RIGHT_PATH_CREATE_DIRECTORY   R(9)
#define WASI_RIGHT_PATH_CREATE_FILE        R(10)
#define WASI_RIGHT_PATH_LINK_SOURCE        R(11)
#define WASI_RIGHT_PATH_LINK_TARGET        R(12)
#define WASI_RIGHT_PATH_OPEN               R(13)
#define WASI_RIGHT_FD_READDIR              R(14)
#define WASI_RIGHT_PATH_READLINK           R(15)
#define WASI_RIGHT_PATH_RENAME_SOURCE      R(16)
#define WASI_RIGHT_PATH_RENAME_TARGET      R(17)
#define WASI_RIGHT_PATH_FILESTAT_GET       R(18)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE  R(19)
#define WASI_RIGHT_PATH_FILESTAT_SET_TIMES R(20)
#define WASI_RIGHT_FD_FILESTAT_GET         R(21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE    R(22)
#define WASI_RIGHT_FD_FILESTAT_SET_TIMES   R(23)
#define WASI_RIGHT_PATH_SYMLINK            R(24)
#define WASI_RIGHT_PATH_REMOVE_DIRECTORY   R(25)
#define WASI_RIGHT_PATH_UNLINK_FILE        R(26)
#define WASI_RIGHT_POLL_FD_READWRITE       R(27)
#define WASI_RIGHT_SOCK_SHUTDOWN           R(28)
#define WASI_RIGHT_SOCK_ACCEPT             R(29)
#define WASI_RIGHTS_ALL                    (R(30) - 1)

/* What a regular file, a directory, a character device / pipe, a socket can ever have. */
#define WASI_RIGHTS_FILE                                                              \
    (WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK |               \
     WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_TELL |        \
     WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ADVISE | WASI_RIGHT_FD_ALLOCATE |             \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_SIZE |                    \
     WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_DIR                                                               \
    (WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_DATASYNC |    \
     WASI_RIGHT_FD_ADVISE | WASI_RIGHT_PATH_CREATE_DIRECTORY |                         \
     WASI_RIGHT_PATH_CREATE_FILE | WASI_RIGHT_PATH_LINK_SOURCE |                       \
     WASI_RIGHT_PATH_LINK_TARGET | WASI_RIGHT_PATH_OPEN | WASI_RIGHT_FD_READDIR |      \
     WASI_RIGHT_PATH_READLINK | WASI_RIGHT_PATH_RENAME_SOURCE |                        \
     WASI_RIGHT_PATH_RENAME_TARGET | WASI_RIGHT_PATH_FILESTAT_GET |                    \
     WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |          \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_TIMES |                   \
     WASI_RIGHT_PATH_SYMLINK | WASI_RIGHT_PATH_REMOVE_DIRECTORY |                      \
     WASI_RIGHT_PATH_UNLINK_FILE)
/* No seek or tell: wasi-libc's isatty() wants exactly that of a terminal. */
#define WASI_RIGHTS_STREAM \
    (WASI_RIGHTS_FILE & ~(WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_ALLOCATE))
#define WASI_RIGHTS_SOCKET                                                            \
    (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS |       \
     WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE |                       \
     WASI_RIGHT_SOCK_SHUTDOWN | WASI_RIGHT_SOCK_ACCEPT)
#define WASI_RIGHTS_READING (WASI_RIGHT_FD_READ | WASI_RIGHT_FD_READDIR)
#define WASI_RIGHTS_WRITING                                                           \
    (WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_ALLOCATE |           \
     WASI_RIGHT_FD_FILESTAT_SET_SIZE)

/* ---- small enums and flags ---------------------------------------------------------- */
enum {   /* filetype, u8 */
    WASI_FILETYPE_UNKNOWN = 0, WASI_FILETYPE_BLOCK_DEVICE = 1,
    WASI_FILETYPE_CHARACTER_DEVICE = 2, WASI_FILETYPE_DIRECTORY = 3,
    WASI_FILETYPE_REGULAR_FILE = 4, WASI_FILETYPE_SOCKET_DGRAM = 5,
    WASI_FILETYPE_SOCKET_STREAM = 6, WASI_FILETYPE_SYMBOLIC_LINK = 7,
};
enum {   /* fdflags, u16 */
    WASI_FDFLAG_APPEND = 1, WASI_FDFLAG_DSYNC = 2, WASI_FDFLAG_NONBLOCK = 4,
    WASI_FDFLAG_RSYNC = 8, WASI_FDFLAG_SYNC = 16,
};
enum { WASI_OFLAG_CREAT = 1, WASI_OFLAG_DIRECTORY = 2, WASI_OFLAG_EXCL = 4, WASI_OFLAG_TRUNC = 8 };
enum { WASI_LOOKUP_SYMLINK_FOLLOW = 1 };
enum { WASI_FST_ATIM = 1, WASI_FST_ATIM_NOW = 2, WASI_FST_MTIM = 4, WASI_FST_MTIM_NOW = 8 };
enum { WASI_WHENCE_SET = 0, WASI_WHENCE_CUR = 1, WASI_WHENCE_END = 2 };
enum { WASI_CLOCK_REALTIME = 0, WASI_CLOCK_MONOTONIC = 1, WASI_CLOCK_PROCESS_CPUTIME = 2,
       WASI_CLOCK_THREAD_CPUTIME = 3 };
enum { WASI_EVENT_CLOCK = 0, WASI_EVENT_FD_READ = 1, WASI_EVENT_FD_WRITE = 2 };
enum { WASI_EVENT_HANGUP = 1 };           /* eventrwflags */
enum { WASI_SUBCLOCK_ABSTIME = 1 };       /* subclockflags */
enum { WASI_RIFLAG_PEEK = 1, WASI_RIFLAG_WAITALL = 2, WASI_ROFLAG_TRUNCATED = 1 };
enum { WASI_SDFLAG_RD = 1, WASI_SDFLAG_WR = 2 };
enum { WASI_PREOPENTYPE_DIR = 0 };

/* ---- the context ----------------------------------------------------------------------- */

/* One slot of the guest's fd table. */
typedef struct WasiFd {
    bool used;
    bool owned;           /* close `host` when the guest closes it (not stdio, sockets) */
    int host;             /* the host file descriptor */
    uint8_t filetype;
    uint16_t flags;       /* fdflags as the guest set them (NONBLOCK is ours, not the host's) */
    uint64_t rights_base, rights_inheriting;
    char *preopen;        /* guest name of a preopened directory, else NULL */
    uint64_t dir_cookie;  /* fd_readdir: entry number dir_cookie starts at host offset */
    int64_t dir_off;      /* dir_off (a d_off of getdents64) — where to resume cheaply */
} WasiFd;

#define WASI_MAX_FDS 65536      /* per context: above this path_open says EMFILE */
#define WASI_NFUNCS 46          /* functions of wasi_snapshot_preview1 */

typedef struct WasiCtx WasiCtx;

/* The env of each host function: the context (or, for functions shared by every
 * process, where to find it) and which function it is. */
typedef struct WasiBinding {
    WasiCtx *ctx;                       /* NULL: ask shared->ctx_of */
    struct WasiShared *shared;
    uint32_t index;
} WasiBinding;

/* A set of host functions: one per context, or one shared by all (wasi_shared_new). */
typedef struct WasiFuncs {
    Function *funcs[WASI_NFUNCS];
    WasiBinding bindings[WASI_NFUNCS];
} WasiFuncs;

struct WasiShared {
    WasiFuncs fns;
    WasiCtxOf ctx_of;
    void *env;
};

struct WasiCtx {
    int argc, nenv;
    char **argv, **env;
    size_t argv_bytes, env_bytes;       /* sum of strlen + 1 */
    WasiFd *fds;
    uint32_t nfds;                      /* slots in fds (used or not) */
    uint32_t next_fd;                   /* where the search for a free number starts */
    bool no_openat2;                    /* force the component walk (sandbox.c) */
    uint64_t last_cpu[2];               /* process, thread CPU time last given (wasi.c) */
    WasiWaiter waiter;                  /* how to wait (wasi.h); .wait NULL: in poll(2) */
    WasiFuncs fns;
};

/* ---- one call ---------------------------------------------------------------------------- */

typedef struct WasiCall {
    WasiCtx *ctx;
    Exec *exec;
    uint8_t *mem;         /* caller's memory 0 (NULL if it has none) */
    uint64_t memsize;
} WasiCall;

typedef uint32_t (*WasiImpl)(WasiCall *c, const Value *a);

/* Argument i as the unsigned 32-bit value the guest passed. */
#define ARG32(i) ((uint32_t)a[i])
#define ARG64(i) ((uint64_t)a[i])

/* True if [ptr, ptr+len) lies in guest memory. 64-bit arithmetic: no overflow. */
static inline bool guest_range(const WasiCall *c, uint64_t ptr, uint64_t len)
{
    return c->mem && ptr <= c->memsize && len <= c->memsize - ptr;
}
static inline uint8_t *guest_ptr(const WasiCall *c, uint32_t ptr) { return c->mem + ptr; }

static inline void put_u8(uint8_t *p, uint8_t v) { p[0] = v; }
static inline void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Store a u32 / u64 result at a guest address (checked). */
uint32_t wasi_store_u32(WasiCall *c, uint32_t ptr, uint32_t v);
uint32_t wasi_store_u64(WasiCall *c, uint32_t ptr, uint64_t v);

/* ---- shared helpers ------------------------------------------------------------------ */

/* Host errno → WASI errno (wasi.c). */
uint32_t wasi_errno(int host_errno);

/* The fd slot if fd is open and has every right in `rights`: WASI_EBADF if it is not
 * open, WASI_ENOTCAPABLE if a right is missing that its kind of file could have, else
 * the error the operation gives on that kind of file (ESPIPE, ENOTDIR, EBADF). */
uint32_t wasi_fd_get(WasiCtx *ctx, uint32_t fd, uint64_t rights, WasiFd **out);

/* Put host fd in the lowest free slot; *guest gets its number. WASI_EMFILE if full. */
uint32_t wasi_fd_insert(WasiCtx *ctx, const WasiFd *f, uint32_t *guest);

/* Release a slot (closing the host fd if owned). */
void wasi_fd_release(WasiFd *f);

/* The most an fd of this type can do. */
uint64_t wasi_type_rights(uint8_t filetype);

/* stat → WASI filetype. */
uint8_t wasi_filetype(mode_t mode, int host_fd);

/* Write a 64-byte filestat at ptr (already range-checked). */
void wasi_put_filestat(uint8_t *p, const struct stat *st);

/* Copy a guest path into a new NUL-terminated string (caller frees). EFAULT, EINVAL
 * (an embedded NUL), ENAMETOOLONG (over PATH_MAX), ENOMEM. */
uint32_t wasi_guest_path(WasiCall *c, uint32_t ptr, uint32_t len, char **out);

/* Gather up to 1024 guest iovecs (8 bytes each: buf u32, len u32) into host iovecs;
 * each used buffer is range-checked. *n gets how many were filled. */
struct iovec;
uint32_t wasi_iovecs(WasiCall *c, uint32_t iovs, uint32_t count, struct iovec *out,
                     uint32_t max, uint32_t *n);
#define WASI_IOV_MAX 1024

/* Wait until host fd is ready for `events` (POLLIN / POLLOUT), without side effects
 * before it is: 0 when ready, WASI_EAGAIN if the guest fd is non-blocking and it is not,
 * WASI_BLOCKED when the context's waiter parked the process (HOST_BLOCK; poll.c). */
uint32_t wasi_wait(WasiCall *c, const WasiFd *f, short events);
void wasi_wait_done(WasiCall *c);   /* the waiter's done(): the call is going through */

/* ---- the functions, by file ---------------------------------------------------------- */
#define WASI_IMPL(name) uint32_t name(WasiCall *c, const Value *a)
/* fd.c */
WASI_IMPL(wasi_fd_read); WASI_IMPL(wasi_fd_write); WASI_IMPL(wasi_fd_pread);
WASI_IMPL(wasi_fd_pwrite); WASI_IMPL(wasi_fd_seek); WASI_IMPL(wasi_fd_tell);
WASI_IMPL(wasi_fd_sync); WASI_IMPL(wasi_fd_datasync); WASI_IMPL(wasi_fd_advise);
WASI_IMPL(wasi_fd_allocate); WASI_IMPL(wasi_fd_close); WASI_IMPL(wasi_fd_renumber);
WASI_IMPL(wasi_fd_fdstat_get); WASI_IMPL(wasi_fd_fdstat_set_flags);
WASI_IMPL(wasi_fd_fdstat_set_rights); WASI_IMPL(wasi_fd_filestat_get);
WASI_IMPL(wasi_fd_filestat_set_size); WASI_IMPL(wasi_fd_filestat_set_times);
/* dir.c */
WASI_IMPL(wasi_fd_readdir); WASI_IMPL(wasi_fd_prestat_get); WASI_IMPL(wasi_fd_prestat_dir_name);
/* path.c */
WASI_IMPL(wasi_path_open); WASI_IMPL(wasi_path_create_directory);
WASI_IMPL(wasi_path_remove_directory); WASI_IMPL(wasi_path_unlink_file);
WASI_IMPL(wasi_path_rename); WASI_IMPL(wasi_path_symlink); WASI_IMPL(wasi_path_readlink);
WASI_IMPL(wasi_path_link); WASI_IMPL(wasi_path_filestat_get);
WASI_IMPL(wasi_path_filestat_set_times);
/* poll.c */
WASI_IMPL(wasi_poll_oneoff);
/* sock.c */
WASI_IMPL(wasi_sock_accept); WASI_IMPL(wasi_sock_recv); WASI_IMPL(wasi_sock_send);
WASI_IMPL(wasi_sock_shutdown);

/* Both fd_filestat_set_times and path_filestat_set_times: fstflags → two timespecs
 * for utimensat (fd.c). WASI_EINVAL for a contradictory or unknown flag. */
struct timespec;
uint32_t wasi_times(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);

/* ---- sandbox.c: resolving a guest path beneath a preopen ---------------------------- */

/* Open `path` relative to directory fd `dir`, never leaving it: no absolute path, no
 * `..` above it, no symlink (followed on the way, or at the end without O_NOFOLLOW)
 * leading out. `flags` are openat's (O_NOFOLLOW: do not follow a final symlink).
 * WASI_ENOTCAPABLE for an escape. */
uint32_t wasi_sandbox_open(WasiCtx *ctx, int dir, const char *path, int flags, mode_t mode,
                           int *out);

/* The parent directory of path's last component, opened beneath `dir` (caller closes
 * t->dir), and that component. With `follow`, a final symlink is chased (inside the
 * sandbox) until the leaf is not one. A last component of "." or ".." resolves the whole
 * path and gives leaf ".". `slash` says whether path ended with '/'; in WASI_LEXICAL
 * mode it is kept in leaf ("name/") so the kernel's own "must be a directory" rules
 * apply, in the others it is not (the caller checks that the result is a directory). */
typedef struct WasiTarget {
    int dir;
    bool slash;
    char leaf[256 + 2];
} WasiTarget;
enum {
    WASI_LEXICAL,    /* never chase; keep the trailing slash: mkdir, rmdir, unlink, rename,
                        symlink, link's new name (the kernel does not follow these) */
    WASI_NOFOLLOW,   /* chase only for a trailing slash ("link/" means the directory) */
    WASI_FOLLOW,     /* chase a final symlink: stat and utimes with SYMLINK_FOLLOW */
};
uint32_t wasi_sandbox_parent(WasiCtx *ctx, int dir, const char *path, int mode,
                             WasiTarget *t);

#endif
