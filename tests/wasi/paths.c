/* paths.c — the path_* functions inside one preopened scratch directory: path_open with
 * each oflag and fdflag, create_directory, remove_directory, unlink_file, rename,
 * symlink, readlink, link, filestat_get (following symlinks or not), filestat_set_times;
 * the errno of each usual failure; and the same through wasi-libc's POSIX functions.
 * Where Wasmtime gives a platform's errno, Linux's is expected. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

// test: open
// lvm: --dir {scratch}::/scratch
// expect: open: ok

// test: oflags
// lvm: --dir {scratch}::/scratch
// expect: oflags: ok

// test: fdflags
// lvm: --dir {scratch}::/scratch
// expect: fdflags: ok

// test: mkdir_rmdir
// lvm: --dir {scratch}::/scratch
// expect: mkdir_rmdir: ok

// test: unlink
// lvm: --dir {scratch}::/scratch
// expect: unlink: ok

// test: rename
// lvm: --dir {scratch}::/scratch
// expect: rename: ok

// test: symlink
// lvm: --dir {scratch}::/scratch
// expect: symlink: ok

// test: readlink
// lvm: --dir {scratch}::/scratch
// expect: readlink: ok

// test: link
// lvm: --dir {scratch}::/scratch
// expect: link: ok

// test: filestat
// lvm: --dir {scratch}::/scratch
// expect: filestat: ok

// test: set_times
// lvm: --dir {scratch}::/scratch
// expect: set_times: ok

// test: posix
// lvm: --dir {scratch}::/scratch
// expect: posix: ok

#define R(x) __WASI_RIGHTS_##x
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define RW (R(FD_READ) | R(FD_WRITE) | R(FD_SEEK) | R(FD_TELL) | R(FD_FILESTAT_GET))

static int D;   /* the scratch preopen */

static int open_ok(const char *path, int lookup, int oflags, __wasi_rights_t rights, int fdflags)
{
    int fd;
    int e = open_at(D, path, lookup, oflags, rights, fdflags, &fd);
    if (e) FAIL("path_open(%s, oflags 0x%x): errno %d (%s)", path, oflags, e, ename(e));
    return fd;
}

static int open_err(const char *path, int lookup, int oflags, __wasi_rights_t rights)
{
    int fd;
    int e = open_at(D, path, lookup, oflags, rights, 0, &fd);
    if (e == 0) {
        CHECK_OK(__wasi_fd_close(fd));
        return 0;
    }
    return e;
}

static __wasi_filestat_t stat_of(const char *path, int lookup)
{
    __wasi_filestat_t st;
    int e = __wasi_path_filestat_get(D, lookup, path, &st);
    if (e) FAIL("path_filestat_get(%s): errno %d (%s)", path, e, ename(e));
    return st;
}

static int exists(const char *path)
{
    __wasi_filestat_t st;
    int e = __wasi_path_filestat_get(D, 0, path, &st);
    CHECK(e == 0 || e == __WASI_ERRNO_NOENT, "filestat %s: errno %d (%s)", path, e, ename(e));
    return e == 0;
}

/* The contents of a file, as a string. */
static const char *contents(const char *path)
{
    static char buf[256];
    int fd = open_ok(path, 0, 0, R(FD_READ), 0);
    size_t n = read_some(fd, buf, sizeof buf - 1);
    buf[n] = '\0';
    CHECK_OK(__wasi_fd_close(fd));
    return buf;
}

