/*
 * decode.c — pass 1 of the loader: the module's sections (spec 5.5), into a Module.
 *
 * decode_module() checks the header, then walks the sections in order. Like the spec's
 * reference decoder, a section's contents are read with only the end of the module as
 * the bound, and the declared size is checked afterwards ("section size mismatch"): the
 * spec tests expect the messages that this order produces. Every length and count is
 * first checked against the bytes left ("length out of bounds"), so no lie in the input
 * can make us read past the buffer or allocate more than the input's size justifies.
 * This file has the sections that declare things (types, imports, functions, tables,
 * memories, globals, exports, start, custom); decode_code.c has those that carry code and
 * data (element, data count, code, data).
 *
 * Nothing here checks types or indices: that is pass 2 (validate_module.c). The only
 * errors reported here are LOAD_MALFORMED (and LOAD_NO_MEMORY).
 *
 * Read next: decode_code.c, then validate_module.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader_internal.h"

/* ---- helpers shared with decode_code.c ------------------------------------------ */

bool dec_fail(Decoder *d, const uint8_t *at, const char *fmt, ...)
{
    LoadError *err = d->err;
    err->kind = LOAD_MALFORMED;
    err->section = d->section;
    err->offset = (size_t)(at - d->r.base);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

/* A Reader failure inside a section. Running off the section's end is reported the way
 * the reference interpreter does; its message begins with "unexpected end". */
static bool reader_failed(Decoder *d, const uint8_t *at)
{
    if (reader_error == READER_END)
        return dec_fail(d, at, "unexpected end of section or function");
    return dec_fail(d, at, "%s", reader_error);
}

bool dec_u8(Decoder *d, uint8_t *out)
{
    const uint8_t *at = d->r.p;
    return reader_u8(&d->r, out) || reader_failed(d, at);
}

bool dec_u32(Decoder *d, uint32_t *out)
{
    const uint8_t *at = d->r.p;
    return reader_u32(&d->r, out) || reader_failed(d, at);
}

bool dec_count(Decoder *d, uint32_t *out)
{
    const uint8_t *at = d->r.p;
    if (!dec_u32(d, out))
        return false;
    if (*out > (size_t)(d->r.end - at))
        return dec_fail(d, at, "length out of bounds (%u)", *out);
    return true;
}

bool dec_alloc(Decoder *d, void **out, size_t n, size_t size)
{
    *out = NULL;
    if (n == 0)
        return true;
    *out = calloc(n, size);
    if (!*out)
        return load_fail(d->err, LOAD_NO_MEMORY, d->section, (size_t)(d->r.p - d->r.base),
                         "out of memory");
    return true;
}

/* name (spec 5.2.4): vec(byte) that must be valid UTF-8. */
bool dec_name(Decoder *d, Name *out)
{
    uint32_t len;
    const uint8_t *at = d->r.p, *bytes;
    if (!dec_count(d, &len))
        return false;
    if (!reader_bytes(&d->r, len, &bytes))
        return reader_failed(d, at);
    if (!loader_utf8_valid(bytes, len))
        return dec_fail(d, at, "malformed UTF-8 encoding");
    out->str = malloc((size_t)len + 1);
    if (!out->str)
        return load_fail(d->err, LOAD_NO_MEMORY, d->section, (size_t)(at - d->r.base),
                         "out of memory");
    memcpy(out->str, bytes, len);
    out->str[len] = 0;
    out->len = len;
    return true;
}

/* Value types are one byte, but the reference decoder reads them as a signed LEB128
 * (so a continuation bit is "integer representation too long"). */
static bool dec_type_byte(Decoder *d, ValType *out, bool ref_only)
{
    uint8_t b;
    const uint8_t *at = d->r.p;
    if (!dec_u8(d, &b))
        return false;
    if (b & 0x80)
        return dec_fail(d, at, "integer representation too long");
    if (b == VT_FUNCREF || b == VT_EXTERNREF ||
        (!ref_only && (b == VT_I32 || b == VT_I64 || b == VT_F32 || b == VT_F64))) {
        *out = (ValType)b;
        return true;
    }
    if (b == VT_V128 && !ref_only)
        return load_fail(d->err, LOAD_UNSUPPORTED, d->section, (size_t)(at - d->r.base),
                         "SIMD is not supported (v128)");
    return dec_fail(d, at, ref_only ? "malformed reference type 0x%02x"
                                    : "malformed value type 0x%02x", b);
}

bool dec_valtype(Decoder *d, ValType *out) { return dec_type_byte(d, out, false); }
bool dec_reftype(Decoder *d, ValType *out) { return dec_type_byte(d, out, true); }

/* limits (spec 5.3.7): a flag byte, min, and max when the flag is 1. */
static bool dec_limits(Decoder *d, Limits *out)
{
    uint8_t flag;
    const uint8_t *at = d->r.p;
    if (!dec_u8(d, &flag))
        return false;
    /* The flag was a varuint1 in the MVP: over-long and over-large are told apart. */
    if (flag & 0x80)
        return dec_fail(d, at, "integer representation too long (limits flag)");
    if (flag > 1)
        return dec_fail(d, at, "integer too large (limits flag 0x%02x)", flag);
    out->has_max = flag == 1;
    if (!dec_u32(d, &out->min))
        return false;
    out->max = 0;
    return !out->has_max || dec_u32(d, &out->max);
}

static bool dec_table_type(Decoder *d, TableType *out)
{
    return dec_reftype(d, &out->elem) && dec_limits(d, &out->limits);
}

static bool dec_global_type(Decoder *d, GlobalType *out)
{
    uint8_t mut;
    if (!dec_valtype(d, &out->type))
        return false;
    const uint8_t *at = d->r.p;
    if (!dec_u8(d, &mut))
        return false;
    if (mut > 1)
        return dec_fail(d, at, "malformed mutability");
    out->mutable_ = mut == 1;
    return true;
}

bool dec_const_expr(Decoder *d, ConstExpr *out, ValType expected, ConstContext ctx)
{
    DecodeExtras *x = d->x;
    const uint8_t *start = d->r.p;
    if (!decode_scan_expr(&d->r, d->section, NULL, d->err))
        return false;
    if (x->nexprs == x->cap_exprs) {
        uint32_t cap = x->cap_exprs ? 2 * x->cap_exprs : 16;
        PendingExpr *e = realloc(x->exprs, cap * sizeof *e);
        if (!e)
            return load_fail(d->err, LOAD_NO_MEMORY, d->section, 0, "out of memory");
        x->exprs = e;
        x->cap_exprs = cap;
    }
    memset(out, 0, sizeof *out);
    out->type = expected;
    x->exprs[x->nexprs++] = (PendingExpr){ out, start, d->r.p - 1, expected, ctx,
                                           d->section };
    return true;
}

/* ---- the declaring sections ----------------------------------------------------- */

/* Type section (5.5.4): vec(functype), functype = 0x60 vec(valtype) vec(valtype). */
static bool decode_type_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) || !dec_alloc(d, (void **)&m->types, n, sizeof *m->types))
        return false;
    m->ntypes = n;   /* only now, so that a failure never leaves a count without its array */
    for (uint32_t i = 0; i < m->ntypes; i++) {
        FuncType *t = &m->types[i];
        const uint8_t *at = d->r.p;
        uint8_t form;
        if (!dec_u8(d, &form))
            return false;
        if (form & 0x80)
            return dec_fail(d, at, "integer representation too long");
        if (form != 0x60)
            return dec_fail(d, at, "malformed function type 0x%02x", form);
        uint32_t np, nr;
        ValType buf[2 * LOADER_MAX_PARAMS];
        if (!dec_count(d, &np))
            return false;
        if (np > LOADER_MAX_PARAMS)
            return load_fail(d->err, LOAD_UNSUPPORTED, d->section, (size_t)(at - d->r.base),
                             "too many parameters (%u)", np);
        for (uint32_t k = 0; k < np; k++)
            if (!dec_valtype(d, &buf[k]))
                return false;
        if (!dec_count(d, &nr))
            return false;
        if (nr > LOADER_MAX_PARAMS)
            return load_fail(d->err, LOAD_UNSUPPORTED, d->section, (size_t)(at - d->r.base),
                             "too many results (%u)", nr);
        for (uint32_t k = 0; k < nr; k++)
            if (!dec_valtype(d, &buf[np + k]))
                return false;
        t->nparams = np;
        t->nresults = nr;
        /* never NULL, even for [] -> [], so functype_results() is always defined */
        if (!dec_alloc(d, (void **)&t->types, np + nr + 1, sizeof(ValType)))
            return false;
        if (np + nr)
            memcpy(t->types, buf, (np + nr) * sizeof(ValType));
    }
    return true;
}

