/*
 * supervisor.c — OTP's supervisor, in guest code, on four primitives: trap_exit, spawn
 * with a link, receive, kill. The VM knows nothing of supervision: a supervisor is an
 * ordinary process that traps exits, so each child's end arrives as an LVM_TAG_EXIT
 * message {pid, reason}, and decides what to restart (lvm.h section 3a has the rules).
 *
 * Everything a supervisor receives is an exit message, so while it waits for one child
 * to stop it may get another's: those are kept in a small queue (`pending`) and handled
 * afterwards, in order, as if they had come later.
 */
#include <stdlib.h>

#include "lvm.h"

typedef struct Exit {
    lvm_pid pid;
    int32_t reason;
} Exit;

typedef struct Sup {
    const lvm_sup_spec *spec;
    lvm_pid *pids;               /* per child: its pid, 0 when not running */
    int64_t *restarts;           /* times (ms) of the restarts in the current period */
    int32_t nrestarts;
    Exit *pending;               /* exits received while waiting for another one */
    int32_t npending, cappending;
} Sup;

static void report(Sup *s, int32_t what, int32_t child, lvm_pid pid, int32_t reason)
{
    if (!s->spec->report)
        return;
    lvm_sup_event ev = { what, child, child >= 0 ? &s->spec->children[child] : NULL, pid,
                         reason, s->nrestarts };
    s->spec->report(&ev);
}

static int32_t child_of(const Sup *s, lvm_pid pid)
{
    for (int32_t i = 0; pid && i < s->spec->nchildren; i++)
        if (s->pids[i] == pid)
            return i;
    return -1;
}

/* ---- Exit messages, in arrival order ---------------------------------------------------- */

static void push_pending(Sup *s, Exit e)
{
    if (s->npending == s->cappending) {
        int32_t cap = s->cappending ? 2 * s->cappending : 8;
        Exit *p = realloc(s->pending, (size_t)cap * sizeof *p);
        if (!p)
            lvm_exit_flush(LVM_EXIT_OUT_OF_MEMORY);   /* cannot keep track: stop supervising */
        s->pending = p;
        s->cappending = cap;
    }
    s->pending[s->npending++] = e;
}

/* Remove and return the pending exit of pid, if there is one. */
static int take_pending(Sup *s, lvm_pid pid, Exit *out)
{
    for (int32_t i = 0; i < s->npending; i++)
        if (s->pending[i].pid == pid) {
            *out = s->pending[i];
            for (int32_t j = i + 1; j < s->npending; j++)
                s->pending[j - 1] = s->pending[j];
            s->npending--;
            return 1;
        }
    return 0;
}

/* The next exit message within timeout_ms (-1: forever); 0 on timeout. */
static int receive_exit(int64_t timeout_ms, Exit *out)
{
    int64_t tag = LVM_TAG_EXIT;
    if (lvm_receive(&tag, 1, timeout_ms) != 0)
        return 0;
    lvm_exit_info e = lvm_msg_exit_info();
    *out = (Exit){ e.pid, e.reason };
    return 1;
}

/* The oldest exit not handled yet: a pending one first. */
static Exit next_exit(Sup *s)
{
    Exit e;
    if (s->npending) {
        e = s->pending[0];
        take_pending(s, e.pid, &e);
        return e;
    }
    receive_exit(-1, &e);
    return e;
}

/* ---- Starting and stopping children ---------------------------------------------------- */

static void give_up(Sup *s, int32_t reason);

static void start_child(Sup *s, int32_t i)
{
    const lvm_child_spec *c = &s->spec->children[i];
    s->pids[i] = lvm_spawn_link(c->start, c->arg);
    if (!s->pids[i])
        give_up(s, LVM_EXIT_SPAWN_FAILED);
    report(s, LVM_SUP_STARTED, i, s->pids[i], 0);
}

/* Wait for pid's exit message, keeping the others for later; 0 if none within ms. */
static int await_exit(Sup *s, lvm_pid pid, int64_t ms)
{
    int64_t deadline = lvm_now_ms() + ms;
    for (;;) {
        int64_t left = ms < 0 ? -1 : deadline - lvm_now_ms();
        Exit e;
        if (ms >= 0 && left <= 0)
            return 0;
        if (!receive_exit(left, &e))
            return 0;
        if (e.pid == pid)
            return 1;
        push_pending(s, e);
    }
}

