/*
 * tests.c — the embedding API's tests, through include/lvm.h only (no internal header):
 * load errors, C callbacks (results, traps, guest memory, block and resume), libffi
 * bindings of libm and of testlib.c with every value type and buffers, signature
 * mismatches refused at instantiation, permissions, limits, host <-> process messages,
 * stepping from the caller's thread, WASI configuration, and many VMs one after another
 * (run under AddressSanitizer + LeakSanitizer by `make SAN=1 test-embed`).
 *
 * Usage: embed-tests DIR, where DIR holds the guests (the .wasm files built from the .wat
 * files here and hello.c) and libembedtest.so. Ends with "embed: N passed, M failed".
 */
#include <lvm.h>

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int passed, failed;
static const char *dir;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (cond) {                                                   \
            passed++;                                                 \
        } else {                                                      \
            failed++;                                                 \
            printf("FAIL %s:%d: %s: ", __func__, __LINE__, #cond);    \
            printf(__VA_ARGS__);                                      \
            printf("\n");                                             \
        }                                                             \
    } while (0)

static lvm_module *load(const char *name)
{
    char path[512];
    lvm_error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lvm_module *m = lvm_module_load_file(path, &err);
    if (!m) {
        printf("cannot load %s: %s\n", path, err.message);
        exit(1);
    }
    return m;
}

static lvm_vm *new_vm(unsigned threads)
{
    lvm_vm_config cfg = lvm_vm_config_default();
    cfg.threads = threads;
    lvm_error err;
    lvm_vm *vm = lvm_vm_new(&cfg, &err);
    if (!vm) {
        printf("lvm_vm_new: %s\n", err.message);
        exit(1);
    }
    return vm;
}

/* Spawn and wait; the exit in *out, true if it ended normally. */
static bool run(lvm_vm *vm, lvm_module *m, const char *fn, const lvm_value *args, uint32_t n,
                lvm_exit *out)
{
    lvm_error err;
    uint64_t pid = lvm_spawn(vm, m, fn, args, n, NULL, &err);
    if (!pid) {
        snprintf(out->message, sizeof out->message, "spawn: %s", err.message);
        out->reason = -100;
        return false;
    }
    lvm_wait(vm, pid, out);
    return out->reason == LVM_EXIT_NORMAL;
}

/* ---- Host callbacks ------------------------------------------------------------------ */

static lvm_status cb_add(lvm_call *c, void *env, const lvm_value *a, lvm_value *r)
{
    r[0].of.i32 = a[0].of.i32 + a[1].of.i32 + (int32_t)(intptr_t)env;
    return LVM_OK;
}

static lvm_status cb_fail(lvm_call *c, void *env, const lvm_value *a, lvm_value *r)
{
    if (a[0].of.i32 == 0)
        return LVM_TRAP;                 /* no message: the default one */
    return lvm_call_trap(c, "bad value %d", a[0].of.i32);
}

static atomic_int gate_open, wait_calls;

static lvm_status cb_wait(lvm_call *c, void *env, const lvm_value *a, lvm_value *r)
{
    atomic_fetch_add(&wait_calls, 1);
    if (!atomic_load(&gate_open))
        return LVM_BLOCK;
    r[0].of.i64 = (int64_t)a[0].of.i32 * 10;
    return LVM_OK;
}

static lvm_status cb_peek(lvm_call *c, void *env, const lvm_value *a, lvm_value *r)
{
    uint32_t ptr = (uint32_t)a[0].of.i32, len = (uint32_t)a[1].of.i32;
    uint8_t buf[64];
    if (len > sizeof buf || !lvm_call_read(c, ptr, buf, len))
        return lvm_call_trap(c, "range (%u, %u) outside memory of %llu bytes", ptr, len,
                             (unsigned long long)lvm_call_memory_size(c));
    int32_t s = 0;
    for (uint32_t i = 0; i < len; i++) {
        s += buf[i];
        if (buf[i] >= 'a' && buf[i] <= 'z')
            buf[i] -= 32;
    }
    if (!lvm_call_write(c, ptr, buf, len))
        return LVM_TRAP;
    r[0].of.i32 = s;
    return LVM_OK;
}

