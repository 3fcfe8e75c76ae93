/*
 * validate.c — type-checking function bodies and constant expressions (pass 2).
 *
 * This is the algorithm of the spec's appendix "Validation Algorithm", nearly line for
 * line: an operand stack of value types, where `Unknown` (0 here) stands for any type in
 * unreachable code, and a control stack whose frames remember the block's label types,
 * the operand stack height at entry, and whether the rest of the block is unreachable.
 * Every instruction pops the types it consumes and pushes the types it produces.
 *
 * Along the way we record the highest operand stack height a function reaches
 * (Func.max_height): the compiler uses it to size frames, since every stack slot
 * becomes a frame slot in lvm's register-style code (DESIGN decision 2).
 *
 * Read next: vm/compile.c, which walks the same bodies with instr_decode().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader_internal.h"

#define UNKNOWN 0   /* the spec's Unknown operand type: any type, in unreachable code */

typedef struct CtrlFrame {
    Opcode op;                  /* BLOCK, LOOP, IF, ELSE; BLOCK for the function itself */
    const ValType *params, *results;
    uint32_t nparams, nresults;
    ValType single;             /* storage for a one-value-type block result */
    bool results_single;        /* results is &single (frames move when the stack grows) */
    uint32_t height;            /* operand stack height at entry */
    bool unreachable;
} CtrlFrame;

typedef struct Validator {
    const Module *m;
    const FuncType *type;       /* the function's type */
    const Func *func;
    const uint8_t *refs;        /* C.refs: functions that ref.func may name */
    uint8_t *vals;              /* operand stack of types (UNKNOWN or a ValType) */
    uint32_t nvals, cap_vals, max_vals;
    CtrlFrame *ctrls;
    uint32_t nctrls, cap_ctrls;
    uint32_t offset;            /* byte offset of the instruction being checked */
    Opcode op;                  /* the instruction being checked */
    LoadError *err;
    InstrVisitor visit;         /* loader_walk_heights: told of each instruction, or NULL */
    void *visit_ctx;
} Validator;

static bool invalid(Validator *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool invalid(Validator *v, const char *fmt, ...)
{
    LoadError *err = v->err;
    err->kind = LOAD_INVALID;
    err->section = "code";
    err->offset = v->offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

static bool no_memory(Validator *v)
{
    return load_fail(v->err, LOAD_NO_MEMORY, "code", v->offset, "out of memory");
}

static bool is_num(uint8_t t)
{
    return t == VT_I32 || t == VT_I64 || t == VT_F32 || t == VT_F64 || t == UNKNOWN;
}

static bool is_ref(uint8_t t)
{
    return t == VT_FUNCREF || t == VT_EXTERNREF || t == UNKNOWN;
}

/* ---- the operand and control stacks (spec appendix, "Data structures") ------------ */

static bool push(Validator *v, uint8_t t)
{
    if (v->nvals == v->cap_vals) {
        uint32_t cap = v->cap_vals ? 2 * v->cap_vals : 64;
        uint8_t *p = realloc(v->vals, cap);
        if (!p)
            return no_memory(v);
        v->vals = p;
        v->cap_vals = cap;
    }
    v->vals[v->nvals++] = t;
    if (v->nvals > v->max_vals)
        v->max_vals = v->nvals;
    return true;
}

/* pop_val(): below the current block's height there is nothing to pop, unless the
 * block is unreachable, where any type may be popped. */
static bool pop(Validator *v, uint8_t *out)
{
    CtrlFrame *top = &v->ctrls[v->nctrls - 1];
    if (v->nvals == top->height) {
        if (top->unreachable) {
            *out = UNKNOWN;
            return true;
        }
        return invalid(v, "type mismatch: %s needs more operands than the stack holds",
                       instr_name(v->op));
    }
    *out = v->vals[--v->nvals];
    return true;
}

static bool pop_expect(Validator *v, uint8_t expect)
{
    uint8_t actual = UNKNOWN;
    if (!pop(v, &actual))
        return false;
    if (actual != expect && actual != UNKNOWN && expect != UNKNOWN)
        return invalid(v, "type mismatch: %s expected %s, found %s", instr_name(v->op),
                       valtype_name(expect), valtype_name(actual));
    return true;
}

static bool push_vals(Validator *v, const ValType *ts, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!push(v, ts[i]))
            return false;
    return true;
}

static bool pop_vals(Validator *v, const ValType *ts, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;)
        if (!pop_expect(v, ts[i]))
            return false;
    return true;
}

