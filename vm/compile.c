/*
 * compile.c — Wasm function bodies to threaded code (code.h), each once per module, at
 * its first call.
 *
 * Where it sits: after loader/ has validated the module, while instances run it. The
 * first instantiation of a module makes its CompiledModule (vm_compile_module): for each
 * function, its frame layout and a stub, no code. A function's first call runs the stub,
 * whose handler (LAZY_COMPILE, interp.c) calls vm_compile_func: lazy compilation.
 * Programs link in more than they call (a C "hello world" runs 20 of its 29 functions,
 * one that calls printf about half of its 50), so this saves the memory and the start-up
 * time of compiling the rest. Validation stays whole and up front (loader/): a module
 * that loads is a module whose every function compiles, short of memory.
 *
 * The compiler walks each body with instr_decode() and keeps a *virtual* operand stack:
 * an entry is either a value already in its slot (TEMP), a local not yet copied (LOCAL),
 * or a constant not yet written anywhere (CONST). Instructions take their operands
 * straight from wherever the entries say, so `local.get`, most `local.set` and most
 * constants cost no instruction at all (DESIGN decision 2). Lazy entries are written to
 * their slots ("flushed") where control flow needs every value in its canonical slot:
 * at block boundaries, branches, calls and returns.
 *
 * Peepholes, all on the last emitted instruction and never across a label:
 *   - `op; local.set x`   the op writes x directly instead of a temporary;
 *   - `x; const; op`      an _IMM superinstruction when handlers.def has one;
 *   - `cmp; br_if`/`if`   a compare-and-branch superinstruction.
 *
 * The tables of which superinstruction replaces what are in superinstr.c.
 *
 * Read next: interp.c, which runs what this writes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/instr.h"
#include "vm_internal.h"

typedef enum EntryKind { E_TEMP, E_LOCAL, E_CONST } EntryKind;

typedef struct Entry {
    EntryKind kind;
    bool is64;           /* CONST: 64-bit constant */
    uint32_t local;      /* LOCAL: which */
    uint64_t value;      /* CONST: bits */
} Entry;

typedef struct Fixup {
    uint32_t instr;      /* the branching instruction's first cell */
    uint32_t at;         /* the cell holding the offset */
    bool whole;          /* offset is the whole cell (br_table) rather than IMM32 */
} Fixup;

typedef struct Ctrl {
    Opcode kind;         /* OP_BLOCK, OP_LOOP, OP_IF, OP_ELSE; the function body is OP_BLOCK */
    uint32_t height;     /* operand height below the block's parameters */
    uint32_t nparams, nresults;
    uint32_t start;      /* LOOP: cell of the loop header */
    bool unreachable;    /* rest of this block is dead code */
    bool dead_entry;     /* the block itself began in dead code: emit nothing for it */
    bool has_else_fix;
    Fixup else_fix;      /* IF: the branch to the else arm */
    Fixup *fixups;       /* forward branches to this block's end */
    uint32_t nfix, capfix;
} Ctrl;

typedef struct Compiler {
    const Module *m;
    const Func *f;
    const FuncType *type;
    CompiledModule *cm;
    uint32_t nlocals_total;  /* params + declared locals + the zero slot */
    uint32_t zero_slot;      /* a local that is always 0: base of constant addresses */

    Cell *code;
    uint32_t ncode, capcode;
    uint32_t *map_cell, *map_offset;
    uint32_t nmap, capmap;

    Entry *stack;
    uint32_t height, capstack, max_height;

    Ctrl *ctrl;
    uint32_t nctrl, capctrl;

    /* Peephole state: the last instruction, if it wrote a fresh temporary at the top. */
    uint32_t last_start;
    Handler last_h;
    bool last_fresh;

    uint32_t offset;         /* byte offset of the Wasm instruction being compiled */
    bool failed;
    bool oom;                /* it failed for want of memory */
    char *err;
    size_t errlen;
} Compiler;

static void fail(Compiler *c, const char *msg)
{
    if (!c->failed)
        snprintf(c->err, c->errlen, "function %u at 0x%x: %s", (unsigned)(c->f - c->m->funcs), c->offset, msg);
    c->failed = true;
}

static void fail_oom(Compiler *c)
{
    if (!c->failed)
        c->oom = true;
    fail(c, "out of memory");
}

static bool grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint32_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

/* ---- Emitting cells ------------------------------------------------------------- */

static uint32_t emit_cell(Compiler *c, uint64_t v)
{
    if (!grow((void **)&c->code, &c->capcode, c->ncode + 1, sizeof(Cell))) {
        fail_oom(c);
        return 0;
    }
    c->code[c->ncode].u64 = v;
    return c->ncode++;
}

static uint32_t emit_op(Compiler *c, Cell x)
{
    uint32_t at = emit_cell(c, 0);
    if (!c->failed)
        c->code[at] = x;
    return at;
}

/* Start an instruction: its handler cell, and a line in the backtrace map. */
static uint32_t emit_h(Compiler *c, Handler h)
{
    uint32_t at = emit_cell(c, 0);
    if (c->failed)
        return at;
    c->code[at] = vm_handler_cell(h);
    if (c->nmap == c->capmap) {
        uint32_t cap = c->capmap ? c->capmap * 2 : 64;
        uint32_t *cells = realloc(c->map_cell, cap * sizeof(uint32_t));
        if (cells)
            c->map_cell = cells;
        uint32_t *offs = realloc(c->map_offset, cap * sizeof(uint32_t));
        if (offs)
            c->map_offset = offs;
        if (!cells || !offs) {
            fail_oom(c);
            return at;
        }
        c->capmap = cap;
    }
    c->map_cell[c->nmap] = at;
    c->map_offset[c->nmap] = c->offset;
    c->nmap++;
    c->last_start = at;
    c->last_h = h;
    c->last_fresh = false;
    return at;
}

