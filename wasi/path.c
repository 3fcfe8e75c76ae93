/*
 * path.c — the path_* functions: opening, creating and removing files and directories,
 * renaming, links and symlinks, and stat / utimes by name.
 *
 * Where it sits: called through wasi.c's dispatcher. Each takes a directory fd and a
 * path relative to it (witx: "path: the path of the file, relative to fd"). The path is
 * copied out of guest memory (wasi_guest_path: bounded, NUL-free), then resolved inside
 * the sandbox by sandbox.c: path_open through wasi_sandbox_open(), everything else by
 * opening the parent directory of the last component there and acting on that one
 * component with an *at() call that does not follow symlinks. Rights are those the witx
 * docs name for each function (ENOTCAPABLE when missing).
 *
 * Read next: sandbox.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

/* The directory fd `fd` (needing `rights`), and the guest path at ptr/len resolved to
 * its parent directory and last component. The caller closes t->dir on success. */
static uint32_t resolve(WasiCall *c, uint32_t fd, uint64_t rights, uint32_t ptr,
                        uint32_t len, int mode, WasiTarget *t)
{
    WasiFd *d;
    char *path;
    uint32_t r = wasi_fd_get(c->ctx, fd, rights, &d);
    if (r) return r;
    if (d->filetype != WASI_FILETYPE_DIRECTORY) return WASI_ENOTDIR;
    if ((r = wasi_guest_path(c, ptr, len, &path))) return r;
    r = wasi_sandbox_parent(c->ctx, d->host, path, mode, t);
    free(path);
    return r;
}

static uint32_t done(WasiTarget *t, int ret)
{
    uint32_t r = ret == 0 ? WASI_ESUCCESS : wasi_errno(errno);
    close(t->dir);
    return r;
}

/* ---- path_open ------------------------------------------------------------------------ */

/* oflags and fdflags → open(2) flags; the access mode follows the rights asked for, as
 * in Wasmtime: any reading right → read, any writing right → write. */
