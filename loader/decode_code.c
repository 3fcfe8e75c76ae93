/*
 * decode_code.c — pass 1 for the sections that carry code and data (spec 5.5.12–5.5.16):
 * element segments, function bodies, data segments; and the scan that checks a body or a
 * constant expression is a well-formed sequence of instructions.
 *
 * A body is only scanned here (opcodes exist, immediates are well encoded, blocks are
 * closed); its types are checked by validate.c in pass 2. The scan still has to follow
 * block nesting to find which `end` closes the body.
 *
 * Read next: validate_module.c (pass 2), validate.c (function bodies).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader_internal.h"

/*
 * The scan follows the nesting of blocks the way the reference decoder parses them: an
 * instruction sequence ends at `end` or `else`, and `else` is only allowed once, right
 * after the `then` branch of an `if` ("END opcode expected" otherwise). Frame kinds are
 * kept in a stack that starts on the C stack and moves to the heap if nesting is deep.
 */
enum { FRAME_BLOCK, FRAME_IF, FRAME_ELSE };

typedef struct ScanStack {
    uint8_t *kinds;
    uint32_t n, cap;
    uint8_t inline_kinds[64];
} ScanStack;

static bool scan_push(ScanStack *s, uint8_t kind)
{
    if (s->n == s->cap) {
        uint32_t cap = 2 * s->cap;
        uint8_t *p = s->kinds == s->inline_kinds ? malloc(cap) : realloc(s->kinds, cap);
        if (!p)
            return false;
        if (s->kinds == s->inline_kinds)
            memcpy(p, s->inline_kinds, s->n);
        s->kinds = p;
        s->cap = cap;
    }
    s->kinds[s->n++] = kind;
    return true;
}

static bool scan_instr(ScanStack *s, const Instr *in, const char *section, uint32_t *data_use,
                       LoadError *err)
{
    switch (in->op) {
    case OP_BLOCK: case OP_LOOP: case OP_IF:
        if (!scan_push(s, in->op == OP_IF ? FRAME_IF : FRAME_BLOCK))
            return load_fail(err, LOAD_NO_MEMORY, section, in->offset, "out of memory");
        break;
    case OP_ELSE:
        if (s->kinds[s->n - 1] != FRAME_IF)
            return load_fail(err, LOAD_MALFORMED, section, in->offset,
                             "END opcode expected (else without if)");
        s->kinds[s->n - 1] = FRAME_ELSE;
        break;
    case OP_END:
        s->n--;
        break;
    case OP_MEMORY_INIT: case OP_DATA_DROP:
        if (data_use && *data_use == 0)
            *data_use = in->offset + 1;
        break;
    default:
        break;
    }
    return true;
}

bool decode_scan_expr(Reader *r, const char *section, uint32_t *data_use, LoadError *err)
{
    ScanStack s = { .cap = sizeof s.inline_kinds };
    s.kinds = s.inline_kinds;
    s.kinds[s.n++] = FRAME_BLOCK;   /* the implicit block of the body or expression */
    bool ok = true;
    while (ok && s.n > 0) {
        Instr in;
        if (!instr_decode(r, &in, err)) {
            err->section = section;
            if (err->kind == LOAD_MALFORMED && !strncmp(err->message, "unexpected end", 14))
                snprintf(err->message, sizeof err->message,
                         "unexpected end of section or function");
            ok = false;
            break;
        }
        ok = scan_instr(&s, &in, section, data_use, err);
    }
    if (s.kinds != s.inline_kinds)
        free(s.kinds);
    return ok;
}

/* ---- element section (5.5.12) ----------------------------------------------------- */

static bool decode_elem_items(Decoder *d, ElemSegment *e, bool exprs)
{
    uint32_t n;
    if (!dec_count(d, &n) || !dec_alloc(d, (void **)&e->inits, n, sizeof *e->inits))
        return false;
    e->count = n;
    for (uint32_t k = 0; k < e->count; k++) {
        if (exprs) {
            if (!dec_const_expr(d, &e->inits[k], e->type, CONSTCTX_ELEM))
                return false;
        } else {
            e->inits[k] = (ConstExpr){ .kind = CONST_REF_FUNC, .type = VT_FUNCREF };
            if (!dec_u32(d, &e->inits[k].index))
                return false;
        }
    }
    return true;
}

/*
 * The flags word of a segment says three things (spec 5.5.12):
 *   bit 0  passive or declarative (1) / active (0)
 *   bit 1  active: an explicit table index follows; otherwise: declarative (1)
 *   bit 2  items are expressions (1) / function indices (0)
 * Forms other than 0 and 4 carry an elemkind byte (function indices) or a reftype.
 */
