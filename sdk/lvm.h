/*
 * lvm.h — the guest side of lvm's actor API, for C programs built with
 * `clang --target=wasm32-wasi`. The one header a guest includes.
 *
 * Three layers, each built only on the one above it:
 *
 *   1. The host functions of module "lvm" (lvm_spawn_raw … lvm_config_get): each is one
 *      import, declared exactly as hostfns/actor.c defines it; docs/abi.md gives the
 *      contract of each.
 *   2. Small helpers (lvm.c and inline here): spawning through a trampoline that sets up
 *      libc in the child and flushes its stdio at the end, i64 messages, names from C
 *      strings, exit reasons in words.
 *   3. OTP's two patterns, in guest code (the VM keeps only the primitives): a supervisor
 *      (supervisor.c) and a request/reply server loop (server.c).
 *
 * Processes share nothing: a message is a 64-bit tag plus bytes, copied from the sender's
 * memory into a host buffer and, by lvm_msg_read, into the receiver's. A spawned process
 * is a fresh instance of the same module: its globals and heap start as the data
 * segments left them, so a pointer to *constant* static data (a string literal, a
 * `static const` table) means the same thing in every process, and a pointer to anything
 * else does not.
 *
 * Tags: user messages use tags >= 0. Negative tags are the VM's (LVM_TAG_EXIT,
 * LVM_TAG_DOWN) and this SDK's (LVM_TAG_CALL, LVM_TAG_CAST, and reply tags below
 * LVM_TAG_REPLY_LIMIT).
 */
#ifndef LVM_SDK_LVM_H
#define LVM_SDK_LVM_H

#include <stddef.h>
#include <stdint.h>

#define LVM_IMPORT(name) __attribute__((import_module("lvm"), import_name(name)))

typedef int64_t lvm_pid;

/* Exit reasons (docs/abi.md, "Exit reasons"; sched/sched.h EXIT_*). */
enum {
    LVM_EXIT_NORMAL = 0,
    LVM_EXIT_KILLED = 1,              /* as a kill reason: cannot be trapped */
    LVM_EXIT_NOPROC = 2,
    LVM_EXIT_OUT_OF_MEMORY = 3,
    LVM_EXIT_OUT_OF_REDUCTIONS = 4,
    LVM_EXIT_SPAWN_FAILED = 5,
    LVM_EXIT_TRAP = 16,               /* + the trap kind (LVM_TRAP_*) */
    LVM_EXIT_USER = 256,              /* lvm_exit(reason) chooses from here up; WASI
                                         proc_exit(code) with code != 0 is this + code */
    /* The SDK's own reasons, above any proc_exit code a shell can see (0..255). */
    LVM_EXIT_SHUTDOWN = LVM_EXIT_USER + 1000,       /* asked to stop by its supervisor */
    LVM_EXIT_MAX_RESTARTS = LVM_EXIT_USER + 1001,   /* a supervisor gave up */
};

/* Trap kinds, as in vm/vm.h's LVM_TRAPS: a process that traps exits with
 * LVM_EXIT_TRAP + kind (except out of memory, which is LVM_EXIT_OUT_OF_MEMORY). */
enum {
    LVM_TRAP_UNREACHABLE = 1,
    LVM_TRAP_MEMORY_OOB = 2,
    LVM_TRAP_TABLE_OOB = 3,
    LVM_TRAP_INT_DIV_ZERO = 4,
    LVM_TRAP_INT_OVERFLOW = 5,
    LVM_TRAP_INVALID_CONVERSION = 6,
    LVM_TRAP_UNDEFINED_ELEMENT = 7,
    LVM_TRAP_UNINITIALIZED_ELEMENT = 8,
    LVM_TRAP_INDIRECT_CALL_TYPE = 9,
    LVM_TRAP_STACK_EXHAUSTED = 10,
    LVM_TRAP_OUT_OF_MEMORY = 11,
    LVM_TRAP_HOST = 12,               /* a host function trapped (e.g. a bad pointer) */
};

/* Tags of messages the VM sends. */
#define LVM_TAG_EXIT (-1)             /* payload: i64 pid, i32 reason (lvm_exit_info) */
#define LVM_TAG_DOWN (-2)             /* payload: i64 ref, i64 pid, i32 reason (lvm_down_info) */

