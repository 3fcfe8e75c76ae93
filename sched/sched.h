/*
 * sched.h — processes and the scheduler that runs them (DESIGN decisions 1, 3–8).
 *
 * Where it sits: above vm/. A process is one Instance of a module plus one Exec (its
 * stacks) plus a mailbox, links and monitors, identified by a 64-bit pid that is never
 * reused. Worker threads run processes one slice of reductions at a time (vm_run), each
 * worker with a Chase–Lev work-stealing deque; a process blocked in receive or sleep is
 * parked with no thread and no C stack, and woken by a message or a timer.
 *
 * sched/ knows nothing of the `lvm` guest API or of WASI: an embedder gives it an
 * ImportResolver that binds each import of a spawned module (hostfns/ and wasi/ do that
 * for the lvm command). Read next: sched_internal.h, then scheduler.c.
 */
#ifndef LVM_SCHED_SCHED_H
#define LVM_SCHED_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../loader/module.h"
#include "../vm/vm.h"

typedef struct Sched Sched;
typedef struct Process Process;

/* Why a process ended (also the reason carried by exit signals and DOWN messages).
 * Below 256: the VM's own reasons; a trap of kind k is EXIT_TRAP_BASE + k.
 * 256 and up: reasons a guest chose (lvm.exit(reason), WASI proc_exit(code) is
 * EXIT_USER_BASE + code for a non-zero code). */
enum {
    EXIT_TIMEOUT = -2,            /* sched_wait_until: not ended yet (not a reason to exit) */
    EXIT_DEADLOCK = -1,           /* sched_wait: it can never run again */
    EXIT_NORMAL = 0,
    EXIT_KILLED = 1,              /* kill with the untrappable reason */
    EXIT_NOPROC = 2,              /* the process did not exist (link, monitor) */
    EXIT_OUT_OF_MEMORY = 3,       /* over its memory limit */
    EXIT_OUT_OF_REDUCTIONS = 4,   /* over its fuel */
    EXIT_SPAWN_FAILED = 5,        /* instantiation failed */
    EXIT_TRAP_BASE = 16,          /* + TrapKind */
    EXIT_USER_BASE = 256,
};

/* Describe an exit reason in words ("normal", "trap: integer divide by zero", …). */
const char *sched_reason_text(int32_t reason, char *buf, size_t len);

/* Permissions a process has and passes on to the processes it spawns. */
enum {
    NS_LVM = 1u << 0,             /* may import module "lvm" */
    NS_WASI = 1u << 1,            /* may import module "wasi_snapshot_preview1" */
    NS_HOST = 1u << 2,            /* may import the embedder's own modules (include/lvm.h,
                                     lvm --native): any module name but the two above */
};

typedef struct ProcessConfig {
    uint32_t max_memory_pages;    /* 0: the module's own maximum */
    uint64_t fuel;                /* total reductions before EXIT_OUT_OF_REDUCTIONS; 0: none */
    bool can_spawn;
    uint32_t namespaces;          /* NS_* bits */
    /* The embedder's WASI world (a WasiConfig) for this process and the processes it
     * spawns, or NULL for the runtime's own. Opaque to sched/, which only copies it with
     * the rest of the configuration; hostfns/runtime.c reads it. */
    const void *wasi_config;
} ProcessConfig;

/* Binds import `imp` of module m for process p (spawned by `parent`, NULL for a root).
 * Returns false with a message when the import cannot be bound. What it binds must not
 * depend on p or parent: once every import of m is bound, the scheduler keeps the result
 * and reuses it for the processes of m spawned later (process.c, ImportCache). */
typedef bool (*ImportResolver)(void *env, Process *p, Process *parent, const Module *m,
                               const Import *imp, Extern *out, char *err, size_t errlen);