static lvm_status cb_pair(lvm_call *c, void *env, const lvm_value *a, lvm_value *r)
{
    r[0].of.f64 = a[1].of.f64 * 2;
    r[1].of.f32 = a[0].of.f32 * 2;
    return LVM_OK;
}

static void register_callbacks(lvm_vm *vm)
{
    lvm_error err;
    bool ok = lvm_register_fn(vm, "env", "add", "(i32 i32)->i32", cb_add, (void *)(intptr_t)1000, &err) &&
              lvm_register_fn(vm, "env", "fail", "(i32)", cb_fail, NULL, &err) &&
              lvm_register_fn(vm, "env", "wait", "(i32)i64", cb_wait, NULL, &err) &&
              lvm_register_fn(vm, "env", "peek", "(i32, i32) -> (i32)", cb_peek, NULL, &err) &&
              lvm_register_fn(vm, "env", "pair", "(f32 f64)(f64 f32)", cb_pair, NULL, &err);
    CHECK(ok, "%s", err.message);
}

static void register_natives(lvm_vm *vm)
{
    char lib[512];
    snprintf(lib, sizeof lib, "%s/libembedtest.so", dir);
    lvm_error err;
    bool ok = lvm_register_native(vm, "m", "cos", "(f64)f64", (lvm_native_fn)cos, &err) &&
              lvm_register_native_lib(vm, "libm.so.6", "sqrtf", "m", "sqrtf", "(f32)f32", &err) &&
              lvm_register_native_lib(vm, lib, "add_i32", "t", "add_i32", "(i32 i32)i32", &err) &&
              lvm_register_native_lib(vm, lib, "mul_i64", "t", "mul_i64", "(i64 i64)i64", &err) &&
              lvm_register_native_lib(vm, lib, "half_f32", "t", "half_f32", "(f32)f32", &err) &&
              lvm_register_native_lib(vm, lib, "mix", "t", "mix", "(i32 i64 f32 f64)f64", &err) &&
              lvm_register_native_lib(vm, lib, "sum", "t", "sum", "(buf)i64", &err) &&
              lvm_register_native_lib(vm, lib, "fill", "t", "fill", "(buf i32)i32", &err) &&
              lvm_register_native_lib(vm, lib, "tick", "t", "tick", "()", &err);
    CHECK(ok, "%s", err.message);
}

/* ---- The tests ------------------------------------------------------------------------- */

static void test_load_errors(void)
{
    lvm_error err;
    static const uint8_t junk[] = { 0, 'a', 's', 'n', 1, 0, 0, 0 };
    CHECK(!lvm_module_load(junk, sizeof junk, &err), "junk loaded");
    CHECK(strstr(err.message, "magic") != NULL, "message: %s", err.message);
    static const uint8_t truncated[] = { 0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1 };
    CHECK(!lvm_module_load(truncated, sizeof truncated, &err), "truncated loaded");
    CHECK(err.message[0] != 0, "no message");
    CHECK(!lvm_module_load_file("/no/such/file.wasm", &err), "loaded nothing");
    CHECK(strstr(err.message, "/no/such/file.wasm: No such file") != NULL, "message: %s", err.message);
    CHECK(!lvm_module_load(junk, sizeof junk, NULL), "NULL err is allowed");
}

