/*
 * mod_pure.c — a module loaded at run time that imports nothing at all: it may be spawned
 * even by a process whose children may import neither lvm nor WASI (limits.ns_lvm).
 */
#include <stdint.h>

/* Compute for a while and return (a normal exit). */
__attribute__((export_name("compute"))) int64_t compute(int64_t n)
{
    int64_t s = 0;
    for (volatile int64_t i = 0; i < n; i++)
        s += i;
    return s;
}
