/*
 * host.c — a complete small host program for lvm (docs/embedding.md walks through it).
 *
 * It loads guest.wasm, gives it two host functions — env.log, a C callback that reads a
 * string from guest memory, and env.cos, libm's cos bound through libffi — spawns a
 * process running the guest's `run`, asks it for three cosines by message, then tells it
 * to stop and waits for it.
 *
 *   cc -o host host.c $(pkg-config --cflags --libs lvm) -lm
 *   ./host guest.wasm
 */
#include <lvm.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

/* env.log(ptr, len): print the guest's string, checked against its memory. */
static lvm_status log_fn(lvm_call *call, void *env, const lvm_value *args, lvm_value *results)
{
    uint32_t ptr = (uint32_t)args[0].of.i32, len = (uint32_t)args[1].of.i32;
    const char *text = lvm_call_memory(call, ptr, len);
    if (!text)
        return lvm_call_trap(call, "string outside the guest's memory");
    printf("[%s %llu] %.*s\n", (const char *)env, (unsigned long long)lvm_call_pid(call),
           (int)len, text);
    return LVM_OK;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "guest.wasm";
    lvm_error err;
    lvm_vm *vm = lvm_vm_new(NULL, &err);          /* one worker thread per core */
    lvm_module *mod = vm ? lvm_module_load_file(path, &err) : NULL;
    if (!mod ||
        !lvm_register_fn(vm, "env", "log", "(i32 i32)", log_fn, "guest", &err) ||
        !lvm_register_native(vm, "env", "cos", "(f64)f64", (lvm_native_fn)cos, &err)) {
        fprintf(stderr, "host: %s\n", err.message);
        lvm_vm_free(vm);
        return 1;
    }

    /* The guest learns where to answer from its argument: the host's own pid. */
    lvm_value arg = lvm_i64((int64_t)lvm_host_pid(vm));
    uint64_t pid = lvm_spawn(vm, mod, "run", &arg, 1, NULL, &err);
    if (!pid) {
        fprintf(stderr, "host: %s\n", err.message);
        lvm_module_free(mod);
        lvm_vm_free(vm);
        return 1;
    }

    int status = 0;
    for (int i = 0; i < 3; i++) {
        double x = i * 0.5, y;
        lvm_send(vm, pid, 1, &x, sizeof x);       /* f64 x; guest memory is little-endian */
        lvm_message reply;
        if (lvm_receive(vm, NULL, 0, 5000, &reply) != LVM_RECV_OK || reply.len != sizeof y) {
            fprintf(stderr, "host: no answer\n");
            status = 1;
            break;
        }
        memcpy(&y, reply.bytes, sizeof y);
        printf("cos(%.1f) = %.6f (from pid %llu)\n", x, y, (unsigned long long)reply.sender);
        if (y != cos(x))
            status = 1;
        lvm_message_free(&reply);
    }

    lvm_send(vm, pid, 0, NULL, 0);               /* tag 0: stop */
    lvm_exit ex;
    lvm_wait(vm, pid, &ex);
    printf("guest ended: %s, answered %d\n", ex.message, ex.nresults ? ex.results[0].of.i32 : -1);

    lvm_stats st;
    lvm_vm_stats(vm, &st);
    printf("processes alive: %llu, messages: %llu\n", (unsigned long long)st.alive,
           (unsigned long long)st.messages);
    lvm_module_free(mod);
    lvm_vm_free(vm);
    return status || ex.reason != LVM_EXIT_NORMAL;
}
