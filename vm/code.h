/*
 * code.h — the threaded-code format that vm/compile.c writes and vm/exec.c runs.
 *
 * A compiled function is an array of 64-bit cells. Each instruction starts with a handler
 * cell — the address of its handler label (computed-goto build) or its Handler number
 * (switch build, vm/config.h) — followed by operand cells. Operands are resolved at
 * compile time: no LEB128, no type dispatch and no operand stack at run time. Values live
 * in the frame's slots: slot i of a frame is fp[i]; locals (parameters first) take slots
 * 0..nlocals-1, and the operand stack at height h is slot nlocals+h. Validation tells the
 * compiler the height at every instruction, so `local.get 0; local.get 1; i32.add` becomes
 * one instruction, I32_ADD with A = dst slot, B = slot 0, C = slot 1 (DESIGN decision 2).
 *
 * The first operand cell holds up to four 16-bit slot indices, in memory order:
 *
 *     bytes 0..1  A      usually the destination
 *     bytes 2..3  B      first source
 *     bytes 4..5  C      second source        (or: bytes 4..7 IMM32, an immediate)
 *     bytes 6..7  D
 *
 * Fields, not bit positions: a handler reads each with one 16-bit load, and the layout
 * is the same on big- and little-endian hosts. A frame therefore has at most 65535 slots
 * (compile.c refuses bigger functions).
 *
 * A function's code is made at its first call, not before (CompiledFunc below): until
 * then a call of it runs its stub, a one-instruction function that compiles it.
 */
#ifndef LVM_VM_CODE_H
#define LVM_VM_CODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../loader/module.h"

typedef enum Handler {
#define OP(name, code, imm, sig, width) H_##name,
#include "../loader/opcodes.def"
#undef OP
#define HANDLER(name, cells, operands) H_##name,
#include "handlers.def"
#undef HANDLER
    H_COUNT
} Handler;

struct CompiledFunc;

typedef union Cell {
    const void *label;                 /* computed-goto build: handler address */
    uint32_t handler;                  /* switch build: a Handler */
    uint64_t u64;                      /* immediates */
    int64_t i64;
    const struct CompiledFunc *callee; /* CALL's target */
    struct { uint16_t a, b, c, d; } s; /* operand cell: four slots */
    struct { uint16_t a, b; uint32_t imm; } si;  /* operand cell: two slots, IMM32 */
} Cell;

#define SLOT_MAX 0xFFFFu

static inline Cell cell_slots(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    Cell x;
    x.s.a = (uint16_t)a;
    x.s.b = (uint16_t)b;
    x.s.c = (uint16_t)c;
    x.s.d = (uint16_t)d;
    return x;
}

static inline Cell cell_imm(uint32_t a, uint32_t b, uint32_t imm)
{
    Cell x;
    x.si.a = (uint16_t)a;
    x.si.b = (uint16_t)b;
    x.si.imm = imm;
    return x;
}

/* One function of a module, shared by every instance of it. Compiled lazily: what a call
 * needs to set up the frame (nparams, nlocals, frame_slots) is known at instantiation,
 * from the validated module; the threaded code is made at the function's first call.
 *
 * Until then `entry` points at `stub`, one LAZY_COMPILE instruction (handlers.def), so a
 * call jumps there as it would to the code; its handler compiles the function
 * (vm_compile_func) and goes on into the code, and from then on `entry` points at the code
 * itself: a call of a compiled function pays no test for it. Instances of one module run
 * on several threads, so the first call can happen on two at once: the compile is done
 * under the module's lock, and `entry` is published with a release store after every
 * other field below it is written; a reader loads it with acquire (vm_func_code, or the
 * CALL handler) before it reads them. Nothing else changes after instantiation. */
typedef struct CompiledFunc {
    _Atomic(const Cell *) entry;   /* where a call goes: stub, then the code */
    uint32_t funcidx;
    uint32_t nparams;
    const FuncType *type;
    uint32_t nlocals;          /* declared locals and the zero slot, zeroed at each call */
    uint32_t frame_slots;      /* slots the frame needs: locals, operands, results — from
                                  the validator's Func.max_height, so before compiling */
    Cell stub[2];              /* LAZY_COMPILE, IMM32 = funcidx */
    /* Written by the compile, before `entry` is published; read after seeing it. */
    uint32_t ncells;
    /* For backtraces: for the k-th emitted instruction, its first cell and the byte
     * offset of the Wasm instruction it came from. Sorted by cell. */
    uint32_t nmap;
    uint32_t *map_cell;
    uint32_t *map_offset;
} CompiledFunc;

typedef struct CompiledModule {
    uint32_t nfuncs;           /* defined functions only */
    uint32_t first;            /* funcidx of funcs[0] (= number of imported functions) */
    CompiledFunc *funcs;
    pthread_mutex_t lock;      /* held while one of funcs is compiled */
} CompiledModule;

/* compile.c: the CompiledModule of m, made once (later calls return the same one) and
 * attached to m: every function's frame layout and its stub, no code yet. Fails for a
 * function beyond lvm's limits (over 65535 frame slots), as instantiation must.
 * Thread-safe. Returns NULL with a message in err on failure. */
CompiledModule *vm_compile_module(Module *m, char *err, size_t errlen);

/* The threaded code of cf, or NULL if it is not compiled yet. An acquire load: paired
 * with the release store that publishes the code, so the code and cf's ncells and map
 * are seen complete. */
static inline const Cell *vm_func_code(const CompiledFunc *cf)
{
    const Cell *entry = atomic_load_explicit(&cf->entry, memory_order_acquire);
    return entry == cf->stub ? NULL : entry;
}

/* Compile function funcidx of m (cm = its CompiledModule) if it is not compiled yet, and
 * return its code. Thread-safe: two threads asking at once get the same code, compiled
 * once. It can fail only for want of memory (*oom set) or on a limit validation did not
 * catch, which would be a bug: NULL, with a message in err. */
const Cell *vm_compile_func(const Module *m, CompiledModule *cm, uint32_t funcidx, bool *oom,
                            char *err, size_t errlen) __attribute__((warn_unused_result));

/* exec.c: the handler cell for h in this build's dispatch mode. */
Cell vm_handler_cell(Handler h);
/* The Handler of a handler cell, for tools (the inverse of vm_handler_cell). */
Handler vm_cell_handler(Cell c);
const char *vm_handler_name(Handler h);

/* disasm.c: reading compiled code back (for `lvm dis`, tools/dis.c). */
/* The length in cells of the instruction at pc, its handler cell included. */
uint32_t vm_instr_cells(Handler h, const Cell *pc);
/* The instruction at cell `at` of cf, which must be compiled (vm_func_code not NULL), as
 * text — its handler's name, then its operands decoded as handlers.def says (slots named
 * L0.. for locals, `zero`, S0.. for the operand stack; branch targets as @cell; a callee
 * as its funcidx) — into buf. Returns its length in cells. The text holds no address, so
 * listings are the same on every run. */
uint32_t vm_disasm_instr(char *buf, size_t len, const CompiledFunc *cf, uint32_t at);
/* True for a superinstruction: a handler that does the work of several Wasm instructions. */
bool vm_handler_is_super(Handler h);
/* A raw listing of one function: one line per instruction, with its first cell (or a
 * line saying it is not compiled yet: this only reads). */
void vm_disasm_function(FILE *out, const CompiledFunc *cf);

#endif