static void sec_open(int argc, char **argv)
{
    CHECK_ERR(open_err("missing", 0, 0, R(FD_READ)), __WASI_ERRNO_NOENT);
    CHECK_ERR(open_err("missing/file", 0, 0, R(FD_READ)), __WASI_ERRNO_NOENT);
    CHECK_ERR(open_err("", 0, 0, R(FD_READ)), __WASI_ERRNO_NOENT);
    put_file(D, "file", "content");
    /* a file in the middle of a path is not a directory */
    CHECK_ERR(open_err("file/x", 0, 0, R(FD_READ)), __WASI_ERRNO_NOTDIR);
    CHECK_ERR2(open_err("file/", 0, 0, R(FD_READ)), __WASI_ERRNO_NOTDIR, __WASI_ERRNO_NOENT);
    /* nested paths with . and .. that stay inside */
    CHECK_OK(__wasi_path_create_directory(D, "a"));
    CHECK_OK(__wasi_path_create_directory(D, "a/b"));
    put_file(D, "a/b/c", "deep");
    CHECK(strcmp(contents("a/b/c"), "deep") == 0, "a/b/c");
    CHECK(strcmp(contents("./a/./b/../b//c"), "deep") == 0, "./a/./b/../b//c");
    CHECK(strcmp(contents("a/b/../../file"), "content") == 0, "a/b/../../file");
    /* "." is the directory itself */
    int fd = open_ok(".", 0, 0, 0, 0);
    __wasi_fdstat_t st;
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_filetype == __WASI_FILETYPE_DIRECTORY, ". has filetype %d", st.fs_filetype);
    /* a directory fd opened below works as a base */
    int sub = open_ok("a", 0, __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0);
    int c;
    CHECK_OK(open_at(sub, "b/c", 0, 0, R(FD_READ), 0, &c));
    CHECK_OK(__wasi_fd_close(c));
    CHECK_OK(__wasi_fd_close(sub));
    CHECK_OK(__wasi_fd_close(fd));
    /* a NUL inside the path is not allowed */
    __wasi_fd_t out;
    CHECK_ERR(raw_path_open(D, 0, P("file\0x"), 6, 0, R(FD_READ), 0, 0, P(&out)),
              __WASI_ERRNO_INVAL);
    CHECK_ERR(raw_path_open(D, 0, P("file\0"), 5, 0, R(FD_READ), 0, 0, P(&out)),
              __WASI_ERRNO_INVAL);
    /* a name longer than NAME_MAX (255): NAMETOOLONG */
    char longname[301];
    memset(longname, 'n', 300);
    longname[300] = '\0';
    CHECK_ERR(open_err(longname, 0, __WASI_OFLAGS_CREAT, RW), __WASI_ERRNO_NAMETOOLONG);
    /* a path longer than the host's PATH_MAX (4096) that names "file": opened (a
     * component walk), or NAMETOOLONG; never a host buffer overrun */
    static char longpath[10001];
    for (int i = 0; i < 9996; i += 2) memcpy(longpath + i, "./", 2);
    memcpy(longpath + 9996, "file", 5);
    int e = open_at(D, longpath, 0, 0, R(FD_READ), 0, &fd);
    if (e == 0) {
        char buf[8] = "";
        CHECK(read_some(fd, buf, 7) == 7 && memcmp(buf, "content", 7) == 0, "long path");
        CHECK_OK(__wasi_fd_close(fd));
    } else {
        CHECK_ERR(e, __WASI_ERRNO_NAMETOOLONG);
    }
    /* a file as the base: NOTDIR */
    int f = open_ok("file", 0, 0, R(FD_READ), 0);
    CHECK_ERR(__wasi_path_open(f, 0, "x", 0, 0, 0, 0, &out), __WASI_ERRNO_NOTDIR);
    CHECK_OK(__wasi_fd_close(f));
    printf("open: ok\n");
}

static void sec_oflags(int argc, char **argv)
{
    /* CREAT makes a file, once; EXCL refuses an existing one */
    int fd = open_ok("new", 0, __WASI_OFLAGS_CREAT, RW, 0);
    CHECK(write_all(fd, "12345", 5) == 0, "write");
    CHECK_OK(__wasi_fd_close(fd));
    CHECK(stat_of("new", 0).size == 5, "size of new");
    fd = open_ok("new", 0, __WASI_OFLAGS_CREAT, RW, 0);   /* exists: opened, not truncated */
    CHECK_OK(__wasi_fd_close(fd));
    CHECK(stat_of("new", 0).size == 5, "CREAT on an existing file truncated it");
    CHECK_ERR(open_err("new", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RW),
              __WASI_ERRNO_EXIST);
    fd = open_ok("new2", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RW, 0);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK(exists("new2") && stat_of("new2", 0).size == 0, "CREAT|EXCL made new2");
    /* EXCL on a directory too */
    CHECK_OK(__wasi_path_create_directory(D, "dir"));
    CHECK_ERR(open_err("dir", 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RW),
              __WASI_ERRNO_EXIST);
    /* CREAT in a missing directory */
    CHECK_ERR(open_err("nodir/x", 0, __WASI_OFLAGS_CREAT, RW), __WASI_ERRNO_NOENT);

    /* TRUNC empties an existing file */
    fd = open_ok("new", 0, __WASI_OFLAGS_TRUNC, RW, 0);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK(stat_of("new", 0).size == 0, "TRUNC left %llu bytes",
          (unsigned long long)stat_of("new", 0).size);
    CHECK_ERR(open_err("missing", 0, __WASI_OFLAGS_TRUNC, RW), __WASI_ERRNO_NOENT);

    /* DIRECTORY: only directories */
    CHECK_ERR(open_err("new", 0, __WASI_OFLAGS_DIRECTORY, 0), __WASI_ERRNO_NOTDIR);
    fd = open_ok("dir", 0, __WASI_OFLAGS_DIRECTORY, 0, 0);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_ERR(open_err("missing", 0, __WASI_OFLAGS_DIRECTORY, 0), __WASI_ERRNO_NOENT);
    /* a directory is not opened for writing */
    __wasi_fd_t out;
    CHECK_ERR(__wasi_path_open(D, 0, "dir", __WASI_OFLAGS_DIRECTORY, R(FD_READ) | R(FD_WRITE),
                               0, 0, &out), __WASI_ERRNO_ISDIR);
    CHECK_ERR(__wasi_path_open(D, 0, "dir", 0, R(FD_WRITE), 0, 0, &out), __WASI_ERRNO_ISDIR);
    /* nor truncated */
    CHECK_ERR2(open_err("dir", 0, __WASI_OFLAGS_TRUNC, RW), __WASI_ERRNO_ISDIR,
               __WASI_ERRNO_INVAL);
    printf("oflags: ok\n");
}

