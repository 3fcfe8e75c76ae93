/* fd.c — the fd_* functions on files in a preopened scratch directory, on stdio and on
 * bad descriptors: read, write (scatter/gather), pread, pwrite, seek, tell, sync,
 * datasync, advise, allocate, close, renumber, fdstat_get, fdstat_set_flags,
 * fdstat_set_rights, filestat_get, filestat_set_size, filestat_set_times. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

// test: rw
// lvm: --dir {scratch}::/scratch
// expect: rw: ok

// test: pread_pwrite
// lvm: --dir {scratch}::/scratch
// expect: pread_pwrite: ok

// test: seek
// lvm: --dir {scratch}::/scratch
// expect: seek: ok

// test: seek_pipe
// expect: seek_pipe: ok

// test: sync
// lvm: --dir {scratch}::/scratch
// expect: sync: ok

// test: advise
// lvm: --dir {scratch}::/scratch
// expect: advise: ok

// test: allocate
// lvm: --dir {scratch}::/scratch
// expect: allocate: ok

// test: close
// lvm: --dir {scratch}::/scratch
// expect: close: ok

// test: renumber
// lvm: --dir {scratch}::/scratch
// expect: renumber: ok

// test: fdstat
// lvm: --dir {scratch}::/scratch
// expect: fdstat: ok

// test: set_flags
// lvm: --dir {scratch}::/scratch
// expect: set_flags: ok

// test: set_rights
// lvm: --dir {scratch}::/scratch
// expect: set_rights: ok

// test: filestat
// lvm: --dir {scratch}::/scratch
// expect: filestat: ok

// test: set_times
// lvm: --dir {scratch}::/scratch
// expect: set_times: ok

// test: stdio
// stdin: first line from stdin
// stderr: to stderr
// expect: to stdout
// expect: read: first line from stdin
// expect: stdio: ok

// test: badf
// expect: badf: ok

// test: dir_ops
// lvm: --dir {scratch}::/scratch
// expect: dir_ops: ok

#define R(x) __WASI_RIGHTS_##x

static int scratch(void)
{
    return preopen_fd("/scratch");
}

/* A new file `name` with read/write rights (and whatever else is asked for). */
static int new_file(const char *name, int fdflags)
{
    int fd;
    CHECK_OK(open_at(scratch(), name, 0, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
                     ALL_RIGHTS, fdflags, &fd));
    CHECK(fd > 2, "path_open gave fd %d", fd);
    return fd;
}

static uint64_t file_size(int fd)
{
    __wasi_filestat_t st;
    CHECK_OK(__wasi_fd_filestat_get(fd, &st));
    return st.size;
}

static uint64_t tell(int fd)
{
    __wasi_filesize_t pos = 12345;
    CHECK_OK(__wasi_fd_tell(fd, &pos));
    return pos;
}

static void sec_rw(int argc, char **argv)
{
    int fd = new_file("rw.txt", 0);
    /* gather: three buffers, one of them empty */
    __wasi_ciovec_t out[3] = {
        {(const uint8_t *)"hello, ", 7}, {(const uint8_t *)"", 0}, {(const uint8_t *)"world", 5},
    };
    __wasi_size_t n = 0;
    CHECK_OK(__wasi_fd_write(fd, out, 3, &n));
    CHECK(n == 12, "fd_write wrote %u of 12 bytes", (unsigned)n);
    CHECK(tell(fd) == 12, "position after writing 12 bytes: %llu", (unsigned long long)tell(fd));
    /* zero iovecs: nothing happens */
    CHECK_OK(__wasi_fd_write(fd, out, 0, &n));
    CHECK(n == 0, "fd_write of no iovecs wrote %u", (unsigned)n);

    __wasi_filesize_t pos;
    CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    /* scatter: 4 + 20 bytes of room for 12 */
    char a[4], b[20];
    memset(b, '#', sizeof b);
    __wasi_iovec_t in[2] = {{(uint8_t *)a, 4}, {(uint8_t *)b, 20}};
    CHECK_OK(__wasi_fd_read(fd, in, 2, &n));
    CHECK(n == 12, "fd_read read %u of 12 bytes", (unsigned)n);
    CHECK(memcmp(a, "hell", 4) == 0 && memcmp(b, "o, world", 8) == 0 && b[8] == '#',
          "fd_read scattered the wrong bytes");
    /* at the end: 0 bytes, no error */
    CHECK_OK(__wasi_fd_read(fd, in, 2, &n));
    CHECK(n == 0, "fd_read at EOF gave %u bytes", (unsigned)n);

    /* more iovecs than the host's IOV_MAX (1024): all of them count */
    enum { MANY = 2000 };
    static __wasi_ciovec_t many_out[MANY];
    static __wasi_iovec_t many_in[MANY];
    static char src[MANY], dst[MANY];
    for (int i = 0; i < MANY; i++) {
        src[i] = (char)('a' + i % 26);
        many_out[i] = (__wasi_ciovec_t){(const uint8_t *)&src[i], 1};
        many_in[i] = (__wasi_iovec_t){(uint8_t *)&dst[i], 1};
    }
    int big = new_file("many.txt", 0);
    size_t done = 0;
    while (done < MANY) {   /* a short write is allowed; the rest follows */
        CHECK_OK(__wasi_fd_write(big, many_out + done, MANY - done, &n));
        CHECK(n > 0, "fd_write of %zu iovecs wrote nothing", MANY - done);
        done += n;
    }
    CHECK_OK(__wasi_fd_seek(big, 0, __WASI_WHENCE_SET, &pos));
    done = 0;
    while (done < MANY) {
        CHECK_OK(__wasi_fd_read(big, many_in + done, MANY - done, &n));
        CHECK(n > 0, "fd_read of %zu iovecs read nothing", MANY - done);
        done += n;
    }
    CHECK(memcmp(src, dst, MANY) == 0, "2000 one-byte iovecs: the bytes differ");
    CHECK_OK(__wasi_fd_close(big));
    CHECK_OK(__wasi_fd_close(fd));

    /* the host sees what was written */
    FILE *f = fopen("/scratch/rw.txt", "r");
    CHECK(f, "fopen rw.txt");
    char line[64] = "";
    CHECK(fgets(line, sizeof line, f) && strcmp(line, "hello, world") == 0,
          "rw.txt holds '%s'", line);
    fclose(f);
    printf("rw: ok\n");
}

