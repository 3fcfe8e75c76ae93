/*
 * fanin — one consumer C counts down from 1,000,000 messages, reading each one's 64 bytes
 * into its own memory. 1,000 producers are spawned first; each fills its own 64-byte
 * buffer, tells the driver it is ready and waits for `go`. The driver then sends `go` to
 * all 1,000 (start of timing); each producer sends its buffer to C 1,000 times in a tight
 * loop. C reports the time it received the 1,000,000th message.
 * msgs_per_s = 1e6 / (t_last_received - t_go_start). Run twice in the same VM (cold,
 * warm), fresh processes each time. (ba_fanin.erl)
 */
#include "common.h"

#define P 1000
#define M 1000
#define BYTES 64
enum { TAG_READY = 1, TAG_GO = 2, TAG_BIN = 3, TAG_CONSUMER_DONE = 4 };

static void consumer(int64_t total, int64_t driver)
{
    uint8_t buf[BYTES];
    uint32_t check = 0;
    for (int64_t k = total; k > 0; k--) {
        recv_tag(TAG_BIN);
        if (lvm_msg_read(buf, BYTES, 0) != BYTES)
            die("fanin: short message");
        check += buf[0];
    }
    int64_t t1 = now_us();
    lvm_send_i64(driver, TAG_CONSUMER_DONE, t1);
    if (check == 0xffffffffu)   /* keep the reads */
        die("unreachable");
}

static void producer(int64_t driver, int64_t c, int64_t i)
{
    uint8_t bin[BYTES];
    memset(bin, (int)(i % 256), BYTES);
    lvm_send(driver, TAG_READY, 0, 0);
    recv_tag(TAG_GO);
    for (int k = 0; k < M; k++)
        lvm_send(c, TAG_BIN, bin, BYTES);
}

static lvm_pid prods[P];

int main(void)
{
    lvm_pid self = lvm_self();
    const int64_t total = (int64_t)P * M;
    for (int run = 0; run < 2; run++) {
        lvm_pid c = spawn_n(consumer, 0, 2, total, self, 0, 0);
        if (!c)
            die("spawn failed");
        for (int i = 0; i < P; i++)
            if (!(prods[i] = spawn_n(producer, 0, 3, self, c, i + 1, 0)))
                die("spawn failed");
        for (int i = 0; i < P; i++)
            recv_tag(TAG_READY);
        int64_t t0 = now_us();
        for (int i = 0; i < P; i++)
            lvm_send(prods[i], TAG_GO, 0, 0);
        recv_tag(TAG_CONSUMER_DONE);
        int64_t t = lvm_msg_i64() - t0;
        printf("RESULT fanin run=%s producers=%d per_producer=%d msg_bytes=%d total_ms=%.3f "
               "msgs_per_s=%.0f mb_per_s=%.3f\n",
               RUN_NAME[run], P, M, BYTES, t / 1e3, total / (t / 1e6),
               total * (double)BYTES / (t / 1e6) / 1e6);
        fflush(stdout);
    }
    return 0;
}