/* Stop child i and wait until it is gone: its exit must be consumed before it is started
 * again, or the old exit would later be taken for the new process's. */
static void stop_child(Sup *s, int32_t i)
{
    lvm_pid pid = s->pids[i];
    Exit e;
    if (!pid)
        return;
    s->pids[i] = 0;
    if (take_pending(s, pid, &e))
        return;                                /* it had already ended */
    int32_t ms = s->spec->children[i].shutdown_ms;
    if (ms > 0) {
        lvm_kill(pid, LVM_EXIT_SHUTDOWN);
        if (await_exit(s, pid, ms))
            return;
    }
    lvm_kill(pid, LVM_EXIT_KILLED);            /* cannot be trapped */
    await_exit(s, pid, -1);
}

static void stop_all(Sup *s)
{
    for (int32_t i = s->spec->nchildren - 1; i >= 0; i--)
        stop_child(s, i);
}

static void give_up(Sup *s, int32_t reason)
{
    report(s, LVM_SUP_GIVING_UP, -1, 0, reason);
    stop_all(s);
    lvm_exit_flush(reason);
}

/* ---- Restarting ------------------------------------------------------------------------ */

static int wants_restart(int32_t restart, int32_t reason)
{
    if (restart == LVM_TEMPORARY)
        return 0;
    if (restart == LVM_TRANSIENT)
        return reason != LVM_EXIT_NORMAL && reason != LVM_EXIT_SHUTDOWN;
    return 1;
}

/* Count one restart now; false when that makes more than R within the last T ms. The
 * array has room for R + 1: only a count of at most R survives a call. */
static int within_intensity(Sup *s)
{
    int64_t now = lvm_now_ms();
    int32_t kept = 0;
    for (int32_t i = 0; i < s->nrestarts; i++)
        if (now - s->restarts[i] < s->spec->period_ms)
            s->restarts[kept++] = s->restarts[i];
    s->restarts[kept++] = now;
    s->nrestarts = kept;
    return kept <= s->spec->max_restarts;
}

/* Child i ended and is to be restarted: stop and start again the children the strategy
 * names, [first, last]. Temporary ones among them are stopped but not started again
 * (OTP does the same). */
static void restart(Sup *s, int32_t i)
{
    int32_t first = i, last = i;
    if (s->spec->strategy == LVM_ONE_FOR_ALL)
        first = 0, last = s->spec->nchildren - 1;
    else if (s->spec->strategy == LVM_REST_FOR_ONE)
        last = s->spec->nchildren - 1;
    for (int32_t j = last; j >= first; j--)
        stop_child(s, j);
    for (int32_t j = first; j <= last; j++)
        if (s->spec->children[j].restart != LVM_TEMPORARY)
            start_child(s, j);
}

void lvm_supervise(const lvm_sup_spec *spec)
{
    Sup s = { .spec = spec };
    s.pids = calloc((size_t)spec->nchildren + 1, sizeof *s.pids);
    s.restarts = calloc((size_t)(spec->max_restarts > 0 ? spec->max_restarts : 0) + 1,
                        sizeof *s.restarts);
    if (!s.pids || !s.restarts)
        lvm_exit_flush(LVM_EXIT_OUT_OF_MEMORY);
    lvm_trap_exit(1);
    for (int32_t i = 0; i < spec->nchildren; i++)
        start_child(&s, i);
    for (;;) {
        Exit e = next_exit(&s);
        int32_t i = child_of(&s, e.pid);
        if (i < 0) {
            /* Not a child: our parent (or someone) wants us gone. */
            if (e.reason != LVM_EXIT_NORMAL) {
                stop_all(&s);
                lvm_exit_flush(e.reason);
            }
            continue;
        }
        s.pids[i] = 0;
        int again = wants_restart(spec->children[i].restart, e.reason);
        int ok = again ? within_intensity(&s) : 1;
        report(&s, LVM_SUP_EXITED, i, e.pid, e.reason);
        if (!again)
            continue;
        if (!ok)
            give_up(&s, LVM_EXIT_MAX_RESTARTS);
        restart(&s, i);
    }
}
