/*
 * trace.c — `lvm --trace`: one line per handler run, with the values it read and wrote.
 *
 * Where it sits: beside the run loop. vm_exec_set_trace() gives an Exec a VmTrace;
 * vm_run() then runs it with vm_interp_run_traced() (interp_trace.c, interp.c compiled a
 * second time), whose dispatch calls vm_trace_step() before every handler. The normal
 * loop never sees any of this (config.h, LVM_TRACE).
 *
 * A line reads
 *
 *     [pid 1] func 0 add @0  I32_ADD              S0 <- L0 (2), L1 (3) = 5
 *
 * who runs it, the function (index and name), the instruction's first cell, and the
 * instruction as `lvm dis` prints it (vm_disasm_values in disasm.c) with each slot it
 * reads followed by its value. The value it writes is known only after it ran, so its
 * line is held back and finished (` = 5`) at the next dispatch, or by vm_trace_flush()
 * when the run stops (with the trap instead, if it trapped). Values are typed by the handler's signature (loader/opcodes.def;
 * superinstructions take their base instruction's), so an i32 prints as an i32 whatever
 * the slot's upper half holds.
 *
 * The hook only reads: the frame, the code, the module. Each Exec is run by one thread
 * at a time, so its VmTrace needs no lock; lines go out with one fputs each, which stdio
 * keeps whole when several workers trace at once.
 *
 * Read next: interp_trace.c, disasm.c.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vm_internal.h"

struct VmTrace {
    FILE *out;
    char who[32];
    char *func;                   /* the --trace=FUNC filter as given, or NULL */
    int64_t funcidx;              /* it resolved: -1 everything, -2 not yet, -3 no such */
    bool active;                  /* inside funcidx (or a callee) */
    uint32_t active_depth;        /* the frame depth at which it was entered */
    const CompiledFunc *cf;       /* the function of the last pc seen (a cache) */
    const char *cf_name;          /* its name, or NULL */
    uint32_t cf_name_len;
    /* The line of the last instruction, waiting for the value it wrote: */
    bool pending;
    size_t dest_at;               /* the slot written, as an index into exec->stack (the
                                     stack may move before the next dispatch) */
    char dest_type;
    char line[640];
};

/* ---- From handler cells and names to Handlers and signatures --------------------------- */

static struct { const void *label; Handler h; } *by_label;   /* sorted by label */
static const char *sigs[H_COUNT];                             /* "ii_i", or "" */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static int cmp_label(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    return x < y ? -1 : x > y;
}

/* Wasm instructions' names and signatures, from the one list of them. */
static const struct { const char *name; const char *sig; } wasm_ops[] = {
#define OP(name, code, imm, sig, width) { #name, #sig },
#include "../loader/opcodes.def"
#undef OP
};

static const char *wasm_sig(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof wasm_ops / sizeof wasm_ops[0]; i++)
        if (strlen(wasm_ops[i].name) == len && memcmp(wasm_ops[i].name, name, len) == 0)
            return strcmp(wasm_ops[i].sig, "SIG_SPECIAL") ? wasm_ops[i].sig + 4 : "";
    return NULL;
}

/* A handler's signature: its own if it is a Wasm instruction, else its base's — the
 * name without BR_IF_ / BR_UNLESS_ in front or _IMM / _ADD behind (I32_ADD_IMM is
 * i32.add with a constant, BR_IF_I32_LT_S is i32.lt_s fused with br_if, I64_LOAD_ADD is
 * i64.load of an address x + K). Moves and calls have none: "". */
static const char *handler_sig(const char *name)
{
    size_t len = strlen(name);
    const char *sig = wasm_sig(name, len);
    if (sig)
        return sig;
    for (const char *pre = "BR_IF_\0BR_UNLESS_\0"; *pre; pre += strlen(pre) + 1)
        if (strncmp(name, pre, strlen(pre)) == 0) {
            name += strlen(pre);
            len -= strlen(pre);
        }
    for (const char *suf = "_IMM\0_ADD\0"; *suf; suf += strlen(suf) + 1) {
        if ((sig = wasm_sig(name, len)))
            return sig;
        size_t n = strlen(suf);
        if (len > n && memcmp(name + len - n, suf, n) == 0)
            len -= n;
    }
    sig = wasm_sig(name, len);
    return sig ? sig : "";
}

static void init_tables(void)
{
    by_label = malloc(H_COUNT * sizeof *by_label);
    for (unsigned h = 0; h < H_COUNT; h++) {
        if (by_label) {
            by_label[h].label = vm_handler_cell((Handler)h).label;
            by_label[h].h = (Handler)h;
        }
        sigs[h] = handler_sig(vm_handler_name((Handler)h));
    }
    if (by_label)
        qsort(by_label, H_COUNT, sizeof *by_label, cmp_label);
}

/* The Handler of a cell: in the switch build the cell is its number; in the goto build
 * the address of a label of the normal loop, found by binary search. */
static Handler cell_handler(const Cell *pc)
{
    if (LVM_DISPATCH_SWITCH || !by_label)
        return LVM_DISPATCH_SWITCH ? (Handler)pc->handler : vm_cell_handler(*pc);
    size_t lo = 0, hi = H_COUNT;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((const char *)by_label[mid].label < (const char *)pc->label)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < H_COUNT && by_label[lo].label == pc->label ? by_label[lo].h : H_COUNT;
}

/* ---- Setting up ------------------------------------------------------------------------ */

