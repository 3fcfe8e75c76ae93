/*
 * vm_internal.h — the structures behind vm.h, shared by the files of vm/ only.
 *
 *   compile.c   Module function bodies -> CompiledFunc (threaded code, code.h), each at
 *               its first call
 *   instance.c  Module + imports -> Instance
 *   memory.c    MemoryInst, TableInst, GlobalInst
 *   exec.c      the run loop over an Exec
 *
 * Read next: code.h for the instruction format, then compile.c.
 */
#ifndef LVM_VM_INTERNAL_H
#define LVM_VM_INTERNAL_H

#include <stdatomic.h>

#include "vm.h"
#include "code.h"

typedef struct VmTrace VmTrace;   /* trace.c: an Exec's --trace state */

/* One 64-bit slot of the value stack. i32/f32 live in the 32-bit members; which half of
 * the 64 bits that is depends on the host's byte order, so values cross the boundary to
 * the host only through slot_from_value()/value_from_slot() (exec.c). */
typedef union Slot {
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f32;
    double f64;
} Slot;

/* A linear memory (spec 4.2.8). A small one lives in a slot of memory.c's slab, readable
 * and writable throughout; a larger one has a mapping of its own, reserved up front
 * (PROT_NONE) to `reserved` bytes and made accessible as it grows. Growing past the slot
 * or the reservation moves the memory, so `base` can change on memory.grow — the
 * interpreter reloads it after every grow and every call (DESIGN decision 4). */
struct MemoryInst {
    uint8_t *base;
    uint64_t size;          /* bytes, a multiple of 64 KiB */
    uint32_t max_pages;     /* the declared maximum, or 65536 */
    uint32_t limit_pages;   /* the owner's limit (a process's configuration): growing past
                               it traps with "out of memory"; 0 = none */
    size_t reserved;        /* bytes of address space at base: the slot or the reservation */
    size_t rw;              /* bytes from base that are readable and writable (>= size) */
    struct SlabSlot *slot;  /* its slot in the slab, or NULL: a mapping of its own */
    atomic_int refs;        /* shared by importers */
    bool has_max;           /* (last: the struct stays at 56 bytes, one per process) */
};

/* A table (spec 4.2.7): references in Value form (0 = null). */
struct TableInst {
    Value *elems;
    uint32_t size;
    uint32_t max;           /* the declared maximum, or UINT32_MAX */
    bool has_max;
    ValType elem;
    atomic_int refs;
};

/* A global (spec 4.2.9). */
struct GlobalInst {
    Slot value;
    ValType type;
    bool mutable_;
    atomic_int refs;
};

/* A function instance (spec 4.2.6): Wasm code of some instance, or a host function.
 * Every instance has one per function of its module, so it is kept to three words
 * (a million processes have millions of them); a host function's data lives beside. */
struct Function {
    const FuncType *type;
    Instance *inst;               /* owner of a Wasm function; NULL for a host function */
    union {
        const CompiledFunc *cf;   /* Wasm: the shared code (cf->funcidx is its index) */
        struct HostFunction *host;
    } u;
};

typedef struct HostFunction {
    Function fn;                  /* fn.u.host points back here */
    HostFn call;
    void *env;
    char *name;                   /* for backtraces */
    FuncType type;
    /* Bit i set: parameter (result) i is an i32 or f32, whose slot's upper half is not
     * zero and must be cleared for the host (exec_call_host). Only with 64 or fewer of
     * each; past that, `many`, and the types are read one by one. */
    uint64_t narrow_params, narrow_results;
    bool many;
} HostFunction;

/* A module instance (spec 4.2.5). Arrays cover the whole index space, imports first;
 * they all lie in the Instance's own allocation, after it (instance.c, instance_alloc). */
struct Instance {
    Module *module;
    CompiledModule *code;         /* shared by all instances of module; its functions are
                                     compiled at their first call (compile.c) */
    Function **funcs;             /* nfuncs pointers; defined ones point into own_funcs */
    Function *own_funcs;          /* the module's own functions */
    TableInst **tables;
    MemoryInst *memory;           /* memory 0 or an empty placeholder (size 0) */
    bool has_memory;
    GlobalInst **globals;         /* a defined global no other instance can import (it is
                                     not exported) points into own_globals */
    GlobalInst *own_globals;      /* one per defined global */
    bool *elem_dropped;
    bool *data_dropped;
};

/* A call frame record, pushed by a call and popped by return: where the caller resumes. */
typedef struct Frame {
    const Cell *pc;               /* the caller's next instruction */
    Slot *fp;                     /* the caller's frame */
    Instance *inst;               /* the caller's instance */
} Frame;

typedef enum ExecState {
    EXEC_IDLE,                    /* no call prepared */
    EXEC_READY,                   /* vm_exec_call done; run will start it */
    EXEC_SUSPENDED,               /* yielded or blocked; run resumes at pc */
    EXEC_DONE,
    EXEC_TRAPPED,
} ExecState;

/* The stacks an Exec starts with, in its own allocation. They grow on demand up to the
 * limits (exec_grow_stack, exec_grow_frames), but an idle process should cost little
 * memory (issue 4's goal is under 16 KiB per idle process), and most never grow. */
#define EXEC_FIRST_SLOTS 64
#define EXEC_FIRST_FRAMES 8