/* Forget the last instruction (a peephole replaces it). */
static void unemit_last(Compiler *c)
{
    c->ncode = c->last_start;
    c->nmap--;
    c->last_fresh = false;
}

/* A label is placed here: no peephole may look back across it. */
static void label_here(Compiler *c)
{
    c->last_fresh = false;
    c->last_h = H_COUNT;
}

static void patch(Compiler *c, Fixup fx, uint32_t target)
{
    int64_t off = (int64_t)target - (int64_t)fx.instr;
    if (fx.whole)
        c->code[fx.at].i64 = off;
    else
        c->code[fx.at].si.imm = (uint32_t)(int32_t)off;
}

/* ---- The virtual operand stack --------------------------------------------------- */

static uint32_t slot_at(Compiler *c, uint32_t height)
{
    uint32_t s = c->nlocals_total + height;
    if (s > SLOT_MAX)
        fail(c, "function needs more than 65535 frame slots (lvm's limit)");
    return s & SLOT_MAX;
}

static Entry *push(Compiler *c, EntryKind kind)
{
    if (!grow((void **)&c->stack, &c->capstack, c->height + 1, sizeof(Entry))) {
        fail_oom(c);
        static Entry dummy;
        return &dummy;
    }
    Entry *e = &c->stack[c->height++];
    if (c->height > c->max_height)
        c->max_height = c->height;
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

static uint32_t push_temp(Compiler *c)
{
    push(c, E_TEMP);
    return slot_at(c, c->height - 1);
}

static void emit_const(Compiler *c, uint32_t dst, const Entry *e)
{
    if (!e->is64) {
        emit_h(c, H_CONST32);
        emit_op(c, cell_imm(dst, 0, (uint32_t)e->value));
    } else {
        emit_h(c, H_CONST64);
        emit_op(c, cell_slots(dst, 0, 0, 0));
        emit_cell(c, e->value);
    }
}

static void emit_mov(Compiler *c, uint32_t dst, uint32_t src)
{
    if (dst == src)
        return;
    emit_h(c, H_MOV);
    emit_op(c, cell_slots(dst, src, 0, 0));
}

/* Write entry i (height i) into its own slot. */
static void flush(Compiler *c, uint32_t i)
{
    Entry *e = &c->stack[i];
    if (e->kind == E_LOCAL)
        emit_mov(c, slot_at(c, i), e->local);
    else if (e->kind == E_CONST)
        emit_const(c, slot_at(c, i), e);
    e->kind = E_TEMP;
}

static void flush_range(Compiler *c, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++)
        flush(c, i);
}

/* Before local x changes, entries that still read it lazily must take their copy. */
static void flush_local_refs(Compiler *c, uint32_t x)
{
    for (uint32_t i = 0; i < c->height; i++)
        if (c->stack[i].kind == E_LOCAL && c->stack[i].local == x)
            flush(c, i);
}

/* The slot to read entry i from, writing a constant to its own slot first — except zero,
 * which every frame keeps in its zero slot (0 is also +0.0 and the null reference). */
static uint32_t operand(Compiler *c, uint32_t i)
{
    Entry *e = &c->stack[i];
    if (e->kind == E_LOCAL)
        return e->local;
    if (e->kind == E_CONST && e->value == 0)
        return c->zero_slot;
    if (e->kind == E_CONST)
        flush(c, i);
    return slot_at(c, i);
}

/* Move entry i's value to slot dst, however it is held (for branches with values). */
static void move_entry(Compiler *c, uint32_t i, uint32_t dst)
{
    Entry *e = &c->stack[i];
    if (e->kind == E_CONST)
        emit_const(c, dst, e);
    else
        emit_mov(c, dst, e->kind == E_LOCAL ? e->local : slot_at(c, i));
}

/* ---- Control --------------------------------------------------------------------- */

static Ctrl *push_ctrl(Compiler *c, Opcode kind, uint32_t nparams, uint32_t nresults)
{
    if (!grow((void **)&c->ctrl, &c->capctrl, c->nctrl + 1, sizeof(Ctrl))) {
        fail_oom(c);
        return NULL;
    }
    Ctrl *k = &c->ctrl[c->nctrl++];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->nparams = nparams;
    k->nresults = nresults;
    k->height = c->height - nparams;
    return k;
}

static bool dead(const Compiler *c)
{
    return c->ctrl[c->nctrl - 1].unreachable;
}

static void set_dead(Compiler *c)
{
    c->ctrl[c->nctrl - 1].unreachable = true;
    c->height = c->ctrl[c->nctrl - 1].height;
    label_here(c);
}

static void add_fixup(Compiler *c, Ctrl *k, Fixup fx)
{
    if (!grow((void **)&k->fixups, &k->capfix, k->nfix + 1, sizeof(Fixup))) {
        fail_oom(c);
        return;
    }
    k->fixups[k->nfix++] = fx;
}

static void blocktype_arity(Compiler *c, const Instr *in, uint32_t *np, uint32_t *nr)
{
    if (in->imm.block.is_index) {
        const FuncType *t = &c->m->types[in->imm.block.typeidx];
        *np = t->nparams;
        *nr = t->nresults;
    } else {
        *np = 0;
        *nr = in->imm.block.empty ? 0 : 1;
    }
}

/* Aim the branch whose offset lives at (instr, at) at label depth d. */
static void target_label(Compiler *c, uint32_t d, uint32_t instr, uint32_t at, bool whole)
{
    Ctrl *k = &c->ctrl[c->nctrl - 1 - d];
    Fixup fx = { instr, at, whole };
    if (k->kind == OP_LOOP)
        patch(c, fx, k->start);
    else
        add_fixup(c, k, fx);
}

