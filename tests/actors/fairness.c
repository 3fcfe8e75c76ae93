/*
 * fairness.c — a process in a busy loop never delays the others by more than a few slices.
 * With one worker thread (--threads 1) and a CPU-bound process spinning forever, the root
 * sleeps 10 ms again and again and measures how late each wake-up is (WASI's monotonic
 * clock): at the default 4000 reductions a slice is tens of microseconds, so each must be
 * late by less than MAX_LATE_US. Then the root kills the spinner and exits.
 */
#include "common.h"

#define MAX_LATE_US 5000
#define ROUNDS 20

enum { TAG_PING = 1, TAG_PONG = 2 };

static void spin(int64_t unused)
{
    for (volatile int64_t i = 0;; i++) {
    }
}

/* Sleep 10 ms ROUNDS times; returns the largest lateness in us. */
static int64_t measure(void)
{
    int64_t worst = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int64_t t0 = now_us();
        lvm_sleep(10);
        int64_t late = now_us() - t0 - 10000;
        CHECK(late >= 0, "sleep(10) returned %lld us early", (long long)-late);
        if (late > worst)
            worst = late;
    }
    return worst;
}

static void ponger(int64_t unused)
{
    for (;;) {
        int64_t tag = TAG_PING;
        lvm_receive(&tag, 1, -1);
        send_i64(lvm_msg_sender(), TAG_PONG, msg_i64());
    }
}

static void run(int spinners, int ping)
{
    int64_t ref[8];
    lvm_pid pid[8];
    for (int i = 0; i < spinners; i++)
        pid[i] = SPAWN_MON(&ref[i], spin, 0);
    lvm_sleep(20);   /* the spinners are running */
    int64_t worst = measure();
    CHECK(worst < MAX_LATE_US, "with %d spinning: a sleep(10) woke %lld us late (limit %d us)",
          spinners, (long long)worst, MAX_LATE_US);
    fprintf(stderr, "fairness: %d spinning: worst lateness %lld us\n", spinners, (long long)worst);
    printf("%d spinning: %d sleeps of 10 ms, each late by less than %d ms\n", spinners, ROUNDS,
           MAX_LATE_US / 1000);
    if (ping) {
        lvm_pid p = SPAWN(ponger, 0, 0);
        int64_t worst_rtt = 0;
        for (int i = 0; i < 200; i++) {
            int64_t t0 = now_us();
            send_i64(p, TAG_PING, i);
            RECV(TAG_PONG, "pong");
            CHECK_EQ(msg_i64(), i);
            if (now_us() - t0 > worst_rtt)
                worst_rtt = now_us() - t0;
        }
        fprintf(stderr, "fairness: worst ping-pong round trip %lld us\n", (long long)worst_rtt);
        CHECK(worst_rtt < MAX_LATE_US, "a ping-pong round trip took %lld us", (long long)worst_rtt);
        printf("200 ping-pongs with another process: each under %d ms\n", MAX_LATE_US / 1000);
        lvm_kill(p, LVM_EXIT_KILLED);
    }
    for (int i = 0; i < spinners; i++)
        CHECK_EQ(lvm_kill(pid[i], LVM_EXIT_KILLED), 0);
    int32_t reasons[8];
    EXPECT_DOWNS(spinners, ref, pid, reasons);
    for (int i = 0; i < spinners; i++)
        CHECK_EQ(reasons[i], LVM_EXIT_KILLED);
    printf("killed the spinner%s\n", spinners > 1 ? "s" : "");
}

// test: one_thread
// lvm: --threads 1
// expect: 1 spinning: 20 sleeps of 10 ms, each late by less than 5 ms
// expect: 200 ping-pongs with another process: each under 5 ms
// expect: killed the spinner
static void one_thread(int argc, char **argv)
{
    run(1, 1);
}

// test: one_thread_many
// lvm: --threads 1
// expect: 4 spinning: 20 sleeps of 10 ms, each late by less than 5 ms
// expect: killed the spinners
static void one_thread_many(int argc, char **argv)
{
    run(4, 0);
}

// test: spinners_8
// expect: 8 spinning: 20 sleeps of 10 ms, each late by less than 5 ms
// expect: killed the spinners
static void spinners_8(int argc, char **argv)
{
    run(8, 0);   /* more spinners than cores, whatever the machine */
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "one_thread", one_thread }, { "one_thread_many", one_thread_many },
        { "spinners_8", spinners_8 },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
