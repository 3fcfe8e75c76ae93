/*
 * disasm.c — reading threaded code back: how long each instruction is, and what its
 * operand cells mean, printed with the frame's own names for slots.
 *
 * Where it sits: beside compile.c, which writes the code this reads. `lvm dis`
 * (tools/dis.c) prints it next to the Wasm instructions it came from; docs/internals.md
 * quotes that listing.
 *
 * What each operand cell means is written once per handler: in handlers.def (its third
 * column) for the handlers that are not Wasm instructions, and, for those that are,
 * derived below from opcodes.def's immediate kind and signature — the same facts
 * compile.c follows when it lays the operands out (compile_simple, compile_load_store).
 *
 * Slot names: L0.. are the function's parameters and declared locals, `zero` is the
 * frame's always-zero slot (compile.c's zero_slot: constant 0, null, and the base of
 * constant addresses), S0.. the operand stack (S0 is the slot of stack height 0).
 * Branch targets are absolute cell numbers, @N.
 *
 * Read next: tools/dis.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../loader/instr.h"
#include "vm_internal.h"

/* Number of cells of the instruction at pc (its handler cell included). */
uint32_t vm_instr_cells(Handler h, const Cell *pc)
{
    switch (h) {
    case H_UNREACHABLE: case H_DONE: return 1;
    case H_BR_TABLE: return 2 + pc[1].si.imm + 1;
    case H_CALL: case H_CALL_INDIRECT: case H_CONST64:
    case H_MEMORY_INIT: case H_MEMORY_COPY: case H_MEMORY_FILL:
    case H_TABLE_GROW: case H_TABLE_FILL: case H_TABLE_COPY: case H_TABLE_INIT:
        return 3;
    default:
        break;
    }
#define HANDLER(name, cells, operands) if (h == H_##name) return cells;
#include "handlers.def"
#undef HANDLER
    return 2;
}

bool vm_handler_is_super(Handler h)
{
    return h >= H_I32_ADD_IMM && h < H_COUNT;   /* handlers.def keeps them last */
}

/* The operand template of a handler that runs a Wasm instruction: compile.c's layouts.
 * (%x: cell 2 as an unsigned index; %F: cell 2 as the callee; %T: the br_table;
 * %R: RETURN's values, C of them from B; %P: cell 2 as two 32-bit indices.) */
static const char *wasm_operands(Handler h)
{
    switch (h) {
    case H_UNREACHABLE: return "";
    case H_BR: return "-> %o";
    case H_BR_IF: return "%A -> %o";
    case H_BR_TABLE: return "%A -> %T";
    case H_RETURN: return "%R";
    case H_CALL: return "%F, args at %A";
    case H_CALL_INDIRECT: return "table %x type %u [%B], args at %A";
    case H_SELECT: return "%A <- %B ? %C : %D";
    case H_GLOBAL_GET: return "%A <- global %u";
    case H_GLOBAL_SET: return "global %u <- %A";
    case H_REF_FUNC: return "%A <- func %u";
    case H_REF_IS_NULL: return "%A <- %B";
    case H_MEMORY_SIZE: return "%A";
    case H_MEMORY_GROW: return "%A <- %B";
    case H_MEMORY_FILL: return "dst %A, value %B, len %C";
    case H_MEMORY_COPY: return "dst %A, src %B, len %C";
    case H_MEMORY_INIT: return "data %x: dst %A, src %B, len %C";
    case H_DATA_DROP: return "data %u";
    case H_TABLE_GET: return "%A <- table %u [%B]";
    case H_TABLE_SET: return "table %u [%A] <- %B";
    case H_TABLE_SIZE: return "%A <- table %u";
    case H_TABLE_GROW: return "%A <- table %x grow by %C, init %B";
    case H_TABLE_FILL: return "table %x: at %A, value %B, len %C";
    case H_TABLE_COPY: return "tables %P (dst, src): dst %A, src %B, len %C";
    case H_TABLE_INIT: return "elem, table %P: dst %A, src %B, len %C";
    case H_ELEM_DROP: return "elem %u";
    default: break;
    }
    return NULL;
}

