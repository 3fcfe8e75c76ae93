/*
 * exec.c — the run loop: execute threaded code for a budget of reductions.
 *
 * Where it sits: the last step of the flow (DESIGN.md). compile.c wrote the code;
 * instance.c built the Instance; vm_exec_call() put a call on an Exec; vm_run() runs it
 * until it returns (DONE), the budget is spent (YIELD), a host function blocks (BLOCK)
 * or something traps (TRAP). All state is in the Exec between runs: a Wasm call pushes a
 * Frame on exec->frames and never recurses on the C stack (DESIGN decision 1).
 *
 * The loop keeps pc, fp, inst, the memory's base and size and the budget in locals;
 * they are written back (SAVE_STATE) before anything that can look at them and read
 * again after anything that can move them (calls, memory.grow, host calls).
 *
 * Read next: dispatch.h (the handler macros), numeric.h, then instance.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/instr.h"
#include "config.h"
#include "dispatch.h"
#include "numeric.h"
#include "vm_internal.h"

static const char *const trap_messages[] = {
#define TRAP_MSG(kind, msg) msg,
    LVM_TRAPS(TRAP_MSG)
#undef TRAP_MSG
};

const char *vm_trap_message(TrapKind kind)
{
    return (unsigned)kind < sizeof trap_messages / sizeof trap_messages[0] ? trap_messages[kind] : "?";
}

static const char *const handler_names[] = {
#define OP(name, code, imm, sig, width) #name,
#include "../loader/opcodes.def"
#undef OP
#define HANDLER(name, cells, operands) #name,
#include "handlers.def"
#undef HANDLER
};

const char *vm_handler_name(Handler h)
{
    return (unsigned)h < H_COUNT ? handler_names[h] : "?";
}

/* ---- Values crossing to and from the host ------------------------------------------- */

static bool is_32bit(ValType t)
{
    return t == VT_I32 || t == VT_F32;
}

Slot slot_from_value(ValType t, Value v)
{
    Slot s;
    s.u64 = 0;
    if (is_32bit(t))
        s.u32 = (uint32_t)v;
    else
        s.u64 = v;
    return s;
}

Value value_from_slot(ValType t, Slot s)
{
    return is_32bit(t) ? (Value)s.u32 : s.u64;
}

/* ---- Stacks ------------------------------------------------------------------------ */

/* What a resumed process touches first lies within VM_EXEC_HOT_BYTES (vm.h). */
_Static_assert(offsetof(Exec, host_trap_message) + 16 <= VM_EXEC_HOT_BYTES,
               "Exec's hot fields grew past VM_EXEC_HOT_BYTES");

size_t vm_exec_size(void)
{
    return sizeof(Exec);
}

Exec *vm_exec_init(void *mem, const ExecLimits *limits)
{
    Exec *e = mem;
    memset(e, 0, offsetof(Exec, first_frames));
    /* The stack too: a 32-bit value leaves the upper half of its slot as it was, and
     * --trace shows a slot whose type it does not know whole (RETURN_1's, say). */
    memset(e->first_stack, 0, sizeof e->first_stack);
    e->stack_limit = limits && limits->stack_slots ? limits->stack_slots : VM_DEFAULT_STACK_SLOTS;
    e->max_frames = limits && limits->max_frames ? limits->max_frames : VM_DEFAULT_MAX_FRAMES;
    e->stack_slots = e->stack_limit < EXEC_FIRST_SLOTS ? e->stack_limit : EXEC_FIRST_SLOTS;
    e->frames_cap = e->max_frames < EXEC_FIRST_FRAMES ? e->max_frames : EXEC_FIRST_FRAMES;
    e->slice = -1;
    e->stack = e->first_stack;
    e->frames = e->first_frames;
    e->stack_end = e->stack + e->stack_slots;
    e->frames_end = e->frames + e->frames_cap;
    return e;
}

void vm_exec_fini(Exec *e)
{
    if (e->stack != e->first_stack)
        free(e->stack);
    if (e->frames != e->first_frames)
        free(e->frames);
    free(e->trap);
    vm_trace_free(e->trace);
}

Exec *vm_exec_new(const ExecLimits *limits)
{
    /* One allocation, the first stacks included. */
    Exec *e = malloc(sizeof *e);
    return e ? vm_exec_init(e, limits) : NULL;
}

void vm_exec_free(Exec *e)
{
    if (!e)
        return;
    vm_exec_fini(e);
    free(e);
}

/* Resize a stack of `n` elements of `size` bytes to `want`: realloc once it is on the
 * heap, a copy out of the Exec the first time (`first`: the array inside the Exec). */
