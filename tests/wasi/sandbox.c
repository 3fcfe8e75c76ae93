/* sandbox.c — a guest given --dir SCRATCH::/sandbox tries to get out: `..`, absolute
 * paths, symlinks it makes (to /etc, to ..), symlinks the driver put in the sandbox that
 * point outside (relative, absolute, to a directory, from a subdirectory), and every
 * path function aimed outside (open, create, rename, link, symlink, unlink, mkdir, rmdir,
 * filestat, set_times). Each attempt must fail with NOTCAPABLE (the WASI spec) or PERM
 * (Wasmtime since cap-std); ELOOP where a symlink is met without SYMLINK_FOLLOW. The
 * driver (hook `sandbox`) checks that nothing outside the sandbox changed.
 *
 * The world the hook makes, with ROOT a fresh temporary directory:
 *   ROOT/outside.txt, ROOT/outside_dir/inner.txt       (outside)
 *   ROOT/scratch = /sandbox:  inside.txt, sub/,
 *     escape -> ../outside.txt, abs_escape -> ROOT/outside.txt,
 *     dir_escape -> ../outside_dir, etc_escape -> /etc, sub/deep_escape -> ../../outside.txt
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

// test: dotdot
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: dotdot: ok

// test: absolute {root}
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: absolute: ok

// test: guest_symlink_etc
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: guest_symlink_etc: ok

// test: guest_symlink_dotdot
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: guest_symlink_dotdot: ok

// test: preplaced
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: preplaced: ok

// test: mutations
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: mutations: ok

// test: subdir_fd
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: subdir_fd: ok

// test: inside
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: inside: ok

// test: libc
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: libc: ok

// test: dotdot
// name: dot_preopen_dotdot
// lvm: --dir .
// setup: sandbox
// expect: dotdot: ok

#define R(x) __WASI_RIGHTS_##x
#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define RW (R(FD_READ) | R(FD_WRITE) | R(FD_SEEK) | R(FD_FILESTAT_GET))
#define CT (__WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC)

static int D;   /* the sandbox */

/* path_open; a success is a failure of the test (the fd is closed first). */
static int try_open(int dir, const char *path, int lookup, int oflags, __wasi_rights_t rights)
{
    int fd;
    int e = open_at(dir, path, lookup, oflags, rights, 0, &fd);
    if (e == 0) {
        char buf[64] = "";
        __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf - 1};
        __wasi_size_t n = 0;
        if (__wasi_fd_read(fd, &iov, 1, &n) != 0) n = 0;
        buf[n] = '\0';
        if (__wasi_fd_close(fd) != 0) {}
        FAIL("path_open(%s, lookup %d, oflags 0x%x) succeeded: read '%s'", path, lookup,
             oflags, buf);
    }
    return e;
}

static int try_stat(int dir, const char *path, int lookup)
{
    __wasi_filestat_t st;
    return __wasi_path_filestat_get(dir, lookup, path, &st);
}

#define ESCAPE_OPEN(path, lookup, oflags, rights) \
    CHECK_ESCAPE(try_open(D, path, lookup, oflags, rights))

/* Without SYMLINK_FOLLOW a final symlink is not followed: ELOOP, or an escape error;
 * or, asked for a directory, ENOTDIR (the link itself is not one; Wasmtime's own test
 * accepts both). */
#define NOFOLLOW_OPEN(path, oflags, rights) do {                                         \
        int e2_ = try_open(D, path, 0, oflags, rights);                                  \
        if (e2_ != __WASI_ERRNO_LOOP && e2_ != __WASI_ERRNO_NOTCAPABLE &&                \
            e2_ != __WASI_ERRNO_PERM &&                                                  \
            !(e2_ == __WASI_ERRNO_NOTDIR && ((oflags) & __WASI_OFLAGS_DIRECTORY)))        \
            FAIL("path_open(%s) without FOLLOW: errno %d (%s), want LOOP, NOTCAPABLE or "  \
                 "PERM", path, e2_, ename(e2_));                                         \
    } while (0)