static const char *operand_template(Handler h)
{
    const char *t = wasm_operands(h);
    if (t)
        return t;
    switch (h) {
#define HANDLER(name, cells, operands) case H_##name: return operands;
#include "handlers.def"
#undef HANDLER
    default: break;
    }
    /* A Wasm instruction with a fixed signature: loads, stores, numeric operations. */
    Opcode op = 0;
    bool found = false;
#define OP(name, code, imm, sig, width) if (h == H_##name) { op = OP_##name; found = true; }
#include "../loader/opcodes.def"
#undef OP
    if (!found || instr_sig(op) == SIG_SPECIAL)
        return "";                  /* never emitted: compile.c has no run-time form for it */
    if (instr_imm_kind(op) == IMM_MEMARG)
        return instr_sig(op) >= SIG_ii_ ? "[%A + %u] <- %B" : "%A <- [%B + %u]";
    switch (instr_sig(op)) {
    case SIG_ii_i: case SIG_II_I: case SIG_II_i: case SIG_ff_f: case SIG_ff_i:
    case SIG_FF_F: case SIG_FF_i:
        return "%A <- %B, %C";
    default:
        return "%A <- %B";
    }
}

/* Append to a bounded buffer; output past its end is cut, never overrun. */
typedef struct Out {
    char *p;
    size_t len, at;
} Out;

