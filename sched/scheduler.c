/*
 * scheduler.c — worker threads that run processes a slice at a time (DESIGN decision 5).
 *
 * A worker takes the oldest process from its own deque, else from the global queue
 * (spawns from outside), else steals from another worker picked at random, else sleeps
 * on a condition variable until work or the next timer is due. Running a process is one
 * vm_run() with a budget of reductions:
 *
 *   YIELD  back to the end of the worker's deque — fair: a busy loop waits its turn
 *   BLOCK  parked (PS_WAITING): no thread, no C stack; a message, a timer or a kill wakes it
 *   DONE / TRAP   process_exit with its reason
 *
 * Parking without losing a wake-up: the worker stores PS_WAITING and then looks once more
 * at the inbox, the timer and the kill flag; a waker pushes first and then tries to move
 * the state from PS_WAITING to PS_RUNNABLE. Both sides use sequentially consistent
 * operations, so at least one of them sees the other (mailbox.c, sched_wake).
 *
 * With one thread (SchedConfig.threads == 1) no thread is started: sched_wait runs the
 * worker loop on the caller's thread, and a run is repeatable.
 */
#define _GNU_SOURCE           /* sched_getaffinity, CPU_COUNT */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sched_internal.h"

static _Thread_local Worker *current_worker;

/* ---- Queues and waking ----------------------------------------------------------------- */

static void start_threads(Sched *s);

static void notify_idle(Sched *s)
{
    if (!atomic_load_explicit(&s->threads_started, memory_order_relaxed) && s->nworkers > 1) {
        start_threads(s);         /* caller_is_worker: the first work to share */
        return;
    }
    /* A spinning worker will see the work just queued (the fence orders that push before
     * this load; a spinner that stops decrements nspinning and then looks once more, in
     * idle_wait, under idle_lock): no futex call on either side. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&s->nspinning) > 0)
        return;
    if (atomic_load(&s->nsleeping) > 0) {
        pthread_mutex_lock(&s->idle_lock);
        pthread_cond_signal(&s->idle);
        pthread_mutex_unlock(&s->idle_lock);
    }
}

void sched_enqueue(Sched *s, Process *p)
{
    Worker *w = current_worker;
    if (w && w->sched == s) {
        /* Woken on this worker (a message, an exit signal, a spawn, a timer): it runs
         * next, and the one it displaces goes to the back of the queue. A message and
         * its answer so go from process to process with no queue between them, on one
         * core whose cache holds the message (find_work). */
        Process *older = atomic_load_explicit(&w->next, memory_order_relaxed);
        atomic_store_explicit(&w->next, p, memory_order_relaxed);
        if (!older)
            return;
        deque_push(&w->deque, older);
        /* This worker runs `next` first and then its queue: wake an idle worker to
         * steal from the queue, not for the one process it will run next anyway —
         * moving a lone process across cores only makes ping-pong 2-3x slower. */
        notify_idle(s);
        return;
    } else {
        pthread_mutex_lock(&s->global_lock);
        if (s->nglobal == s->capglobal) {
            size_t c = s->capglobal ? s->capglobal * 2 : 64;
            Process **g = realloc(s->global, c * sizeof *g);
            if (!g)
                abort();   /* cannot queue a runnable process: the VM cannot go on */
            s->global = g;
            s->capglobal = c;
        }
        s->global[s->nglobal++] = p;
        atomic_store(&s->nglobal_hint, s->nglobal);
        pthread_mutex_unlock(&s->global_lock);
    }
    /* From outside a worker (a spawn or a message from the embedder, a wake from the
     * poller): a process is runnable, so the VM is not deadlocked. Cleared under
     * idle_lock, which a worker holds from its last look at the queues to declaring a
     * deadlock (idle_wait), so a stale flag cannot make sched_wait give up. */
    pthread_mutex_lock(&s->idle_lock);
    atomic_store(&s->deadlocked, false);
    if (atomic_load(&s->nsleeping) > 0)
        pthread_cond_signal(&s->idle);
    pthread_mutex_unlock(&s->idle_lock);
}

/* A woken process runs soon, often on this worker right after the waker's slice; its
 * memory was last touched when it parked, maybe thousands of processes ago, and is likely
 * out of the cache by now. Start loading what its first instructions will touch — the
 * hot lines of its Process and its Exec, and what park() noted — while the waker
 * finishes. Only those: a core has a dozen or so line-fill buffers, and prefetches past
 * them stall the waker (they were 24 when the whole Process was prefetched). */
static void prefetch_process(const Process *p)
{
    const char *x = (const char *)p;
    for (size_t i = 0; i < PROCESS_HOT_LINES * 64; i += 64)
        __builtin_prefetch(x + i, 1);
    const char *e = (const char *)p->exec;
    for (size_t i = 0; i < VM_EXEC_HOT_BYTES; i += 64)
        __builtin_prefetch(e + i, 1);
    for (int i = 0; i < VM_EXEC_HOT; i++)
        if (p->hot[i])
            __builtin_prefetch(p->hot[i], 1);
}