static uint32_t label_arity(const Ctrl *k)
{
    return k->kind == OP_LOOP ? k->nparams : k->nresults;
}

/* Emit the return of the top `type->nresults` values. Lazy entries are written to their
 * slots without being marked as written: a return may sit on one path only (a br_if or
 * br_table stub), and the other paths must not believe the value is in its slot. */
static void emit_return(Compiler *c)
{
    uint32_t n = c->type->nresults;
    uint32_t from = c->height - n;
    if (n == 1 && c->stack[from].kind == E_LOCAL) {
        emit_h(c, H_RETURN_1);
        emit_op(c, cell_slots(0, c->stack[from].local, 0, 0));
        return;
    }
    for (uint32_t i = from; i < c->height; i++)
        if (c->stack[i].kind != E_TEMP)
            move_entry(c, i, slot_at(c, i));
    emit_h(c, n == 1 ? H_RETURN_1 : H_RETURN);
    emit_op(c, cell_slots(0, n ? slot_at(c, from) : 0, n, 0));
}

/* Put the label's values where the label expects them; true if anything was emitted
 * or would have to be (only asked, with dry_run). */
static bool branch_moves(Compiler *c, uint32_t d, bool dry_run)
{
    Ctrl *k = &c->ctrl[c->nctrl - 1 - d];
    uint32_t n = label_arity(k);
    uint32_t from = c->height - n;
    bool any = false;
    for (uint32_t j = 0; j < n; j++) {
        const Entry *e = &c->stack[from + j];
        if (e->kind != E_TEMP || from + j != k->height + j) {
            any = true;
            if (!dry_run)
                move_entry(c, from + j, slot_at(c, k->height + j));
        }
    }
    return any;
}

/* Unconditional jump to depth d (values already moved). */
static void emit_jump(Compiler *c, uint32_t d)
{
    uint32_t at = emit_h(c, H_BR);
    uint32_t opnd = emit_cell(c, 0);
    target_label(c, d, at, opnd, false);
}

static void compile_br(Compiler *c, uint32_t d)
{
    if (d == c->nctrl - 1) {
        emit_return(c);
    } else {
        branch_moves(c, d, false);
        emit_jump(c, d);
    }
    set_dead(c);
}

/* Emit a conditional branch on the top value (popped): taken when the value is nonzero,
 * or zero if `on_zero`. Fuses a just-emitted comparison. Returns the branch's first cell;
 * its offset cell is *opnd_at. */
static uint32_t emit_cond_branch(Compiler *c, bool on_zero, uint32_t *opnd_at)
{
    Entry *top = &c->stack[c->height - 1];
    if (c->last_fresh && top->kind == E_TEMP &&
        c->code[c->last_start + 1].s.a == slot_at(c, c->height - 1)) {
        Handler fused = super_branch(c->last_h, on_zero);
        Cell ops = c->code[c->last_start + 1];
        if (fused != H_COUNT) {
            bool imm = super_imm(c->last_h) == H_COUNT;  /* last_h is itself an _IMM op */
            unemit_last(c);
            c->height--;
            uint32_t at = emit_h(c, fused);
            *opnd_at = emit_op(c, cell_slots(ops.s.b, imm ? 0 : ops.s.c, 0, 0));
            if (imm)
                emit_cell(c, ops.si.imm);
            return at;
        }
        Handler other = super_other_branch(c->last_h, on_zero);
        if (other != H_COUNT) {
            /* Operand cell: A = the compared slot (B of the comparison), B = its other
             * operand, OFF in IMM32; a constant (IMM32 of an AND, or the f64 K cell)
             * moves to cell 2. */
            bool and_imm = c->last_h == H_I32_AND_IMM;
            bool wide = super_imm_is_wide(c->last_h);
            uint64_t k = wide ? c->code[c->last_start + 2].u64 : ops.si.imm;
            unemit_last(c);
            c->height--;
            uint32_t at = emit_h(c, other);
            *opnd_at = emit_op(c, cell_slots(ops.s.b, and_imm || wide ? 0 : ops.s.c, 0, 0));
            if (and_imm || wide)
                emit_cell(c, k);
            return at;
        }
        if (c->last_h == H_I32_EQZ) {
            unemit_last(c);
            c->height--;
            uint32_t at = emit_h(c, on_zero ? H_BR_IF : H_BR_UNLESS);
            *opnd_at = emit_op(c, cell_slots(ops.s.b, 0, 0, 0));
            return at;
        }
    }
    uint32_t cond = operand(c, c->height - 1);
    c->height--;
    uint32_t at = emit_h(c, on_zero ? H_BR_UNLESS : H_BR_IF);
    *opnd_at = emit_op(c, cell_slots(cond, 0, 0, 0));
    return at;
}

static void compile_br_if(Compiler *c, uint32_t d)
{
    c->height--;  /* look at the stack as the branch leaves it */
    bool to_function = d == c->nctrl - 1;
    bool moves = to_function || branch_moves(c, d, true);
    c->height++;
    if (!moves) {
        uint32_t opnd;
        uint32_t at = emit_cond_branch(c, false, &opnd);
        target_label(c, d, at, opnd, false);
        return;
    }
    /* if (!cond) skip; move values; jump; skip: */
    uint32_t opnd;
    uint32_t at = emit_cond_branch(c, true, &opnd);
    if (to_function)
        emit_return(c);
    else {
        branch_moves(c, d, false);
        emit_jump(c, d);
    }
    patch(c, (Fixup){ at, opnd, false }, c->ncode);
    label_here(c);
}

