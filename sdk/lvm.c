/*
 * lvm.c — the SDK's small helpers: spawning through a trampoline, exit reasons in words,
 * a millisecond clock. Guest code (wasm32-wasi), linked into every program that uses the
 * SDK. Read lvm.h first; supervisor.c and server.c build on this.
 */
#include <stdio.h>
#include <time.h>

#include "lvm.h"

/* Every process lvm_spawn_fn starts runs this: fn is the table index of the real
 * function, nargs how many of a0..a3 it takes. Calling fn through the pointer type of its
 * real arity matters: Wasm's call_indirect traps on a type mismatch.
 *
 * It is spawned by its export name, not by its table index, for what wasm-ld does to a
 * command's exports: it wraps each one in a call to __wasm_call_ctors before and
 * __wasm_call_dtors after, as it wraps _start. A spawned process starts in a fresh
 * instance, so it needs both: wasi-libc finds its preopened directories in a constructor
 * (without it fopen() fails in every child), and flushes stdio in a destructor. (Calling
 * __wasm_call_ctors from here by hand would be worse: wasm-ld then stops wrapping every
 * export, _start included, and the root loses its final flush.) */
__attribute__((export_name("lvm_trampoline")))
void lvm_trampoline(int64_t fn, int64_t nargs, int64_t a0, int64_t a1, int64_t a2, int64_t a3)
{
    switch (nargs) {
    case 0: ((lvm_fn0)(uintptr_t)fn)(); break;
    case 1: ((lvm_fn1)(uintptr_t)fn)(a0); break;
    case 2: ((lvm_fn2)(uintptr_t)fn)(a0, a1); break;
    case 3: ((lvm_fn3)(uintptr_t)fn)(a0, a1, a2); break;
    default: ((lvm_fn4)(uintptr_t)fn)(a0, a1, a2, a3); break;
    }
    /* The destructors flush stdio too; this keeps the promise if a linker does not wrap. */
    fflush(NULL);
}

lvm_pid lvm_spawn_fn(lvm_fn fn, const int64_t *args, int32_t nargs, int32_t flags,
                     int64_t *ref_out)
{
    if (nargs < 0 || nargs > LVM_MAX_ARGS)
        return 0;
    int64_t targs[2 + LVM_MAX_ARGS] = { (int64_t)(uintptr_t)fn, nargs };
    for (int32_t i = 0; i < nargs; i++)
        targs[2 + i] = args[i];
    static const char name[] = "lvm_trampoline";
    return lvm_spawn_export(name, sizeof name - 1, targs, 2 + LVM_MAX_ARGS, flags, ref_out);
}

void lvm_exit_flush(int32_t reason)
{
    fflush(NULL);
    lvm_exit(reason);
}

int64_t lvm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* vm/vm.h's LVM_TRAPS messages, by kind (the kind is part of the ABI: reason - 16). */
static const char *const trap_text[] = {
    "no trap", "unreachable", "out of bounds memory access", "out of bounds table access",
    "integer divide by zero", "integer overflow", "invalid conversion to integer",
    "undefined element", "uninitialized element", "indirect call type mismatch",
    "call stack exhausted", "out of memory", "host function trapped", "exited",
};

const char *lvm_reason_text(int32_t reason, char *buf, size_t len)
{
    switch (reason) {
    case LVM_EXIT_NORMAL: return "normal";
    case LVM_EXIT_KILLED: return "killed";
    case LVM_EXIT_NOPROC: return "noproc";
    case LVM_EXIT_OUT_OF_MEMORY: return "out of memory";
    case LVM_EXIT_OUT_OF_REDUCTIONS: return "out of reductions";
    case LVM_EXIT_SPAWN_FAILED: return "spawn failed";
    case LVM_EXIT_SHUTDOWN: return "shutdown";
    case LVM_EXIT_MAX_RESTARTS: return "reached max restart intensity";
    default: break;
    }
    int32_t kind = reason - LVM_EXIT_TRAP;
    if (kind >= 0 && kind < (int32_t)(sizeof trap_text / sizeof trap_text[0]))
        snprintf(buf, len, "trap: %s", trap_text[kind]);
    else if (reason >= LVM_EXIT_USER)
        snprintf(buf, len, "exit %d", (int)(reason - LVM_EXIT_USER));
    else
        snprintf(buf, len, "reason %d", (int)reason);
    return buf;
}