static bool decode_import_desc(Decoder *d, Import *im)
{
    Module *m = d->m;
    switch (im->kind) {
    case EXTERN_FUNC: {
        Func *f = &m->funcs[m->nfuncs];
        im->index = m->nfuncs++;
        m->nimported_funcs++;
        f->imported = true;
        return dec_u32(d, &f->typeidx);
    }
    case EXTERN_TABLE:
        im->index = m->ntables++;
        m->nimported_tables++;
        m->tables[im->index].imported = true;
        return dec_table_type(d, &m->tables[im->index].type);
    case EXTERN_MEMORY:
        im->index = m->nmemories++;
        m->nimported_memories++;
        m->memories[im->index].imported = true;
        return dec_limits(d, &m->memories[im->index].limits);
    case EXTERN_GLOBAL:
        im->index = m->nglobals++;
        m->nimported_globals++;
        m->globals[im->index].imported = true;
        return dec_global_type(d, &m->globals[im->index].type);
    }
    return false;
}

/* Import section (5.5.5). Per-kind arrays are sized for the worst case (every import of
 * that kind); the defining sections later grow them. */
static bool decode_import_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) ||
        !dec_alloc(d, (void **)&m->imports, n, sizeof *m->imports) ||
        !dec_alloc(d, (void **)&d->x->import_offsets, n, sizeof(uint32_t)) ||
        !dec_alloc(d, (void **)&m->funcs, n, sizeof *m->funcs) ||
        !dec_alloc(d, (void **)&m->tables, n, sizeof *m->tables) ||
        !dec_alloc(d, (void **)&m->memories, n, sizeof *m->memories) ||
        !dec_alloc(d, (void **)&m->globals, n, sizeof *m->globals))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        Import *im = &m->imports[i];
        d->x->import_offsets[i] = (uint32_t)(d->r.p - d->r.base);
        m->nimports = i + 1;              /* so the names are freed on failure */
        if (!dec_name(d, &im->module) || !dec_name(d, &im->name))
            return false;
        const uint8_t *at = d->r.p;
        uint8_t kind;
        if (!dec_u8(d, &kind))
            return false;
        if (kind > EXTERN_GLOBAL)
            return dec_fail(d, at, "malformed import kind 0x%02x", kind);
        im->kind = (ExternKind)kind;
        if (!decode_import_desc(d, im))
            return false;
    }
    return true;
}