static void sec_dotdot(int argc, char **argv)
{
    ESCAPE_OPEN("..", 0, 0, 0);
    ESCAPE_OPEN("..", 0, __WASI_OFLAGS_DIRECTORY, 0);
    ESCAPE_OPEN("../outside.txt", 0, 0, R(FD_READ));
    ESCAPE_OPEN("../outside.txt", FOLLOW, CT, RW);
    ESCAPE_OPEN("./../outside.txt", 0, 0, R(FD_READ));
    ESCAPE_OPEN("sub/../../outside.txt", 0, 0, R(FD_READ));
    ESCAPE_OPEN("sub/../..", 0, __WASI_OFLAGS_DIRECTORY, 0);
    ESCAPE_OPEN("sub/./.././../outside_dir/inner.txt", 0, 0, R(FD_READ));
    ESCAPE_OPEN("../scratch/inside.txt", 0, 0, R(FD_READ));   /* out and back in */
    ESCAPE_OPEN("../new_file", 0, __WASI_OFLAGS_CREAT, RW);
    ESCAPE_OPEN("../../../../../../../../etc/passwd", 0, 0, R(FD_READ));
    /* a/.. inside a fresh directory, then one more */
    CHECK_OK(__wasi_path_create_directory(D, "a"));
    ESCAPE_OPEN("a/../../outside.txt", 0, 0, R(FD_READ));
    ESCAPE_OPEN("a/../../x", 0, __WASI_OFLAGS_CREAT, RW);
    CHECK_ESCAPE(try_stat(D, "..", 0));
    CHECK_ESCAPE(try_stat(D, "../outside.txt", 0));
    CHECK_ESCAPE(try_stat(D, "a/../../outside_dir", FOLLOW));
    printf("dotdot: ok\n");
}

/* Absolute paths: read-only attempts at /etc, destructive ones at the driver's
 * outside files (argv[1] is ROOT), so a broken sandbox cannot harm the machine. */
static void sec_absolute(int argc, char **argv)
{
    CHECK(argc == 2, "want ROOT as an argument");
    char outside[512], moved[512], newdir[512];
    snprintf(outside, sizeof outside, "%s/outside.txt", argv[1]);
    snprintf(moved, sizeof moved, "%s/moved", argv[1]);
    snprintf(newdir, sizeof newdir, "%s/newdir", argv[1]);
    ESCAPE_OPEN("/etc/passwd", 0, 0, R(FD_READ));
    ESCAPE_OPEN("/etc/passwd", FOLLOW, 0, R(FD_READ));
    ESCAPE_OPEN("//etc/passwd", 0, 0, R(FD_READ));
    ESCAPE_OPEN("/", 0, __WASI_OFLAGS_DIRECTORY, 0);
    ESCAPE_OPEN("/tmp/lvm-wasi-escape", 0, __WASI_OFLAGS_CREAT, RW);
    ESCAPE_OPEN("/sandbox/inside.txt", 0, 0, R(FD_READ));   /* the guest name is no path */
    ESCAPE_OPEN(outside, 0, 0, R(FD_READ));
    ESCAPE_OPEN(outside, FOLLOW, CT, RW);
    CHECK_ESCAPE(try_stat(D, "/etc/passwd", 0));
    CHECK_ESCAPE(try_stat(D, "/", 0));
    CHECK_ESCAPE(try_stat(D, outside, 0));
    CHECK_ESCAPE(__wasi_path_create_directory(D, newdir));
    CHECK_ESCAPE(__wasi_path_unlink_file(D, outside));
    CHECK_ESCAPE(__wasi_path_symlink("x", D, moved));
    CHECK_ESCAPE(__wasi_path_rename(D, "inside.txt", D, moved));
    CHECK_ESCAPE(__wasi_path_rename(D, outside, D, "stolen"));
    CHECK_ESCAPE(__wasi_path_link(D, 0, "inside.txt", D, moved));
    CHECK_ESCAPE(__wasi_path_link(D, 0, outside, D, "hardlink"));
    CHECK_ESCAPE(__wasi_path_filestat_set_times(D, 0, outside, 0, 0,
                                                __WASI_FSTFLAGS_MTIM_NOW));
    printf("absolute: ok\n");
}

