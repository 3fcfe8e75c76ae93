/*
 * instance.c — instantiation (spec 4.5.4): bind imports, create memories, tables and
 * globals, copy the active segments in, run the start function.
 *
 * Where it sits: between the compiled module (compile.c, shared by all instances; its
 * functions are compiled at their first call, so instantiating one compiles nothing) and
 * a run (exec.c). An Instance owns only what is per-instance: its Function objects (which
 * tie the shared code to this instance), its memory, tables and globals. Imported ones
 * are shared with their exporter by reference count.
 *
 * Read next: exec.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/loader.h"
#include "bulk.h"
#include "vm_internal.h"

bool functype_equal(const FuncType *a, const FuncType *b)
{
    if (a->nparams != b->nparams || a->nresults != b->nresults)
        return false;
    /* A loop, not memcmp: a few types each, compared for every import at every spawn. */
    for (uint32_t i = 0, n = a->nparams + a->nresults; i < n; i++)
        if (a->types[i] != b->types[i])
            return false;
    return true;
}

/* ---- Host functions ------------------------------------------------------------------ */

Function *vm_host_function_new(const ValType *params, uint32_t nparams, const ValType *results,
                               uint32_t nresults, HostFn fn, void *env, const char *name)
{
    HostFunction *h = calloc(1, sizeof *h);
    ValType *types = calloc((size_t)nparams + nresults + 1, sizeof(ValType));
    char *nm = strdup(name ? name : "host");
    if (!h || !types || !nm) {
        free(h);
        free(types);
        free(nm);
        return NULL;
    }
    if (nparams)
        memcpy(types, params, nparams * sizeof(ValType));
    if (nresults)
        memcpy(types + nparams, results, nresults * sizeof(ValType));
    h->type = (FuncType){ nparams, nresults, types, 0 };
    h->fn.type = &h->type;
    h->many = nparams > 64 || nresults > 64;
    for (uint32_t i = 0; !h->many && i < nparams + nresults; i++)
        if (types[i] == VT_I32 || types[i] == VT_F32) {
            if (i < nparams)
                h->narrow_params |= 1ull << i;
            else
                h->narrow_results |= 1ull << (i - nparams);
        }
    h->fn.u.host = h;
    h->call = fn;
    h->env = env;
    h->name = nm;
    return &h->fn;
}

void vm_host_function_free(Function *f)
{
    if (!f)
        return;
    HostFunction *h = f->u.host;
    free(h->type.types);
    free(h->name);
    free(h);
}

void vm_function_type(const Function *f, const ValType **params, uint32_t *nparams,
                      const ValType **results, uint32_t *nresults)
{
    *params = f->type->types;
    *nparams = f->type->nparams;
    *results = f->type->types + f->type->nparams;
    *nresults = f->type->nresults;
}

/* ---- Import matching (spec 4.5.2) ---------------------------------------------------- */

static bool limits_match(uint64_t size, bool has_max, uint64_t max, const Limits *want)
{
    if (size < want->min)
        return false;
    if (want->has_max && (!has_max || max > want->max))
        return false;
    return true;
}

bool vm_extern_matches(const Module *m, const Import *imp, const Extern *ext, char *why, size_t len)
{
    bool ok = ext->kind == imp->kind;
    if (ok) {
        switch (imp->kind) {
        case EXTERN_FUNC:
            ok = functype_equal(ext->u.func->type, &m->types[m->funcs[imp->index].typeidx]);
            break;
        case EXTERN_TABLE: {
            const TableType *tt = &m->tables[imp->index].type;
            const TableInst *t = ext->u.table;
            ok = t->elem == tt->elem && limits_match(t->size, t->has_max, t->max, &tt->limits);
            break;
        }
        case EXTERN_MEMORY: {
            const MemoryInst *mem = ext->u.memory;
            ok = limits_match(mem->size / 65536, mem->has_max, mem->max_pages,
                              &m->memories[imp->index].limits);
            break;
        }
        case EXTERN_GLOBAL: {
            const GlobalType *gt = &m->globals[imp->index].type;
            ok = ext->u.global->type == gt->type && ext->u.global->mutable_ == gt->mutable_;
            break;
        }
        }
    }
    if (!ok && why)
        snprintf(why, len, "incompatible import type for %s.%s", imp->module.str, imp->name.str);
    return ok;
}