static void compile_br_table(Compiler *c, const Instr *in)
{
    uint32_t n = in->imm.br_table.count;
    Reader r = { in->imm.br_table.labels, c->m->bytes + c->m->size, c->m->bytes };
    uint32_t idx = operand(c, c->height - 1);
    c->height--;
    uint32_t at = emit_h(c, H_BR_TABLE);
    emit_op(c, cell_imm(idx, 0, n));
    uint32_t table = c->ncode;
    uint32_t *depths = calloc((size_t)n + 1, sizeof(uint32_t));
    if (!depths) {
        fail_oom(c);
        return;
    }
    for (uint32_t i = 0; i <= n; i++) {
        reader_u32(&r, &depths[i]);
        emit_cell(c, 0);
    }
    /* Targets whose values are in place are jumped to directly; the others go through a
     * stub after the table that moves the values (or returns) and then jumps. */
    for (uint32_t i = 0; i <= n && !c->failed; i++) {
        uint32_t d = depths[i];
        if (d != c->nctrl - 1 && !branch_moves(c, d, true)) {
            target_label(c, d, at, table + i, true);
            continue;
        }
        c->code[table + i].i64 = (int64_t)c->ncode - at;
        label_here(c);
        if (d == c->nctrl - 1)
            emit_return(c);
        else {
            branch_moves(c, d, false);
            emit_jump(c, d);
        }
    }
    free(depths);
    set_dead(c);
}

static void compile_call(Compiler *c, uint32_t funcidx)
{
    const FuncType *t = &c->m->types[c->m->funcs[funcidx].typeidx];
    uint32_t base_h = c->height - t->nparams;
    flush_range(c, base_h, c->height);
    uint32_t base = slot_at(c, base_h);
    c->height = base_h;
    if (c->m->funcs[funcidx].imported) {
        emit_h(c, H_CALL_IMPORT);
        emit_op(c, cell_imm(base, 0, funcidx));
    } else {
        emit_h(c, H_CALL);
        emit_op(c, cell_slots(base, 0, 0, 0));
        uint32_t at = emit_cell(c, 0);
        if (!c->failed)
            c->code[at].callee = &c->cm->funcs[funcidx - c->cm->first];
    }
    for (uint32_t i = 0; i < t->nresults; i++)
        push_temp(c);
}

static void compile_call_indirect(Compiler *c, const Instr *in)
{
    const FuncType *t = &c->m->types[in->imm.call_indirect.typeidx];
    uint32_t idx = operand(c, c->height - 1);
    c->height--;
    uint32_t base_h = c->height - t->nparams;
    flush_range(c, base_h, c->height);
    c->height = base_h;
    emit_h(c, H_CALL_INDIRECT);
    emit_op(c, cell_imm(slot_at(c, base_h), idx, in->imm.call_indirect.typeidx));
    emit_cell(c, in->imm.call_indirect.tableidx);
    for (uint32_t i = 0; i < t->nresults; i++)
        push_temp(c);
}

static void compile_local_set(Compiler *c, uint32_t x)
{
    bool referenced = false;
    for (uint32_t i = 0; i + 1 < c->height; i++)
        if (c->stack[i].kind == E_LOCAL && c->stack[i].local == x)
            referenced = true;
    Entry *top = &c->stack[c->height - 1];
    if (!referenced && c->last_fresh && top->kind == E_TEMP &&
        c->code[c->last_start + 1].s.a == slot_at(c, c->height - 1)) {
        /* Retarget the instruction that computed the value: it writes x directly. */
        c->code[c->last_start + 1].s.a = (uint16_t)x;
        c->last_fresh = false;
        c->height--;
        return;
    }
    flush_local_refs(c, x);
    top = &c->stack[c->height - 1];
    if (top->kind == E_CONST)
        emit_const(c, x, top);
    else
        emit_mov(c, x, top->kind == E_LOCAL ? top->local : slot_at(c, c->height - 1));
    c->height--;
}

/* An instruction of shape A <- f(B, C) or A <- f(B): the generic numeric case. A constant
 * right operand (or left, if the operation commutes) becomes an immediate. */
static void compile_simple(Compiler *c, Handler h, uint32_t nparams, bool result)
{
    uint32_t b = 0, cc = 0;
    Handler hi = nparams == 2 ? super_imm(h) : H_COUNT;
    uint32_t rhs_i = c->height - 1, lhs_i = c->height - 2;
    if (hi != H_COUNT && c->stack[rhs_i].kind != E_CONST && c->stack[lhs_i].kind == E_CONST &&
        super_commutes(h)) {
        rhs_i = c->height - 2;
        lhs_i = c->height - 1;
    }
    if (hi != H_COUNT && c->stack[rhs_i].kind != E_CONST)
        hi = H_COUNT;
    uint64_t imm = hi != H_COUNT ? c->stack[rhs_i].value : 0;
    if (nparams == 2) {
        if (hi == H_COUNT)
            cc = operand(c, rhs_i);
        b = operand(c, lhs_i);
    } else if (nparams == 1) {
        b = operand(c, c->height - 1);
    }
    c->height -= nparams;
    uint32_t a = result ? push_temp(c) : 0;
    if (hi == H_COUNT) {
        emit_h(c, h);
        emit_op(c, cell_slots(a, b, cc, 0));
    } else if (super_imm_is_wide(hi)) {
        emit_h(c, hi);
        emit_op(c, cell_slots(a, b, 0, 0));
        emit_cell(c, imm);
    } else {
        emit_h(c, hi);
        emit_op(c, cell_imm(a, b, (uint32_t)imm));
    }
    c->last_fresh = result;
}

/* The address operand of a load or store (entry i) as (slot, offset, K):
 *   a constant address is folded into the offset and read from the frame's zero slot;
 *   an address just computed by `x + K` (I32_ADD_IMM, the last instruction) is taken
 *   back and the access fused with it (*fused set, K returned in *k). */
