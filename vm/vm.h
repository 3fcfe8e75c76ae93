/*
 * vm.h — the interpreter's interface to the rest of lvm: instances, host functions,
 * and running Wasm code in resumable slices.
 *
 * Where it sits: after loader/ (which gives a validated Module). vm/compile.c turns the
 * Module's functions into threaded code once; vm/instance.c builds an Instance (memory,
 * tables, globals, resolved imports); vm/exec.c runs an Exec — one thread of Wasm
 * execution with its own value and call stacks — for a budget of reductions, and returns
 * DONE, YIELD, BLOCK or TRAP. All state lives in the Exec, never on the C stack, so a
 * YIELD can be resumed later, on any thread (DESIGN decisions 1 and 3).
 *
 * Read next: vm/code.h (the threaded-code format), vm/compile.c, vm/exec.c.
 */
#ifndef LVM_VM_VM_H
#define LVM_VM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../loader/module.h"

/* A Wasm value in one 64-bit slot. i32 and f32 live in the low 32 bits (the high bits are
 * unspecified); f32/f64 are kept as raw bits so NaN payloads survive. References:
 * a funcref is a `Function *` cast to uintptr_t; an externref is an opaque host word;
 * 0 is the null reference for both. */
typedef uint64_t Value;

typedef struct Function Function;
typedef struct Instance Instance;
typedef struct Exec Exec;
typedef struct MemoryInst MemoryInst;
typedef struct TableInst TableInst;
typedef struct GlobalInst GlobalInst;

/* ---- Traps ---------------------------------------------------------------------- */

/* Every trap lvm raises, with the spec's message (spec test suite wording). */
#define LVM_TRAPS(X)                                                         \
    X(TRAP_NONE, "no trap")                                                  \
    X(TRAP_UNREACHABLE, "unreachable")                                       \
    X(TRAP_MEMORY_OOB, "out of bounds memory access")                        \
    X(TRAP_TABLE_OOB, "out of bounds table access")                          \
    X(TRAP_INT_DIV_ZERO, "integer divide by zero")                           \
    X(TRAP_INT_OVERFLOW, "integer overflow")                                 \
    X(TRAP_INVALID_CONVERSION, "invalid conversion to integer")              \
    X(TRAP_UNDEFINED_ELEMENT, "undefined element")                           \
    X(TRAP_UNINITIALIZED_ELEMENT, "uninitialized element")                   \
    X(TRAP_INDIRECT_CALL_TYPE, "indirect call type mismatch")                \
    X(TRAP_STACK_EXHAUSTED, "call stack exhausted")                          \
    X(TRAP_OUT_OF_MEMORY, "out of memory")                                   \
    X(TRAP_HOST, "host function trapped")                                    \
    X(TRAP_EXIT, "exited")    /* not an error: the guest asked to stop (WASI proc_exit) */

typedef enum TrapKind {
#define TRAP_ENUM(kind, msg) kind,
    LVM_TRAPS(TRAP_ENUM)
#undef TRAP_ENUM
} TrapKind;

const char *vm_trap_message(TrapKind kind);

/* One line of a Wasm backtrace: the function and the byte offset in the module of the
 * instruction that was executing (the call, for outer frames). Names are copied, so a
 * trap can be printed after its instance is gone. */
typedef struct TraceFrame {
    uint32_t funcidx;
    uint32_t offset;
    char module[32];                 /* module name from the name section, or "" */
    char func[64];                   /* function name from the name section, or "" */
} TraceFrame;

#define VM_MAX_BACKTRACE 32

typedef struct Trap {
    TrapKind kind;
    char message[128];               /* vm_trap_message(kind), or the host's text */
    int exit_code;                   /* TRAP_EXIT: the code given to vm_exec_set_exit */
    uint32_t nframes;                /* innermost first */
    TraceFrame frames[VM_MAX_BACKTRACE];
} Trap;

/* Print "wasm trap: MESSAGE" and the backtrace, one frame per line, to f. */
void vm_trap_print(const Trap *trap, void *file /* FILE* */);

/* ---- Host functions -------------------------------------------------------------- */

typedef enum HostStatus {
    HOST_OK,     /* results written */
    HOST_TRAP,   /* call vm_exec_set_host_trap() first; the Exec stops with TRAP_HOST */
    HOST_BLOCK,  /* nothing done; the call will be made again when the Exec is resumed */
} HostStatus;

/* A host function reads its arguments from args[0..nparams) and writes its results to
 * args[0..nresults) (the same array: results overwrite arguments). `exec` is the caller,
 * `env` what was given at registration. */
typedef HostStatus (*HostFn)(Exec *exec, void *env, Value *args);

/* A new host function of type (params) -> (results). The type arrays are copied. */
Function *vm_host_function_new(const ValType *params, uint32_t nparams,
                               const ValType *results, uint32_t nresults,
                               HostFn fn, void *env, const char *name);