/* ---- Instantiation -------------------------------------------------------------------- */

static Value eval_const(Instance *inst, const ConstExpr *e)
{
    switch (e->kind) {
    case CONST_VALUE: return e->value;
    case CONST_REF_NULL: return 0;
    case CONST_REF_FUNC: return (Value)(uintptr_t)inst->funcs[e->index];
    case CONST_GLOBAL_GET: return value_from_slot(e->type, inst->globals[e->index]->value);
    }
    return 0;
}

/* `matched`: InstanceLimits.imports_match (matching took 5% of a spawn, for imports
 * that matched at the spawn before). */
static bool bind_imports(Instance *inst, const Extern *imports, bool matched, VmError *err)
{
    Module *m = inst->module;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const Import *imp = &m->imports[i];
        const Extern *ext = &imports[i];
        if (!matched && !vm_extern_matches(m, imp, ext, err->message, sizeof err->message)) {
            err->kind = VM_LINK;
            return false;
        }
        switch (imp->kind) {
        case EXTERN_FUNC: inst->funcs[imp->index] = ext->u.func; break;
        case EXTERN_TABLE: inst->tables[imp->index] = table_retain(ext->u.table); break;
        case EXTERN_MEMORY:
            inst->memory = memory_retain(ext->u.memory);
            inst->has_memory = true;
            break;
        case EXTERN_GLOBAL: inst->globals[imp->index] = global_retain(ext->u.global); break;
        }
    }
    return true;
}

static bool create_own(Instance *inst, const InstanceLimits *limits, VmError *err)
{
    Module *m = inst->module;
    /* Per spawn, once per function of the module: the arrays are read through locals, as
     * a store through a Function pointer could otherwise alias any of them, and the type
     * comes from the compiled function (&m->types[typeidx] already, one load nearer). */
    const CompiledFunc *code = inst->code->funcs;
    uint32_t first = m->nimported_funcs;
    Function *own = inst->own_funcs, **slot = inst->funcs + first;
    for (uint32_t i = 0, n = m->nfuncs - first; i < n; i++) {
        own[i] = (Function){ code[i].type, inst, { .cf = &code[i] } };
        slot[i] = &own[i];
    }
    for (uint32_t i = m->nimported_tables; i < m->ntables; i++) {
        const TableType *tt = &m->tables[i].type;
        inst->tables[i] = vm_table_new(tt->elem, tt->limits.min, tt->limits.max, tt->limits.has_max);
        if (!inst->tables[i])
            goto no_memory;
    }
    if (m->nmemories > m->nimported_memories) {
        Limits l = m->memories[0].limits;
        uint32_t cap = limits ? limits->max_memory_pages : 0;
        if (cap && l.min > cap) {
            err->kind = VM_NO_MEMORY;
            snprintf(err->message, sizeof err->message,
                     "memory of %u pages is over the limit of %u pages", l.min, cap);
            return false;
        }
        inst->memory = memory_create(l.min, l.max, l.has_max, cap);
        if (!inst->memory)
            goto no_memory;
        inst->has_memory = true;
    }
    if (!inst->memory && !(inst->memory = vm_memory_new(0, 0, true)))
        goto no_memory;
    for (uint32_t i = m->nimported_globals; i < m->nglobals; i++) {
        const Global *g = &m->globals[i];
        Value v = eval_const(inst, &g->init);
        GlobalInst *here = inst->globals[i];    /* in own_globals, unless exported */
        if (!here) {
            if (!(inst->globals[i] = vm_global_new(g->type.type, g->type.mutable_, v)))
                goto no_memory;
            continue;
        }
        here->value = slot_from_value(g->type.type, v);
        here->type = g->type.type;
        here->mutable_ = g->type.mutable_;
        atomic_init(&here->refs, 1);
    }
    return true;
no_memory:
    err->kind = VM_NO_MEMORY;
    snprintf(err->message, sizeof err->message, "out of memory creating the instance");
    return false;
}

/* Active segments are copied in order, elements first (spec 4.5.4 steps 14–15); a
 * segment out of bounds traps, leaving the earlier ones written. */