static void test_callbacks(unsigned threads)
{
    lvm_vm *vm = new_vm(threads);
    register_callbacks(vm);
    lvm_error err;
    CHECK(!lvm_register_fn(vm, "env", "add", "(i32)", cb_add, NULL, &err), "registered twice");
    CHECK(strstr(err.message, "already registered") != NULL, "%s", err.message);
    CHECK(!lvm_register_fn(vm, "env", "x", "(i32", cb_add, NULL, &err), "bad signature accepted");
    CHECK(strstr(err.message, "missing ')'") != NULL, "%s", err.message);
    CHECK(!lvm_register_fn(vm, "lvm", "x", "()", cb_add, NULL, &err), "module lvm taken");
    lvm_module *m = load("calls.wasm");
    lvm_exit ex;

    lvm_value args[2] = { lvm_i32(-5), lvm_i32(7) };
    CHECK(run(vm, m, "add", args, 2, &ex), "%s", ex.message);
    CHECK(ex.nresults == 1 && ex.results[0].type == LVM_I32 && ex.results[0].of.i32 == 1002,
          "add gave %d", ex.results[0].of.i32);

    lvm_value pa[2] = { lvm_f32(1.5f), lvm_f64(-0.25) };
    CHECK(run(vm, m, "pair", pa, 2, &ex), "%s", ex.message);
    CHECK(ex.nresults == 2 && ex.results[0].type == LVM_F64 && ex.results[0].of.f64 == -0.5 &&
          ex.results[1].type == LVM_F32 && ex.results[1].of.f32 == 3.0f, "pair results");

    lvm_value one = lvm_i32(42);
    CHECK(!run(vm, m, "fail", &one, 1, &ex), "fail returned");
    CHECK(ex.reason >= LVM_EXIT_TRAP && ex.reason < LVM_EXIT_USER, "reason %d", ex.reason);
    CHECK(strcmp(ex.message, "trap: env.fail: bad value 42") == 0, "message: %s", ex.message);
    CHECK(strstr(ex.backtrace, "0: ") != NULL, "backtrace: %s", ex.backtrace);
    lvm_value zero = lvm_i32(0);
    CHECK(!run(vm, m, "fail", &zero, 1, &ex), "fail returned");
    CHECK(strcmp(ex.message, "trap: env.fail: host function trapped") == 0, "message: %s", ex.message);

    lvm_value peek[2] = { lvm_i32(100), lvm_i32(3) };
    uint64_t pid = lvm_spawn(vm, m, "peek", peek, 2, NULL, &err);
    CHECK(pid && lvm_wait(vm, pid, &ex) && ex.results[0].of.i32 == 'a' + 'b' + 'c',
          "peek: %s %d", ex.message, ex.results[0].of.i32);
    lvm_value oob[2] = { lvm_i32(65535), lvm_i32(2) };
    CHECK(!run(vm, m, "peek", oob, 2, &ex), "out of range peek returned");
    CHECK(strstr(ex.message, "env.peek: range (65535, 2) outside memory of 65536 bytes") != NULL,
          "message: %s", ex.message);
    lvm_value wrap[2] = { lvm_i32(-1), lvm_i32(2) };   /* 0xffffffff + 2 must not wrap */
    CHECK(!run(vm, m, "peek", wrap, 2, &ex), "wrapping peek returned");

    lvm_value d[2] = { lvm_i32(1), lvm_i32(0) };
    CHECK(!run(vm, m, "div", d, 2, &ex) && strcmp(ex.message, "trap: integer divide by zero") == 0,
          "div: %s", ex.message);
    CHECK(!lvm_spawn(vm, m, "nosuch", NULL, 0, NULL, &err) &&
          strstr(err.message, "no exported function 'nosuch'"), "%s", err.message);
    CHECK(!lvm_spawn(vm, m, "add", args, 1, NULL, &err) && strstr(err.message, "takes 2 arguments"),
          "%s", err.message);
    lvm_value badtype[2] = { lvm_i64(1), lvm_i32(2) };
    CHECK(!lvm_spawn(vm, m, "add", badtype, 2, NULL, &err) && strstr(err.message, "wrong type"),
          "%s", err.message);
    lvm_module_free(m);
    lvm_vm_free(vm);
}