static void sec_pread_pwrite(int argc, char **argv)
{
    int fd = new_file("p.txt", 0);
    CHECK(write_all(fd, "0123456789", 10) == 0, "write");
    __wasi_filesize_t pos;
    CHECK_OK(__wasi_fd_seek(fd, 3, __WASI_WHENCE_SET, &pos));

    __wasi_ciovec_t w = {(const uint8_t *)"AB", 2};
    __wasi_size_t n;
    CHECK_OK(__wasi_fd_pwrite(fd, &w, 1, 5, &n));
    CHECK(n == 2, "pwrite wrote %u", (unsigned)n);
    CHECK(tell(fd) == 3, "pwrite moved the position to %llu", (unsigned long long)tell(fd));

    char buf[16] = {0};
    __wasi_iovec_t r[2] = {{(uint8_t *)buf, 3}, {(uint8_t *)buf + 3, 3}};
    CHECK_OK(__wasi_fd_pread(fd, r, 2, 4, &n));
    CHECK(n == 6 && memcmp(buf, "4AB789", 6) == 0, "pread got %u bytes '%.6s'", (unsigned)n,
          buf);
    CHECK(tell(fd) == 3, "pread moved the position to %llu", (unsigned long long)tell(fd));

    /* past the end: pread gives 0 bytes; pwrite extends the file with zeros */
    CHECK_OK(__wasi_fd_pread(fd, r, 1, 100, &n));
    CHECK(n == 0, "pread past the end gave %u bytes", (unsigned)n);
    CHECK_OK(__wasi_fd_pwrite(fd, &w, 1, 20, &n));
    CHECK(n == 2 && file_size(fd) == 22, "pwrite at 20: size %llu",
          (unsigned long long)file_size(fd));
    memset(buf, 'x', sizeof buf);
    __wasi_iovec_t r1 = {(uint8_t *)buf, 12};
    CHECK_OK(__wasi_fd_pread(fd, &r1, 1, 10, &n));
    CHECK(n == 12, "pread of the hole gave %u bytes", (unsigned)n);
    for (int i = 0; i < 10; i++) CHECK(buf[i] == 0, "the hole has byte %d at %d", buf[i], i);
    CHECK(memcmp(buf + 10, "AB", 2) == 0, "pread after the hole");

    /* the normal position still reads from 3 */
    CHECK(read_some(fd, buf, 3) == 3 && memcmp(buf, "34A", 3) == 0, "read from 3: '%.3s'",
          buf);

    /* pwrite on a pipe (stdout, as the driver runs us): ESPIPE (Wasmtime), or NOTCAPABLE
     * where the pipe's fd lacks the right to seek, which does not apply to pipes */
    CHECK_ERR2(__wasi_fd_pwrite(1, &w, 1, 0, &n), __WASI_ERRNO_SPIPE, __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_close(fd));
    printf("pread_pwrite: ok\n");
}