static const ValType *frame_results(const CtrlFrame *f)
{
    return f->results_single ? &f->single : f->results;
}

static bool push_ctrl(Validator *v, Opcode op, const CtrlFrame *shape)
{
    if (v->nctrls == v->cap_ctrls) {
        uint32_t cap = v->cap_ctrls ? 2 * v->cap_ctrls : 16;
        CtrlFrame *p = realloc(v->ctrls, cap * sizeof *p);
        if (!p)
            return no_memory(v);
        v->ctrls = p;
        v->cap_ctrls = cap;
    }
    CtrlFrame *f = &v->ctrls[v->nctrls++];
    *f = *shape;
    f->op = op;
    f->height = v->nvals;
    f->unreachable = false;
    return push_vals(v, f->params, f->nparams);
}

/* pop_ctrl(): the block's results must be exactly what is left above its height. */
static bool pop_ctrl(Validator *v, CtrlFrame *out)
{
    CtrlFrame *top = &v->ctrls[v->nctrls - 1];
    if (!pop_vals(v, frame_results(top), top->nresults))
        return false;
    if (v->nvals != top->height)
        return invalid(v, "type mismatch: %u extra value(s) at the end of the block",
                       v->nvals - top->height);
    *out = *top;
    if (out->results_single)
        out->results = &out->single;   /* keep pointing at the copy */
    out->results_single = false;
    v->nctrls--;
    return true;
}

/* The types a branch to label l carries: a loop's parameters, a block's results. */
static void label_types(const CtrlFrame *f, const ValType **ts, uint32_t *n)
{
    if (f->op == OP_LOOP) {
        *ts = f->params;
        *n = f->nparams;
    } else {
        *ts = frame_results(f);
        *n = f->nresults;
    }
}

static void set_unreachable(Validator *v)
{
    CtrlFrame *top = &v->ctrls[v->nctrls - 1];
    v->nvals = top->height;
    top->unreachable = true;
}

static bool get_label(Validator *v, uint32_t l, CtrlFrame **out)
{
    if (l >= v->nctrls)
        return invalid(v, "unknown label %u", l);
    *out = &v->ctrls[v->nctrls - 1 - l];
    return true;
}

/* ---- control instructions (spec 3.3.8) --------------------------------------------- */

static bool block_shape(Validator *v, const Instr *in, CtrlFrame *shape)
{
    memset(shape, 0, sizeof *shape);
    if (in->imm.block.empty)
        return true;
    if (!in->imm.block.is_index) {
        shape->single = in->imm.block.valtype;
        shape->results_single = true;
        shape->nresults = 1;
        return true;
    }
    if (in->imm.block.typeidx >= v->m->ntypes)
        return invalid(v, "unknown type %u", in->imm.block.typeidx);
    const FuncType *t = &v->m->types[in->imm.block.typeidx];
    shape->params = functype_params(t);
    shape->nparams = t->nparams;
    shape->results = functype_results(t);
    shape->nresults = t->nresults;
    return true;
}

static bool check_block(Validator *v, const Instr *in)
{
    CtrlFrame shape;
    if (!block_shape(v, in, &shape))
        return false;
    if (in->op == OP_IF && !pop_expect(v, VT_I32))
        return false;
    return pop_vals(v, shape.params, shape.nparams) && push_ctrl(v, in->op, &shape);
}

