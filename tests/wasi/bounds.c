/* bounds.c — every pointer and length a guest passes is checked against its memory: a
 * range that does not fit (past the end, wrapping around 4 GiB, a huge length, a huge
 * count of iovecs or subscriptions) gives EFAULT, or traps; never a host read or write
 * out of bounds (the ASan build would see one), never a partial write into the guest's
 * last bytes. One case per run, since a trap ends it. A zero-length range that ends
 * exactly at the end of memory is in bounds, as in Wasm's own memory instructions. */
#include "common.h"

// test: path_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: path_wrap
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: path_huge_len
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: open_result_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: write_iovs_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: write_iovs_count_huge
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: write_buf_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: write_buf_huge
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: write_len_sum_wraps
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: write_result_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: write_zero_at_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// expect: ok

// test: read_buf_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: read_buf_huge
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: read_iovs_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: pread_buf_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: pwrite_buf_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: args_past_end
// or-trap:
// expect: ok

// test: args_sizes_past_end
// or-trap:
// expect: ok

// test: environ_past_end
// lvm: --env A=B
// or-trap:
// expect: ok

// test: clock_past_end
// or-trap:
// expect: ok

// test: random_past_end
// or-trap:
// expect: ok

// test: random_huge
// or-trap:
// expect: ok

// test: random_zero_at_end
// expect: ok

// test: prestat_name_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: prestat_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: readdir_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: readlink_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: stat_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: poll_in_past_end
// or-trap:
// expect: ok

// test: poll_out_past_end
// or-trap:
// expect: ok

// test: poll_count_huge
// or-trap:
// expect: ok

// test: seek_result_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

// test: symlink_paths_past_end
// lvm: --dir {scratch}::/sandbox
// setup: sandbox
// or-trap:
// expect: ok

#define FAULT __WASI_ERRNO_FAULT
#define R(x) __WASI_RIGHTS_##x