static uint32_t address_operand(Compiler *c, uint32_t i, uint32_t *offset, bool *fused, uint32_t *k)
{
    Entry *e = &c->stack[i];
    *fused = false;
    if (e->kind == E_CONST && (uint64_t)(uint32_t)e->value + *offset <= UINT32_MAX) {
        *offset += (uint32_t)e->value;
        return c->zero_slot;
    }
    if (e->kind == E_TEMP && c->last_fresh && c->last_h == H_I32_ADD_IMM &&
        c->code[c->last_start + 1].s.a == slot_at(c, i)) {
        Cell ops = c->code[c->last_start + 1];
        unemit_last(c);
        *fused = true;
        *k = ops.si.imm;
        return ops.s.b;
    }
    return operand(c, i);
}

static void compile_load_store(Compiler *c, const Instr *in, Handler h)
{
    uint32_t offset = in->imm.memarg.offset, k = 0;
    bool fused;
    if (instr_sig(in->op) >= SIG_ii_) {         /* store: A = address, B = value */
        bool lazy_value = c->stack[c->height - 1].kind != E_TEMP;
        uint32_t addr = lazy_value ? address_operand(c, c->height - 2, &offset, &fused, &k)
                                   : operand(c, c->height - 2);
        if (!lazy_value)
            fused = false;
        uint32_t v = operand(c, c->height - 1);
        if (fused && super_add(h) == H_COUNT) {   /* no fused form: redo the add */
            uint32_t t = slot_at(c, c->height - 2);
            emit_h(c, H_I32_ADD_IMM);
            emit_op(c, cell_imm(t, addr, k));
            addr = t;
            fused = false;
        }
        c->height -= 2;
        emit_h(c, fused ? super_add(h) : h);
        emit_op(c, cell_imm(addr, v, offset));
        if (fused)
            emit_cell(c, k);
        return;
    }
    uint32_t addr = address_operand(c, c->height - 1, &offset, &fused, &k);
    if (fused && super_add(h) == H_COUNT) {
        uint32_t t = slot_at(c, c->height - 1);
        emit_h(c, H_I32_ADD_IMM);
        emit_op(c, cell_imm(t, addr, k));
        addr = t;
        fused = false;
    }
    c->height--;
    uint32_t a = push_temp(c);
    emit_h(c, fused ? super_add(h) : h);
    emit_op(c, cell_imm(a, addr, offset));
    if (fused)
        emit_cell(c, k);
    c->last_fresh = true;
}

static Handler handler_of(Opcode op)
{
    switch (op) {
#define OP(name, code, imm, sig, width) case OP_##name: return H_##name;
#include "../loader/opcodes.def"
#undef OP
    }
    return H_COUNT;
}

static void sig_shape(SigKind s, uint32_t *nparams, bool *result)
{
    switch (s) {
    case SIG__: *nparams = 0; *result = false; break;
    case SIG__i: case SIG__I: case SIG__f: case SIG__F: *nparams = 0; *result = true; break;
    case SIG_ii_i: case SIG_II_I: case SIG_II_i: case SIG_ff_f: case SIG_ff_i: case SIG_FF_F:
    case SIG_FF_i: *nparams = 2; *result = true; break;
    case SIG_ii_: case SIG_iI_: case SIG_if_: case SIG_iF_: *nparams = 2; *result = false; break;
    case SIG_iii_: *nparams = 3; *result = false; break;
    default: *nparams = 1; *result = true; break;
    }
}

/* ---- One instruction ------------------------------------------------------------- */

static void compile_block_start(Compiler *c, const Instr *in)
{
    uint32_t np, nr;
    blocktype_arity(c, in, &np, &nr);
    if (dead(c)) {
        Ctrl *k = push_ctrl(c, in->op, 0, 0);
        if (k) {
            k->height = c->height;
            k->dead_entry = k->unreachable = true;
        }
        return;
    }
    if (in->op == OP_IF) {
        /* Every value below the condition goes to its slot first: both arms see them. */
        flush_range(c, 0, c->height - 1);
        uint32_t opnd;
        uint32_t at = emit_cond_branch(c, true, &opnd);
        Ctrl *k = push_ctrl(c, OP_IF, np, nr);
        if (k) {
            k->has_else_fix = true;
            k->else_fix = (Fixup){ at, opnd, false };
        }
        return;
    }
    flush_range(c, 0, c->height);
    Ctrl *k = push_ctrl(c, in->op, np, nr);
    if (k && in->op == OP_LOOP) {
        k->start = c->ncode;
        label_here(c);
    }
}

static void reset_to_results(Compiler *c, const Ctrl *k, uint32_t n)
{
    c->height = k->height;
    for (uint32_t i = 0; i < n; i++)
        push(c, E_TEMP);
}

static void compile_else(Compiler *c)
{
    Ctrl *k = &c->ctrl[c->nctrl - 1];
    if (k->dead_entry)
        return;
    if (!k->unreachable) {
        flush_range(c, k->height, c->height);
        uint32_t at = emit_h(c, H_BR);
        uint32_t opnd = emit_cell(c, 0);
        add_fixup(c, k, (Fixup){ at, opnd, false });
    }
    patch(c, k->else_fix, c->ncode);
    k->has_else_fix = false;
    k->kind = OP_ELSE;
    k->unreachable = false;
    reset_to_results(c, k, k->nparams);
    label_here(c);
}

