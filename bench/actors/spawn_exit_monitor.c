/*
 * spawn_exit_monitor — as spawn_exit_msg, but the children do nothing: they are spawned
 * with a monitor, and the driver waits for N DOWN messages (every child has really
 * ended). Run twice in the same VM: cold, then warm. (ba_spawn.erl, exit_monitor/1)
 */
#include "common.h"

#define N 100000

static void child(void)
{
}

int main(void)
{
    for (int run = 0; run < 2; run++) {
        int64_t t0 = now_us();
        for (int i = 0; i < N; i++)
            if (!lvm_spawn0(child, LVM_SPAWN_MONITOR))
                die("spawn failed");
        for (int i = 0; i < N; i++)
            recv_tag(LVM_TAG_DOWN);
        int64_t t = now_us() - t0;
        printf("RESULT spawn_exit_monitor run=%s n=%d total_ms=%.3f us_per_spawn=%.3f\n",
               RUN_NAME[run], N, t / 1e3, (double)t / N);
        fflush(stdout);
    }
    return 0;
}