static void sec_fdflags(int argc, char **argv)
{
    put_file(D, "log", "one\n");
    int fd = open_ok("log", 0, 0, RW, __WASI_FDFLAGS_APPEND);
    __wasi_fdstat_t st;
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_flags & __WASI_FDFLAGS_APPEND, "APPEND not reported: 0x%x", st.fs_flags);
    __wasi_filesize_t pos;
    CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    CHECK(write_all(fd, "two\n", 4) == 0, "write");
    CHECK_OK(__wasi_fd_close(fd));
    CHECK(strcmp(contents("log"), "one\ntwo\n") == 0, "an APPEND write: '%s'", contents("log"));

    /* NONBLOCK is accepted on a file and reported */
    fd = open_ok("log", 0, 0, RW, __WASI_FDFLAGS_NONBLOCK);
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_flags & __WASI_FDFLAGS_NONBLOCK, "NONBLOCK not reported: 0x%x", st.fs_flags);
    CHECK_OK(__wasi_fd_close(fd));

    /* DSYNC / SYNC / RSYNC: honoured (and reported) or NOTSUP, like Wasmtime */
    static const int syncs[] = {__WASI_FDFLAGS_DSYNC, __WASI_FDFLAGS_SYNC, __WASI_FDFLAGS_RSYNC};
    for (int i = 0; i < 3; i++) {
        int e = open_at(D, "log", 0, 0, RW, syncs[i], &fd);
        if (e == 0) {
            CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
            CHECK(st.fs_flags & syncs[i], "sync flag 0x%x accepted but not reported",
                  syncs[i]);
            CHECK_OK(__wasi_fd_close(fd));
        } else {
            CHECK_ERR(e, __WASI_ERRNO_NOTSUP);
        }
    }
    printf("fdflags: ok\n");
}

static void sec_mkdir_rmdir(int argc, char **argv)
{
    CHECK_OK(__wasi_path_create_directory(D, "d"));
    CHECK(stat_of("d", 0).filetype == __WASI_FILETYPE_DIRECTORY, "d is not a directory");
    CHECK_ERR(__wasi_path_create_directory(D, "d"), __WASI_ERRNO_EXIST);
    CHECK_OK(__wasi_path_create_directory(D, "d/e"));
    CHECK_ERR(__wasi_path_create_directory(D, "missing/e"), __WASI_ERRNO_NOENT);
    put_file(D, "f", "x");
    CHECK_ERR(__wasi_path_create_directory(D, "f"), __WASI_ERRNO_EXIST);
    CHECK_ERR(__wasi_path_create_directory(D, "f/e"), __WASI_ERRNO_NOTDIR);

    CHECK_ERR(__wasi_path_remove_directory(D, "d"), __WASI_ERRNO_NOTEMPTY);
    CHECK_ERR(__wasi_path_remove_directory(D, "f"), __WASI_ERRNO_NOTDIR);
    CHECK_ERR(__wasi_path_remove_directory(D, "missing"), __WASI_ERRNO_NOENT);
    CHECK_OK(__wasi_path_remove_directory(D, "d/e"));
    CHECK_OK(__wasi_path_remove_directory(D, "d"));
    CHECK(!exists("d"), "d still exists");
    /* a symlink to a directory is not removed as one */
    CHECK_OK(__wasi_path_create_directory(D, "target"));
    CHECK_OK(__wasi_path_symlink("target", D, "link"));
    CHECK_ERR(__wasi_path_remove_directory(D, "link"), __WASI_ERRNO_NOTDIR);
    CHECK(exists("target"), "remove_directory of a link removed its target");
    printf("mkdir_rmdir: ok\n");
}