enum { LVM_SPAWN_LINK = 1, LVM_SPAWN_MONITOR = 2 };
enum { LVM_CFG_MAX_MEMORY_PAGES = 1, LVM_CFG_FUEL = 2, LVM_CFG_CAN_SPAWN = 3, LVM_CFG_NAMESPACES = 4 };
enum { LVM_NS_LVM = 1, LVM_NS_WASI = 2 };

/* ---- 1. The host functions (docs/abi.md) ------------------------------------------------- */

LVM_IMPORT("self") lvm_pid lvm_self(void);
/* Spawn fn (a function pointer of this module: its table index) with nargs i64 arguments.
 * Returns the new pid, or 0 if it could not be spawned. ref_out (may be NULL) gets the
 * monitor reference with LVM_SPAWN_MONITOR. The function runs directly: no libc set-up,
 * no flush at its end (lvm_spawn_fn below does both). */
LVM_IMPORT("spawn") lvm_pid lvm_spawn_raw(int32_t fn, const int64_t *args, int32_t nargs,
                                          int32_t flags, int64_t *ref_out);
LVM_IMPORT("spawn_export") lvm_pid lvm_spawn_export(const char *name, int32_t name_len,
                                                    const int64_t *args, int32_t nargs,
                                                    int32_t flags, int64_t *ref_out);
LVM_IMPORT("module_load") int64_t lvm_module_load(const void *bytes, int32_t len);
LVM_IMPORT("spawn_module") lvm_pid lvm_spawn_module(int64_t module, const char *name,
                                                    int32_t name_len, const int64_t *args,
                                                    int32_t nargs, int32_t flags,
                                                    int64_t *ref_out);
/* Why the last spawn or module_load of this process failed ("" if it succeeded): copies
 * up to len bytes of the message and returns its full length. */
LVM_IMPORT("last_error") int32_t lvm_last_error(char *buf, int32_t len);
LVM_IMPORT("exit") __attribute__((noreturn)) void lvm_exit(int32_t reason);
LVM_IMPORT("kill") int32_t lvm_kill(lvm_pid pid, int32_t reason);
LVM_IMPORT("send") int32_t lvm_send(lvm_pid to, int64_t tag, const void *bytes, int32_t len);
/* Wait for the oldest message whose tag is one of tags[0..ntags) (any if ntags == 0);
 * timeout_ms: 0 polls, -1 waits forever. 0: got one (read it with lvm_msg_*), 1: timeout. */
LVM_IMPORT("receive") int32_t lvm_receive(const int64_t *tags, int32_t ntags, int64_t timeout_ms);
LVM_IMPORT("msg_tag") int64_t lvm_msg_tag(void);
LVM_IMPORT("msg_sender") lvm_pid lvm_msg_sender(void);
LVM_IMPORT("msg_size") int32_t lvm_msg_size(void);
LVM_IMPORT("msg_read") int32_t lvm_msg_read(void *dst, int32_t len, int32_t offset);
LVM_IMPORT("link") int32_t lvm_link(lvm_pid pid);
LVM_IMPORT("unlink") int32_t lvm_unlink(lvm_pid pid);
LVM_IMPORT("trap_exit") int32_t lvm_trap_exit(int32_t on);
LVM_IMPORT("monitor") int64_t lvm_monitor(lvm_pid pid);
LVM_IMPORT("demonitor") int32_t lvm_demonitor(int64_t ref);
LVM_IMPORT("register") int32_t lvm_register_raw(const char *name, int32_t len, lvm_pid pid);
LVM_IMPORT("unregister") int32_t lvm_unregister_raw(const char *name, int32_t len);
LVM_IMPORT("whereis") lvm_pid lvm_whereis_raw(const char *name, int32_t len);
LVM_IMPORT("sleep") void lvm_sleep(int64_t ms);
LVM_IMPORT("yield") void lvm_yield(void);
LVM_IMPORT("send_after") int64_t lvm_send_after(lvm_pid to, int64_t tag, const void *bytes,
                                                int32_t len, int64_t ms);
LVM_IMPORT("cancel_timer") int32_t lvm_cancel_timer(int64_t timer);
LVM_IMPORT("config_set") int32_t lvm_config_set(int32_t key, int64_t value);
LVM_IMPORT("config_get") int64_t lvm_config_get(int32_t key);

/* ---- 2. Helpers -------------------------------------------------------------------------- */