/* A callback that blocks until the host opens the gate and wakes the process. */
static void test_block_resume(unsigned threads)
{
    lvm_vm *vm = new_vm(threads);
    register_callbacks(vm);
    lvm_module *m = load("calls.wasm");
    atomic_store(&gate_open, 0);
    atomic_store(&wait_calls, 0);
    lvm_error err;
    lvm_exit ex;
    lvm_value four = lvm_i32(4);
    uint64_t pid = lvm_spawn(vm, m, "wait", &four, 1, NULL, &err);
    CHECK(pid != 0, "%s", err.message);
    if (threads == 1) {
        lvm_step st = lvm_vm_step(vm, 100000);
        CHECK(st == LVM_STEP_WAITING, "step gave %d (a blocked host call is pending)", st);
        CHECK(atomic_load(&wait_calls) == 1, "calls %d", atomic_load(&wait_calls));
        lvm_vm_step(vm, 100000);
        CHECK(atomic_load(&wait_calls) == 1, "ran again without a wake: %d", atomic_load(&wait_calls));
        CHECK(!lvm_poll(vm, pid, &ex), "ended while blocked");
        lvm_wake(vm, pid);          /* gate still closed: runs once more, blocks again */
        lvm_vm_step(vm, 100000);
        CHECK(atomic_load(&wait_calls) == 2, "calls %d", atomic_load(&wait_calls));
        atomic_store(&gate_open, 1);
        CHECK(lvm_wake(vm, pid), "no such process");
        CHECK(lvm_vm_step(vm, 100000) == LVM_STEP_IDLE, "not idle after the end");
        CHECK(lvm_poll(vm, pid, &ex) && ex.reason == LVM_EXIT_NORMAL && ex.results[0].of.i64 == 40,
              "%s %lld", ex.message, (long long)ex.results[0].of.i64);
    } else {
        while (atomic_load(&wait_calls) < 1)
            usleep(1000);
        usleep(20000);
        CHECK(!lvm_poll(vm, pid, &ex), "ended while blocked");
        CHECK(atomic_load(&wait_calls) == 1, "calls %d", atomic_load(&wait_calls));
        atomic_store(&gate_open, 1);
        lvm_wake(vm, pid);
        CHECK(lvm_wait(vm, pid, &ex) && ex.results[0].of.i64 == 40, "%s", ex.message);
        CHECK(atomic_load(&wait_calls) == 2, "calls %d", atomic_load(&wait_calls));
    }
    CHECK(!lvm_wake(vm, pid), "woke a process that has ended");
    lvm_module_free(m);
    lvm_vm_free(vm);
}

static void test_natives(unsigned threads)
{
    lvm_vm *vm = new_vm(threads);
    register_natives(vm);
    lvm_module *m = load("native.wasm");
    lvm_exit ex;
    lvm_value x = lvm_f64(0.5);
    CHECK(run(vm, m, "cos", &x, 1, &ex) && ex.results[0].of.f64 == cos(0.5), "cos: %s", ex.message);
    lvm_value f = lvm_f32(2.25f);
    CHECK(run(vm, m, "sqrtf", &f, 1, &ex) && ex.results[0].of.f32 == 1.5f, "sqrtf: %s", ex.message);
    lvm_value ai[2] = { lvm_i32(-5), lvm_i32(2) };
    CHECK(run(vm, m, "add_i32", ai, 2, &ex) && ex.results[0].of.i32 == -3, "add_i32: %d",
          ex.results[0].of.i32);
    lvm_value mi[2] = { lvm_i64(-3000000000LL), lvm_i64(3) };
    CHECK(run(vm, m, "mul_i64", mi, 2, &ex) && ex.results[0].of.i64 == -9000000000LL, "mul_i64");
    lvm_value h = lvm_f32(-3.0f);
    CHECK(run(vm, m, "half_f32", &h, 1, &ex) && ex.results[0].of.f32 == -1.5f, "half_f32");
    lvm_value mix[4] = { lvm_i32(-1), lvm_i64(1LL << 40), lvm_f32(0.5f), lvm_f64(0.25) };
    CHECK(run(vm, m, "mix", mix, 4, &ex) && ex.results[0].of.f64 == -1 + 1099511627776.0 + 0.75,
          "mix: %f", ex.results[0].of.f64);
    lvm_value s[2] = { lvm_i32(0), lvm_i32(5) };
    CHECK(run(vm, m, "sum", s, 2, &ex) && ex.results[0].of.i64 == 15, "sum: %s", ex.message);
    lvm_value empty[2] = { lvm_i32(65536), lvm_i32(0) };   /* empty, at the very end: fine */
    CHECK(run(vm, m, "sum", empty, 2, &ex) && ex.results[0].of.i64 == 0, "empty: %s", ex.message);
    lvm_value fs[3] = { lvm_i32(1000), lvm_i32(100), lvm_i32(3) };
    CHECK(run(vm, m, "fill_sum", fs, 3, &ex) && ex.results[0].of.i64 == 300, "fill_sum: %s", ex.message);
    lvm_value bad[2] = { lvm_i32(65530), lvm_i32(7) };
    CHECK(!run(vm, m, "sum", bad, 2, &ex), "out of range buffer passed");
    CHECK(strcmp(ex.message, "trap: t.sum: buffer (0xfffa, 7) is outside the guest's memory") == 0,
          "message: %s", ex.message);
    lvm_value badfill[3] = { lvm_i32(-16), lvm_i32(32), lvm_i32(0) };
    CHECK(!run(vm, m, "fill_sum", badfill, 3, &ex), "wrapping buffer passed");
    CHECK(run(vm, m, "tick", NULL, 0, &ex), "tick: %s", ex.message);
    lvm_error err;
    CHECK(!lvm_register_native(vm, "m", "two", "(f64)(f64 f64)", (lvm_native_fn)cos, &err) &&
          strstr(err.message, "one value at most"), "%s", err.message);
    CHECK(!lvm_register_native(vm, "m", "bufres", "()buf", (lvm_native_fn)cos, &err) &&
          strstr(err.message, "parameter type only"), "%s", err.message);
    CHECK(!lvm_register_native_lib(vm, "libm.so.6", "no_such_fn", "m", "x", "()", &err) &&
          strstr(err.message, "no_such_fn"), "%s", err.message);
    CHECK(!lvm_register_native_lib(vm, "/no/such/lib.so", "f", "m", "y", "()", &err) &&
          strstr(err.message, "/no/such/lib.so"), "%s", err.message);
    lvm_module_free(m);
    lvm_vm_free(vm);
}

