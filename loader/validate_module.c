/*
 * validate_module.c — pass 2 at module level (spec 3.4): every index points at something,
 * limits are in range, constant expressions are constant and of the right type, export
 * names are distinct, the start function has type [] -> []; then each function body is
 * handed to validate.c. Also computes FuncType.canon.
 *
 * The order of the checks follows the reference interpreter's (valid.ml), so that a
 * module with several problems reports the same one the spec tests expect.
 *
 * Read next: validate.c.
 */
#include <stdlib.h>
#include <string.h>

#include "loader_internal.h"

#define MAX_MEMORY_PAGES 65536u   /* 4 GiB of 64 KiB pages (spec 3.2.7) */

static bool invalid_at(LoadError *err, const char *section, uint32_t offset, const char *fmt,
                       uint32_t a) __attribute__((format(printf, 4, 0)));

static bool invalid_at(LoadError *err, const char *section, uint32_t offset, const char *fmt,
                       uint32_t a)
{
    return load_fail(err, LOAD_INVALID, section, offset, fmt, a);
}

/* spec 3.2.1: min <= range, max <= range, min <= max. */
static bool check_limits(const Limits *l, uint64_t range, const char *range_msg,
                         const char *section, uint32_t offset, LoadError *err)
{
    if (l->min > range || (l->has_max && l->max > range))
        return load_fail(err, LOAD_INVALID, section, offset, "%s", range_msg);
    if (l->has_max && l->min > l->max)
        return load_fail(err, LOAD_INVALID, section, offset,
                         "size minimum must not be greater than maximum (%u > %u)",
                         l->min, l->max);
    return true;
}

static bool check_memory_limits(const Limits *l, const char *section, uint32_t offset,
                                LoadError *err)
{
    return check_limits(l, MAX_MEMORY_PAGES, "memory size must be at most 65536 pages (4GiB)",
                        section, offset, err);
}

static bool check_imports(const Module *m, const DecodeExtras *x, LoadError *err)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const Import *im = &m->imports[i];
        uint32_t at = x->import_offsets[i];
        switch (im->kind) {
        case EXTERN_FUNC:
            if (m->funcs[im->index].typeidx >= m->ntypes)
                return invalid_at(err, "import", at, "unknown type %u",
                                  m->funcs[im->index].typeidx);
            break;
        case EXTERN_TABLE:
            if (!check_limits(&m->tables[im->index].type.limits, UINT32_MAX, "table size",
                              "import", at, err))
                return false;
            break;
        case EXTERN_MEMORY:
            if (!check_memory_limits(&m->memories[im->index].limits, "import", at, err))
                return false;
            break;
        case EXTERN_GLOBAL:
            break;
        }
    }
    for (uint32_t i = m->nimported_funcs; i < m->nfuncs; i++)
        if (m->funcs[i].typeidx >= m->ntypes)
            return invalid_at(err, "function", x->func_offsets[i - m->nimported_funcs],
                              "unknown type %u", m->funcs[i].typeidx);
    return true;
}

static bool check_tables_memories(const Module *m, const DecodeExtras *x, LoadError *err)
{
    for (uint32_t i = m->nimported_tables; i < m->ntables; i++)
        if (!check_limits(&m->tables[i].type.limits, UINT32_MAX, "table size", "table",
                          x->table_offsets[i - m->nimported_tables], err))
            return false;
    for (uint32_t i = m->nimported_memories; i < m->nmemories; i++)
        if (!check_memory_limits(&m->memories[i].limits, "memory",
                                 x->memory_offsets[i - m->nimported_memories], err))
            return false;
    return true;
}

static bool check_segments(const Module *m, const DecodeExtras *x, LoadError *err)
{
    for (uint32_t i = 0; i < m->nelems; i++) {
        const ElemSegment *e = &m->elems[i];
        uint32_t at = x->elem_offsets[i];
        if (e->mode == SEG_ACTIVE) {
            if (e->table >= m->ntables)
                return invalid_at(err, "element", at, "unknown table %u", e->table);
            if (m->tables[e->table].type.elem != e->type)
                return invalid_at(err, "element", at,
                                  "type mismatch: segment type differs from table %u's",
                                  e->table);
        }
        for (uint32_t k = 0; k < e->count; k++)
            if (e->inits[k].kind == CONST_REF_FUNC && e->inits[k].index >= m->nfuncs)
                return invalid_at(err, "element", at, "unknown function %u",
                                  e->inits[k].index);
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const DataSegment *s = &m->datas[i];
        if (s->mode == SEG_ACTIVE && s->memory >= m->nmemories)
            return invalid_at(err, "data", x->data_offsets[i], "unknown memory %u",
                              s->memory);
    }
    return true;
}

/* C.refs (spec 3.4.10): the functions named outside function bodies — in element
 * segments, global initializers and exports. ref.func in a body may only name these. */
static uint8_t *declared_refs(const Module *m)
{
    uint8_t *refs = calloc((size_t)m->nfuncs / 8 + 1, 1);
    if (!refs)
        return NULL;
    /* Exports are checked later (reference order), so guard every index here. */
#define DECLARE(idx) ((idx) < m->nfuncs ? (void)(refs[(idx) / 8] |= (uint8_t)(1u << ((idx) % 8))) \
                                        : (void)0)
    for (uint32_t i = 0; i < m->nelems; i++)
        for (uint32_t k = 0; k < m->elems[i].count; k++)
            if (m->elems[i].inits[k].kind == CONST_REF_FUNC)
                DECLARE(m->elems[i].inits[k].index);
    for (uint32_t i = m->nimported_globals; i < m->nglobals; i++)
        if (m->globals[i].init.kind == CONST_REF_FUNC)
            DECLARE(m->globals[i].init.index);
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == EXTERN_FUNC)
            DECLARE(m->exports[i].index);
