/*
 * observe.c — seeing inside the scheduler: `lvm --trace-sched` event lines and the
 * snapshot behind `lvm --top`.
 *
 * Where it sits: beside scheduler.c and process.c, which call sched_event() (through
 * SCHED_EVENT, one predictable branch when tracing is off) at each spawn, slice, park,
 * wake, steal and exit. sched_snapshot() is called by the --top thread of tools/main.c,
 * which is not a worker.
 *
 * What a snapshot may read, and why it is safe while the workers run:
 *   - each process in the table is taken with a reference (process_all), so its Process
 *     stays; it is read under its own lock and only if it is not `exiting`, which
 *     process_exit sets under that lock before it frees the instance, memory and Exec;
 *   - state, and the mailbox count, are atomics (the count is the owner's, updated when
 *     it takes messages in or receives one: messages still in the lock-free inbox are
 *     not counted until the owner looks);
 *   - reductions, the memory size and the saved pc are plain words written by the worker
 *     running the process: read during a slice they are those of its last stop — a
 *     little stale, never torn (aligned 64-bit words), and the pc always points into
 *     code that outlives the process (vm_exec_where);
 *   - registered names are read under names_lock, with no process's lock held (no lock
 *     order is added).
 *
 * Read next: tools/top.c, which draws it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_internal.h"

void sched_event(Sched *s, const char *fmt, ...)
{
    (void)s;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[sched] %s\n", line);    /* one call per line: lines stay whole */
}

const char *sched_who(char *buf, size_t len, const Process *p, const char *otherwise)
{
    if (!p)
        return otherwise;
    snprintf(buf, len, "pid %llu", (unsigned long long)p->pid);
    return buf;
}

static const char *state_text(const Process *p, char *buf, size_t len)
{
    switch (atomic_load_explicit(&p->state, memory_order_relaxed)) {
    case PS_RUNNABLE: return "runnable";
    case PS_RUNNING: return "running";
    case PS_EXITED: return "exited";
    default:
        snprintf(buf, len, "waiting (%s)", p->wait_on ? p->wait_on : "?");
        return buf;
    }
}

static void proc_info(const Process *p, ProcInfo *out)
{
    memset(out, 0, sizeof *out);
    out->pid = p->pid;
    char buf[24];
    snprintf(out->state, sizeof out->state, "%s", state_text(p, buf, sizeof buf));
    out->mailbox = atomic_load_explicit(&p->mbox.count, memory_order_relaxed);
    if (p->exec) {
        out->reductions = vm_exec_reductions(p->exec);
        TraceFrame where;
        if (vm_exec_where(p->exec, &where)) {
            if (where.func[0])
                snprintf(out->func, sizeof out->func, "%s", where.func);
            else
                snprintf(out->func, sizeof out->func, "func %u", where.funcidx);
        }
    }
    MemoryInst *m = p->inst ? vm_instance_memory(p->inst) : NULL;
    if (m)
        out->memory = vm_memory_size(m);
}

static int by_pid(const void *a, const void *b)
{
    const ProcInfo *x = a, *y = b;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

bool sched_snapshot(Sched *s, SchedSnapshot *out)
{
    memset(out, 0, sizeof *out);
    size_t n;
    Process **all = process_all(s, &n);
    out->procs = calloc(n ? n : 1, sizeof *out->procs);
    for (size_t i = 0; i < n; i++) {
        Process *p = all[i];
        pthread_mutex_lock(&p->lock);
        if (out->procs && !p->exiting && !p->host_notify)   /* not the embedder's mailbox */
            proc_info(p, &out->procs[out->nprocs++]);
        pthread_mutex_unlock(&p->lock);
        process_release(p);
    }
    free(all);
    if (!all || !out->procs)
        return false;
    qsort(out->procs, out->nprocs, sizeof *out->procs, by_pid);

    pthread_mutex_lock(&s->names_lock);
    for (size_t i = 0; i < s->nnames; i++) {
        const Registration *r = &s->names[i];
        ProcInfo key = { .pid = r->pid };
        ProcInfo *p = bsearch(&key, out->procs, out->nprocs, sizeof key, by_pid);
        if (p && !p->name[0])
            snprintf(p->name, sizeof p->name, "%.*s", (int)r->len, r->name);
    }
    pthread_mutex_unlock(&s->names_lock);

    out->nworkers = s->nworkers;
    out->workers = calloc(s->nworkers, sizeof *out->workers);
    for (unsigned i = 0; out->workers && i < s->nworkers; i++)
    {
        out->workers[i].queued = (uint32_t)deque_size(&s->workers[i].deque) +
                                 (atomic_load_explicit(&s->workers[i].next, memory_order_relaxed) ? 1 : 0);
        out->workers[i].steals = atomic_load_explicit(&s->workers[i].steals, memory_order_relaxed);
    }
    pthread_mutex_lock(&s->global_lock);
    out->global_queued = s->nglobal;
    pthread_mutex_unlock(&s->global_lock);
    sched_stats(s, &out->stats);
    return true;
}

void sched_snapshot_free(SchedSnapshot *snap)
{
    free(snap->procs);
    free(snap->workers);
    memset(snap, 0, sizeof *snap);
}