static void sec_unlink(int argc, char **argv)
{
    put_file(D, "f", "x");
    CHECK_OK(__wasi_path_unlink_file(D, "f"));
    CHECK(!exists("f"), "f still exists");
    CHECK_ERR(__wasi_path_unlink_file(D, "f"), __WASI_ERRNO_NOENT);
    /* a directory: EISDIR on Linux (Wasmtime gives EPERM on macOS, as POSIX allows) */
    CHECK_OK(__wasi_path_create_directory(D, "dir"));
    CHECK_ERR2(__wasi_path_unlink_file(D, "dir"), __WASI_ERRNO_ISDIR, __WASI_ERRNO_PERM);
    CHECK_ERR2(__wasi_path_unlink_file(D, "dir/"), __WASI_ERRNO_ISDIR, __WASI_ERRNO_PERM);
    CHECK(exists("dir"), "unlink_file removed a directory");
    /* a trailing slash on a file */
    put_file(D, "g", "x");
    CHECK_ERR(__wasi_path_unlink_file(D, "g/"), __WASI_ERRNO_NOTDIR);
    CHECK(exists("g"), "g/ was unlinked");
    /* a symlink: the link goes, its target stays */
    CHECK_OK(__wasi_path_symlink("g", D, "lnk"));
    CHECK_OK(__wasi_path_unlink_file(D, "lnk"));
    CHECK(exists("g"), "unlinking a symlink removed its target");
    CHECK_ERR(open_err("lnk", 0, 0, R(FD_READ)), __WASI_ERRNO_NOENT);
    /* an open file can be unlinked and still read */
    put_file(D, "open", "still here");
    int fd = open_ok("open", 0, 0, R(FD_READ), 0);
    CHECK_OK(__wasi_path_unlink_file(D, "open"));
    char buf[16] = "";
    CHECK(read_some(fd, buf, sizeof buf - 1) == 10 && strcmp(buf, "still here") == 0,
          "reading an unlinked open file");
    CHECK_OK(__wasi_fd_close(fd));
    printf("unlink: ok\n");
}

static void sec_rename(int argc, char **argv)
{
    /* a file to a new name, and over an existing file */
    put_file(D, "src", "S");
    CHECK_OK(__wasi_path_rename(D, "src", D, "dst"));
    CHECK(!exists("src") && strcmp(contents("dst"), "S") == 0, "rename src -> dst");
    put_file(D, "other", "O");
    CHECK_OK(__wasi_path_rename(D, "other", D, "dst"));
    CHECK(!exists("other") && strcmp(contents("dst"), "O") == 0, "rename over a file");
    CHECK_ERR(__wasi_path_rename(D, "missing", D, "x"), __WASI_ERRNO_NOENT);

    /* directories: to a new name, over an empty one; not over a non-empty one */
    CHECK_OK(__wasi_path_create_directory(D, "d1"));
    put_file(D, "d1/inner", "I");
    CHECK_OK(__wasi_path_rename(D, "d1", D, "d2"));
    CHECK(!exists("d1") && strcmp(contents("d2/inner"), "I") == 0, "rename d1 -> d2");
    CHECK_OK(__wasi_path_create_directory(D, "empty"));
    CHECK_OK(__wasi_path_rename(D, "d2", D, "empty"));
    CHECK(!exists("d2") && strcmp(contents("empty/inner"), "I") == 0, "rename over empty");
    CHECK_OK(__wasi_path_create_directory(D, "d3"));
    CHECK_ERR(__wasi_path_rename(D, "d3", D, "empty"), __WASI_ERRNO_NOTEMPTY);
    /* kinds that do not match */
    CHECK_ERR(__wasi_path_rename(D, "d3", D, "dst"), __WASI_ERRNO_NOTDIR);
    CHECK_ERR(__wasi_path_rename(D, "dst", D, "d3"), __WASI_ERRNO_ISDIR);
    /* a directory into itself */
    CHECK_ERR(__wasi_path_rename(D, "d3", D, "d3/sub"), __WASI_ERRNO_INVAL);

    /* between two directory fds */
    int sub = open_ok("empty", 0, __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0);
    CHECK_OK(__wasi_path_rename(D, "dst", sub, "moved"));
    CHECK(!exists("dst") && strcmp(contents("empty/moved"), "O") == 0, "rename across fds");
    CHECK_OK(__wasi_path_rename(sub, "moved", D, "back"));
    CHECK(strcmp(contents("back"), "O") == 0, "rename back");
    CHECK_OK(__wasi_fd_close(sub));
    /* an open fd follows the file */
    int fd = open_ok("back", 0, 0, R(FD_READ), 0);
    CHECK_OK(__wasi_path_rename(D, "back", D, "again"));
    char c = 0;
    CHECK(read_some(fd, &c, 1) == 1 && c == 'O', "read after rename");
    CHECK_OK(__wasi_fd_close(fd));
    printf("rename: ok\n");
}