void sched_wake(Process *p)
{
    if (p->host_notify) {         /* the host's mailbox is never queued: tell the host */
        p->host_notify(p->host_notify_env);
        return;
    }
    int expected = PS_WAITING;
    if (atomic_compare_exchange_strong(&p->state, &expected, PS_RUNNABLE)) {
        prefetch_process(p);
        Worker *w = current_worker;
        char by[32];
        SCHED_EVENT(p->sched, "wake pid %llu by %s", (unsigned long long)p->pid,
                    sched_who(by, sizeof by, w ? w->running : NULL,
                              w ? "a timer" : "the host or the I/O poller"));
        sched_enqueue(p->sched, p);
    }
}

Worker *sched_current_worker(void)
{
    return current_worker;
}

static Process *take_global(Sched *s)
{
    Process *p = NULL;
    pthread_mutex_lock(&s->global_lock);
    if (s->nglobal) {
        p = s->global[0];
        memmove(s->global, s->global + 1, (s->nglobal - 1) * sizeof *s->global);
        s->nglobal--;
        atomic_store(&s->nglobal_hint, s->nglobal);
    }
    pthread_mutex_unlock(&s->global_lock);
    return p;
}

static uint64_t next_random(Worker *w)
{
    w->rng ^= w->rng << 13;   /* xorshift64: cheap, and seeded for repeatable runs */
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static Process *steal_from(Worker *w, Worker *v)
{
    Process *p = deque_steal(&v->deque);
    if (p) {
        atomic_fetch_add(&w->sched->n_steals, 1);
        atomic_fetch_add_explicit(&w->steals, 1, memory_order_relaxed);
        SCHED_EVENT(w->sched, "steal pid %llu by worker %u from worker %u",
                    (unsigned long long)p->pid, w->index, v->index);
    }
    return p;
}

/* Work stealing alone never moves work from one busy worker to another: eight spinning
 * processes spawned on one worker stay seven to one, and a process woken on the crowded
 * worker waits seven slices where its neighbour's would wait one. So every BALANCE_EVERY
 * looks, a worker with work of its own still compares queues, and takes the oldest
 * process of one that is two or more longer than its own; the queues even out in a few
 * rounds, as BEAM's periodic run-queue balancing does. Two lone processes (ping-pong) are
 * never moved by it. */
#define BALANCE_EVERY 8

static Process *balance(Worker *w)
{
    Sched *s = w->sched;
    if (s->nworkers == 1 || ++w->looks % BALANCE_EVERY)
        return NULL;
    size_t most = deque_size(&w->deque) + 1;
    Worker *longest = NULL;
    for (unsigned i = 0; i < s->nworkers; i++) {
        size_t n = deque_size(&s->workers[i].deque);
        if (&s->workers[i] != w && n > most) {
            most = n;
            longest = &s->workers[i];
        }
    }
    return longest ? steal_from(w, longest) : NULL;
}

/* The process a worker woke last runs next, with what is left of the slice that woke it:
 * a chain of processes that wake each other (a ring, a ping-pong, a request and its
 * reply) shares one slice, so it cannot keep the processes in the queue waiting longer
 * than one slice would. Once less than an eighth of a slice is left, the next one goes
 * to the back of the queue like any other. */
static Process *take_next(Worker *w, int64_t *budget)
{
    Process *p = atomic_load_explicit(&w->next, memory_order_relaxed);
    if (!p)
        return NULL;
    atomic_store_explicit(&w->next, NULL, memory_order_relaxed);
    int64_t slice = w->sched->cfg.reductions;
    if (w->left < 0 || w->left >= (slice / 8 > 0 ? slice / 8 : 1)) {
        *budget = w->left;
        return p;
    }
    deque_push(&w->deque, p);
    return NULL;
}

/* Work for this worker, and the reductions it may run for (*budget). */
static Process *find_work(Worker *w, int64_t *budget)
{
    Sched *s = w->sched;
    Process *p;
    *budget = s->cfg.reductions;
    if ((p = take_next(w, budget)))
        return p;
    if ((p = balance(w)))
        return p;
    while (deque_size(&w->deque))
        if ((p = deque_steal(&w->deque)))
            return p;
    if (atomic_load_explicit(&s->nglobal_hint, memory_order_relaxed) && (p = take_global(s)))
        return p;
    unsigned start = (unsigned)(next_random(w) % s->nworkers);
    for (unsigned i = 0; i < s->nworkers; i++) {
        Worker *v = &s->workers[(start + i) % s->nworkers];
        if (v != w && deque_size(&v->deque) && (p = steal_from(w, v)))
            return p;
    }
    return NULL;
}

/* ---- Timers ---------------------------------------------------------------------------- */

static void fire(Sched *s, Timer *t)
{
    Process *p = process_lookup(s, t->pid);
    if (p && t->msg) {
        sched_deliver(p, t->msg);
        t->msg = NULL;
    } else if (p && atomic_load(&p->wait_gen) == t->gen) {
        atomic_store(&p->fired_gen, t->gen);
        sched_wake(p);
    }
    if (p)
        process_release(p);
    message_free(t->msg);
    free(t);
}

static void fire_timers(Sched *s)
{
    Timer *due[64];
    size_t n;
    /* No timer pending (the common case): do not even read the clock. */
    if (atomic_load(&s->timers.next_deadline) == UINT64_MAX)
        return;
    while ((n = timers_due(&s->timers, now_ns(), due, 64)) > 0)
        for (size_t i = 0; i < n; i++)
            fire(s, due[i]);
}

/* ---- Running a process ------------------------------------------------------------------ */

static int32_t trap_reason(const Process *p, const Trap *t)
{
    if (t->kind == TRAP_EXIT) {
        /* lvm.exit(reason) set the reason; WASI proc_exit(code) only gives a code. */
        if (p->exit_reason_set)
            return p->exit_reason;
        return t->exit_code == 0 ? EXIT_NORMAL : EXIT_USER_BASE + t->exit_code;
    }
    if (t->kind == TRAP_OUT_OF_MEMORY)
        return EXIT_OUT_OF_MEMORY;
    return EXIT_TRAP_BASE + (int32_t)t->kind;
}

static bool fuel_left(Process *p, int64_t *budget)
{
    if (!p->config.fuel)
        return true;
    if (p->fuel_used >= p->config.fuel)
        return false;
    if ((uint64_t)*budget > p->config.fuel - p->fuel_used)
        *budget = (int64_t)(p->config.fuel - p->fuel_used);
    return true;
}

/* The time a process spends in its slices is its CPU time, as far as it can tell. It is
 * measured on the monotonic clock, which the vDSO reads without a system call: the
 * thread CPU-time clock would cost two system calls per slice, a third of the time of a
 * message round trip. The difference is time the host OS took the core away. */
static uint64_t thread_cpu_ns(void)
{
    return now_ns();
}

uint64_t sched_cpu_ns(Process *p)
{
    /* Slices are timed from the first question on: two clock reads per slice are a
     * real cost for message-heavy processes that never ask. */
    if (!p->track_cpu) {
        p->track_cpu = true;
        p->slice_cpu_start = thread_cpu_ns();
    }
    /* Called by the process's own host functions, so it is mid-slice on this thread. */
    uint64_t now = thread_cpu_ns();
    return p->cpu_ns + (now > p->slice_cpu_start ? now - p->slice_cpu_start : 0);
}

static void park(Process *p)
{
    vm_exec_hot(p->exec, p->hot);
    /* Once PS_WAITING is stored, a waker may queue it and another worker run it to its
     * end and free it while we still look at it: hold a reference until we are done. */
    atomic_fetch_add(&p->refs, 1);
    atomic_store(&p->state, PS_WAITING);
    if (mailbox_has_new(&p->mbox) || atomic_load(&p->kill_reason) >= 0 ||
        atomic_load(&p->io_signal) || atomic_load(&p->host_signal) ||
        atomic_load(&p->fired_gen) == atomic_load(&p->wait_gen))
        sched_wake(p);
    process_release(p);
}

/* A counter that only one thread writes: no locked add. */
static void add_own(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

void sched_deliver(Process *p, Message *m)
{
    mailbox_push(&p->mbox, m);
    Worker *w = current_worker;   /* counted on the worker's own counter, if it is one */
    if (w && w->sched == p->sched)
        add_own(&w->messages_sent, 1);
    else
        atomic_fetch_add(&p->sched->n_messages, 1);
    sched_wake(p);
}

static uint64_t total_reductions(Sched *s)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < s->nworkers; i++)
        n += atomic_load_explicit(&s->workers[i].reductions, memory_order_relaxed);
    return n;
}