static bool init_segments(Instance *inst, VmError *err)
{
    Module *m = inst->module;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const ElemSegment *s = &m->elems[i];
        if (s->mode == SEG_PASSIVE)
            continue;
        inst->elem_dropped[i] = true;
        if (s->mode == SEG_DECLARATIVE)
            continue;
        inst->elem_dropped[i] = false;
        uint32_t off = (uint32_t)eval_const(inst, &s->offset);
        if (!bulk_table_init(inst, i, s->table, off, 0, s->count)) {
            err->kind = VM_TRAP;
            err->trap.kind = TRAP_TABLE_OOB;
            snprintf(err->trap.message, sizeof err->trap.message, "%s", vm_trap_message(TRAP_TABLE_OOB));
            snprintf(err->message, sizeof err->message, "%s", err->trap.message);
            return false;
        }
        inst->elem_dropped[i] = true;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const DataSegment *d = &m->datas[i];
        if (d->mode != SEG_ACTIVE)
            continue;
        uint32_t off = (uint32_t)eval_const(inst, &d->offset);
        if (!bulk_memory_init(inst, i, off, 0, d->len)) {
            err->kind = VM_TRAP;
            err->trap.kind = TRAP_MEMORY_OOB;
            snprintf(err->trap.message, sizeof err->trap.message, "%s", vm_trap_message(TRAP_MEMORY_OOB));
            snprintf(err->message, sizeof err->message, "%s", err->trap.message);
            return false;
        }
        inst->data_dropped[i] = true;
    }
    return true;
}

/* Instantiation failed after the instance's functions became reachable: through an
 * imported table they may still be called, so the caller keeps the instance. */
static Instance *fail_partial(Instance *inst, VmError *err)
{
    if (inst->module->nimported_tables > 0)
        err->partial = inst;
    else
        vm_instance_free(inst);
    return NULL;
}

/* Reserve the next `n` elements of `size` bytes, aligned to `align`, at *end; returns
 * their offset. */
static uint64_t place(uint64_t *end, size_t align, uint64_t n, size_t size)
{
    uint64_t at = (*end + align - 1) / align * align;
    *end = at + n * size;
    return at;
}

/* An Instance with its arrays in one allocation: a spawn makes one instance, and one
 * malloc for it costs less than one per array. A defined global lives in it too, unless
 * it is exported: another instance may import that one and outlive this one, so it gets
 * its own reference-counted allocation (create_own). What vm_instance_free reads, should
 * instantiation stop half-way, is zeroed (a table or global not made yet is NULL); the
 * function arrays are written before anything reads them. */
static Instance *instance_alloc(Module *m)
{
    uint32_t nown = m->nfuncs - m->nimported_funcs;
    uint32_t nglobals = m->nglobals - m->nimported_globals;
    /* What a call touches first, nearest the header: the globals (a C program's stack
     * pointer is global 0, read and written by most of its functions) and the function
     * pointers (CALL_IMPORT reads them; imports come first). The Function objects, read
     * only through a table or an export, go after them. */
    uint64_t end = sizeof(Instance);
    uint64_t globals = place(&end, _Alignof(GlobalInst *), m->nglobals, sizeof(GlobalInst *));
    uint64_t own_globals = place(&end, _Alignof(GlobalInst), nglobals, sizeof(GlobalInst));
    uint64_t tables = place(&end, _Alignof(TableInst *), m->ntables, sizeof(TableInst *));
    uint64_t funcs = place(&end, _Alignof(Function *), m->nfuncs, sizeof(Function *));
    uint64_t own_funcs = place(&end, _Alignof(Function), nown, sizeof(Function));
    uint64_t dropped = place(&end, 1, (uint64_t)m->nelems + m->ndatas, sizeof(bool));
    char *b = end <= SIZE_MAX ? malloc((size_t)end) : NULL;
    if (!b)
        return NULL;
    Instance *inst = (Instance *)b;
    *inst = (Instance){
        .module = m,
        .funcs = (Function **)(b + funcs),
        .own_funcs = (Function *)(b + own_funcs),
        .tables = (TableInst **)(b + tables),
        .globals = (GlobalInst **)(b + globals),
        .own_globals = (GlobalInst *)(b + own_globals),
        .elem_dropped = (bool *)(b + dropped),
        .data_dropped = (bool *)(b + dropped) + m->nelems,
    };
    memset(inst->tables, 0, m->ntables * sizeof(TableInst *));
    memset(inst->globals, 0, m->nimported_globals * sizeof(GlobalInst *));
    memset(inst->elem_dropped, 0, (size_t)m->nelems + m->ndatas);
    for (uint32_t i = m->nimported_globals; i < m->nglobals; i++)
        inst->globals[i] = &inst->own_globals[i - m->nimported_globals];
    if (nglobals)
        for (uint32_t i = 0; i < m->nexports; i++)
            if (m->exports[i].kind == EXTERN_GLOBAL && m->exports[i].index >= m->nimported_globals)
                inst->globals[m->exports[i].index] = NULL;
    return inst;
}

