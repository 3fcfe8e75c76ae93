/*
 * ring — R = 10,000 processes in a ring. Each first waits for `next` (the pid of its
 * successor; the last one's is the first), then loops: on an integer K, if K == 0 it
 * sends `ring_done` to the driver, else K-1 to its successor; on `stop` it ends.
 * The driver sends H = R * 100 = 1,000,000 to the first: exactly 1,000,000 sends inside
 * the ring (the token goes round 100 times) plus the injection. Time = injection ..
 * `ring_done` received. The same ring runs twice: cold (the first lap ever), then warm.
 * Build time (spawn + wiring) is reported separately. (ba_ring.erl)
 */
#include "common.h"

#define R 10000
#define LAPS 100
enum { TAG_NEXT = 1, TAG_INT = 2, TAG_STOP = 3, TAG_RING_DONE = 4 };

static void member(int64_t driver)
{
    recv_tag(TAG_NEXT);
    lvm_pid next = lvm_msg_i64();
    static const int64_t tags[2] = { TAG_INT, TAG_STOP };
    for (;;) {
        lvm_receive(tags, 2, -1);
        if (lvm_msg_tag() == TAG_STOP)
            return;
        int64_t k = lvm_msg_i64();
        if (k == 0)
            lvm_send(driver, TAG_RING_DONE, 0, 0);
        else
            lvm_send_i64(next, TAG_INT, k - 1);
    }
}

static lvm_pid pids[R];

int main(void)
{
    lvm_pid self = lvm_self();
    int64_t tb0 = now_us();
    for (int i = 0; i < R; i++)
        if (!(pids[i] = lvm_spawn1(member, self, 0)))
            die("spawn failed");
    for (int i = 0; i < R; i++)
        lvm_send_i64(pids[i], TAG_NEXT, pids[(i + 1) % R]);
    int64_t tb1 = now_us();
    const int64_t h = (int64_t)R * LAPS;
    for (int run = 0; run < 2; run++) {
        int64_t t0 = now_us();
        lvm_send_i64(pids[0], TAG_INT, h);
        recv_tag(TAG_RING_DONE);
        int64_t t = now_us() - t0;
        printf("RESULT ring run=%s procs=%d laps=%d sends=%lld total_ms=%.3f msgs_per_s=%.0f "
               "ns_per_hop=%.3f build_ms=%.3f\n",
               RUN_NAME[run], R, LAPS, (long long)h, t / 1e3, h / (t / 1e6),
               t * 1000.0 / h, (tb1 - tb0) / 1e3);
        fflush(stdout);
    }
    for (int i = 0; i < R; i++)
        lvm_send(pids[i], TAG_STOP, 0, 0);
    return 0;
}
