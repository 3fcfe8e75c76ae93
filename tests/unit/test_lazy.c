/*
 * test_lazy.c — unit tests for lazy compilation (vm/compile.c, vm/code.h): a function is
 * compiled at its first call, however it is called (a direct call, call_indirect, from the
 * host), and only then; instances share the code; a first call that yields at the stub
 * resumes on another thread; two threads making the first call of a function at once get
 * one code (run under ThreadSanitizer by `make test`); a compile that fails traps the
 * process instead of crashing it; a function beyond lvm's frame limit still fails at
 * instantiation.
 *
 * Unlike test_vm.c these tests include vm/vm_internal.h: whether a function has code yet
 * is not something vm.h shows (nor should: it changes nothing a program can see), and
 * that is what is tested. Modules are written out byte by byte under the .wat they encode
 * (what wat2wasm makes of it), as in test_vm.c.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"
#include "vm/vm_internal.h"

/* (module
 *   (type $i_i (func (param i32) (result i32)))
 *   (table 1 funcref)
 *   (elem (i32.const 0) $leaf)
 *   (func $leaf (type $i_i) (i32.add (local.get 0) (i32.const 1)))          ;; func 0
 *   (func (export "mid") (type $i_i) (call $leaf (local.get 0)))             ;; func 1
 *   (func (export "never") (result i32) (i32.const 7))                       ;; func 2
 *   (func (export "indirect") (type $i_i)                                    ;; func 3
 *     (call_indirect (type $i_i) (local.get 0) (i32.const 0)))
 *   (func (export "deep") (result i32)                                       ;; func 4
 *     (i32.add (i32.const 1) (i32.add (i32.const 2) (i32.add (i32.const 3)
 *       (i32.add (i32.const 4) (i32.const 5)))))))
 */
static const uint8_t lazy_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,                              /* header */
    0x01, 0x0a, 0x02, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f,      /* types */
    0x03, 0x06, 0x05, 0x00, 0x00, 0x01, 0x00, 0x01,                              /* functions */
    0x04, 0x04, 0x01, 0x70, 0x00, 0x01,                                          /* table */
    0x07, 0x21, 0x04, 0x03, 0x6d, 0x69, 0x64, 0x00, 0x01, 0x05, 0x6e, 0x65,      /* exports */
    0x76, 0x65, 0x72, 0x00, 0x02, 0x08, 0x69, 0x6e, 0x64, 0x69, 0x72, 0x65,
    0x63, 0x74, 0x00, 0x03, 0x04, 0x64, 0x65, 0x65, 0x70, 0x00, 0x04,
    0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x00,                        /* elem */
    0x0a, 0x30, 0x05,                                                            /* code, 5 bodies */
    0x07, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x0b,                              /* $leaf */
    0x06, 0x00, 0x20, 0x00, 0x10, 0x00, 0x0b,                                    /* mid */
    0x04, 0x00, 0x41, 0x07, 0x0b,                                                /* never */
    0x09, 0x00, 0x20, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b,                  /* indirect */
    0x10, 0x00, 0x41, 0x01, 0x41, 0x02, 0x41, 0x03, 0x41, 0x04, 0x41, 0x05,      /* deep */
    0x6a, 0x6a, 0x6a, 0x6a, 0x0b,
};

enum { LEAF, MID, NEVER, INDIRECT, DEEP, NFUNCS };

/* ---- helpers -------------------------------------------------------------------------- */

/* A module of its own (not the cache's: another test may have compiled its functions). */
static Module *load(const uint8_t *bytes, size_t size)
{
    LoadError lerr;
    Module *m = loader_load_uncached(bytes, size, &lerr);
    ck_assert_msg(m != NULL, "load: %s", lerr.message);
    return m;
}

static Instance *instantiate(Module *m)
{
    VmError verr;
    Instance *inst = vm_instantiate(m, NULL, NULL, &verr);
    ck_assert_msg(inst != NULL, "instantiate: %s", verr.message);
    return inst;
}

static Function *export_func(Instance *inst, const char *name)
{
    Extern ext;
    ck_assert_msg(vm_instance_export(inst, name, &ext), "no export '%s'", name);
    return ext.u.func;
}