static void run_slice(Worker *w, Process *p, int64_t budget)
{
    Sched *s = w->sched;
    /* Release, not sequentially consistent (an xchg): RUNNING is for the eyes of
     * sched_snapshot only; wakers look for WAITING, which park() stores in full. */
    atomic_store_explicit(&p->state, PS_RUNNING, memory_order_release);
    int32_t killed = atomic_load(&p->kill_reason);
    if (killed >= 0) {
        process_exit(p, killed);
        return;
    }
    w->left = 0;                  /* unless the slice runs and blocks or ends early */
    if (!fuel_left(p, &budget)) {
        process_exit(p, EXIT_OUT_OF_REDUCTIONS);
        return;
    }
    /* A sched_host_wake that came before this slice is answered by it: the blocked call
     * runs again now. One that comes during the slice is seen by park(). */
    if (atomic_load_explicit(&p->host_signal, memory_order_relaxed))
        atomic_store(&p->host_signal, false);
    SCHED_EVENT(s, "run pid %llu on worker %u", (unsigned long long)p->pid, w->index);
    w->running = p;
    uint64_t before = vm_exec_reductions(p->exec);
    if (p->track_cpu)
        p->slice_cpu_start = thread_cpu_ns();
    RunStatus st = vm_run(p->exec, budget);
    if (p->track_cpu)
        p->cpu_ns += thread_cpu_ns() - p->slice_cpu_start;
    uint64_t used = vm_exec_reductions(p->exec) - before;
    p->fuel_used += used;
    add_own(&w->reductions, used);
    /* What a process it woke may run for next (take_next): nothing after a yield, whose
     * slice is spent. */
    w->left = st == RUN_YIELD ? 0 : budget < 0 ? -1 : budget > (int64_t)used ? budget - (int64_t)used : 0;
    w->running = NULL;
    if (st == RUN_YIELD || st == RUN_BLOCK)
        SCHED_EVENT(s, "%s pid %llu%s%s after %llu reductions", st == RUN_YIELD ? "yield" : "block",
                    (unsigned long long)p->pid, st == RUN_BLOCK ? " on " : "",
                    st == RUN_BLOCK && p->wait_on ? p->wait_on : "", (unsigned long long)used);
    switch (st) {
    case RUN_YIELD:
        if ((killed = atomic_load(&p->kill_reason)) >= 0)
            process_exit(p, killed);
        else if (p->config.fuel && p->fuel_used >= p->config.fuel)
            process_exit(p, EXIT_OUT_OF_REDUCTIONS);
        else {
            atomic_store(&p->state, PS_RUNNABLE);
            deque_push(&w->deque, p);
        }
        break;
    case RUN_BLOCK:
        park(p);
        break;
    case RUN_DONE: {
        if ((killed = atomic_load(&p->kill_reason)) >= 0) {
            process_exit(p, killed);   /* killed during its last slice: that wins */
            break;
        }
        const Value *r = vm_exec_results(p->exec, &p->nresults);
        if (p->nresults > 16)
            p->nresults = 16;
        memcpy(p->results, r, p->nresults * sizeof(Value));
        process_exit(p, EXIT_NORMAL);
        break;
    }
    case RUN_TRAP:
        if ((p->trap = malloc(sizeof *p->trap)))
            *p->trap = *vm_exec_trap(p->exec);
        killed = atomic_load(&p->kill_reason);
        process_exit(p, killed >= 0 && vm_exec_trap(p->exec)->kind == TRAP_EXIT
                            ? killed : trap_reason(p, vm_exec_trap(p->exec)));
        break;
    }
}

