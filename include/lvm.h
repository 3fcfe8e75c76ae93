/*
 * lvm.h — lvm as a C library: the one public header of liblvm.
 *
 * lvm runs WebAssembly modules as Erlang-style processes: each process is its own
 * instance of a module, with its own memory and mailbox, preempted after a slice of
 * reductions so that none can stall the others. This header lets a C program
 *
 *   - create a VM (a scheduler with its worker threads, or none: stepped by the caller),
 *   - load modules from bytes or files,
 *   - give guests host functions of its own: C callbacks, or any native function bound
 *     through libffi from a signature string,
 *   - spawn processes from exported functions, with limits, permissions and a WASI world,
 *   - talk to them by message through a mailbox of the host's own,
 *   - wait for them and read why they ended.
 *
 * Everything is reached through opaque handles; nothing here exposes lvm's internal
 * structures, so the library can change inside without breaking its users. Errors are
 * values: a function that can fail returns NULL, 0 or false and, when given an
 * lvm_error, writes a one-line message in it.
 *
 * Naming: every name here — functions, types, constants — starts with lvm_ or LVM_, the
 * usual C-library convention, so that none can collide with the embedder's own names
 * (lvm's internal code, which no embedder sees, uses PascalCase types instead). Only the
 * lvm_* functions are exported by liblvm.so.
 *
 * Threads: every function may be called from any thread, except where its comment says
 * otherwise (lvm_vm_step, the lvm_call_* functions, lvm_vm_free).
 *
 * docs/embedding.md walks through a complete host program; examples/embed/ is the same
 * program, built and run by `make test`. Build with `cc $(pkg-config --cflags --libs lvm)`.
 */
#ifndef LVM_H
#define LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions liblvm.so exports; the library is built with -fvisibility=hidden,
 * so everything not marked stays inside it. */
#if defined(__GNUC__) || defined(__clang__)
#  define LVM_API __attribute__((visibility("default")))
#  define LVM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define LVM_API
#  define LVM_PRINTF(fmt, args)
#endif

/* The library's version, "MAJOR.MINOR.PATCH" (the same as `lvm --version`). */
#define LVM_VERSION_STRING "0.1.0"
LVM_API const char *lvm_version(void);

/* ==== Errors ====================================================================== */

/* Where a failing function explains itself: a NUL-terminated, one-line message such as
 * "app.wasm: section 'code' at offset 0x1f: type mismatch". May be given as NULL by a
 * caller that does not want the message. */
typedef struct lvm_error {
    char message[256];
} lvm_error;

/* ==== Values ====================================================================== */

/* The four Wasm number types a host function or an exported function exchanges. */
typedef enum lvm_type {
    LVM_I32,
    LVM_I64,
    LVM_F32,
    LVM_F64,
} lvm_type;

/* One Wasm value with its type. Integers are stored signed; Wasm itself has no signed
 * types, so read them unsigned (uint32_t) when that is what the guest means. */
typedef struct lvm_value {
    lvm_type type;
    union {
        int32_t i32;
        int64_t i64;
        float f32;
        double f64;
    } of;
} lvm_value;

/* Constructors, for argument lists: lvm_i32(7), lvm_f64(0.5). */
static inline lvm_value lvm_i32(int32_t v) { lvm_value x; x.type = LVM_I32; x.of.i64 = 0; x.of.i32 = v; return x; }
static inline lvm_value lvm_i64(int64_t v) { lvm_value x; x.type = LVM_I64; x.of.i64 = v; return x; }
static inline lvm_value lvm_f32(float v) { lvm_value x; x.type = LVM_F32; x.of.i64 = 0; x.of.f32 = v; return x; }
static inline lvm_value lvm_f64(double v) { lvm_value x; x.type = LVM_F64; x.of.f64 = v; return x; }

/* ==== The VM ======================================================================== */

/* A VM: one scheduler, its processes, the host functions registered with it, and the
 * host's mailbox. Independent of every other VM in the program. */
typedef struct lvm_vm lvm_vm;

/* Which host modules a process may import (lvm_process_config.namespaces), as bits. */
enum {
    LVM_NS_LVM = 1u << 0,         /* the actor API, module "lvm" (docs/abi.md) */
    LVM_NS_WASI = 1u << 1,        /* WASI, module "wasi_snapshot_preview1" */
    LVM_NS_HOST = 1u << 2,        /* the host functions registered with this VM */
    LVM_NS_ALL = 7u,
};