struct Exec {
    Slot *stack;                  /* value stack: frames of locals and operands */
    uint32_t stack_slots;
    uint32_t stack_limit;         /* the stack may grow up to this many slots */
    Frame *frames;                /* call records */
    uint32_t nframes;
    uint32_t frames_cap;
    uint32_t max_frames;
    Slot *stack_end;              /* stack + stack_slots */
    Frame *frames_end;            /* frames + frames_cap */

    /* Saved state of a suspended run (DESIGN decision 1: three words and an instance). */
    const Cell *pc;
    Slot *fp;
    Instance *inst;
    ExecState state;

    Function *entry;              /* the function vm_exec_call started */
    uint32_t nresults;            /* its results are at the bottom of the stack (exec_finish) */
    uint64_t reductions;
    Trap *trap;                   /* allocated at the first trap: most Execs never trap, and
                                     a Trap with its backtrace is over 3 KiB */
    bool host_exit;               /* the host call asked to exit (vm_exec_set_exit) */
    int host_exit_code;
    Instance *host_caller;        /* set during a host call */
    const void *guest_hot;        /* the guest memory the last host call read (vm_exec_hot) */
    Cell done_code[1];            /* where the entry frame returns to: H_DONE */
    int64_t slice;                /* budget per run when instantiate runs a start function */
    void *user;                   /* the embedder's word (vm_exec_set_user) */
    struct VmTrace *trace;        /* set by vm_exec_set_trace: vm_run uses the traced loop */
    /* After the fields above, which are what a resumed process touches first (the
     * scheduler prefetches VM_EXEC_HOT_BYTES of them): only its first byte is written
     * on every host call. */
    char host_trap_message[128];

    /* Last: vm_exec_init zeroes what is above, and the stack, but not the frame records,
     * each written before it is read. Once a stack grows, it moves to the heap and its
     * first array goes unused. */
    Frame first_frames[EXEC_FIRST_FRAMES];
    Slot first_stack[EXEC_FIRST_SLOTS];
};

/* exec.c */
/* Grow the value stack so that `need` more slots fit above `fp`; rebases saved frame
 * pointers. Returns the new fp, or NULL when the stack limit is reached. */
Slot *exec_grow_stack(Exec *exec, Slot *fp, size_t need);
bool exec_grow_frames(Exec *exec);
void exec_fill_backtrace(Exec *exec, const Cell *pc, Instance *inst);
Slot slot_from_value(ValType t, Value v);
RunStatus exec_finish(Exec *exec);   /* the entry returned: collect results */
RunStatus exec_raise(Exec *exec, TrapKind kind, const Cell *pc, Instance *inst);
HostStatus exec_call_host(Exec *exec, Function *f, Slot *args, Instance *caller);

/* interp.c: run from the saved state for at most `budget` (> 0) reductions. */
RunStatus vm_interp_run(Exec *exec, int64_t budget);
/* interp_trace.c: the same loop, calling vm_trace_step before every handler. */
RunStatus vm_interp_run_traced(Exec *exec, int64_t budget);

/* trace.c: the traced loop's hook, at each dispatch (ft_depth: frame records in use).
 * Prints the instruction at pc with the values it reads and returns its Handler. */
Handler vm_trace_step(Exec *exec, const Cell *pc, const Slot *fp, const Instance *inst,
                      uint32_t ft_depth);
/* The run ended with st: print the last instruction's line, with the value it wrote. */
void vm_trace_flush(Exec *exec, RunStatus st);
void vm_trace_free(struct VmTrace *t);

/* disasm.c: vm_disasm_instr with the values read from frame fp shown after each slot
 * read, `sig` the handler's types as in loader/instr.h ("ii_i"; "" when unknown); the
 * slot written (or -1) and its type letter are returned for the caller to show. */
uint32_t vm_disasm_values(char *buf, size_t len, const CompiledFunc *cf, uint32_t at,
                          const Slot *fp, const char *sig, int32_t *dest, char *dest_type);
/* A slot's value as text, `type` a signature letter ('?': unknown). */
void vm_slot_text(char *buf, size_t len, Slot value, char type);
Value value_from_slot(ValType t, Slot s);

/* memory.c */
/* Grow by delta pages; returns the old size in pages, or -1 (spec 4.4.7.7 memory.grow:
 * past the declared maximum, or the host is out of memory), or MEMORY_OVER_LIMIT past
 * the owner's limit_pages. */
#define MEMORY_OVER_LIMIT (-2)
MemoryInst *memory_create(uint32_t min_pages, uint32_t max_pages, bool has_max, uint32_t limit);
int32_t memory_grow(MemoryInst *m, uint32_t delta);
int32_t table_grow(TableInst *t, uint32_t delta, Value init);
MemoryInst *memory_retain(MemoryInst *m);
TableInst *table_retain(TableInst *t);
GlobalInst *global_retain(GlobalInst *g);

/* superinstr.c: the peephole tables of compile.c (H_COUNT: no such form) */
Handler super_imm(Handler h);                 /* A <- B op constant */
bool super_imm_is_wide(Handler h);            /* its constant takes a cell of its own */
bool super_commutes(Handler h);               /* `K op x` is `x op K` */
Handler super_branch(Handler h, bool negate); /* i32 compare + br_if (negate: + if) */
Handler super_other_branch(Handler h, bool on_false);  /* f64 compares, bit tests */
Handler super_add(Handler h);                 /* load/store of an address `x + K` */

/* instance.c */
bool functype_equal(const FuncType *a, const FuncType *b);

#endif