static bool work_visible(Sched *s)
{
    if (atomic_load(&s->timers.next_deadline) <= now_ns())
        return true;
    pthread_mutex_lock(&s->global_lock);
    bool any = s->nglobal > 0;
    pthread_mutex_unlock(&s->global_lock);
    for (unsigned i = 0; !any && i < s->nworkers; i++)
        any = deque_size(&s->workers[i].deque) > 0 ||
              atomic_load_explicit(&s->workers[i].next, memory_order_relaxed);
    return any;
}

/* Work for this worker: its own queue, the global queue, or another worker's queue
 * holding more than the one process its owner will run next — stealing a lone process
 * would only move it across cores (see sched_enqueue), and its owner runs it anyway. */
static bool work_for(Worker *w)
{
    Sched *s = w->sched;
    if (deque_size(&w->deque) > 0 || atomic_load_explicit(&w->next, memory_order_relaxed) ||
        atomic_load_explicit(&s->nglobal_hint, memory_order_relaxed))
        return true;
    for (unsigned i = 0; i < s->nworkers; i++) {
        Worker *v = &s->workers[i];
        if (deque_size(&v->deque) > (atomic_load_explicit(&v->next, memory_order_relaxed) ? 0 : 1))
            return true;
    }
    return false;
}

/* Processes parked on something outside the VM (a descriptor, the embedder) may be woken
 * by it: while there are any, idle workers are not deadlocked. */
static bool outside_waits(Sched *s)
{
    return atomic_load(&s->n_io_waiting) > 0 || atomic_load(&s->n_host_waiting) > 0;
}

static void timed_wait(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns)
{
    if (deadline_ns == UINT64_MAX) {
        pthread_cond_wait(c, m);
    } else {
        struct timespec ts = { (time_t)(deadline_ns / 1000000000u),
                               (long)(deadline_ns % 1000000000u) };
        pthread_cond_timedwait(c, m, &ts);
    }
}

/* Sleep until work may be there: woken by notify_idle, or at the next timer's deadline,
 * or at `wait_end` (sched_wait_until's, UINT64_MAX for none). When every worker is here,
 * nothing is queued and no timer is pending, no process can ever run again: say so to
 * sched_wait (`deadlocked`). With a single worker (which is the caller of sched_wait)
 * return instead of sleeping forever. */
static void idle_wait(Worker *w, Process *until, uint64_t wait_end)
{
    Sched *s = w->sched;
    pthread_mutex_lock(&s->idle_lock);
    int sleeping = atomic_fetch_add(&s->nsleeping, 1) + 1;
    /* `until` (sched_wait's process, watched) may have ended on another worker: its
     * PS_EXITED is stored under idle_lock, followed by a broadcast on `idle`. */
    if (!atomic_load(&s->stopping) && !work_for(w) &&
        atomic_load(&s->timers.next_deadline) > now_ns() &&
        !(until && atomic_load(&until->state) == PS_EXITED)) {
        uint64_t deadline = atomic_load(&s->timers.next_deadline);
        if (deadline != UINT64_MAX) {
            timed_wait(&s->idle, &s->idle_lock, deadline < wait_end ? deadline : wait_end);
        } else {
            if (sleeping == (int)atomic_load(&s->nstarted) && !outside_waits(s)) {
                atomic_store(&s->deadlocked, true);
                pthread_cond_broadcast(&s->exited);
                /* sched_wait's caller may be a worker asleep here (caller_is_worker),
                 * having gone to sleep before us: it must wake to see the deadlock. */
                pthread_cond_broadcast(&s->idle);
            }
            if (atomic_load(&s->nstarted) > 1 || outside_waits(s))
                timed_wait(&s->idle, &s->idle_lock, wait_end);
        }
    }
    atomic_fetch_sub(&s->nsleeping, 1);
    pthread_mutex_unlock(&s->idle_lock);
}