/* A host directory a process may use through WASI, under the name it sees. */
typedef struct lvm_preopen {
    const char *host_path;
    const char *guest_path;
} lvm_preopen;

/* What a process may do and what it sees. Start from lvm_process_config_default() and
 * change fields: a zeroed struct forbids everything. Strings and arrays are copied by
 * lvm_spawn. A process's children (spawned by the guest through the `lvm` API) inherit
 * its configuration, and a guest can only lower their limits. */
typedef struct lvm_process_config {
    uint32_t max_memory_pages;    /* linear memory limit in 64 KiB pages; 0: only the
                                     module's own maximum. Growing past it fails */
    uint64_t fuel;                /* reductions in its whole life; 0: no limit. Out of
                                     fuel, it ends with LVM_EXIT_OUT_OF_FUEL */
    bool can_spawn;               /* may it spawn processes of its own */
    uint32_t namespaces;          /* LVM_NS_* bits: host modules it may import */
    int argc;                     /* WASI arguments; argv[0] is the program's name */
    const char *const *argv;
    int nenv;                     /* WASI environment, "KEY=VALUE" strings; nothing of */
    const char *const *env;       /* the host's environment is visible otherwise */
    int npreopens;                /* WASI directories, guest fds 3, 4, … in this order; */
    const lvm_preopen *preopens;  /* the guest cannot reach outside them */
    int stdin_fd, stdout_fd, stderr_fd;   /* host fds for the guest's 0, 1, 2; -1: closed.
                                     Borrowed: they must stay open while it runs */
} lvm_process_config;

/* The default configuration: no memory limit but the module's, no fuel limit, may
 * spawn, every namespace, no arguments (not even argv[0]), no environment, no
 * directories, the host's stdin, stdout and stderr. */
LVM_API lvm_process_config lvm_process_config_default(void);

/* How a VM runs. Start from lvm_vm_config_default(). */
typedef struct lvm_vm_config {
    unsigned threads;             /* worker threads; 0: one per core. With 1 no thread
                                     is started: processes run on the caller's thread,
                                     inside lvm_wait, lvm_receive and lvm_vm_step */
    int64_t reductions;           /* slice: reductions (calls and loop back-edges) a
                                     process runs before others get a turn; 0: 4000 */
    uint64_t seed;                /* the scheduler's random choices (work stealing); with
                                     one thread, runs are repeatable */
    lvm_process_config defaults;  /* what lvm_spawn uses when given no configuration */
} lvm_vm_config;

/* The default VM configuration: one worker thread per core, 4000 reductions per slice,
 * lvm_process_config_default() for spawns. */
LVM_API lvm_vm_config lvm_vm_config_default(void);

/* A new VM (cfg NULL: the defaults). With more than one thread, the workers start at
 * once and run processes as soon as they are spawned. NULL with err on failure. */
LVM_API lvm_vm *lvm_vm_new(const lvm_vm_config *cfg, lvm_error *err);

/* Kill every process, stop the workers, free the VM and everything registered with it.
 * Not from a host function of this VM, and with no other thread still using it. */
LVM_API void lvm_vm_free(lvm_vm *vm);

/* ==== Modules ======================================================================== */

/* A decoded and validated module, ready to be spawned any number of times, in any VM. */
typedef struct lvm_module lvm_module;

/* Load a module from `len` bytes (copied; the caller keeps its buffer). Identical bytes
 * share one decoded module inside lvm. NULL with err ("section 'code' at offset 0x1f:
 * type mismatch") if the bytes are not a valid module. */
LVM_API lvm_module *lvm_module_load(const void *bytes, size_t len, lvm_error *err);

/* Load a module from a file; errors name the file ("app.wasm: No such file or
 * directory"). */
LVM_API lvm_module *lvm_module_load_file(const char *path, lvm_error *err);

/* Release a module. Processes already spawned from it keep what they need. */
LVM_API void lvm_module_free(lvm_module *m);

/* ==== Host functions ==================================================================== */

/* The process that is calling a host function, valid only during that call and only on
 * the thread that runs it. */
typedef struct lvm_call lvm_call;

/* What a host callback returns. */
typedef enum lvm_status {
    LVM_OK,                       /* results are written */
    LVM_TRAP,                     /* the calling process traps (and only it): see
                                     lvm_call_trap for the message */
    LVM_BLOCK,                    /* not ready: the callback has done nothing, and will be
                                     called again, with the same arguments, after
                                     lvm_wake(vm, pid) — the process waits, parked,
                                     without holding a thread (no results written) */
} lvm_status;