void vm_host_function_free(Function *f);

void vm_exec_set_host_trap(Exec *exec, const char *message);

/* For a host function that ends the run on purpose (WASI proc_exit): call this, then
 * return HOST_TRAP. The Exec stops with RUN_TRAP and a trap of kind TRAP_EXIT whose
 * exit_code is `code`; embedders treat it as a normal end, not an error. */
void vm_exec_set_exit(Exec *exec, int code);

/* The memory of the instance whose code made the current host call (or NULL), for
 * bounds-checked access by host functions. */
MemoryInst *vm_exec_caller_memory(Exec *exec);

/* ---- Standalone memories, tables, globals (to be imported) ------------------------ */

MemoryInst *vm_memory_new(uint32_t min_pages, uint32_t max_pages, bool has_max);
void vm_memory_free(MemoryInst *m);
uint8_t *vm_memory_data(MemoryInst *m);
uint64_t vm_memory_size(const MemoryInst *m);      /* bytes */

TableInst *vm_table_new(ValType elem, uint32_t min, uint32_t max, bool has_max);
void vm_table_free(TableInst *t);

GlobalInst *vm_global_new(ValType type, bool mutable_, Value init);
void vm_global_free(GlobalInst *g);
Value vm_global_get(const GlobalInst *g);

/* ---- Instances ------------------------------------------------------------------- */

/* An external value (spec 4.2.11): what an import is bound to and an export gives. */
typedef struct Extern {
    ExternKind kind;
    union {
        Function *func;
        TableInst *table;
        MemoryInst *memory;
        GlobalInst *global;
    } u;
} Extern;

typedef enum VmErrorKind {
    VM_OK,
    VM_LINK,          /* an import is missing or of the wrong type (assert_unlinkable) */
    VM_TRAP,          /* a segment was out of bounds or the start function trapped */
    VM_NO_MEMORY,
    VM_UNSUPPORTED,
} VmErrorKind;

typedef struct VmError {
    VmErrorKind kind;
    char message[200];
    Trap trap;        /* when kind == VM_TRAP */
    /* Set when instantiation failed after the instance's functions may have been stored
     * in an imported table (spec 2.0 keeps such writes). The caller owns it and must keep
     * it alive while that table may be used, then free it with vm_instance_free. */
    Instance *partial;
} VmError;

/* Instantiate `m` (spec 4.5.4). `imports` has one entry per import of m, in the order of
 * m->imports. Runs the start function, if any, on `exec` (resuming across yields).
 * Takes a reference on m. Returns NULL with err filled on failure. */
Instance *vm_instantiate(Module *m, const Extern *imports, Exec *exec, VmError *err)
    __attribute__((warn_unused_result));

/* Per-instance limits (a process's configuration, issue 4), and what the caller knows. */
typedef struct InstanceLimits {
    uint32_t max_memory_pages;   /* memory 0 may not grow past this (0: no limit but the
                                    module's own maximum): memory.grow past it traps
                                    with TRAP_OUT_OF_MEMORY, the process's limit being
                                    broken; a module whose minimum is above it fails to
                                    instantiate */
    bool imports_match;          /* the caller vouches that `imports` (these very Externs)
                                    matched m's imports before (spec 4.5.2), in an
                                    instantiation of m that succeeded: they are bound
                                    without checking again (a spawn's import cache,
                                    sched/process.c). A match cannot be lost: function and
                                    global types never change, and a table or memory
                                    only grows, under a maximum that never changes */
} InstanceLimits;

/* vm_instantiate with limits (NULL: none). */
Instance *vm_instantiate_limited(Module *m, const Extern *imports, Exec *exec,
                                 const InstanceLimits *limits, VmError *err)
    __attribute__((warn_unused_result));
void vm_instance_free(Instance *inst);

/* Look up an export by name; false if there is none. */
bool vm_instance_export(Instance *inst, const char *name, Extern *out);
const Module *vm_instance_module(const Instance *inst);

/* The function at `index` of table `table`, or NULL (out of range, null, or an externref
 * table): what a C function pointer in the guest designates. */
Function *vm_instance_table_func(Instance *inst, uint32_t table, uint32_t index);
MemoryInst *vm_instance_memory(Instance *inst);   /* memory 0, or NULL */

/* The type of a function (params then results), for callers that marshal arguments. */
void vm_function_type(const Function *f, const ValType **params, uint32_t *nparams,
                      const ValType **results, uint32_t *nresults);

/* True if two import/export types match (spec 4.5.2, "import matching"). */
bool vm_extern_matches(const Module *m, const Import *imp, const Extern *ext, char *why, size_t len);

/* ---- Execution ------------------------------------------------------------------- */

