/*
 * io.c — waiting for file descriptors without holding a thread (DESIGN decision 5, issue
 * 3's "blocking without holding a thread").
 *
 * A host call that would block on a pipe, terminal or socket (WASI fd_read, sock_accept,
 * poll_oneoff …) calls sched_wait_io, which hands the descriptors to one poller thread
 * and returns RECV_BLOCK; the host call returns HOST_BLOCK having done nothing and the
 * process is parked like one waiting in receive. When a descriptor becomes ready the
 * poller wakes the process and the host call runs again from the start.
 *
 * Each registration is a dup() of the guest's descriptor added to one epoll set with
 * EPOLLONESHOT, its data the pid: two processes may wait on the same descriptor (stdin
 * is shared), and closing the dup when the wait ends removes it from the set. A wake-up
 * that arrives late or twice only makes the host call look again — harmless — and one
 * that arrives between the call's own check and parking is caught by `io_signal`,
 * which park() looks at after storing PS_WAITING.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sched_internal.h"

static void *poller_main(void *arg)
{
    Sched *s = arg;
    struct epoll_event ev[64];
    for (;;) {
        int n = epoll_wait(s->epfd, ev, 64, -1);
        if (n < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == 0)
                return NULL;             /* the stop eventfd: sched_free */
            Process *p = process_lookup(s, ev[i].data.u64);
            if (!p)
                continue;
            atomic_store(&p->io_signal, true);
            sched_wake(p);
            process_release(p);
        }
    }
    return NULL;
}

/* The poller starts on the first I/O wait: a VM that never waits on a descriptor (most
 * embedded uses, a hello world) has no epoll set and no extra thread. */
bool io_start(Sched *s)
{
    pthread_mutex_lock(&s->io_lock);
    bool ok = s->poller_started;
    if (!ok) {
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        s->stopfd = eventfd(0, EFD_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
        ok = s->epfd >= 0 && s->stopfd >= 0 &&
             epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stopfd, &ev) == 0 &&
             pthread_create(&s->poller, NULL, poller_main, s) == 0;
        s->poller_started = ok;
        atomic_store(&s->poller_running, ok);
    }
    pthread_mutex_unlock(&s->io_lock);
    return ok;
}

void io_stop(Sched *s)
{
    if (s->poller_started) {
        uint64_t one = 1;
        if (write(s->stopfd, &one, sizeof one) != sizeof one)
            abort();   /* cannot stop the poller: joining it would hang */
        pthread_join(s->poller, NULL);
    }
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->stopfd >= 0)
        close(s->stopfd);
}

/* Forget the current registrations (the wait is over, or is being renewed). */
void io_end_wait(Process *p)
{
    for (uint32_t i = 0; i < p->nio_fds; i++)
        close(p->io_fds[i]);
    p->nio_fds = 0;
    if (p->io_counted) {
        p->io_counted = false;
        atomic_fetch_sub(&p->sched->n_io_waiting, 1);
    }
}

static bool io_register(Process *p, const struct pollfd *fds, int nfds)
{
    Sched *s = p->sched;
    if (nfds > 0 && !atomic_load(&s->poller_running) && !io_start(s))
        return false;
    if ((uint32_t)nfds > p->capio_fds) {
        int *v = realloc(p->io_fds, (size_t)nfds * sizeof *v);
        if (!v)
            return false;
        p->io_fds = v;
        p->capio_fds = (uint32_t)nfds;
    }
    if (nfds > 0) {
        /* Parked on descriptors: while it is, all workers idle is not a deadlock. (A
         * wait with no descriptor is a plain timer wait, counted as one.) */
        atomic_fetch_add(&s->n_io_waiting, 1);
        p->io_counted = true;
    }
    for (int i = 0; i < nfds; i++) {
        int d = fcntl(fds[i].fd, F_DUPFD_CLOEXEC, 0);
        if (d < 0)
            return false;
        p->io_fds[p->nio_fds++] = d;
        struct epoll_event ev = { .events = EPOLLONESHOT, .data.u64 = p->pid };
        if (fds[i].events & POLLIN)
            ev.events |= EPOLLIN | EPOLLRDHUP;
        if (fds[i].events & POLLOUT)
            ev.events |= EPOLLOUT;
        /* Regular files cannot be added to epoll (EPERM): they are always ready. */
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, d, &ev) != 0)
            return false;
    }
    return true;
}

RecvStatus sched_wait_io(Process *p, const struct pollfd *fds, int nfds, int64_t timeout_ns)
{
    if (p->deadline_ns && sched_deadline_passed(p)) {
        io_end_wait(p);
        sched_end_wait(p);
        return RECV_TIMEOUT;
    }
    /* A fresh look each time: the caller found nothing ready, so register again. */
    io_end_wait(p);
    atomic_store(&p->io_signal, false);
    if (!io_register(p, fds, nfds)) {
        io_end_wait(p);
        return RECV_OK;     /* cannot wait in the background: let the caller look again */
    }
    if (timeout_ns >= 0)
        sched_arm_deadline_ns(p, timeout_ns);
    p->wait_on = "io";
    return RECV_BLOCK;
}

void sched_io_done(Process *p)
{
    if (!p->nio_fds && !p->io_counted && !p->deadline_ns)
        return;   /* the call did not wait: nothing to end (the common case) */
    io_end_wait(p);
    sched_end_wait(p);
}