/* A host function written in C. `args` has one value per parameter of its signature,
 * `results` room for one per result (types already set): write their `of` fields. `env`
 * is what was given to lvm_register_fn. It runs on a worker thread, or on the thread
 * that steps the VM, so it must be thread-safe if the VM has several threads. */
typedef lvm_status (*lvm_host_fn)(lvm_call *call, void *env, const lvm_value *args,
                                  lvm_value *results);

/* Register `fn` as module.name, for every process spawned afterwards whose module
 * imports it. `signature` gives its Wasm type, "(PARAMS)RESULTS" with types i32 i64
 * f32 f64, separated by spaces or commas, an optional "->", e.g. "(i32 i32)->i64",
 * "(f64)f64", "()". An import of module.name with another type makes the spawn fail
 * ("env.log: the module imports (i32)->i32, the host function is (i32 i32)->()").
 * False with err for a bad signature, a name already registered, or the module names
 * "lvm" and "wasi_snapshot_preview1", which are lvm's own. */
LVM_API bool lvm_register_fn(lvm_vm *vm, const char *module, const char *name,
                             const char *signature, lvm_host_fn fn, void *env, lvm_error *err);

/* Any native C function, as written for C. */
typedef void (*lvm_native_fn)(void);

/* Register a native function as module.name, called through libffi without glue code:
 * lvm_register_native(vm, "env", "cos", "(f64)f64", (lvm_native_fn)cos, &err).
 * The signature is the Wasm type, and each type maps to the C type of the same width:
 * i32 int32_t, i64 int64_t, f32 float, f64 double, at most one result. A parameter `buf`
 * is a guest buffer: two i32 in the Wasm import (pointer, length) and two arguments for
 * the C function, a `void *` into the guest's memory and a `size_t` length, checked on
 * every call — a range outside the guest's memory traps the caller before the function
 * runs. The function must not keep the pointer. "(buf)i64" binds
 * `int64_t f(const void *p, size_t n)`. False with err for a bad signature or in a
 * build without libffi (make MINIMAL=1). */
LVM_API bool lvm_register_native(lvm_vm *vm, const char *module, const char *name,
                                 const char *signature, lvm_native_fn fn, lvm_error *err);

/* The same, finding the function by name: dlopen(library) (NULL: the program itself)
 * and dlsym(symbol). What `lvm --native LIB.so:MODULE.NAME:SIGNATURE` does. */
LVM_API bool lvm_register_native_lib(lvm_vm *vm, const char *library, const char *symbol,
                                     const char *module, const char *name,
                                     const char *signature, lvm_error *err);

/* The pid of the process making the call. */
LVM_API uint64_t lvm_call_pid(const lvm_call *call);

/* The VM it runs in (to lvm_send from a host function, for example). */
LVM_API lvm_vm *lvm_call_vm(const lvm_call *call);

/* The size in bytes of the caller's linear memory (0 if it has none). */
LVM_API uint64_t lvm_call_memory_size(const lvm_call *call);

/* A host pointer to the caller's bytes [ptr, ptr + len), or NULL if any of them lies
 * outside its memory. Valid until the callback returns (memory can move when it grows
 * later). Guest memory is little-endian. */
LVM_API void *lvm_call_memory(lvm_call *call, uint32_t ptr, uint32_t len);

/* Copy len bytes from the caller's memory at ptr to dst; false (nothing copied) if the
 * range is outside its memory. */
LVM_API bool lvm_call_read(lvm_call *call, uint32_t ptr, void *dst, uint32_t len);

/* Copy len bytes from src to the caller's memory at ptr; false (nothing written) if the
 * range is outside its memory. */
LVM_API bool lvm_call_write(lvm_call *call, uint32_t ptr, const void *src, uint32_t len);

/* Set the message the caller traps with ("printf" format) and return LVM_TRAP, so that a
 * callback can end with `return lvm_call_trap(call, "bad handle %d", h);`. Without it a
 * trapping callback's message is "MODULE.NAME: host function trapped". */
LVM_API lvm_status lvm_call_trap(lvm_call *call, const char *fmt, ...) LVM_PRINTF(2, 3);

/* Make a process whose host callback returned LVM_BLOCK call it again. Call it after
 * making what the callback waits for visible (under the lock the callback takes): a
 * wake that comes while the callback is still running is not lost. False if there is no
 * such process. */
LVM_API bool lvm_wake(lvm_vm *vm, uint64_t pid);

/* ==== Processes ============================================================================ */

