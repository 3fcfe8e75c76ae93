/*
 * instr.h — one Wasm instruction, decoded: opcode plus immediates.
 *
 * The validator (loader/validate.c) and the compiler (vm/compile.c) both walk function
 * bodies one instruction at a time with instr_decode(), so the binary encoding of
 * immediates is read in one place only. The opcode list itself is loader/opcodes.def.
 */
#ifndef LVM_LOADER_INSTR_H
#define LVM_LOADER_INSTR_H

#include <stdbool.h>
#include <stdint.h>

#include "loader.h"

/* Wasm opcodes; the value is the binary encoding (0xFCnn for prefixed ones). */
typedef enum Opcode {
#define OP(name, code, imm, sig, width) OP_##name = code,
#include "opcodes.def"
#undef OP
} Opcode;

/* Immediate kinds (what follows the opcode in the binary). */
typedef enum ImmKind {
    IMM_NONE,
    IMM_BLOCK,          /* blocktype: empty, a value type, or a type index (s33) */
    IMM_LABEL,          /* labelidx */
    IMM_BR_TABLE,       /* vec(labelidx) labelidx */
    IMM_FUNC,           /* funcidx */
    IMM_CALL_INDIRECT,  /* typeidx tableidx */
    IMM_LOCAL,          /* localidx */
    IMM_GLOBAL,         /* globalidx */
    IMM_TABLE,          /* tableidx */
    IMM_MEMARG,         /* align offset (u32 u32) */
    IMM_MEMORY,         /* a 0x00 byte (memory index 0) */
    IMM_I32,            /* s32 */
    IMM_I64,            /* s64 */
    IMM_F32,            /* 4 raw bytes */
    IMM_F64,            /* 8 raw bytes */
    IMM_REFTYPE,        /* 0x70 or 0x6F */
    IMM_SELECT_T,       /* vec(valtype), length 1 in Wasm 2.0 */
    IMM_DATA,           /* dataidx */
    IMM_DATA_MEMORY,    /* dataidx 0x00 */
    IMM_MEMORY_MEMORY,  /* 0x00 0x00 */
    IMM_ELEM,           /* elemidx */
    IMM_ELEM_TABLE,     /* elemidx tableidx */
    IMM_TABLE_TABLE,    /* tableidx(dst) tableidx(src) */
} ImmKind;

/* Fixed signatures of simple instructions; see opcodes.def for the notation. */
typedef enum SigKind {
    SIG_SPECIAL,
    SIG__, SIG__i, SIG__I, SIG__f, SIG__F,
    SIG_i_i, SIG_i_I, SIG_i_f, SIG_i_F,
    SIG_I_i, SIG_I_I, SIG_I_f, SIG_I_F,
    SIG_f_i, SIG_f_I, SIG_f_f, SIG_f_F,
    SIG_F_i, SIG_F_I, SIG_F_f, SIG_F_F,
    SIG_ii_i, SIG_II_I, SIG_II_i, SIG_ff_f, SIG_ff_i, SIG_FF_F, SIG_FF_i,
    SIG_ii_, SIG_iI_, SIG_if_, SIG_iF_, SIG_iii_,
} SigKind;

/* Blocktype: BLOCKTYPE_EMPTY, or a value type (VT_*, positive), or a type index. */
#define BLOCKTYPE_EMPTY (-1)

typedef struct Instr {
    Opcode op;
    uint32_t offset;                 /* byte offset of the opcode in the module */
    union {
        struct {                     /* IMM_BLOCK */
            bool is_index;           /* true: typeidx holds a type index */
            ValType valtype;         /* single result, if !is_index and !empty */
            bool empty;
            uint32_t typeidx;
        } block;
        uint32_t index;              /* LABEL FUNC LOCAL GLOBAL TABLE DATA ELEM */
        struct { uint32_t typeidx, tableidx; } call_indirect;
        struct { uint32_t align, offset; } memarg;
        struct {                     /* IMM_BR_TABLE */
            uint32_t count;          /* number of labels before the default */
            const uint8_t *labels;   /* count+1 LEB128 labelidx, default last; read with reader_u32 */
        } br_table;
        int32_t i32;
        int64_t i64;
        uint32_t f32_bits;
        uint64_t f64_bits;
        ValType reftype;             /* IMM_REFTYPE and IMM_SELECT_T */
        struct { uint32_t a, b; } pair; /* ELEM_TABLE: elem,table; TABLE_TABLE: dst,src; DATA_MEMORY: data,0 */
    } imm;
} Instr;

/* Decode the instruction at r->p and advance past it. On failure (unknown opcode,
 * truncated or over-long immediates) fills err as LOAD_MALFORMED and returns false.
 * SIMD (0xFD) is reported as LOAD_UNSUPPORTED. */
bool instr_decode(Reader *r, Instr *out, LoadError *err);

/* Static facts about an opcode, from opcodes.def. */
const char *instr_name(Opcode op);     /* "i32.add"; "?" if unknown */
ImmKind instr_imm_kind(Opcode op);
SigKind instr_sig(Opcode op);
unsigned instr_width(Opcode op);       /* bytes accessed by a load/store, else 0 */

/* Walk the body of function `funcidx` of a loaded (so already valid) module with the
 * validator itself (validate.c), calling `visit` before each instruction with the height
 * of the operand stack at that point — the number the compiler turns into a slot — and
 * whether the instruction is unreachable (where the height means little: the spec's
 * stack is polymorphic there). For tools (`lvm dis`); false with err filled if funcidx
 * is imported or out of range. */
typedef void (*InstrVisitor)(void *ctx, const Instr *in, uint32_t height, bool unreachable);
bool loader_walk_heights(const Module *m, uint32_t funcidx, InstrVisitor visit, void *ctx,
                         LoadError *err);

#endif
