/*
 * spawn_exit_msg — the driver spawns N = 100,000 children in a loop; each child's whole
 * body is one `done` message (a tag, no bytes) to the driver, then it returns (normal
 * exit). The driver then receives N `done`. Time = first spawn .. last `done` received.
 * Run twice in the same VM: cold, then warm. (ba_spawn.erl, exit_msg/1)
 */
#include "common.h"

#define N 100000
enum { TAG_DONE = 1 };

static void child(int64_t parent)
{
    lvm_send(parent, TAG_DONE, 0, 0);
}

int main(void)
{
    lvm_pid self = lvm_self();
    for (int run = 0; run < 2; run++) {
        int64_t t0 = now_us();
        for (int i = 0; i < N; i++)
            if (!lvm_spawn1(child, self, 0))
                die("spawn failed");
        for (int i = 0; i < N; i++)
            recv_tag(TAG_DONE);
        int64_t t = now_us() - t0;
        printf("RESULT spawn_exit_msg run=%s n=%d total_ms=%.3f us_per_spawn=%.3f\n",
               RUN_NAME[run], N, t / 1e3, (double)t / N);
        fflush(stdout);
    }
    return 0;
}