static bool check_else(Validator *v)
{
    CtrlFrame f;
    if (v->ctrls[v->nctrls - 1].op != OP_IF)
        return invalid(v, "type mismatch: else without if");
    if (!pop_ctrl(v, &f))
        return false;
    if (f.results == &f.single)
        f.results_single = true;
    return push_ctrl(v, OP_ELSE, &f);
}

static bool check_end(Validator *v)
{
    CtrlFrame f;
    if (!pop_ctrl(v, &f))
        return false;
    /* An if without else behaves as if its else passed the parameters through. */
    if (f.op == OP_IF &&
        (f.nparams != f.nresults ||
         (f.nparams && memcmp(f.params, f.results, f.nparams * sizeof(ValType)))))
        return invalid(v, "type mismatch: if without else must leave its parameters");
    if (v->nctrls == 0)
        return true;   /* the function's own end; its results stay on the stack */
    return push_vals(v, f.results, f.nresults);
}

static bool check_br_table(Validator *v, const Instr *in)
{
    ValType tmp[LOADER_MAX_PARAMS];
    Reader r = { in->imm.br_table.labels, v->func->code + v->func->code_len, v->m->bytes };
    uint32_t count = in->imm.br_table.count, l, arity, n;
    const ValType *ts;
    CtrlFrame *f = NULL;
    if (!pop_expect(v, VT_I32))
        return false;
    const uint8_t *labels = r.p;
    for (uint32_t k = 0; k < count; k++)   /* the default label comes last */
        reader_u32(&r, &l);
    reader_u32(&r, &l);
    if (!get_label(v, l, &f))
        return false;
    label_types(f, &ts, &arity);
    r.p = labels;
    for (uint32_t k = 0; k < count; k++) {
        reader_u32(&r, &l);
        if (!get_label(v, l, &f))
            return false;
        label_types(f, &ts, &n);
        if (n != arity)
            return invalid(v, "type mismatch: br_table labels have different arities");
        for (uint32_t i = n; i-- > 0;) {      /* push_vals(pop_vals(label_types)) */
            uint8_t t;
            if (!pop(v, &t))
                return false;
            if (t != ts[i] && t != UNKNOWN)
                return invalid(v, "type mismatch: br_table expected %s, found %s",
                               valtype_name(ts[i]), valtype_name(t));
            tmp[i] = t;
        }
        if (!push_vals(v, tmp, n))
            return false;
    }
    reader_u32(&r, &l);
    if (!get_label(v, l, &f))
        return false;
    label_types(f, &ts, &n);
    if (!pop_vals(v, ts, n))
        return false;
    set_unreachable(v);
    return true;
}

static bool check_branch(Validator *v, const Instr *in)
{
    CtrlFrame *f = NULL;
    const ValType *ts;
    uint32_t n;
    if (in->op == OP_BR_IF && !pop_expect(v, VT_I32))
        return false;
    if (!get_label(v, in->imm.index, &f))
        return false;
    label_types(f, &ts, &n);
    if (!pop_vals(v, ts, n))
        return false;
    if (in->op == OP_BR) {
        set_unreachable(v);
        return true;
    }
    return push_vals(v, ts, n);
}

static bool check_call(Validator *v, const FuncType *t)
{
    return pop_vals(v, functype_params(t), t->nparams) &&
           push_vals(v, functype_results(t), t->nresults);
}

static bool check_call_indirect(Validator *v, const Instr *in)
{
    const Module *m = v->m;
    uint32_t table = in->imm.call_indirect.tableidx, type = in->imm.call_indirect.typeidx;
    if (table >= m->ntables)
        return invalid(v, "unknown table %u", table);
    if (m->tables[table].type.elem != VT_FUNCREF)
        return invalid(v, "type mismatch: call_indirect needs a funcref table");
    if (type >= m->ntypes)
        return invalid(v, "unknown type %u", type);
    return pop_expect(v, VT_I32) && check_call(v, &m->types[type]);
}

/* ---- variables, references, parametric (3.3.2–3.3.4) ----------------------------- */