/* Function funcidx of inst's module (all of lazy_wasm's are defined: no imports). */
static const CompiledFunc *func(const Instance *inst, uint32_t funcidx)
{
    return &inst->code->funcs[funcidx - inst->code->first];
}

static bool compiled(const Instance *inst, uint32_t funcidx)
{
    return vm_func_code(func(inst, funcidx)) != NULL;
}

static Value call1(Exec *e, Function *f, Value arg)
{
    ck_assert_int_eq(vm_invoke(e, f, &arg, f->type->nparams, NULL, -1), RUN_DONE);
    uint32_t n;
    return vm_exec_results(e, &n)[0];
}

/* ---- 1. compiled at the first call, and only then --------------------------------------- */

START_TEST(nothing_compiled_before_a_call)
{
    Module *m = load(lazy_wasm, sizeof lazy_wasm);
    Instance *inst = instantiate(m);
    for (uint32_t i = 0; i < NFUNCS; i++) {
        const CompiledFunc *cf = func(inst, i);
        ck_assert_msg(!compiled(inst, i), "func %u compiled at instantiation", i);
        ck_assert_ptr_eq(atomic_load(&cf->entry), cf->stub);
        ck_assert_int_eq(vm_cell_handler(cf->stub[0]), H_LAZY_COMPILE);
        ck_assert_uint_eq(cf->stub[1].si.imm, i);
        ck_assert_uint_ge(cf->frame_slots, cf->nparams + cf->nlocals);   /* known already */
    }
    vm_instance_free(inst);
    loader_release(m);
}
END_TEST

START_TEST(a_call_compiles_the_callee_and_no_more)
{
    Module *m = load(lazy_wasm, sizeof lazy_wasm);
    Instance *inst = instantiate(m);
    Exec *e = vm_exec_new(NULL);
    ck_assert_uint_eq(call1(e, export_func(inst, "mid"), 41), 42);    /* mid calls $leaf */
    ck_assert(compiled(inst, MID));
    ck_assert(compiled(inst, LEAF));
    ck_assert(!compiled(inst, NEVER));
    ck_assert(!compiled(inst, INDIRECT));
    ck_assert(!compiled(inst, DEEP));
    const Cell *code = vm_func_code(func(inst, LEAF));
    ck_assert_uint_eq(call1(e, export_func(inst, "mid"), 1), 2);       /* compiled once */
    ck_assert_ptr_eq(vm_func_code(func(inst, LEAF)), code);
    ck_assert_ptr_eq(atomic_load(&func(inst, LEAF)->entry), code);     /* no stub any more */

    /* Another instance shares the code, compiled or not. */
    Instance *other = instantiate(m);
    ck_assert_ptr_eq(other->code, inst->code);
    ck_assert(compiled(other, LEAF));
    ck_assert(!compiled(other, NEVER));
    ck_assert_uint_eq(call1(e, export_func(other, "never"), 0), 7);    /* from the host */
    ck_assert(compiled(inst, NEVER));
    vm_exec_free(e);
    vm_instance_free(other);
    vm_instance_free(inst);
    loader_release(m);
}
END_TEST

START_TEST(indirect_and_table_calls_compile_too)
{
    Module *m = load(lazy_wasm, sizeof lazy_wasm);
    Instance *inst = instantiate(m);
    Exec *e = vm_exec_new(NULL);
    ck_assert_uint_eq(call1(e, export_func(inst, "indirect"), 9), 10);  /* call_indirect $leaf */
    ck_assert(compiled(inst, INDIRECT));
    ck_assert(compiled(inst, LEAF));
    ck_assert(!compiled(inst, MID));
    vm_exec_free(e);
    vm_instance_free(inst);
    loader_release(m);

    m = load(lazy_wasm, sizeof lazy_wasm);
    inst = instantiate(m);
    e = vm_exec_new(NULL);
    Function *leaf = vm_instance_table_func(inst, 0, 0);   /* as `spawn` of a table index */
    ck_assert_ptr_nonnull(leaf);
    ck_assert(!compiled(inst, LEAF));
    ck_assert_uint_eq(call1(e, leaf, 100), 101);
    ck_assert(compiled(inst, LEAF));
    vm_exec_free(e);
    vm_instance_free(inst);
    loader_release(m);
}
END_TEST