typedef struct SchedConfig {
    unsigned threads;             /* worker threads; 0: one per core */
    int64_t reductions;           /* slice; 0: SCHED_DEFAULT_REDUCTIONS */
    uint64_t seed;                /* for victim choice; with threads = 1 runs are repeatable */
    uint64_t max_processes;       /* alive at once; 0: SCHED_DEFAULT_MAX_PROCESSES. A spawn
                                     past it fails ("too many processes"): a guest's spawn
                                     loop ends in an error, not in the host's OOM killer */
    ImportResolver resolver;
    void *resolver_env;
    /* Seeing inside (lvm --trace, --trace-sched; sched/observe.c), all to stderr: */
    bool trace;                   /* every handler each process runs (vm_exec_set_trace) */
    const char *trace_func;       /* … only inside this function (name or index); NULL: all */
    bool trace_sched;             /* spawn, run, yield, block, wake, steal, exit: a line each */
    /* The thread that calls sched_wait runs worker 0 (the CLI's main thread), and the
     * other workers' threads start only once there is work to share: a program that never
     * has two processes runnable at once runs on one thread, and costs no more memory
     * than that. Without it, every worker is a thread of its own started by sched_start. */
    bool caller_is_worker;
} SchedConfig;

#define SCHED_DEFAULT_REDUCTIONS 4000   /* BEAM's slice, in calls and loop back-edges */
#define SCHED_DEFAULT_MAX_PROCESSES (1u << 20)   /* BEAM's default +P */

Sched *sched_new(const SchedConfig *cfg);
/* Set the import resolver after creation (its env often needs the Sched itself). */
void sched_set_resolver(Sched *s, ImportResolver resolver, void *env);
/* Kill every process, stop the workers, free everything. */
void sched_free(Sched *s);

/* What to spawn: a function of `module` — an export by name, or (export == NULL) the
 * function at `table_index` in table 0 — called with `args` (one per parameter). */
enum { SPAWN_LINK = 1, SPAWN_MONITOR = 2 };
typedef struct SpawnRequest {
    Module *module;
    const char *export_name;
    uint32_t table_index;
    const Value *args;
    uint32_t nargs;
    const ProcessConfig *config;  /* NULL: the parent's (or, for a root, all allowed) */
    Process *parent;              /* NULL when spawned from outside */
    uint32_t flags;               /* SPAWN_LINK, SPAWN_MONITOR (with a parent) */
} SpawnRequest;

/* Spawn a process; it becomes runnable at once. Returns its pid, or 0 with err filled
 * (module cannot be instantiated, no such export, wrong arguments). *monitor_ref gets
 * the monitor's reference with SPAWN_MONITOR. */
uint64_t sched_spawn(Sched *s, const SpawnRequest *req, uint64_t *monitor_ref, char *err,
                     size_t errlen);

typedef struct ExitInfo {
    int32_t reason;               /* EXIT_*, or EXIT_DEADLOCK, or EXIT_TIMEOUT */
    Trap trap;                    /* when the reason is a trap (or TRAP_EXIT: exit_code) */
    uint32_t nresults;            /* when its function returned: up to 16 results */
    Value results[16];
} ExitInfo;

/* Run the scheduler until process `pid` has exited, and say why. The workers start on
 * the first call; other processes keep running until sched_free. */
void sched_wait(Sched *s, uint64_t pid, ExitInfo *out);

/* sched_wait until at most the CLOCK_MONOTONIC time `deadline_ns` (UINT64_MAX: forever).
 * False if `pid` is still running then (out->reason EXIT_TIMEOUT): it can be waited for
 * again. True otherwise, with *out as sched_wait fills it. */
bool sched_wait_until(Sched *s, uint64_t pid, uint64_t deadline_ns, ExitInfo *out);

/* Like sched_wait without waiting: if `pid` (spawned from outside) has exited, fill *out,
 * forget the process and return true; if it is still alive return false. A pid that is
 * not waited for (never spawned from outside, or already collected) gives EXIT_NOPROC
 * and true. */
bool sched_poll_exit(Sched *s, uint64_t pid, ExitInfo *out);

/* Start the worker threads now (threads > 1), so that processes run without anyone in
 * sched_wait: for an embedder that spawns and then does other work. No-op with one
 * thread, whose only worker is the caller of sched_wait / sched_step. */
void sched_start(Sched *s);

/* ---- Stepping: the single worker on the caller's thread, for a bounded time ----------- */

/* What sched_step leaves behind. */
typedef enum SchedStep {
    STEP_RUNNABLE,                /* processes are queued: call sched_step again soon */
    STEP_WAITING,                 /* none runnable, but a timer, an I/O wait or a blocked
                                     host call of the embedder's may make one runnable */
    STEP_IDLE,                    /* none runnable and nothing pending: only a message or
                                     a wake from the host can change that */
} SchedStep;

