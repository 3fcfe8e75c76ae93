/*
 * ring.c — N processes in a ring, a token passed around it M times.
 *
 *   build/lvm build/examples/ring.wasm [N] [M]        (default N = 1000, M = 100)
 *
 * The ring is root -> node 1 -> node 2 -> ... -> node N -> root. Each node knows only the
 * next one: the nodes are spawned last first, so each can be given its successor's pid
 * as its spawn argument. The token carries the number of hops so far; the root checks it
 * at each lap, then sends STOP around, and each node forwards it and ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sdk/lvm.h"

enum { TOKEN = 1, STOP = 2 };

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void node(int64_t next)
{
    int64_t tags[2] = { TOKEN, STOP };
    for (;;) {
        lvm_receive(tags, 2, -1);
        int64_t tag = lvm_msg_tag();
        lvm_send_i64(next, tag, lvm_msg_i64() + 1);
        if (tag == STOP)
            return;
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    long m = argc > 2 ? atol(argv[2]) : 100;
    if (n < 1 || m < 1) {
        fprintf(stderr, "usage: ring [N >= 1] [M >= 1]\n");
        return 2;
    }
    int64_t t0 = now_ns();
    lvm_pid next = lvm_self();
    for (long i = 0; i < n; i++)
        if (!(next = lvm_spawn(node, next))) {
            fprintf(stderr, "ring: cannot spawn node %ld\n", n - i);
            return 1;
        }
    int64_t t1 = now_ns();
    for (long lap = 1; lap <= m; lap++) {
        lvm_send_i64(next, TOKEN, 0);
        int64_t hops = lvm_recv_i64(TOKEN);
        if (hops != n) {
            fprintf(stderr, "ring: lap %ld took %lld hops, not %ld\n", lap, (long long)hops, n);
            return 1;
        }
    }
    int64_t t2 = now_ns();
    lvm_send_i64(next, STOP, 0);
    lvm_recv_i64(STOP);   /* every node has forwarded STOP and is ending */
    double hops = (double)n * (double)m;
    printf("ring: %ld processes spawned in %.1f ms; token passed around %ld times "
           "(%.0f messages) in %.1f ms: %.0f ns per message\n",
           n, (t1 - t0) / 1e6, m, hops, (t2 - t1) / 1e6, (double)(t2 - t1) / hops);
    return 0;
}