#undef DECLARE
    return refs;
}

static bool check_bodies(Module *m, LoadError *err)
{
    uint8_t *refs = declared_refs(m);
    if (!refs)
        return load_fail(err, LOAD_NO_MEMORY, "code", 0, "out of memory");
    bool ok = true;
    for (uint32_t i = m->nimported_funcs; i < m->nfuncs && ok; i++)
        ok = validate_function(m, i, refs, &m->funcs[i].max_height, err);
    free(refs);
    return ok;
}

static bool check_start(const Module *m, const DecodeExtras *x, LoadError *err)
{
    if (!m->has_start)
        return true;
    if (m->start >= m->nfuncs)
        return invalid_at(err, "start", x->start_offset, "unknown function %u", m->start);
    const FuncType *t = &m->types[m->funcs[m->start].typeidx];
    if (t->nparams || t->nresults)
        return invalid_at(err, "start", x->start_offset,
                          "start function %u must have type [] -> []", m->start);
    return true;
}

static int compare_names(const void *a, const void *b)
{
    const Name *x = *(const Name *const *)a, *y = *(const Name *const *)b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->str, y->str, x->len);
}

/* Export names must be distinct (3.4.10); sorted so a module with many exports does not
 * cost n^2 comparisons. */
static bool check_exports(const Module *m, const DecodeExtras *x, LoadError *err)
{
    static const char *const what[] = { "function", "table", "memory", "global" };
    for (uint32_t i = 0; i < m->nexports; i++) {
        const Export *e = &m->exports[i];
        uint32_t limit = e->kind == EXTERN_FUNC ? m->nfuncs : e->kind == EXTERN_TABLE ? m->ntables
                       : e->kind == EXTERN_MEMORY ? m->nmemories : m->nglobals;
        if (e->index >= limit)
            return load_fail(err, LOAD_INVALID, "export", x->export_offsets[i], "unknown %s %u",
                             what[e->kind], e->index);
    }
    if (m->nexports < 2)
        return true;
    const Name **names = malloc(m->nexports * sizeof *names);
    if (!names)
        return load_fail(err, LOAD_NO_MEMORY, "export", 0, "out of memory");
    for (uint32_t i = 0; i < m->nexports; i++)
        names[i] = &m->exports[i].name;
    qsort(names, m->nexports, sizeof *names, compare_names);
    bool ok = true;
    for (uint32_t i = 1; i < m->nexports && ok; i++)
        if (compare_names(&names[i - 1], &names[i]) == 0)
            ok = load_fail(err, LOAD_INVALID, "export", 0, "duplicate export name \"%s\"",
                           names[i]->str);
    free(names);
    return ok;
}

/* ---- canonical type indices ------------------------------------------------------- */

static bool same_type(const FuncType *x, const FuncType *y)
{
    return x->nparams == y->nparams && x->nresults == y->nresults &&
           (x->nparams + x->nresults == 0 ||
            !memcmp(x->types, y->types, (x->nparams + x->nresults) * sizeof(ValType)));
}

/* Orders types by shape, and equal types by their position in the array. */
static int compare_types(const void *a, const void *b)
{
    const FuncType *x = *(const FuncType *const *)a, *y = *(const FuncType *const *)b;
    if (x->nparams != y->nparams)
        return x->nparams < y->nparams ? -1 : 1;
    if (x->nresults != y->nresults)
        return x->nresults < y->nresults ? -1 : 1;
    if (x->nparams + x->nresults) {
        int c = memcmp(x->types, y->types, (x->nparams + x->nresults) * sizeof(ValType));
        if (c)
            return c;
    }
    return x < y ? -1 : x > y;
}

/* FuncType.canon = the index of the first structurally equal type. Sorting puts equal
 * types next to each other, lowest index first, in n log n even for huge type sections. */
static bool compute_canon(Module *m, LoadError *err)
{
    if (m->ntypes == 0)
        return true;
    FuncType **order = malloc(m->ntypes * sizeof *order);
    if (!order)
        return load_fail(err, LOAD_NO_MEMORY, "type", 0, "out of memory");
    for (uint32_t i = 0; i < m->ntypes; i++)
        order[i] = &m->types[i];
    qsort(order, m->ntypes, sizeof *order, compare_types);
    const FuncType *first = order[0];
    for (uint32_t k = 0; k < m->ntypes; k++) {
        if (!same_type(first, order[k]))
            first = order[k];
        order[k]->canon = (uint32_t)(first - m->types);
    }
    free(order);
    return true;
}

bool validate_module(Module *m, DecodeExtras *x, LoadError *err)
{
    if (!compute_canon(m, err) || !check_imports(m, x, err))
        return false;
    for (uint32_t i = 0; i < x->nexprs; i++)
        if (!validate_const_expr(m, &x->exprs[i], err))
            return false;
    if (!check_tables_memories(m, x, err) || !check_segments(m, x, err) ||
        !check_bodies(m, err) || !check_start(m, x, err) || !check_exports(m, x, err))
        return false;
    if (m->nmemories > 1)
        return load_fail(err, LOAD_INVALID, "memory", 0, "multiple memories (%u)",
                         m->nmemories);
    return true;
}
