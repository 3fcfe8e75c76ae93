/*
 * timers.c — time: sleep for about N ms (messages that come meanwhile stay queued, in
 * order), send_after delivers after about the delay, in deadline order, cancel_timer
 * prevents delivery.
 *
 * "About": at least the delay, and at most SLACK_MS more (generous, for sanitizer builds
 * and a loaded machine; fairness.c measures lateness tightly).
 */
#include "common.h"

#define SLACK_MS 250

enum { TAG_T = 7, TAG_N = 8, TAG_READY = 9 };

#define CHECK_ABOUT(dt_us, ms, what) \
    CHECK((dt_us) >= (ms) * 1000 && (dt_us) < ((ms) + SLACK_MS) * 1000, \
          "%s: after %lld us, want about %d ms", (what), (long long)(dt_us), (int)(ms))

static void send_three(int64_t to)
{
    for (int64_t i = 0; i < 3; i++)
        send_i64(to, TAG_N, i);
}

// test: sleep
// expect: sleep(50): about 50 ms
// expect: sleep(0): returns at once
// expect: messages sent during a sleep are there after it, in order: 0 1 2
static void t_sleep(int argc, char **argv)
{
    int64_t t0 = now_us();
    lvm_sleep(50);
    CHECK_ABOUT(now_us() - t0, 50, "sleep(50)");
    printf("sleep(50): about 50 ms\n");
    t0 = now_us();
    lvm_sleep(0);
    CHECK(now_us() - t0 < 50000, "sleep(0) took %lld us", (long long)(now_us() - t0));
    printf("sleep(0): returns at once\n");
    SPAWN(send_three, 0, lvm_self());
    lvm_sleep(50);
    printf("messages sent during a sleep are there after it, in order:");
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(lvm_receive(0, 0, 0), 0);
        printf(" %lld", (long long)msg_i64());
    }
    printf("\n");
}

static void drip(int64_t to, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        lvm_sleep(10);
        send_i64(to, TAG_N, i);
    }
}

// test: sleep_not_cut
// expect: sleep(150) while messages arrive every 10 ms: about 150 ms, and the 10 messages are queued
static void sleep_not_cut(int argc, char **argv)
{
    SPAWN(drip, 0, lvm_self(), 10);
    int64_t t0 = now_us();
    lvm_sleep(150);
    CHECK_ABOUT(now_us() - t0, 150, "sleep(150)");
    for (int64_t i = 0; i < 10; i++) {
        int64_t tag = TAG_N;
        CHECK_EQ(lvm_receive(&tag, 1, WAIT_MS), 0);
        CHECK_EQ(msg_i64(), i);
    }
    printf("sleep(150) while messages arrive every 10 ms: about 150 ms, and the 10 messages "
           "are queued\n");
}

// test: send_after
// expect: send_after(self, 60 ms) returns a timer id; the message comes after about 60 ms
// expect: its tag 7, payload "hi", sender the root
// expect: timers of 90, 30 and 60 ms deliver in deadline order: 30 60 90
// expect: send_after(0 ms): delivered at once
static void send_after(int argc, char **argv)
{
    int64_t t0 = now_us();
    int64_t id = lvm_send_after(lvm_self(), TAG_T, "hi", 3, 60);
    CHECK(id != 0, "send_after returned 0");
    int64_t tag = TAG_T;
    CHECK_EQ(lvm_receive(&tag, 1, 5000), 0);
    CHECK_ABOUT(now_us() - t0, 60, "send_after(60)");
    printf("send_after(self, 60 ms) returns a timer id; the message comes after about 60 ms\n");
    char buf[4] = { 0 };
    lvm_msg_read(buf, 3, 0);
    printf("its tag %lld, payload \"%s\", sender %s\n", (long long)lvm_msg_tag(), buf,
           lvm_msg_sender() == lvm_self() ? "the root" : "?");

    static const int64_t ms[3] = { 90, 30, 60 };
    for (int i = 0; i < 3; i++)
        CHECK(lvm_send_after(lvm_self(), TAG_N, &ms[i], 8, ms[i]) != 0, "send_after");
    printf("timers of 90, 30 and 60 ms deliver in deadline order:");
    for (int i = 0; i < 3; i++) {
        tag = TAG_N;
        CHECK_EQ(lvm_receive(&tag, 1, 5000), 0);
        printf(" %lld", (long long)msg_i64());
    }
    printf("\n");
    t0 = now_us();
    lvm_send_after(lvm_self(), TAG_T, "", 0, 0);
    tag = TAG_T;
    CHECK_EQ(lvm_receive(&tag, 1, 5000), 0);
    CHECK(now_us() - t0 < SLACK_MS * 1000, "send_after(0) took %lld us", (long long)(now_us() - t0));
    printf("send_after(0 ms): delivered at once\n");
}