bool vm_exec_set_trace(Exec *e, void *out, const char *who, const char *func)
{
    pthread_once(&tables_once, init_tables);
    VmTrace *t = calloc(1, sizeof *t);
    if (!t)
        return false;
    t->out = out;
    snprintf(t->who, sizeof t->who, "%s", who ? who : "");
    t->funcidx = -1;
    if (func) {
        t->func = strdup(func);
        t->funcidx = -2;
        if (!t->func) {
            free(t);
            return false;
        }
    }
    vm_trace_free(e->trace);
    e->trace = t;
    return true;
}

void vm_trace_free(VmTrace *t)
{
    if (!t)
        return;
    free(t->func);
    free(t);
}

/* --trace=FUNC: an index, a name from the name section, or an export's name. */
static int64_t resolve_func(const Module *m, const char *func)
{
    char *end;
    unsigned long n = strtoul(func, &end, 10);
    if (*func && !*end)
        return n < m->nfuncs ? (int64_t)n : -3;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        if (m->funcs[i].name && strcmp(m->funcs[i].name, func) == 0)
            return i;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const Export *x = &m->exports[i];
        if (x->kind == EXTERN_FUNC && strlen(func) == x->name.len &&
            memcmp(func, x->name.str, x->name.len) == 0)
            return x->index;
    }
    return -3;
}

/* A function's name as `lvm dis` gives it: from the name section, else an export's. */
static void func_name(const Module *m, uint32_t funcidx, const char **name, uint32_t *len)
{
    *name = m->funcs[funcidx].name;
    *len = *name ? (uint32_t)strlen(*name) : 0;
    for (uint32_t i = 0; !*name && i < m->nexports; i++)
        if (m->exports[i].kind == EXTERN_FUNC && m->exports[i].index == funcidx) {
            *name = m->exports[i].name.str;
            *len = m->exports[i].name.len;
        }
}

static bool holds(const CompiledFunc *cf, const Cell *pc)
{
    const Cell *code = vm_func_code(cf);
    return code && pc >= code && pc < code + cf->ncells;
}

/* The compiled function that holds pc, or NULL: the entry frame's DONE cell, or a stub
 * (code.h) — a function's first call compiling it, which is not shown: the next line is
 * the function's first instruction, as on every other call. */
static const CompiledFunc *function_at(VmTrace *t, const Cell *pc, const Instance *inst)
{
    if (t->cf && holds(t->cf, pc))
        return t->cf;
    const CompiledModule *cm = inst ? inst->code : NULL;
    for (uint32_t i = 0; cm && i < cm->nfuncs; i++) {
        const CompiledFunc *cf = &cm->funcs[i];
        if (holds(cf, pc)) {
            func_name(inst->module, cf->funcidx, &t->cf_name, &t->cf_name_len);
            return t->cf = cf;
        }
    }
    return NULL;
}

/* Is this instruction inside the function --trace=FUNC asked for? It is from the
 * moment that function runs until the frame it ran in is popped. */
static bool in_filter(VmTrace *t, const CompiledFunc *cf, const Instance *inst, uint32_t depth)
{
    if (t->funcidx == -2)
        t->funcidx = resolve_func(inst->module, t->func);
    if (t->funcidx == -1)
        return true;
    if (t->active && depth < t->active_depth)
        t->active = false;
    if (!t->active && cf->funcidx == t->funcidx) {
        t->active = true;
        t->active_depth = depth;
    }
    return t->active;
}

/* ---- The hook -------------------------------------------------------------------------- */

/* Finish the held-back line: with the value written, or, if the instruction trapped
 * instead of writing it, with the trap. */
static void finish_line(Exec *e, VmTrace *t, bool trapped)
{
    if (!t->pending)
        return;
    char value[64];
    vm_slot_text(value, sizeof value, e->stack[t->dest_at], t->dest_type);
    if (trapped)
        fprintf(t->out, "%s  trap: %s\n", t->line, vm_exec_trap(e)->message);
    else
        fprintf(t->out, "%s = %s\n", t->line, value);
    t->pending = false;
}

void vm_trace_flush(Exec *e, RunStatus st)
{
    finish_line(e, e->trace, st == RUN_TRAP);
}

Handler vm_trace_step(Exec *e, const Cell *pc, const Slot *fp, const Instance *inst,
                      uint32_t depth)
{
    VmTrace *t = e->trace;
    finish_line(e, t, false);
    Handler h = cell_handler(pc);
    const CompiledFunc *cf = function_at(t, pc, inst);
    if (!cf || h >= H_COUNT || !in_filter(t, cf, inst, depth))
        return h;
    uint32_t at = (uint32_t)(pc - vm_func_code(cf));
    int n = snprintf(t->line, sizeof t->line, "[%s] func %" PRIu32 "%s%.*s @%" PRIu32 "  ",
                     t->who, cf->funcidx, t->cf_name ? " " : "", (int)t->cf_name_len,
                     t->cf_name ? t->cf_name : "", at);
    size_t used = n > 0 && (size_t)n < sizeof t->line ? (size_t)n : 0;
    int32_t dest;
    vm_disasm_values(t->line + used, sizeof t->line - used, cf, at, fp, sigs[h], &dest,
                     &t->dest_type);
    if (dest >= 0) {
        t->pending = true;
        t->dest_at = (size_t)(fp - e->stack) + (size_t)dest;
    } else {
        fprintf(t->out, "%s\n", t->line);
    }
    return h;
}