/* Run worker 0's loop on the calling thread (SchedConfig.threads == 1 only) until about
 * `max_reductions` reductions have run (each slice counts at least one) or nothing is
 * runnable; never sleeps. For a host with its own event loop. Must not be called from a
 * host function (a process is running) nor while another thread is in sched_wait. */
SchedStep sched_step(Sched *s, int64_t max_reductions);

/* Sleep (threads == 1) until a process may be runnable, the next timer is due, or the
 * absolute CLOCK_MONOTONIC time `until_ns` (UINT64_MAX: no limit) has passed. Other
 * threads end the sleep by queueing a process or by sched_notify. */
void sched_idle_sleep(Sched *s, uint64_t until_ns);
void sched_notify(Sched *s);
uint64_t sched_now_ns(void);      /* CLOCK_MONOTONIC, the clock of every deadline here */
int64_t sched_next_timer_ns(Sched *s);   /* ns until the next timer is due; -1: none */

/* Totals, for --stats. */
typedef struct SchedStats {
    uint64_t spawned, exited, messages, reductions, steals;
    uint64_t alive;
} SchedStats;
void sched_stats(Sched *s, SchedStats *out);

/* A picture of the scheduler for `lvm --top` (sched/observe.c), taken from any thread
 * while the processes run. Some numbers are a little stale — see sched_snapshot. */
typedef struct ProcInfo {
    uint64_t pid;
    char name[32];                /* its first registered name, or "" */
    char state[24];               /* "running", "runnable", "waiting (receive)" … */
    uint64_t reductions;          /* as of its last finished slice */
    uint64_t memory;              /* linear memory, bytes */
    uint32_t mailbox;             /* messages its owner has taken in and not yet received */
    char func[64];                /* where it stopped last: "name" or "func N", or "" */
} ProcInfo;
typedef struct WorkerInfo {
    uint32_t queued;              /* processes in its deque */
    uint64_t steals;              /* processes it took from other workers */
} WorkerInfo;
typedef struct SchedSnapshot {
    ProcInfo *procs;              /* nprocs, sorted by pid; freed by sched_snapshot_free */
    size_t nprocs;
    WorkerInfo *workers;
    unsigned nworkers;
    size_t global_queued;         /* waiting in the global queue */
    SchedStats stats;
} SchedSnapshot;
bool sched_snapshot(Sched *s, SchedSnapshot *out);
void sched_snapshot_free(SchedSnapshot *snap);

/* ---- For host functions (hostfns/): the calling process and what it may do ---------- */

Process *sched_self(Exec *exec);          /* the process whose code made this host call */
Sched *sched_of(Process *p);
uint64_t sched_pid(const Process *p);
const ProcessConfig *sched_config(const Process *p);
Instance *sched_instance(Process *p);

/* A slot per subsystem for its per-process state (freed with the process). */
enum { LOCAL_WASI, LOCAL_ACTOR, LOCAL_COUNT };
void *sched_local(Process *p, int slot);
void sched_set_local(Process *p, int slot, void *data, void (*free_fn)(void *));

/* Send a copy of `len` bytes with `tag` from `from` (NULL: the host) to `to`. Sending to a
 * process that does not exist does nothing, as in Erlang. */
void sched_send(Sched *s, Process *from, uint64_t to, int64_t tag, const void *bytes, size_t len);

/* Selective receive (DESIGN decision 6): the first message, oldest first, whose tag is
 * one of tags[0..ntags) (any tag if ntags == 0). On RECV_BLOCK nothing was consumed and
 * the caller returns HOST_BLOCK; when the process is woken the host call runs again. */
typedef enum RecvStatus { RECV_OK, RECV_TIMEOUT, RECV_BLOCK } RecvStatus;
RecvStatus sched_receive(Process *p, const int64_t *tags, uint32_t ntags, int64_t timeout_ms);

/* The message the last RECV_OK delivered (valid until the next receive). */
typedef struct Message Message;
int64_t sched_msg_tag(const Process *p);
uint64_t sched_msg_sender(const Process *p);
const uint8_t *sched_msg_bytes(const Process *p, size_t *len);

