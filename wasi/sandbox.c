/*
 * sandbox.c — resolving a guest's path beneath one of its directories, and never
 * outside it.
 *
 * Where it sits: path.c calls these for every path_* function. The guest names files by
 * (directory fd, relative path); the directory fd is a preopen or something opened from
 * one, so staying beneath it keeps the guest inside its preopens (WASI's capability
 * model: witx "path" docs, and Wasmtime's cap-std).
 *
 * What may not happen: an absolute path, a `..` that climbs above the directory, or a
 * symlink — one met on the way, one at the end that is followed, one the guest made, one
 * that was already there — that leads out. Each is ENOTCAPABLE (Wasmtime's older
 * wasi-common answer; see docs/wasi.md).
 *
 * How, in two ways:
 *  1. openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS (Linux 5.6+): the kernel
 *     walks the path and refuses (EXDEV) anything that would leave the directory,
 *     atomically, however the tree changes meanwhile. Called through syscall(2), as
 *     glibc 2.36 has no wrapper.
 *  2. Where openat2 is ENOSYS (older kernels, some seccomp sandboxes), a walk one
 *     component at a time: each directory opened with O_PATH | O_NOFOLLOW from the one
 *     before, kept on a stack so that `..` is a pop (and a pop below the start is an
 *     escape), each symlink read with readlinkat() and spliced into the rest of the path
 *     (an absolute target is an escape), at most 40 of them (ELOOP, as Linux).
 *     LVM_WASI_NO_OPENAT2=1 forces this path, so tests can run it on new kernels.
 *
 * Operations other than open (mkdir, unlink, rename, stat, …) must not hand the kernel a
 * multi-component path either: wasi_sandbox_parent() opens the *parent* directory of the
 * last component in the sandbox (as above), and the caller acts on that one component
 * with the *at() call and AT_SYMLINK_NOFOLLOW. When the operation follows symlinks, the
 * final symlink is chased here, inside the sandbox, until the leaf is not a symlink; if
 * it becomes one after that check, the *at() call sees the link itself, never its target.
 *
 * Read next: path.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wasi_internal.h"

#define MAX_SYMLINKS 40   /* as Linux's MAXSYMLINKS */

/* Set once openat2 has said ENOSYS; a race only costs another ENOSYS. */
static int openat2_missing;

