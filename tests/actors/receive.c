/*
 * receive.c — messages: selective receive by tag keeps the skipped messages in order,
 * receive of any tag takes the oldest, timeouts (0 polls, N ms, -1 forever), reading a
 * message (tag, sender, size, bytes at an offset), and send to a dead pid.
 */
#include "common.h"

enum { TAG_DONE = 9, TAG_GO = 10, TAG_LATE = 11 };

/* Print the oldest message matching `tags` (none: any): "tag:text". */
static void take(const int64_t *tags, int32_t ntags)
{
    CHECK_EQ(lvm_receive(tags, ntags, 0), 0);
    char buf[16] = { 0 };
    lvm_msg_read(buf, sizeof buf - 1, 0);
    printf(" %lld:%s", (long long)lvm_msg_tag(), buf);
}

static const int64_t seq_tags[6] = { 1, 2, 3, 1, 2, 3 };
static const char *const seq_text[6] = { "a", "b", "c", "d", "e", "f" };

static void send_seq(int64_t to)
{
    for (int i = 0; i < 6; i++)
        lvm_send(to, seq_tags[i], seq_text[i], 1);
    lvm_send(to, TAG_DONE, "", 0);
}

static void check_order(void)
{
    int64_t t3 = 3, t2 = 2, t13[2] = { 1, 3 };
    printf("by tag 3, 2, {1,3}, then any:");
    take(&t3, 1);
    take(&t2, 1);
    take(t13, 2);
    for (int i = 0; i < 3; i++)
        take(0, 0);
    printf("\n");
    CHECK_EQ(lvm_receive(0, 0, 0), 1);
    printf("then the mailbox is empty\n");
}

// test: order_from_child
// expect: by tag 3, 2, {1,3}, then any: 3:c 2:b 1:a 1:d 2:e 3:f
// expect: then the mailbox is empty
static void order_from_child(int argc, char **argv)
{
    SPAWN(send_seq, 0, lvm_self());
    RECV(TAG_DONE, "done");   /* skips the six others, which must stay in order */
    check_order();
}

// test: order_self
// expect: by tag 3, 2, {1,3}, then any: 3:c 2:b 1:a 1:d 2:e 3:f
// expect: then the mailbox is empty
static void order_self(int argc, char **argv)
{
    send_seq(lvm_self());
    RECV(TAG_DONE, "done");
    check_order();
}

/* Many senders: each one's messages arrive in the order it sent them. */
static void sender_n(int64_t to, int64_t id, int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        int64_t m[2] = { id, i };
        lvm_send(to, 1, m, sizeof m);
    }
}

// test: order_per_sender
// expect: 8 senders x 2000 messages: each sender's arrive in order, none lost
static void order_per_sender(int argc, char **argv)
{
    enum { N = 8, COUNT = 2000 };
    int64_t next[N] = { 0 };
    for (int i = 0; i < N; i++)
        SPAWN(sender_n, 0, lvm_self(), i, COUNT);
    for (int k = 0; k < N * COUNT; k++) {
        RECV(1, "sequence");
        int64_t m[2];
        lvm_msg_read(m, 16, 0);
        CHECK(m[0] >= 0 && m[0] < N, "sender id %lld", (long long)m[0]);
        CHECK(m[1] == next[m[0]], "sender %lld: message %lld, want %lld", (long long)m[0],
              (long long)m[1], (long long)next[m[0]]);
        next[m[0]]++;
    }
    CHECK_EQ(lvm_receive(0, 0, 0), 1);
    printf("%d senders x %d messages: each sender's arrive in order, none lost\n", N, COUNT);
}

// test: poll
// expect: poll of an empty mailbox: 1 (timeout), at once
// expect: poll for tag 2 with only tag 1 queued: 1, and the tag 1 message is still there
// expect: poll for tag 1: 0
static void t_poll(int argc, char **argv)
{
    int64_t t0 = now_us();
    int32_t r = lvm_receive(0, 0, 0);
    int64_t dt = now_us() - t0;
    CHECK(dt < 50000, "a poll took %lld us", (long long)dt);
    printf("poll of an empty mailbox: %d (timeout), at once\n", (int)r);
    lvm_send(lvm_self(), 1, "x", 1);
    int64_t t2 = 2, t1 = 1;
    r = lvm_receive(&t2, 1, 0);
    CHECK_EQ(lvm_receive(0, 0, 0), 0);
    CHECK_EQ(lvm_msg_tag(), 1);
    printf("poll for tag 2 with only tag 1 queued: %d, and the tag 1 message is still there\n",
           (int)r);
    lvm_send(lvm_self(), 1, "y", 1);
    printf("poll for tag 1: %d\n", (int)lvm_receive(&t1, 1, 0));
}