/* Grow *arr from `have` to `have + add` items of `size` bytes, zeroing the new ones. */
static bool grow(Decoder *d, void **arr, uint32_t have, uint32_t add, size_t size)
{
    if (add == 0)
        return true;
    if ((uint64_t)have + add > UINT32_MAX)
        return dec_fail(d, d->r.p, "too many definitions");
    void *p = realloc(*arr, ((size_t)have + add) * size);
    if (!p)
        return load_fail(d->err, LOAD_NO_MEMORY, d->section, 0, "out of memory");
    memset((char *)p + (size_t)have * size, 0, (size_t)add * size);
    *arr = p;
    return true;
}

/* Function section (5.5.6): the type index of each defined function. Their bodies come
 * later, in the code section. */
static bool decode_function_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) ||
        !grow(d, (void **)&m->funcs, m->nfuncs, n, sizeof *m->funcs) ||
        !dec_alloc(d, (void **)&d->x->func_offsets, n, sizeof(uint32_t)))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        d->x->func_offsets[i] = (uint32_t)(d->r.p - d->r.base);
        if (!dec_u32(d, &m->funcs[m->nfuncs].typeidx))
            return false;
        m->nfuncs++;
    }
    return true;
}

static bool decode_table_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) ||
        !grow(d, (void **)&m->tables, m->ntables, n, sizeof *m->tables) ||
        !dec_alloc(d, (void **)&d->x->table_offsets, n, sizeof(uint32_t)))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        d->x->table_offsets[i] = (uint32_t)(d->r.p - d->r.base);
        if (!dec_table_type(d, &m->tables[m->ntables].type))
            return false;
        m->ntables++;
    }
    return true;
}

