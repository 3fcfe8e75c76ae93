/*
 * common.h — shared by the actor workloads (bench/README.md, ../shared/bench/ACTORS.md).
 *
 * Each workload is a WASI command whose _start is the driver (lvm's root process); the
 * processes it spawns run C functions of the same module, each in a fresh instance, so
 * they share nothing with the driver but what is passed as spawn arguments or messages.
 * Output: `RESULT name key=value …` lines, as ../shared/bench/beam/run.sh prints for BEAM.
 */
#ifndef BENCH_ACTORS_COMMON_H
#define BENCH_ACTORS_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdk/lvm.h"

/* Monotonic clock in µs (WASI clock_time_get, CLOCK_MONOTONIC). */
static inline int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Spawn fn (a function of this module) with up to 4 i64 arguments. */
static inline lvm_pid spawn_n(void *fn, int32_t flags, int32_t nargs, int64_t a, int64_t b,
                              int64_t c, int64_t d)
{
    int64_t args[4] = { a, b, c, d };
    return lvm_spawn_raw((int32_t)(uintptr_t)fn, args, nargs, flags, 0);
}

/* Wait for one message with this tag; its payload is left for lvm_msg_*. */
static inline void recv_tag(int64_t tag)
{
    lvm_receive(&tag, 1, -1);
}

static inline void die(const char *what)
{
    printf("ERROR %s\n", what);
    fflush(stdout);
    exit(1);
}

/* For the `run=cold` / `run=warm` repetitions inside one VM. */
static const char *const RUN_NAME[2] = { "cold", "warm" };

#endif