/* Budget 1: mid's call of $leaf spends it, so the run yields with pc on $leaf's stub, not
 * compiled yet; it is compiled when the run is resumed, on another thread. */
static void *resume(void *arg)
{
    Exec *e = arg;
    RunStatus st;
    while ((st = vm_run(e, 1)) == RUN_YIELD)
        ;
    return (void *)(uintptr_t)st;
}

START_TEST(a_first_call_yields_at_the_stub_and_resumes_elsewhere)
{
    Module *m = load(lazy_wasm, sizeof lazy_wasm);
    Instance *inst = instantiate(m);
    Exec *e = vm_exec_new(NULL);
    Value arg = 5;
    ck_assert(vm_exec_call(e, export_func(inst, "mid"), &arg, 1));
    ck_assert_int_eq(vm_run(e, 1), RUN_YIELD);
    ck_assert(compiled(inst, MID));
    ck_assert(!compiled(inst, LEAF));
    ck_assert_ptr_eq(e->pc, func(inst, LEAF)->stub);
    TraceFrame where;
    ck_assert(vm_exec_where(e, &where));            /* a stub is in its function */
    ck_assert_uint_eq(where.funcidx, LEAF);
    pthread_t th;
    void *st;
    ck_assert_int_eq(pthread_create(&th, NULL, resume, e), 0);
    ck_assert_int_eq(pthread_join(th, &st), 0);
    ck_assert_int_eq((RunStatus)(uintptr_t)st, RUN_DONE);
    uint32_t n;
    ck_assert_uint_eq(vm_exec_results(e, &n)[0], 6);
    ck_assert(compiled(inst, LEAF));
    vm_exec_free(e);
    vm_instance_free(inst);
    loader_release(m);
}
END_TEST

/* ---- 2. two threads, one first call ------------------------------------------------------ */

#define RACERS 4

typedef struct Racer {
    Instance *inst;                 /* each its own instance of one module */
    pthread_barrier_t *start;
    Value result;
    const Cell *code;               /* $leaf's code, as this thread saw it after its call */
} Racer;

static void *race(void *arg)
{
    Racer *r = arg;
    Exec *e = vm_exec_new(NULL);
    Extern ext;
    Value n = 20;
    r->result = 0;
    if (e && vm_instance_export(r->inst, "mid", &ext)) {
        pthread_barrier_wait(r->start);
        if (vm_invoke(e, ext.u.func, &n, 1, NULL, -1) == RUN_DONE) {
            uint32_t nr;
            r->result = vm_exec_results(e, &nr)[0];
        }
        r->code = vm_func_code(func(r->inst, LEAF));
    }
    vm_exec_free(e);
    return NULL;
}

START_TEST(threads_make_one_first_call_at_once)
{
    /* Many rounds, each with a module no one has called yet, so that the threads meet at
     * the stubs of mid and $leaf as often as the scheduler lets them. */
    for (int round = 0; round < 50; round++) {
        Module *m = load(lazy_wasm, sizeof lazy_wasm);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, RACERS);
        Racer r[RACERS];
        pthread_t th[RACERS];
        for (int i = 0; i < RACERS; i++) {
            r[i] = (Racer){ .inst = instantiate(m), .start = &start };
            ck_assert_int_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
        }
        for (int i = 0; i < RACERS; i++)
            ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < RACERS; i++) {
            ck_assert_uint_eq(r[i].result, 21);
            ck_assert_ptr_nonnull(r[i].code);
            ck_assert_ptr_eq(r[i].code, r[0].code);    /* compiled once, for all */
            vm_instance_free(r[i].inst);
        }
        pthread_barrier_destroy(&start);
        loader_release(m);
    }
}
END_TEST

/* ---- 3. failing to compile ---------------------------------------------------------------- */

/* Validation passed the module, so only memory or a bug of lvm's can make a compile fail.
 * The bug is simulated: a validated height too low for what `deep` pushes (5), so its
 * frame (sized before compiling) is smaller than its code needs. The call must trap
 * that process, with a message saying so and the function in its backtrace — not write
 * past the frame, not crash — and a later call tries again. */
