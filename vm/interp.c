/*
 * interp.c — the dispatch loop: one handler per Handler (code.h), nothing else.
 *
 * Each handler reads its operands from the cells after its handler cell, updates frame
 * slots, advances pc past its own cells and dispatches the next one. The handler macros
 * are in dispatch.h; the numeric helpers in numeric.h; slow paths (memory.grow, bulk
 * operations, tables) are noinline functions in bulk.c so this loop stays small.
 *
 * Read this after compile.c: the operand layout of each handler is the one compile.c
 * emits, and handlers.def says it in one line per superinstruction.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "numeric.h"
#include "vm_internal.h"
#include "bulk.h"

static RunStatus run(Exec *exec, int64_t budget, bool get_labels);

/* The ends of the value stack and of the frame records: read from the Exec at each call
 * rather than cached in locals, which would cost the hot handlers a register. */
#define STACK_END (exec->stack_end)
#define FRAMES_END (exec->frames_end)

#if !LVM_DISPATCH_SWITCH
static const void *const *label_table;
static pthread_once_t label_once = PTHREAD_ONCE_INIT;
static void init_labels(void) { run(NULL, 0, true); }
#endif

/* Zero a function's declared locals at entry (spec 4.4.10: locals start at zero). Most
 * functions have a few: four unconditional stores (compile.c makes every frame at least
 * that big) beat a loop or a call of memset. */
static inline void zero_slots(Slot *p, uint32_t n)
{
    if (LIKELY(n <= 4)) {
        p[0].u64 = 0;
        p[1].u64 = 0;
        p[2].u64 = 0;
        p[3].u64 = 0;
    } else {
        memset(p, 0, n * sizeof(Slot));
    }
}

/* LAZY_COMPILE's slow path: compile function funcidx of inst's module (vm_compile_func)
 * and return its code. Should that fail, NULL and the trap to raise: out of memory, or —
 * for what would be a bug of lvm's, validation having passed the function — a trap of
 * kind TRAP_HOST (the host, lvm, failed the call) whose text says what went wrong. Either
 * way only this process stops; the next call of the function tries again. */
static __attribute__((noinline)) const Cell *compile_lazily(Exec *exec, Instance *inst,
                                                            uint32_t funcidx, TrapKind *trap)
{
    char why[200];
    bool oom;
    const Cell *code = vm_compile_func(inst->module, inst->code, funcidx, &oom, why, sizeof why);
    if (!code) {
        *trap = oom ? TRAP_OUT_OF_MEMORY : TRAP_HOST;
        exec->host_exit = false;
        snprintf(exec->host_trap_message, sizeof exec->host_trap_message,
                 "cannot compile %s", why);
    }
    return code;
}

#if !LVM_TRACE
/* The file's public face. The traced copy of this loop (interp_trace.c, LVM_TRACE) has
 * its own entry point below and runs the normal build's cells, whatever they hold. */
Cell vm_handler_cell(Handler h)
{
    Cell c;
    c.u64 = 0;
#if LVM_DISPATCH_SWITCH
    c.handler = h;
#else
    pthread_once(&label_once, init_labels);
    c.label = label_table[h];
#endif
    return c;
}

Handler vm_cell_handler(Cell c)
{
#if LVM_DISPATCH_SWITCH
    return (Handler)c.handler;
#else
    pthread_once(&label_once, init_labels);
    for (unsigned h = 0; h < H_COUNT; h++)
        if (label_table[h] == c.label)
            return (Handler)h;
    return H_COUNT;
#endif
}

RunStatus vm_interp_run(Exec *exec, int64_t budget)
{
    return run(exec, budget, false);
}
#else
RunStatus vm_interp_run_traced(Exec *exec, int64_t budget)
{
    return run(exec, budget, false);
}
#endif