/* A symlink the guest makes to /etc: refused when made (Wasmtime refuses absolute
 * targets), or made and never followed out. */
static void sec_guest_symlink_etc(int argc, char **argv)
{
    int e = __wasi_path_symlink("/etc", D, "etc_link");
    if (e == 0) {
        ESCAPE_OPEN("etc_link/passwd", 0, 0, R(FD_READ));
        ESCAPE_OPEN("etc_link/passwd", FOLLOW, 0, R(FD_READ));
        ESCAPE_OPEN("etc_link", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0);
        ESCAPE_OPEN("etc_link/lvm-wasi-escape", 0, __WASI_OFLAGS_CREAT, RW);
        CHECK_ESCAPE(try_stat(D, "etc_link/passwd", 0));
        CHECK_ESCAPE(try_stat(D, "etc_link", FOLLOW));
        CHECK_ESCAPE(__wasi_path_create_directory(D, "etc_link/lvm-wasi-escape"));
        NOFOLLOW_OPEN("etc_link", __WASI_OFLAGS_DIRECTORY, 0);
        /* the link itself is inside: it can be inspected and removed */
        CHECK_OK(try_stat(D, "etc_link", 0));
        CHECK_OK(__wasi_path_unlink_file(D, "etc_link"));
    } else {
        CHECK_ESCAPE(e);
    }
    /* the same through the one the driver placed */
    ESCAPE_OPEN("etc_escape/passwd", 0, 0, R(FD_READ));
    ESCAPE_OPEN("etc_escape/lvm-wasi-escape", FOLLOW, __WASI_OFLAGS_CREAT, RW);
    ESCAPE_OPEN("etc_escape", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0);
    CHECK_ESCAPE(try_stat(D, "etc_escape/passwd", FOLLOW));
    printf("guest_symlink_etc: ok\n");
}

/* A symlink the guest makes to ".." (and to ../outside.txt): relative targets may be
 * made, but following them out fails. */
static void sec_guest_symlink_dotdot(int argc, char **argv)
{
    int e = __wasi_path_symlink("..", D, "up");
    if (e == 0) {
        ESCAPE_OPEN("up", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0);
        ESCAPE_OPEN("up/outside.txt", 0, 0, R(FD_READ));
        ESCAPE_OPEN("up/outside.txt", FOLLOW, CT, RW);
        ESCAPE_OPEN("up/new_file", 0, __WASI_OFLAGS_CREAT, RW);
        ESCAPE_OPEN("up/scratch/inside.txt", 0, 0, R(FD_READ));
        CHECK_ESCAPE(try_stat(D, "up/outside.txt", 0));
        CHECK_ESCAPE(__wasi_path_create_directory(D, "up/newdir"));
        CHECK_ESCAPE(__wasi_path_unlink_file(D, "up/outside.txt"));
        CHECK_ESCAPE(__wasi_path_remove_directory(D, "up/outside_dir"));
        CHECK_ESCAPE(__wasi_path_rename(D, "up/outside.txt", D, "stolen"));
        uint8_t buf[8];
        __wasi_size_t used;
        CHECK_OK(__wasi_path_readlink(D, "up", buf, sizeof buf, &used));
        CHECK(used == 2 && memcmp(buf, "..", 2) == 0, "readlink up");
    } else {
        CHECK_ESCAPE(e);
    }
    /* in a subdirectory, ../.. */
    e = __wasi_path_symlink("../..", D, "sub/up2");
    if (e == 0) {
        ESCAPE_OPEN("sub/up2/outside.txt", 0, 0, R(FD_READ));
        ESCAPE_OPEN("sub/up2", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0);
    } else {
        CHECK_ESCAPE(e);
    }
    /* to a file outside, then written through with TRUNC */
    e = __wasi_path_symlink("../outside.txt", D, "esc2");
    if (e == 0) {
        ESCAPE_OPEN("esc2", FOLLOW, CT, RW);
        ESCAPE_OPEN("esc2", FOLLOW, 0, R(FD_READ));
        NOFOLLOW_OPEN("esc2", CT, RW);
        CHECK_ESCAPE(__wasi_path_filestat_set_times(D, FOLLOW, "esc2", 0, 0,
                                                    __WASI_FSTFLAGS_MTIM_NOW));
    } else {
        CHECK_ESCAPE(e);
    }
    /* a chain: inside -> inside -> out */
    if (__wasi_path_symlink("esc2", D, "chain") == 0)
        ESCAPE_OPEN("chain", FOLLOW, 0, R(FD_READ));
    printf("guest_symlink_dotdot: ok\n");
}