/* Spawn a process running the exported function `export_name` of m with `nargs`
 * arguments (their types must be the function's parameter types), with configuration
 * cfg (NULL: the VM's defaults). Every import of m is bound now: "lvm" and
 * "wasi_snapshot_preview1" if its namespaces allow, anything else to this VM's host
 * functions, type-checked. Returns the new pid (never 0), or 0 with err: a missing or
 * mistyped import, a forbidden namespace, no such export, wrong arguments, a memory
 * limit below the module's minimum, a WASI directory that cannot be opened. The process
 * runs at once with threads, or when the VM is stepped or waited on without. */
LVM_API uint64_t lvm_spawn(lvm_vm *vm, const lvm_module *m, const char *export_name,
                           const lvm_value *args, uint32_t nargs, const lvm_process_config *cfg,
                           lvm_error *err);

/* Why a process ended (lvm_exit.reason): below 256 the VM's own reasons, 256 and up a
 * reason the guest chose (lvm.exit(reason), or WASI proc_exit(code) as 256 + code). */
enum {
    LVM_EXIT_TIMEOUT = -2,        /* lvm_wait_timeout: it has not ended yet */
    LVM_EXIT_DEADLOCK = -1,       /* it can never run again: every process waits, and
                                     nothing (timer, I/O, blocked host call) is pending */
    LVM_EXIT_NORMAL = 0,          /* its function returned (or proc_exit(0)) */
    LVM_EXIT_KILLED = 1,          /* lvm_kill with this reason, which cannot be trapped */
    LVM_EXIT_NOPROC = 2,          /* no such process to wait for (or waited for already) */
    LVM_EXIT_OUT_OF_MEMORY = 3,   /* over its memory limit */
    LVM_EXIT_OUT_OF_FUEL = 4,     /* over its fuel */
    LVM_EXIT_TRAP = 16,           /* 16 and up to 255: it trapped (message in lvm_exit) */
    LVM_EXIT_USER = 256,          /* 256 + the guest's own reason or exit code */
};

/* How a process ended. */
typedef struct lvm_exit {
    int32_t reason;               /* LVM_EXIT_*, see above */
    int exit_code;                /* WASI proc_exit's code or lvm.exit's reason - 256;
                                     0 otherwise */
    char message[200];            /* in words: "normal", "trap: integer divide by zero",
                                     "trap: env.fail: no such key", "exit 3" */
    char backtrace[512];          /* for a trap: the Wasm backtrace, one frame a line
                                     ("0: 0x000026 - demo!inner"); "" otherwise */
    uint32_t nresults;            /* when its function returned: its results */
    lvm_value results[16];
} lvm_exit;

/* Wait until process pid (spawned by lvm_spawn) has ended and say how; each process can
 * be waited for once. With one thread, runs the scheduler on the calling thread until
 * then. Returns false (out->reason LVM_EXIT_DEADLOCK) if it can never end. Not from a
 * host function. */
LVM_API bool lvm_wait(lvm_vm *vm, uint64_t pid, lvm_exit *out);

/* lvm_wait for at most timeout_ms milliseconds (negative: no limit, as lvm_wait). False with
 * out->reason LVM_EXIT_TIMEOUT if pid is still running then; it can be waited for again.
 * With one thread, runs the scheduler on the calling thread meanwhile. */
LVM_API bool lvm_wait_timeout(lvm_vm *vm, uint64_t pid, int64_t timeout_ms, lvm_exit *out);

/* lvm_wait without waiting: true and *out filled if pid has ended, false if it is still
 * alive. Runs nothing: step the VM (one thread) or let the workers run. */
LVM_API bool lvm_poll(lvm_vm *vm, uint64_t pid, lvm_exit *out);

/* Send pid an exit signal with `reason`, as Erlang's exit/2: LVM_EXIT_KILLED always
 * kills it; another reason kills it unless it traps exits (then it gets a message);
 * LVM_EXIT_NORMAL does nothing to a process that does not trap exits. False if there is
 * no such process. */
LVM_API bool lvm_kill(lvm_vm *vm, uint64_t pid, int32_t reason);

/* ==== Messages ============================================================================== */

/* A process of the host's own: a pid that guests can send to (lvm.send), link to and
 * monitor. The host reads what they send with lvm_receive. A guest learns the pid as an
 * argument of lvm_spawn, from a message, or by name (lvm_register_name, then the guest's
 * lvm.whereis). Exit signals of processes linked to it arrive as messages with tag
 * LVM_TAG_EXIT. */
LVM_API uint64_t lvm_host_pid(lvm_vm *vm);

