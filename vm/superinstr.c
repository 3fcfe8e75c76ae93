/*
 * superinstr.c — which superinstruction replaces which instruction sequence: the tables
 * behind compile.c's peepholes. Each function maps a handler to its fused or immediate
 * form (handlers.def), or returns H_COUNT when there is none. Adding a superinstruction
 * means a line in handlers.def, a handler in interp.c, and a line here.
 */
#include "vm_internal.h"

/* The _IMM twin of a binary i32/i64 operation, or H_COUNT. */
Handler super_imm(Handler h)
{
    switch (h) {
    case H_I32_ADD: return H_I32_ADD_IMM;
    case H_I32_SUB: return H_I32_SUB_IMM;
    case H_I32_MUL: return H_I32_MUL_IMM;
    case H_I32_AND: return H_I32_AND_IMM;
    case H_I32_OR: return H_I32_OR_IMM;
    case H_I32_XOR: return H_I32_XOR_IMM;
    case H_I32_SHL: return H_I32_SHL_IMM;
    case H_I32_SHR_S: return H_I32_SHR_S_IMM;
    case H_I32_SHR_U: return H_I32_SHR_U_IMM;
    case H_I32_EQ: return H_I32_EQ_IMM;
    case H_I32_NE: return H_I32_NE_IMM;
    case H_I32_LT_S: return H_I32_LT_S_IMM;
    case H_I32_LT_U: return H_I32_LT_U_IMM;
    case H_I32_GT_S: return H_I32_GT_S_IMM;
    case H_I32_GT_U: return H_I32_GT_U_IMM;
    case H_I32_LE_S: return H_I32_LE_S_IMM;
    case H_I32_LE_U: return H_I32_LE_U_IMM;
    case H_I32_GE_S: return H_I32_GE_S_IMM;
    case H_I32_GE_U: return H_I32_GE_U_IMM;
    case H_I64_ADD: return H_I64_ADD_IMM;
    case H_I64_SUB: return H_I64_SUB_IMM;
    case H_I64_MUL: return H_I64_MUL_IMM;
    case H_I64_AND: return H_I64_AND_IMM;
    case H_I64_OR: return H_I64_OR_IMM;
    case H_I64_XOR: return H_I64_XOR_IMM;
    case H_I64_SHL: return H_I64_SHL_IMM;
    case H_I64_SHR_S: return H_I64_SHR_S_IMM;
    case H_I64_SHR_U: return H_I64_SHR_U_IMM;
    case H_I64_EQ: return H_I64_EQ_IMM;
    case H_I64_NE: return H_I64_NE_IMM;
    case H_I64_LT_S: return H_I64_LT_S_IMM;
    case H_I64_LT_U: return H_I64_LT_U_IMM;
    case H_I64_GT_S: return H_I64_GT_S_IMM;
    case H_I64_GT_U: return H_I64_GT_U_IMM;
    case H_I64_LE_S: return H_I64_LE_S_IMM;
    case H_I64_LE_U: return H_I64_LE_U_IMM;
    case H_I64_GE_S: return H_I64_GE_S_IMM;
    case H_I64_GE_U: return H_I64_GE_U_IMM;
    case H_F32_ADD: return H_F32_ADD_IMM;
    case H_F32_SUB: return H_F32_SUB_IMM;
    case H_F32_MUL: return H_F32_MUL_IMM;
    case H_F32_DIV: return H_F32_DIV_IMM;
    case H_F64_ADD: return H_F64_ADD_IMM;
    case H_F64_SUB: return H_F64_SUB_IMM;
    case H_F64_MUL: return H_F64_MUL_IMM;
    case H_F64_DIV: return H_F64_DIV_IMM;
    case H_F64_LT: return H_F64_LT_IMM;
    case H_F64_GT: return H_F64_GT_IMM;
    case H_F64_LE: return H_F64_LE_IMM;
    case H_F64_GE: return H_F64_GE_IMM;
    default: return H_COUNT;
    }
}

/* True if h's _IMM form keeps its constant in a cell of its own (64-bit operands). */
bool super_imm_is_wide(Handler h)
{
    return (h >= H_I64_ADD_IMM && h <= H_I64_GE_U_IMM) || (h >= H_F64_ADD_IMM && h <= H_F64_GE_IMM);
}

/* Operations where `K op x` equals `x op K`, so a constant left operand can move right. */
bool super_commutes(Handler h)
{
    switch (h) {
    case H_I32_ADD: case H_I32_MUL: case H_I32_AND: case H_I32_OR: case H_I32_XOR:
    case H_I32_EQ: case H_I32_NE: case H_I64_ADD: case H_I64_MUL: case H_I64_AND:
    case H_I64_OR: case H_I64_XOR: case H_I64_EQ: case H_I64_NE: case H_F64_MUL:
    case H_F64_ADD: case H_F32_MUL: case H_F32_ADD:
        return true;
    default:
        return false;
    }
}

/* For an i32 comparison h (register or _IMM form): the compare-and-branch that jumps
 * when h is true, or (negate) when it is false. H_COUNT if there is none. */