static void sec_preplaced(int argc, char **argv)
{
    static const char *const links[] = {"escape", "abs_escape", "sub/deep_escape"};
    for (int i = 0; i < 3; i++) {
        const char *l = links[i];
        ESCAPE_OPEN(l, FOLLOW, 0, R(FD_READ));
        ESCAPE_OPEN(l, FOLLOW, CT, RW);
        ESCAPE_OPEN(l, FOLLOW, __WASI_OFLAGS_TRUNC, RW);
        NOFOLLOW_OPEN(l, 0, R(FD_READ));
        NOFOLLOW_OPEN(l, CT, RW);
        CHECK_ESCAPE(try_stat(D, l, FOLLOW));
        CHECK_ESCAPE(__wasi_path_filestat_set_times(D, FOLLOW, l, 0, 0,
                                                    __WASI_FSTFLAGS_MTIM_NOW |
                                                    __WASI_FSTFLAGS_ATIM_NOW));
        /* the link itself is inside */
        __wasi_filestat_t st;
        CHECK_OK(__wasi_path_filestat_get(D, 0, l, &st));
        CHECK(st.filetype == __WASI_FILETYPE_SYMBOLIC_LINK, "%s: filetype %d", l, st.filetype);
        /* a hard link made with FOLLOW would be a second name for outside.txt: refused
         * (Wasmtime: INVAL for FOLLOW), or a link to the symlink itself */
        int e = __wasi_path_link(D, FOLLOW, l, D, "hardlink");
        if (e == 0) {
            CHECK_OK(__wasi_path_filestat_get(D, 0, "hardlink", &st));
            CHECK(st.filetype == __WASI_FILETYPE_SYMBOLIC_LINK,
                  "path_link(FOLLOW, %s) linked the outside file", l);
            CHECK_OK(__wasi_path_unlink_file(D, "hardlink"));
        } else {
            CHECK_ERR3(e, __WASI_ERRNO_INVAL, __WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_PERM);
        }
    }
    /* through the directory link */
    ESCAPE_OPEN("dir_escape", FOLLOW, __WASI_OFLAGS_DIRECTORY, 0);
    ESCAPE_OPEN("dir_escape/inner.txt", 0, 0, R(FD_READ));
    ESCAPE_OPEN("dir_escape/inner.txt", FOLLOW, CT, RW);
    ESCAPE_OPEN("dir_escape/new.txt", 0, __WASI_OFLAGS_CREAT, RW);
    CHECK_ESCAPE(try_stat(D, "dir_escape/inner.txt", 0));
    CHECK_ESCAPE(__wasi_path_unlink_file(D, "dir_escape/inner.txt"));
    CHECK_ESCAPE(__wasi_path_create_directory(D, "dir_escape/newdir"));
    CHECK_ESCAPE(__wasi_path_rename(D, "inside.txt", D, "dir_escape/stolen"));
    CHECK_ESCAPE(__wasi_path_rename(D, "dir_escape/inner.txt", D, "got_it"));
    CHECK_ESCAPE(__wasi_path_link(D, 0, "inside.txt", D, "dir_escape/hl"));
    CHECK_ESCAPE(__wasi_path_link(D, 0, "dir_escape/inner.txt", D, "hl"));
    CHECK_ESCAPE(__wasi_path_symlink("x", D, "dir_escape/sl"));
    CHECK_ESCAPE(__wasi_path_filestat_set_times(D, 0, "dir_escape/inner.txt", 0, 0,
                                                __WASI_FSTFLAGS_MTIM_NOW));
    uint8_t buf[64];
    __wasi_size_t used;
    CHECK_ESCAPE(__wasi_path_readlink(D, "dir_escape/x", buf, sizeof buf, &used));
    /* reading a link's text is fine: it is inside */
    CHECK_OK(__wasi_path_readlink(D, "escape", buf, sizeof buf, &used));
    CHECK(used == 14 && memcmp(buf, "../outside.txt", 14) == 0, "readlink escape");
    /* and removing the links removes only them (the driver checks the targets) */
    CHECK_OK(__wasi_path_unlink_file(D, "escape"));
    CHECK_OK(__wasi_path_unlink_file(D, "dir_escape"));
    printf("preplaced: ok\n");
}