static bool decode_memory_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) ||
        !grow(d, (void **)&m->memories, m->nmemories, n, sizeof *m->memories) ||
        !dec_alloc(d, (void **)&d->x->memory_offsets, n, sizeof(uint32_t)))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        d->x->memory_offsets[i] = (uint32_t)(d->r.p - d->r.base);
        if (!dec_limits(d, &m->memories[m->nmemories].limits))
            return false;
        m->nmemories++;
    }
    return true;
}

/* Global section (5.5.9): globaltype expr. The array is not reallocated afterwards, so
 * the PendingExpr pointers into it stay valid. */
static bool decode_global_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) ||
        !grow(d, (void **)&m->globals, m->nglobals, n, sizeof *m->globals))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        Global *g = &m->globals[m->nglobals];
        if (!dec_global_type(d, &g->type) ||
            !dec_const_expr(d, &g->init, g->type.type, CONSTCTX_GLOBAL))
            return false;
        m->nglobals++;
    }
    return true;
}

static bool decode_export_section(Decoder *d)
{
    Module *m = d->m;
    uint32_t n;
    if (!dec_count(d, &n) ||
        !dec_alloc(d, (void **)&m->exports, n, sizeof *m->exports) ||
        !dec_alloc(d, (void **)&d->x->export_offsets, n, sizeof(uint32_t)))
        return false;
    for (uint32_t i = 0; i < n; i++) {
        Export *e = &m->exports[i];
        d->x->export_offsets[i] = (uint32_t)(d->r.p - d->r.base);
        m->nexports = i + 1;
        if (!dec_name(d, &e->name))
            return false;
        const uint8_t *at = d->r.p;
        uint8_t kind;
        if (!dec_u8(d, &kind))
            return false;
        if (kind > EXTERN_GLOBAL)
            return dec_fail(d, at, "malformed export kind 0x%02x", kind);
        e->kind = (ExternKind)kind;
        if (!dec_u32(d, &e->index))
            return false;
    }
    return true;
}

static bool decode_start_section(Decoder *d)
{
    d->x->start_offset = (uint32_t)(d->r.p - d->r.base);
    d->m->has_start = true;
    return dec_u32(d, &d->m->start);
}

static bool decode_datacount_section(Decoder *d)
{
    d->m->has_data_count = true;
    return dec_u32(d, &d->x->data_count);  /* checked against the data section at the end */
}

/* Custom section (5.5.3): a name and any bytes. Kept as they are; the "name" section is
 * interpreted at the end of decoding, when the function index space is known. */
static bool decode_custom_section(Decoder *d)
{
    Module *m = d->m;
    if (!grow(d, (void **)&m->customs, m->ncustoms, 1, sizeof *m->customs))
        return false;
    CustomSection *c = &m->customs[m->ncustoms++];
    if (!dec_name(d, &c->name))
        return false;
    if (d->r.p > d->section_end)   /* the name ran past the section */
        return dec_fail(d, d->section_end, "unexpected end (custom section name)");
    c->bytes = d->r.p;
    c->len = (uint32_t)(d->section_end - d->r.p);
    d->r.p = d->section_end;
    return true;
}

/* ---- the module ------------------------------------------------------------------- */

static const char *const section_names[13] = {
    "custom", "type", "import", "function", "table", "memory", "global", "export",
    "start", "element", "code", "data", "datacount",
};

/* Sections must appear in this order (spec 5.5.2); the data count section (12) sits
 * between element (9) and code (10). */
static int section_rank(uint8_t id)
{
    static const int rank[13] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10 };
    return rank[id];
}