/* The first address past the guest's memory. */
static uint32_t mem_end(void)
{
    return (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
}

/* The last n bytes of memory, filled with a pattern to see whether anything wrote there. */
static void mark_end(uint32_t n)
{
    memset((void *)(uintptr_t)(mem_end() - n), 0xA7, n);
}

static void check_end_untouched(uint32_t n)
{
    const uint8_t *p = (const uint8_t *)(uintptr_t)(mem_end() - n);
    for (uint32_t i = 0; i < n; i++)
        CHECK(p[i] == 0xA7, "byte %u before the end of memory was written after EFAULT", i);
}

static int file_fd(void)
{
    put_file(3, "data.txt", "0123456789abcdefghijklmnopqrstuvwxyz");
    int fd;
    CHECK_OK(open_at(3, "data.txt", 0, 0, R(FD_READ) | R(FD_WRITE) | R(FD_SEEK) | R(FD_TELL), 0,
                     &fd));
    return fd;
}

static __wasi_fd_t out_fd;
static __wasi_size_t out_n;
static uint64_t out64;

static void path_past_end(void)
{
    uint32_t p = mem_end() - 3;
    memcpy((void *)(uintptr_t)p, "ins", 3);
    CHECK_ERR(raw_path_open(3, 0, p, 10, 0, R(FD_READ), 0, 0, P(&out_fd)), FAULT);
}

static void path_wrap(void)
{
    CHECK_ERR(raw_path_open(3, 0, (ptr32)0xFFFFFFF0u, 0x20, 0, R(FD_READ), 0, 0, P(&out_fd)),
              FAULT);
}

static void path_huge_len(void)
{
    static const char path[] = "inside.txt";
    CHECK_ERR2(raw_path_open(3, 0, P(path), 0x7FFFFFFF, 0, R(FD_READ), 0, 0, P(&out_fd)),
               FAULT, __WASI_ERRNO_NAMETOOLONG);
    CHECK_ERR2(raw_path_open(3, 0, P(path), (int32_t)0xFFFFFFFFu, 0, R(FD_READ), 0, 0,
                             P(&out_fd)), FAULT, __WASI_ERRNO_NAMETOOLONG);
}

static void open_result_past_end(void)
{
    static const char path[] = "inside.txt";
    CHECK_ERR(raw_path_open(3, 0, P(path), 10, 0, R(FD_READ), 0, 0, (ptr32)(mem_end() - 2)),
              FAULT);
    CHECK_ERR(raw_path_open(3, 0, P(path), 10, 0, R(FD_READ), 0, 0, (ptr32)0xFFFFFFFFu), FAULT);
}

static void write_iovs_past_end(void)
{
    int fd = file_fd();
    CHECK_ERR(raw_fd_write(fd, (ptr32)(mem_end() - 4), 1, P(&out_n)), FAULT);
    CHECK_ERR(raw_fd_write(fd, (ptr32)0xFFFFFFF8u, 2, P(&out_n)), FAULT);
}

static void write_iovs_count_huge(void)
{
    int fd = file_fd();
    static __wasi_ciovec_t iov[2] = {{(const uint8_t *)"ab", 2}, {(const uint8_t *)"cd", 2}};
    /* 0x20000000 iovecs of 8 bytes: 4 GiB, which wraps to 0 in 32-bit arithmetic */
    CHECK_ERR2(raw_fd_write(fd, P(iov), 0x20000000, P(&out_n)), FAULT, __WASI_ERRNO_INVAL);
    CHECK_ERR2(raw_fd_write(fd, P(iov), (int32_t)0xFFFFFFFFu, P(&out_n)), FAULT,
               __WASI_ERRNO_INVAL);
}

static void write_buf_past_end(void)
{
    int fd = file_fd();
    static __wasi_ciovec_t iov;
    iov.buf = (const uint8_t *)(uintptr_t)(mem_end() - 2);
    iov.buf_len = 10;
    CHECK_ERR(raw_fd_write(fd, P(&iov), 1, P(&out_n)), FAULT);
    iov.buf = (const uint8_t *)(uintptr_t)0xFFFFFFF0u;
    iov.buf_len = 0x20;
    CHECK_ERR(raw_fd_write(fd, P(&iov), 1, P(&out_n)), FAULT);
}

static void write_buf_huge(void)
{
    int fd = file_fd();
    static __wasi_ciovec_t iov = {(const uint8_t *)"x", 0xFFFFFFFFu};
    CHECK_ERR(raw_fd_write(fd, P(&iov), 1, P(&out_n)), FAULT);
    /* and to stdout, where a host write() of that range would leak memory to the pipe */
    CHECK_ERR(raw_fd_write(1, P(&iov), 1, P(&out_n)), FAULT);
}

static void write_len_sum_wraps(void)
{
    int fd = file_fd();
    static __wasi_ciovec_t iov[2] = {{(const uint8_t *)"x", 0x80000001u},
                                     {(const uint8_t *)"y", 0x80000001u}};
    CHECK_ERR2(raw_fd_write(fd, P(iov), 2, P(&out_n)), FAULT, __WASI_ERRNO_INVAL);
}

static void write_result_past_end(void)
{
    int fd = file_fd();
    static __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
    mark_end(2);
    CHECK_ERR(raw_fd_write(fd, P(&iov), 1, (ptr32)(mem_end() - 2)), FAULT);
    check_end_untouched(2);
}

static void write_zero_at_end(void)
{
    int fd = file_fd();
    static __wasi_ciovec_t iov;
    iov.buf = (const uint8_t *)(uintptr_t)mem_end();
    iov.buf_len = 0;
    out_n = 99;
    CHECK_OK(raw_fd_write(fd, P(&iov), 1, P(&out_n)));
    CHECK(out_n == 0, "wrote %u bytes", (unsigned)out_n);
}

static void read_buf_past_end(void)
{
    int fd = file_fd();
    static __wasi_iovec_t iov;
    iov.buf = (uint8_t *)(uintptr_t)(mem_end() - 2);
    iov.buf_len = 10;
    mark_end(2);
    CHECK_ERR(raw_fd_read(fd, P(&iov), 1, P(&out_n)), FAULT);
    check_end_untouched(2);
}

static void read_buf_huge(void)
{
    int fd = file_fd();
    static uint8_t buf[16];
    static __wasi_iovec_t iov = {buf, 0xFFFFFFFFu};
    CHECK_ERR(raw_fd_read(fd, P(&iov), 1, P(&out_n)), FAULT);
    /* two iovecs, the second out of range: nothing read into the first either way */
    static __wasi_iovec_t two[2];
    two[0].buf = buf;
    two[0].buf_len = 4;
    two[1].buf = (uint8_t *)(uintptr_t)(mem_end() - 1);
    two[1].buf_len = 8;
    CHECK_ERR(raw_fd_read(fd, P(two), 2, P(&out_n)), FAULT);
}

static void read_iovs_past_end(void)
{
    int fd = file_fd();
    CHECK_ERR(raw_fd_read(fd, (ptr32)(mem_end() - 4), 1, P(&out_n)), FAULT);
    CHECK_ERR2(raw_fd_read(fd, P(&out64), 0x20000000, P(&out_n)), FAULT, __WASI_ERRNO_INVAL);
}

static void pread_buf_past_end(void)
{
    int fd = file_fd();
    static __wasi_iovec_t iov;
    iov.buf = (uint8_t *)(uintptr_t)(mem_end() - 3);
    iov.buf_len = 16;
    mark_end(3);
    CHECK_ERR(raw_fd_pread(fd, P(&iov), 1, 0, P(&out_n)), FAULT);
    check_end_untouched(3);
}

static void pwrite_buf_past_end(void)
{
    int fd = file_fd();
    static __wasi_ciovec_t iov;
    iov.buf = (const uint8_t *)(uintptr_t)(mem_end() - 3);
    iov.buf_len = 16;
    CHECK_ERR(raw_fd_pwrite(fd, P(&iov), 1, 0, P(&out_n)), FAULT);
}

static void args_past_end(void)
{
    static uint32_t ptrs[8];
    mark_end(4);
    CHECK_ERR(raw_args_get((ptr32)(mem_end() - 4), P(ptrs)), FAULT);   /* the pointers */
    CHECK_ERR(raw_args_get(P(ptrs), (ptr32)(mem_end() - 4)), FAULT);   /* the strings */
    check_end_untouched(4);
}

static void args_sizes_past_end(void)
{
    static uint32_t n;
    CHECK_ERR(raw_args_sizes_get((ptr32)(mem_end() - 2), P(&n)), FAULT);
    CHECK_ERR(raw_args_sizes_get(P(&n), (ptr32)(mem_end() - 2)), FAULT);
    CHECK_ERR(raw_environ_sizes_get((ptr32)0xFFFFFFFEu, P(&n)), FAULT);
}

static void environ_past_end(void)
{
    static uint32_t ptrs[8];
    CHECK_ERR(raw_environ_get((ptr32)(mem_end() - 2), P(ptrs)), FAULT);
    mark_end(3);
    CHECK_ERR(raw_environ_get(P(ptrs), (ptr32)(mem_end() - 3)), FAULT);   /* "A=B\0" */
    check_end_untouched(3);
}

static void clock_past_end(void)
{
    mark_end(4);
    CHECK_ERR(raw_clock_time_get(__WASI_CLOCKID_MONOTONIC, 0, (ptr32)(mem_end() - 4)), FAULT);
    CHECK_ERR(raw_clock_res_get(__WASI_CLOCKID_MONOTONIC, (ptr32)(mem_end() - 4)), FAULT);
    CHECK_ERR(raw_clock_time_get(__WASI_CLOCKID_REALTIME, 0, (ptr32)0xFFFFFFFCu), FAULT);
    check_end_untouched(4);
}

static void random_past_end(void)
{
    mark_end(10);
    CHECK_ERR(raw_random_get((ptr32)(mem_end() - 10), 100), FAULT);
    check_end_untouched(10);
    CHECK_ERR(raw_random_get((ptr32)0xFFFFFFF0u, 0x20), FAULT);
}

static void random_huge(void)
{
    static uint8_t buf[16];
    CHECK_ERR(raw_random_get(P(buf), 0x7FFFFFFF), FAULT);
    CHECK_ERR(raw_random_get(P(buf), (int32_t)0xFFFFFFFFu), FAULT);
}

static void random_zero_at_end(void)
{
    CHECK_OK(raw_random_get((ptr32)mem_end(), 0));
}

static void prestat_name_past_end(void)
{
    mark_end(3);
    CHECK_ERR(raw_fd_prestat_dir_name(3, (ptr32)(mem_end() - 3), 8), FAULT);
    check_end_untouched(3);
    static char buf[16];
    CHECK_ERR(raw_fd_prestat_dir_name(3, P(buf), 0x7FFFFFFF), FAULT);
}

static void prestat_past_end(void)
{
    CHECK_ERR(raw_fd_prestat_get(3, (ptr32)(mem_end() - 4)), FAULT);
    CHECK_ERR(raw_fd_fdstat_get(3, (ptr32)(mem_end() - 8)), FAULT);
}

static void readdir_past_end(void)
{
    mark_end(10);
    CHECK_ERR(raw_fd_readdir(3, (ptr32)(mem_end() - 10), 100, 0, P(&out_n)), FAULT);
    check_end_untouched(10);
    static uint8_t buf[64];
    CHECK_ERR(raw_fd_readdir(3, P(buf), 0x7FFFFFFF, 0, P(&out_n)), FAULT);
    CHECK_ERR(raw_fd_readdir(3, P(buf), sizeof buf, 0, (ptr32)(mem_end() - 1)), FAULT);
}

static void readlink_past_end(void)
{
    mark_end(4);
    CHECK_ERR(raw_path_readlink(3, P("escape"), 6, (ptr32)(mem_end() - 4), 64, P(&out_n)),
              FAULT);
    check_end_untouched(4);
    static uint8_t buf[64];
    CHECK_ERR(raw_path_readlink(3, P("escape"), 6, P(buf), 0x7FFFFFFF, P(&out_n)), FAULT);
    CHECK_ERR(raw_path_readlink(3, (ptr32)(mem_end() - 2), 6, P(buf), 64, P(&out_n)), FAULT);
}

static void stat_past_end(void)
{
    mark_end(16);
    CHECK_ERR(raw_fd_filestat_get(3, (ptr32)(mem_end() - 16)), FAULT);
    CHECK_ERR(raw_path_filestat_get(3, 0, P("inside.txt"), 10, (ptr32)(mem_end() - 16)), FAULT);
    check_end_untouched(16);
    static __wasi_filestat_t st;
    CHECK_ERR(raw_path_filestat_get(3, 0, (ptr32)(mem_end() - 5), 10, P(&st)), FAULT);
}

static void poll_in_past_end(void)
{
    static __wasi_event_t ev[2];
    CHECK_ERR(raw_poll_oneoff((ptr32)(mem_end() - 16), P(ev), 1, P(&out_n)), FAULT);
}

static __wasi_subscription_t zero_clock(void)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    return s;
}

