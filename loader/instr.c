/*
 * instr.c — decoding one instruction (spec 5.4), and the static facts about each opcode.
 *
 * The table `op_info` is expanded from opcodes.def, indexed by the opcode's byte (or by
 * 0x100 + the sub-opcode for the 0xFC group), so every list of opcodes in lvm comes from
 * that one file. instr_decode() reads the opcode and its immediates; it knows nothing of
 * types or index spaces — that is validate.c's job, and vm/compile.c relies on a body
 * having been validated before it walks it with the same function.
 *
 * Read next: decode.c (sections), validate.c (typing these instructions).
 */
#include <ctype.h>
#include <pthread.h>
#include <string.h>

#include "loader_internal.h"

/* Index into op_info: one-byte opcodes at their byte, 0xFCnn at 0x100 + nn. */
#define OP_SLOT(code) ((code) < 0x100 ? (code) : 0x100 + ((code) & 0xFF))
#define OP_SLOTS 0x120

typedef struct OpInfo {
    const char *enum_name;   /* "I32_ADD": turned into "i32.add" by instr_name */
    uint8_t imm, sig, width;
    bool known;
} OpInfo;

static const OpInfo op_info[OP_SLOTS] = {
#define OP(name, code, imm, sig, width) \
    [OP_SLOT(code)] = { #name, imm, sig, width, true },
#include "opcodes.def"
#undef OP
};

static const OpInfo *info(Opcode op)
{
    unsigned code = (unsigned)op;
    if (code >= 0x100 && (code >> 8) != 0xFC)
        return NULL;
    if (code >= 0x100 && (code & 0xFF) >= OP_SLOTS - 0x100)
        return NULL;
    const OpInfo *i = &op_info[OP_SLOT(code)];
    return i->known ? i : NULL;
}

/*
 * Spec mnemonics from the enum names: lower-case, and the first '_' becomes '.' when
 * what precedes it is a type or a namespace ("I32_ADD" → "i32.add", "LOCAL_GET" →
 * "local.get", but "BR_IF" → "br_if"). SELECT_T is the typed form of "select".
 */
static char op_names[OP_SLOTS][28];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void build_names(void)
{
    static const char *const spaces[] = { "i32", "i64", "f32", "f64", "local", "global",
                                          "table", "memory", "ref", "data", "elem" };
    for (unsigned s = 0; s < OP_SLOTS; s++) {
        if (!op_info[s].known)
            continue;
        char *out = op_names[s];
        const char *in = op_info[s].enum_name;
        size_t n = strlen(in);
        if (n >= sizeof op_names[s])
            n = sizeof op_names[s] - 1;
        for (size_t k = 0; k < n; k++)
            out[k] = (char)tolower((unsigned char)in[k]);
        out[n] = 0;
        if (strcmp(out, "select_t") == 0)
            out[6] = 0;
        char *us = strchr(out, '_');
        if (!us)
            continue;
        for (size_t k = 0; k < sizeof spaces / sizeof spaces[0]; k++)
            if ((size_t)(us - out) == strlen(spaces[k]) && !strncmp(out, spaces[k], us - out))
                *us = '.';
    }
}

const char *instr_name(Opcode op)
{
    const OpInfo *i = info(op);
    if (!i)
        return "?";
    pthread_once(&names_once, build_names);
    return op_names[OP_SLOT((unsigned)op)];
}

ImmKind instr_imm_kind(Opcode op)
{
    const OpInfo *i = info(op);
    return i ? (ImmKind)i->imm : IMM_NONE;
}

SigKind instr_sig(Opcode op)
{
    const OpInfo *i = info(op);
    return i ? (SigKind)i->sig : SIG_SPECIAL;
}

unsigned instr_width(Opcode op)
{
    const OpInfo *i = info(op);
    return i ? i->width : 0;
}

/* ---- decoding -------------------------------------------------------------------- */

static bool malformed(LoadError *err, const Reader *r, const uint8_t *at, const char *msg)
{
    return load_fail(err, LOAD_MALFORMED, "code", (size_t)(at - r->base), "%s", msg);
}

#define READ(fn, ...)                                                    \
    do {                                                                 \
        const uint8_t *at_ = r->p;                                       \
        if (!fn(r, __VA_ARGS__))                                         \
            return malformed(err, r, at_, reader_error);                 \
    } while (0)

static bool zero_byte(Reader *r, LoadError *err)
{
    uint8_t b;
    READ(reader_u8, &b);
    if (b != 0)
        return malformed(err, r, r->p - 1, "zero byte expected");
    return true;
}

/* A value type byte (spec 5.3.1–5.3.3). The reference decoder reads it as a one-byte
 * signed LEB128, so a continuation bit is "integer representation too long". */
static bool read_valtype_byte(Reader *r, bool ref_only, ValType *out, LoadError *err)
{
    uint8_t b;
    READ(reader_u8, &b);
    if (b & 0x80)
        return malformed(err, r, r->p - 1, READER_TOO_LONG);
    switch (b) {
    case VT_FUNCREF: case VT_EXTERNREF:
        *out = (ValType)b;
        return true;
    case VT_I32: case VT_I64: case VT_F32: case VT_F64:
        if (!ref_only) {
            *out = (ValType)b;
            return true;
        }
        break;
    case VT_V128:
        if (!ref_only)
            return load_fail(err, LOAD_UNSUPPORTED, "code", (size_t)(r->p - 1 - r->base),
                             "SIMD is not supported (v128)");
        break;
    }
    return malformed(err, r, r->p - 1,
                     ref_only ? "malformed reference type" : "malformed value type");
}

/* blocktype (spec 5.4.1): 0x40, a value type, or a non-negative s33 type index. */
static bool read_blocktype(Reader *r, Instr *in, LoadError *err)
{
    memset(&in->imm.block, 0, sizeof in->imm.block);
    if (r->p >= r->end)
        return malformed(err, r, r->p, READER_END);
    uint8_t b = *r->p;
    if (b == 0x40) {
        r->p++;
        in->imm.block.empty = true;
        return true;
    }
    if (!(b & 0x80) && (b & 0x40))     /* a negative one-byte s33: must be a value type */
        return read_valtype_byte(r, false, &in->imm.block.valtype, err);
    int64_t idx;
    READ(reader_s33, &idx);
    if (idx < 0 || idx > UINT32_MAX)
        return malformed(err, r, r->p, "malformed block type");
    in->imm.block.is_index = true;
    in->imm.block.typeidx = (uint32_t)idx;
    return true;
}

/* br_table: keep a pointer to the labels and skip them, checking each one's encoding. */
static bool read_br_table(Reader *r, Instr *in, LoadError *err)
{
    uint32_t count, label;
    READ(reader_u32, &count);
    if (count > (size_t)(r->end - r->p))           /* each label takes at least a byte */
        return malformed(err, r, r->p, READER_END);
    in->imm.br_table.count = count;
    in->imm.br_table.labels = r->p;
    for (uint64_t k = 0; k <= count; k++)
        READ(reader_u32, &label);
    return true;
}

static bool read_select_t(Reader *r, Instr *in, LoadError *err)
{
    uint32_t n;
    READ(reader_u32, &n);
    if (n != 1)    /* Wasm 2.0: exactly one type; more is a future (multi-value) form */
        return load_fail(err, LOAD_INVALID, "code", in->offset, "invalid result arity");
    return read_valtype_byte(r, false, &in->imm.reftype, err);
}

static bool read_immediates(Reader *r, Instr *in, ImmKind kind, LoadError *err)
{
    const uint8_t *raw;
    switch (kind) {
    case IMM_NONE: return true;
    case IMM_BLOCK: return read_blocktype(r, in, err);
    case IMM_BR_TABLE: return read_br_table(r, in, err);
    case IMM_LABEL: case IMM_FUNC: case IMM_LOCAL: case IMM_GLOBAL:
    case IMM_TABLE: case IMM_DATA: case IMM_ELEM:
        READ(reader_u32, &in->imm.index);
        return true;
    case IMM_CALL_INDIRECT:
        READ(reader_u32, &in->imm.call_indirect.typeidx);
        READ(reader_u32, &in->imm.call_indirect.tableidx);
        return true;
    case IMM_MEMARG:
        READ(reader_u32, &in->imm.memarg.align);
        READ(reader_u32, &in->imm.memarg.offset);
        return true;
    case IMM_MEMORY: return zero_byte(r, err);
    case IMM_I32: READ(reader_s32, &in->imm.i32); return true;
    case IMM_I64: READ(reader_s64, &in->imm.i64); return true;
    case IMM_F32:
        READ(reader_bytes, 4, &raw);
        in->imm.f32_bits = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 |
                           (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24;
        return true;
    case IMM_F64:
        READ(reader_bytes, 8, &raw);
        in->imm.f64_bits = 0;
        for (int k = 7; k >= 0; k--)
            in->imm.f64_bits = in->imm.f64_bits << 8 | raw[k];
        return true;
    case IMM_REFTYPE: return read_valtype_byte(r, true, &in->imm.reftype, err);
    case IMM_SELECT_T: return read_select_t(r, in, err);
    case IMM_DATA_MEMORY:
        READ(reader_u32, &in->imm.pair.a);
        in->imm.pair.b = 0;
        return zero_byte(r, err);
    case IMM_MEMORY_MEMORY:
        in->imm.pair.a = in->imm.pair.b = 0;
        return zero_byte(r, err) && zero_byte(r, err);
    case IMM_ELEM_TABLE: case IMM_TABLE_TABLE:
        READ(reader_u32, &in->imm.pair.a);
        READ(reader_u32, &in->imm.pair.b);
        return true;
    }
    return malformed(err, r, r->p, "bad immediate kind");
}

bool instr_decode(Reader *r, Instr *out, LoadError *err)
{
    const uint8_t *start = r->p;
    uint8_t b;
    READ(reader_u8, &b);
    unsigned code = b;
    if (b == 0xFC) {
        uint32_t sub;
        READ(reader_u32, &sub);
        if (sub >= OP_SLOTS - 0x100)
            return malformed(err, r, start, "illegal opcode");
        code = 0xFC00 | sub;
    } else if (b == 0xFD) {
        return load_fail(err, LOAD_UNSUPPORTED, "code", (size_t)(start - r->base),
                         "SIMD is not supported (opcode 0xfd)");
    }
    const OpInfo *i = info((Opcode)code);
    if (!i) {
        load_fail(err, LOAD_MALFORMED, "code", (size_t)(start - r->base),
                  "illegal opcode 0x%x", code);
        return false;
    }
    out->op = (Opcode)code;
    out->offset = (uint32_t)(start - r->base);
    return read_immediates(r, out, (ImmKind)i->imm, err);
}