static RunStatus run(Exec *exec, int64_t budget, bool get_labels)
{
#if !LVM_DISPATCH_SWITCH
    static const void *const labels[H_COUNT] = {
#define OP(name, code, imm, sig, width) [H_##name] = &&L_##name,
#include "../loader/opcodes.def"
#undef OP
#define HANDLER(name, cells, operands) [H_##name] = &&L_##name,
#include "handlers.def"
#undef HANDLER
    };
    if (get_labels) {
        label_table = labels;
        return RUN_DONE;
    }
#endif
    const Cell *pc = exec->pc;
    Slot *fp = exec->fp;
    Instance *inst = exec->inst;
    Frame *ft = exec->frames + exec->nframes;      /* next free frame record */
    uint8_t *mem_base;
    uint64_t mem_size;
    const int64_t budget_start = budget;
    TrapKind trap_kind = TRAP_NONE;
    Function *callee = NULL;                       /* call_function's arguments */
    Slot *callee_fp = NULL;
    const Cell *return_pc = NULL;
    uint32_t callee_need = 0;                      /* frame slots, for grow_stacks */
    LOAD_MEMORY();

#if LVM_DISPATCH_SWITCH
dispatch:
    switch (DISPATCH_HANDLER()) {
#else
    NEXT();
#endif

    /* ---- Control ---------------------------------------------------------------- */

    CASE(UNREACHABLE) TRAP(TRAP_UNREACHABLE);
    CASE(BR) TAKE_BRANCH((int32_t)IMM);
    CASE(BR_IF) {
        FETCH_NEXT(2);
        if (SA.u32)
            TAKE_BRANCH((int32_t)IMM);
        GO_NEXT();
    }
    CASE(BR_UNLESS) {
        FETCH_NEXT(2);
        if (!SA.u32)
            TAKE_BRANCH((int32_t)IMM);
        GO_NEXT();
    }
    CASE(BR_TABLE) {
        uint32_t i = SA.u32, n = IMM;
        if (i > n)
            i = n;
        TAKE_BRANCH((int32_t)pc[2 + i].i64);
    }
    CASE(BR_IF_I32_EQ) BRANCH_CMP(u32, ==);
    CASE(BR_IF_I32_NE) BRANCH_CMP(u32, !=);
    CASE(BR_IF_I32_LT_S) BRANCH_CMP(i32, <);
    CASE(BR_IF_I32_LT_U) BRANCH_CMP(u32, <);
    CASE(BR_IF_I32_GT_S) BRANCH_CMP(i32, >);
    CASE(BR_IF_I32_GT_U) BRANCH_CMP(u32, >);
    CASE(BR_IF_I32_LE_S) BRANCH_CMP(i32, <=);
    CASE(BR_IF_I32_LE_U) BRANCH_CMP(u32, <=);
    CASE(BR_IF_I32_GE_S) BRANCH_CMP(i32, >=);
    CASE(BR_IF_I32_GE_U) BRANCH_CMP(u32, >=);
    CASE(BR_IF_I32_EQ_IMM) BRANCH_CMP_IMM(u32, ==);
    CASE(BR_IF_I32_NE_IMM) BRANCH_CMP_IMM(u32, !=);
    CASE(BR_IF_I32_LT_S_IMM) BRANCH_CMP_IMM(i32, <);
    CASE(BR_IF_I32_LT_U_IMM) BRANCH_CMP_IMM(u32, <);
    CASE(BR_IF_I32_GT_S_IMM) BRANCH_CMP_IMM(i32, >);
    CASE(BR_IF_I32_GT_U_IMM) BRANCH_CMP_IMM(u32, >);
    CASE(BR_IF_I32_LE_S_IMM) BRANCH_CMP_IMM(i32, <=);
    CASE(BR_IF_I32_LE_U_IMM) BRANCH_CMP_IMM(u32, <=);
    CASE(BR_IF_I32_GE_S_IMM) BRANCH_CMP_IMM(i32, >=);
    CASE(BR_IF_I32_GE_U_IMM) BRANCH_CMP_IMM(u32, >=);
    CASE(BR_IF_I32_AND_IMM) BRANCH_IF((SA.u32 & (uint32_t)pc[2].u64) != 0, 3);
    CASE(BR_UNLESS_I32_AND_IMM) BRANCH_IF((SA.u32 & (uint32_t)pc[2].u64) == 0, 3);
    CASE(BR_IF_F64_EQ) BRANCH_IF(SA.f64 == SB.f64, 2);
    CASE(BR_IF_F64_NE) BRANCH_IF(SA.f64 != SB.f64, 2);
    CASE(BR_IF_F64_LT) BRANCH_IF(SA.f64 < SB.f64, 2);
    CASE(BR_IF_F64_GT) BRANCH_IF(SA.f64 > SB.f64, 2);
    CASE(BR_IF_F64_LE) BRANCH_IF(SA.f64 <= SB.f64, 2);
    CASE(BR_IF_F64_GE) BRANCH_IF(SA.f64 >= SB.f64, 2);
    CASE(BR_UNLESS_F64_LT) BRANCH_IF(!(SA.f64 < SB.f64), 2);
    CASE(BR_UNLESS_F64_GT) BRANCH_IF(!(SA.f64 > SB.f64), 2);
    CASE(BR_UNLESS_F64_LE) BRANCH_IF(!(SA.f64 <= SB.f64), 2);
    CASE(BR_UNLESS_F64_GE) BRANCH_IF(!(SA.f64 >= SB.f64), 2);
    CASE(BR_IF_F64_LT_IMM) BRANCH_IF(SA.f64 < K_F64, 3);
    CASE(BR_IF_F64_GT_IMM) BRANCH_IF(SA.f64 > K_F64, 3);
    CASE(BR_IF_F64_LE_IMM) BRANCH_IF(SA.f64 <= K_F64, 3);
    CASE(BR_IF_F64_GE_IMM) BRANCH_IF(SA.f64 >= K_F64, 3);
    CASE(BR_UNLESS_F64_LT_IMM) BRANCH_IF(!(SA.f64 < K_F64), 3);
    CASE(BR_UNLESS_F64_GT_IMM) BRANCH_IF(!(SA.f64 > K_F64), 3);
    CASE(BR_UNLESS_F64_LE_IMM) BRANCH_IF(!(SA.f64 <= K_F64), 3);
    CASE(BR_UNLESS_F64_GE_IMM) BRANCH_IF(!(SA.f64 >= K_F64), 3);

    /* ---- Calls (spec 4.4.10) ------------------------------------------------------
     * The caller left the arguments in consecutive slots starting at A; they become the
     * callee's first locals where they lie, so a call copies nothing. */
    CASE(CALL) {
        const CompiledFunc *cf = pc[2].callee;
        Slot *nfp = fp + pc[1].s.a;
        if (UNLIKELY(nfp + cf->frame_slots > STACK_END || ft == FRAMES_END)) {
            callee_fp = nfp;
            callee_need = cf->frame_slots;
            goto grow_stacks;
        }
        ft->pc = pc + 3;
        ft->fp = fp;
        ft->inst = inst;
        ft++;
        zero_slots(nfp + cf->nparams, cf->nlocals);
        fp = nfp;
        pc = atomic_load_explicit(&cf->entry, memory_order_acquire);   /* code.h */
        COUNT_REDUCTION();
        NEXT();
    }
    CASE(CALL_IMPORT) {
        callee = inst->funcs[IMM];
        callee_fp = fp + pc[1].s.a;
        return_pc = pc + 2;
        goto call_function;
    }
    CASE(CALL_INDIRECT) {
        const TableInst *t = inst->tables[pc[2].u64];
        uint32_t i = SB.u32;
        if (UNLIKELY(i >= t->size))
            TRAP(TRAP_UNDEFINED_ELEMENT);
        callee = (Function *)(uintptr_t)t->elems[i];
        if (UNLIKELY(!callee))
            TRAP(TRAP_UNINITIALIZED_ELEMENT);
        const FuncType *want = &inst->module->types[IMM];
        if (UNLIKELY(callee->type != want &&
                     !(callee->inst && callee->inst->module == inst->module &&
                       callee->type->canon == want->canon) &&
                     !functype_equal(callee->type, want)))
            TRAP(TRAP_INDIRECT_CALL_TYPE);
        callee_fp = fp + pc[1].s.a;
        return_pc = pc + 3;
        goto call_function;
    }
    CASE(RETURN_1) {
        fp[0] = SB;
        goto do_return;
    }
    CASE(RETURN) {
        memmove(fp, &SB, pc[1].s.c * sizeof(Slot));
    do_return:
        ft--;
        pc = ft->pc;
        fp = ft->fp;
        inst = ft->inst;
        LOAD_MEMORY();           /* the callee may have grown memory, or be another instance's */
        NEXT();
    }
    CASE(DONE) {
        SAVE_STATE();
        exec->reductions += (uint64_t)(budget_start - budget);
        return exec_finish(exec);
    }
    CASE(LAZY_COMPILE) {
        /* A function's first call (code.h, CompiledFunc): the call has made its frame and
         * counted its reduction; compile it, then run it from its first cell. */
        const Cell *code = compile_lazily(exec, inst, IMM, &trap_kind);
        if (UNLIKELY(!code))
            goto trap;
        pc = code;
        NEXT();
    }

    /* ---- Moves, constants, parametric ------------------------------------------------ */

    CASE(MOV) {
        FETCH_NEXT(2);
        SA = SB;
        GO_NEXT();
    }
    CASE(CONST32) {
        FETCH_NEXT(2);
        SA.u32 = IMM;
        GO_NEXT();
    }
    CASE(CONST64) {
        FETCH_NEXT(3);
        SA.u64 = pc[2].u64;
        GO_NEXT();
    }
    CASE(SELECT) {
        FETCH_NEXT(2);
        SA = SB.u32 ? SC : SD;
        GO_NEXT();
    }

    /* ---- Variables ------------------------------------------------------------------ */

    CASE(GLOBAL_GET) {
        FETCH_NEXT(2);
        SA = inst->globals[IMM]->value;
        GO_NEXT();
    }
    CASE(GLOBAL_SET) {
        FETCH_NEXT(2);
        inst->globals[IMM]->value = SA;
        GO_NEXT();
    }

    /* ---- References ------------------------------------------------------------------ */

    CASE(REF_FUNC) {
        FETCH_NEXT(2);
        SA.u64 = (uintptr_t)inst->funcs[IMM];
        GO_NEXT();
    }
    CASE(REF_IS_NULL) UNARY(u64, u32, a == 0);

    /* ---- Memory (spec 4.4.7): A <- [B + offset] / [A + offset] <- B ----------------- */

    CASE(I32_LOAD) LOAD(u32, uint32_t, ld_u32, 4);
    CASE(I64_LOAD) LOAD(u64, uint64_t, ld_u64, 8);
    CASE(F32_LOAD) LOAD(u32, uint32_t, ld_u32, 4);
    CASE(F64_LOAD) LOAD(u64, uint64_t, ld_u64, 8);
    CASE(I32_LOAD8_S) LOAD(i32, int8_t, ld_u8, 1);
    CASE(I32_LOAD8_U) LOAD(u32, uint8_t, ld_u8, 1);
    CASE(I32_LOAD16_S) LOAD(i32, int16_t, ld_u16, 2);
    CASE(I32_LOAD16_U) LOAD(u32, uint16_t, ld_u16, 2);
    CASE(I64_LOAD8_S) LOAD(i64, int8_t, ld_u8, 1);
    CASE(I64_LOAD8_U) LOAD(u64, uint8_t, ld_u8, 1);
    CASE(I64_LOAD16_S) LOAD(i64, int16_t, ld_u16, 2);
    CASE(I64_LOAD16_U) LOAD(u64, uint16_t, ld_u16, 2);
    CASE(I64_LOAD32_S) LOAD(i64, int32_t, ld_u32, 4);
    CASE(I64_LOAD32_U) LOAD(u64, uint32_t, ld_u32, 4);
    CASE(I32_STORE) STORE(u32, st_u32, 4);
    CASE(I64_STORE) STORE(u64, st_u64, 8);
    CASE(F32_STORE) STORE(u32, st_u32, 4);
    CASE(F64_STORE) STORE(u64, st_u64, 8);
    CASE(I32_STORE8) STORE(u32, st_u8, 1);
    CASE(I32_STORE16) STORE(u32, st_u16, 2);
    CASE(I64_STORE8) STORE(u64, st_u8, 1);
    CASE(I64_STORE16) STORE(u64, st_u16, 2);
    CASE(I64_STORE32) STORE(u64, st_u32, 4);
    CASE(I32_LOAD_ADD) LOAD_ADD(u32, uint32_t, ld_u32, 4);
    CASE(I64_LOAD_ADD) LOAD_ADD(u64, uint64_t, ld_u64, 8);
    CASE(F32_LOAD_ADD) LOAD_ADD(u32, uint32_t, ld_u32, 4);
    CASE(F64_LOAD_ADD) LOAD_ADD(u64, uint64_t, ld_u64, 8);
    CASE(I32_LOAD8_S_ADD) LOAD_ADD(i32, int8_t, ld_u8, 1);
    CASE(I32_LOAD8_U_ADD) LOAD_ADD(u32, uint8_t, ld_u8, 1);
    CASE(I32_LOAD16_S_ADD) LOAD_ADD(i32, int16_t, ld_u16, 2);
    CASE(I32_LOAD16_U_ADD) LOAD_ADD(u32, uint16_t, ld_u16, 2);
    CASE(I64_LOAD8_U_ADD) LOAD_ADD(u64, uint8_t, ld_u8, 1);
    CASE(I64_LOAD32_U_ADD) LOAD_ADD(u64, uint32_t, ld_u32, 4);
    CASE(I32_STORE_ADD) STORE_ADD(u32, st_u32, 4);
    CASE(I64_STORE_ADD) STORE_ADD(u64, st_u64, 8);
    CASE(F32_STORE_ADD) STORE_ADD(u32, st_u32, 4);
    CASE(F64_STORE_ADD) STORE_ADD(u64, st_u64, 8);
    CASE(I32_STORE8_ADD) STORE_ADD(u32, st_u8, 1);
    CASE(I32_STORE16_ADD) STORE_ADD(u32, st_u16, 2);
    CASE(MEMORY_SIZE) {
        FETCH_NEXT(2);
        SA.u32 = (uint32_t)(mem_size >> 16);
        GO_NEXT();
    }
    CASE(MEMORY_GROW) {
        FETCH_NEXT(2);
        int32_t old = memory_grow(inst->memory, SB.u32);
        if (UNLIKELY(old == MEMORY_OVER_LIMIT))
            TRAP(TRAP_OUT_OF_MEMORY);
        SA.i32 = old;
        LOAD_MEMORY();
        GO_NEXT();
    }
    CASE(MEMORY_FILL) {
        FETCH_NEXT(3);
        if (!bulk_memory_fill(inst->memory, SA.u32, (uint8_t)SB.u32, SC.u32))
            TRAP(TRAP_MEMORY_OOB);
        GO_NEXT();
    }
    CASE(MEMORY_COPY) {
        FETCH_NEXT(3);
        if (!bulk_memory_copy(inst->memory, SA.u32, SB.u32, SC.u32))
            TRAP(TRAP_MEMORY_OOB);
        GO_NEXT();
    }
    CASE(MEMORY_INIT) {
        FETCH_NEXT(3);
        if (!bulk_memory_init(inst, (uint32_t)pc[2].u64, SA.u32, SB.u32, SC.u32))
            TRAP(TRAP_MEMORY_OOB);
        GO_NEXT();
    }
    CASE(DATA_DROP) {
        FETCH_NEXT(2);
        inst->data_dropped[IMM] = true;
        GO_NEXT();
    }

    /* ---- Tables (spec 4.4.6) --------------------------------------------------------- */

    CASE(TABLE_GET) {
        FETCH_NEXT(2);
        const TableInst *t = inst->tables[IMM];
        if (UNLIKELY(SB.u32 >= t->size))
            TRAP(TRAP_TABLE_OOB);
        SA.u64 = t->elems[SB.u32];
        GO_NEXT();
    }
    CASE(TABLE_SET) {
        FETCH_NEXT(2);
        TableInst *t = inst->tables[IMM];
        if (UNLIKELY(SA.u32 >= t->size))
            TRAP(TRAP_TABLE_OOB);
        t->elems[SA.u32] = SB.u64;
        GO_NEXT();
    }
    CASE(TABLE_SIZE) {
        FETCH_NEXT(2);
        SA.u32 = inst->tables[IMM]->size;
        GO_NEXT();
    }
    CASE(TABLE_GROW) {
        FETCH_NEXT(3);
        SA.i32 = table_grow(inst->tables[pc[2].u64], SC.u32, SB.u64);
        GO_NEXT();
    }
    CASE(TABLE_FILL) {
        FETCH_NEXT(3);
        if (!bulk_table_fill(inst->tables[pc[2].u64], SA.u32, SB.u64, SC.u32))
            TRAP(TRAP_TABLE_OOB);
        GO_NEXT();
    }
    CASE(TABLE_COPY) {
        FETCH_NEXT(3);
        uint64_t ix = pc[2].u64;
        if (!bulk_table_copy(inst->tables[(uint32_t)ix], inst->tables[ix >> 32], SA.u32, SB.u32, SC.u32))
            TRAP(TRAP_TABLE_OOB);
        GO_NEXT();
    }
    CASE(TABLE_INIT) {
        FETCH_NEXT(3);
        uint64_t ix = pc[2].u64;
        if (!bulk_table_init(inst, (uint32_t)ix, (uint32_t)(ix >> 32), SA.u32, SB.u32, SC.u32))
            TRAP(TRAP_TABLE_OOB);
        GO_NEXT();
    }
    CASE(ELEM_DROP) {
        FETCH_NEXT(2);
        inst->elem_dropped[IMM] = true;
        GO_NEXT();
    }

    /* ---- i32 (spec 4.3.2) ----------------------------------------------------------- */

    CASE(I32_EQZ) UNARY(u32, u32, a == 0);
    CASE(I32_EQ) BINARY(u32, u32, a == b);
    CASE(I32_NE) BINARY(u32, u32, a != b);
    CASE(I32_LT_S) BINARY(i32, u32, a < b);
    CASE(I32_LT_U) BINARY(u32, u32, a < b);
    CASE(I32_GT_S) BINARY(i32, u32, a > b);
    CASE(I32_GT_U) BINARY(u32, u32, a > b);
    CASE(I32_LE_S) BINARY(i32, u32, a <= b);
    CASE(I32_LE_U) BINARY(u32, u32, a <= b);
    CASE(I32_GE_S) BINARY(i32, u32, a >= b);
    CASE(I32_GE_U) BINARY(u32, u32, a >= b);
    CASE(I32_CLZ) UNARY(u32, u32, clz32(a));
    CASE(I32_CTZ) UNARY(u32, u32, ctz32(a));
    CASE(I32_POPCNT) UNARY(u32, u32, (uint32_t)__builtin_popcount(a));
    CASE(I32_ADD) BINARY(u32, u32, a + b);
    CASE(I32_SUB) BINARY(u32, u32, a - b);
    CASE(I32_MUL) BINARY(u32, u32, a * b);
    CASE(I32_DIV_S) {
        FETCH_NEXT(2);
        int32_t a = SB.i32, b = SC.i32;
        if (UNLIKELY(b == 0))
            TRAP(TRAP_INT_DIV_ZERO);
        if (UNLIKELY(a == INT32_MIN && b == -1))
            TRAP(TRAP_INT_OVERFLOW);
        SA.i32 = a / b;
        GO_NEXT();
    }
    CASE(I32_DIV_U) {
        FETCH_NEXT(2);
        uint32_t a = SB.u32, b = SC.u32;
        if (UNLIKELY(b == 0))
            TRAP(TRAP_INT_DIV_ZERO);
        SA.u32 = a / b;
        GO_NEXT();
    }
    CASE(I32_REM_S) {
        FETCH_NEXT(2);
        int32_t a = SB.i32, b = SC.i32;
        if (UNLIKELY(b == 0))
            TRAP(TRAP_INT_DIV_ZERO);
        SA.i32 = b == -1 ? 0 : a % b;
        GO_NEXT();
    }
    CASE(I32_REM_U) {
        FETCH_NEXT(2);
        uint32_t a = SB.u32, b = SC.u32;
        if (UNLIKELY(b == 0))
            TRAP(TRAP_INT_DIV_ZERO);
        SA.u32 = a % b;
        GO_NEXT();
    }
    CASE(I32_AND) BINARY(u32, u32, a & b);
    CASE(I32_OR) BINARY(u32, u32, a | b);
    CASE(I32_XOR) BINARY(u32, u32, a ^ b);
    CASE(I32_SHL) BINARY(u32, u32, a << (b & 31));
    CASE(I32_SHR_S) BINARY(i32, i32, a >> (b & 31));
    CASE(I32_SHR_U) BINARY(u32, u32, a >> (b & 31));
    CASE(I32_ROTL) BINARY(u32, u32, rotl32(a, b));
    CASE(I32_ROTR) BINARY(u32, u32, rotr32(a, b));
    CASE(I32_ADD_IMM) BINARY_IMM(u32, u32, a + b);
    CASE(I32_SUB_IMM) BINARY_IMM(u32, u32, a - b);
    CASE(I32_MUL_IMM) BINARY_IMM(u32, u32, a * b);
    CASE(I32_AND_IMM) BINARY_IMM(u32, u32, a & b);
    CASE(I32_OR_IMM) BINARY_IMM(u32, u32, a | b);
    CASE(I32_XOR_IMM) BINARY_IMM(u32, u32, a ^ b);
    CASE(I32_SHL_IMM) BINARY_IMM(u32, u32, a << (b & 31));
    CASE(I32_SHR_S_IMM) BINARY_IMM(i32, i32, a >> (b & 31));
    CASE(I32_SHR_U_IMM) BINARY_IMM(u32, u32, a >> (b & 31));
    CASE(I32_EQ_IMM) BINARY_IMM(u32, u32, a == b);
    CASE(I32_NE_IMM) BINARY_IMM(u32, u32, a != b);
    CASE(I32_LT_S_IMM) BINARY_IMM(i32, u32, a < b);
    CASE(I32_LT_U_IMM) BINARY_IMM(u32, u32, a < b);
    CASE(I32_GT_S_IMM) BINARY_IMM(i32, u32, a > b);
    CASE(I32_GT_U_IMM) BINARY_IMM(u32, u32, a > b);
    CASE(I32_LE_S_IMM) BINARY_IMM(i32, u32, a <= b);
    CASE(I32_LE_U_IMM) BINARY_IMM(u32, u32, a <= b);
    CASE(I32_GE_S_IMM) BINARY_IMM(i32, u32, a >= b);
    CASE(I32_GE_U_IMM) BINARY_IMM(u32, u32, a >= b);

    /* ---- i64 ------------------------------------------------------------------------ */

    CASE(I64_EQZ) UNARY(u64, u32, a == 0);
    CASE(I64_EQ) BINARY(u64, u32, a == b);
    CASE(I64_NE) BINARY(u64, u32, a != b);
    CASE(I64_LT_S) BINARY(i64, u32, a < b);
    CASE(I64_LT_U) BINARY(u64, u32, a < b);
    CASE(I64_GT_S) BINARY(i64, u32, a > b);
    CASE(I64_GT_U) BINARY(u64, u32, a > b);
    CASE(I64_LE_S) BINARY(i64, u32, a <= b);
    CASE(I64_LE_U) BINARY(u64, u32, a <= b);
    CASE(I64_GE_S) BINARY(i64, u32, a >= b);
    CASE(I64_GE_U) BINARY(u64, u32, a >= b);
    CASE(I64_CLZ) UNARY(u64, u64, clz64(a));
    CASE(I64_CTZ) UNARY(u64, u64, ctz64(a));
    CASE(I64_POPCNT) UNARY(u64, u64, (uint64_t)__builtin_popcountll(a));
    CASE(I64_ADD) BINARY(u64, u64, a + b);
    CASE(I64_SUB) BINARY(u64, u64, a - b);
    CASE(I64_MUL) BINARY(u64, u64, a * b);
    CASE(I64_DIV_S) {
        FETCH_NEXT(2);
        int64_t a = SB.i64, b = SC.i64;
        if (UNLIKELY(b == 0))
            TRAP(TRAP_INT_DIV_ZERO);
        if (UNLIKELY(a == INT64_MIN && b == -1))
            TRAP(TRAP_INT_OVERFLOW);
        SA.i64 = a / b;
        GO_NEXT();
    }
    CASE(I64_DIV_U) {
        FETCH_NEXT(2);
        uint64_t a = SB.u64, b = SC.u64;
        if (UNLIKELY(b == 0))
            TRAP(TRAP_INT_DIV_ZERO);
        SA.u64 = a / b;
        GO_NEXT();
    }
    CASE(I64_REM_S) {
        FETCH_NEXT(2);
        int64_t a = SB.i64, b = SC.i64;
        if (UNLIKELY(b == 0))
            TRAP(TRAP_INT_DIV_ZERO);
        SA.i64 = b == -1 ? 0 : a % b;
        GO_NEXT();
    }
    CASE(I64_REM_U) {
        FETCH_NEXT(2);
        uint64_t a = SB.u64, b = SC.u64;
        if (UNLIKELY(b == 0))
            TRAP(TRAP_INT_DIV_ZERO);
        SA.u64 = a % b;
        GO_NEXT();
    }
    CASE(I64_AND) BINARY(u64, u64, a & b);
    CASE(I64_OR) BINARY(u64, u64, a | b);
    CASE(I64_XOR) BINARY(u64, u64, a ^ b);
    CASE(I64_SHL) BINARY(u64, u64, a << (b & 63));
    CASE(I64_SHR_S) BINARY(i64, i64, a >> (b & 63));
    CASE(I64_SHR_U) BINARY(u64, u64, a >> (b & 63));
    CASE(I64_ROTL) BINARY(u64, u64, rotl64(a, b));
    CASE(I64_ROTR) BINARY(u64, u64, rotr64(a, b));
    CASE(I64_ADD_IMM) BINARY_K(u64, u64, a + b);
    CASE(I64_SUB_IMM) BINARY_K(u64, u64, a - b);
    CASE(I64_MUL_IMM) BINARY_K(u64, u64, a * b);
    CASE(I64_AND_IMM) BINARY_K(u64, u64, a & b);
    CASE(I64_OR_IMM) BINARY_K(u64, u64, a | b);
    CASE(I64_XOR_IMM) BINARY_K(u64, u64, a ^ b);
    CASE(I64_SHL_IMM) BINARY_K(u64, u64, a << (b & 63));
    CASE(I64_SHR_S_IMM) BINARY_K(i64, i64, a >> (b & 63));
    CASE(I64_SHR_U_IMM) BINARY_K(u64, u64, a >> (b & 63));
    CASE(I64_EQ_IMM) BINARY_K(u64, u32, a == b);
    CASE(I64_NE_IMM) BINARY_K(u64, u32, a != b);
    CASE(I64_LT_S_IMM) BINARY_K(i64, u32, a < b);
    CASE(I64_LT_U_IMM) BINARY_K(u64, u32, a < b);
    CASE(I64_GT_S_IMM) BINARY_K(i64, u32, a > b);
    CASE(I64_GT_U_IMM) BINARY_K(u64, u32, a > b);
    CASE(I64_LE_S_IMM) BINARY_K(i64, u32, a <= b);
    CASE(I64_LE_U_IMM) BINARY_K(u64, u32, a <= b);
    CASE(I64_GE_S_IMM) BINARY_K(i64, u32, a >= b);
    CASE(I64_GE_U_IMM) BINARY_K(u64, u32, a >= b);

    /* ---- f32 / f64 (spec 4.3.3): abs, neg and copysign work on the bits ------------- */

    CASE(F32_EQ) BINARY(f32, u32, a == b);
    CASE(F32_NE) BINARY(f32, u32, a != b);
    CASE(F32_LT) BINARY(f32, u32, a < b);
    CASE(F32_GT) BINARY(f32, u32, a > b);
    CASE(F32_LE) BINARY(f32, u32, a <= b);
    CASE(F32_GE) BINARY(f32, u32, a >= b);
    CASE(F64_EQ) BINARY(f64, u32, a == b);
    CASE(F64_NE) BINARY(f64, u32, a != b);
    CASE(F64_LT) BINARY(f64, u32, a < b);
    CASE(F64_GT) BINARY(f64, u32, a > b);
    CASE(F64_LE) BINARY(f64, u32, a <= b);
    CASE(F64_GE) BINARY(f64, u32, a >= b);
    CASE(F32_ABS) UNARY(u32, u32, a & 0x7FFFFFFFu);
    CASE(F32_NEG) UNARY(u32, u32, a ^ 0x80000000u);
    CASE(F32_CEIL) UNARY(f32, f32, f32_ceil(a));
    CASE(F32_FLOOR) UNARY(f32, f32, f32_floor(a));
    CASE(F32_TRUNC) UNARY(f32, f32, f32_trunc(a));
    CASE(F32_NEAREST) UNARY(f32, f32, f32_nearest(a));
    CASE(F32_SQRT) UNARY(f32, f32, __builtin_sqrtf(a));   /* one instruction: -fno-math-errno */
    CASE(F32_ADD) BINARY(f32, f32, a + b);
    CASE(F32_SUB) BINARY(f32, f32, a - b);
    CASE(F32_MUL) BINARY(f32, f32, a * b);
    CASE(F32_DIV) BINARY(f32, f32, a / b);
    CASE(F32_MIN) BINARY(f32, f32, f32_min(a, b));
    CASE(F32_MAX) BINARY(f32, f32, f32_max(a, b));
    CASE(F32_COPYSIGN) BINARY(u32, u32, (a & 0x7FFFFFFFu) | (b & 0x80000000u));
    CASE(F64_ABS) UNARY(u64, u64, a & 0x7FFFFFFFFFFFFFFFull);
    CASE(F64_NEG) UNARY(u64, u64, a ^ 0x8000000000000000ull);
    CASE(F64_CEIL) UNARY(f64, f64, f64_ceil(a));
    CASE(F64_FLOOR) UNARY(f64, f64, f64_floor(a));
    CASE(F64_TRUNC) UNARY(f64, f64, f64_trunc(a));
    CASE(F64_NEAREST) UNARY(f64, f64, f64_nearest(a));
    CASE(F64_SQRT) UNARY(f64, f64, __builtin_sqrt(a));
    CASE(F64_ADD) BINARY(f64, f64, a + b);
    CASE(F64_SUB) BINARY(f64, f64, a - b);
    CASE(F64_MUL) BINARY(f64, f64, a * b);
    CASE(F64_DIV) BINARY(f64, f64, a / b);
    CASE(F64_MIN) BINARY(f64, f64, f64_min(a, b));
    CASE(F64_MAX) BINARY(f64, f64, f64_max(a, b));
    CASE(F64_COPYSIGN) BINARY(u64, u64, (a & 0x7FFFFFFFFFFFFFFFull) | (b & 0x8000000000000000ull));

    CASE(F32_ADD_IMM) BINARY_F32_IMM(a + b);
    CASE(F32_SUB_IMM) BINARY_F32_IMM(a - b);
    CASE(F32_MUL_IMM) BINARY_F32_IMM(a * b);
    CASE(F32_DIV_IMM) BINARY_F32_IMM(a / b);
    CASE(F64_ADD_IMM) BINARY_K(f64, f64, a + b);
    CASE(F64_SUB_IMM) BINARY_K(f64, f64, a - b);
    CASE(F64_MUL_IMM) BINARY_K(f64, f64, a * b);
    CASE(F64_DIV_IMM) BINARY_K(f64, f64, a / b);
    CASE(F64_LT_IMM) BINARY_K(f64, u32, a < b);
    CASE(F64_GT_IMM) BINARY_K(f64, u32, a > b);
    CASE(F64_LE_IMM) BINARY_K(f64, u32, a <= b);
    CASE(F64_GE_IMM) BINARY_K(f64, u32, a >= b);

    /* ---- Conversions (spec 4.3.4) ---------------------------------------------------- */

    CASE(I32_WRAP_I64) UNARY(u64, u32, (uint32_t)a);
    CASE(I64_EXTEND_I32_S) UNARY(i32, i64, (int64_t)a);
    CASE(I64_EXTEND_I32_U) UNARY(u32, u64, (uint64_t)a);
    CASE(I32_EXTEND8_S) UNARY(u32, i32, (int8_t)a);
    CASE(I32_EXTEND16_S) UNARY(u32, i32, (int16_t)a);
    CASE(I64_EXTEND8_S) UNARY(u64, i64, (int8_t)a);
    CASE(I64_EXTEND16_S) UNARY(u64, i64, (int16_t)a);
    CASE(I64_EXTEND32_S) UNARY(u64, i64, (int32_t)a);
    CASE(F32_CONVERT_I32_S) UNARY(i32, f32, (float)a);
    CASE(F32_CONVERT_I32_U) UNARY(u32, f32, (float)a);
    CASE(F32_CONVERT_I64_S) UNARY(i64, f32, (float)a);
    CASE(F32_CONVERT_I64_U) UNARY(u64, f32, (float)a);
    CASE(F32_DEMOTE_F64) UNARY(f64, f32, (float)a);
    CASE(F64_CONVERT_I32_S) UNARY(i32, f64, (double)a);
    CASE(F64_CONVERT_I32_U) UNARY(u32, f64, (double)a);
    CASE(F64_CONVERT_I64_S) UNARY(i64, f64, (double)a);
    CASE(F64_CONVERT_I64_U) UNARY(u64, f64, (double)a);
    CASE(F64_PROMOTE_F32) UNARY(f32, f64, (double)a);
    CASE(I32_REINTERPRET_F32) UNARY(u32, u32, a);
    CASE(F32_REINTERPRET_I32) UNARY(u32, u32, a);
    CASE(I64_REINTERPRET_F64) UNARY(u64, u64, a);
    CASE(F64_REINTERPRET_I64) UNARY(u64, u64, a);
    CASE(I32_TRUNC_SAT_F32_S) UNARY(f32, i32, sat_f32_i32(a));
    CASE(I32_TRUNC_SAT_F32_U) UNARY(f32, u32, sat_f32_u32(a));
    CASE(I32_TRUNC_SAT_F64_S) UNARY(f64, i32, sat_f64_i32(a));
    CASE(I32_TRUNC_SAT_F64_U) UNARY(f64, u32, sat_f64_u32(a));
    CASE(I64_TRUNC_SAT_F32_S) UNARY(f32, i64, sat_f32_i64(a));
    CASE(I64_TRUNC_SAT_F32_U) UNARY(f32, u64, sat_f32_u64(a));
    CASE(I64_TRUNC_SAT_F64_S) UNARY(f64, i64, sat_f64_i64(a));
    CASE(I64_TRUNC_SAT_F64_U) UNARY(f64, u64, sat_f64_u64(a));

    /* Checked truncations trap on NaN ("invalid conversion") or overflow. */
#define TRUNC(check, in, ctype, out)                                           \
    do {                                                                       \
        ctype r_;                                                              \
        bool nan_;                                                             \
        if (UNLIKELY(!check(SB.in, &r_, &nan_)))                               \
            TRAP(nan_ ? TRAP_INVALID_CONVERSION : TRAP_INT_OVERFLOW);          \
        SA.out = r_;                                                           \
        pc += 2;                                                               \
        NEXT();                                                                \
    } while (0)
    CASE(I32_TRUNC_F32_S) TRUNC(trunc_f32_i32, f32, int32_t, i32);
    CASE(I32_TRUNC_F32_U) TRUNC(trunc_f32_u32, f32, uint32_t, u32);
    CASE(I32_TRUNC_F64_S) TRUNC(trunc_f64_i32, f64, int32_t, i32);
    CASE(I32_TRUNC_F64_U) TRUNC(trunc_f64_u32, f64, uint32_t, u32);
    CASE(I64_TRUNC_F32_S) TRUNC(trunc_f32_i64, f32, int64_t, i64);
    CASE(I64_TRUNC_F32_U) TRUNC(trunc_f32_u64, f32, uint64_t, u64);
    CASE(I64_TRUNC_F64_S) TRUNC(trunc_f64_i64, f64, int64_t, i64);
    CASE(I64_TRUNC_F64_U) TRUNC(trunc_f64_u64, f64, uint64_t, u64);
#undef TRUNC

    /* Wasm instructions the compiler never emits: they have no run-time form. */
    CASE(NOP) CASE(BLOCK) CASE(LOOP) CASE(IF) CASE(ELSE) CASE(END) CASE(DROP) CASE(SELECT_T)
    CASE(LOCAL_GET) CASE(LOCAL_SET) CASE(LOCAL_TEE) CASE(I32_CONST) CASE(I64_CONST)
    CASE(F32_CONST) CASE(F64_CONST) CASE(REF_NULL)
        TRAP(TRAP_UNREACHABLE);

#if LVM_DISPATCH_SWITCH
    default:
        TRAP(TRAP_UNREACHABLE);
    }
#endif

    /* ---- Out-of-line paths ------------------------------------------------------------- */

call_function:
    /* callee, callee_fp, return_pc are set: a call of a function that may be another
     * instance's Wasm function or a host function. */
    if (callee->inst) {
        const CompiledFunc *cf = callee->u.cf;
        if (UNLIKELY(callee_fp + cf->frame_slots > STACK_END || ft == FRAMES_END)) {
            callee_need = cf->frame_slots;
            goto grow_stacks;
        }
        ft->pc = return_pc;
        ft->fp = fp;
        ft->inst = inst;
        ft++;
        zero_slots(callee_fp + cf->nparams, cf->nlocals);
        fp = callee_fp;
        pc = atomic_load_explicit(&cf->entry, memory_order_acquire);
        inst = callee->inst;
        LOAD_MEMORY();
    } else {
        const FuncType *t = callee->type;
        uint32_t need = t->nparams > t->nresults ? t->nparams : t->nresults;
        if (UNLIKELY(callee_fp + need > STACK_END)) {
            callee_need = need;
            goto grow_stacks;
        }
        SAVE_STATE();            /* pc stays on the call: a blocked call is made again */
        HostStatus st = exec_call_host(exec, callee, callee_fp, inst);
        if (st == HOST_BLOCK) {
            exec->reductions += (uint64_t)(budget_start - budget);
            exec->state = EXEC_SUSPENDED;
            return RUN_BLOCK;
        }
        if (st == HOST_TRAP)
            TRAP(TRAP_HOST);
        LOAD_MEMORY();
        pc = return_pc;
    }
    COUNT_REDUCTION();
    NEXT();

grow_stacks: {
    /* The callee's frame does not fit: grow the value stack and the frame records (up to
     * their limits) and run the call instruction again. Past the limits, the call stack
     * is exhausted: a trap, never a crash. */
    size_t need = (size_t)(callee_fp - fp) + callee_need;
    SAVE_STATE();
    if (ft == FRAMES_END && !exec_grow_frames(exec))
        TRAP(TRAP_STACK_EXHAUSTED);
    if (fp + need > STACK_END) {
        Slot *nfp = exec_grow_stack(exec, fp, need);
        if (!nfp)
            TRAP(TRAP_STACK_EXHAUSTED);
        fp = nfp;
    }
    ft = exec->frames + exec->nframes;
    NEXT();
}

yield:
    SAVE_STATE();
    exec->reductions += (uint64_t)(budget_start - budget);
    exec->state = EXEC_SUSPENDED;
    return RUN_YIELD;

trap:
    SAVE_STATE();
    exec->reductions += (uint64_t)(budget_start - budget);
    return exec_raise(exec, trap_kind, pc, inst);
}
