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
 * The first operand cell packs up to four 16-bit slot indices:
 *
 *     bits  0..15  A      usually the destination
 *     bits 16..31  B      first source
 *     bits 32..47  C      second source        (or: bits 32..63 IMM32, an immediate)
 *     bits 48..63  D
 *
 * so a frame has at most 65535 slots (compile.c refuses bigger functions).
 */
#ifndef LVM_VM_CODE_H
#define LVM_VM_CODE_H

#include <stdint.h>
#include <stdio.h>

#include "../loader/module.h"

typedef enum Handler {
#define OP(name, code, imm, sig, width) H_##name,
#include "../loader/opcodes.def"
#undef OP
#define HANDLER(name, cells) H_##name,
#include "handlers.def"
#undef HANDLER
    H_COUNT
} Handler;

struct CompiledFunc;

typedef union Cell {
    const void *label;                 /* computed-goto build: handler address */
    uint32_t handler;                  /* switch build: a Handler */
    uint64_t u64;                      /* operands */
    int64_t i64;
    const struct CompiledFunc *callee; /* CALL's target */
} Cell;

#define SLOT_MAX 0xFFFFu

#define OPND_A(c) ((uint32_t)((c) & 0xFFFF))
#define OPND_B(c) ((uint32_t)(((c) >> 16) & 0xFFFF))
#define OPND_C(c) ((uint32_t)(((c) >> 32) & 0xFFFF))
#define OPND_D(c) ((uint32_t)((c) >> 48))
#define OPND_IMM32(c) ((uint32_t)((c) >> 32))
#define OPND_PACK(a, b, c, d) \
    ((uint64_t)(a) | ((uint64_t)(b) << 16) | ((uint64_t)(c) << 32) | ((uint64_t)(d) << 48))
#define OPND_PACK_IMM(a, b, imm) \
    ((uint64_t)(a) | ((uint64_t)(b) << 16) | ((uint64_t)(uint32_t)(imm) << 32))

/* The threaded code of one function, shared by every instance of its module. */
typedef struct CompiledFunc {
    Cell *code;
    uint32_t ncells;
    uint32_t funcidx;
    const FuncType *type;
    uint32_t nparams;
    uint32_t nlocals;          /* declared locals, zeroed at each call */
    uint32_t frame_slots;      /* slots the frame needs: locals, operands, results */
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
} CompiledModule;

/* compile.c: compile every defined function of m (once; later calls return the same
 * code). Thread-safe. Returns NULL with a message in err on failure. */
const CompiledModule *vm_compile_module(Module *m, char *err, size_t errlen);

/* exec.c: the handler cell for h in this build's dispatch mode. */
Cell vm_handler_cell(Handler h);
/* The Handler of a handler cell, for tools (the inverse of vm_handler_cell). */
Handler vm_cell_handler(Cell c);
const char *vm_handler_name(Handler h);

/* disasm.c: the length in cells of the instruction at pc, and a listing of a function. */
uint32_t vm_instr_cells(Handler h, const Cell *pc);
void vm_disasm_function(FILE *out, const CompiledFunc *cf);

#endif
