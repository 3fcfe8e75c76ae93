/*
 * supervisor.c — a supervisor restarting a crashing worker, until it gives up.
 *
 *   build/lvm build/examples/supervisor.wasm [R] [T_ms]   (default: at most 3 restarts
 *                                                          in 5000 ms)
 *
 * The worker is a server (lvm_serve) that answers JOB n with 1000 / (n % 4): every fourth
 * job divides by zero, the worker traps and dies. Its supervisor (one_for_one) starts a new
 * one each time, until a crash would make more than R restarts within T ms: then it stops
 * and exits with "reached max restart intensity".
 *
 * The root sends the jobs with lvm_call, which returns LVM_CALL_DOWN when the worker dies
 * before replying. The supervisor reports what it does by message to the root ("main"),
 * and only the root prints, so the output comes out in the same order on every run.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sdk/lvm.h"

enum { JOB = 1, EVENT = 2 };

/* ---- The worker: a server whose handler sometimes divides by zero -------------------- */

static int32_t handle(void *state, const lvm_request *req)
{
    (void)state;
    if (req->kind != LVM_REQ_CALL || req->tag != JOB || req->len != 8)
        return LVM_SERVE_CONTINUE;               /* ignore what we do not understand */
    int64_t n;
    __builtin_memcpy(&n, req->data, 8);
    volatile int32_t divisor = (int32_t)(n % 4); /* volatile: make the division happen */
    int64_t answer = 1000 / divisor;             /* traps on zero: the process dies */
    lvm_reply(req, &answer, 8);
    return LVM_SERVE_CONTINUE;
}

static void worker(int64_t unused)
{
    (void)unused;
    lvm_serve(handle, NULL);
}

/* ---- The supervisor: its report goes to the root as a message ------------------------- */

static void report(const lvm_sup_event *ev)
{
    lvm_send(lvm_whereis("main"), EVENT, ev, sizeof *ev);   /* same module: same layout */
}

static const lvm_child_spec children[] = {
    { .name = "worker", .start = worker, .restart = LVM_PERMANENT },
};

static void supervisor(int64_t max_restarts, int64_t period_ms)
{
    /* A spec built at run time lives in this process's own memory. */
    lvm_sup_spec spec = { .strategy = LVM_ONE_FOR_ONE, .max_restarts = (int32_t)max_restarts,
                          .period_ms = period_ms, .children = children, .nchildren = 1,
                          .report = report };
    lvm_supervise(&spec);
}

/* ---- The root ----------------------------------------------------------------------------- */

static lvm_sup_event next_event(void)
{
    lvm_sup_event ev;
    int64_t tag = EVENT;
    lvm_receive(&tag, 1, -1);
    lvm_msg_read(&ev, sizeof ev, 0);
    return ev;
}

int main(int argc, char **argv)
{
    int64_t r = argc > 1 ? atol(argv[1]) : 3, t = argc > 2 ? atol(argv[2]) : 5000;
    char why[64];
    lvm_register("main", lvm_self());
    int64_t sup_ref;
    int64_t args[2] = { r, t };
    lvm_pid sup = lvm_spawn_fn((lvm_fn)supervisor, args, 2, LVM_SPAWN_MONITOR, &sup_ref);
    printf("supervisor %lld: one_for_one, at most %lld restarts in %lld ms\n", (long long)sup,
           (long long)r, (long long)t);
    lvm_sup_event ev = next_event();
    for (int64_t job = 1; ev.what == LVM_SUP_STARTED; job++) {
        lvm_pid w = ev.pid;
        int64_t answer;
        int32_t got = lvm_call(w, JOB, &job, 8, &answer, 8, 1000);
        if (got == 8) {
            printf("  job %2lld -> worker %lld: 1000 / %lld = %lld\n", (long long)job,
                   (long long)w, (long long)(job % 4), (long long)answer);
            continue;
        }
        printf("  job %2lld -> worker %lld: no answer (%s)\n", (long long)job, (long long)w,
               got == LVM_CALL_DOWN ? "the worker died" : "timeout");
        ev = next_event();                       /* EXITED */
        printf("supervisor: worker %lld exited: %s; restarts in the last %lld ms: %d (limit %lld)\n",
               (long long)ev.pid, lvm_reason_text(ev.reason, why, sizeof why), (long long)t,
               ev.restarts, (long long)r);
        ev = next_event();                       /* STARTED again, or GIVING_UP */
        if (ev.what == LVM_SUP_STARTED)
            printf("supervisor: restarted the worker as %lld\n", (long long)ev.pid);
    }
    printf("supervisor: giving up: %s\n", lvm_reason_text(ev.reason, why, sizeof why));
    int64_t tag = LVM_TAG_DOWN;
    lvm_receive(&tag, 1, -1);
    lvm_down_info down = lvm_msg_down_info();
    printf("supervisor %lld is gone: %s\n", (long long)down.pid,
           lvm_reason_text(down.reason, why, sizeof why));
    return 0;
}