// test: timeout
// expect: receive with a 100 ms timeout on an empty mailbox: 1 after about 100 ms
// expect: receive with a 30 ms timeout: 1 after about 30 ms
static void timeout(int argc, char **argv)
{
    int64_t tag = 1;
    static const int ms[2] = { 100, 30 };
    for (int i = 0; i < 2; i++) {
        int64_t t0 = now_us();
        int32_t r = lvm_receive(&tag, 1, ms[i]);
        int64_t dt = now_us() - t0;
        CHECK(dt >= ms[i] * 1000 && dt < ms[i] * 1000 + 250000,
              "receive(%d ms) returned %d after %lld us", ms[i], (int)r, (long long)dt);
        printf("receive with a %d ms timeout%s: %d after about %d ms\n", ms[i],
               i ? "" : " on an empty mailbox", (int)r, ms[i]);
    }
}

/* Send tag 2 messages every 10 ms, n of them. */
static void drip(int64_t to, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        lvm_sleep(10);
        send_i64(to, 2, i);
    }
    lvm_send(to, TAG_DONE, "", 0);
}

// test: timeout_not_reset
// expect: receive(tag 1, 150 ms) while tag 2 messages arrive every 10 ms: 1 after about 150 ms
// expect: the tag 2 messages are all there, in order
static void timeout_not_reset(int argc, char **argv)
{
    SPAWN(drip, 0, lvm_self(), 10);
    int64_t tag = 1, t0 = now_us();
    int32_t r = lvm_receive(&tag, 1, 150);
    int64_t dt = now_us() - t0;
    CHECK(r == 1 && dt >= 150000 && dt < 400000, "receive returned %d after %lld us", (int)r,
          (long long)dt);
    printf("receive(tag 1, 150 ms) while tag 2 messages arrive every 10 ms: %d after about "
           "150 ms\n", (int)r);
    RECV(TAG_DONE, "done");
    for (int64_t i = 0; i < 10; i++) {
        int64_t t2 = 2;
        CHECK_EQ(lvm_receive(&t2, 1, 0), 0);
        CHECK_EQ(msg_i64(), i);
    }
    printf("the tag 2 messages are all there, in order\n");
}

// test: timeout_stale
// expect: a receive(100 ms) answered at once, then receive(300 ms) of another tag: 1 after about 300 ms
static void timeout_stale(int argc, char **argv)
{
    /* The first wait's timer is still pending when the second wait starts: it must not
     * end the second one early. */
    int64_t t1 = 1, t2 = 2;
    lvm_send(lvm_self(), 1, "", 0);
    CHECK_EQ(lvm_receive(&t1, 1, 100), 0);
    int64_t t0 = now_us();
    int32_t r = lvm_receive(&t2, 1, 300);
    int64_t dt = now_us() - t0;
    CHECK(r == 1 && dt >= 300000 && dt < 550000, "receive(300) returned %d after %lld us", (int)r,
          (long long)dt);
    printf("a receive(100 ms) answered at once, then receive(300 ms) of another tag: %d after "
           "about 300 ms\n", (int)r);
}

static void send_later(int64_t to, int64_t ms, int64_t tag)
{
    lvm_sleep(ms);
    lvm_send(to, tag, "late", 4);
}

// test: timeout_infinite
// expect: receive(-1): 0 when the message comes, after about 60 ms
// expect: receive(5000 ms) with a message after 20 ms: 0, well before the timeout
static void timeout_infinite(int argc, char **argv)
{
    int64_t tag = TAG_LATE, t0 = now_us();
    SPAWN(send_later, 0, lvm_self(), 60, TAG_LATE);
    int32_t r = lvm_receive(&tag, 1, -1);
    int64_t dt = now_us() - t0;
    CHECK(dt >= 60000 && dt < 2000000, "receive(-1) returned after %lld us", (long long)dt);
    printf("receive(-1): %d when the message comes, after about 60 ms\n", (int)r);
    t0 = now_us();
    SPAWN(send_later, 0, lvm_self(), 20, TAG_LATE);
    r = lvm_receive(&tag, 1, 5000);
    dt = now_us() - t0;
    CHECK(dt >= 20000 && dt < 2000000, "receive(5000) returned after %lld us", (long long)dt);
    printf("receive(5000 ms) with a message after 20 ms: %d, well before the timeout\n", (int)r);
}