static bool decode_elem(Decoder *d, ElemSegment *e)
{
    uint32_t flags;
    const uint8_t *at = d->r.p;
    if (!dec_u32(d, &flags))
        return false;
    if (flags > 7)
        return dec_fail(d, at, "malformed elements segment kind %u", flags);
    e->type = VT_FUNCREF;
    if (!(flags & 1)) {
        e->mode = SEG_ACTIVE;
        if ((flags & 2) && !dec_u32(d, &e->table))
            return false;
        if (!dec_const_expr(d, &e->offset, VT_I32, CONSTCTX_OFFSET))
            return false;
    } else {
        e->mode = (flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE;
    }
    if (flags & 3) {
        if (flags & 4) {
            if (!dec_reftype(d, &e->type))
                return false;
        } else {
            uint8_t kind;
            at = d->r.p;
            if (!dec_u8(d, &kind))
                return false;
            if (kind != 0x00)
                return dec_fail(d, at, "malformed element kind 0x%02x", kind);
        }
    }
    return decode_elem_items(d, e, flags & 4);
}

bool decode_element_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) ||
        !dec_alloc(d, (void **)&m->elems, n, sizeof *m->elems) ||
        !dec_alloc(d, (void **)&d->x->elem_offsets, n, sizeof(uint32_t)))
        return false;
    m->nelems = n;   /* zeroed entries are safe to free if we stop early */
    for (uint32_t i = 0; i < n; i++) {
        d->x->elem_offsets[i] = (uint32_t)(d->r.p - d->r.base);
        if (!decode_elem(d, &m->elems[i]))
            return false;
    }
    return true;
}

/* ---- data section (5.5.14) -------------------------------------------------------- */

static bool decode_data(Decoder *d, DataSegment *s)
{
    uint32_t flags, len;
    const uint8_t *at = d->r.p;
    if (!dec_u32(d, &flags))
        return false;
    switch (flags) {
    case 0:
        s->mode = SEG_ACTIVE;
        if (!dec_const_expr(d, &s->offset, VT_I32, CONSTCTX_OFFSET))
            return false;
        break;
    case 1:
        s->mode = SEG_PASSIVE;
        break;
    case 2:
        s->mode = SEG_ACTIVE;
        if (!dec_u32(d, &s->memory) ||
            !dec_const_expr(d, &s->offset, VT_I32, CONSTCTX_OFFSET))
            return false;
        break;
    default:
        return dec_fail(d, at, "malformed data segment kind %u", flags);
    }
    at = d->r.p;
    if (!dec_count(d, &len))
        return false;
    if (!reader_bytes(&d->r, len, &s->bytes))
        return dec_fail(d, at, "unexpected end of section or function "
                               "(data segment of %u bytes)", len);
    s->len = len;
    return true;
}

bool decode_data_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) ||
        !dec_alloc(d, (void **)&m->datas, n, sizeof *m->datas) ||
        !dec_alloc(d, (void **)&d->x->data_offsets, n, sizeof(uint32_t)))
        return false;
    m->ndatas = n;
    for (uint32_t i = 0; i < n; i++) {
        d->x->data_offsets[i] = (uint32_t)(d->r.p - d->r.base);
        if (!decode_data(d, &m->datas[i]))
            return false;
    }
    return true;
}

/* ---- code section (5.5.13) -------------------------------------------------------- */

/* locals: vec(count valtype). Summed first (the counts may be huge), allocated after. */
static bool decode_locals(Decoder *d, Func *f)
{
    uint32_t ngroups, count;
    ValType t;
    const uint8_t *at = d->r.p;
    if (!dec_count(d, &ngroups))
        return false;
    Reader groups = d->r;
    uint64_t total = 0;
    for (uint32_t g = 0; g < ngroups; g++) {
        if (!dec_u32(d, &count) || !dec_valtype(d, &t))
            return false;
        total += count;
        if (total > LOADER_MAX_LOCALS)   /* also catches sums over 2^32-1 (spec 5.5.13) */
            return dec_fail(d, at, "too many locals (more than %u)", LOADER_MAX_LOCALS);
    }
    if (!dec_alloc(d, (void **)&f->local_types, (size_t)total, sizeof(ValType)))
        return false;
    f->nlocals = (uint32_t)total;
    d->r = groups;   /* read the groups again, now into the array */
    uint32_t k = 0;
    for (uint32_t g = 0; g < ngroups; g++) {
        if (!dec_u32(d, &count) || !dec_valtype(d, &t))
            return false;
        for (uint32_t j = 0; j < count; j++)
            f->local_types[k++] = t;
    }
    return true;
}

/* One function body: size, locals, instructions. As for sections, the instructions are
 * read up to their final `end` and then the size is checked. */
static bool decode_body(Decoder *d, Func *f)
{
    uint32_t size;
    if (!dec_count(d, &size))
        return false;
    size_t body_end = (size_t)(d->r.p - d->r.base) + size;   /* an offset: may lie */
    if (!decode_locals(d, f))
        return false;
    f->code = d->r.p;
    f->code_offset = (uint32_t)(d->r.p - d->r.base);
    if (!decode_scan_expr(&d->r, "code", &d->x->data_use, d->err))
        return false;
    if ((size_t)(d->r.p - d->r.base) != body_end)
        return dec_fail(d, d->r.p, "section size mismatch (function body of %u bytes)", size);
    f->code_len = (uint32_t)(d->r.p - f->code);
    return true;
}

bool decode_code_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    const uint8_t *at = d->r.p;
    if (!dec_count(d, &n))
        return false;
    if (n != m->nfuncs - m->nimported_funcs)
        return dec_fail(d, at, "function and code section have inconsistent lengths "
                               "(%u functions, %u bodies)",
                        m->nfuncs - m->nimported_funcs, n);
    for (uint32_t i = 0; i < n; i++)
        if (!decode_body(d, &m->funcs[m->nimported_funcs + i]))
            return false;
    return true;
}
