/*
 * pingpong — two fresh processes A and B (neither is the driver). B loops: on an integer
 * I it sends I back to A; on `stop` it ends. A, after `go`, does for I = 1,000,000 down
 * to 1: send I to B, then receive the reply and check it is I (the mailbox only ever
 * holds that one message). A times the whole loop itself and reports to the driver.
 * rtt_us = total / 1,000,000. Run twice in the same VM (cold, warm), fresh A and B each
 * time. (ba_pingpong.erl)
 */
#include "common.h"

#define RT 1000000
enum { TAG_PEER = 1, TAG_GO = 2, TAG_INT = 3, TAG_STOP = 4, TAG_DONE = 5 };

static void pong(void)
{
    recv_tag(TAG_PEER);
    lvm_pid a = lvm_msg_i64();
    static const int64_t tags[2] = { TAG_INT, TAG_STOP };
    for (;;) {
        lvm_receive(tags, 2, -1);
        if (lvm_msg_tag() == TAG_STOP)
            return;
        lvm_send_i64(a, TAG_INT, lvm_msg_i64());
    }
}

static void ping(int64_t driver, int64_t b, int64_t n)
{
    recv_tag(TAG_GO);
    int64_t t0 = now_us();
    for (int64_t i = n; i > 0; i--) {
        lvm_send_i64(b, TAG_INT, i);
        recv_tag(TAG_INT);
        if (lvm_msg_i64() != i)
            die("pingpong: wrong reply");
    }
    int64_t t1 = now_us();
    lvm_send_i64(driver, TAG_DONE, t1 - t0);
}

int main(void)
{
    lvm_pid self = lvm_self();
    for (int run = 0; run < 2; run++) {
        lvm_pid b = lvm_spawn0(pong, 0);
        lvm_pid a = spawn_n(ping, 0, 3, self, b, RT, 0);
        if (!a || !b)
            die("spawn failed");
        lvm_send_i64(b, TAG_PEER, a);
        lvm_send(a, TAG_GO, 0, 0);
        recv_tag(TAG_DONE);
        int64_t t = lvm_msg_i64();
        lvm_send(b, TAG_STOP, 0, 0);
        printf("RESULT pingpong run=%s round_trips=%d total_ms=%.3f rtt_us=%.3f msgs_per_s=%.0f\n",
               RUN_NAME[run], RT, t / 1e3, (double)t / RT, 2.0 * RT / (t / 1e6));
        fflush(stdout);
    }
    return 0;
}
