/*
 * poll.c — waiting: poll_oneoff, and wasi_wait(), the readiness check every blocking
 * call makes first.
 *
 * Where it sits: fd.c and sock.c call wasi_wait() before a read, write, accept, recv or
 * send that could block; poll_oneoff is the guest's own way to wait (it is also how
 * wasi-libc implements sleep(), nanosleep() and clock_nanosleep()).
 *
 * Blocking (DESIGN decision 7, and wasi.h). Both functions first look without side
 * effects (poll(2) with a zero timeout, the clock) and only then wait. How they wait is
 * the context's WasiWaiter: without one (a lone process) the calling thread waits in
 * poll(2); with the scheduler's (hostfns/runtime.c) the process is parked on (host fds,
 * deadline) and the call returns WASI_BLOCKED, so the host function returns HOST_BLOCK
 * having done nothing and runs again from the start when the process is woken. A
 * relative clock timeout is armed by the waiter on the first try and kept across
 * restarts, so a restarted poll_oneoff does not wait the whole timeout again.
 *
 * Read next: sock.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wasi_internal.h"

#define MAX_SUBSCRIPTIONS 65536   /* more is EINVAL: bounds the host memory we allocate */

uint32_t wasi_wait(WasiCall *c, const WasiFd *f, short events)
{
    struct pollfd p = { .fd = f->host, .events = events };
    int n = poll(&p, 1, 0);
    if (n > 0) {                       /* ready, or an error the operation will report */
        wasi_wait_done(c);             /* (ends a wait of an earlier try, if any) */
        return WASI_ESUCCESS;
    }
    if (n < 0 && errno != EINTR) return wasi_errno(errno);
    if (f->flags & WASI_FDFLAG_NONBLOCK) return WASI_EAGAIN;
    const WasiWaiter *w = &c->ctx->waiter;
    if (w->wait && w->wait(w->env, c->exec, &p, 1, -1) == WASI_WAIT_BLOCK)
        return WASI_BLOCKED;   /* parked: the call runs again when the fd is ready */
    /* No scheduler (or it could not park us): this thread waits. */
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {}
    return WASI_ESUCCESS;
}

void wasi_wait_done(WasiCall *c)
{
    const WasiWaiter *w = &c->ctx->waiter;
    if (w->done)
        w->done(w->env, c->exec);
}

void wasi_set_waiter(WasiCtx *ctx, const WasiWaiter *waiter)
{
    ctx->waiter = *waiter;
}

/* ---- poll_oneoff ---------------------------------------------------------------------- */

/* One subscription (48 bytes in the guest: userdata u64 @0, tag u8 @8, then @16 either
 * clock {id u32, timeout u64 @24, precision u64 @32, flags u16 @40} or fd u32), and what
 * became of it (an event: 32 bytes, userdata @0, error u16 @8, type u8 @10, nbytes u64
 * @16, flags u16 @24). */
typedef struct Sub {
    uint64_t userdata;
    uint8_t type;
    bool ready;
    uint16_t error;
    int64_t deadline;     /* clock: CLOCK_MONOTONIC nanoseconds */
    int pollidx;          /* fd on a pipe/socket/terminal: its index in the pollfd array */
    uint64_t nbytes;
    uint16_t flags;
} Sub;

static int64_t now_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A clock subscription → a monotonic deadline. Realtime absolute times are converted at
 * the time of the call (a later jump of the wall clock is not followed). */
static void parse_clock(Sub *s, const uint8_t *p)
{
    uint32_t id = get_u32(p + 16);
    uint64_t timeout = get_u64(p + 24);
    bool abs = get_u16(p + 40) & WASI_SUBCLOCK_ABSTIME;
    int64_t mono = now_ns(CLOCK_MONOTONIC);
    int64_t t = timeout > INT64_MAX ? INT64_MAX : (int64_t)timeout;
    if (id != WASI_CLOCK_REALTIME && id != WASI_CLOCK_MONOTONIC) {
        s->error = WASI_EINVAL;   /* CPU-time clocks cannot be waited on */
        s->ready = true;
        return;
    }
    if (!abs) s->deadline = t > INT64_MAX - mono ? INT64_MAX : mono + t;
    else if (id == WASI_CLOCK_MONOTONIC) s->deadline = t;
    else s->deadline = mono + (t - now_ns(CLOCK_REALTIME));
}