/* Sleep: RECV_BLOCK until the time has passed, then RECV_OK. Messages stay queued. */
RecvStatus sched_sleep(Process *p, int64_t ms);

/* Wait, without holding a thread, until one of fds (poll(2) events) may be ready or
 * timeout_ns (relative, -1: none; armed on the first try of a call) has passed.
 * RECV_BLOCK: return HOST_BLOCK, the call runs again when the process is woken;
 * RECV_OK: look again (something may be ready); RECV_TIMEOUT: the time is up.
 * When the call completes, sched_io_done ends the wait. */
struct pollfd;
RecvStatus sched_wait_io(Process *p, const struct pollfd *fds, int nfds, int64_t timeout_ns);
void sched_io_done(Process *p);

/* Yield: RECV_BLOCK once (the process goes to the back of its run queue), then RECV_OK. */
RecvStatus sched_yield_now(Process *p);

/* Links (bidirectional), exit trapping, monitors (spec of Erlang's). 0 or an EXIT_*. */
int sched_link(Process *p, uint64_t other);
int sched_unlink(Process *p, uint64_t other);
bool sched_trap_exit(Process *p, bool on);       /* returns the old setting */
uint64_t sched_monitor(Process *p, uint64_t other);   /* a reference, never 0 */
bool sched_demonitor(Process *p, uint64_t ref);

/* Send `reason` as an exit signal to `pid` (Erlang's exit/2). EXIT_KILLED cannot be
 * trapped. Returns false if there is no such process. */
bool sched_kill(Sched *s, Process *from, uint64_t pid, int32_t reason);
/* CPU time this process has used: its slices so far, plus the running one up to now
 * (the calling thread's clock since the slice began). */
uint64_t sched_cpu_ns(Process *p);

/* The reason an exit signal asked this process to die with, or -1. */
int32_t sched_pending_kill(Process *p);
/* Set the reason this process is exiting with (before a host function ends the run with
 * vm_exec_set_exit + HOST_TRAP). */
void sched_set_exit_reason(Process *p, int32_t reason);

/* Names. Register fails (false) if the name is taken or the process is gone. */
bool sched_register(Sched *s, const char *name, size_t len, uint64_t pid);
bool sched_unregister(Sched *s, const char *name, size_t len);
uint64_t sched_whereis(Sched *s, const char *name, size_t len);

/* Timers: deliver a message after `ms`; cancel returns false if it already fired. */
uint64_t sched_send_after(Sched *s, Process *from, uint64_t to, int64_t tag, const void *bytes,
                          size_t len, int64_t ms);
bool sched_cancel_timer(Sched *s, uint64_t timer);

/* ---- For an embedder (hostfns/embed.c) --------------------------------------------- */

/* A mailbox of the host's own: a process with a pid that guests can send to, link to and
 * monitor, but no instance, never run. It traps exits (exit signals of linked processes
 * arrive as TAG_EXIT messages) and lives until sched_free. Instead of being queued when a
 * message arrives, `notify(env)` is called (on the sender's thread). The host reads it
 * with sched_receive(p, …, 0) and sched_msg_* under a lock of its own (one consumer). */
Process *sched_host_process_new(Sched *s, void (*notify)(void *env), void *env);

/* An embedder's host function that returns HOST_BLOCK waits for something only the
 * embedder knows about (include/lvm.h: LVM_BLOCK and lvm_wake). It calls
 * sched_host_call_begin(p) each time it runs and sched_host_call_blocked(p) when it
 * blocks: while it is blocked, an idle scheduler is waiting for the host, not
 * deadlocked. sched_host_wake makes the process run the call again (from any thread);
 * a wake that comes while the call is still running is not lost (park() sees it).
 * Returns false if there is no such process. */
void sched_host_call_begin(Process *p);
void sched_host_call_blocked(Process *p);
bool sched_host_wake(Sched *s, uint64_t pid);

/* Tags of the messages the VM itself sends. */
#define TAG_EXIT (-1)   /* exit signal to a process trapping exits: {i64 from, i32 reason} */
#define TAG_DOWN (-2)   /* monitor: {i64 ref, i64 pid, i32 reason} */

#endif