/* ---- Spinning before sleeping ------------------------------------------------------------
 * Work often comes in bursts: a driver spawning children, a fan-in of messages. A worker
 * that went to sleep the moment its queue ran dry would be woken for the next one (a
 * futex call for the waker, a context switch for it) and fall asleep again, over and
 * over. So a worker that finds nothing looks again for SPIN_NS first; while one does,
 * notify_idle skips the wake-up altogether. It is bounded: a VM with nothing to do
 * sleeps within microseconds. BEAM's schedulers busy-wait briefly the same way. */

#ifndef SPIN_NS
#define SPIN_NS 50000
#endif

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static bool spin_for_work(Worker *w, Process *until, uint64_t wait_end)
{
    Sched *s = w->sched;
    if (s->nworkers == 1)
        return false;
    atomic_fetch_add(&s->nspinning, 1);
    uint64_t end = now_ns() + SPIN_NS;
    bool found = false;
    for (unsigned i = 1; !atomic_load_explicit(&s->stopping, memory_order_relaxed); i++) {
        if ((found = work_for(w)))
            break;
        if (i % 64 == 0) {
            uint64_t t = now_ns();
            if (t >= end || t >= wait_end || atomic_load(&s->timers.next_deadline) <= t ||
                (until && atomic_load(&until->state) == PS_EXITED))
                break;
        }
        cpu_relax();
    }
    /* The last spinner leaving with work in hand: another worker may be needed for the
     * rest of the burst, and nobody signalled while we spun. */
    if (atomic_fetch_sub(&s->nspinning, 1) == 1 && found)
        notify_idle(s);
    return found;
}

/* The worker loop; with `until` set (the caller of sched_wait runs it) it returns when
 * that process has exited, nothing can run any more, or at `wait_end` (checked between
 * slices). */
/* A worker found work: the VM is not deadlocked. Read first: the flag is shared by every
 * worker, and a store on each slice (a locked xchg) would bounce its line between them.
 * Only a worker that sees every started worker asleep sets it, so one that is running
 * need not fear missing that. */
static void no_deadlock(Sched *s)
{
    if (atomic_load_explicit(&s->deadlocked, memory_order_relaxed))
        atomic_store(&s->deadlocked, false);
}

static void worker_loop(Worker *w, Process *until, uint64_t wait_end)
{
    Sched *s = w->sched;
    current_worker = w;
    while (!atomic_load(&s->stopping)) {
        if (until && atomic_load(&until->state) == PS_EXITED)
            break;
        if (wait_end != UINT64_MAX && now_ns() >= wait_end)
            break;
        fire_timers(s);
        int64_t budget;
        Process *p = find_work(w, &budget);
        if (p) {
            no_deadlock(s);
            run_slice(w, p, budget);
            continue;
        }
        if (until && atomic_load(&s->deadlocked))
            break;
        if (!spin_for_work(w, until, wait_end))
            idle_wait(w, until, wait_end);
    }
    current_worker = NULL;
}

static void *worker_main(void *arg)
{
    worker_loop(arg, NULL, UINT64_MAX);
    return NULL;
}

/* ---- The scheduler's life ------------------------------------------------------------------ */

/* The cores this process may run on: its affinity mask (taskset, a container's cpuset),
 * which may be fewer than the machine has online. */
static unsigned cores_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return (unsigned)CPU_COUNT(&set);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (unsigned)cores : 1;
}

Sched *sched_new(const SchedConfig *cfg)
{
    Sched *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    if (!s->cfg.reductions)
        s->cfg.reductions = SCHED_DEFAULT_REDUCTIONS;
    if (!s->cfg.max_processes)
        s->cfg.max_processes = SCHED_DEFAULT_MAX_PROCESSES;
    s->nworkers = cfg->threads ? cfg->threads : cores_available();
    s->workers = calloc(s->nworkers, sizeof *s->workers);
    if (!s->workers) {
        free(s);
        return NULL;
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        s->workers[i] = (Worker){ .sched = s, .index = i, .rng = (cfg->seed ^ 0x9E3779B97F4A7C15ull) + i };
        deque_init(&s->workers[i].deque);
    }
    /* The caller of sched_wait or sched_step is a worker from the start; threads count
     * when they start. */
    atomic_init(&s->nstarted, s->nworkers == 1 || s->cfg.caller_is_worker ? 1 : 0);
    pthread_mutex_init(&s->global_lock, NULL);
    pthread_mutex_init(&s->idle_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* deadlines are CLOCK_MONOTONIC */
    pthread_cond_init(&s->idle, &ca);
    pthread_cond_init(&s->exited, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->names_lock, NULL);
    atomic_init(&s->next_pid, 1);
    atomic_init(&s->next_ref, 1);
    timers_init(&s->timers);
    s->epfd = s->stopfd = -1;
    pthread_mutex_init(&s->io_lock, NULL);   /* the poller itself starts on first use */
    if (!process_table_init(s)) {
        sched_free(s);
        return NULL;
    }
    return s;
}

/* Workers that are threads of their own: all of them, or all but worker 0 when that is
 * the caller of sched_wait. */
static unsigned first_thread(const Sched *s)
{
    return s->cfg.caller_is_worker ? 1 : 0;
}

static void start_threads(Sched *s)
{
    if (s->nworkers == 1 || atomic_exchange(&s->threads_started, true))
        return;
    for (unsigned i = first_thread(s); i < s->nworkers; i++) {
        atomic_fetch_add(&s->nstarted, 1);
        if (pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) != 0)
            abort();   /* no worker threads: nothing can run */
    }
}