static void sec_seek(int argc, char **argv)
{
    int fd = new_file("seek.txt", 0);
    CHECK(write_all(fd, "abcdefghijklmnopqrstuvwxyz", 26) == 0, "write");
    __wasi_filesize_t pos = 999;
    CHECK_OK(__wasi_fd_seek(fd, 5, __WASI_WHENCE_SET, &pos));
    CHECK(pos == 5, "SET 5 -> %llu", (unsigned long long)pos);
    CHECK_OK(__wasi_fd_seek(fd, 3, __WASI_WHENCE_CUR, &pos));
    CHECK(pos == 8, "CUR +3 -> %llu", (unsigned long long)pos);
    CHECK_OK(__wasi_fd_seek(fd, -2, __WASI_WHENCE_CUR, &pos));
    CHECK(pos == 6, "CUR -2 -> %llu", (unsigned long long)pos);
    char c;
    CHECK(read_some(fd, &c, 1) == 1 && c == 'g', "read after seeking to 6 gave '%c'", c);
    CHECK_OK(__wasi_fd_seek(fd, -1, __WASI_WHENCE_END, &pos));
    CHECK(pos == 25, "END -1 -> %llu", (unsigned long long)pos);
    CHECK(read_some(fd, &c, 1) == 1 && c == 'z', "read after END -1 gave '%c'", c);
    CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &pos));
    CHECK(pos == 26 && tell(fd) == 26, "CUR 0 -> %llu", (unsigned long long)pos);

    /* past the end is fine; before the start is EINVAL and does not move */
    CHECK_OK(__wasi_fd_seek(fd, 1000, __WASI_WHENCE_END, &pos));
    CHECK(pos == 1026, "END +1000 -> %llu", (unsigned long long)pos);
    CHECK_OK(__wasi_fd_seek(fd, 10, __WASI_WHENCE_SET, &pos));
    CHECK_ERR(__wasi_fd_seek(fd, -11, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_fd_seek(fd, -1, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_fd_seek(fd, -27, __WASI_WHENCE_END, &pos), __WASI_ERRNO_INVAL);
    CHECK(tell(fd) == 10, "a failed seek moved the position to %llu",
          (unsigned long long)tell(fd));
    /* whence must be SET, CUR or END */
    CHECK_ERR(__wasi_fd_seek(fd, 0, 3, &pos), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_fd_seek(fd, 0, 255, &pos), __WASI_ERRNO_INVAL);
    CHECK_OK(__wasi_fd_close(fd));

    /* libc's lseek on the same kind of file */
    int lfd = new_file("seek2.txt", 0);
    CHECK(write_all(lfd, "0123456789", 10) == 0, "write");
    CHECK(lseek(lfd, -4, SEEK_END) == 6, "lseek END -4");
    CHECK(lseek(lfd, 0, SEEK_CUR) == 6, "lseek CUR 0");
    CHECK(lseek(lfd, -7, SEEK_CUR) == -1, "lseek before the start succeeded");
    CHECK_OK(__wasi_fd_close(lfd));
    printf("seek: ok\n");
}

/* stdout is a pipe to the driver: no seeking there. ESPIPE (Wasmtime), or NOTCAPABLE
 * where the pipe's fd lacks the seek right (the spec lets an implementation leave out
 * rights that do not apply to the kind of file). */
static void sec_seek_pipe(int argc, char **argv)
{
    __wasi_filesize_t pos;
    CHECK_ERR2(__wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_SPIPE,
               __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR2(__wasi_fd_seek(1, 10, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_SPIPE,
               __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR2(__wasi_fd_tell(1, &pos), __WASI_ERRNO_SPIPE, __WASI_ERRNO_NOTCAPABLE);
    /* and libc says it cannot seek */
    CHECK(lseek(1, 0, SEEK_CUR) == -1, "lseek on a pipe succeeded");
    printf("seek_pipe: ok\n");
}

static void sec_sync(int argc, char **argv)
{
    int fd = new_file("sync.txt", 0);
    CHECK(write_all(fd, "data", 4) == 0, "write");
    CHECK_OK(__wasi_fd_sync(fd));
    CHECK_OK(__wasi_fd_datasync(fd));
    CHECK(fsync(fd) == 0 && fdatasync(fd) == 0, "libc fsync/fdatasync");
    /* without the right, it is not allowed */
    __wasi_fdstat_t st;
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK_OK(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base & ~(R(FD_SYNC) | R(FD_DATASYNC)),
                                         st.fs_rights_inheriting));
    CHECK_ERR(__wasi_fd_sync(fd), __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR(__wasi_fd_datasync(fd), __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_ERR(__wasi_fd_sync(fd), __WASI_ERRNO_BADF);
    printf("sync: ok\n");
}

static void sec_advise(int argc, char **argv)
{
    int fd = new_file("advise.txt", 0);
    CHECK(write_all(fd, "0123456789", 10) == 0, "write");
    for (int a = __WASI_ADVICE_NORMAL; a <= __WASI_ADVICE_NOREUSE; a++)
        CHECK_OK(__wasi_fd_advise(fd, 0, 10, a));
    CHECK_OK(__wasi_fd_advise(fd, 100, 0, __WASI_ADVICE_WILLNEED));
    CHECK_ERR(__wasi_fd_advise(fd, 0, 10, 6), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_fd_advise(fd, 0, 10, 200), __WASI_ERRNO_INVAL);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_ERR(__wasi_fd_advise(fd, 0, 10, __WASI_ADVICE_NORMAL), __WASI_ERRNO_BADF);
    printf("advise: ok\n");
}

static void sec_allocate(int argc, char **argv)
{
    int fd = new_file("alloc.txt", 0);
    CHECK_OK(__wasi_fd_allocate(fd, 0, 4096));
    CHECK(file_size(fd) == 4096, "size after allocate(0, 4096): %llu",
          (unsigned long long)file_size(fd));
    CHECK_OK(__wasi_fd_allocate(fd, 8000, 192));
    CHECK(file_size(fd) == 8192, "size after allocate(8000, 192): %llu",
          (unsigned long long)file_size(fd));
    /* never shrinks */
    CHECK_OK(__wasi_fd_allocate(fd, 0, 10));
    CHECK(file_size(fd) == 8192, "allocate shrank the file to %llu",
          (unsigned long long)file_size(fd));
    /* the allocated bytes read as zeros */
    char buf[64];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n;
    CHECK_OK(__wasi_fd_pread(fd, &iov, 1, 4000, &n));
    CHECK(n == sizeof buf, "pread of the allocated range gave %u bytes", (unsigned)n);
    for (size_t i = 0; i < n; i++) CHECK(buf[i] == 0, "allocated byte %zu is %d", i, buf[i]);
    CHECK_OK(__wasi_fd_close(fd));
    printf("allocate: ok\n");
}

static void sec_close(int argc, char **argv)
{
    int fd = new_file("close.txt", 0);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_ERR(write_all(fd, "x", 1), __WASI_ERRNO_BADF);
    char c;
    __wasi_iovec_t iov = {(uint8_t *)&c, 1};
    __wasi_size_t n;
    CHECK_ERR(__wasi_fd_read(fd, &iov, 1, &n), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_close(fd), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_close(1000), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_close(0xFFFFFFFFu), __WASI_ERRNO_BADF);

    /* closing a preopen works too (wasi-libc's own table aside) */
    int pre = scratch();
    CHECK_OK(__wasi_fd_close(pre));
    __wasi_fdstat_t st;
    CHECK_ERR(__wasi_fd_fdstat_get(pre, &st), __WASI_ERRNO_BADF);
    __wasi_prestat_t ps;
    CHECK_ERR(__wasi_fd_prestat_get(pre, &ps), __WASI_ERRNO_BADF);
    printf("close: ok\n");
}

static void sec_renumber(int argc, char **argv)
{
    int a = new_file("a.txt", 0), b = new_file("b.txt", __WASI_FDFLAGS_APPEND);
    CHECK(write_all(a, "AAAA", 4) == 0 && write_all(b, "B", 1) == 0, "write");
    __wasi_fdstat_t sa, sb;
    CHECK_OK(__wasi_fd_fdstat_get(a, &sa));
    CHECK_OK(__wasi_fd_renumber(a, b));
    /* b is now a's file, with a's flags and position; a is gone */
    CHECK_OK(__wasi_fd_fdstat_get(b, &sb));
    CHECK(sb.fs_flags == sa.fs_flags && sb.fs_filetype == sa.fs_filetype &&
          sb.fs_rights_base == sa.fs_rights_base, "fdstat after renumber differs");
    CHECK(tell(b) == 4, "position after renumber: %llu", (unsigned long long)tell(b));
    CHECK(write_all(b, "!", 1) == 0, "write to the renumbered fd");
    __wasi_fdstat_t st;
    CHECK_ERR(__wasi_fd_fdstat_get(a, &st), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_close(a), __WASI_ERRNO_BADF);
    CHECK_OK(__wasi_fd_close(b));

    FILE *f = fopen("/scratch/a.txt", "r");
    char line[16] = "";
    CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "AAAA!") == 0, "a.txt: '%s'", line);
    fclose(f);
    f = fopen("/scratch/b.txt", "r");
    CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "B") == 0, "b.txt: '%s'", line);
    fclose(f);

    /* bad source or target */
    int c = new_file("c.txt", 0);
    CHECK_ERR(__wasi_fd_renumber(1000, c), __WASI_ERRNO_BADF);
    CHECK_OK(__wasi_fd_fdstat_get(c, &st));   /* still open */
    CHECK_OK(__wasi_fd_close(c));
    printf("renumber: ok\n");
}

static void sec_fdstat(int argc, char **argv)
{
    __wasi_fdstat_t st;
    /* the preopen: a directory that may open, create, read entries, ... */
    int dir = scratch();
    CHECK_OK(__wasi_fd_fdstat_get(dir, &st));
    CHECK(st.fs_filetype == __WASI_FILETYPE_DIRECTORY, "preopen filetype %d", st.fs_filetype);
    __wasi_rights_t need = R(PATH_OPEN) | R(PATH_CREATE_FILE) | R(PATH_CREATE_DIRECTORY) |
                           R(FD_READDIR) | R(PATH_FILESTAT_GET) | R(PATH_UNLINK_FILE) |
                           R(PATH_REMOVE_DIRECTORY) | R(PATH_RENAME_SOURCE) |
                           R(PATH_RENAME_TARGET) | R(PATH_SYMLINK) | R(PATH_READLINK) |
                           R(PATH_LINK_SOURCE) | R(PATH_LINK_TARGET);
    CHECK((st.fs_rights_base & need) == need, "preopen base rights 0x%llx lack 0x%llx",
          (unsigned long long)st.fs_rights_base,
          (unsigned long long)(need & ~st.fs_rights_base));
    __wasi_rights_t inh = R(FD_READ) | R(FD_WRITE) | R(FD_SEEK) | R(FD_TELL) |
                          R(FD_FILESTAT_GET) | R(FD_FILESTAT_SET_SIZE);
    CHECK((st.fs_rights_inheriting & inh) == inh, "preopen inheriting rights 0x%llx lack 0x%llx",
          (unsigned long long)st.fs_rights_inheriting,
          (unsigned long long)(inh & ~st.fs_rights_inheriting));

    /* a file: its type, its flags as opened */
    int fd = new_file("st.txt", __WASI_FDFLAGS_APPEND);
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_filetype == __WASI_FILETYPE_REGULAR_FILE, "file filetype %d", st.fs_filetype);
    CHECK(st.fs_flags & __WASI_FDFLAGS_APPEND, "APPEND missing from flags 0x%x", st.fs_flags);
    CHECK(st.fs_rights_base & R(FD_WRITE), "opened for writing, rights 0x%llx",
          (unsigned long long)st.fs_rights_base);
    CHECK_OK(__wasi_fd_close(fd));

    /* opened read-only: may read, may not write */
    CHECK_OK(open_at(dir, "st.txt", 0, 0, R(FD_READ) | R(FD_SEEK), 0, &fd));
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_flags == 0, "flags 0x%x on a plain open", st.fs_flags);
    CHECK(st.fs_rights_base & R(FD_READ), "read right missing");
    CHECK(!(st.fs_rights_base & R(FD_WRITE)), "a read-only open has the write right");
    CHECK_ERR(write_all(fd, "x", 1), __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_close(fd));

    /* a directory opened below the preopen */
    CHECK_OK(__wasi_path_create_directory(dir, "sub"));
    CHECK_OK(open_at(dir, "sub", 0, __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0, &fd));
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_filetype == __WASI_FILETYPE_DIRECTORY, "sub filetype %d", st.fs_filetype);
    CHECK_OK(__wasi_fd_close(fd));

    /* stdio: something that is not a directory or regular file here (pipes, /dev/null) */
    for (int i = 0; i <= 2; i++) {
        CHECK_OK(__wasi_fd_fdstat_get(i, &st));
        CHECK(st.fs_filetype != __WASI_FILETYPE_DIRECTORY, "fd %d is a directory", i);
    }
    CHECK_ERR(__wasi_fd_fdstat_get(99, &st), __WASI_ERRNO_BADF);
    printf("fdstat: ok\n");
}

