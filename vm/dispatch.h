/*
 * dispatch.h — the macros a handler in exec.c may use, all defined here.
 *
 * A handler is written once, as
 *
 *     CASE(I32_ADD) { BINARY(u32, u32, a + b); }
 *
 * and compiles either to a label reached by computed goto or to a `case` of a switch,
 * chosen in config.h (the Lua 5.4 vmdispatch pattern). Handlers see the cached state of
 * the run loop as locals: pc (the current instruction's handler cell), fp (frame base),
 * inst (current instance), mem_base/mem_size (its memory), budget (reductions left).
 */
#ifndef LVM_VM_DISPATCH_H
#define LVM_VM_DISPATCH_H

#include "config.h"

/* The switch loop's selector. The traced loop (LVM_TRACE, config.h) calls its hook here,
 * at every dispatch, so no handler of either loop has a line of tracing in it: the hook
 * prints the instruction about to run and returns its Handler (vm/trace.c). */
#if LVM_TRACE
#  define DISPATCH_HANDLER() vm_trace_step(exec, pc, fp, inst, (uint32_t)(ft - exec->frames))
#else
#  define DISPATCH_HANDLER() ((Handler)pc->handler)
#endif

#if LVM_DISPATCH_SWITCH
#  define CASE(name) case H_##name:
#  define NEXT() goto dispatch
#  define FETCH_NEXT(n) const Cell *npc_ = pc + (n)
#  define GO_NEXT() do { pc = npc_; goto dispatch; } while (0)
#else
#  define CASE(name) L_##name:
#  define NEXT() goto *pc->label
/* Read the next handler's address before this handler's own stores: the compiler cannot
 * move the load above them (a store to a slot might alias the code), and the CPU gets the
 * indirect jump's target early. */
#  define FETCH_NEXT(n) const Cell *npc_ = pc + (n); const void *nlabel_ = npc_->label
#  define GO_NEXT() do { pc = npc_; goto *nlabel_; } while (0)
#endif

/* The first operand cell's fields, as frame slots (code.h). */
#define SA fp[pc[1].s.a]
#define SB fp[pc[1].s.b]
#define SC fp[pc[1].s.c]
#define SD fp[pc[1].s.d]
#define IMM (pc[1].si.imm)

/* A <- f(B): `a` is B as member `in`, the result is stored as member `out`. */
#define UNARY(in, out, expr)                                                   \
    do {                                                                       \
        FETCH_NEXT(2);                                                        \
        __typeof__(fp->in) a = SB.in;                                          \
        SA.out = (expr);                                                       \
        GO_NEXT();                                                             \
    } while (0)

/* A <- f(B, C) */
#define BINARY(in, out, expr)                                                  \
    do {                                                                       \
        FETCH_NEXT(2);                                                        \
        __typeof__(fp->in) a = SB.in, b = SC.in;                               \
        SA.out = (expr);                                                       \
        GO_NEXT();                                                             \
    } while (0)

/* A <- f(B, IMM32): the IMM32 is sign-extended for 64-bit members */
#define BINARY_IMM(in, out, expr)                                              \
    do {                                                                       \
        FETCH_NEXT(2);                                                        \
        __typeof__(fp->in) a = SB.in;                                          \
        __typeof__(fp->in) b = (__typeof__(fp->in))(int32_t)IMM;               \
        SA.out = (expr);                                                       \
        GO_NEXT();                                                             \
    } while (0)

/* One reduction: at zero, save the state and yield (the instruction's effect is complete
 * and pc already points at what runs next). */
#define COUNT_REDUCTION()                                                      \
    do {                                                                       \
        if (LVM_REDUCTIONS && UNLIKELY(--budget <= 0))                         \
            goto yield;                                                        \
    } while (0)

/* Take a branch of `off` cells. Only loop back-edges jump backwards (or to themselves:
 * `(loop (br 0))` is a branch of offset 0), and each costs a reduction (DESIGN decision
 * 3); at zero the run yields with pc on the loop header. */
#define TAKE_BRANCH(off)                                                       \
    do {                                                                       \
        int32_t off_ = (off);                                                  \
        pc += off_;                                                            \
        if (off_ <= 0)                                                         \
            COUNT_REDUCTION();                                                 \
        NEXT();                                                                \
    } while (0)

/* A <- f(B, K), K the 64-bit cell 2 as member `in` */
#define BINARY_K(in, out, expr)                                                \
    do {                                                                       \
        FETCH_NEXT(3);                                                        \
        __typeof__(fp->in) a = SB.in, b;                                       \
        memcpy(&b, &pc[2], sizeof b);                                          \
        SA.out = (expr);                                                       \
        GO_NEXT();                                                             \
    } while (0)