/* openat2 beneath dir; -1 with errno, or -2 if the kernel has no openat2. */
static int beneath(WasiCtx *ctx, int dir, const char *path, int flags, mode_t mode)
{
    if (ctx->no_openat2 || __atomic_load_n(&openat2_missing, __ATOMIC_RELAXED)) return -2;
    struct open_how how = {
        .flags = (uint64_t)flags,
        .mode = (flags & O_CREAT) ? mode : 0,   /* openat2 wants 0 otherwise */
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd;
    do   /* EAGAIN: a concurrent rename made the kernel unsure; it asks us to retry */
        fd = syscall(SYS_openat2, dir, path, &how, sizeof how);
    while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    if (fd < 0 && errno == ENOSYS) {
        __atomic_store_n(&openat2_missing, 1, __ATOMIC_RELAXED);
        return -2;
    }
    return (int)fd;
}

/* openat2's EXDEV means "would leave the directory". */
static uint32_t beneath_errno(int e) { return e == EXDEV ? WASI_ENOTCAPABLE : wasi_errno(e); }

/* ---- the component walk (no openat2) ------------------------------------------------- */

typedef struct Walk {
    int *fds;          /* fds[0] is the starting directory (borrowed), the rest owned */
    int depth, cap;
    int links;         /* symlinks spliced so far */
    char *rest;        /* the path still to walk is rest + pos (malloc'd) */
    size_t pos;
} Walk;

static void walk_free(Walk *w)
{
    for (int i = 1; i <= w->depth; i++) close(w->fds[i]);
    free(w->fds);
    free(w->rest);
}

/* What is left := target + "/" + what was left. An absolute target leaves the sandbox. */
static uint32_t splice_link(Walk *w, const char *target)
{
    if (target[0] == '/') return WASI_ENOTCAPABLE;
    if (++w->links > MAX_SYMLINKS) return WASI_ELOOP;
    const char *after = w->rest + w->pos;
    size_t a = strlen(target), b = strlen(after);
    char *s = malloc(a + b + 2);
    if (!s) return WASI_ENOMEM;
    memcpy(s, target, a);
    s[a] = '/';
    memcpy(s + a + 1, after, b + 1);
    free(w->rest);
    w->rest = s;
    w->pos = 0;
    return WASI_ESUCCESS;
}

static uint32_t push(Walk *w, int fd)
{
    if (w->depth + 1 >= w->cap) {
        int cap = w->cap * 2;
        int *nf = realloc(w->fds, (size_t)cap * sizeof *nf);
        if (!nf) {
            close(fd);
            return WASI_ENOMEM;
        }
        w->fds = nf;
        w->cap = cap;
    }
    w->fds[++w->depth] = fd;
    return WASI_ESUCCESS;
}

/* Step into directory `name` of the one on top of the stack. */
static uint32_t walk_step(Walk *w, const char *name)
{
    int top = w->fds[w->depth];
    if (strcmp(name, ".") == 0) return WASI_ESUCCESS;
    if (strcmp(name, "..") == 0) {
        if (w->depth == 0) return WASI_ENOTCAPABLE;   /* above the starting directory */
        close(w->fds[w->depth--]);
        return WASI_ESUCCESS;
    }
    int fd = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) return push(w, fd);
    int e = errno;
    char target[PATH_MAX];
    ssize_t n = readlinkat(top, name, target, sizeof target - 1);
    if (n < 0) return wasi_errno(e);              /* not a symlink: the open's error */
    target[n] = 0;
    return splice_link(w, target);
}

/* Open directory `path` beneath dir one component at a time; *out is a new fd. */
static uint32_t walk_dir(int dir, const char *path, int *out)
{
    if (path[0] == '/') return WASI_ENOTCAPABLE;
    Walk w = { .cap = 16 };
    uint32_t r = WASI_ENOMEM;
    w.fds = malloc((size_t)w.cap * sizeof *w.fds);
    w.rest = strdup(path);
    if (!w.fds || !w.rest) goto done;
    w.fds[0] = dir;
    r = WASI_ESUCCESS;
    while (r == WASI_ESUCCESS) {
        const char *p = w.rest + w.pos;
        while (*p == '/') p++;
        if (!*p) break;
        size_t n = strcspn(p, "/");
        char name[NAME_MAX + 1];
        if (n > NAME_MAX) {
            r = WASI_ENAMETOOLONG;
            break;
        }
        memcpy(name, p, n);
        name[n] = 0;
        w.pos = (size_t)(p + n - w.rest);
        r = walk_step(&w, name);
    }
    if (r == WASI_ESUCCESS) {
        *out = fcntl(w.fds[w.depth], F_DUPFD_CLOEXEC, 0);
        if (*out < 0) r = wasi_errno(errno);
    }
done:
    walk_free(&w);
    return r;
}

/* ---- the parent of a path's last component ----------------------------------------- */

/* Open directory `path` (possibly "") beneath dir, either way. */
static uint32_t open_dir(WasiCtx *ctx, int dir, const char *path, int *out)
{
    const char *p = path[0] ? path : ".";
    int fd = beneath(ctx, dir, p, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd == -2) return walk_dir(dir, p, out);
    if (fd < 0) return beneath_errno(errno);
    *out = fd;
    return WASI_ESUCCESS;
}

/* Split path into its directory part and last component (t->leaf, no slash) and open
 * the directory part. *leaf_at gets where the last component starts in path. */