/* Process functions: every argument is an i64 (the VM passes spawn arguments as i64). */
typedef void (*lvm_fn)(void);        /* any of the below, cast to this for lvm_spawn_fn */
typedef void (*lvm_fn0)(void);
typedef void (*lvm_fn1)(int64_t);
typedef void (*lvm_fn2)(int64_t, int64_t);
typedef void (*lvm_fn3)(int64_t, int64_t, int64_t);
typedef void (*lvm_fn4)(int64_t, int64_t, int64_t, int64_t);
#define LVM_MAX_ARGS 4

/* Spawn fn(args[0..nargs)) in a new process, through a trampoline (lvm.c) that first runs
 * the module's constructors (so libc finds its preopened directories, as in _start) and,
 * when fn returns, its destructors and a flush of stdio (so printf output is not lost). fn must
 * take exactly nargs int64_t parameters, nargs <= LVM_MAX_ARGS. flags: LVM_SPAWN_LINK,
 * LVM_SPAWN_MONITOR (ref_out, may be NULL, gets the monitor's reference). Returns the new
 * pid, or 0 if it could not be spawned (nargs too big, may not spawn, no memory). */
lvm_pid lvm_spawn_fn(lvm_fn fn, const int64_t *args, int32_t nargs, int32_t flags,
                     int64_t *ref_out);

/* The trampoline itself, exported as "lvm_trampoline" (lvm.c says why); not for calling. */
void lvm_trampoline(int64_t fn, int64_t nargs, int64_t a0, int64_t a1, int64_t a2, int64_t a3);

/* The common cases: one argument, plain, linked or monitored. */
static inline lvm_pid lvm_spawn(lvm_fn1 fn, int64_t arg)
{
    return lvm_spawn_fn((lvm_fn)fn, &arg, 1, 0, 0);
}

static inline lvm_pid lvm_spawn_link(lvm_fn1 fn, int64_t arg)
{
    return lvm_spawn_fn((lvm_fn)fn, &arg, 1, LVM_SPAWN_LINK, 0);
}

static inline lvm_pid lvm_spawn_monitor(lvm_fn1 fn, int64_t arg, int64_t *ref_out)
{
    return lvm_spawn_fn((lvm_fn)fn, &arg, 1, LVM_SPAWN_MONITOR, ref_out);
}

static inline lvm_pid lvm_spawn2(lvm_fn2 fn, int64_t a, int64_t b, int32_t flags)
{
    int64_t args[2] = { a, b };
    return lvm_spawn_fn((lvm_fn)fn, args, 2, flags, 0);
}

/* Spawn directly, without the trampoline: the cheapest spawn, for benchmarks and for
 * children that neither print nor open files (nothing is flushed at their end). */
static inline lvm_pid lvm_spawn0(lvm_fn0 fn, int32_t flags)
{
    return lvm_spawn_raw((int32_t)(uintptr_t)fn, 0, 0, flags, 0);
}

static inline lvm_pid lvm_spawn1(lvm_fn1 fn, int64_t arg, int32_t flags)
{
    return lvm_spawn_raw((int32_t)(uintptr_t)fn, &arg, 1, flags, 0);
}

/* Flush stdio, then end this process with `reason` (lvm_exit itself flushes nothing). */
__attribute__((noreturn)) void lvm_exit_flush(int32_t reason);

/* An exit reason in words: "normal", "killed", "trap: integer divide by zero", "exit 3",
 * "shutdown"… Returns buf (or a constant string). */
const char *lvm_reason_text(int32_t reason, char *buf, size_t len);

/* Milliseconds of the monotonic clock (WASI clock_time_get), for timeouts and windows. */
int64_t lvm_now_ms(void);

static inline int32_t lvm_strlen_(const char *s)
{
    int32_t n = 0;
    while (s[n])
        n++;
    return n;
}

/* The name registry, with NUL-terminated names. */
static inline int32_t lvm_register(const char *name, lvm_pid pid)
{
    return lvm_register_raw(name, lvm_strlen_(name), pid);
}

static inline int32_t lvm_unregister(const char *name)
{
    return lvm_unregister_raw(name, lvm_strlen_(name));
}

static inline lvm_pid lvm_whereis(const char *name)
{
    return lvm_whereis_raw(name, lvm_strlen_(name));
}