static void poll_out_past_end(void)
{
    static __wasi_subscription_t s;
    s = zero_clock();
    mark_end(8);
    CHECK_ERR(raw_poll_oneoff(P(&s), (ptr32)(mem_end() - 8), 1, P(&out_n)), FAULT);
    check_end_untouched(8);
}

static void poll_count_huge(void)
{
    static __wasi_subscription_t s[2];
    static __wasi_event_t ev[2];
    s[0] = s[1] = zero_clock();
    /* 0x5555556 subscriptions of 48 bytes: 4 GiB + 16, which wraps in 32 bits */
    CHECK_ERR2(raw_poll_oneoff(P(s), P(ev), 0x5555556, P(&out_n)), FAULT, __WASI_ERRNO_INVAL);
    CHECK_ERR2(raw_poll_oneoff(P(s), P(ev), (int32_t)0xFFFFFFFFu, P(&out_n)), FAULT,
               __WASI_ERRNO_INVAL);
}

static void seek_result_past_end(void)
{
    int fd = file_fd();
    mark_end(4);
    CHECK_ERR(raw_fd_seek(fd, 0, __WASI_WHENCE_SET, (ptr32)(mem_end() - 4)), FAULT);
    CHECK_ERR(raw_fd_tell(fd, (ptr32)(mem_end() - 4)), FAULT);
    check_end_untouched(4);
}

