/*
 * watched.c — a guest for the `lvm --top` test (tests/tools/run.py): a few processes
 * that stay alive long enough to be seen.
 *
 *   lvm watched.wasm [MS]     (default 3000)
 *
 * The root registers itself as "keeper", spawns a "napper" (registered, sleeping in a
 * loop) and three waiters (blocked in receive), sleeps MS milliseconds, then stops them.
 */
#include <stdlib.h>

#include "sdk/lvm.h"

enum { STOP = 1 };

static void waiter(int64_t unused)
{
    (void)unused;
    lvm_recv_i64(STOP);
}

static void napper(int64_t unused)
{
    (void)unused;
    lvm_register("napper", lvm_self());
    int64_t tag = STOP;
    while (lvm_receive(&tag, 1, 50) != 0)   /* a timeout: nap again */
        lvm_sleep(50);
}

int main(int argc, char **argv)
{
    long ms = argc > 1 ? atol(argv[1]) : 3000;
    lvm_register("keeper", lvm_self());
    lvm_pid kids[4];
    kids[0] = lvm_spawn(napper, 0);
    for (int i = 1; i < 4; i++)
        kids[i] = lvm_spawn(waiter, i);
    lvm_sleep(ms);
    for (int i = 0; i < 4; i++)
        lvm_send_i64(kids[i], STOP, 0);
    return 0;
}
