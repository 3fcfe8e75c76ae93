/*
 * pingpong.c — two processes, N round trips: the root sends PING with a counter, the
 * other process answers PONG with the same counter to whoever sent it.
 *
 *   build/lvm build/examples/pingpong.wasm [N]        (default N = 100000)
 *
 * Prints the number of round trips and the time each took (send + receive, both ways).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sdk/lvm.h"

enum { PING = 1, PONG = 2, STOP = 3 };

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The other process: echo every PING back to its sender until STOP. */
static void pong(int64_t unused)
{
    (void)unused;
    int64_t tags[2] = { PING, STOP };
    while (lvm_receive(tags, 2, -1) == 0 && lvm_msg_tag() == PING)
        lvm_send_i64(lvm_msg_sender(), PONG, lvm_msg_i64());
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    lvm_pid other = lvm_spawn(pong, 0);
    if (!other) {
        fprintf(stderr, "pingpong: cannot spawn\n");
        return 1;
    }
    int64_t start = now_ns();
    for (long i = 0; i < n; i++) {
        lvm_send_i64(other, PING, i);
        if (lvm_recv_i64(PONG) != i) {
            fprintf(stderr, "pingpong: round trip %ld came back wrong\n", i);
            return 1;
        }
    }
    int64_t elapsed = now_ns() - start;
    lvm_send(other, STOP, 0, 0);
    printf("pingpong: %ld round trips between pids %lld and %lld in %.1f ms: %.0f ns per round trip\n",
           n, (long long)lvm_self(), (long long)other, elapsed / 1e6,
           n ? (double)elapsed / (double)n : 0.0);
    return 0;
}