static void symlink_paths_past_end(void)
{
    CHECK_ERR(raw_path_symlink((ptr32)(mem_end() - 2), 8, 3, P("newlink"), 7), FAULT);
    CHECK_ERR(raw_path_symlink(P("target"), 6, 3, (ptr32)(mem_end() - 2), 8), FAULT);
    CHECK_ERR(raw_path_rename(3, P("inside.txt"), 10, 3, (ptr32)0xFFFFFFFFu, 2), FAULT);
    CHECK_ERR(raw_path_unlink_file(3, (ptr32)(mem_end() - 1), 2), FAULT);
    CHECK_ERR(raw_path_create_directory(3, (ptr32)(mem_end() - 1), 2), FAULT);
    /* nothing was made from a partial name */
    __wasi_filestat_t st;
    CHECK_ERR(__wasi_path_filestat_get(3, 0, "newlink", &st), __WASI_ERRNO_NOENT);
}

#define CASE(f) {#f, f}
static const struct { const char *name; void (*run)(void); } cases[] = {
    CASE(path_past_end), CASE(path_wrap), CASE(path_huge_len), CASE(open_result_past_end),
    CASE(write_iovs_past_end), CASE(write_iovs_count_huge), CASE(write_buf_past_end),
    CASE(write_buf_huge), CASE(write_len_sum_wraps), CASE(write_result_past_end),
    CASE(write_zero_at_end), CASE(read_buf_past_end), CASE(read_buf_huge),
    CASE(read_iovs_past_end), CASE(pread_buf_past_end), CASE(pwrite_buf_past_end),
    CASE(args_past_end), CASE(args_sizes_past_end), CASE(environ_past_end),
    CASE(clock_past_end), CASE(random_past_end), CASE(random_huge), CASE(random_zero_at_end),
    CASE(prestat_name_past_end), CASE(prestat_past_end), CASE(readdir_past_end),
    CASE(readlink_past_end), CASE(stat_past_end), CASE(poll_in_past_end),
    CASE(poll_out_past_end), CASE(poll_count_huge), CASE(seek_result_past_end),
    CASE(symlink_paths_past_end),
};

int main(int argc, char **argv)
{
    CHECK(argc == 2, "usage: bounds CASE");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (strcmp(cases[i].name, argv[1]) == 0) {
            cases[i].run();
            printf("ok\n");
            return 0;
        }
    }
    FAIL("unknown case %s", argv[1]);
}