static void compile_end(Compiler *c)
{
    Ctrl *k = &c->ctrl[c->nctrl - 1];
    if (k->dead_entry) {
        c->nctrl--;
        free(k->fixups);
        return;
    }
    if (c->nctrl == 1 && !k->unreachable && k->nfix == 0) {
        /* The function's own end, reached only by falling through: return the values
         * where they are (`local.get 2; end` is RETURN_1 L2, no copy first). */
        emit_return(c);
        free(k->fixups);
        c->nctrl--;
        return;
    }
    if (!k->unreachable)
        flush_range(c, k->height, c->height);
    if (c->nctrl == 1) {
        /* The function's own end: return its results. */
        if (!k->unreachable || k->nfix) {
            reset_to_results(c, k, k->nresults);
            for (uint32_t i = 0; i < k->nfix; i++)
                patch(c, k->fixups[i], c->ncode);
            label_here(c);
            emit_return(c);
        }
        free(k->fixups);
        c->nctrl--;
        return;
    }
    if (k->has_else_fix)
        patch(c, k->else_fix, c->ncode);
    for (uint32_t i = 0; i < k->nfix; i++)
        patch(c, k->fixups[i], c->ncode);
    label_here(c);
    free(k->fixups);
    Ctrl done = *k;
    c->nctrl--;
    reset_to_results(c, &done, done.nresults);
}

static void compile_memory_op(Compiler *c, const Instr *in, Handler h)
{
    unsigned nparams = 0;
    bool result = false;
    sig_shape(instr_sig(in->op), &nparams, &result);
    uint32_t s[3] = { 0, 0, 0 };
    for (unsigned i = 0; i < nparams; i++)
        s[i] = operand(c, c->height - nparams + i);
    c->height -= nparams;
    uint32_t a = result ? push_temp(c) : 0;
    emit_h(c, h);
    if (in->op == OP_MEMORY_INIT || in->op == OP_MEMORY_COPY || in->op == OP_MEMORY_FILL) {
        emit_op(c, cell_slots(s[0], s[1], s[2], 0));
        emit_cell(c, in->imm.pair.a);            /* dataidx for memory.init */
    } else if (in->op == OP_DATA_DROP) {
        emit_op(c, cell_imm(0, 0, in->imm.index));
    } else {                                     /* size: A; grow: A <- B */
        emit_op(c, cell_slots(a, s[0], 0, 0));
    }
    c->last_fresh = result;
}

/* Table instructions: operands in A, B, C (see exec.c for each); index immediates in
 * IMM32, or in a second cell when all three slots are taken. */
static void compile_table_op(Compiler *c, const Instr *in, Handler h)
{
    unsigned nparams, result;
    switch (in->op) {
    case OP_TABLE_GET: nparams = 1; result = 1; break;
    case OP_TABLE_SET: nparams = 2; result = 0; break;
    case OP_TABLE_SIZE: nparams = 0; result = 1; break;
    case OP_TABLE_GROW: nparams = 2; result = 1; break;
    case OP_ELEM_DROP: nparams = 0; result = 0; break;
    default: nparams = 3; result = 0; break;    /* fill, copy, init */
    }
    uint32_t s[3] = { 0, 0, 0 };
    for (unsigned i = 0; i < nparams; i++)
        s[i] = operand(c, c->height - nparams + i);
    c->height -= nparams;
    uint32_t a = result ? push_temp(c) : 0;
    emit_h(c, h);
    switch (in->op) {
    case OP_TABLE_GET: emit_op(c, cell_imm(a, s[0], in->imm.index)); break;
    case OP_TABLE_SET: emit_op(c, cell_imm(s[0], s[1], in->imm.index)); break;
    case OP_TABLE_SIZE: emit_op(c, cell_imm(a, 0, in->imm.index)); break;
    case OP_ELEM_DROP: emit_op(c, cell_imm(0, 0, in->imm.index)); break;
    case OP_TABLE_GROW:
        emit_op(c, cell_slots(a, s[0], s[1], 0));
        emit_cell(c, in->imm.index);
        break;
    case OP_TABLE_FILL:
        emit_op(c, cell_slots(s[0], s[1], s[2], 0));
        emit_cell(c, in->imm.index);
        break;
    default: /* copy: dst table, src table; init: elem, table */
        emit_op(c, cell_slots(s[0], s[1], s[2], 0));
        emit_cell(c, (uint64_t)in->imm.pair.a | ((uint64_t)in->imm.pair.b << 32));
        break;
    }
    c->last_fresh = result;
}

static void push_const(Compiler *c, uint64_t v, bool is64)
{
    Entry *e = push(c, E_CONST);
    e->value = v;
    e->is64 = is64;
}