void sched_start(Sched *s)
{
    start_threads(s);
}

/* Under idle_lock: the index of watched process `pid` in s->watched, or -1. */
static ptrdiff_t watched_index(Sched *s, uint64_t pid)
{
    for (size_t i = 0; i < s->nwatched; i++)
        if (s->watched[i]->pid == pid)
            return (ptrdiff_t)i;
    return -1;
}

/* Under idle_lock: forget watched process i; its reference passes to the caller. */
static Process *unwatch(Sched *s, ptrdiff_t i)
{
    Process *p = s->watched[i];
    s->watched[i] = s->watched[--s->nwatched];
    return p;
}

static Process *take_watched(Sched *s, uint64_t pid)
{
    pthread_mutex_lock(&s->idle_lock);
    ptrdiff_t i = watched_index(s, pid);
    Process *p = i >= 0 ? unwatch(s, i) : NULL;
    pthread_mutex_unlock(&s->idle_lock);
    return p;
}

/* Fill *out from an exited (or, in a deadlock, never-ending) watched process and drop
 * sched_wait's reference to it. */
static void collect_exit(Process *p, ExitInfo *out)
{
    if (atomic_load(&p->state) == PS_EXITED) {
        out->reason = p->exit_reason;
        if (p->trap)
            out->trap = *p->trap;
        out->nresults = p->nresults;
        memcpy(out->results, p->results, sizeof out->results);
    } else {
        out->reason = EXIT_DEADLOCK;   /* it waits for something that can never come */
    }
    process_release(p);
}

/* The watched process `pid` with one more reference (NULL if it is not watched). */
static Process *find_watched(Sched *s, uint64_t pid)
{
    pthread_mutex_lock(&s->idle_lock);
    ptrdiff_t i = watched_index(s, pid);
    Process *p = i >= 0 ? s->watched[i] : NULL;
    if (p)
        atomic_fetch_add(&p->refs, 1);
    pthread_mutex_unlock(&s->idle_lock);
    return p;
}

bool sched_wait_until(Sched *s, uint64_t pid, uint64_t deadline_ns, ExitInfo *out)
{
    memset(out, 0, sizeof *out);
    Process *p = find_watched(s, pid);
    if (!p) {
        out->reason = EXIT_NOPROC;
        return true;
    }
    if (s->nworkers == 1 || s->cfg.caller_is_worker) {
        worker_loop(&s->workers[0], p, deadline_ns);
    } else {
        sched_start(s);
        pthread_mutex_lock(&s->idle_lock);
        while (atomic_load(&p->state) != PS_EXITED && !atomic_load(&s->deadlocked) &&
               now_ns() < deadline_ns)
            timed_wait(&s->exited, &s->idle_lock, deadline_ns);
        pthread_mutex_unlock(&s->idle_lock);
    }
    bool over = atomic_load(&p->state) == PS_EXITED || atomic_load(&s->deadlocked);
    process_release(p);           /* find_watched's: the watched list still holds one */
    if (!over) {
        out->reason = EXIT_TIMEOUT;   /* still running: it can be waited for again */
        return false;
    }
    /* Another thread may have collected it meanwhile: then it is no longer ours. */
    if (!(p = take_watched(s, pid))) {
        out->reason = EXIT_NOPROC;
        return true;
    }
    collect_exit(p, out);
    return true;
}

void sched_wait(Sched *s, uint64_t pid, ExitInfo *out)
{
    sched_wait_until(s, pid, UINT64_MAX, out);
}

bool sched_poll_exit(Sched *s, uint64_t pid, ExitInfo *out)
{
    memset(out, 0, sizeof *out);
    Process *p = NULL;
    bool exited = true;
    pthread_mutex_lock(&s->idle_lock);
    ptrdiff_t i = watched_index(s, pid);
    /* process_exit stores PS_EXITED under idle_lock: no half-exited process here */
    if (i >= 0 && (exited = atomic_load(&s->watched[i]->state) == PS_EXITED))
        p = unwatch(s, i);
    pthread_mutex_unlock(&s->idle_lock);
    if (p)
        collect_exit(p, out);
    else if (exited)
        out->reason = EXIT_NOPROC;
    return exited;
}

/* ---- Stepping (threads == 1): the worker loop for a while, on the caller's thread ------- */