START_TEST(a_failed_compile_traps_the_caller)
{
    Module *m = load(lazy_wasm, sizeof lazy_wasm);
    m->funcs[DEEP].max_height = 0;         /* a Module is read-only, but for this test */
    Instance *inst = instantiate(m);
    Exec *e = vm_exec_new(NULL);
    ck_assert_uint_lt(func(inst, DEEP)->frame_slots, 6);
    for (int attempt = 0; attempt < 2; attempt++) {
        ck_assert_int_eq(vm_invoke(e, export_func(inst, "deep"), NULL, 0, NULL, -1), RUN_TRAP);
        const Trap *t = vm_exec_trap(e);
        ck_assert_int_eq(t->kind, TRAP_HOST);
        ck_assert_msg(strstr(t->message, "cannot compile function 4") != NULL, "%s", t->message);
        ck_assert_msg(strstr(t->message, "an lvm bug") != NULL, "%s", t->message);
        ck_assert_uint_eq(t->nframes, 1);
        ck_assert_uint_eq(t->frames[0].funcidx, DEEP);
        ck_assert(!compiled(inst, DEEP));
    }
    ck_assert_uint_eq(call1(e, export_func(inst, "mid"), 1), 2);      /* the rest runs */
    vm_exec_free(e);
    vm_instance_free(inst);
    loader_release(m);
}
END_TEST

/* A function whose frame passes 65535 slots (50000 locals, the loader's most, and an
 * operand stack 15600 deep) cannot be compiled: that is known from validation, so the
 * module still fails at instantiation, as when every function was compiled then. */
static size_t put_leb(uint8_t *p, uint32_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

START_TEST(too_big_a_frame_fails_at_instantiation)
{
    enum { DEPTH = 15600 };
    size_t body_len = 5 + 3 * DEPTH + 1;
    uint8_t *w = malloc(64 + body_len);
    ck_assert_ptr_nonnull(w);
    static const uint8_t head[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                 /* type 0: () -> () */
        0x03, 0x02, 0x01, 0x00,                             /* func 0: type 0 */
        0x0a,                                               /* code section: */
    };
    size_t n = sizeof head;
    memcpy(w, head, n);
    uint8_t body_size[5];
    size_t bs = put_leb(body_size, (uint32_t)body_len);
    n += put_leb(w + n, (uint32_t)(1 + bs + body_len));    /* section size */
    w[n++] = 0x01;                                          /* one body */
    memcpy(w + n, body_size, bs);
    n += bs;
    static const uint8_t locals[] = { 0x01, 0xD0, 0x86, 0x03, 0x7F };   /* 50000 i32 */
    memcpy(w + n, locals, sizeof locals);
    n += sizeof locals;
    for (int i = 0; i < DEPTH; i++) {                       /* i32.const 0, DEPTH times */
        w[n++] = 0x41;
        w[n++] = 0x00;
    }
    for (int i = 0; i < DEPTH; i++)
        w[n++] = 0x1A;                                      /* drop */
    w[n++] = 0x0B;
    Module *m = load(w, n);
    free(w);
    ck_assert_uint_eq(m->funcs[0].max_height, DEPTH);
    VmError verr;
    ck_assert_ptr_null(vm_instantiate(m, NULL, NULL, &verr));
    ck_assert_int_eq(verr.kind, VM_UNSUPPORTED);
    ck_assert_msg(strstr(verr.message, "more than 65535 frame slots") != NULL, "%s", verr.message);
    loader_release(m);
}
END_TEST

Suite *lazy_suite(void)
{
    Suite *s = suite_create("lazy");
    TCase *t = tcase_create("first call");
    tcase_add_test(t, nothing_compiled_before_a_call);
    tcase_add_test(t, a_call_compiles_the_callee_and_no_more);
    tcase_add_test(t, indirect_and_table_calls_compile_too);
    tcase_add_test(t, a_first_call_yields_at_the_stub_and_resumes_elsewhere);
    suite_add_tcase(s, t);
    t = tcase_create("threads");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, threads_make_one_first_call_at_once);
    suite_add_tcase(s, t);
    t = tcase_create("failures");
    tcase_add_test(t, a_failed_compile_traps_the_caller);
    tcase_add_test(t, too_big_a_frame_fails_at_instantiation);
    suite_add_tcase(s, t);
    return s;
}