static bool local_type(Validator *v, uint32_t x, uint8_t *out)
{
    if (x < v->type->nparams) {
        *out = functype_params(v->type)[x];
        return true;
    }
    if (x - v->type->nparams < v->func->nlocals) {
        *out = v->func->local_types[x - v->type->nparams];
        return true;
    }
    return invalid(v, "unknown local %u", x);
}

static bool check_variable(Validator *v, const Instr *in)
{
    const Module *m = v->m;
    uint32_t x = in->imm.index;
    uint8_t t;
    switch (in->op) {
    case OP_LOCAL_GET:
        return local_type(v, x, &t) && push(v, t);
    case OP_LOCAL_SET:
        return local_type(v, x, &t) && pop_expect(v, t);
    case OP_LOCAL_TEE:
        return local_type(v, x, &t) && pop_expect(v, t) && push(v, t);
    case OP_GLOBAL_GET:
        if (x >= m->nglobals)
            return invalid(v, "unknown global %u", x);
        return push(v, m->globals[x].type.type);
    case OP_GLOBAL_SET:
        if (x >= m->nglobals)
            return invalid(v, "unknown global %u", x);
        if (!m->globals[x].type.mutable_)
            return invalid(v, "global is immutable (global %u)", x);
        return pop_expect(v, m->globals[x].type.type);
    default:
        return false;
    }
}

static bool check_select(Validator *v, const Instr *in)
{
    uint8_t t1, t2;
    if (!pop_expect(v, VT_I32))
        return false;
    if (in->op == OP_SELECT_T)
        return pop_expect(v, in->imm.reftype) && pop_expect(v, in->imm.reftype) &&
               push(v, in->imm.reftype);
    if (!pop(v, &t1) || !pop(v, &t2))
        return false;
    if (!is_num(t1) || !is_num(t2))
        return invalid(v, "type mismatch: select without a type needs numeric operands");
    if (t1 != t2 && t1 != UNKNOWN && t2 != UNKNOWN)
        return invalid(v, "type mismatch: select operands %s and %s", valtype_name(t2),
                       valtype_name(t1));
    return push(v, t1 == UNKNOWN ? t2 : t1);
}

static bool check_ref(Validator *v, const Instr *in)
{
    uint8_t t;
    switch (in->op) {
    case OP_REF_NULL:
        return push(v, in->imm.reftype);
    case OP_REF_IS_NULL:
        if (!pop(v, &t))
            return false;
        if (!is_ref(t))
            return invalid(v, "type mismatch: ref.is_null of %s", valtype_name(t));
        return push(v, VT_I32);
    case OP_REF_FUNC:
        if (in->imm.index >= v->m->nfuncs)
            return invalid(v, "unknown function %u", in->imm.index);
        /* spec 3.4.10 (C.refs): a body may only take references to functions that
         * the module declares elsewhere (an element segment, an export, a global). */
        if (!(v->refs[in->imm.index / 8] & (1u << (in->imm.index % 8))))
            return invalid(v, "undeclared function reference %u", in->imm.index);
        return push(v, VT_FUNCREF);
    default:
        return false;
    }
}

/* ---- tables and memories (3.3.5, 3.3.6) ------------------------------------------ */

static bool get_table(Validator *v, uint32_t x, ValType *elem)
{
    if (x >= v->m->ntables)
        return invalid(v, "unknown table %u", x);
    *elem = v->m->tables[x].type.elem;
    return true;
}

static bool get_elem(Validator *v, uint32_t x, ValType *type)
{
    if (x >= v->m->nelems)
        return invalid(v, "unknown elem segment %u", x);
    *type = v->m->elems[x].type;
    return true;
}