/* An fd subscription: errors and regular files are ready at once; the rest is polled. */
static void parse_fd(WasiCall *c, Sub *s, const uint8_t *p, struct pollfd *fds, int *nfds)
{
    WasiFd *f;
    uint32_t r = wasi_fd_get(c->ctx, get_u32(p + 16), WASI_RIGHT_POLL_FD_READWRITE, &f);
    if (r) {
        s->error = (uint16_t)r;
        s->ready = true;
        return;
    }
    if (f->filetype == WASI_FILETYPE_REGULAR_FILE || f->filetype == WASI_FILETYPE_DIRECTORY) {
        struct stat st;
        off_t pos = lseek(f->host, 0, SEEK_CUR);
        if (s->type == WASI_EVENT_FD_READ && fstat(f->host, &st) == 0 && pos >= 0 &&
            st.st_size > pos)
            s->nbytes = (uint64_t)(st.st_size - pos);
        s->ready = true;
        return;
    }
    s->pollidx = *nfds;
    fds[(*nfds)++] = (struct pollfd){ f->host, s->type == WASI_EVENT_FD_READ ? POLLIN : POLLOUT, 0 };
}

/* Read all subscriptions; WASI_EINVAL for an unknown tag. */
static uint32_t parse_subs(WasiCall *c, uint32_t in, uint32_t n, Sub *subs, struct pollfd *fds,
                           int *nfds)
{
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p = guest_ptr(c, in + 48 * i);
        Sub *s = &subs[i];
        *s = (Sub){ .userdata = get_u64(p), .type = p[8], .deadline = INT64_MAX, .pollidx = -1 };
        if (s->type == WASI_EVENT_CLOCK) parse_clock(s, p);
        else if (s->type == WASI_EVENT_FD_READ || s->type == WASI_EVENT_FD_WRITE)
            parse_fd(c, s, p, fds, nfds);
        else return WASI_EINVAL;
    }
    return WASI_ESUCCESS;
}

/* Mark what is ready now; true if anything is. */
static bool collect(Sub *subs, uint32_t n, struct pollfd *fds)
{
    bool any = false;
    int64_t now = now_ns(CLOCK_MONOTONIC);
    for (uint32_t i = 0; i < n; i++) {
        Sub *s = &subs[i];
        if (s->type == WASI_EVENT_CLOCK && !s->ready && s->deadline <= now) s->ready = true;
        if (s->pollidx >= 0 && fds[s->pollidx].revents) {
            short rev = fds[s->pollidx].revents;
            int avail = 0;
            s->ready = true;
            if (rev & POLLNVAL) s->error = WASI_EBADF;
            if (rev & POLLHUP) s->flags |= WASI_EVENT_HANGUP;
            if (s->type == WASI_EVENT_FD_READ && ioctl(fds[s->pollidx].fd, FIONREAD, &avail) == 0)
                s->nbytes = (uint64_t)(avail > 0 ? avail : 0);
        }
        any |= s->ready;
    }
    return any;
}

/* Wait until something may be ready: the earliest deadline, or an fd. */
static void wait_some(Sub *subs, uint32_t n, struct pollfd *fds, int nfds)
{
    int64_t deadline = INT64_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (subs[i].deadline < deadline) deadline = subs[i].deadline;
    struct timespec ts, *tsp = NULL;
    if (deadline != INT64_MAX) {
        int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
        if (left < 0) left = 0;
        ts = (struct timespec){ left / 1000000000, left % 1000000000 };
        tsp = &ts;
    }
    ppoll(fds, (nfds_t)nfds, tsp, NULL);   /* EINTR or early wake-ups: the caller loops */
}