static void sec_set_flags(int argc, char **argv)
{
    int fd = new_file("flags.txt", 0);
    char data[100];
    memset(data, '0', sizeof data);
    CHECK(write_all(fd, data, 100) == 0, "write");

    CHECK_OK(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND));
    __wasi_fdstat_t st;
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_flags & __WASI_FDFLAGS_APPEND, "APPEND not set: 0x%x", st.fs_flags);
    __wasi_filesize_t pos;
    CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    memset(data, '1', sizeof data);
    CHECK(write_all(fd, data, 10) == 0, "write");
    CHECK(file_size(fd) == 110, "an append-mode write after seek(0): size %llu",
          (unsigned long long)file_size(fd));

    CHECK_OK(__wasi_fd_fdstat_set_flags(fd, 0));
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(!(st.fs_flags & __WASI_FDFLAGS_APPEND), "APPEND still set: 0x%x", st.fs_flags);
    CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    memset(data, '2', sizeof data);
    CHECK(write_all(fd, data, 10) == 0, "write");
    CHECK(file_size(fd) == 110, "a write at 0 without APPEND: size %llu",
          (unsigned long long)file_size(fd));
    char buf[110];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n;
    CHECK_OK(__wasi_fd_pread(fd, &iov, 1, 0, &n));
    CHECK(n == 110 && buf[0] == '2' && buf[9] == '2' && buf[10] == '0' && buf[99] == '0' &&
          buf[100] == '1' && buf[109] == '1', "contents after the three writes");

    /* NONBLOCK can be set on a file (it changes nothing there) */
    CHECK_OK(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK));
    CHECK_OK(__wasi_fd_fdstat_set_flags(fd, 0));

    /* without the right: NOTCAPABLE */
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK_OK(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base & ~R(FD_FDSTAT_SET_FLAGS),
                                         st.fs_rights_inheriting));
    CHECK_ERR(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND), __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_ERR(__wasi_fd_fdstat_set_flags(fd, 0), __WASI_ERRNO_BADF);
    printf("set_flags: ok\n");
}

