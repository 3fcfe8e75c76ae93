/* clocks.c — clock_res_get and clock_time_get for the four clocks of WASI preview 1:
 * realtime, monotonic, process CPU time and thread CPU time; and libc's views of them. */
#include <time.h>

#include "common.h"

// test: res
// expect: res: ok

// test: realtime {now}
// expect: realtime: ok

// test: monotonic
// expect: monotonic: ok

// test: cputime
// expect: cputime: ok

// test: cputime_sleep
// expect: cputime_sleep: ok

// test: thread_cputime_sleeps
// expect: thread_cputime_sleeps: ok

// test: bad_clock
// expect: bad_clock: ok

// test: libc {now}
// expect: libc: ok

static const __wasi_clockid_t clocks[] = {
    __WASI_CLOCKID_REALTIME, __WASI_CLOCKID_MONOTONIC,
    __WASI_CLOCKID_PROCESS_CPUTIME_ID, __WASI_CLOCKID_THREAD_CPUTIME_ID,
};

static void sec_res(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        __wasi_timestamp_t res = 0;
        CHECK_OK(__wasi_clock_res_get(clocks[i], &res));
        CHECK(res > 0 && res <= 1000000000ull, "clock %u: resolution %llu ns",
              (unsigned)clocks[i], (unsigned long long)res);
    }
    printf("res: ok\n");
}

static void sec_realtime(int argc, char **argv)
{
    CHECK(argc == 2, "want the host's time as an argument");
    long long host = atoll(argv[1]);
    uint64_t t = now_ns(__WASI_CLOCKID_REALTIME);
    long long guest = (long long)(t / 1000000000ull);
    CHECK(guest >= host - 5 && guest <= host + 120,
          "realtime %lld s, the host said %lld s when it started the test", guest, host);
    /* precision is a hint; any value is accepted */
    __wasi_timestamp_t t2;
    CHECK_OK(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1000000000ull, &t2));
    CHECK(t2 / 1000000000ull >= t / 1000000000ull - 1, "realtime went back a lot");
    printf("realtime: ok\n");
}

static void sec_monotonic(int argc, char **argv)
{
    uint64_t prev = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(prev > 0, "monotonic time is 0");
    uint64_t first = prev;
    for (int i = 0; i < 20000; i++) {
        uint64_t t = now_ns(__WASI_CLOCKID_MONOTONIC);
        CHECK(t >= prev, "monotonic went back: %llu after %llu", (unsigned long long)t,
              (unsigned long long)prev);
        prev = t;
    }
    CHECK(prev > first, "monotonic did not advance over 20000 calls");
    printf("monotonic: ok\n");
}

/* Spin until `id` has advanced by `ns` (at most 10 s of wall time); returns the wall
 * time it took. */
static volatile uint64_t sink;

static uint64_t burn(__wasi_clockid_t id, uint64_t ns)
{
    uint64_t c0 = now_ns(id), w0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    for (;;) {
        for (int i = 0; i < 10000; i++) sink += (uint64_t)i * i;
        uint64_t c = now_ns(id), w = now_ns(__WASI_CLOCKID_MONOTONIC);
        CHECK(c >= c0, "clock %u went back", (unsigned)id);
        if (c - c0 >= ns) return w - w0;
        CHECK(w - w0 < 10000000000ull, "clock %u advanced only %llu ns in 10 s of computing",
              (unsigned)id, (unsigned long long)(c - c0));
    }
}

static void sec_cputime(int argc, char **argv)
{
    /* CPU time advances while the guest computes ... */
    uint64_t w = burn(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 20000000);
    CHECK(w > 0, "no wall time passed");
    uint64_t t0 = now_ns(__WASI_CLOCKID_THREAD_CPUTIME_ID);
    uint64_t w0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    burn(__WASI_CLOCKID_THREAD_CPUTIME_ID, 20000000);
    uint64_t t1 = now_ns(__WASI_CLOCKID_THREAD_CPUTIME_ID);
    uint64_t w1 = now_ns(__WASI_CLOCKID_MONOTONIC);
    /* ... and one thread cannot use more CPU than wall time passed (a little slack for
     * the clocks' different resolutions) */
    CHECK(t1 - t0 <= (w1 - w0) + 5000000, "thread CPU time %llu ns in %llu ns of wall time",
          (unsigned long long)(t1 - t0), (unsigned long long)(w1 - w0));
    printf("cputime: ok\n");
}