static void test_refused_at_instantiation(void)
{
    lvm_vm *vm = new_vm(1);
    register_natives(vm);
    lvm_module *m = load("mismatch.wasm");
    lvm_error err;
    CHECK(!lvm_spawn(vm, m, "run", NULL, 0, NULL, &err), "mismatch spawned");
    CHECK(strcmp(err.message, "m.cos: the module imports (i32)->i32, the host function is (f64)->f64") == 0,
          "message: %s", err.message);
    lvm_module_free(m);

    /* An import nobody registered, and one the configuration does not permit. */
    m = load("calls.wasm");
    CHECK(!lvm_spawn(vm, m, "add", NULL, 0, NULL, &err), "spawned without env.*");
    register_callbacks(vm);
    lvm_process_config cfg = lvm_process_config_default();
    cfg.namespaces = LVM_NS_LVM | LVM_NS_WASI;
    lvm_value args[2] = { lvm_i32(1), lvm_i32(2) };
    CHECK(!lvm_spawn(vm, m, "add", args, 2, &cfg, &err) && strstr(err.message, "not permitted"),
          "message: %s", err.message);
    lvm_exit ex;
    cfg = lvm_process_config_default();
    cfg.fuel = 100000;
    uint64_t pid = lvm_spawn(vm, m, "spin", NULL, 0, &cfg, &err);
    CHECK(pid && lvm_wait(vm, pid, &ex) && ex.reason == LVM_EXIT_OUT_OF_FUEL,
          "fuel: %d %s", ex.reason, ex.message);

    /* A bounded wait gives up on a process that is still running, which can then be
     * waited for again: here a spinner, killed after the timeout. With one thread the
     * waiting caller runs it meanwhile; with two, the workers do. */
    for (unsigned threads = 1; threads <= 2; threads++) {
        lvm_vm *tvm = new_vm(threads);
        register_callbacks(tvm);
        uint64_t spin = lvm_spawn(tvm, m, "spin", NULL, 0, NULL, &err);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        bool ended = lvm_wait_timeout(tvm, spin, 30, &ex);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        CHECK(spin && !ended && ex.reason == LVM_EXIT_TIMEOUT && ms >= 29 && ms < 5000,
              "wait_timeout: ended %d reason %d after %.1f ms: %s", ended, ex.reason, ms, ex.message);
        CHECK(lvm_wait_timeout(tvm, spin, 0, &ex) == false && ex.reason == LVM_EXIT_TIMEOUT,
              "wait_timeout 0 on a running process");
        CHECK(lvm_kill(tvm, spin, LVM_EXIT_KILLED), "kill the spinner");
        CHECK(lvm_wait_timeout(tvm, spin, 5000, &ex) && ex.reason == LVM_EXIT_KILLED,
              "wait_timeout after the kill: %d %s", ex.reason, ex.message);
        CHECK(lvm_wait_timeout(tvm, spin, 10, &ex) && ex.reason == LVM_EXIT_NOPROC,
              "wait_timeout twice: %d", ex.reason);
        /* Garbage: a pid nobody spawned, a timeout that would overflow the clock. */
        CHECK(lvm_wait_timeout(tvm, 987654321, 10, &ex) && ex.reason == LVM_EXIT_NOPROC,
              "wait_timeout on an unknown pid: %d", ex.reason);
        uint64_t again = lvm_spawn(tvm, m, "spin", NULL, 0, NULL, &err);
        CHECK(again && lvm_kill(tvm, again, LVM_EXIT_KILLED) &&
              lvm_wait_timeout(tvm, again, INT64_MAX, &ex) && ex.reason == LVM_EXIT_KILLED,
              "wait_timeout with INT64_MAX ms: %d %s", ex.reason, ex.message);
        lvm_vm_free(tvm);
    }
    lvm_module_free(m);
    lvm_vm_free(vm);
}