/* Not a memset of the whole VmError: it is over 3 KiB (the Trap's backtrace), and every
 * spawn instantiates. A caller reads the fields set here; an error sets the rest. */
static void error_clear(VmError *err)
{
    err->kind = VM_OK;
    err->message[0] = 0;
    err->trap.kind = TRAP_NONE;
    err->trap.message[0] = 0;
    err->trap.exit_code = 0;
    err->trap.nframes = 0;
    err->partial = NULL;
}

Instance *vm_instantiate(Module *m, const Extern *imports, Exec *exec, VmError *err)
{
    return vm_instantiate_limited(m, imports, exec, NULL, err);
}

Instance *vm_instantiate_limited(Module *m, const Extern *imports, Exec *exec,
                                 const InstanceLimits *limits, VmError *err)
{
    error_clear(err);
    Instance *inst = instance_alloc(m);
    if (!inst) {
        err->kind = VM_NO_MEMORY;
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    loader_retain(m);
    inst->code = vm_compile_module(m, err->message, sizeof err->message);
    if (!inst->code) {
        err->kind = VM_UNSUPPORTED;
        vm_instance_free(inst);
        return NULL;
    }
    bool matched = limits && limits->imports_match;
    if (!bind_imports(inst, imports, matched, err) || !create_own(inst, limits, err)) {
        vm_instance_free(inst);
        return NULL;
    }
    if (!init_segments(inst, err))
        return fail_partial(inst, err);
    if (m->has_start) {
        RunStatus st = vm_invoke(exec, inst->funcs[m->start], NULL, 0, NULL, exec->slice);
        if (st != RUN_DONE) {
            err->kind = VM_TRAP;
            err->trap = *vm_exec_trap(exec);
            snprintf(err->message, sizeof err->message, "%s", err->trap.message);
            return fail_partial(inst, err);
        }
    }
    return inst;
}

void vm_instance_free(Instance *inst)
{
    if (!inst)
        return;
    Module *m = inst->module;
    for (uint32_t i = 0; i < m->ntables; i++)
        vm_table_free(inst->tables[i]);
    for (uint32_t i = 0; i < m->nglobals; i++) {
        GlobalInst *g = inst->globals[i];
        if (i < m->nimported_globals || g != &inst->own_globals[i - m->nimported_globals])
            vm_global_free(g);    /* (the others are part of this allocation) */
    }
    vm_memory_free(inst->memory);
    loader_release(m);
    free(inst);
}

bool vm_instance_export(Instance *inst, const char *name, Extern *out)
{
    const Export *e = loader_find_export(inst->module, name);
    if (!e)
        return false;
    out->kind = e->kind;
    switch (e->kind) {
    case EXTERN_FUNC: out->u.func = inst->funcs[e->index]; break;
    case EXTERN_TABLE: out->u.table = inst->tables[e->index]; break;
    case EXTERN_MEMORY: out->u.memory = inst->memory; break;
    case EXTERN_GLOBAL: out->u.global = inst->globals[e->index]; break;
    }
    return true;
}

const Module *vm_instance_module(const Instance *inst) { return inst->module; }

Function *vm_instance_table_func(Instance *inst, uint32_t table, uint32_t index)
{
    if (table >= inst->module->ntables)
        return NULL;
    TableInst *t = inst->tables[table];
    if (t->elem != VT_FUNCREF || index >= t->size)
        return NULL;
    return (Function *)(uintptr_t)t->elems[index];
}

MemoryInst *vm_instance_memory(Instance *inst)
{
    return inst->has_memory ? inst->memory : NULL;
}

void vm_exec_set_slice(Exec *exec, int64_t slice)
{
    exec->slice = slice;
}