/* Sleeping (poll_oneoff) does not count as process CPU time: it is not wall time. */
static void sec_cputime_sleep(int argc, char **argv)
{
    uint64_t p0 = now_ns(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
    uint64_t w0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    struct timespec ts = { 0, 200000000 };   /* 200 ms */
    CHECK(nanosleep(&ts, NULL) == 0, "nanosleep failed");
    uint64_t p1 = now_ns(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
    uint64_t w1 = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(w1 - w0 >= 200000000, "nanosleep(200 ms) took %llu ns", (unsigned long long)(w1 - w0));
    CHECK(p1 >= p0, "process CPU time went back across a sleep");
    CHECK(p1 - p0 < 150000000, "process CPU time advanced %llu ns during a 200 ms sleep",
          (unsigned long long)(p1 - p0));
    printf("cputime_sleep: ok\n");
}

/* The guest's thread CPU time is its own: it never goes back, and it does not count
 * time asleep, wherever the host runs the guest after a sleep (a host that parks a
 * sleeping guest and resumes it on another OS thread must not report that thread's
 * clock). */
static void sec_thread_cputime_sleeps(int argc, char **argv)
{
    uint64_t prev = now_ns(__WASI_CLOCKID_THREAD_CPUTIME_ID), first = prev;
    uint64_t w0 = now_ns(__WASI_CLOCKID_MONOTONIC);
    for (int i = 0; i < 50; i++) {
        struct timespec ts = {0, 4000000};   /* 4 ms */
        CHECK(nanosleep(&ts, NULL) == 0, "nanosleep");
        uint64_t t = now_ns(__WASI_CLOCKID_THREAD_CPUTIME_ID);
        CHECK(t >= prev, "thread CPU time went back by %llu ns across sleep %d",
              (unsigned long long)(prev - t), i);
        prev = t;
    }
    uint64_t w1 = now_ns(__WASI_CLOCKID_MONOTONIC);
    CHECK(w1 - w0 >= 200000000, "50 sleeps of 4 ms took %llu ns", (unsigned long long)(w1 - w0));
    CHECK(prev - first < (w1 - w0) / 2, "thread CPU time advanced %llu ns in %llu ns of "
          "mostly sleeping", (unsigned long long)(prev - first), (unsigned long long)(w1 - w0));
    printf("thread_cputime_sleeps: ok\n");
}

static void sec_bad_clock(int argc, char **argv)
{
    __wasi_timestamp_t t = 77;
    CHECK_ERR(__wasi_clock_time_get(4, 0, &t), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_clock_time_get(1000, 0, &t), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_clock_time_get(0xFFFFFFFFu, 0, &t), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_clock_res_get(4, &t), __WASI_ERRNO_INVAL);
    CHECK_ERR(__wasi_clock_res_get(0x80000000u, &t), __WASI_ERRNO_INVAL);
    CHECK(t == 77, "a failed call wrote its result");
    printf("bad_clock: ok\n");
}

static void sec_libc(int argc, char **argv)
{
    CHECK(argc == 2, "want the host's time as an argument");
    long long host = atoll(argv[1]);
    time_t now = time(NULL);
    CHECK(now >= host - 5 && now <= host + 120, "time() = %lld, host %lld", (long long)now, host);
    struct timespec a, b, r;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0, "clock_gettime(MONOTONIC)");
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0, "clock_gettime(MONOTONIC)");
    CHECK(b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec),
          "CLOCK_MONOTONIC went back");
    CHECK(clock_gettime(CLOCK_REALTIME, &a) == 0 && a.tv_sec >= host - 5,
          "clock_gettime(REALTIME)");
    CHECK(clock_getres(CLOCK_MONOTONIC, &r) == 0 && (r.tv_sec > 0 || r.tv_nsec > 0),
          "clock_getres(MONOTONIC)");
    CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a) == 0, "clock_gettime(PROCESS_CPUTIME)");
    printf("libc: ok\n");
}

static const Section sections[] = {
    {"res", sec_res},
    {"realtime", sec_realtime},
    {"monotonic", sec_monotonic},
    {"cputime", sec_cputime},
    {"cputime_sleep", sec_cputime_sleep},
    {"thread_cputime_sleeps", sec_thread_cputime_sleeps},
    {"bad_clock", sec_bad_clock},
    {"libc", sec_libc},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