static uint32_t parent_once(WasiCtx *ctx, int dir, const char *path, WasiTarget *t,
                            size_t *leaf_at)
{
    size_t len = strlen(path);
    if (len == 0) return WASI_ENOENT;
    if (path[0] == '/') return WASI_ENOTCAPABLE;
    t->slash = path[len - 1] == '/';
    while (len > 0 && path[len - 1] == '/') len--;
    size_t start = len;
    while (start > 0 && path[start - 1] != '/') start--;
    size_t n = len - start;
    if (n > NAME_MAX) return WASI_ENAMETOOLONG;
    bool dots = (n == 1 && path[start] == '.') || (n == 2 && path[start] == '.' &&
                                                   path[start + 1] == '.');
    /* "a/.." and "a/.": the directory is the whole path, the leaf "." */
    size_t dirlen = dots ? len : start;
    char *d = strndup(path, dirlen);
    if (!d) return WASI_ENOMEM;
    uint32_t r = open_dir(ctx, dir, d, &t->dir);
    free(d);
    if (r) return r;
    if (dots) strcpy(t->leaf, ".");
    else {
        memcpy(t->leaf, path + start, n);
        t->leaf[n] = 0;
    }
    *leaf_at = dots ? len : start;
    return WASI_ESUCCESS;
}

uint32_t wasi_sandbox_parent(WasiCtx *ctx, int dir, const char *path, int mode, WasiTarget *t)
{
    char *cur = strdup(path);
    if (!cur) return WASI_ENOMEM;
    uint32_t r;
    size_t leaf_at;
    for (int links = 0;; links++) {
        if ((r = parent_once(ctx, dir, cur, t, &leaf_at))) break;
        bool chase = mode == WASI_FOLLOW || (mode == WASI_NOFOLLOW && t->slash);
        char target[PATH_MAX];
        ssize_t n = chase ? readlinkat(t->dir, t->leaf, target, sizeof target - 1) : -1;
        if (n < 0) break;                       /* not a symlink (or not there): done */
        close(t->dir);
        target[n] = 0;
        if (target[0] == '/') r = WASI_ENOTCAPABLE;
        else if (links >= MAX_SYMLINKS) r = WASI_ELOOP;
        if (r) break;
        /* the same directory part, then the link's target (and the slash, if any) */
        size_t len = leaf_at + (size_t)n + 2;
        char *next = malloc(len);
        if (!next) { r = WASI_ENOMEM; break; }
        snprintf(next, len, "%.*s%s%s", (int)leaf_at, cur, target, t->slash ? "/" : "");
        free(cur);
        cur = next;
    }
    free(cur);
    if (r == WASI_ESUCCESS && mode == WASI_LEXICAL && t->slash) strcat(t->leaf, "/");
    return r;
}

/* ---- opening ----------------------------------------------------------------------------- */

uint32_t wasi_sandbox_open(WasiCtx *ctx, int dir, const char *path, int flags, mode_t mode,
                           int *out)
{
    if (path[0] == '/') return WASI_ENOTCAPABLE;
    int fd = beneath(ctx, dir, path, flags | O_CLOEXEC, mode);
    if (fd >= 0) {
        *out = fd;
        return WASI_ESUCCESS;
    }
    if (fd != -2) return beneath_errno(errno);
    /* The walk: the parent in the sandbox, a final symlink chased unless O_NOFOLLOW,
     * then one openat on the leaf that will not follow anything. */
    WasiTarget t;
    /* O_CREAT | O_EXCL never follows a final symlink (open(2)): it is EEXIST */
    bool follow = !(flags & O_NOFOLLOW) && (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
    uint32_t r = wasi_sandbox_parent(ctx, dir, path, follow ? WASI_FOLLOW : WASI_LEXICAL, &t);
    if (r) return r;
    if (t.slash) {
        size_t n = strlen(t.leaf);
        if (t.leaf[n - 1] == '/') t.leaf[n - 1] = 0;
        flags |= O_DIRECTORY;   /* "name/" must be a directory */
    }
    fd = openat(t.dir, t.leaf, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    r = fd < 0 ? wasi_errno(errno) : WASI_ESUCCESS;
    close(t.dir);
    if (fd >= 0) *out = fd;
    return r;
}