static void test_messages(unsigned threads)
{
    lvm_vm *vm = new_vm(threads);
    lvm_module *m = load("echo.wasm");
    lvm_error err;
    lvm_message msg;
    uint64_t host = lvm_host_pid(vm);
    CHECK(host != 0, "no host pid");
    if (threads == 1)
        CHECK(lvm_receive(vm, NULL, 0, -1, &msg) == LVM_RECV_IDLE, "receive with nothing alive");
    CHECK(lvm_receive(vm, NULL, 0, 0, &msg) == LVM_RECV_TIMEOUT, "receive on empty mailbox");

    uint64_t pid = lvm_spawn(vm, m, "echo", NULL, 0, NULL, &err);
    CHECK(pid != 0, "%s", err.message);
    CHECK(lvm_send(vm, pid, 10, "ping", 4), "send");
    CHECK(lvm_send(vm, pid, 20, "pong!", 5), "send");
    int64_t want = 21;   /* selective: the second answer first */
    CHECK(lvm_receive(vm, &want, 1, 5000, &msg) == LVM_RECV_OK, "no answer");
    CHECK(msg.tag == 21 && msg.sender == pid && msg.len == 5 && memcmp(msg.bytes, "pong!", 5) == 0,
          "answer tag %lld", (long long)msg.tag);
    lvm_message_free(&msg);
    CHECK(lvm_receive(vm, NULL, 0, 5000, &msg) == LVM_RECV_OK && msg.tag == 11 &&
          memcmp(msg.bytes, "ping", 4) == 0, "first answer");
    lvm_message_free(&msg);
    lvm_send(vm, pid, 0, NULL, 0);
    lvm_exit ex;
    CHECK(lvm_wait(vm, pid, &ex) && ex.results[0].of.i32 == 2, "echo answered %d", ex.results[0].of.i32);
    CHECK(lvm_send(vm, pid, 1, "x", 1), "a send to a dead pid is not an error");

    /* The host's pid as an argument, and by name. */
    lvm_value hp = lvm_i64((int64_t)host);
    pid = lvm_spawn(vm, m, "hello", &hp, 1, NULL, &err);
    CHECK(lvm_receive(vm, NULL, 0, 5000, &msg) == LVM_RECV_OK && msg.tag == 5 && msg.sender == pid,
          "hello");
    lvm_message_free(&msg);
    lvm_wait(vm, pid, &ex);
    CHECK(lvm_register_name(vm, "host", host), "register");
    CHECK(!lvm_register_name(vm, "host", host), "registered twice");
    CHECK(lvm_whereis(vm, "host") == host, "whereis");
    pid = lvm_spawn(vm, m, "hello_named", NULL, 0, NULL, &err);
    CHECK(lvm_receive(vm, NULL, 0, 5000, &msg) == LVM_RECV_OK && msg.tag == 5 && msg.len == 4,
          "hello_named");
    lvm_message_free(&msg);
    lvm_wait(vm, pid, &ex);

    /* Monitor and kill a process that waits forever. */
    pid = lvm_spawn(vm, m, "echo", NULL, 0, NULL, &err);
    uint64_t ref = lvm_monitor(vm, pid);
    if (threads == 1)
        lvm_vm_step(vm, 1000);
    CHECK(lvm_kill(vm, pid, LVM_EXIT_KILLED), "kill");
    int64_t down = LVM_TAG_DOWN;
    CHECK(lvm_receive(vm, &down, 1, 5000, &msg) == LVM_RECV_OK && msg.len == 20, "DOWN");
    if (msg.bytes) {
        uint64_t r = 0, p = 0;
        for (int i = 7; i >= 0; i--) {
            r = (r << 8) | msg.bytes[i];
            p = (p << 8) | msg.bytes[8 + i];
        }
        CHECK(r == ref && p == pid && msg.bytes[16] == LVM_EXIT_KILLED, "DOWN contents");
    }
    lvm_message_free(&msg);
    CHECK(lvm_wait(vm, pid, &ex) == true && ex.reason == LVM_EXIT_KILLED, "killed: %s", ex.message);
    CHECK(lvm_wait(vm, pid, &ex) && ex.reason == LVM_EXIT_NOPROC, "waited twice");

    lvm_stats st;
    lvm_vm_stats(vm, &st);
    CHECK(st.spawned == 4 && st.exited == 4 && st.alive == 0 && st.messages >= 8 && st.reductions > 0,
          "stats: %llu %llu %llu %llu", (unsigned long long)st.spawned,
          (unsigned long long)st.exited, (unsigned long long)st.alive, (unsigned long long)st.messages);
    lvm_module_free(m);
    lvm_vm_free(vm);
}