static void sec_symlink(int argc, char **argv)
{
    put_file(D, "target", "T");
    CHECK_OK(__wasi_path_symlink("target", D, "link"));
    /* followed on request, refused without (ELOOP, like O_NOFOLLOW) */
    int fd;
    CHECK_ERR(open_at(D, "link", 0, 0, R(FD_READ), 0, &fd), __WASI_ERRNO_LOOP);
    CHECK_OK(open_at(D, "link", FOLLOW, 0, R(FD_READ), 0, &fd));
    char c = 0;
    CHECK(read_some(fd, &c, 1) == 1 && c == 'T', "read through the link");
    CHECK_OK(__wasi_fd_close(fd));
    /* symlinks in the middle of a path are always followed */
    CHECK_OK(__wasi_path_create_directory(D, "dir"));
    put_file(D, "dir/inner", "I");
    CHECK_OK(__wasi_path_symlink("dir", D, "dirlink"));
    CHECK_OK(open_at(D, "dirlink/inner", 0, 0, R(FD_READ), 0, &fd));
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_ERR2(open_at(D, "dirlink", 0, __WASI_OFLAGS_DIRECTORY, 0, 0, &fd),
               __WASI_ERRNO_LOOP, __WASI_ERRNO_NOTDIR);
    CHECK_OK(open_at(D, "dirlink", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0, 0, &fd));
    CHECK_OK(__wasi_fd_close(fd));
    /* a relative target is relative to the link's directory */
    CHECK_OK(__wasi_path_symlink("../target", D, "dir/up"));
    CHECK_OK(open_at(D, "dir/up", FOLLOW, 0, R(FD_READ), 0, &fd));
    CHECK_OK(__wasi_fd_close(fd));
    /* dangling links can be made; following them is NOENT */
    CHECK_OK(__wasi_path_symlink("nowhere", D, "dangling"));
    CHECK_ERR(open_at(D, "dangling", FOLLOW, 0, R(FD_READ), 0, &fd), __WASI_ERRNO_NOENT);
    /* CREAT through a dangling link: Wasmtime refuses to create outside its walk, the
     * kernel would create "nowhere"; either way nothing escapes, so both are fine here */
    /* a loop */
    CHECK_OK(__wasi_path_symlink("loop", D, "loop"));
    CHECK_ERR(open_at(D, "loop", FOLLOW, 0, R(FD_READ), 0, &fd), __WASI_ERRNO_LOOP);
    CHECK_OK(__wasi_path_symlink("loop2", D, "loop1"));
    CHECK_OK(__wasi_path_symlink("loop1", D, "loop2"));
    CHECK_ERR(open_at(D, "loop1/x", 0, 0, R(FD_READ), 0, &fd), __WASI_ERRNO_LOOP);
    /* the name is taken */
    CHECK_ERR(__wasi_path_symlink("x", D, "target"), __WASI_ERRNO_EXIST);
    CHECK_ERR(__wasi_path_symlink("x", D, "link"), __WASI_ERRNO_EXIST);
    CHECK_ERR(__wasi_path_symlink("x", D, "dir"), __WASI_ERRNO_EXIST);
    CHECK_ERR(__wasi_path_symlink("x", D, "missing/l"), __WASI_ERRNO_NOENT);
    printf("symlink: ok\n");
}

static void sec_readlink(int argc, char **argv)
{
    put_file(D, "target", "T");
    CHECK_OK(__wasi_path_symlink("target", D, "link"));
    uint8_t buf[16];
    memset(buf, '#', sizeof buf);
    __wasi_size_t used = 0;
    CHECK_OK(__wasi_path_readlink(D, "link", buf, 10, &used));
    CHECK(used == 6 && memcmp(buf, "target", 6) == 0, "readlink: %u bytes", (unsigned)used);
    for (int i = 6; i < 16; i++) CHECK(buf[i] == '#', "readlink wrote byte %d", i);
    /* a short buffer: truncated (Wasmtime) or an error; never an overrun */
    memset(buf, '#', sizeof buf);
    int e = __wasi_path_readlink(D, "link", buf, 4, &used);
    if (e == 0)
        CHECK(used == 4 && memcmp(buf, "targ", 4) == 0, "truncated readlink: %u bytes",
              (unsigned)used);
    else
        CHECK_ERR2(e, __WASI_ERRNO_RANGE, __WASI_ERRNO_NAMETOOLONG);
    CHECK(buf[4] == '#', "readlink overran a 4-byte buffer");
    /* a long target (4000 bytes; Linux allows up to 4095) comes back whole */
    static char target[4001], back[4100];
    for (int i = 0; i < 4000; i++) target[i] = (char)('a' + i % 26);
    CHECK_OK(__wasi_path_symlink(target, D, "longlink"));
    CHECK_OK(__wasi_path_readlink(D, "longlink", (uint8_t *)back, sizeof back, &used));
    CHECK(used == 4000 && memcmp(back, target, 4000) == 0, "readlink of a 4000-byte target: "
          "%u bytes", (unsigned)used);
    /* not a link; missing */
    CHECK_ERR(__wasi_path_readlink(D, "target", buf, sizeof buf, &used), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_path_readlink(D, "missing", buf, sizeof buf, &used), __WASI_ERRNO_NOENT);
    /* in a subdirectory, a link to a longer relative path */
    CHECK_OK(__wasi_path_create_directory(D, "sub"));
    CHECK_OK(__wasi_path_symlink("../target", D, "sub/l"));
    CHECK_OK(__wasi_path_readlink(D, "sub/l", buf, sizeof buf, &used));
    CHECK(used == 9 && memcmp(buf, "../target", 9) == 0, "readlink sub/l");
    /* libc */
    char lb[32];
    ssize_t n = readlink("/scratch/link", lb, sizeof lb);
    CHECK(n == 6 && memcmp(lb, "target", 6) == 0, "libc readlink: %zd", n);
    printf("readlink: ok\n");
}