/* Give pid a name that guests can look up with lvm.whereis (docs/abi.md). False if the
 * name is taken or there is no such process. */
LVM_API bool lvm_register_name(lvm_vm *vm, const char *name, uint64_t pid);

/* The pid registered under name, or 0. */
LVM_API uint64_t lvm_whereis(lvm_vm *vm, const char *name);

/* Send pid a message of `len` bytes (copied) with `tag` (>= 0 for your own; negative
 * tags are the VM's), from the host's pid. A message to a pid that does not exist is
 * dropped, as in Erlang. False only for a message over 64 MiB, the limit guests have. */
LVM_API bool lvm_send(lvm_vm *vm, uint64_t pid, int64_t tag, const void *bytes, size_t len);

/* Tags of the messages the VM sends by itself. */
#define LVM_TAG_EXIT (-1)   /* a linked process ended: i64 pid, i32 reason (little-endian) */
#define LVM_TAG_DOWN (-2)   /* a monitored process ended: i64 ref, i64 pid, i32 reason */

/* Monitor pid: when it ends, the host's mailbox gets a LVM_TAG_DOWN message (at once,
 * with reason LVM_EXIT_NOPROC, if there is no such process). Returns the reference. */
LVM_API uint64_t lvm_monitor(lvm_vm *vm, uint64_t pid);

/* A message received by the host. `bytes` belongs to it until lvm_message_free. */
typedef struct lvm_message {
    int64_t tag;
    uint64_t sender;              /* the sending pid (the host's own for lvm_send) */
    size_t len;
    uint8_t *bytes;
} lvm_message;

/* What lvm_receive found. */
typedef enum lvm_recv {
    LVM_RECV_OK,                  /* *out holds a message */
    LVM_RECV_TIMEOUT,             /* none came in time */
    LVM_RECV_IDLE,                /* one thread, no timeout: none can come — no process
                                     can run and nothing is pending */
} lvm_recv;

/* Take the oldest message in the host's mailbox whose tag is one of tags[0..ntags)
 * (any tag if ntags is 0), leaving the others in order. Waits up to timeout_ms (0: do
 * not wait; -1: no limit). With one thread, runs the scheduler on the calling thread
 * while it waits. Not from a host function. */
LVM_API lvm_recv lvm_receive(lvm_vm *vm, const int64_t *tags, uint32_t ntags, int64_t timeout_ms,
                             lvm_message *out);

/* Free a received message's bytes. */
LVM_API void lvm_message_free(lvm_message *msg);

/* ==== Running on the caller's thread ======================================================== */

/* What lvm_vm_step leaves behind. */
typedef enum lvm_step {
    LVM_STEP_RUNNABLE,            /* processes are ready: step again soon */
    LVM_STEP_WAITING,             /* none ready; a timer, an I/O wait or a blocked host
                                     call may make one ready: step again after
                                     lvm_vm_next_timer_ms, or after lvm_send / lvm_wake */
    LVM_STEP_IDLE,                /* none ready and nothing pending: only the host (a
                                     message, lvm_wake) can make one ready */
} lvm_step;

/* For a host with its own event loop, on a VM made with threads = 1: run ready processes
 * on the calling thread for about max_reductions reductions (a slice is the unit; each
 * counts at least one), then return without ever sleeping. Processes waiting on WASI
 * file descriptors are woken by lvm's poller thread and become ready in the meantime.
 * On a VM with worker threads, runs nothing and returns LVM_STEP_WAITING. Not from a
 * host function, and from one thread at a time. */
LVM_API lvm_step lvm_vm_step(lvm_vm *vm, int64_t max_reductions);

/* Milliseconds until the VM's next timer (receive timeout, sleep, send_after) is due,
 * rounded up; 0 if one is due now; -1 if there is none. */
LVM_API int64_t lvm_vm_next_timer_ms(lvm_vm *vm);

/* ==== Statistics ================================================================================ */

/* Totals since the VM was made. */
typedef struct lvm_stats {
    uint64_t alive;               /* processes spawned and not yet ended */
    uint64_t spawned;             /* by the host and by guests */
    uint64_t exited;
    uint64_t reductions;          /* run by all processes */
    uint64_t messages;            /* sent, by guests, the host and the VM itself */
} lvm_stats;

/* Read the totals (each exact, together a snapshot taken while processes may run). */
LVM_API void lvm_vm_stats(lvm_vm *vm, lvm_stats *out);

#ifdef __cplusplus
}
#endif

#endif