/* Every path function, once with its source outside and once with its target outside. */
static void sec_mutations(int argc, char **argv)
{
    CHECK_ESCAPE(__wasi_path_rename(D, "inside.txt", D, "../moved"));
    CHECK_ESCAPE(__wasi_path_rename(D, "../outside.txt", D, "stolen"));
    CHECK_ESCAPE(__wasi_path_rename(D, "sub", D, "../outside_dir/sub"));
    CHECK_ESCAPE(__wasi_path_link(D, 0, "inside.txt", D, "../hardlink"));
    CHECK_ESCAPE(__wasi_path_link(D, 0, "../outside.txt", D, "hardlink"));
    CHECK_ESCAPE(__wasi_path_symlink("inside.txt", D, "../symlink"));
    CHECK_ESCAPE(__wasi_path_symlink("x", D, "../outside_dir/symlink"));
    CHECK_ESCAPE(__wasi_path_unlink_file(D, "../outside.txt"));
    CHECK_ESCAPE(__wasi_path_unlink_file(D, "../outside_dir/inner.txt"));
    CHECK_ESCAPE(__wasi_path_remove_directory(D, "../outside_dir"));
    CHECK_ESCAPE(__wasi_path_remove_directory(D, ".."));
    CHECK_ESCAPE(__wasi_path_create_directory(D, "../newdir"));
    CHECK_ESCAPE(__wasi_path_create_directory(D, "../outside_dir/newdir"));
    CHECK_ESCAPE(__wasi_path_filestat_set_times(D, 0, "../outside.txt", 0, 0,
                                                __WASI_FSTFLAGS_MTIM_NOW));
    CHECK_ESCAPE(__wasi_path_filestat_set_times(D, 0, "..", 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    uint8_t buf[64];
    __wasi_size_t used;
    CHECK_ESCAPE(__wasi_path_readlink(D, "../scratch/escape", buf, sizeof buf, &used));
    printf("mutations: ok\n");
}

/* A directory fd opened below the preopen is a root of its own: ".." from it is out. */
static void sec_subdir_fd(int argc, char **argv)
{
    int sub;
    CHECK_OK(open_at(D, "sub", 0, __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0, &sub));
    CHECK_ESCAPE(try_open(sub, "../inside.txt", 0, 0, R(FD_READ)));
    CHECK_ESCAPE(try_open(sub, "..", 0, __WASI_OFLAGS_DIRECTORY, 0));
    CHECK_ESCAPE(try_open(sub, "../../outside.txt", 0, 0, R(FD_READ)));
    CHECK_ESCAPE(try_open(sub, "deep_escape", FOLLOW, 0, R(FD_READ)));
    CHECK_ESCAPE(try_stat(sub, "..", 0));
    CHECK_ESCAPE(__wasi_path_create_directory(sub, "../x"));
    CHECK_OK(__wasi_fd_close(sub));
    printf("subdir_fd: ok\n");
}

/* What stays inside works: ".." that does not leave, links that point inside. */
static void sec_inside(int argc, char **argv)
{
    int fd;
    CHECK_OK(open_at(D, "sub/../inside.txt", 0, 0, R(FD_READ), 0, &fd));
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_OK(open_at(D, "sub/..", 0, __WASI_OFLAGS_DIRECTORY, 0, 0, &fd));
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_OK(__wasi_path_symlink("sub/../inside.txt", D, "ok_link"));
    CHECK_OK(open_at(D, "ok_link", FOLLOW, 0, R(FD_READ), 0, &fd));
    char buf[16] = "";
    CHECK(read_some(fd, buf, sizeof buf - 1) == 7 && strcmp(buf, "inside\n") == 0,
          "read through ok_link: '%s'", buf);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_OK(__wasi_path_symlink("../inside.txt", D, "sub/up_link"));
    CHECK_OK(open_at(D, "sub/up_link", FOLLOW, 0, R(FD_READ), 0, &fd));
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_OK(__wasi_path_symlink("..", D, "sub/parent"));
    CHECK_OK(open_at(D, "sub/parent/inside.txt", 0, 0, R(FD_READ), 0, &fd));
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_OK(open_at(D, ".", 0, __WASI_OFLAGS_DIRECTORY, 0, 0, &fd));
    CHECK_OK(__wasi_fd_close(fd));
    printf("inside: ok\n");
}

/* The same through wasi-libc: errno ENOTCAPABLE or EPERM (libc refuses paths outside
 * every preopen itself; the others reach the host). */
static void sec_libc(int argc, char **argv)
{
#define LIBC_ESCAPE(call, what) do {                                                     \
        errno = 0;                                                                       \
        long r_ = (long)(call);                                                          \
        CHECK(r_ == -1 && (errno == ENOTCAPABLE || errno == EPERM),                      \
              "%s: result %ld, errno %d", what, r_, errno);                              \
    } while (0)
    LIBC_ESCAPE(open("/sandbox/../outside.txt", O_RDONLY), "open /sandbox/../outside.txt");
    LIBC_ESCAPE(open("/sandbox/escape", O_RDONLY), "open /sandbox/escape");
    LIBC_ESCAPE(open("/sandbox/dir_escape/inner.txt", O_RDONLY), "open dir_escape/inner.txt");
    LIBC_ESCAPE(open("/sandbox/escape", O_WRONLY | O_TRUNC), "truncate through escape");
    LIBC_ESCAPE(open("/etc/passwd", O_RDONLY), "open /etc/passwd");
    struct stat st;
    LIBC_ESCAPE(stat("/sandbox/escape", &st), "stat /sandbox/escape");
    LIBC_ESCAPE(mkdir("/sandbox/../newdir", 0755), "mkdir /sandbox/../newdir");
    LIBC_ESCAPE(unlink("/sandbox/../outside.txt"), "unlink /sandbox/../outside.txt");
    LIBC_ESCAPE(rename("/sandbox/inside.txt", "/sandbox/../moved"), "rename out");
    CHECK(lstat("/sandbox/escape", &st) == 0 && S_ISLNK(st.st_mode), "lstat escape");
    CHECK(chdir("/sandbox/sub") == 0, "chdir");
    LIBC_ESCAPE(open("../../outside.txt", O_RDONLY), "open ../../outside.txt from sub");
    printf("libc: ok\n");
}

static const Section sections[] = {
    {"dotdot", sec_dotdot},
    {"absolute", sec_absolute},
    {"guest_symlink_etc", sec_guest_symlink_etc},
    {"guest_symlink_dotdot", sec_guest_symlink_dotdot},
    {"preplaced", sec_preplaced},
    {"mutations", sec_mutations},
    {"subdir_fd", sec_subdir_fd},
    {"inside", sec_inside},
    {"libc", sec_libc},
};

int main(int argc, char **argv)
{
    /* the preopen is /sandbox, or "." for `--dir .` */
    __wasi_prestat_t ps;
    char name[16] = "";
    CHECK_OK(__wasi_fd_prestat_get(3, &ps));
    CHECK(ps.u.dir.pr_name_len < sizeof name, "preopen name too long");
    CHECK_OK(__wasi_fd_prestat_dir_name(3, (uint8_t *)name, ps.u.dir.pr_name_len));
    D = 3;
    CHECK(strcmp(name, "/sandbox") == 0 || strcmp(name, ".") == 0, "preopen %s", name);
    return RUN_SECTIONS(sections, argc, argv);
}
