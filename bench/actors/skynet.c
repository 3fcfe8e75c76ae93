/*
 * skynet — node(parent, num, size): a leaf (size 1) sends num to its parent and ends;
 * any other node spawns 10 children node(self, num + i * size/10, size/10), i = 0..9,
 * receives 10 integers and sends their sum to its parent. The root is
 * node(driver, 0, 1,000,000): 6 levels, 1,000,000 leaves, 1,111,111 processes; the sum
 * must be 499,999,500,000. Time = spawn of the root .. the driver has the sum. Run twice
 * in the same VM (cold, warm). (ba_skynet.erl)
 *
 * An argument `size=S` (a power of 10) replaces 1,000,000 leaves; run_actors.py uses it
 * only when the full tree does not fit in memory. The sum must then be S(S-1)/2.
 */
#include "common.h"

#define DIV 10
enum { TAG_SUM = 1 };

static void node(int64_t parent, int64_t num, int64_t size)
{
    if (size == 1) {
        lvm_send_i64(parent, TAG_SUM, num);
        return;
    }
    lvm_pid self = lvm_self();
    int64_t sub = size / DIV;
    for (int i = 0; i < DIV; i++)
        if (!spawn_n(node, 0, 3, self, num + i * sub, sub, 0))
            die("spawn failed");
    int64_t sum = 0;
    for (int i = 0; i < DIV; i++)
        sum += lvm_recv_i64(TAG_SUM);
    lvm_send_i64(parent, TAG_SUM, sum);
}

int main(int argc, char **argv)
{
    int64_t size = 1000000, procs = 0;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "size=", 5) == 0 && atoll(argv[i] + 5) > 0)
            size = atoll(argv[i] + 5);
    for (int64_t s = size; s >= 1; s /= DIV)
        procs += size / s;   /* 1 + 10 + 100 + … + size */
    const int64_t expect = size * (size - 1) / 2;
    lvm_pid self = lvm_self();
    for (int run = 0; run < 2; run++) {
        int64_t t0 = now_us();
        if (!spawn_n(node, 0, 3, self, 0, size, 0))
            die("spawn failed");
        int64_t sum = lvm_recv_i64(TAG_SUM);
        int64_t t = now_us() - t0;
        if (sum != expect) {
            printf("ERROR skynet sum=%lld\n", (long long)sum);
            return 1;
        }
        printf("RESULT skynet run=%s leaves=%lld procs=%lld sum=%lld total_ms=%.3f us_per_proc=%.3f\n",
               RUN_NAME[run], (long long)size, (long long)procs, (long long)sum, t / 1e3,
               (double)t / procs);
        fflush(stdout);
    }
    return 0;
}