static void *resize(void *stack, const void *first, size_t n, size_t want, size_t size)
{
    if (stack != first)
        return realloc(stack, want * size);
    void *heap = malloc(want * size);
    if (heap)
        memcpy(heap, first, n * size);
    return heap;
}

Slot *exec_grow_stack(Exec *e, Slot *fp, size_t need)
{
    size_t used = (size_t)(fp - e->stack);
    size_t want = used + need;
    if (want > e->stack_limit)
        return NULL;
    size_t n = e->stack_slots;
    while (n < want)
        n *= 2;
    if (n > e->stack_limit)
        n = e->stack_limit;
    Slot *s = resize(e->stack, e->first_stack, e->stack_slots, n, sizeof(Slot));
    if (!s)
        return NULL;
    /* Frames hold pointers into the stack: move them with it. */
    for (uint32_t i = 0; i < e->nframes; i++)
        e->frames[i].fp = s + (e->frames[i].fp - e->stack);
    e->stack = s;
    e->stack_slots = (uint32_t)n;
    e->stack_end = s + n;
    return s + used;
}

bool exec_grow_frames(Exec *e)
{
    if (e->frames_cap >= e->max_frames)
        return false;
    uint32_t n = e->frames_cap * 2 > e->max_frames ? e->max_frames : e->frames_cap * 2;
    Frame *f = resize(e->frames, e->first_frames, e->frames_cap, n, sizeof(Frame));
    if (!f)
        return false;
    e->frames = f;
    e->frames_cap = n;
    e->frames_end = f + n;
    return true;
}

/* ---- Backtraces -------------------------------------------------------------------- */

/* The frame of pc: the function whose code (or stub, code.h: a first call that stopped
 * before the function ran, the compile having failed) holds it, and the byte offset of
 * the Wasm instruction it runs (of the body's first, for a stub). Functions not compiled
 * yet are skipped: pc cannot be in code that does not exist. */
static bool locate(const Instance *inst, const Cell *pc, TraceFrame *out)
{
    if (!inst || !inst->code)
        return false;
    const CompiledModule *cm = inst->code;
    const Module *m = inst->module;
    for (uint32_t i = 0; i < cm->nfuncs; i++) {
        const CompiledFunc *cf = &cm->funcs[i];
        const Cell *code = vm_func_code(cf);
        uint32_t offset;
        if (pc >= cf->stub && pc < cf->stub + 2) {
            offset = m->funcs[cf->funcidx].code_offset;
        } else if (code && pc >= code && pc < code + cf->ncells) {
            uint32_t cell = (uint32_t)(pc - code), lo = 0, hi = cf->nmap;
            while (hi - lo > 1) {   /* the last instruction starting at or before `cell` */
                uint32_t mid = (lo + hi) / 2;
                if (cf->map_cell[mid] <= cell)
                    lo = mid;
                else
                    hi = mid;
            }
            offset = cf->nmap ? cf->map_offset[lo] : 0;
        } else {
            continue;
        }
        const char *name = m->funcs[cf->funcidx].name;
        *out = (TraceFrame){ .funcidx = cf->funcidx, .offset = offset };
        snprintf(out->module, sizeof out->module, "%s", m->name ? m->name : "");
        snprintf(out->func, sizeof out->func, "%s", name ? name : "");
        return true;
    }
    return false;
}

void exec_fill_backtrace(Exec *e, const Cell *pc, Instance *inst)
{
    Trap *t = e->trap;
    t->nframes = 0;
    if (locate(inst, pc, &t->frames[0]))
        t->nframes = 1;
    /* Outer frames: their pc is the return address, one cell past the call. */
    for (uint32_t i = e->nframes; i-- > 1 && t->nframes < VM_MAX_BACKTRACE;)
        if (locate(e->frames[i].inst, e->frames[i].pc - 1, &t->frames[t->nframes]))
            t->nframes++;
}

bool vm_exec_where(const Exec *e, TraceFrame *out)
{
    const Cell *pc = e->pc;       /* read once: see vm.h on reading a running Exec */
    return pc && locate(e->inst, pc, out);
}

void vm_trap_print(const Trap *trap, void *file)
{
    FILE *f = file;
    fprintf(f, "wasm trap: %s\n", trap->message);
    if (trap->nframes)
        fprintf(f, "wasm backtrace:\n");
    for (uint32_t i = 0; i < trap->nframes; i++) {
        const TraceFrame *fr = &trap->frames[i];
        fprintf(f, "  %2u: 0x%06x - %s!", i, fr->offset, fr->module[0] ? fr->module : "<module>");
        if (fr->func[0])
            fprintf(f, "%s\n", fr->func);
        else
            fprintf(f, "<func %u>\n", fr->funcidx);
    }
}

