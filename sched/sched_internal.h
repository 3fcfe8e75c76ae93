/*
 * sched_internal.h — the structures behind sched.h, for the files of sched/ only.
 *
 *   deque.c      Chase–Lev work-stealing deque of runnable processes
 *   mailbox.c    a process's messages: lock-free inbox, selective receive
 *   process.c    pids, spawn, exit, links, monitors, names
 *   timer.c      receive timeouts, sleep, send_after
 *   scheduler.c  workers: run a slice, park, wake, steal
 *
 * Read next: scheduler.c.
 */
#ifndef LVM_SCHED_INTERNAL_H
#define LVM_SCHED_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "sched.h"

/* ---- Messages ------------------------------------------------------------------------ */

struct Message {
    struct Message *next;
    int64_t tag;
    uint64_t sender;
    size_t len;
    uint8_t bytes[];
};

Message *message_new(int64_t tag, uint64_t sender, const void *bytes, size_t len);
void message_free(Message *m);   /* NULL is fine */

/* A worker's free small messages (mailbox.c): most messages are a few words, and a
 * worker that receives them mostly sends the next ones. */
typedef struct MessageCache {
    Message *head;
    unsigned n;
} MessageCache;
void message_cache_free(MessageCache *c);

/* Multi-producer, single-consumer. Producers push onto `inbox` (a lock-free stack, newest
 * first); only the process itself takes the whole stack, reverses it and appends it to
 * its private FIFO (head..tail), so messages from one sender stay in order. */
typedef struct Mailbox {
    _Atomic(Message *) inbox;
    Message *head, *tail;
    Message *current;             /* the last message received; freed by the next receive */
    /* Messages in head..tail, for lvm --top: written by the owner only (drain, take),
     * read by sched_snapshot from another thread, hence atomic (relaxed: a count that is
     * a moment old is good enough, and senders pay nothing for it). */
    atomic_uint count;
} Mailbox;

void mailbox_push(Mailbox *mb, Message *m);
bool mailbox_has_new(Mailbox *mb);
void mailbox_drain(Mailbox *mb);  /* move the inbox to the private FIFO */
/* Take the oldest message whose tag is in tags (any if ntags == 0), or NULL. */
Message *mailbox_take(Mailbox *mb, const int64_t *tags, uint32_t ntags);
void mailbox_free(Mailbox *mb);

/* ---- Processes ----------------------------------------------------------------------- */

typedef enum ProcState {
    PS_RUNNABLE,                  /* in a run queue */
    PS_RUNNING,                   /* a worker is running it */
    PS_WAITING,                   /* parked: receive, sleep or a blocking host call */
    PS_EXITED,
} ProcState;

typedef struct Monitor {
    uint64_t ref;
    uint64_t pid;                 /* the other side */
} Monitor;

struct Process {
    /* The first four cache lines are what a message hop touches: a sender reads them all
     * (process_lookup prefetches them together, so it waits for one miss, not four in a
     * row), and so does the process when it runs again (prefetch_process). The rest
     * is touched at spawn, exit, links and monitors. The allocation is 64-byte aligned.
     *
     * Line 0. pid and refs first: process_lookup reads them without a lock, and a
     * recycled Process keeps them across reuse (process.c, "Process memory"). */
    _Atomic uint64_t pid;
    atomic_int refs;              /* the pid table's, and each temporary lookup's */
    _Atomic int state;            /* ProcState; transitions by CAS (scheduler.c) */
    Sched *sched;
    void (*host_notify)(void *);  /* the host's mailbox only: called instead of queueing */
    Exec *exec;
    _Atomic int32_t kill_reason;  /* -1, or the reason an exit signal asked it to die with */
    atomic_bool host_signal;      /* sched_host_wake came: a blocked host call runs again */
    atomic_bool io_signal;        /* the poller saw one of io_fds ready (io.c) */
    bool yielded;                 /* sched_yield_now blocked once already */
    bool track_cpu;               /* it asked for its CPU time: time its slices */
    uint64_t fuel_used;
    const char *wait_on;          /* what its last blocking call waits for: "receive",
                                     "sleep", "io", "yield", "host call" (--trace-sched,
                                     --top); set before it parks */

    /* Line 1: the mailbox, and the wait a message ends. The host call that blocked runs
     * again when woken; a timer that fires sets fired_gen if its generation still matches
     * wait_gen. */
    Mailbox mbox;
    uint64_t deadline_ns;         /* 0: no deadline registered for the current wait */
    _Atomic uint64_t wait_gen;    /* bumped when a wait ends */
    _Atomic uint64_t fired_gen;   /* the generation whose timer fired */

    /* Lines 2-3: where it will touch first when woken (park, sched_wake). */
    const void *hot[VM_EXEC_HOT];

    /* Line 3. */
    ProcessConfig config;
    Instance *inst;
    bool host_waiting;            /* blocked in an embedder's host call (n_host_waiting) */
    bool watched;                 /* spawned from outside: sched_wait reads its exit */
    bool io_counted;              /* counted in n_io_waiting (io.c) */