/* The nanoseconds from now to the earliest clock deadline, -1 if there is none. */
static int64_t earliest_timeout(const Sub *subs, uint32_t n)
{
    int64_t deadline = INT64_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (subs[i].deadline < deadline) deadline = subs[i].deadline;
    if (deadline == INT64_MAX) return -1;
    int64_t left = deadline - now_ns(CLOCK_MONOTONIC);
    return left < 0 ? 0 : left;
}

/* The scheduler says the earliest deadline has passed: its clock subscriptions fire. */
static void fire_earliest(Sub *subs, uint32_t n)
{
    int64_t deadline = INT64_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (subs[i].type == WASI_EVENT_CLOCK && !subs[i].ready && subs[i].deadline < deadline)
            deadline = subs[i].deadline;
    for (uint32_t i = 0; i < n; i++)
        if (subs[i].type == WASI_EVENT_CLOCK && subs[i].deadline == deadline)
            subs[i].ready = true;
}

static void put_events(WasiCall *c, uint32_t out, const Sub *subs, uint32_t n, uint32_t *count)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!subs[i].ready) continue;
        uint8_t *e = guest_ptr(c, out + 32 * k++);
        memset(e, 0, 32);
        put_u64(e, subs[i].userdata);
        put_u16(e + 8, subs[i].error);
        put_u8(e + 10, subs[i].type);
        if (subs[i].type != WASI_EVENT_CLOCK) {
            put_u64(e + 16, subs[i].nbytes);
            put_u16(e + 24, subs[i].flags);
        }
    }
    *count = k;
}

/* poll_oneoff(in, out, nsubscriptions, nevents). Zero subscriptions would wait forever:
 * EINVAL, as Wasmtime. */
WASI_IMPL(wasi_poll_oneoff)
{
    uint32_t in = ARG32(0), out = ARG32(1), n = ARG32(2), nevents = ARG32(3);
    if (!guest_range(c, in, (uint64_t)n * 48) || !guest_range(c, out, (uint64_t)n * 32) ||
        !guest_range(c, nevents, 4))
        return WASI_EFAULT;
    if (n == 0 || n > MAX_SUBSCRIPTIONS) return WASI_EINVAL;
    Sub *subs = malloc(n * sizeof *subs);
    struct pollfd *fds = malloc(n * sizeof *fds);
    int nfds = 0;
    uint32_t r = WASI_ENOMEM;
    if (!subs || !fds) goto done;
    if ((r = parse_subs(c, in, n, subs, fds, &nfds))) goto done;
    poll(fds, (nfds_t)nfds, 0);   /* look first, without waiting */
    const WasiWaiter *w = &c->ctx->waiter;
    while (!collect(subs, n, fds)) {
        if (!w->wait) {
            wait_some(subs, n, fds, nfds);   /* no scheduler: this thread waits */
            continue;
        }
        /* Park until an fd or the earliest deadline (relative now; the scheduler keeps
         * the deadline from the first try, so a restarted call does not wait anew). */
        WasiWaitResult wr = w->wait(w->env, c->exec, fds, nfds, earliest_timeout(subs, n));
        if (wr == WASI_WAIT_BLOCK) {
            r = WASI_BLOCKED;
            goto done;
        }
        if (wr == WASI_WAIT_TIMEOUT) {
            fire_earliest(subs, n);
            continue;
        }
        wait_some(subs, n, fds, nfds);       /* could not park: wait here */
    }
    if (w->done)
        w->done(w->env, c->exec);
    uint32_t count;
    put_events(c, out, subs, n, &count);
    put_u32(guest_ptr(c, nevents), count);
done:
    free(subs);
    free(fds);
    return r;
}