SchedStep sched_step(Sched *s, int64_t max_reductions)
{
    if (s->nworkers != 1)
        return STEP_WAITING;      /* the workers run by themselves: nothing to step */
    Worker *w = &s->workers[0];
    Worker *outer = current_worker;
    current_worker = w;           /* wake-ups from this thread go to worker 0's deque */
    uint64_t start = total_reductions(s);
    int64_t slices = 0;
    while (!atomic_load(&s->stopping)) {
        fire_timers(s);
        int64_t budget;
        Process *p = find_work(w, &budget);
        if (!p)
            break;
        no_deadlock(s);
        run_slice(w, p, budget);
        /* Each slice counts at least one: a process that only yields still ends a step. */
        if ((int64_t)(total_reductions(s) - start) + ++slices >= max_reductions)
            break;
    }
    current_worker = outer;
    if (work_visible(s))
        return STEP_RUNNABLE;
    if (atomic_load(&s->timers.next_deadline) != UINT64_MAX || outside_waits(s))
        return STEP_WAITING;
    return STEP_IDLE;
}

void sched_idle_sleep(Sched *s, uint64_t until_ns)
{
    pthread_mutex_lock(&s->idle_lock);
    atomic_fetch_add(&s->nsleeping, 1);   /* before looking: notify_idle signals from now */
    if (!atomic_load(&s->stopping) && !work_visible(s)) {
        uint64_t deadline = atomic_load(&s->timers.next_deadline);
        timed_wait(&s->idle, &s->idle_lock, until_ns < deadline ? until_ns : deadline);
    }
    atomic_fetch_sub(&s->nsleeping, 1);
    pthread_mutex_unlock(&s->idle_lock);
}

void sched_notify(Sched *s)
{
    pthread_mutex_lock(&s->idle_lock);
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->idle_lock);
}

uint64_t sched_now_ns(void)
{
    return now_ns();
}

int64_t sched_next_timer_ns(Sched *s)
{
    uint64_t deadline = atomic_load(&s->timers.next_deadline), now = now_ns();
    if (deadline == UINT64_MAX)
        return -1;
    return deadline > now ? (int64_t)(deadline - now) : 0;
}

void sched_free(Sched *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    pthread_mutex_lock(&s->idle_lock);
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->idle_lock);
    if (atomic_load(&s->threads_started))
        for (unsigned i = first_thread(s); i < s->nworkers; i++)
            pthread_join(s->workers[i].thread, NULL);
    io_stop(s);
    for (size_t i = 0; i < s->nwatched; i++)
        process_release(s->watched[i]);
    process_table_free(s);
    for (unsigned i = 0; i < s->nworkers; i++)
        deque_destroy(&s->workers[i].deque);
    for (size_t i = 0; i < s->nnames; i++)
        free(s->names[i].name);
    timers_destroy(&s->timers);
    for (unsigned i = 0; i < s->nworkers; i++)   /* last: the frees above may fill them */
        message_cache_free(&s->workers[i].messages);
    process_cache_free(s);
    free(s->names);
    free(s->global);
    free(s->watched);
    free(s->workers);
    pthread_mutex_destroy(&s->global_lock);
    pthread_mutex_destroy(&s->idle_lock);
    pthread_mutex_destroy(&s->names_lock);
    pthread_mutex_destroy(&s->io_lock);
    pthread_cond_destroy(&s->idle);
    pthread_cond_destroy(&s->exited);
    free(s);
}

void sched_set_resolver(Sched *s, ImportResolver resolver, void *env)
{
    s->cfg.resolver = resolver;
    s->cfg.resolver_env = env;
}

void sched_stats(Sched *s, SchedStats *out)
{
    out->spawned = atomic_load(&s->n_spawned);
    out->exited = atomic_load(&s->n_exited);
    out->messages = atomic_load(&s->n_messages);
    for (unsigned i = 0; i < s->nworkers; i++)
        out->messages += atomic_load_explicit(&s->workers[i].messages_sent, memory_order_relaxed);
    out->reductions = total_reductions(s);
    out->steals = atomic_load(&s->n_steals);
    out->alive = out->spawned - out->exited;
}

/* ---- What host functions use ----------------------------------------------------------------- */

Process *sched_self(Exec *exec) { return vm_exec_user(exec); }
Sched *sched_of(Process *p) { return p->sched; }
uint64_t sched_pid(const Process *p) { return p->pid; }
const ProcessConfig *sched_config(const Process *p) { return &p->config; }
Instance *sched_instance(Process *p) { return p->inst; }
void *sched_local(Process *p, int slot) { return p->local[slot]; }

void sched_set_local(Process *p, int slot, void *data, void (*free_fn)(void *))
{
    p->local[slot] = data;
    p->local_free[slot] = free_fn;
}

void sched_send(Sched *s, Process *from, uint64_t to, int64_t tag, const void *bytes, size_t len)
{
    Process *q = process_lookup(s, to);
    if (!q)
        return;   /* a dead pid: nothing happens, as in Erlang */
    Message *m = message_new(tag, from ? from->pid : 0, bytes, len);
    if (m) {
        sched_deliver(q, m);
    }
    process_release(q);
}

/* ---- The embedder's blocking host calls and mailbox (hostfns/embed.c) ------------------------ */

void sched_host_call_begin(Process *p)
{
    if (p->host_waiting) {        /* it blocked before and runs again: no longer waiting */
        p->host_waiting = false;
        atomic_fetch_sub(&p->sched->n_host_waiting, 1);
    }
}

void sched_host_call_blocked(Process *p)
{
    p->wait_on = "host call";
    if (!p->host_waiting) {
        p->host_waiting = true;
        atomic_fetch_add(&p->sched->n_host_waiting, 1);
    }
}