/* Send / receive one i64 (the commonest message in examples and benchmarks). */
static inline int32_t lvm_send_i64(lvm_pid to, int64_t tag, int64_t value)
{
    return lvm_send(to, tag, &value, 8);
}

static inline int64_t lvm_msg_i64(void)
{
    int64_t v = 0;
    lvm_msg_read(&v, 8, 0);
    return v;
}

/* Receive the oldest message with this tag, waiting forever; returns its i64 payload. */
static inline int64_t lvm_recv_i64(int64_t tag)
{
    lvm_receive(&tag, 1, -1);
    return lvm_msg_i64();
}

/* The payloads of the VM's own messages (little-endian, packed: read field by field). */
typedef struct lvm_exit_info { lvm_pid pid; int32_t reason; } lvm_exit_info;
typedef struct lvm_down_info { int64_t ref; lvm_pid pid; int32_t reason; } lvm_down_info;

static inline lvm_exit_info lvm_msg_exit_info(void)
{
    lvm_exit_info e = { 0, 0 };
    lvm_msg_read(&e.pid, 8, 0);
    lvm_msg_read(&e.reason, 4, 8);
    return e;
}

static inline lvm_down_info lvm_msg_down_info(void)
{
    lvm_down_info d = { 0, 0, 0 };
    lvm_msg_read(&d.ref, 8, 0);
    lvm_msg_read(&d.pid, 8, 8);
    lvm_msg_read(&d.reason, 4, 16);
    return d;
}

/* ---- 3a. Supervisor (supervisor.c) ---------------------------------------------------------
 *
 * A supervisor is a process that starts its children linked, traps exits, and restarts
 * the children that end according to a strategy, as OTP's supervisor does:
 *
 *   LVM_ONE_FOR_ONE   restart only the child that ended
 *   LVM_ONE_FOR_ALL   stop all the others (last started first), restart them all in order
 *   LVM_REST_FOR_ONE  stop the children started after it, restart it and them in order
 *
 * Restart intensity: if more than max_restarts restarts happen within period_ms, the
 * supervisor stops all its children and exits with LVM_EXIT_MAX_RESTARTS; linked
 * processes (its own supervisor, say) get that exit signal. An exit signal from a process
 * that is not one of its children (its parent dying, or lvm_kill(sup, LVM_EXIT_SHUTDOWN))
 * makes it stop its children and exit with that reason; a normal one is ignored.
 */
enum { LVM_ONE_FOR_ONE, LVM_ONE_FOR_ALL, LVM_REST_FOR_ONE };

/* When a child that ended is restarted: permanent always; transient unless it ended
 * normally (LVM_EXIT_NORMAL or LVM_EXIT_SHUTDOWN); temporary never. */
enum { LVM_PERMANENT, LVM_TRANSIENT, LVM_TEMPORARY };

typedef struct lvm_child_spec {
    const char *name;                 /* for reports; may be NULL */
    lvm_fn1 start;                    /* run as start(arg) in a new process (lvm_spawn_link) */
    int64_t arg;
    int32_t restart;                  /* LVM_PERMANENT, LVM_TRANSIENT, LVM_TEMPORARY */
    int32_t shutdown_ms;              /* to stop it: 0 kills at once (LVM_EXIT_KILLED); else
                                         an LVM_EXIT_SHUTDOWN signal, killed if still alive
                                         after this many ms (it may trap exits to clean up) */
} lvm_child_spec;

/* What a supervisor reports, if the spec has a report callback. */
enum { LVM_SUP_STARTED, LVM_SUP_EXITED, LVM_SUP_GIVING_UP };
typedef struct lvm_sup_event {
    int32_t what;                     /* LVM_SUP_* */
    int32_t child;                    /* index in the spec's children; -1 for GIVING_UP */
    const lvm_child_spec *spec;       /* that child's spec, or NULL (in the supervisor's
                                         memory: do not send it to another process) */
    lvm_pid pid;                      /* the child's pid */
    int32_t reason;                   /* EXITED: why it ended; GIVING_UP: the exit reason */
    int32_t restarts;                 /* restarts within the current period, this one counted */
} lvm_sup_event;