static bool check_table(Validator *v, const Instr *in)
{
    ValType t = 0, u = 0;
    switch (in->op) {
    case OP_TABLE_GET:
        return get_table(v, in->imm.index, &t) && pop_expect(v, VT_I32) && push(v, t);
    case OP_TABLE_SET:
        return get_table(v, in->imm.index, &t) && pop_expect(v, t) && pop_expect(v, VT_I32);
    case OP_TABLE_SIZE:
        return get_table(v, in->imm.index, &t) && push(v, VT_I32);
    case OP_TABLE_GROW:
        return get_table(v, in->imm.index, &t) && pop_expect(v, VT_I32) &&
               pop_expect(v, t) && push(v, VT_I32);
    case OP_TABLE_FILL:
        return get_table(v, in->imm.index, &t) && pop_expect(v, VT_I32) &&
               pop_expect(v, t) && pop_expect(v, VT_I32);
    case OP_ELEM_DROP:
        return get_elem(v, in->imm.index, &t);
    case OP_TABLE_COPY:   /* pair.a = destination, pair.b = source */
        if (!get_table(v, in->imm.pair.a, &t) || !get_table(v, in->imm.pair.b, &u))
            return false;
        if (t != u)
            return invalid(v, "type mismatch: table.copy from %s to %s table",
                           valtype_name(u), valtype_name(t));
        break;
    case OP_TABLE_INIT:   /* pair.a = element segment, pair.b = table */
        if (!get_table(v, in->imm.pair.b, &t) || !get_elem(v, in->imm.pair.a, &u))
            return false;
        if (t != u)
            return invalid(v, "type mismatch: table.init of %s segment into %s table",
                           valtype_name(u), valtype_name(t));
        break;
    default:
        return false;
    }
    return pop_expect(v, VT_I32) && pop_expect(v, VT_I32) && pop_expect(v, VT_I32);
}

/* The memory part of memory instructions; their operand types come from the SIG. */
static bool check_memory_imm(Validator *v, const Instr *in, ImmKind kind)
{
    const Module *m = v->m;
    if (kind != IMM_DATA && m->nmemories == 0)
        return invalid(v, "unknown memory 0");
    if (kind == IMM_MEMARG) {
        /* spec 3.3.6: 2^align must not exceed the access width */
        unsigned width = instr_width(in->op);
        if (in->imm.memarg.align >= 32 || (1u << in->imm.memarg.align) > width)
            return invalid(v, "alignment must not be larger than natural");
    }
    uint32_t data = kind == IMM_DATA ? in->imm.index : in->imm.pair.a;
    if ((kind == IMM_DATA || kind == IMM_DATA_MEMORY) && data >= m->ndatas)
        return invalid(v, "unknown data segment %u", data);
    return true;
}

/* ---- numeric and other fixed-signature instructions ------------------------------- */

/* Operand and result types of each SigKind, as in opcodes.def: params '_' results. */
static const char *const sig_text[] = {
    [SIG__] = "_", [SIG__i] = "_i", [SIG__I] = "_I", [SIG__f] = "_f", [SIG__F] = "_F",
    [SIG_i_i] = "i_i", [SIG_i_I] = "i_I", [SIG_i_f] = "i_f", [SIG_i_F] = "i_F",
    [SIG_I_i] = "I_i", [SIG_I_I] = "I_I", [SIG_I_f] = "I_f", [SIG_I_F] = "I_F",
    [SIG_f_i] = "f_i", [SIG_f_I] = "f_I", [SIG_f_f] = "f_f", [SIG_f_F] = "f_F",
    [SIG_F_i] = "F_i", [SIG_F_I] = "F_I", [SIG_F_f] = "F_f", [SIG_F_F] = "F_F",
    [SIG_ii_i] = "ii_i", [SIG_II_I] = "II_I", [SIG_II_i] = "II_i", [SIG_ff_f] = "ff_f",
    [SIG_ff_i] = "ff_i", [SIG_FF_F] = "FF_F", [SIG_FF_i] = "FF_i",
    [SIG_ii_] = "ii_", [SIG_iI_] = "iI_", [SIG_if_] = "if_", [SIG_iF_] = "iF_",
    [SIG_iii_] = "iii_",
};

static uint8_t sig_letter_type(char c)
{
    switch (c) {
    case 'i': return VT_I32;
    case 'I': return VT_I64;
    case 'f': return VT_F32;
    default: return VT_F64;
    }
}