bool sched_host_wake(Sched *s, uint64_t pid)
{
    Process *p = process_lookup(s, pid);
    if (!p)
        return false;
    /* Sequentially consistent, as a message push: the process stores PS_WAITING and then
     * loads host_signal (park), we store host_signal and then CAS the state. */
    atomic_store(&p->host_signal, true);
    sched_wake(p);
    process_release(p);
    return true;
}

/* The current wait is over: forget its deadline; a timer of it that fires later is stale. */
void sched_end_wait(Process *p)
{
    p->deadline_ns = 0;
    /* Only the process itself writes wait_gen (a timer compares it): no locked add. */
    atomic_store_explicit(&p->wait_gen, atomic_load_explicit(&p->wait_gen, memory_order_relaxed) + 1,
                          memory_order_release);
}

void sched_arm_deadline_ns(Process *p, int64_t ns)
{
    if (p->deadline_ns)
        return;   /* armed by the first try of this same call */
    p->deadline_ns = now_ns() + (uint64_t)ns;
    timers_add(&p->sched->timers, p->deadline_ns, p->pid, atomic_load(&p->wait_gen), NULL);
}

static void arm_deadline(Process *p, int64_t ms)
{
    sched_arm_deadline_ns(p, ms * 1000000);
}

bool sched_deadline_passed(Process *p)
{
    return atomic_load(&p->fired_gen) == atomic_load(&p->wait_gen) ||
           (p->deadline_ns && now_ns() >= p->deadline_ns);
}

RecvStatus sched_receive(Process *p, const int64_t *tags, uint32_t ntags, int64_t timeout_ms)
{
    message_free(p->mbox.current);
    p->mbox.current = NULL;
    Message *m = mailbox_take(&p->mbox, tags, ntags);
    if (m) {
        p->mbox.current = m;
        sched_end_wait(p);
        return RECV_OK;
    }
    if (timeout_ms == 0 || (timeout_ms > 0 && p->deadline_ns && sched_deadline_passed(p))) {
        sched_end_wait(p);
        return RECV_TIMEOUT;
    }
    if (timeout_ms > 0)
        arm_deadline(p, timeout_ms);
    p->wait_on = "receive";
    return RECV_BLOCK;
}

RecvStatus sched_sleep(Process *p, int64_t ms)
{
    if (ms <= 0)
        return RECV_OK;
    if (p->deadline_ns && sched_deadline_passed(p)) {
        sched_end_wait(p);
        return RECV_OK;
    }
    arm_deadline(p, ms);
    mailbox_drain(&p->mbox);   /* so that parking does not see them as news */
    p->wait_on = "sleep";
    return RECV_BLOCK;
}

RecvStatus sched_yield_now(Process *p)
{
    if (p->yielded) {
        p->yielded = false;
        sched_end_wait(p);
        return RECV_OK;
    }
    p->yielded = true;
    /* As if this wait's timer had fired: park() requeues the process at once. */
    atomic_store(&p->fired_gen, atomic_load(&p->wait_gen));
    p->wait_on = "yield";
    return RECV_BLOCK;
}

int64_t sched_msg_tag(const Process *p) { return p->mbox.current ? p->mbox.current->tag : 0; }
uint64_t sched_msg_sender(const Process *p) { return p->mbox.current ? p->mbox.current->sender : 0; }

const uint8_t *sched_msg_bytes(const Process *p, size_t *len)
{
    *len = p->mbox.current ? p->mbox.current->len : 0;
    return p->mbox.current ? p->mbox.current->bytes : NULL;
}

uint64_t sched_send_after(Sched *s, Process *from, uint64_t to, int64_t tag, const void *bytes,
                          size_t len, int64_t ms)
{
    Message *m = message_new(tag, from ? from->pid : 0, bytes, len);
    if (!m)
        return 0;
    uint64_t id = timers_add(&s->timers, now_ns() + (uint64_t)(ms > 0 ? ms : 0) * 1000000u, to, 0, m);
    if (!id)
        message_free(m);
    notify_idle(s);   /* a sleeping worker must re-arm its wait for the new deadline */
    return id;
}

bool sched_cancel_timer(Sched *s, uint64_t timer)
{
    return timers_cancel(&s->timers, timer);
}

const char *sched_reason_text(int32_t reason, char *buf, size_t len)
{
    switch (reason) {
    case EXIT_NORMAL: return "normal";
    case EXIT_KILLED: return "killed";
    case EXIT_NOPROC: return "noproc";
    case EXIT_OUT_OF_MEMORY: return "out of memory";
    case EXIT_OUT_OF_REDUCTIONS: return "out of reductions";
    case EXIT_SPAWN_FAILED: return "spawn failed";
    default: break;
    }
    if (reason >= EXIT_TRAP_BASE && reason < EXIT_USER_BASE)
        snprintf(buf, len, "trap: %s", vm_trap_message((TrapKind)(reason - EXIT_TRAP_BASE)));
    else if (reason >= EXIT_USER_BASE)
        snprintf(buf, len, "exit %d", reason - EXIT_USER_BASE);
    else
        snprintf(buf, len, "reason %d", reason);
    return buf;
}