/* Wait for a TAG_T message, then tell `root` how long it took since `t0_us`. */
static void wait_timer(int64_t root, int64_t unused)
{
    int64_t t0 = now_us();
    send_i64(root, TAG_READY, 0);
    int64_t tag = TAG_T;
    lvm_receive(&tag, 1, -1);
    send_i64(root, TAG_T, now_us() - t0);
}

// test: send_after_other
// expect: send_after to another process (40 ms): it gets the message after about 40 ms
static void send_after_other(int argc, char **argv)
{
    lvm_pid c = SPAWN(wait_timer, 0, lvm_self(), 0);
    RECV(TAG_READY, "ready");
    CHECK(lvm_send_after(c, TAG_T, "", 0, 40) != 0, "send_after");
    RECV(TAG_T, "elapsed");
    CHECK_ABOUT(msg_i64(), 40, "the child's wait");
    printf("send_after to another process (40 ms): it gets the message after about 40 ms\n");
}

// test: cancel
// expect: cancel_timer of a pending timer: 1; nothing arrives
// expect: cancel_timer again: 0
// expect: cancel_timer after it fired: 0
// expect: cancel_timer of an id never returned: 0
// expect: of two timers, cancelling one leaves the other: "keep" arrives
static void cancel(int argc, char **argv)
{
    int64_t id = lvm_send_after(lvm_self(), TAG_T, "", 0, 50);
    int32_t c = lvm_cancel_timer(id);
    EXPECT_NOTHING(TAG_T, 200, "cancelled timer");
    printf("cancel_timer of a pending timer: %d; nothing arrives\n", (int)c);
    printf("cancel_timer again: %d\n", (int)lvm_cancel_timer(id));
    id = lvm_send_after(lvm_self(), TAG_T, "", 0, 10);
    RECV(TAG_T, "timer");
    printf("cancel_timer after it fired: %d\n", (int)lvm_cancel_timer(id));
    printf("cancel_timer of an id never returned: %d\n", (int)lvm_cancel_timer(id + 100000));
    int64_t a = lvm_send_after(lvm_self(), TAG_T, "drop", 5, 40);
    int64_t b = lvm_send_after(lvm_self(), TAG_T, "keep", 5, 40);
    CHECK(a != b, "two timers with the same id");
    CHECK_EQ(lvm_cancel_timer(a), 1);
    RECV(TAG_T, "the kept timer");
    char buf[5];
    lvm_msg_read(buf, 5, 0);
    EXPECT_NOTHING(TAG_T, 100, "cancelled timer");
    printf("of two timers, cancelling one leaves the other: \"%s\" arrives\n", buf);
}

static void nothing(int64_t unused)
{
}

// test: send_after_dead
// expect: send_after to a process that exits before the timer: nothing happens
static void send_after_dead(int argc, char **argv)
{
    int64_t ref;
    lvm_pid c = SPAWN_MON(&ref, nothing, 0);
    EXPECT_DOWN(ref, c);
    lvm_send_after(c, TAG_T, "x", 1, 10);
    c = SPAWN(wait_timer, 0, lvm_self(), 0);
    RECV(TAG_READY, "ready");
    ref = lvm_monitor(c);
    lvm_send_after(c, TAG_T, "x", 1, 30);
    lvm_kill(c, LVM_EXIT_KILLED);
    EXPECT_DOWN(ref, c);
    lvm_sleep(60);
    EXPECT_NOTHING(TAG_T, 0, "timer");
    printf("send_after to a process that exits before the timer: nothing happens\n");
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "sleep", t_sleep }, { "sleep_not_cut", sleep_not_cut }, { "send_after", send_after },
        { "send_after_other", send_after_other }, { "cancel", cancel },
        { "send_after_dead", send_after_dead },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