/* ---- Starting a call ------------------------------------------------------------------ */

bool vm_exec_call(Exec *e, Function *f, const Value *args, uint32_t nargs)
{
    const FuncType *t = f->type;
    if (nargs != t->nparams)
        return false;
    e->nframes = 0;
    e->entry = f;
    e->done_code[0] = vm_handler_cell(H_DONE);
    uint32_t need = t->nparams > t->nresults ? t->nparams : t->nresults;
    const CompiledFunc *cf = f->inst ? f->u.cf : NULL;
    if (cf && cf->frame_slots > need)
        need = cf->frame_slots;
    Slot *fp = e->stack;
    if (need > e->stack_slots && !(fp = exec_grow_stack(e, e->stack, need)))
        return false;
    for (uint32_t i = 0; i < nargs; i++)
        fp[i] = slot_from_value(t->types[i], args[i]);
    e->fp = fp;
    e->inst = f->inst;
    if (cf) {
        memset(fp + t->nparams, 0, cf->nlocals * sizeof(Slot));
        e->frames[0] = (Frame){ e->done_code, fp, f->inst };
        e->nframes = 1;
        e->pc = atomic_load_explicit(&cf->entry, memory_order_acquire);   /* or its stub */
    } else {
        e->pc = NULL;    /* a host function as the entry: vm_run calls it */
    }
    e->state = EXEC_READY;
    if (e->trap)
        e->trap->kind = TRAP_NONE;
    return true;
}

/* The entry's results are in the bottom slots of the stack (vm_exec_call made room for
 * them): turn them into Values where they are, for vm_exec_results. The stack is not
 * used again before the next vm_exec_call, which is as long as they are valid. */
RunStatus exec_finish(Exec *e)
{
    const FuncType *t = e->entry->type;
    for (uint32_t i = 0; i < t->nresults; i++)
        e->stack[i].u64 = value_from_slot(t->types[t->nparams + i], e->stack[i]);
    e->nresults = t->nresults;
    e->state = EXEC_DONE;
    return RUN_DONE;
}

/* The Exec's trap record, made on first use (NULL if there is no memory for one). */
static Trap *trap_record(Exec *e)
{
    if (!e->trap)
        e->trap = calloc(1, sizeof *e->trap);
    return e->trap;
}

RunStatus exec_raise(Exec *e, TrapKind kind, const Cell *pc, Instance *inst)
{
    e->state = EXEC_TRAPPED;
    Trap *t = trap_record(e);
    if (!t)
        return RUN_TRAP;
    if (kind == TRAP_HOST && e->host_exit) {
        kind = TRAP_EXIT;
        t->exit_code = e->host_exit_code;
    }
    t->kind = kind;
    if (kind == TRAP_HOST && e->host_trap_message[0])
        snprintf(t->message, sizeof t->message, "%s", e->host_trap_message);
    else
        snprintf(t->message, sizeof t->message, "%s", vm_trap_message(kind));
    exec_fill_backtrace(e, pc, inst);
    return RUN_TRAP;
}

void vm_exec_set_exit(Exec *e, int code)
{
    e->host_exit = true;
    e->host_exit_code = code;
}

void vm_exec_set_host_trap(Exec *e, const char *message)
{
    snprintf(e->host_trap_message, sizeof e->host_trap_message, "%s", message ? message : "");
}

MemoryInst *vm_exec_caller_memory(Exec *e)
{
    return e->host_caller && e->host_caller->has_memory ? e->host_caller->memory : NULL;
}

/* Call host function f with its arguments at args (Value layout in place). */
HostStatus exec_call_host(Exec *e, Function *f, Slot *args, Instance *caller)
{
    const HostFunction *h = f->u.host;
    const FuncType *t = f->type;
    /* Five host calls or so per message in an actor program: walk only the 32-bit
     * values (HostFunction's masks), not every type. */
    if (UNLIKELY(h->many))
        for (uint32_t i = 0; i < t->nparams; i++)
            args[i].u64 = value_from_slot(t->types[i], args[i]);
    else
        for (uint64_t m = h->narrow_params; m; m &= m - 1)
            args[__builtin_ctzll(m)].u64 = args[__builtin_ctzll(m)].u32;
    e->host_caller = caller;
    e->host_trap_message[0] = 0;
    e->host_exit = false;
    HostStatus st = h->call(e, h->env, (Value *)args);
    e->host_caller = NULL;
    if (st != HOST_OK)
        return st;
    if (UNLIKELY(h->many))
        for (uint32_t i = 0; i < t->nresults; i++)
            args[i] = slot_from_value(t->types[t->nparams + i], args[i].u64);
    else
        for (uint64_t m = h->narrow_results; m; m &= m - 1)
            args[__builtin_ctzll(m)] = slot_from_value(VT_I32, args[__builtin_ctzll(m)].u64);
    return st;
}