/* A <- f(B, IMM32 as a float) */
#define BINARY_F32_IMM(expr)                                                   \
    do {                                                                       \
        FETCH_NEXT(2);                                                        \
        float a = SB.f32, b;                                                   \
        uint32_t k_ = IMM;                                                     \
        memcpy(&b, &k_, sizeof b);                                             \
        SA.f32 = (expr);                                                       \
        GO_NEXT();                                                             \
    } while (0)

/* if (A cmp B) branch by IMM32 */
#define BRANCH_CMP(member, op)                                                 \
    do {                                                                       \
        FETCH_NEXT(2);                                                        \
        if (SA.member op SB.member)                                            \
            TAKE_BRANCH((int32_t)IMM);                                         \
        GO_NEXT();                                                             \
    } while (0)

/* if (A cmp cell2) branch by IMM32 */
#define BRANCH_CMP_IMM(member, op)                                             \
    do {                                                                       \
        FETCH_NEXT(3);                                                        \
        if (SA.member op (__typeof__(fp->member))pc[2].u64)                    \
            TAKE_BRANCH((int32_t)IMM);                                         \
        GO_NEXT();                                                             \
    } while (0)

/* if (cond) branch by IMM32, else go on past `len` cells */
#define BRANCH_IF(cond, len)                                                   \
    do {                                                                       \
        FETCH_NEXT((len));                                                        \
        if (cond)                                                              \
            TAKE_BRANCH((int32_t)IMM);                                         \
        GO_NEXT();                                                             \
    } while (0)

/* The constant of a 3-cell compare-and-branch, as a double. */
#define K_F64 (f64_from(pc[2].u64))

/* A <- memory[B + IMM32], `n` bytes read by `load`, converted to `ctype` */
#define LOAD(out, ctype, load, n)                                              \
    do {                                                                       \
        FETCH_NEXT(2);                                                        \
        uint64_t ea_ = (uint64_t)SB.u32 + IMM;                                 \
        if (UNLIKELY(ea_ + (n) > mem_size))                                    \
            TRAP(TRAP_MEMORY_OOB);                                             \
        SA.out = (ctype)load(mem_base + ea_);                                  \
        GO_NEXT();                                                             \
    } while (0)

/* memory[A + IMM32] <- B as member `in`, `n` bytes written by `store` */
#define STORE(in, store, n)                                                    \
    do {                                                                       \
        FETCH_NEXT(2);                                                        \
        uint64_t ea_ = (uint64_t)SA.u32 + IMM;                                 \
        if (UNLIKELY(ea_ + (n) > mem_size))                                    \
            TRAP(TRAP_MEMORY_OOB);                                             \
        store(mem_base + ea_, SB.in);                                          \
        GO_NEXT();                                                             \
    } while (0)

/* The same, the address being (u32)(slot + K) with K in cell 2 (handlers.def) */
#define LOAD_ADD(out, ctype, load, n)                                          \
    do {                                                                       \
        FETCH_NEXT(3);                                                        \
        uint64_t ea_ = (uint64_t)(uint32_t)(SB.u32 + (uint32_t)pc[2].u64) + IMM;  \
        if (UNLIKELY(ea_ + (n) > mem_size))                                    \
            TRAP(TRAP_MEMORY_OOB);                                             \
        SA.out = (ctype)load(mem_base + ea_);                                  \
        GO_NEXT();                                                             \
    } while (0)

#define STORE_ADD(in, store, n)                                                \
    do {                                                                       \
        FETCH_NEXT(3);                                                        \
        uint64_t ea_ = (uint64_t)(uint32_t)(SA.u32 + (uint32_t)pc[2].u64) + IMM;  \
        if (UNLIKELY(ea_ + (n) > mem_size))                                    \
            TRAP(TRAP_MEMORY_OOB);                                             \
        store(mem_base + ea_, SB.in);                                          \
        GO_NEXT();                                                             \
    } while (0)

/* Stop with a trap of this kind; pc still points at the trapping instruction. */
#define TRAP(kind)                                                             \
    do {                                                                       \
        trap_kind = (kind);                                                    \
        goto trap;                                                             \
    } while (0)

/* Write the cached state back to the Exec before anything that may look at it or move
 * the stack (Lua's Protect discipline), and read it again afterwards. */
#define SAVE_STATE()                                                           \
    do {                                                                       \
        exec->pc = pc;                                                         \
        exec->fp = fp;                                                         \
        exec->inst = inst;                                                     \
        exec->nframes = (uint32_t)(ft - exec->frames);                         \
    } while (0)

#define LOAD_MEMORY()                                                          \
    do {                                                                       \
        mem_base = inst->memory->base;                                         \
        mem_size = inst->memory->size;                                         \
    } while (0)

#endif