static void compile_instr(Compiler *c, const Instr *in)
{
    Opcode op = in->op;
    switch (op) {
    case OP_BLOCK: case OP_LOOP: case OP_IF: compile_block_start(c, in); return;
    case OP_ELSE: compile_else(c); return;
    case OP_END: compile_end(c); return;
    default: break;
    }
    if (dead(c))
        return;
    Handler h = handler_of(op);
    switch (op) {
    case OP_NOP: return;
    case OP_UNREACHABLE:
        emit_h(c, H_UNREACHABLE);
        set_dead(c);
        return;
    case OP_BR: compile_br(c, in->imm.index); return;
    case OP_BR_IF: compile_br_if(c, in->imm.index); return;
    case OP_BR_TABLE: compile_br_table(c, in); return;
    case OP_RETURN: emit_return(c); set_dead(c); return;
    case OP_CALL: compile_call(c, in->imm.index); return;
    case OP_CALL_INDIRECT: compile_call_indirect(c, in); return;
    case OP_DROP: c->height--; return;
    case OP_SELECT: case OP_SELECT_T: {
        uint32_t cond = operand(c, c->height - 1);
        uint32_t v2 = operand(c, c->height - 2);
        uint32_t v1 = operand(c, c->height - 3);
        c->height -= 3;
        uint32_t a = push_temp(c);
        emit_h(c, H_SELECT);
        emit_op(c, cell_slots(a, cond, v1, v2));
        c->last_fresh = true;
        return;
    }
    case OP_LOCAL_GET: push(c, E_LOCAL)->local = in->imm.index; return;
    case OP_LOCAL_SET: compile_local_set(c, in->imm.index); return;
    case OP_LOCAL_TEE:
        compile_local_set(c, in->imm.index);
        push(c, E_LOCAL)->local = in->imm.index;
        return;
    case OP_GLOBAL_GET: {
        uint32_t a = push_temp(c);
        emit_h(c, H_GLOBAL_GET);
        emit_op(c, cell_imm(a, 0, in->imm.index));
        c->last_fresh = true;
        return;
    }
    case OP_GLOBAL_SET: {
        uint32_t s = operand(c, c->height - 1);
        c->height--;
        emit_h(c, H_GLOBAL_SET);
        emit_op(c, cell_imm(s, 0, in->imm.index));
        return;
    }
    case OP_I32_CONST: push_const(c, (uint32_t)in->imm.i32, false); return;
    case OP_I64_CONST: push_const(c, (uint64_t)in->imm.i64, true); return;
    case OP_F32_CONST: push_const(c, in->imm.f32_bits, false); return;
    case OP_F64_CONST: push_const(c, in->imm.f64_bits, true); return;
    case OP_REF_NULL: push_const(c, 0, true); return;
    case OP_REF_FUNC: {
        uint32_t a = push_temp(c);
        emit_h(c, H_REF_FUNC);
        emit_op(c, cell_imm(a, 0, in->imm.index));
        c->last_fresh = true;
        return;
    }
    case OP_REF_IS_NULL: compile_simple(c, H_REF_IS_NULL, 1, true); return;
    case OP_MEMORY_SIZE: case OP_MEMORY_GROW: case OP_MEMORY_INIT: case OP_DATA_DROP:
    case OP_MEMORY_COPY: case OP_MEMORY_FILL:
        compile_memory_op(c, in, h);
        return;
    case OP_TABLE_GET: case OP_TABLE_SET: case OP_TABLE_SIZE: case OP_TABLE_GROW:
    case OP_TABLE_FILL: case OP_TABLE_COPY: case OP_TABLE_INIT: case OP_ELEM_DROP:
        compile_table_op(c, in, h);
        return;
    default: break;
    }
    if (instr_imm_kind(op) == IMM_MEMARG) {
        compile_load_store(c, in, h);
        return;
    }
    uint32_t nparams;
    bool result;
    sig_shape(instr_sig(op), &nparams, &result);
    compile_simple(c, h, nparams, result);
}

/* ---- Functions and modules ------------------------------------------------------- */

static bool cell_is(const Cell *cell, Handler h)
{
    return cell->u64 == vm_handler_cell(h).u64;
}

/* Jump threading, once the code is complete: a BR to a BR goes straight to the final
 * target, and a BR to a return becomes that return (both are two cells). Typical of
 * `(if (result) (then …) (else …))` at the end of a function. */
static void thread_jumps(Compiler *c)
{
    for (uint32_t k = 0; k < c->nmap; k++) {
        uint32_t at = c->map_cell[k];
        if (!cell_is(&c->code[at], H_BR))
            continue;
        uint32_t target = at + (int32_t)c->code[at + 1].si.imm;
        for (int hops = 0; hops < 8 && cell_is(&c->code[target], H_BR); hops++) {
            uint32_t next = target + (int32_t)c->code[target + 1].si.imm;
            if (next <= target)
                break;              /* a loop back-edge: keep its reduction */
            target = next;
        }
        if (cell_is(&c->code[target], H_RETURN_1) || cell_is(&c->code[target], H_RETURN)) {
            c->code[at] = c->code[target];
            c->code[at + 1] = c->code[target + 1];
        } else if (target > at) {
            c->code[at + 1].si.imm = target - at;
        }
    }
}

/* The compiled body of one function in one allocation, sized to fit: its cells, then the
 * map (map_cell, map_offset). The compiler's growing arrays are twice too big on average,
 * and one block costs one malloc header instead of three. */
static Cell *pack_body(Compiler *c, CompiledFunc *cf)
{
    size_t cells = (size_t)c->ncode * sizeof(Cell), map = (size_t)c->nmap * sizeof(uint32_t);
    Cell *body = malloc(cells + 2 * map);
    if (!body) {
        fail_oom(c);
        return NULL;
    }
    memcpy(body, c->code, cells);
    cf->map_cell = (uint32_t *)(body + c->ncode);
    cf->map_offset = cf->map_cell + c->nmap;
    memcpy(cf->map_cell, c->map_cell, map);
    memcpy(cf->map_offset, c->map_offset, map);
    cf->ncells = c->ncode;
    cf->nmap = c->nmap;
    return body;
}

/* Compile one body into cf, whose frame layout vm_compile_module set. Returns the code,
 * with cf's ncells and map written, or NULL (*oom says whether for want of memory). */
static Cell *compile_func(const Module *m, CompiledModule *cm, CompiledFunc *cf, bool *oom,
                          char *err, size_t errlen)
{
    const Func *f = &m->funcs[cf->funcidx];
    Compiler c = { .m = m, .f = f, .type = cf->type, .cm = cm, .err = err, .errlen = errlen,
                   .last_h = H_COUNT };
    c.zero_slot = cf->nparams + f->nlocals;
    c.nlocals_total = c.zero_slot + 1;
    Ctrl *body = push_ctrl(&c, OP_BLOCK, 0, c.type->nresults);
    if (body)
        body->height = 0;
    Reader r = { f->code, f->code + f->code_len, m->bytes };
    while (!c.failed && c.nctrl > 0 && r.p < r.end) {
        Instr in;
        LoadError lerr;
        c.offset = (uint32_t)(r.p - m->bytes);
        if (!instr_decode(&r, &in, &lerr)) {
            fail(&c, lerr.message);
            break;
        }
        compile_instr(&c, &in);
    }
    for (uint32_t i = 0; i < c.nctrl; i++)
        free(c.ctrl[i].fixups);
    free(c.ctrl);
    free(c.stack);
    /* The frame was sized from the validator's highest operand height, which the
     * compiler's cannot pass (it follows the same heights, and skips dead code). Should
     * they ever disagree, refuse: calls make room for frame_slots only. */
    if (!c.failed && c.nlocals_total + c.max_height > cf->frame_slots)
        fail(&c, "frame larger than its validated size (an lvm bug)");
    if (!c.failed)
        thread_jumps(&c);
    Cell *code = c.failed ? NULL : pack_body(&c, cf);
    *oom = c.oom;
    free(c.code);
    free(c.map_cell);
    free(c.map_offset);
    return code;
}