static void sec_set_rights(int argc, char **argv)
{
    int fd = new_file("rights.txt", 0);
    CHECK(write_all(fd, "hello", 5) == 0, "write");
    __wasi_fdstat_t st;
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    __wasi_rights_t base = st.fs_rights_base, inh = st.fs_rights_inheriting;
    CHECK(base & R(FD_WRITE) && base & R(FD_READ) && base & R(FD_SEEK), "starting rights");

    /* drop write: writes fail, reads still work */
    CHECK_OK(__wasi_fd_fdstat_set_rights(fd, base & ~R(FD_WRITE), inh));
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(st.fs_rights_base == (base & ~R(FD_WRITE)), "rights 0x%llx after dropping write",
          (unsigned long long)st.fs_rights_base);
    CHECK_ERR(write_all(fd, "x", 1), __WASI_ERRNO_NOTCAPABLE);
    __wasi_ciovec_t w = {(const uint8_t *)"x", 1};
    __wasi_size_t n;
    CHECK_ERR(__wasi_fd_pwrite(fd, &w, 1, 0, &n), __WASI_ERRNO_NOTCAPABLE);
    char buf[8];
    __wasi_iovec_t r = {(uint8_t *)buf, 5};
    CHECK_OK(__wasi_fd_pread(fd, &r, 1, 0, &n));
    CHECK(n == 5 && memcmp(buf, "hello", 5) == 0, "pread after dropping write");

    /* rights only shrink: asking for write back is NOTCAPABLE */
    CHECK_ERR(__wasi_fd_fdstat_set_rights(fd, base, inh), __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
    CHECK(!(st.fs_rights_base & R(FD_WRITE)), "write came back");

    /* drop seek and tell, then read, then filestat */
    __wasi_rights_t cur = st.fs_rights_base;
    CHECK_OK(__wasi_fd_fdstat_set_rights(fd, cur & ~(R(FD_SEEK) | R(FD_TELL)), inh));
    __wasi_filesize_t pos;
    CHECK_ERR(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR(__wasi_fd_tell(fd, &pos), __WASI_ERRNO_NOTCAPABLE);
    cur &= ~(R(FD_SEEK) | R(FD_TELL));
    CHECK_OK(__wasi_fd_fdstat_set_rights(fd, cur & ~R(FD_READ), inh));
    CHECK_ERR(__wasi_fd_read(fd, &r, 1, &n), __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR(__wasi_fd_pread(fd, &r, 1, 0, &n), __WASI_ERRNO_NOTCAPABLE);
    cur &= ~R(FD_READ);
    CHECK_OK(__wasi_fd_fdstat_set_rights(fd, cur & ~(R(FD_FILESTAT_GET) |
                                                     R(FD_FILESTAT_SET_SIZE)), inh));
    __wasi_filestat_t fst;
    CHECK_ERR(__wasi_fd_filestat_get(fd, &fst), __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR(__wasi_fd_filestat_set_size(fd, 0), __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_close(fd));

    /* a directory's inheriting rights bound what can be opened through it */
    int dir = scratch();
    CHECK_OK(__wasi_path_create_directory(dir, "ro"));
    int d;
    CHECK_OK(open_at(dir, "ro", 0, __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0, &d));
    CHECK_OK(__wasi_fd_fdstat_get(d, &st));
    CHECK_OK(__wasi_fd_fdstat_set_rights(d, st.fs_rights_base,
                                         st.fs_rights_inheriting & ~R(FD_WRITE)));
    __wasi_fd_t f;
    CHECK_OK(__wasi_path_open(d, 0, "file", __WASI_OFLAGS_CREAT, R(FD_READ), 0, 0, &f));
    CHECK_OK(__wasi_fd_close(f));
    /* asking for more is refused (NOTCAPABLE), or the new fd lacks the right (the spec
     * lets an implementation drop only rights that do not apply to the file) */
    int e = __wasi_path_open(d, 0, "file", 0, R(FD_READ) | R(FD_WRITE), 0, 0, &f);
    if (e == 0) {
        __wasi_fdstat_t fst;
        CHECK_OK(__wasi_fd_fdstat_get(f, &fst));
        CHECK(!(fst.fs_rights_base & R(FD_WRITE)), "opened with a right the directory "
              "may not pass on");
        CHECK_ERR(write_all(f, "x", 1), __WASI_ERRNO_NOTCAPABLE);
        CHECK_OK(__wasi_fd_close(f));
    } else {
        CHECK_ERR(e, __WASI_ERRNO_NOTCAPABLE);
    }
    /* and its base rights bound what it can do */
    __wasi_rights_t dbase = st.fs_rights_base & ~(R(PATH_CREATE_DIRECTORY) | R(PATH_UNLINK_FILE));
    CHECK_OK(__wasi_fd_fdstat_set_rights(d, dbase, st.fs_rights_inheriting & ~R(FD_WRITE)));
    CHECK_ERR(__wasi_path_create_directory(d, "x"), __WASI_ERRNO_NOTCAPABLE);
    CHECK_ERR(__wasi_path_unlink_file(d, "file"), __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_fdstat_set_rights(d, dbase & ~R(PATH_OPEN), 0));
    CHECK_ERR(__wasi_path_open(d, 0, "file", 0, 0, 0, 0, &f), __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_close(d));
    printf("set_rights: ok\n");
}

static void sec_filestat(int argc, char **argv)
{
    int fd = new_file("fst.txt", 0);
    __wasi_filestat_t st;
    CHECK_OK(__wasi_fd_filestat_get(fd, &st));
    CHECK(st.filetype == __WASI_FILETYPE_REGULAR_FILE, "filetype %d", st.filetype);
    CHECK(st.size == 0 && st.nlink == 1, "size %llu nlink %llu", (unsigned long long)st.size,
          (unsigned long long)st.nlink);
    CHECK(st.ino != 0, "ino 0");
    uint64_t ino = st.ino;
    CHECK(write_all(fd, "twelve bytes", 12) == 0, "write");
    CHECK_OK(__wasi_fd_filestat_get(fd, &st));
    CHECK(st.size == 12 && st.ino == ino, "after writing: size %llu", (unsigned long long)st.size);

    /* set_size: grow with zeros, shrink, position unchanged */
    CHECK_OK(__wasi_fd_filestat_set_size(fd, 100));
    CHECK(file_size(fd) == 100, "set_size(100): %llu", (unsigned long long)file_size(fd));
    CHECK(tell(fd) == 12, "set_size moved the position");
    char buf[100];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n;
    CHECK_OK(__wasi_fd_pread(fd, &iov, 1, 0, &n));
    CHECK(n == 100 && memcmp(buf, "twelve bytes", 12) == 0 && buf[12] == 0 && buf[99] == 0,
          "contents after growing");
    CHECK_OK(__wasi_fd_filestat_set_size(fd, 6));
    CHECK(file_size(fd) == 6, "set_size(6): %llu", (unsigned long long)file_size(fd));
    CHECK_OK(__wasi_fd_pread(fd, &iov, 1, 0, &n));
    CHECK(n == 6 && memcmp(buf, "twelve", 6) == 0, "contents after shrinking");
    CHECK_OK(__wasi_fd_filestat_set_size(fd, 0));
    CHECK(file_size(fd) == 0, "set_size(0)");

    /* libc's fstat and ftruncate */
    struct stat s;
    CHECK(ftruncate(fd, 33) == 0, "ftruncate");
    CHECK(fstat(fd, &s) == 0 && s.st_size == 33 && S_ISREG(s.st_mode), "fstat");

    /* the directory */
    CHECK_OK(__wasi_fd_filestat_get(scratch(), &st));
    CHECK(st.filetype == __WASI_FILETYPE_DIRECTORY, "preopen filetype %d", st.filetype);
    CHECK_OK(__wasi_fd_close(fd));
    CHECK_ERR(__wasi_fd_filestat_get(fd, &st), __WASI_ERRNO_BADF);
    printf("filestat: ok\n");
}

static void sec_set_times(int argc, char **argv)
{
    int fd = new_file("times.txt", 0);
    const uint64_t atim = 1500000000123456789ull, mtim = 1600000000987654321ull;
    CHECK_OK(__wasi_fd_filestat_set_times(fd, atim, mtim,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM));
    __wasi_filestat_t st;
    CHECK_OK(__wasi_fd_filestat_get(fd, &st));
    CHECK(st.atim == atim && st.mtim == mtim, "times read back as %llu %llu",
          (unsigned long long)st.atim, (unsigned long long)st.mtim);

    /* only mtim: atim stays */
    CHECK_OK(__wasi_fd_filestat_set_times(fd, 0, mtim + 1000, __WASI_FSTFLAGS_MTIM));
    CHECK_OK(__wasi_fd_filestat_get(fd, &st));
    CHECK(st.atim == atim && st.mtim == mtim + 1000, "after setting mtim only: %llu %llu",
          (unsigned long long)st.atim, (unsigned long long)st.mtim);

    /* _NOW: the current real time */
    uint64_t before = now_ns(__WASI_CLOCKID_REALTIME);
    CHECK_OK(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    CHECK_OK(__wasi_fd_filestat_get(fd, &st));
    CHECK(st.mtim + 2000000000ull >= before && st.mtim <= before + 60000000000ull,
          "MTIM_NOW gave %llu, realtime %llu", (unsigned long long)st.mtim,
          (unsigned long long)before);
    CHECK(st.atim == atim, "MTIM_NOW changed atim");
    CHECK_OK(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_ATIM_NOW));
    CHECK_OK(__wasi_fd_filestat_get(fd, &st));
    CHECK(st.atim + 2000000000ull >= before, "ATIM_NOW gave %llu", (unsigned long long)st.atim);

    /* a time and _NOW for the same field: EINVAL, nothing changes */
    __wasi_filestat_t st2;
    CHECK_ERR(__wasi_fd_filestat_set_times(fd, 5, 5, __WASI_FSTFLAGS_MTIM |
                                                   __WASI_FSTFLAGS_MTIM_NOW),
              __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_fd_filestat_set_times(fd, 5, 5, __WASI_FSTFLAGS_ATIM |
                                                   __WASI_FSTFLAGS_ATIM_NOW),
              __WASI_ERRNO_INVAL);
    CHECK_OK(__wasi_fd_filestat_get(fd, &st2));
    CHECK(st2.mtim == st.mtim && st2.atim == st.atim, "a failed set_times changed times");

    /* no flags: nothing changes */
    CHECK_OK(__wasi_fd_filestat_set_times(fd, 1, 1, 0));
    CHECK_OK(__wasi_fd_filestat_get(fd, &st2));
    CHECK(st2.mtim == st.mtim && st2.atim == st.atim, "set_times with no flags changed times");

    /* libc: futimens */
    struct timespec ts[2] = {{1000, 500}, {2000, 600}};
    CHECK(futimens(fd, ts) == 0, "futimens");
    CHECK_OK(__wasi_fd_filestat_get(fd, &st));
    CHECK(st.atim == 1000000000500ull && st.mtim == 2000000000600ull, "futimens: %llu %llu",
          (unsigned long long)st.atim, (unsigned long long)st.mtim);
    CHECK_OK(__wasi_fd_close(fd));
    printf("set_times: ok\n");
}

static void sec_stdio(int argc, char **argv)
{
    CHECK(write_all(1, "to stdout\n", 10) == 0, "write to fd 1");
    CHECK(write_all(2, "to stderr\n", 10) == 0, "write to fd 2");
    char buf[64] = "";
    size_t n = 0, got;
    while (n < sizeof buf - 1 && (got = read_some(0, buf + n, sizeof buf - 1 - n)) > 0)
        n += got;
    buf[n] = '\0';
    printf("read: %s", buf);
    CHECK(read_some(0, buf, 1) == 0, "stdin after EOF");
    /* nothing to write on stdin, nothing to read on stdout (a pipe's write end) */
    printf("stdio: ok\n");
}

static void sec_badf(int argc, char **argv)
{
    const int fd = 1234;
    char buf[4];
    __wasi_iovec_t iov = {(uint8_t *)buf, 4};
    __wasi_ciovec_t ciov = {(const uint8_t *)buf, 4};
    __wasi_size_t n;
    __wasi_filesize_t pos;
    __wasi_fdstat_t fst;
    __wasi_filestat_t st;
    __wasi_prestat_t ps;
    CHECK_ERR(__wasi_fd_read(fd, &iov, 1, &n), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_write(fd, &ciov, 1, &n), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_pread(fd, &iov, 1, 0, &n), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_pwrite(fd, &ciov, 1, 0, &n), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_tell(fd, &pos), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_sync(fd), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_datasync(fd), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_advise(fd, 0, 0, 0), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_allocate(fd, 0, 1), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_close(fd), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_renumber(fd, 1), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_fdstat_get(fd, &fst), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_fdstat_set_flags(fd, 0), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_fdstat_set_rights(fd, 0, 0), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_filestat_get(fd, &st), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_filestat_set_size(fd, 0), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_filestat_set_times(fd, 0, 0, 0), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_readdir(fd, (uint8_t *)buf, 4, 0, &n), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_prestat_get(fd, &ps), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, 4), __WASI_ERRNO_BADF);
    __wasi_fd_t out;
    CHECK_ERR(__wasi_path_open(fd, 0, "x", 0, 0, 0, 0, &out), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_path_create_directory(fd, "x"), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_path_unlink_file(fd, "x"), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_path_filestat_get(fd, 0, "x", &st), __WASI_ERRNO_BADF);
    /* negative-looking fds are just large numbers */
    CHECK_ERR(__wasi_fd_fdstat_get(0x80000000u, &fst), __WASI_ERRNO_BADF);
    CHECK_ERR(__wasi_fd_fdstat_get(0xFFFFFFFFu, &fst), __WASI_ERRNO_BADF);
    printf("badf: ok\n");
}

/* File operations on a directory descriptor fail (Wasmtime: BADF; POSIX: ISDIR; or
 * NOTCAPABLE, the directory's fd lacking the file rights); they never read directory
 * bytes or write into it. */
#define CHECK_NOT_ON_DIR(expr) do {                                                      \
        int e_ = (expr);                                                                 \
        if (e_ != __WASI_ERRNO_BADF && e_ != __WASI_ERRNO_ISDIR &&                       \
            e_ != __WASI_ERRNO_NOTCAPABLE)                                               \
            FAIL("%s on a directory: errno %d (%s), want BADF, ISDIR or NOTCAPABLE",     \
                 #expr, e_, ename(e_));                                                  \
    } while (0)

static void sec_dir_ops(int argc, char **argv)
{
    int dir = scratch();
    char buf[16];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_ciovec_t ciov = {(const uint8_t *)buf, sizeof buf};
    __wasi_size_t n;
    CHECK_NOT_ON_DIR(__wasi_fd_read(dir, &iov, 1, &n));
    CHECK_NOT_ON_DIR(__wasi_fd_pread(dir, &iov, 1, 0, &n));
    CHECK_NOT_ON_DIR(__wasi_fd_write(dir, &ciov, 1, &n));
    CHECK_NOT_ON_DIR(__wasi_fd_pwrite(dir, &ciov, 1, 0, &n));
    CHECK_NOT_ON_DIR(__wasi_fd_filestat_set_size(dir, 0));
    CHECK_NOT_ON_DIR(__wasi_fd_allocate(dir, 0, 1));
    /* and a file is not a directory for path operations */
    int fd = new_file("plain.txt", 0);
    __wasi_fd_t out;
    CHECK_ERR(__wasi_path_open(fd, 0, "x", __WASI_OFLAGS_CREAT, 0, 0, 0, &out),
              __WASI_ERRNO_NOTDIR);
    CHECK_ERR(__wasi_path_create_directory(fd, "x"), __WASI_ERRNO_NOTDIR);
    CHECK_ERR3(__wasi_fd_readdir(fd, (uint8_t *)buf, sizeof buf, 0, &n), __WASI_ERRNO_NOTDIR,
               __WASI_ERRNO_BADF, __WASI_ERRNO_NOTCAPABLE);
    CHECK_OK(__wasi_fd_close(fd));
    printf("dir_ops: ok\n");
}

static const Section sections[] = {
    {"rw", sec_rw},
    {"pread_pwrite", sec_pread_pwrite},
    {"seek", sec_seek},
    {"seek_pipe", sec_seek_pipe},
    {"sync", sec_sync},
    {"advise", sec_advise},
    {"allocate", sec_allocate},
    {"close", sec_close},
    {"renumber", sec_renumber},
    {"fdstat", sec_fdstat},
    {"set_flags", sec_set_flags},
    {"set_rights", sec_set_rights},
    {"filestat", sec_filestat},
    {"set_times", sec_set_times},
    {"stdio", sec_stdio},
    {"badf", sec_badf},
    {"dir_ops", sec_dir_ops},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
