/*
 * mod_basic.c — a module that tests load at run time (lvm_module_load) and spawn from
 * (lvm_spawn_module). It imports module "lvm" only: no libc, no WASI, no _start.
 * Built by run.py with -nostdlib -Wl,--no-entry; its entry points are exported by name.
 */
#include "sdk/lvm.h"

#define EXPORT(name) __attribute__((export_name(name)))

/* Send a + b to `to` (tag 1). */
EXPORT("add") void add(int64_t to, int64_t a, int64_t b)
{
    lvm_send_i64(to, 1, a + b);
}

/* Trap: integer divide by zero. */
EXPORT("crash") void crash(int64_t x)
{
    volatile int64_t zero = x - x;
    lvm_send_i64(0, 1, x / zero);
}

/* Spawn export `name_id` (1: "hello" of mod_wasi, 2: "add" of this module) of module
 * `handle`, then tell `to` the pid the spawn returned (tag 2): shows what a process of
 * this module may spawn. */
EXPORT("try_spawn") void try_spawn(int64_t to, int64_t handle, int64_t name_id)
{
    int64_t args[3] = { to, 20, 22 };
    lvm_pid pid = name_id == 1 ? lvm_spawn_module(handle, "hello", 5, args, 1, 0, 0)
                               : lvm_spawn_module(handle, "add", 3, args, 3, 0, 0);
    lvm_send_i64(to, 2, pid);
}

/* Report this process's configuration for its children to `to` (tag 3: four i64). */
EXPORT("config") void config(int64_t to)
{
    int64_t c[4];
    for (int i = 0; i < 4; i++)
        c[i] = lvm_config_get(i + 1);
    lvm_send(to, 3, c, sizeof c);
}