typedef enum RunStatus {
    RUN_DONE,    /* the call returned; results via vm_exec_results */
    RUN_YIELD,   /* the budget ran out; call vm_run again to go on */
    RUN_BLOCK,   /* a host function blocked; call vm_run again when it can proceed */
    RUN_TRAP,    /* see vm_exec_trap */
} RunStatus;

typedef struct ExecLimits {
    uint32_t stack_slots;   /* value stack size, in 8-byte slots */
    uint32_t max_frames;    /* call depth */
} ExecLimits;

#define VM_DEFAULT_STACK_SLOTS (1u << 20)   /* 8 MiB of value stack */
#define VM_DEFAULT_MAX_FRAMES  (1u << 16)   /* nested calls before "call stack exhausted" */

Exec *vm_exec_new(const ExecLimits *limits /* NULL for defaults */);
void vm_exec_free(Exec *exec);

/* Where a suspended Exec resumes touching memory first: its frame (two lines), its last
 * call record and the caller's frame it returns to, its instance, the function pointer
 * and the arguments of the host call it blocked in, its memory's header,
 * the guest's shadow stack (global 0, when it is a mutable i32 inside memory: what C
 * compilers put there) and the guest memory its last host call read (VM_EXEC_HOT
 * pointers, some NULL) — and the first VM_EXEC_HOT_BYTES of the Exec itself. A scheduler
 * prefetches them when it wakes the process. */
#define VM_EXEC_HOT 10
#define VM_EXEC_HOT_BYTES 192
void vm_exec_hot(const Exec *e, const void *hot[VM_EXEC_HOT]);
/* A host function notes the guest memory it reads (a blocked call reads it again). */
void vm_exec_note_hot(Exec *e, const void *p);

/* The same in memory of the caller's, for one that keeps its Exec inside an allocation of
 * its own (the scheduler: one malloc per spawn fewer). `mem` holds vm_exec_size() bytes,
 * aligned for any type; vm_exec_init cannot fail. vm_exec_fini frees what the Exec
 * allocated since (grown stacks, a trap record), not `mem`. */
size_t vm_exec_size(void);
Exec *vm_exec_init(void *mem, const ExecLimits *limits);
void vm_exec_fini(Exec *exec);

/* The slice (reductions per vm_run) used when vm_instantiate runs a start function on
 * this Exec; -1 (the default) for no limit. */
void vm_exec_set_slice(Exec *exec, int64_t slice);

/* A word of the embedder's, kept with the Exec (the scheduler keeps its Process here, so
 * host functions can find the process that called them). */
void vm_exec_set_user(Exec *exec, void *user);
void *vm_exec_user(const Exec *exec);

/* Trace every handler this Exec runs (lvm --trace): one line per instruction to `out`
 * (a FILE *), prefixed with `who` ("pid 3"), its operands decoded as `lvm dis` does,
 * with the values read and the value written. `func` (NULL: everything) limits it to
 * the time a function — a name from the name section or an export, or an index — is
 * running, its callees included. Runs go through a second copy of the run loop
 * (vm/interp_trace.c), so an Exec without a trace costs nothing. False if out of memory. */
bool vm_exec_set_trace(Exec *exec, void *out, const char *who, const char *func);

/* Prepare a call of f with args (nparams values). The next vm_run starts it. */
bool vm_exec_call(Exec *exec, Function *f, const Value *args, uint32_t nargs)
    __attribute__((warn_unused_result));

/* Run for at most `budget` reductions (one per call and per branch to a loop header).
 * A budget < 0 means no limit. */
RunStatus vm_run(Exec *exec, int64_t budget);

/* After RUN_DONE: the results of the call (count via *n). Valid until the next call. */
const Value *vm_exec_results(const Exec *exec, uint32_t *n);
const Trap *vm_exec_trap(const Exec *exec);

/* False in a build made with REDUCTIONS=0 (vm/config.h), which cannot preempt. */
bool vm_counts_reductions(void);

/* Where the Exec stopped last (its saved pc: the instruction a parked or preempted run
 * resumes at), as a backtrace line; false if it has not run Wasm code. For lvm --top,
 * which calls it from another thread while the Exec may be running: it then sees the
 * pc of an earlier stop — a pointer into code that lives as long as the module, so a
 * stale one still names a real function. */
bool vm_exec_where(const Exec *exec, TraceFrame *out);

/* Reductions run by this Exec so far. */
uint64_t vm_exec_reductions(const Exec *exec);

/* Convenience: vm_exec_call, then vm_run with `slice` until DONE or TRAP (resuming after
 * each YIELD). Results are copied to results[0..nresults). Returns RUN_DONE or RUN_TRAP. */
RunStatus vm_invoke(Exec *exec, Function *f, const Value *args, uint32_t nargs,
                    Value *results, int64_t slice);

#endif
