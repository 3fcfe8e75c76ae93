/* poll.c — poll_oneoff: clock subscriptions (relative and absolute, monotonic and
 * realtime) really wait at least their time; fd_read and fd_write subscriptions on files,
 * stdout and a stdin pipe that gets data only later; several subscriptions at once; and
 * the errors. Also libc's sleeps, which are poll_oneoff underneath. */
#include <time.h>
#include <unistd.h>

#include "common.h"

// test: clock_relative
// expect: clock_relative: ok

// test: clock_absolute
// expect: clock_absolute: ok

// test: several_clocks
// expect: several_clocks: ok

// test: files
// lvm: --dir {scratch}::/scratch
// expect: files: ok

// test: stdin_later
// setup: stdin_later 2 hello
// expect: stdin_later: ok

// test: errors
// expect: errors: ok

// test: libc_sleep
// expect: libc_sleep: ok

#define MS 1000000ull

static __wasi_subscription_t clock_sub(uint64_t userdata, __wasi_clockid_t id,
                                       uint64_t timeout, int flags)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = userdata;
    s.u.tag = __WASI_EVENTTYPE_CLOCK;
    s.u.u.clock.id = id;
    s.u.u.clock.timeout = timeout;
    s.u.u.clock.precision = 0;
    s.u.u.clock.flags = flags;
    return s;
}

static __wasi_subscription_t fd_sub(uint64_t userdata, int type, int fd)
{
    __wasi_subscription_t s;
    memset(&s, 0, sizeof s);
    s.userdata = userdata;
    s.u.tag = type;
    if (type == __WASI_EVENTTYPE_FD_READ) s.u.u.fd_read.file_descriptor = fd;
    else s.u.u.fd_write.file_descriptor = fd;
    return s;
}

/* poll_oneoff; returns the number of events, each checked for sanity. */
static int poll(const __wasi_subscription_t *in, __wasi_event_t *out, int n)
{
    memset(out, 0xCC, n * sizeof *out);
    __wasi_size_t nev = 12345;
    CHECK_OK(__wasi_poll_oneoff(in, out, n, &nev));
    CHECK(nev >= 1 && (int)nev <= n, "poll_oneoff gave %u events for %d subscriptions",
          (unsigned)nev, n);
    for (int i = 0; i < (int)nev; i++) {
        int k;
        for (k = 0; k < n && in[k].userdata != out[i].userdata; k++) {}
        CHECK(k < n, "event %d has userdata %llu, which no subscription has", i,
              (unsigned long long)out[i].userdata);
        CHECK(out[i].type == in[k].u.tag, "event %d: type %d for a subscription of type %d", i,
              out[i].type, in[k].u.tag);
    }
    return (int)nev;
}

/* Sleep `ns` on `id` through one clock subscription; returns the monotonic time it took. */
static uint64_t sleep_on(__wasi_clockid_t id, uint64_t ns, int flags, uint64_t timeout)
{
    __wasi_subscription_t s = clock_sub(0x1234567890ABCDEFull, id, timeout, flags);
    __wasi_event_t ev;
    uint64_t t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(poll(&s, &ev, 1) == 1, "one event");
    uint64_t t1 = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(ev.error == 0, "clock event error %d", ev.error);
    CHECK(ev.userdata == 0x1234567890ABCDEFull, "userdata not kept");
    CHECK(t1 - t0 >= ns, "a %llu ns sleep on clock %u took %llu ns", (unsigned long long)ns,
          (unsigned)id, (unsigned long long)(t1 - t0));
    return t1 - t0;
}

static void sec_clock_relative(int argc, char **argv)
{
    uint64_t d = sleep_on(__WASI_CLOCKID_MONOTONIC, 20 * MS, 0, 20 * MS);
    CHECK(d < 5000 * MS, "a 20 ms sleep took %llu ms", (unsigned long long)(d / MS));
    sleep_on(__WASI_CLOCKID_REALTIME, 20 * MS, 0, 20 * MS);
    /* zero: returns at once */
    d = sleep_on(__WASI_CLOCKID_MONOTONIC, 0, 0, 0);
    CHECK(d < 1000 * MS, "a zero timeout took %llu ms", (unsigned long long)(d / MS));
    printf("clock_relative: ok\n");
}