typedef struct lvm_sup_spec {
    int32_t strategy;                 /* LVM_ONE_FOR_ONE, LVM_ONE_FOR_ALL, LVM_REST_FOR_ONE */
    int32_t max_restarts;             /* R: at most this many restarts … */
    int64_t period_ms;                /* … within T milliseconds */
    const lvm_child_spec *children;   /* started in this order, stopped in the reverse */
    int32_t nchildren;
    void (*report)(const lvm_sup_event *ev);   /* may be NULL */
} lvm_sup_spec;

/* Become a supervisor: start the children and supervise them until giving up or told to
 * stop; then end this process with the reason (it never returns). Call it from a process
 * function of your own, e.g. `static void sup(int64_t a) { lvm_supervise(&spec); }`
 * spawned with lvm_spawn_link; spec and its children live in this process's memory
 * (a `static const` spec is simplest: it is the same in every process). */
__attribute__((noreturn)) void lvm_supervise(const lvm_sup_spec *spec);

/* ---- 3b. Request/reply server (server.c) ---------------------------------------------------
 *
 * A call sends a request and waits for the reply to that call only: the request carries a
 * fresh reference (a monitor's, unique in the VM), the reply's tag is made from it
 * (LVM_REPLY_TAG), and the caller's selective receive waits for that tag or the DOWN of
 * its monitor on the server, so neither other messages nor replies to earlier calls that
 * timed out are taken for it. Wire format (docs/abi.md, "SDK helpers"):
 *
 *   call   tag LVM_TAG_CALL, payload: i64 user tag, i64 ref, request bytes
 *   cast   tag LVM_TAG_CAST, payload: i64 user tag, request bytes
 *   reply  tag LVM_REPLY_TAG(ref), payload: reply bytes
 */
#define LVM_TAG_CALL (-3)
#define LVM_TAG_CAST (-4)
#define LVM_TAG_REPLY_LIMIT (INT64_MIN + ((int64_t)1 << 62))   /* reply tags are below this */
#define LVM_REPLY_TAG(ref) (INT64_MIN + (int64_t)(ref))

/* lvm_call's errors (>= 0 is the reply's length). */
enum {
    LVM_CALL_TIMEOUT = -1,            /* no reply within timeout_ms */
    LVM_CALL_DOWN = -2,               /* the server ended (or never existed) before replying */
    LVM_CALL_TOO_BIG = -3,            /* the request is over the VM's message limit */
};

/* Send request `req` (len bytes) with a user tag (>= 0) to server `pid` and wait up to
 * timeout_ms (-1: forever) for its reply. Copies up to cap bytes of the reply into
 * reply_buf and returns the reply's full length, or an LVM_CALL_* error. A reply that
 * comes after the timeout stays in the mailbox (a receive of any tag will see it). */
int32_t lvm_call(lvm_pid pid, int64_t tag, const void *req, int32_t len, void *reply_buf,
                 int32_t cap, int64_t timeout_ms);

/* Send a request that wants no reply. 0, or LVM_CALL_TOO_BIG. */
int32_t lvm_cast(lvm_pid pid, int64_t tag, const void *req, int32_t len);

/* What a server's handler gets: a call, a cast, or any other message ("info"). */
enum { LVM_REQ_CALL, LVM_REQ_CAST, LVM_REQ_INFO };
typedef struct lvm_request {
    int32_t kind;                     /* LVM_REQ_CALL, LVM_REQ_CAST, LVM_REQ_INFO */
    int64_t tag;                      /* the caller's user tag; INFO: the message's tag */
    lvm_pid from;                     /* the sender */
    int64_t ref;                      /* CALL: the call's reference, for lvm_reply_to */
    const void *data;                 /* the request bytes (valid during the handler) */
    int32_t len;
} lvm_request;

/* Reply to a call, now (lvm_reply) or later from saved from/ref (lvm_reply_to). */
int32_t lvm_reply_to(lvm_pid from, int64_t ref, const void *reply, int32_t len);

static inline int32_t lvm_reply(const lvm_request *req, const void *reply, int32_t len)
{
    return lvm_reply_to(req->from, req->ref, reply, len);
}

/* A handler returns LVM_SERVE_CONTINUE to go on, or the reason to stop with. */
#define LVM_SERVE_CONTINUE (-1)
typedef int32_t (*lvm_handler)(void *state, const lvm_request *req);

/* Receive messages one at a time, oldest first, and hand each to handler(state, req)
 * until it returns a reason; returns that reason. */
int32_t lvm_serve(lvm_handler handler, void *state);

#endif