    /* Cold: spawn, exit, links, monitors, names, I/O. */
    Module *module;
    struct Process *pool_next;    /* in a free pool */
    void *host_notify_env;
    uint64_t cpu_ns;              /* CPU time of its finished slices (once track_cpu) */
    uint64_t slice_cpu_start;     /* the worker thread's CPU clock when this slice began */
    int *io_fds;                  /* dups of the descriptors it waits on */
    uint32_t nio_fds, capio_fds;

    pthread_mutex_t lock;         /* links, monitors, trap_exit, exiting, names */
    uint64_t *links;
    uint32_t nlinks, caplinks;
    Monitor *watchers;            /* who monitors me */
    uint32_t nwatchers, capwatchers;
    Monitor *watching;            /* whom I monitor */
    uint32_t nwatching, capwatching;
    bool trap_exit;
    bool exiting;
    int32_t exit_reason;          /* set by sched_set_exit_reason or at exit */
    bool exit_reason_set;         /* sched_set_exit_reason was called (lvm.exit) */
    Trap *trap;                   /* a copy of its trap, if it ended with one */
    uint32_t nresults;            /* of its function, when it returned */
    Value results[16];
    char **names;
    uint32_t nnames;

    void *local[LOCAL_COUNT];
    void (*local_free[LOCAL_COUNT])(void *);
} __attribute__((aligned(64)));

/* The lines above that a hop touches, checked where the layout is easy to break. */
#define PROCESS_HOT_LINES 4
_Static_assert(offsetof(struct Process, mbox) == 64, "Process line 0 overflows");
_Static_assert(offsetof(struct Process, hot) == 128, "Process line 1 overflows");
_Static_assert(offsetof(struct Process, module) <= 256, "Process line 3 overflows");

Process *process_lookup(Sched *s, uint64_t pid);   /* retained, or NULL */
/* Every process in the table, each retained, in a NULL-terminated array to free. */
Process **process_all(Sched *s, size_t *n);
void process_release(Process *p);
/* End p (on the worker that ran it): signal links and monitors, drop names, free it. */
void process_exit(Process *p, int32_t reason);
/* Deliver an exit signal (from a link or sched_kill) to p. */
void process_signal(Process *p, uint64_t from, int32_t reason, bool from_link);

/* ---- Work-stealing deque ---------------------------------------------------------------- */

typedef struct DequeArray {
    size_t size;                  /* a power of two */
    struct DequeArray *older;     /* kept until the deque dies: a thief may still read it */
    _Atomic(Process *) items[];
} DequeArray;

typedef struct Deque {
    atomic_size_t top, bottom;
    _Atomic(DequeArray *) array;
} Deque;

void deque_init(Deque *d);
void deque_destroy(Deque *d);
void deque_push(Deque *d, Process *p);        /* owner only */
Process *deque_steal(Deque *d);               /* anyone, oldest first; NULL if empty or lost a race */
size_t deque_size(Deque *d);

/* ---- I/O waits (io.c) ---------------------------------------------------------------- */

bool io_start(Sched *s);
void io_stop(Sched *s);
void io_end_wait(Process *p);

/* The current wait's bookkeeping (scheduler.c), shared with io.c. */
void sched_end_wait(Process *p);
void sched_arm_deadline_ns(Process *p, int64_t ns);
bool sched_deadline_passed(Process *p);

/* ---- Timers -------------------------------------------------------------------------- */

typedef struct Timer {
    uint64_t deadline_ns;
    uint64_t id;
    uint64_t pid;                 /* WAKE: the process; SEND: the receiver */
    uint64_t gen;                 /* WAKE: the wait generation it belongs to */
    Message *msg;                 /* SEND: what to deliver; NULL for WAKE */
    bool cancelled;
} Timer;

typedef struct TimerHeap {
    pthread_mutex_t lock;
    Timer **items;
    size_t n, cap;
    _Atomic uint64_t next_deadline;   /* UINT64_MAX when empty: checked without the lock */
    _Atomic uint64_t next_id;
} TimerHeap;

void timers_init(TimerHeap *h);
void timers_destroy(TimerHeap *h);
uint64_t timers_add(TimerHeap *h, uint64_t deadline_ns, uint64_t pid, uint64_t gen, Message *msg);
bool timers_cancel(TimerHeap *h, uint64_t id);
/* Remove the timers due at `now` into out (up to max); returns how many. */
size_t timers_due(TimerHeap *h, uint64_t now, Timer **out, size_t max);

uint64_t now_ns(void);            /* CLOCK_MONOTONIC */

/* ---- The scheduler ------------------------------------------------------------------------ */

/* Freed Processes, linked through pool_next (process.c). */
typedef struct ProcList {
    Process *head;
    size_t n;
} ProcList;