static bool check_fixed_sig(Validator *v, SigKind sig)
{
    const char *s = sig_text[sig];
    const char *sep = strchr(s, '_');
    for (const char *c = sep; c-- > s;)
        if (!pop_expect(v, sig_letter_type(*c)))
            return false;
    for (const char *c = sep + 1; *c; c++)
        if (!push(v, sig_letter_type(*c)))
            return false;
    return true;
}

static bool check_instr(Validator *v, const Instr *in)
{
    const Module *m = v->m;
    ImmKind kind = instr_imm_kind(in->op);
    SigKind sig = instr_sig(in->op);
    if (kind == IMM_MEMARG || kind == IMM_MEMORY || kind == IMM_MEMORY_MEMORY ||
        kind == IMM_DATA_MEMORY || kind == IMM_DATA)
        if (!check_memory_imm(v, in, kind))
            return false;
    if (sig != SIG_SPECIAL)
        return check_fixed_sig(v, sig);
    switch (in->op) {
    case OP_UNREACHABLE: set_unreachable(v); return true;
    case OP_NOP: return true;
    case OP_BLOCK: case OP_LOOP: case OP_IF: return check_block(v, in);
    case OP_ELSE: return check_else(v);
    case OP_END: return check_end(v);
    case OP_BR: case OP_BR_IF: return check_branch(v, in);
    case OP_BR_TABLE: return check_br_table(v, in);
    case OP_RETURN:
        if (!pop_vals(v, functype_results(v->type), v->type->nresults))
            return false;
        set_unreachable(v);
        return true;
    case OP_CALL:
        if (in->imm.index >= m->nfuncs)
            return invalid(v, "unknown function %u", in->imm.index);
        return check_call(v, &m->types[m->funcs[in->imm.index].typeidx]);
    case OP_CALL_INDIRECT: return check_call_indirect(v, in);
    case OP_REF_NULL: case OP_REF_IS_NULL: case OP_REF_FUNC: return check_ref(v, in);
    case OP_DROP: { uint8_t t; return pop(v, &t); }
    case OP_SELECT: case OP_SELECT_T: return check_select(v, in);
    case OP_LOCAL_GET: case OP_LOCAL_SET: case OP_LOCAL_TEE:
    case OP_GLOBAL_GET: case OP_GLOBAL_SET: return check_variable(v, in);
    default: return check_table(v, in);
    }
}

/* The body walk shared by validation and loader_walk_heights: `visit`, if not NULL, sees
 * each instruction with the operand stack height before it. */
static bool validate_body(const Module *m, uint32_t funcidx, const uint8_t *declared_refs,
                          InstrVisitor visit, void *ctx, uint32_t *max_height, LoadError *err)
{
    const Func *f = &m->funcs[funcidx];
    Validator v = { .m = m, .func = f, .type = &m->types[f->typeidx],
                    .refs = declared_refs, .err = err, .offset = f->code_offset,
                    .visit = visit, .visit_ctx = ctx };
    Reader r = { f->code, f->code + f->code_len, m->bytes };
    bool ok = false;
    CtrlFrame shape = { .results = functype_results(v.type), .nresults = v.type->nresults };
    if (!push_ctrl(&v, OP_BLOCK, &shape))
        goto fail;
    v.nvals = v.max_vals = 0;   /* parameters are locals, not operands */
    while (v.nctrls > 0) {
        Instr in;
        if (!instr_decode(&r, &in, err))   /* cannot fail: pass 1 scanned this body */
            goto fail;
        v.offset = in.offset;
        v.op = in.op;
        if (v.visit)
            v.visit(v.visit_ctx, &in, v.nvals, v.ctrls[v.nctrls - 1].unreachable);
        if (!check_instr(&v, &in))
            goto fail;
    }
    *max_height = v.max_vals;
    ok = true;
fail:
    free(v.vals);
    free(v.ctrls);
    return ok;
}

bool validate_function(const Module *m, uint32_t funcidx, const uint8_t *declared_refs,
                       uint32_t *max_height, LoadError *err)
{
    return validate_body(m, funcidx, declared_refs, NULL, NULL, max_height, err);
}