// test: read
// expect: tag 81985529216486895, sender is self, size 10
// expect: read 4 at offset 3: 4 "3456"
// expect: read 100 at offset 8: 2 "89"
// expect: read at offset 10 and past the end: 0 0
// expect: an empty message: size 0, read 0
// expect: negative tag -12345 comes through; 1 MiB message intact
static void t_read(int argc, char **argv)
{
    int64_t big_tag = 0x0123456789ABCDEF;
    lvm_send(lvm_self(), big_tag, "0123456789", 10);
    CHECK_EQ(lvm_receive(0, 0, WAIT_MS), 0);
    printf("tag %lld, sender is %s, size %d\n", (long long)lvm_msg_tag(),
           lvm_msg_sender() == lvm_self() ? "self" : "?", (int)lvm_msg_size());
    char buf[128];
    memset(buf, 0, sizeof buf);
    int32_t n = lvm_msg_read(buf, 4, 3);
    printf("read 4 at offset 3: %d \"%s\"\n", (int)n, buf);
    memset(buf, 0, sizeof buf);
    n = lvm_msg_read(buf, 100, 8);
    printf("read 100 at offset 8: %d \"%s\"\n", (int)n, buf);
    printf("read at offset 10 and past the end: %d %d\n", (int)lvm_msg_read(buf, 10, 10),
           (int)lvm_msg_read(buf, 10, 1000));
    lvm_send(lvm_self(), 5, buf, 0);
    CHECK_EQ(lvm_receive(0, 0, WAIT_MS), 0);
    printf("an empty message: size %d, read %d\n", (int)lvm_msg_size(),
           (int)lvm_msg_read(buf, 10, 0));

    enum { BIG = 1 << 20 };
    unsigned char *big = malloc(BIG), *back = malloc(BIG);
    CHECK(big && back, "malloc");
    for (int i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7 + (i >> 11));
    lvm_send(lvm_self(), -12345, big, BIG);
    CHECK_EQ(lvm_receive(0, 0, WAIT_MS), 0);
    CHECK_EQ(lvm_msg_tag(), -12345);
    CHECK_EQ(lvm_msg_size(), BIG);
    CHECK_EQ(lvm_msg_read(back, BIG, 0), BIG);
    CHECK(memcmp(big, back, BIG) == 0, "the 1 MiB message changed on the way");
    printf("negative tag -12345 comes through; 1 MiB message intact\n");
}

static void echo_once(int64_t unused)
{
    CHECK_EQ(lvm_receive(0, 0, -1), 0);
    char buf[64];
    int32_t n = lvm_msg_read(buf, sizeof buf, 0);
    lvm_send(lvm_msg_sender(), lvm_msg_tag(), buf, n);
}

// test: send_dead
// expect: send to a process that has exited: 0, nothing happens
// expect: send to a pid never used: 0, nothing happens
// expect: the sender goes on: echo from a live process "hello"
static void send_dead(int argc, char **argv)
{
    int64_t ref;
    lvm_pid c = SPAWN_MON(&ref, echo_once, 0);
    send_i64(c, 1, 1);
    EXPECT_DOWN(ref, c);
    RECV(1, "echo");
    printf("send to a process that has exited: %d, nothing happens\n",
           (int)lvm_send(c, 1, "x", 1));
    printf("send to a pid never used: %d, nothing happens\n",
           (int)lvm_send((int64_t)1 << 50, 1, "x", 1));
    c = SPAWN(echo_once, 0, 0);
    lvm_send(c, 7, "hello", 6);
    RECV(7, "echo");
    char buf[8];
    lvm_msg_read(buf, 8, 0);
    printf("the sender goes on: echo from a live process \"%s\"\n", buf);
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "order_from_child", order_from_child }, { "order_self", order_self },
        { "order_per_sender", order_per_sender }, { "poll", t_poll }, { "timeout", timeout },
        { "timeout_not_reset", timeout_not_reset }, { "timeout_stale", timeout_stale }, { "timeout_infinite", timeout_infinite },
        { "read", t_read }, { "send_dead", send_dead },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