static void sec_link(int argc, char **argv)
{
    put_file(D, "file", "F");
    CHECK_OK(__wasi_path_link(D, 0, "file", D, "hard"));
    __wasi_filestat_t a = stat_of("file", 0), b = stat_of("hard", 0);
    CHECK(a.ino == b.ino && a.dev == b.dev, "the link is another file");
    CHECK(a.nlink == 2 && b.nlink == 2, "nlink %llu %llu", (unsigned long long)a.nlink,
          (unsigned long long)b.nlink);
    /* a write through one is seen through the other */
    int fd = open_ok("hard", 0, __WASI_OFLAGS_TRUNC, RW, 0);
    CHECK(write_all(fd, "new", 3) == 0, "write");
    CHECK_OK(__wasi_fd_close(fd));
    CHECK(strcmp(contents("file"), "new") == 0, "contents via the other name");
    /* into a subdirectory, via another fd */
    CHECK_OK(__wasi_path_create_directory(D, "sub"));
    int sub = open_ok("sub", 0, __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0);
    CHECK_OK(__wasi_path_link(D, 0, "file", sub, "l2"));
    CHECK(stat_of("sub/l2", 0).nlink == 3, "nlink after the third name");
    CHECK_OK(__wasi_fd_close(sub));
    /* the name is taken; the source is missing; a directory cannot be linked */
    CHECK_ERR(__wasi_path_link(D, 0, "file", D, "hard"), __WASI_ERRNO_EXIST);
    CHECK_ERR(__wasi_path_link(D, 0, "file", D, "file"), __WASI_ERRNO_EXIST);
    CHECK_ERR(__wasi_path_link(D, 0, "file", D, "sub"), __WASI_ERRNO_EXIST);
    CHECK_ERR(__wasi_path_link(D, 0, "missing", D, "x"), __WASI_ERRNO_NOENT);
    CHECK_ERR2(__wasi_path_link(D, 0, "sub", D, "x"), __WASI_ERRNO_PERM, __WASI_ERRNO_ACCES);
    /* without SYMLINK_FOLLOW, a link to a symlink is a link to the symlink itself */
    CHECK_OK(__wasi_path_symlink("nowhere", D, "dangling"));
    CHECK_OK(__wasi_path_link(D, 0, "dangling", D, "dangling2"));
    CHECK(stat_of("dangling2", 0).filetype == __WASI_FILETYPE_SYMBOLIC_LINK, "dangling2");
    /* unlinking one name leaves the others */
    CHECK_OK(__wasi_path_unlink_file(D, "file"));
    CHECK(stat_of("hard", 0).nlink == 2 && strcmp(contents("hard"), "new") == 0,
          "after unlinking one name");
    printf("link: ok\n");
}

static void sec_filestat(int argc, char **argv)
{
    put_file(D, "file", "0123456789");
    __wasi_filestat_t st = stat_of("file", 0);
    CHECK(st.filetype == __WASI_FILETYPE_REGULAR_FILE && st.size == 10 && st.nlink == 1,
          "file: type %d size %llu nlink %llu", st.filetype, (unsigned long long)st.size,
          (unsigned long long)st.nlink);
    /* the same as through an fd */
    int fd = open_ok("file", 0, 0, R(FD_READ) | R(FD_FILESTAT_GET), 0);
    __wasi_filestat_t fst;
    CHECK_OK(__wasi_fd_filestat_get(fd, &fst));
    CHECK(fst.ino == st.ino && fst.dev == st.dev && fst.size == st.size && fst.mtim == st.mtim,
          "path_filestat_get and fd_filestat_get differ");
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_OK(__wasi_path_create_directory(D, "dir"));
    CHECK(stat_of("dir", 0).filetype == __WASI_FILETYPE_DIRECTORY, "dir type");
    CHECK(stat_of(".", 0).filetype == __WASI_FILETYPE_DIRECTORY, ". type");

    /* a symlink: itself without FOLLOW, its target with */
    CHECK_OK(__wasi_path_symlink("file", D, "link"));
    __wasi_filestat_t l = stat_of("link", 0), t = stat_of("link", FOLLOW);
    CHECK(l.filetype == __WASI_FILETYPE_SYMBOLIC_LINK && l.size == 4,
          "link without FOLLOW: type %d size %llu", l.filetype, (unsigned long long)l.size);
    CHECK(t.filetype == __WASI_FILETYPE_REGULAR_FILE && t.ino == st.ino && t.size == 10,
          "link with FOLLOW: type %d", t.filetype);
    CHECK(l.ino != st.ino, "the link has its target's inode");
    CHECK_OK(__wasi_path_symlink("dir", D, "dirlink"));
    CHECK(stat_of("dirlink", FOLLOW).filetype == __WASI_FILETYPE_DIRECTORY, "dirlink followed");
    CHECK(stat_of("dirlink", 0).filetype == __WASI_FILETYPE_SYMBOLIC_LINK, "dirlink");
    /* dangling: fine without FOLLOW, NOENT with */
    CHECK_OK(__wasi_path_symlink("nowhere", D, "dangling"));
    CHECK(stat_of("dangling", 0).filetype == __WASI_FILETYPE_SYMBOLIC_LINK, "dangling");
    CHECK_ERR(__wasi_path_filestat_get(D, FOLLOW, "dangling", &st), __WASI_ERRNO_NOENT);
    CHECK_ERR(__wasi_path_filestat_get(D, 0, "missing", &st), __WASI_ERRNO_NOENT);
    CHECK_ERR(__wasi_path_filestat_get(D, 0, "file/x", &st), __WASI_ERRNO_NOTDIR);
    printf("filestat: ok\n");
}