/* Stepping: the host's loop runs the VM a little at a time and does its own work between. */
static void test_stepping(void)
{
    lvm_vm *vm = new_vm(1);
    lvm_module *m = load("echo.wasm");
    register_callbacks(vm);
    lvm_module *c = load("calls.wasm");
    lvm_error err;
    lvm_message msg;
    CHECK(lvm_vm_step(vm, 1000) == LVM_STEP_IDLE, "idle VM");
    uint64_t pid = lvm_spawn(vm, m, "echo", NULL, 0, NULL, &err);
    CHECK(lvm_vm_step(vm, 1000) == LVM_STEP_IDLE, "echo waits for a message: idle");
    lvm_send(vm, pid, 1, "a", 1);
    CHECK(lvm_vm_step(vm, 1000) == LVM_STEP_IDLE, "answered, waits again");
    lvm_stats st;
    lvm_vm_stats(vm, &st);
    CHECK(st.alive == 1, "alive %llu", (unsigned long long)st.alive);
    CHECK(lvm_receive(vm, NULL, 0, 0, &msg) == LVM_RECV_OK && msg.tag == 2, "answer");
    lvm_message_free(&msg);

    /* A spinning process: every step returns, after about the reductions asked for. */
    uint64_t spin = lvm_spawn(vm, c, "spin", NULL, 0, NULL, &err);
    uint64_t before = st.reductions;
    for (int i = 0; i < 5; i++)
        CHECK(lvm_vm_step(vm, 20000) == LVM_STEP_RUNNABLE, "spinner is runnable");
    lvm_vm_stats(vm, &st);
    CHECK(st.reductions - before >= 5 * 20000 && st.reductions - before < 5 * 20000 + 5 * 4001,
          "ran %llu reductions", (unsigned long long)(st.reductions - before));
    CHECK(lvm_vm_next_timer_ms(vm) == -1, "no timer");
    lvm_kill(vm, spin, LVM_EXIT_KILLED);
    lvm_send(vm, pid, 0, NULL, 0);
    while (lvm_vm_step(vm, 1000) == LVM_STEP_RUNNABLE)
        ;
    lvm_exit ex;
    CHECK(lvm_poll(vm, spin, &ex) && ex.reason == LVM_EXIT_KILLED, "spinner killed");
    CHECK(lvm_poll(vm, pid, &ex) && ex.reason == LVM_EXIT_NORMAL && ex.results[0].of.i32 == 1, "echo");
    lvm_module_free(m);
    lvm_module_free(c);
    lvm_vm_free(vm);
}