static int open_flags(uint32_t dirflags, uint32_t oflags, uint64_t base, uint32_t fdflags)
{
    int fl = O_NOCTTY;
    if (oflags & WASI_OFLAG_CREAT) fl |= O_CREAT;
    if (oflags & WASI_OFLAG_EXCL) fl |= O_EXCL;
    if (oflags & WASI_OFLAG_TRUNC) fl |= O_TRUNC;
    if (oflags & WASI_OFLAG_DIRECTORY) fl |= O_DIRECTORY;
    if (!(dirflags & WASI_LOOKUP_SYMLINK_FOLLOW)) fl |= O_NOFOLLOW;
    bool rd = base & WASI_RIGHTS_READING, wr = base & WASI_RIGHTS_WRITING;
    /* O_DIRECTORY with directory rights (ALL_RIGHTS, say) asks for "whatever applies",
     * so it opens for reading; writing rights alone on a directory are EISDIR, as
     * open(2) says. */
    bool dir_rights = base & (WASI_RIGHTS_DIR & ~WASI_RIGHTS_FILE);
    if (wr && !((oflags & WASI_OFLAG_DIRECTORY) && dir_rights)) fl |= rd ? O_RDWR : O_WRONLY;
    if (fdflags & WASI_FDFLAG_APPEND) fl |= O_APPEND;
    if (fdflags & WASI_FDFLAG_DSYNC) fl |= O_DSYNC;
    if (fdflags & WASI_FDFLAG_SYNC) fl |= O_SYNC;
    if (fdflags & WASI_FDFLAG_RSYNC) fl |= O_RSYNC;
    if (fdflags & WASI_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
    return fl;
}

/* path_open(fd, dirflags, path, path_len, oflags, rights_base, rights_inheriting,
 * fdflags, opened_fd). The new fd's rights are those asked for, within what the
 * directory may hand down (its inheriting rights) and what its type can do; asking for
 * more is not an error (the spec lets us drop rights), the fd just lacks them. */
WASI_IMPL(wasi_path_open)
{
    uint32_t oflags = ARG32(4), fdflags = ARG32(7), out = ARG32(8);
    uint64_t base = ARG64(5), inh = ARG64(6);
    uint64_t need = WASI_RIGHT_PATH_OPEN;
    if (oflags & WASI_OFLAG_CREAT) need |= WASI_RIGHT_PATH_CREATE_FILE;
    if (oflags & WASI_OFLAG_TRUNC) need |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
    WasiFd *d;
    char *path;
    uint32_t r = wasi_fd_get(c->ctx, ARG32(0), need, &d);
    if (r) return r;
    if (d->filetype != WASI_FILETYPE_DIRECTORY) return WASI_ENOTDIR;
    if ((oflags & ~0xfu) || (fdflags & ~0x1fu)) return WASI_EINVAL;
    if (!guest_range(c, out, 4)) return WASI_EFAULT;
    if ((r = wasi_guest_path(c, ARG32(2), ARG32(3), &path))) return r;
    int host;
    r = wasi_sandbox_open(c->ctx, d->host, path, open_flags(ARG32(1), oflags, base, fdflags),
                          0666, &host);
    free(path);
    if (r) return r;
    struct stat st;
    if (fstat(host, &st) != 0) {
        r = wasi_errno(errno);
        close(host);
        return r;
    }
    WasiFd f = { .host = host, .owned = true, .filetype = wasi_filetype(st.st_mode, host),
                 .flags = (uint16_t)fdflags };
    /* A directory opened without asking for any directory right (rights 0, as many
     * callers pass) gets all the directory may hand down, as in Wasmtime. */
    if (f.filetype == WASI_FILETYPE_DIRECTORY && !(base & (WASI_RIGHTS_DIR & ~WASI_RIGHTS_FILE)))
        base = WASI_RIGHTS_DIR;
    f.rights_base = base & d->rights_inheriting & wasi_type_rights(f.filetype);
    f.rights_inheriting = inh & d->rights_inheriting;
    uint32_t fd;
    if ((r = wasi_fd_insert(c->ctx, &f, &fd))) {   /* d may have moved: not used below */
        close(host);
        return r;
    }
    put_u32(guest_ptr(c, out), fd);
    return WASI_ESUCCESS;
}

/* ---- creating and removing -------------------------------------------------------------- */

/* path_create_directory(fd, path, path_len) */
WASI_IMPL(wasi_path_create_directory)
{
    WasiTarget t;
    uint32_t r = resolve(c, ARG32(0), WASI_RIGHT_PATH_CREATE_DIRECTORY, ARG32(1), ARG32(2),
                         WASI_LEXICAL, &t);
    return r ? r : done(&t, mkdirat(t.dir, t.leaf, 0777));
}

/* path_remove_directory(fd, path, path_len) */
WASI_IMPL(wasi_path_remove_directory)
{
    WasiTarget t;
    uint32_t r = resolve(c, ARG32(0), WASI_RIGHT_PATH_REMOVE_DIRECTORY, ARG32(1), ARG32(2),
                         WASI_LEXICAL, &t);
    if (r) return r;
    r = done(&t, unlinkat(t.dir, t.leaf, AT_REMOVEDIR));
    return r == WASI_EEXIST ? WASI_ENOTEMPTY : r;   /* POSIX allows either; WASI says one */
}

/* path_unlink_file(fd, path, path_len): a directory is EISDIR (Linux's answer). */
WASI_IMPL(wasi_path_unlink_file)
{
    WasiTarget t;
    uint32_t r = resolve(c, ARG32(0), WASI_RIGHT_PATH_UNLINK_FILE, ARG32(1), ARG32(2),
                         WASI_LEXICAL, &t);
    return r ? r : done(&t, unlinkat(t.dir, t.leaf, 0));
}

/* path_rename(fd, old_path, old_len, new_fd, new_path, new_len) */
WASI_IMPL(wasi_path_rename)
{
    WasiTarget from, to;
    uint32_t r = resolve(c, ARG32(0), WASI_RIGHT_PATH_RENAME_SOURCE, ARG32(1), ARG32(2),
                         WASI_LEXICAL, &from);
    if (r) return r;
    if ((r = resolve(c, ARG32(3), WASI_RIGHT_PATH_RENAME_TARGET, ARG32(4), ARG32(5),
                     WASI_LEXICAL, &to))) {
        close(from.dir);
        return r;
    }
    int ret = renameat(from.dir, from.leaf, to.dir, to.leaf), e = errno;
    close(from.dir);
    close(to.dir);
    return ret == 0 ? WASI_ESUCCESS : wasi_errno(e);
}

/* ---- links -------------------------------------------------------------------------------- */

/* path_symlink(old_path, old_len, fd, new_path, new_len). The link's contents are data,
 * stored as given, even "/etc": following it later is what the sandbox refuses. */
WASI_IMPL(wasi_path_symlink)
{
    char *target;
    WasiTarget t;
    uint32_t r = wasi_guest_path(c, ARG32(0), ARG32(1), &target);
    if (r) return r;
    r = resolve(c, ARG32(2), WASI_RIGHT_PATH_SYMLINK, ARG32(3), ARG32(4), WASI_LEXICAL, &t);
    if (r == WASI_ESUCCESS) r = done(&t, symlinkat(target, t.dir, t.leaf));
    free(target);
    return r;
}

/* path_readlink(fd, path, path_len, buf, buf_len, bufused): the contents, cut to fit
 * (as POSIX readlink does), no NUL. */
WASI_IMPL(wasi_path_readlink)
{
    uint32_t buf = ARG32(3), len = ARG32(4);
    if (!guest_range(c, buf, len) || !guest_range(c, ARG32(5), 4)) return WASI_EFAULT;
    WasiTarget t;
    uint32_t r = resolve(c, ARG32(0), WASI_RIGHT_PATH_READLINK, ARG32(1), ARG32(2),
                         WASI_NOFOLLOW, &t);
    if (r) return r;
    char link[PATH_MAX];
    ssize_t n = readlinkat(t.dir, t.leaf, link, sizeof link);
    if (n < 0) return done(&t, -1);
    close(t.dir);
    uint32_t k = (uint64_t)n < len ? (uint32_t)n : len;
    memcpy(guest_ptr(c, buf), link, k);
    put_u32(guest_ptr(c, ARG32(5)), k);
    return WASI_ESUCCESS;
}

/* path_link(old_fd, old_flags, old_path, old_len, new_fd, new_path, new_len) */
WASI_IMPL(wasi_path_link)
{
    WasiTarget from, to;
    int mode = (ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW) ? WASI_FOLLOW : WASI_NOFOLLOW;
    uint32_t r = resolve(c, ARG32(0), WASI_RIGHT_PATH_LINK_SOURCE, ARG32(2), ARG32(3), mode,
                         &from);
    if (r) return r;
    if ((r = resolve(c, ARG32(4), WASI_RIGHT_PATH_LINK_TARGET, ARG32(5), ARG32(6),
                     WASI_LEXICAL, &to))) {
        close(from.dir);
        return r;
    }
    int ret = linkat(from.dir, from.leaf, to.dir, to.leaf, 0), e = errno;
    close(from.dir);
    close(to.dir);
    return ret == 0 ? WASI_ESUCCESS : wasi_errno(e);
}

/* ---- stat and times by name ---------------------------------------------------------------- */

/* path_filestat_get(fd, flags, path, path_len, buf) */
WASI_IMPL(wasi_path_filestat_get)
{
    if (!guest_range(c, ARG32(4), 64)) return WASI_EFAULT;
    WasiTarget t;
    int mode = (ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW) ? WASI_FOLLOW : WASI_NOFOLLOW;
    uint32_t r = resolve(c, ARG32(0), WASI_RIGHT_PATH_FILESTAT_GET, ARG32(2), ARG32(3), mode,
                         &t);
    if (r) return r;
    struct stat st;
    if (fstatat(t.dir, t.leaf, &st, AT_SYMLINK_NOFOLLOW) != 0) return done(&t, -1);
    close(t.dir);
    if (t.slash && !S_ISDIR(st.st_mode)) return WASI_ENOTDIR;
    wasi_put_filestat(guest_ptr(c, ARG32(4)), &st);
    return WASI_ESUCCESS;
}

/* path_filestat_set_times(fd, flags, path, path_len, atim, mtim, fst_flags) */
WASI_IMPL(wasi_path_filestat_set_times)
{
    struct timespec ts[2];
    uint32_t r = wasi_times(ARG64(4), ARG64(5), ARG32(6), ts);
    if (r) return r;
    WasiTarget t;
    int mode = (ARG32(1) & WASI_LOOKUP_SYMLINK_FOLLOW) ? WASI_FOLLOW : WASI_NOFOLLOW;
    if ((r = resolve(c, ARG32(0), WASI_RIGHT_PATH_FILESTAT_SET_TIMES, ARG32(2), ARG32(3), mode,
                     &t)))
        return r;
    return done(&t, utimensat(t.dir, t.leaf, ts, AT_SYMLINK_NOFOLLOW));
}