typedef struct Worker {
    Sched *sched;
    unsigned index;
    Deque deque;
    pthread_t thread;
    uint64_t rng;
    Process *running;             /* the process of the current slice (this thread only) */
    _Atomic uint64_t steals;      /* processes it took from others (relaxed: a counter) */
    unsigned looks;               /* find_work calls, for balance() */
    ProcList pool;                /* freed Processes for this worker's next spawns */
    /* The process this worker woke last (sched_enqueue): it runs next, on what is left of
     * the waking slice (`left`), as Go's runnext does. Only the owner writes it; others
     * read it as a hint (work_for, work_visible). */
    _Atomic(Process *) next;
    int64_t left;                 /* reductions left of the last slice; -1: no limit */
    MessageCache messages;        /* freed small messages for its next sends */
    /* Its share of the VM's counters (sched_stats sums them): written by this worker
     * only, so a plain load and store, not a locked add on a line every worker shares. */
    _Atomic uint64_t reductions, messages_sent;
} Worker;

typedef struct ImportCache ImportCache;
#define SCHED_IMPORT_CACHE 8      /* modules whose imports a Sched keeps bound */

typedef struct Registration {
    char *name;                   /* bytes, not NUL-terminated in meaning: compare with len */
    size_t len;
    uint64_t pid;
} Registration;

struct Sched {
    SchedConfig cfg;
    unsigned nworkers;
    Worker *workers;
    atomic_bool threads_started;  /* (with caller_is_worker: workers 1..n-1, lazily) */
    atomic_uint nstarted;         /* workers whose loop runs, for deadlock detection */
    atomic_bool stopping;

    /* Processes spawned from outside a worker wait here until a worker takes them. */
    pthread_mutex_t global_lock;
    Process **global;
    size_t nglobal, capglobal;

    /* Idle workers sleep on `idle` (DESIGN decision 5), after looking for work for a few
     * microseconds first (`nspinning` of them are doing that: see spin_for_work). */
    pthread_mutex_t idle_lock;
    pthread_cond_t idle;
    atomic_int nsleeping;
    atomic_int nspinning;
    atomic_size_t nglobal_hint;   /* nglobal, for spinners that do not take global_lock */

    /* sched_wait sleeps on `exited` (with idle_lock); `deadlocked` when every worker is
     * idle with nothing queued and no timer pending: no process can ever run again. */
    pthread_cond_t exited;
    atomic_bool deadlocked;
    Process **watched;            /* spawned from outside, kept for sched_wait */
    size_t nwatched, capwatched;

    /* The process table: pid -> Process at table[pid & table_mask], no lock (process.c). */
    _Atomic(Process *) *table;
    uint64_t table_mask;
    _Atomic uint64_t next_pid;

    /* Freed Processes for reuse (process.c), past each worker's own few. */
    pthread_mutex_t pool_lock;
    ProcList pool;
    _Atomic uint64_t next_ref;

    pthread_mutex_t names_lock;
    Registration *names;
    size_t nnames, capnames;

    TimerHeap timers;

    /* I/O waits (io.c): one epoll set, one poller thread. */
    int epfd, stopfd;
    pthread_t poller;
    pthread_mutex_t io_lock;      /* starting the poller (io_start) */
    bool poller_started;
    atomic_bool poller_running;   /* read without the lock on every I/O wait */
    atomic_int n_io_waiting;      /* processes parked on descriptors: not a deadlock */
    atomic_int n_host_waiting;    /* parked in an embedder's host call: not a deadlock */

    _Atomic uint64_t n_spawned, n_exited, n_steals;
    _Atomic uint64_t n_messages;  /* sent from outside a worker (the rest: Worker) */

    /* The bound imports of the modules spawned so far (process.c), read without a lock. */
    _Atomic(ImportCache *) import_cache[SCHED_IMPORT_CACHE];
};

/* Make a parked (or new) process runnable and queue it: on the calling worker's own
 * deque when called from a worker, else on the global queue. */
void sched_wake(Process *p);
void sched_enqueue(Sched *s, Process *p);
/* Put m in p's mailbox, count it, and wake p (scheduler.c): every message, from a
 * process, a timer or the VM itself, arrives this way. */
void sched_deliver(Process *p, Message *m);

/* ---- Seeing inside (observe.c) ---------------------------------------------------------- */

/* --trace-sched: print one event line. Each event site tests the flag first, one
 * well-predicted branch per slice, spawn or wake — never per instruction — so the
 * scheduler runs at the same speed without it. */
void sched_event(Sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define SCHED_EVENT(s, ...)                                                     \
    do {                                                                        \
        if (__builtin_expect((s)->cfg.trace_sched, 0))                          \
            sched_event((s), __VA_ARGS__);                                      \
    } while (0)
/* "pid N" for p, else `otherwise`, for event lines. */
const char *sched_who(char *buf, size_t len, const Process *p, const char *otherwise);
/* The worker the calling thread is, or NULL (scheduler.c). */
Worker *sched_current_worker(void);

bool process_table_init(Sched *s);
void process_table_free(Sched *s);   /* releases what is left, then the pool */
void table_insert(Sched *s, Process *p);
/* Free the import cache (process.c), at sched_free. */
void process_cache_free(Sched *s);
void table_remove(Sched *s, uint64_t pid);
void names_remove_pid(Sched *s, Process *p);

#endif