static void sec_set_times(int argc, char **argv)
{
    put_file(D, "file", "x");
    const uint64_t atim = 1400000000111111111ull, mtim = 1410000000222222222ull;
    CHECK_OK(__wasi_path_filestat_set_times(D, 0, "file", atim, mtim,
                                            __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    __wasi_filestat_t st = stat_of("file", 0);
    CHECK(st.atim == atim && st.mtim == mtim, "times %llu %llu", (unsigned long long)st.atim,
          (unsigned long long)st.mtim);
    CHECK_OK(__wasi_path_filestat_set_times(D, 0, "file", 0, mtim + 1, __WASI_FSTFLAGS_MTIM));
    st = stat_of("file", 0);
    CHECK(st.atim == atim && st.mtim == mtim + 1, "only mtim: %llu %llu",
          (unsigned long long)st.atim, (unsigned long long)st.mtim);
    uint64_t now = now_ns(__WASI_CLOCKID_REALTIME);
    CHECK_OK(__wasi_path_filestat_set_times(D, 0, "file", 0, 0, __WASI_FSTFLAGS_MTIM_NOW |
                                                                 __WASI_FSTFLAGS_ATIM_NOW));
    st = stat_of("file", 0);
    CHECK(st.mtim + 2000000000ull >= now && st.atim + 2000000000ull >= now, "_NOW times");
    CHECK_ERR(__wasi_path_filestat_set_times(D, 0, "file", 1, 1, __WASI_FSTFLAGS_MTIM |
                                                                 __WASI_FSTFLAGS_MTIM_NOW),
              __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_path_filestat_set_times(D, 0, "file", 1, 1, __WASI_FSTFLAGS_ATIM |
                                                                 __WASI_FSTFLAGS_ATIM_NOW),
              __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_path_filestat_set_times(D, 0, "missing", 1, 1, __WASI_FSTFLAGS_MTIM),
              __WASI_ERRNO_NOENT);

    /* through a symlink: FOLLOW sets the target's times; without, the link's own */
    CHECK_OK(__wasi_path_symlink("file", D, "link"));
    CHECK_OK(__wasi_path_filestat_set_times(D, FOLLOW, "link", atim, mtim,
                                            __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    st = stat_of("file", 0);
    CHECK(st.mtim == mtim, "FOLLOW did not set the target's mtim");
    CHECK_OK(__wasi_path_filestat_set_times(D, 0, "link", 5000000000ull, 6000000000ull,
                                            __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    st = stat_of("file", 0);
    CHECK(st.mtim == mtim, "set_times without FOLLOW changed the target");
    __wasi_filestat_t l = stat_of("link", 0);
    CHECK(l.mtim == 6000000000ull, "the link's own mtim is %llu", (unsigned long long)l.mtim);

    /* a directory */
    CHECK_OK(__wasi_path_create_directory(D, "dir"));
    CHECK_OK(__wasi_path_filestat_set_times(D, 0, "dir", 0, mtim, __WASI_FSTFLAGS_MTIM));
    CHECK(stat_of("dir", 0).mtim == mtim, "directory mtim");
    printf("set_times: ok\n");
}

/* The same operations through wasi-libc's POSIX layer (paths resolved by preopen name). */
static void sec_posix(int argc, char **argv)
{
    FILE *f = fopen("/scratch/p.txt", "w");
    CHECK(f, "fopen for writing");
    fprintf(f, "line %d\n", 1);
    CHECK(fclose(f) == 0, "fclose");
    f = fopen("/scratch/p.txt", "a");
    CHECK(f && fputs("line 2\n", f) >= 0 && fclose(f) == 0, "append");
    f = fopen("/scratch/p.txt", "r");
    char l1[16] = "", l2[16] = "";
    CHECK(f && fgets(l1, sizeof l1, f) && fgets(l2, sizeof l2, f), "fgets");
    CHECK(strcmp(l1, "line 1\n") == 0 && strcmp(l2, "line 2\n") == 0, "contents");
    CHECK(fgets(l1, sizeof l1, f) == NULL && feof(f), "EOF");
    fclose(f);

    int fd = open("/scratch/p.txt", O_RDONLY);
    CHECK(fd >= 0, "open O_RDONLY");
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && st.st_size == 14 && S_ISREG(st.st_mode), "fstat");
    CHECK(write(fd, "x", 1) == -1 && (errno == EBADF || errno == ENOTCAPABLE),
          "write on O_RDONLY: errno %d", errno);
    close(fd);
    CHECK(open("/scratch/p.txt", O_CREAT | O_EXCL | O_WRONLY, 0644) == -1 && errno == EEXIST,
          "O_EXCL: errno %d", errno);
    CHECK(open("/scratch/nope", O_RDONLY) == -1 && errno == ENOENT, "ENOENT: errno %d", errno);
    CHECK(open("/scratch/p.txt", O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR,
          "O_DIRECTORY on a file: errno %d", errno);

    CHECK(mkdir("/scratch/d", 0755) == 0, "mkdir");
    CHECK(mkdir("/scratch/d", 0755) == -1 && errno == EEXIST, "mkdir twice: errno %d", errno);
    CHECK(stat("/scratch/d", &st) == 0 && S_ISDIR(st.st_mode), "stat dir");
    /* POSIX: a directory cannot be opened for writing */
    CHECK(open("/scratch/d", O_WRONLY) == -1 && errno == EISDIR, "open(dir, O_WRONLY): errno %d",
          errno);
    CHECK(open("/scratch/d", O_RDWR) == -1 && errno == EISDIR, "open(dir, O_RDWR): errno %d",
          errno);
    fd = open("/scratch/d", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0, "open(dir, O_RDONLY | O_DIRECTORY)");
    close(fd);
    CHECK(rename("/scratch/p.txt", "/scratch/d/q.txt") == 0, "rename");
    CHECK(stat("/scratch/p.txt", &st) == -1 && errno == ENOENT, "old name gone");
    CHECK(rmdir("/scratch/d") == -1 && errno == ENOTEMPTY, "rmdir non-empty: errno %d", errno);
    CHECK(symlink("q.txt", "/scratch/d/s") == 0, "symlink");
    CHECK(lstat("/scratch/d/s", &st) == 0 && S_ISLNK(st.st_mode), "lstat");
    CHECK(stat("/scratch/d/s", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 14,
          "stat through the link");
    CHECK(link("/scratch/d/q.txt", "/scratch/d/h") == 0, "link");
    CHECK(stat("/scratch/d/h", &st) == 0 && st.st_nlink == 2, "nlink");
    struct timespec ts[2] = {{100, 0}, {200, 0}};
    CHECK(utimensat(AT_FDCWD, "/scratch/d/q.txt", ts, 0) == 0, "utimensat");
    CHECK(stat("/scratch/d/q.txt", &st) == 0 && st.st_mtim.tv_sec == 200 &&
          st.st_atim.tv_sec == 100, "times after utimensat");
    CHECK(access("/scratch/d/q.txt", R_OK) == 0, "access");
    CHECK(unlink("/scratch/d/s") == 0 && unlink("/scratch/d/h") == 0 &&
          unlink("/scratch/d/q.txt") == 0, "unlink");
    CHECK(unlink("/scratch/d") == -1 && (errno == EISDIR || errno == EPERM),
          "unlink a directory: errno %d", errno);
    CHECK(rmdir("/scratch/d") == 0, "rmdir");
    /* relative paths resolve against the working directory, "/" by default */
    CHECK(chdir("/scratch") == 0, "chdir");
    f = fopen("rel.txt", "w");
    CHECK(f && fclose(f) == 0, "relative fopen");
    CHECK(stat("/scratch/rel.txt", &st) == 0, "the relative file");
    printf("posix: ok\n");
}

static const Section sections[] = {
    {"open", sec_open},
    {"oflags", sec_oflags},
    {"fdflags", sec_fdflags},
    {"mkdir_rmdir", sec_mkdir_rmdir},
    {"unlink", sec_unlink},
    {"rename", sec_rename},
    {"symlink", sec_symlink},
    {"readlink", sec_readlink},
    {"link", sec_link},
    {"filestat", sec_filestat},
    {"set_times", sec_set_times},
    {"posix", sec_posix},
};

int main(int argc, char **argv)
{
    D = preopen_fd("/scratch");
    return RUN_SECTIONS(sections, argc, argv);
}