static void put(Out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(Out *o, const char *fmt, ...)
{
    if (o->at >= o->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->at, o->len - o->at, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->at += (size_t)n < o->len - o->at ? (size_t)n : o->len - o->at - 1;
}

static void put_slot(Out *o, const CompiledFunc *cf, uint32_t s)
{
    uint32_t zero = cf->nparams + cf->nlocals - 1;   /* cf->nlocals counts the zero slot */
    if (s < zero)
        put(o, "L%u", s);
    else if (s == zero)
        put(o, "zero");
    else
        put(o, "S%u", s - zero - 1);
}

/* The shortest decimal that reads back as the same float: the same text on every host. */
static void put_float(Out *o, uint64_t bits, bool is_f64)
{
    char buf[40];
    if (is_f64) {
        double d;
        memcpy(&d, &bits, 8);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            double back;
            if (sscanf(buf, "%lf", &back) == 1 && memcmp(&back, &d, 8) == 0)
                break;
        }
    } else {
        uint32_t b = (uint32_t)bits;
        float f;
        memcpy(&f, &b, 4);
        for (int prec = 1; prec <= 9; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
            float back;
            if (sscanf(buf, "%f", &back) == 1 && memcmp(&back, &f, 4) == 0)
                break;
        }
    }
    put(o, "%s", buf);
}

/* A constant of unknown type (CONST32 / CONST64 carry integers and floats alike): the
 * bits in decimal, and in hex too when they are big enough to be a float's. */
static void put_const(Out *o, int64_t v, uint64_t bits)
{
    put(o, "%" PRId64, v);
    if (v > 0xFFFF || v < -0xFFFF)
        put(o, " (0x%" PRIx64 ")", bits);
}

static void put_target(Out *o, uint32_t at, int64_t off)
{
    put(o, "@%" PRId64, (int64_t)at + off);
}

/* A slot's value as a type of the signature letters (loader/instr.h: i i32, I i64,
 * f f32, F f64); '?' when the handler does not say (moves, calls, select): then the
 * low half if the high half is zero, else all 64 bits. */
static void put_value(Out *o, Slot v, char type)
{
    switch (type) {
    case 'i': put(o, "%" PRId32, v.i32); break;
    case 'I': put(o, "%" PRId64, v.i64); break;
    case 'f': put_float(o, v.u32, false); break;
    case 'F': put_float(o, v.u64, true); break;
    default:
        if (v.u64 >> 32)
            put(o, "%" PRId64, v.i64);
        else
            put(o, "%" PRId32, v.i32);
        break;
    }
}

/* With values (vm_disasm_values): the frame, the handler's signature ("ii_i": what it
 * reads, then what it writes; "" if unknown), how many slots were read so far, and the
 * slot written (the one a template puts before " <-"), for the caller to show later. */
typedef struct Values {
    const Slot *fp;
    const char *sig;
    unsigned nread;
    int32_t dest;
    char dest_type;
} Values;

/* The type letter of the k-th value the signature reads, or of its first result. */
static char sig_type(const char *sig, unsigned k, bool result)
{
    const char *results = strchr(sig, '_');
    if (!results)
        return '?';
    if (result)
        return results[1] ? results[1] : '?';
    return sig + k < results ? sig[k] : '?';
}

static void put_slot_field(Out *o, const CompiledFunc *cf, uint32_t s, Values *v, const char *rest)
{
    put_slot(o, cf, s);
    if (!v)
        return;
    if (strncmp(rest, " <-", 3) == 0) {
        v->dest = (int32_t)s;
        v->dest_type = sig_type(v->sig, 0, true);
        return;
    }
    put(o, " (");
    put_value(o, v->fp[s], sig_type(v->sig, v->nread++, false));
    put(o, ")");
}

/* One %-field of a template (see handlers.def and wasm_operands); `rest` is the
 * template after it. */
static void put_field(Out *o, const CompiledFunc *cf, uint32_t at, char f, Values *v,
                      const char *rest)
{
    const Cell *pc = vm_func_code(cf) + at;
    Cell op = pc[1];
    switch (f) {
    case 'A': put_slot_field(o, cf, op.s.a, v, rest); break;
    case 'B': put_slot_field(o, cf, op.s.b, v, rest); break;
    case 'C': put_slot_field(o, cf, op.s.c, v, rest); break;
    case 'D': put_slot_field(o, cf, op.s.d, v, rest); break;
    case 'i': put(o, "%" PRId32, (int32_t)op.si.imm); break;
    case 'u': put(o, "%" PRIu32, op.si.imm); break;
    case 'f': put_float(o, op.si.imm, false); break;
    case 'o': put_target(o, at, (int32_t)op.si.imm); break;
    case 'h': put_const(o, (int32_t)op.si.imm, op.si.imm); break;
    case 'H': put_const(o, pc[2].i64, pc[2].u64); break;
    case 'K': put(o, "%" PRId64, pc[2].i64); break;
    case 'k': put(o, "%" PRId32, (int32_t)(uint32_t)pc[2].u64); break;
    case 'd': put_float(o, pc[2].u64, true); break;
    case 'x': put(o, "%" PRIu64, pc[2].u64); break;
    case 'P':
        put(o, "%" PRIu32 ", %" PRIu32, (uint32_t)pc[2].u64, (uint32_t)(pc[2].u64 >> 32));
        break;
    case 'F': put(o, "func %" PRIu32, pc[2].callee->funcidx); break;   /* never the pointer */
    case 'R':
        if (op.s.c == 0) {
            put(o, "nothing");
        } else {
            put_slot(o, cf, op.s.b);
            if (op.s.c > 1) {
                put(o, "..");
                put_slot(o, cf, op.s.b + op.s.c - 1u);
            }
        }
        break;
    case 'T':
        put(o, "[");
        for (uint32_t i = 0; i < op.si.imm; i++) {
            put(o, "%s", i ? " " : "");
            put_target(o, at, pc[2 + i].i64);
        }
        put(o, "] default ");
        put_target(o, at, pc[2 + op.si.imm].i64);
        break;
    default: put(o, "%%%c", f); break;
    }
}

static uint32_t disasm(char *buf, size_t len, const CompiledFunc *cf, uint32_t at, Values *v)
{
    Out o = { buf, len, 0 };
    if (len)
        buf[0] = '\0';
    const Cell *code = vm_func_code(cf);
    Handler h = vm_cell_handler(code[at]);
    const char *t = operand_template(h);
    put(&o, "%-20s", vm_handler_name(h));
    if (*t)
        put(&o, " ");
    for (; *t; t++) {
        if (*t == '%' && t[1]) {
            t++;
            put_field(&o, cf, at, *t, v, t + 1);
        } else {
            put(&o, "%c", *t);
        }
    }
    while (o.at > 0 && buf[o.at - 1] == ' ')      /* no trailing blanks: listings are diffed */
        buf[--o.at] = '\0';
    return vm_instr_cells(h, code + at);
}

uint32_t vm_disasm_instr(char *buf, size_t len, const CompiledFunc *cf, uint32_t at)
{
    return disasm(buf, len, cf, at, NULL);
}

uint32_t vm_disasm_values(char *buf, size_t len, const CompiledFunc *cf, uint32_t at,
                          const Slot *fp, const char *sig, int32_t *dest, char *dest_type)
{
    Values v = { fp, sig, 0, -1, '?' };
    uint32_t n = disasm(buf, len, cf, at, &v);
    *dest = v.dest;
    *dest_type = v.dest_type;
    return n;
}

void vm_slot_text(char *buf, size_t len, Slot value, char type)
{
    Out o = { buf, len, 0 };
    if (len)
        buf[0] = '\0';
    put_value(&o, value, type);
}

void vm_disasm_function(FILE *out, const CompiledFunc *cf)
{
    if (!vm_func_code(cf)) {
        fprintf(out, "func %u: %u params, %u locals, %u frame slots, not compiled yet\n",
                cf->funcidx, cf->nparams, cf->nlocals, cf->frame_slots);
        return;
    }
    fprintf(out, "func %u: %u params, %u locals, %u frame slots, %u cells\n", cf->funcidx,
            cf->nparams, cf->nlocals, cf->frame_slots, cf->ncells);
    char line[512];
    for (uint32_t at = 0; at < cf->ncells;) {
        uint32_t n = vm_disasm_instr(line, sizeof line, cf, at);
        fprintf(out, "  %5u  %s\n", at, line);
        at += n;
    }
}