bool loader_walk_heights(const Module *m, uint32_t funcidx, InstrVisitor visit, void *ctx,
                         LoadError *err)
{
    if (funcidx >= m->nfuncs || m->funcs[funcidx].imported)
        return load_fail(err, LOAD_INVALID, "code", 0, "function %u has no body", funcidx);
    /* The module was validated when it was loaded, so every ref.func in it is declared:
     * a set of all functions checks nothing and changes no height. */
    uint8_t *all = malloc((size_t)m->nfuncs / 8 + 1);
    if (!all)
        return load_fail(err, LOAD_NO_MEMORY, "code", 0, "out of memory");
    memset(all, 0xFF, (size_t)m->nfuncs / 8 + 1);
    uint32_t max_height;
    bool ok = validate_body(m, funcidx, all, visit, ctx, &max_height, err);
    free(all);
    return ok;
}

/* ---- constant expressions (spec 3.3.10) --------------------------------------------- */

static bool const_invalid(const PendingExpr *e, LoadError *err, size_t at, const char *msg,
                          uint32_t idx)
{
    return load_fail(err, LOAD_INVALID, e->section, at, msg, idx);
}

/* One instruction of a constant expression: which constant it is, and its type. */
static bool const_instr(const Module *m, const PendingExpr *e, const Instr *in,
                        ConstExpr *c, LoadError *err)
{
    memset(c, 0, sizeof *c);
    switch (in->op) {
    case OP_I32_CONST: c->type = VT_I32; c->value = (uint32_t)in->imm.i32; break;
    case OP_I64_CONST: c->type = VT_I64; c->value = (uint64_t)in->imm.i64; break;
    case OP_F32_CONST: c->type = VT_F32; c->value = in->imm.f32_bits; break;
    case OP_F64_CONST: c->type = VT_F64; c->value = in->imm.f64_bits; break;
    case OP_REF_NULL: c->kind = CONST_REF_NULL; c->type = in->imm.reftype; break;
    case OP_REF_FUNC:
        if (in->imm.index >= m->nfuncs)
            return const_invalid(e, err, in->offset, "unknown function %u", in->imm.index);
        c->kind = CONST_REF_FUNC;
        c->type = VT_FUNCREF;
        c->index = in->imm.index;
        break;
    case OP_GLOBAL_GET: {
        /* Wasm 2.0 (spec 3.4.10, context C'): constant expressions see only the
         * imported globals, in global initializers and segment offsets alike. */
        uint32_t visible = m->nimported_globals;
        if (in->imm.index >= visible)
            return const_invalid(e, err, in->offset, "unknown global %u", in->imm.index);
        const Global *g = &m->globals[in->imm.index];
        if (g->type.mutable_)
            return const_invalid(e, err, in->offset,
                                 "constant expression required (global %u is mutable)",
                                 in->imm.index);
        c->kind = CONST_GLOBAL_GET;
        c->type = g->type.type;
        c->index = in->imm.index;
        break;
    }
    default:
        return load_fail(err, LOAD_INVALID, e->section, in->offset,
                         "constant expression required (%s)", instr_name(in->op));
    }
    return true;
}

bool validate_const_expr(const Module *m, const PendingExpr *e, LoadError *err)
{
    Reader r = { e->start, e->end + 1, m->bytes };
    uint32_t n = 0;
    ConstExpr c = { 0 };
    uint8_t type = UNKNOWN;
    for (;;) {
        Instr in;
        if (!instr_decode(&r, &in, err))
            return false;
        if (in.op == OP_END)
            break;
        if (!const_instr(m, e, &in, &c, err))
            return false;
        if (n++ == 0) {
            *e->out = c;
            type = c.type;
        }
    }
    if (n != 1 || type != e->expected)
        return load_fail(err, LOAD_INVALID, e->section, (size_t)(e->start - m->bytes),
                         "type mismatch: constant expression of type %s expected",
                         valtype_name(e->expected));
    return true;
}