static bool decode_section_body(Decoder *d, uint8_t id)
{
    switch (id) {
    case 0: return decode_custom_section(d);
    case 1: return decode_type_section(d);
    case 2: return decode_import_section(d);
    case 3: return decode_function_section(d);
    case 4: return decode_table_section(d);
    case 5: return decode_memory_section(d);
    case 6: return decode_global_section(d);
    case 7: return decode_export_section(d);
    case 8: return decode_start_section(d);
    case 9: return decode_element_section(d);
    case 10: return decode_code_section(d);
    case 11: return decode_data_section(d);
    case 12: return decode_datacount_section(d);
    }
    return false;
}

static bool decode_header(Decoder *d)
{
    static const uint8_t magic[4] = { 0x00, 0x61, 0x73, 0x6D }, version[4] = { 1, 0, 0, 0 };
    const uint8_t *p = d->r.p;
    size_t avail = (size_t)(d->r.end - p);
    d->section = "header";
    if (avail < 4)
        return dec_fail(d, p + avail, "unexpected end (no magic header)");
    if (memcmp(p, magic, 4) != 0)
        return dec_fail(d, p, "magic header not detected");
    if (avail < 8)
        return dec_fail(d, p + avail, "unexpected end (no binary version)");
    if (memcmp(p + 4, version, 4) != 0)
        return dec_fail(d, p + 4, "unknown binary version");
    d->r.p += 8;
    return true;
}

/*
 * One section: id, size, contents. `whole` is the module's reader. Like the reference
 * decoder, we read the contents with only the module's end as the bound and check the
 * size afterwards ("section size mismatch"); which message a truncated or overlong
 * section gets depends on that, and the spec tests check the messages.
 */
static bool decode_one_section(Decoder *d, Reader *whole, int *last_rank, bool *seen_code)
{
    const uint8_t *at = whole->p;
    uint8_t id = *whole->p++;
    uint32_t size;
    d->section = id < 13 ? section_names[id] : "?";
    d->r = *whole;
    if (id > 12)
        return dec_fail(d, at, "malformed section id %u", id);
    if (!dec_count(d, &size))
        return false;
    if (id != 0) {
        if (section_rank(id) <= *last_rank)
            return dec_fail(d, at, "unexpected content after last section "
                                   "(%s section out of order or repeated)", d->section);
        *last_rank = section_rank(id);
    }
    if (size > (size_t)(d->r.end - d->r.p))
        return dec_fail(d, d->r.p, "unexpected end of section or function");
    d->section_end = d->r.p + size;
    if (id == 10)
        *seen_code = true;
    if (id == 11)
        d->x->seen_data = true;
    if (!decode_section_body(d, id))
        return false;
    if (d->r.p != d->section_end)
        return dec_fail(d, d->r.p, "section size mismatch");
    whole->p = d->section_end;
    return true;
}

bool decode_module(Module *m, DecodeExtras *x, LoadError *err)
{
    Decoder d = { .m = m, .x = x, .err = err };
    Reader whole = { m->bytes, m->bytes + m->size, m->bytes };
    int last_rank = 0;
    bool seen_code = false;
    d.r = whole;
    if (!decode_header(&d))
        return false;
    whole.p = d.r.p;
    while (whole.p < whole.end)
        if (!decode_one_section(&d, &whole, &last_rank, &seen_code))
            return false;
    d.r = whole;
    d.section = "code";
    if (!seen_code && m->nfuncs > m->nimported_funcs)
        return dec_fail(&d, whole.end, "function and code section have inconsistent lengths");
    d.section = "data";
    if (m->has_data_count && x->data_count != m->ndatas)
        return dec_fail(&d, whole.end,
                        "data count and data section have inconsistent lengths");
    d.section = "code";
    if (!m->has_data_count && x->data_use && x->seen_data)
        return dec_fail(&d, m->bytes + x->data_use - 1, "data count section required");
    for (uint32_t i = 0; i < m->ncustoms; i++)
        if (strcmp(m->customs[i].name.str, "name") == 0)
            names_read(m, m->customs[i].bytes, m->customs[i].len);
    return true;
}

void decode_extras_free(DecodeExtras *x)
{
    free(x->exprs);
    free(x->import_offsets);
    free(x->func_offsets);
    free(x->export_offsets);
    free(x->table_offsets);
    free(x->memory_offsets);
    free(x->elem_offsets);
    free(x->data_offsets);
    memset(x, 0, sizeof *x);
}