RunStatus vm_run(Exec *e, int64_t budget)
{
    if (e->state == EXEC_DONE || e->state == EXEC_IDLE)
        return RUN_DONE;
    if (e->state == EXEC_TRAPPED)
        return RUN_TRAP;
    if (!e->pc) {                /* entry is a host function */
        HostStatus st = exec_call_host(e, e->entry, e->stack, NULL);
        if (st == HOST_BLOCK)
            return RUN_BLOCK;
        if (st == HOST_TRAP)
            return exec_raise(e, TRAP_HOST, NULL, NULL);
        return exec_finish(e);
    }
    budget = budget < 0 ? INT64_MAX : (budget == 0 ? 1 : budget);
    if (UNLIKELY(e->trace)) {    /* once per slice: the loop itself is never tested */
        RunStatus st = vm_interp_run_traced(e, budget);
        vm_trace_flush(e, st);
        return st;
    }
    return vm_interp_run(e, budget);
}

const Value *vm_exec_results(const Exec *e, uint32_t *n)
{
    *n = e->nresults;
    return (const Value *)e->stack;   /* Value is the u64 member of each Slot (exec_finish) */
}

const Trap *vm_exec_trap(const Exec *e)
{
    static const Trap none = { .kind = TRAP_NONE, .message = "no trap" };
    return e->trap ? e->trap : &none;
}

void vm_exec_set_user(Exec *e, void *user)
{
    e->user = user;
}

void *vm_exec_user(const Exec *e)
{
    return e->user;
}

bool vm_counts_reductions(void)
{
    return LVM_REDUCTIONS;
}

uint64_t vm_exec_reductions(const Exec *e)
{
    return e->reductions;
}

RunStatus vm_invoke(Exec *e, Function *f, const Value *args, uint32_t nargs, Value *results,
                    int64_t slice)
{
    if (!vm_exec_call(e, f, args, nargs)) {
        bool arity = nargs != f->type->nparams;
        Trap *t = trap_record(e);
        if (t) {
            t->kind = arity ? TRAP_HOST : TRAP_STACK_EXHAUSTED;
            snprintf(t->message, sizeof t->message, "%s",
                     arity ? "wrong number of arguments" : vm_trap_message(TRAP_STACK_EXHAUSTED));
            t->nframes = 0;
        }
        return RUN_TRAP;
    }
    RunStatus st;
    do
        st = vm_run(e, slice);
    while (st == RUN_YIELD || st == RUN_BLOCK);
    if (st == RUN_DONE && results) {
        uint32_t n;
        const Value *r = vm_exec_results(e, &n);
        memcpy(results, r, n * sizeof(Value));
    }
    return st;
}

void vm_exec_hot(const Exec *e, const void *hot[VM_EXEC_HOT])
{
    const Instance *inst = e->inst;
    const MemoryInst *m = inst && inst->has_memory ? inst->memory : NULL;
    const GlobalInst *sp = inst && inst->module->nglobals ? inst->globals[0] : NULL;
    hot[0] = e->fp;
    hot[1] = e->nframes ? &e->frames[e->nframes - 1] : NULL;
    hot[2] = inst;
    hot[3] = m;
    hot[4] = m && sp && sp->type == VT_I32 && sp->mutable_ && sp->value.u32 < m->size
           ? m->base + sp->value.u32 : NULL;
    hot[5] = e->guest_hot;
    hot[6] = e->fp ? (const char *)e->fp + 64 : NULL;
    hot[7] = e->nframes ? e->frames[e->nframes - 1].fp : NULL;
    /* Blocked in a host call: pc is still on the call, which runs again first thing —
     * reading the function pointer and writing the arguments at fp + A. */
    bool import = inst && e->pc && e->fp && e->pc[0].u64 == vm_handler_cell(H_CALL_IMPORT).u64;
    hot[8] = import ? &inst->funcs[e->pc[1].si.imm] : NULL;
    hot[9] = import ? e->fp + e->pc[1].si.a : NULL;
}

void vm_exec_note_hot(Exec *e, const void *p)
{
    e->guest_hot = p;
}