Handler super_branch(Handler h, bool negate)
{
    static const struct { Handler cmp, neg, br, br_imm; bool imm; } t[] = {
        { H_I32_EQ,   H_I32_NE,   H_BR_IF_I32_EQ,   H_BR_IF_I32_EQ_IMM,   false },
        { H_I32_NE,   H_I32_EQ,   H_BR_IF_I32_NE,   H_BR_IF_I32_NE_IMM,   false },
        { H_I32_LT_S, H_I32_GE_S, H_BR_IF_I32_LT_S, H_BR_IF_I32_LT_S_IMM, false },
        { H_I32_LT_U, H_I32_GE_U, H_BR_IF_I32_LT_U, H_BR_IF_I32_LT_U_IMM, false },
        { H_I32_GT_S, H_I32_LE_S, H_BR_IF_I32_GT_S, H_BR_IF_I32_GT_S_IMM, false },
        { H_I32_GT_U, H_I32_LE_U, H_BR_IF_I32_GT_U, H_BR_IF_I32_GT_U_IMM, false },
        { H_I32_LE_S, H_I32_GT_S, H_BR_IF_I32_LE_S, H_BR_IF_I32_LE_S_IMM, false },
        { H_I32_LE_U, H_I32_GT_U, H_BR_IF_I32_LE_U, H_BR_IF_I32_LE_U_IMM, false },
        { H_I32_GE_S, H_I32_LT_S, H_BR_IF_I32_GE_S, H_BR_IF_I32_GE_S_IMM, false },
        { H_I32_GE_U, H_I32_LT_U, H_BR_IF_I32_GE_U, H_BR_IF_I32_GE_U_IMM, false },
    };
    bool imm = false;
    Handler base = h;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (super_imm(t[i].cmp) == h) {
            base = t[i].cmp;
            imm = true;
        }
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].cmp != base)
            continue;
        Handler want = negate ? t[i].neg : t[i].cmp;
        for (size_t j = 0; j < sizeof t / sizeof t[0]; j++)
            if (t[j].cmp == want)
                return imm ? t[j].br_imm : t[j].br;
    }
    return H_COUNT;
}

/* Compare-and-branch forms that are not i32 comparisons: f64 comparisons (which have no
 * exact negation, because of NaN) and bit tests. H_COUNT if there is none. */
Handler super_other_branch(Handler h, bool on_false)
{
    static const struct { Handler cmp, br_true, br_false; } t[] = {
        { H_I32_AND_IMM, H_BR_IF_I32_AND_IMM, H_BR_UNLESS_I32_AND_IMM },
        { H_F64_EQ, H_BR_IF_F64_EQ, H_BR_IF_F64_NE },
        { H_F64_NE, H_BR_IF_F64_NE, H_BR_IF_F64_EQ },
        { H_F64_LT, H_BR_IF_F64_LT, H_BR_UNLESS_F64_LT },
        { H_F64_GT, H_BR_IF_F64_GT, H_BR_UNLESS_F64_GT },
        { H_F64_LE, H_BR_IF_F64_LE, H_BR_UNLESS_F64_LE },
        { H_F64_GE, H_BR_IF_F64_GE, H_BR_UNLESS_F64_GE },
        { H_F64_LT_IMM, H_BR_IF_F64_LT_IMM, H_BR_UNLESS_F64_LT_IMM },
        { H_F64_GT_IMM, H_BR_IF_F64_GT_IMM, H_BR_UNLESS_F64_GT_IMM },
        { H_F64_LE_IMM, H_BR_IF_F64_LE_IMM, H_BR_UNLESS_F64_LE_IMM },
        { H_F64_GE_IMM, H_BR_IF_F64_GE_IMM, H_BR_UNLESS_F64_GE_IMM },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (t[i].cmp == h)
            return on_false ? t[i].br_false : t[i].br_true;
    return H_COUNT;
}

/* The _ADD form of a load or store (handlers.def), or H_COUNT. */
Handler super_add(Handler h)
{
    switch (h) {
    case H_I32_LOAD: return H_I32_LOAD_ADD;
    case H_I64_LOAD: return H_I64_LOAD_ADD;
    case H_F32_LOAD: return H_F32_LOAD_ADD;
    case H_F64_LOAD: return H_F64_LOAD_ADD;
    case H_I32_LOAD8_S: return H_I32_LOAD8_S_ADD;
    case H_I32_LOAD8_U: return H_I32_LOAD8_U_ADD;
    case H_I32_LOAD16_S: return H_I32_LOAD16_S_ADD;
    case H_I32_LOAD16_U: return H_I32_LOAD16_U_ADD;
    case H_I64_LOAD8_U: return H_I64_LOAD8_U_ADD;
    case H_I64_LOAD32_U: return H_I64_LOAD32_U_ADD;
    case H_I32_STORE: return H_I32_STORE_ADD;
    case H_I64_STORE: return H_I64_STORE_ADD;
    case H_F32_STORE: return H_F32_STORE_ADD;
    case H_F64_STORE: return H_F64_STORE_ADD;
    case H_I32_STORE8: return H_I32_STORE8_ADD;
    case H_I32_STORE16: return H_I32_STORE16_ADD;
    default: return H_COUNT;
    }
}