static void sec_clock_absolute(int argc, char **argv)
{
    const int abs = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    uint64_t deadline = now_ns(__WASI_CLOCKID_MONOTONIC) + 30 * MS;
    sleep_on(__WASI_CLOCKID_MONOTONIC, 0, abs, deadline);
    CHECK(now_ns(__WASI_CLOCKID_MONOTONIC) >= deadline, "woke before the monotonic deadline");
    uint64_t rdeadline = now_ns(__WASI_CLOCKID_REALTIME) + 30 * MS;
    sleep_on(__WASI_CLOCKID_REALTIME, 0, abs, rdeadline);
    CHECK(now_ns(__WASI_CLOCKID_REALTIME) >= rdeadline, "woke before the realtime deadline");
    /* a deadline in the past: at once */
    uint64_t d = sleep_on(__WASI_CLOCKID_MONOTONIC, 0, abs, 1);
    CHECK(d < 1000 * MS, "a past deadline took %llu ms", (unsigned long long)(d / MS));
    printf("clock_absolute: ok\n");
}

static void sec_several_clocks(int argc, char **argv)
{
    /* the earliest fires, the others do not */
    __wasi_subscription_t in[3] = {
        clock_sub(1, __WASI_CLOCKID_MONOTONIC, 10000 * MS, 0),
        clock_sub(2, __WASI_CLOCKID_MONOTONIC, 30 * MS, 0),
        clock_sub(3, __WASI_CLOCKID_REALTIME, 20000 * MS, 0),
    };
    __wasi_event_t out[3];
    uint64_t t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    int n = poll(in, out, 3);
    uint64_t t1 = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(n == 1 && out[0].userdata == 2, "%d events, first userdata %llu", n,
          (unsigned long long)out[0].userdata);
    CHECK(t1 - t0 >= 30 * MS && t1 - t0 < 9000 * MS, "took %llu ms",
          (unsigned long long)((t1 - t0) / MS));
    /* two that are both due: both may be reported; at least one is */
    __wasi_subscription_t due[2] = {
        clock_sub(7, __WASI_CLOCKID_MONOTONIC, 0, 0),
        clock_sub(8, __WASI_CLOCKID_MONOTONIC, 0, 0),
    };
    n = poll(due, out, 2);
    CHECK(n >= 1 && out[0].error == 0, "two due clocks");
    printf("several_clocks: ok\n");
}

static void sec_files(int argc, char **argv)
{
    int dir = preopen_fd("/scratch");
    put_file(dir, "data", "some bytes");
    int rd, wr;
    CHECK_OK(open_at(dir, "data", 0, 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_POLL_FD_READWRITE,
                     0, &rd));
    CHECK_OK(open_at(dir, "out", 0, __WASI_OFLAGS_CREAT,
                     __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_POLL_FD_READWRITE, 0, &wr));
    /* regular files are always ready; a long clock next to them does not fire */
    __wasi_subscription_t in[4] = {
        fd_sub(1, __WASI_EVENTTYPE_FD_READ, rd),
        fd_sub(2, __WASI_EVENTTYPE_FD_WRITE, wr),
        fd_sub(3, __WASI_EVENTTYPE_FD_WRITE, 1),   /* stdout, a pipe with room */
        clock_sub(4, __WASI_CLOCKID_MONOTONIC, 10000 * MS, 0),
    };
    int seen[5] = {0};
    uint64_t t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    for (int round = 0; round < 3 && !(seen[1] && seen[2] && seen[3]); round++) {
        __wasi_event_t out[4];
        int n = poll(in, out, 4);
        for (int i = 0; i < n; i++) {
            CHECK(out[i].error == 0, "event for userdata %llu: error %d",
                  (unsigned long long)out[i].userdata, out[i].error);
            seen[out[i].userdata]++;
        }
    }
    CHECK(seen[1] && seen[2] && seen[3], "ready fds not all reported: read %d, write %d, "
          "stdout %d", seen[1], seen[2], seen[3]);
    CHECK(!seen[4], "the 10 s clock fired");
    CHECK(now_ns(__WASI_CLOCKID_MONOTONIC) - t0 < 5000 * MS, "ready fds took seconds");
    CHECK_OK(__wasi_fd_close(rd));
    CHECK_OK(__wasi_fd_close(wr));
    printf("files: ok\n");
}

/* stdin is a pipe from the driver that stays empty for 2 s, then gets "hello\n" and is
 * closed. */