static void test_wasi(unsigned threads)
{
    lvm_vm *vm = new_vm(threads);
    lvm_module *m = load("hello.wasm");
    int fds[2];
    if (pipe(fds) != 0)
        return;
    const char *argv[] = { "hello", "world" };
    const char *env[] = { "WHO=embedder" };
    lvm_process_config cfg = lvm_process_config_default();
    cfg.argc = 2;
    cfg.argv = argv;
    cfg.nenv = 1;
    cfg.env = env;
    cfg.stdout_fd = fds[1];
    lvm_error err;
    lvm_exit ex;
    uint64_t pid = lvm_spawn(vm, m, "_start", NULL, 0, &cfg, &err);
    CHECK(pid && lvm_wait(vm, pid, &ex) && ex.reason == LVM_EXIT_NORMAL, "%s %s", err.message, ex.message);
    char out[100] = "";
    ssize_t n = read(fds[0], out, sizeof out - 1);
    out[n > 0 ? n : 0] = 0;
    CHECK(strcmp(out, "hello world embedder\n") == 0, "output: '%s'", out);

    const char *argv3[] = { "hello", "a", "b" };
    cfg.argc = 3;
    cfg.argv = argv3;
    pid = lvm_spawn(vm, m, "_start", NULL, 0, &cfg, &err);
    CHECK(pid && lvm_wait(vm, pid, &ex) && ex.reason == LVM_EXIT_USER + 3 && ex.exit_code == 3,
          "exit code: %d %s", ex.exit_code, ex.message);
    n = read(fds[0], out, sizeof out - 1);

    lvm_preopen bad = { "/no/such/dir", "/data" };
    cfg.npreopens = 1;
    cfg.preopens = &bad;
    CHECK(!lvm_spawn(vm, m, "_start", NULL, 0, &cfg, &err) && strstr(err.message, "/no/such/dir"),
          "message: %s", err.message);
    cfg.npreopens = 0;
    cfg.namespaces = LVM_NS_LVM;
    CHECK(!lvm_spawn(vm, m, "_start", NULL, 0, &cfg, &err) && strstr(err.message, "not permitted"),
          "message: %s", err.message);
    close(fds[0]);
    close(fds[1]);
    lvm_module_free(m);
    lvm_vm_free(vm);
}

/* Many VMs in one program, one after another, each used fully: nothing may leak (LSan). */
static void test_many_vms(void)
{
    int ok = 0;
    for (int i = 0; i < 40; i++) {
        lvm_vm *vm = new_vm(i % 2 ? 2 : 1);
        register_callbacks(vm);
        register_natives(vm);
        lvm_module *m = load("echo.wasm"), *n = load("native.wasm");
        lvm_error err;
        lvm_message msg;
        lvm_exit ex;
        uint64_t pid = lvm_spawn(vm, m, "echo", NULL, 0, NULL, &err);
        lvm_send(vm, pid, 7, "hi", 2);
        bool got = lvm_receive(vm, NULL, 0, 5000, &msg) == LVM_RECV_OK && msg.tag == 8;
        lvm_message_free(&msg);
        lvm_value x = lvm_f64(0.0);
        uint64_t c = lvm_spawn(vm, n, "cos", &x, 1, NULL, &err);
        bool cosok = c && lvm_wait(vm, c, &ex) && ex.results[0].of.f64 == 1.0;
        lvm_spawn(vm, m, "echo", NULL, 0, NULL, &err);   /* left waiting: freed with the VM */
        if (got && cosok)
            ok++;
        lvm_module_free(m);
        lvm_module_free(n);
        lvm_vm_free(vm);
    }
    CHECK(ok == 40, "%d of 40 VMs worked", ok);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: embed-tests DIR\n");
        return 2;
    }
    dir = argv[1];
    CHECK(strcmp(lvm_version(), LVM_VERSION_STRING) == 0, "version %s", lvm_version());
    test_load_errors();
    for (unsigned threads = 1; threads <= 2; threads++) {
        test_callbacks(threads);
        test_block_resume(threads);
        test_natives(threads);
        test_messages(threads);
        test_wasi(threads);
    }
    test_refused_at_instantiation();
    test_stepping();
    test_many_vms();
    printf("embed: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
