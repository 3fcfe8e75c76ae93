/* prestat.c — fd_prestat_get and fd_prestat_dir_name: the preopened directories are fds
 * 3, 4, ... in the order of the --dir options, each named as the guest was told
 * (--dir HOST::GUEST gives GUEST, --dir HOST gives HOST); the fd after the last is BADF. */
#include "common.h"

// test: list
// lvm: --dir {scratch}::/data --dir {root}::/other/x --dir {scratch} --dir {scratch}::/
// expect: fd 3: /data
// expect: fd 4: /other/x
// expect: fd 5: {scratch}
// expect: fd 6: /
// expect: list: ok

// test: list
// name: list_none
// expect: list: ok

// test: dir_name
// lvm: --dir {scratch}::/data
// expect: dir_name: ok

// test: not_preopen
// lvm: --dir {scratch}::/data
// expect: not_preopen: ok

static void sec_list(int argc, char **argv)
{
    int fd;
    for (fd = 3;; fd++) {
        __wasi_prestat_t ps;
        memset(&ps, 0xCC, sizeof ps);
        int e = __wasi_fd_prestat_get(fd, &ps);
        if (e == __WASI_ERRNO_BADF) break;
        CHECK_OK(e);
        CHECK(ps.tag == __WASI_PREOPENTYPE_DIR, "fd %d: prestat tag %d", fd, ps.tag);
        size_t len = ps.u.dir.pr_name_len;
        CHECK(len > 0 && len < 4096, "fd %d: name length %zu", fd, len);
        char *name = calloc(len + 1, 1);
        CHECK(name, "malloc");
        CHECK_OK(__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len));
        CHECK(strlen(name) == len, "fd %d: the name has a NUL inside", fd);
        printf("fd %d: %s\n", fd, name);
        free(name);

        __wasi_fdstat_t st;
        CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
        CHECK(st.fs_filetype == __WASI_FILETYPE_DIRECTORY, "fd %d: filetype %d", fd,
              st.fs_filetype);
    }
    /* stdio are not preopens */
    for (int i = 0; i <= 2; i++) {
        __wasi_prestat_t ps;
        CHECK_ERR(__wasi_fd_prestat_get(i, &ps), __WASI_ERRNO_BADF);
    }
    printf("list: ok\n");
}

static void sec_dir_name(int argc, char **argv)
{
    __wasi_prestat_t ps;
    CHECK_OK(__wasi_fd_prestat_get(3, &ps));
    CHECK(ps.u.dir.pr_name_len == 5, "name length %zu, want 5 (/data)",
          (size_t)ps.u.dir.pr_name_len);
    /* a larger buffer: exactly the name is written, no NUL, nothing after it */
    char buf[16];
    memset(buf, '#', sizeof buf);
    CHECK_OK(__wasi_fd_prestat_dir_name(3, (uint8_t *)buf, sizeof buf));
    CHECK(memcmp(buf, "/data", 5) == 0, "name '%.5s'", buf);
    for (size_t i = 5; i < sizeof buf; i++)
        CHECK(buf[i] == '#', "fd_prestat_dir_name wrote byte %zu past the name", i);
    /* a smaller one: NAMETOOLONG, nothing written past it */
    memset(buf, '#', sizeof buf);
    CHECK_ERR(__wasi_fd_prestat_dir_name(3, (uint8_t *)buf, 4), __WASI_ERRNO_NAMETOOLONG);
    CHECK_ERR(__wasi_fd_prestat_dir_name(3, (uint8_t *)buf, 0), __WASI_ERRNO_NAMETOOLONG);
    CHECK(buf[4] == '#', "a too-small buffer was overrun");

    /* libc finds files through the name */
    FILE *f = fopen("/data/made-by-guest.txt", "w");
    CHECK(f, "fopen /data/made-by-guest.txt");
    fprintf(f, "x\n");
    fclose(f);
    __wasi_filestat_t st;
    CHECK_OK(__wasi_path_filestat_get(3, 0, "made-by-guest.txt", &st));
    CHECK(st.size == 2, "size %llu", (unsigned long long)st.size);
    printf("dir_name: ok\n");
}

/* A directory opened through a preopen is not a preopen itself. */
static void sec_not_preopen(int argc, char **argv)
{
    CHECK_OK(__wasi_path_create_directory(3, "sub"));
    int fd;
    CHECK_OK(open_at(3, "sub", 0, __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0, &fd));
    __wasi_prestat_t ps;
    CHECK_ERR(__wasi_fd_prestat_get(fd, &ps), __WASI_ERRNO_BADF);
    char buf[8];
    CHECK_ERR(__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, sizeof buf), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_prestat_get(fd + 1, &ps), __WASI_ERRNO_BADF);
    CHECK_OK(__wasi_fd_close(fd));
    printf("not_preopen: ok\n");
}

static const Section sections[] = {
    {"list", sec_list},
    {"dir_name", sec_dir_name},
    {"not_preopen", sec_not_preopen},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