static void sec_stdin_later(int argc, char **argv)
{
    __wasi_event_t out[2];
    /* nothing to read yet: the clock fires, not stdin */
    __wasi_subscription_t first[2] = {
        fd_sub(1, __WASI_EVENTTYPE_FD_READ, 0),
        clock_sub(2, __WASI_CLOCKID_MONOTONIC, 200 * MS, 0),
    };
    int n = poll(first, out, 2);
    CHECK(n == 1 && out[0].userdata == 2, "with an empty stdin: %d events, first userdata "
          "%llu", n, (unsigned long long)out[0].userdata);
    /* then the data comes: stdin fires, well before the 20 s clock */
    __wasi_subscription_t second[2] = {
        fd_sub(1, __WASI_EVENTTYPE_FD_READ, 0),
        clock_sub(2, __WASI_CLOCKID_MONOTONIC, 20000 * MS, 0),
    };
    uint64_t t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    n = poll(second, out, 2);
    uint64_t t1 = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(n == 1 && out[0].userdata == 1, "waiting for stdin: %d events, first userdata %llu",
          n, (unsigned long long)out[0].userdata);
    CHECK(out[0].error == 0, "stdin event error %d", out[0].error);
    CHECK(t1 - t0 < 15000 * MS, "stdin took %llu ms", (unsigned long long)((t1 - t0) / MS));
    char buf[16] = "";
    size_t got = read_some(0, buf, sizeof buf - 1);
    CHECK(got == 6 && strcmp(buf, "hello\n") == 0, "read %zu bytes '%s'", got, buf);
    /* at EOF stdin is readable too (the read gives 0) */
    n = poll(second, out, 2);
    CHECK(n >= 1 && out[0].userdata == 1, "stdin at EOF is not readable");
    CHECK(read_some(0, buf, sizeof buf) == 0, "stdin after EOF");
    printf("stdin_later: ok\n");
}

static void sec_errors(int argc, char **argv)
{
    __wasi_subscription_t s = clock_sub(1, __WASI_CLOCKID_MONOTONIC, 0, 0);
    __wasi_event_t ev[2];
    __wasi_size_t n;
    /* no subscriptions: EINVAL (Wasmtime) */
    CHECK_ERR(__wasi_poll_oneoff(&s, ev, 0, &n), __WASI_ERRNO_INVAL);
    /* a bad fd: an error from poll_oneoff or an event carrying BADF */
    __wasi_subscription_t bad[2] = {
        fd_sub(5, __WASI_EVENTTYPE_FD_READ, 999),
        clock_sub(6, __WASI_CLOCKID_MONOTONIC, 5000 * MS, 0),
    };
    int e = __wasi_poll_oneoff(bad, ev, 2, &n);
    if (e == 0) {
        CHECK(n >= 1 && ev[0].userdata == 5 && ev[0].error == __WASI_ERRNO_BADF,
              "a bad fd gave %u events, first userdata %llu error %d", (unsigned)n,
              (unsigned long long)ev[0].userdata, ev[0].error);
    } else {
        CHECK_ERR(e, __WASI_ERRNO_BADF);
    }
    /* an unknown clock */
    __wasi_subscription_t badclock = clock_sub(9, 77, 0, 0);
    e = __wasi_poll_oneoff(&badclock, ev, 1, &n);
    if (e == 0)
        CHECK(n == 1 && ev[0].error == __WASI_ERRNO_INVAL, "an unknown clock: error %d",
              ev[0].error);
    else
        CHECK_ERR(e, __WASI_ERRNO_INVAL);
    /* an unknown event type */
    __wasi_subscription_t badtype = clock_sub(10, __WASI_CLOCKID_MONOTONIC, 0, 0);
    badtype.u.tag = 7;
    e = __wasi_poll_oneoff(&badtype, ev, 1, &n);
    if (e == 0)
        CHECK(n == 1 && ev[0].error != 0, "an unknown event type: no error");
    else
        CHECK_ERR(e, __WASI_ERRNO_INVAL);
    printf("errors: ok\n");
}

static void sec_libc_sleep(int argc, char **argv)
{
    uint64_t t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    struct timespec ts = {0, 30 * MS};
    CHECK(nanosleep(&ts, NULL) == 0, "nanosleep");
    uint64_t t1 = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(t1 - t0 >= 30 * MS, "nanosleep(30 ms) took %llu ns", (unsigned long long)(t1 - t0));
    CHECK(usleep(20000) == 0, "usleep");
    uint64_t t2 = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(t2 - t1 >= 20 * MS, "usleep(20 ms) took %llu ns", (unsigned long long)(t2 - t1));
    struct timespec abs;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &abs) == 0, "clock_gettime");
    abs.tv_nsec += 25 * MS;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0, "clock_nanosleep");
    struct timespec now;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &now) == 0, "clock_gettime");
    CHECK(now.tv_sec > abs.tv_sec || (now.tv_sec == abs.tv_sec && now.tv_nsec >= abs.tv_nsec),
          "clock_nanosleep(TIMER_ABSTIME) woke early");
    printf("libc_sleep: ok\n");
}

static const Section sections[] = {
    {"clock_relative", sec_clock_relative},
    {"clock_absolute", sec_clock_absolute},
    {"several_clocks", sec_several_clocks},
    {"files", sec_files},
    {"stdin_later", sec_stdin_later},
    {"errors", sec_errors},
    {"libc_sleep", sec_libc_sleep},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