static void free_compiled(void *p)
{
    CompiledModule *cm = p;
    if (!cm)
        return;
    for (uint32_t i = 0; i < cm->nfuncs; i++)
        free((void *)vm_func_code(&cm->funcs[i]));   /* its map is in the same block */
    pthread_mutex_destroy(&cm->lock);
    free(cm->funcs);
    free(cm);
}

/* A function's frame, known before its code (code.h): parameters, declared locals, the
 * zero slot, then the operand stack as high as the validator saw it go; at least room for
 * the results, and for the four slots a call zeroes unconditionally (interp.c,
 * zero_slots). Past 65535 slots the operand cells cannot name them: refused here, so a
 * module lvm cannot run fails at instantiation rather than at some later call. */
static bool prepare_func(const Module *m, uint32_t funcidx, CompiledFunc *cf, char *err,
                         size_t errlen)
{
    const Func *f = &m->funcs[funcidx];
    const FuncType *t = &m->types[f->typeidx];
    uint64_t locals = (uint64_t)t->nparams + f->nlocals + 1;
    uint64_t slots = locals + f->max_height;
    if (slots < t->nresults)
        slots = t->nresults;
    if (slots < (uint64_t)t->nparams + 4)
        slots = (uint64_t)t->nparams + 4;
    const char *why = locals > SLOT_MAX ? "function has more than 65535 locals (lvm's limit)"
                    : slots > SLOT_MAX ? "function needs more than 65535 frame slots (lvm's limit)"
                    : NULL;
    if (why) {
        snprintf(err, errlen, "function %u at 0x%x: %s", funcidx, f->code_offset, why);
        return false;
    }
    *cf = (CompiledFunc){ .funcidx = funcidx, .nparams = t->nparams, .type = t,
                          .nlocals = f->nlocals + 1, .frame_slots = (uint32_t)slots };
    cf->stub[0] = vm_handler_cell(H_LAZY_COMPILE);
    cf->stub[1] = cell_imm(0, 0, funcidx);
    atomic_init(&cf->entry, cf->stub);
    return true;
}

/* Held only while a module's CompiledModule is made, so that two instances created at
 * once do not both make it; an instance of a module that has one takes no lock (every
 * spawn is one). Compiling a function takes the CompiledModule's own lock. */
static pthread_mutex_t compile_lock = PTHREAD_MUTEX_INITIALIZER;

static CompiledModule *prepare_all(Module *m, char *err, size_t errlen)
{
    CompiledModule *cm = calloc(1, sizeof *cm);
    uint32_t n = m->nfuncs - m->nimported_funcs;
    if (cm)
        cm->funcs = calloc(n ? n : 1, sizeof(CompiledFunc));
    if (!cm || !cm->funcs || pthread_mutex_init(&cm->lock, NULL) != 0) {
        if (cm)
            free(cm->funcs);
        free(cm);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cm->first = m->nimported_funcs;
    for (uint32_t i = 0; i < n; i++) {
        if (!prepare_func(m, cm->first + i, &cm->funcs[i], err, errlen)) {
            free_compiled(cm);
            return NULL;
        }
        cm->nfuncs = i + 1;
    }
    return cm;
}

CompiledModule *vm_compile_module(Module *m, char *err, size_t errlen)
{
    /* The common case: made already (loader_compiled is an acquire load, paired with the
     * release in loader_set_compiled, so the CompiledModule is seen complete). */
    CompiledModule *cm = loader_compiled(m);
    if (cm)
        return cm;
    pthread_mutex_lock(&compile_lock);
    cm = loader_compiled(m);      /* another thread may have made it while we waited */
    if (!cm) {
        CompiledModule *fresh = prepare_all(m, err, errlen);
        if (fresh && (cm = loader_set_compiled(m, fresh, free_compiled)) != fresh)
            free_compiled(fresh);   /* someone attached code without us (not lvm itself) */
    }
    pthread_mutex_unlock(&compile_lock);
    return cm;
}

const Cell *vm_compile_func(const Module *m, CompiledModule *cm, uint32_t funcidx, bool *oom,
                            char *err, size_t errlen)
{
    CompiledFunc *cf = &cm->funcs[funcidx - cm->first];
    *oom = false;
    const Cell *code = vm_func_code(cf);
    if (code)
        return code;               /* compiled since the caller looked */
    pthread_mutex_lock(&cm->lock);
    /* Double check under the lock: another thread may have compiled it while we waited.
     * Relaxed is enough here, entry being stored only under this lock. */
    code = atomic_load_explicit(&cf->entry, memory_order_relaxed);
    if (code == cf->stub) {
        code = compile_func(m, cm, cf, oom, err, errlen);
        /* Release: pairs with the acquire loads of entry (vm_func_code, the CALL handler
         * and the others in interp.c and exec.c): whoever sees the code sees its cells,
         * ncells and map written. On failure the stub stays, and the next call tries again. */
        if (code)
            atomic_store_explicit(&cf->entry, code, memory_order_release);
    }
    pthread_mutex_unlock(&cm->lock);
    return code;
}
