/*
 * fairness.c — a process in a busy loop never delays the others by more than a few slices.
 * With one worker thread (--threads 1) and a CPU-bound process spinning forever, the root
 * sleeps 10 ms again and again and measures how late each wake-up is (WASI's monotonic
 * clock): at the default 4000 reductions a slice is tens of microseconds, so each must be
 * late by less than MAX_LATE_US. Then the root kills the spinner and exits.
 *
 * The machine may be busy with other work: the host can take the CPU away from lvm's
 * thread for many milliseconds, which is no fault of the VM. So the lateness counted is
 * the wall-clock lateness less the time the process was not on a CPU during that sleep
 * (wall time minus process CPU time: with one worker thread and a spinner the process
 * always has work, so any gap is the host's), and a measurement that fails is tried up to
 * three times.
 *
 * A sanitizer build runs the interpreter ten times slower or more: there the bound is a
 * few slices, a slice being timed as 4000 iterations of the spinner's own loop in the root
 * (one reduction each), whichever bound is larger.
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

/* How long a slice of 4000 reductions of the spinner's loop takes here (us), the best of
 * a few tries. */
static int64_t slice_us(void)
{
    int64_t best = INT64_MAX;
    for (int k = 0; k < 5; k++) {
        int64_t t0 = now_us();
        for (volatile int64_t i = 0; i < 40000; i++) {
        }
        int64_t dt = (now_us() - t0) / 10;
        if (dt < best)
            best = dt;
    }
    return best;
}

static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleep 10 ms ROUNDS times; returns the largest lateness in us (less the host's gaps),
 * *raw the largest wall-clock lateness. */
static int64_t measure(int64_t *raw)
{
    int64_t worst = 0;
    *raw = 0;
    for (int i = 0; i < ROUNDS; i++) {
        int64_t t0 = now_us(), c0 = cpu_us();
        lvm_sleep(10);
        int64_t t1 = now_us(), c1 = cpu_us();
        int64_t late = t1 - t0 - 10000;
        CHECK(late >= 0, "sleep(10) returned %lld us early", (long long)-late);
        int64_t off_cpu = (t1 - t0) - (c1 - c0);
        int64_t vm_late = late - (off_cpu > 0 ? off_cpu : 0);
        if (late > *raw)
            *raw = late;
        if (vm_late > worst)
            worst = vm_late;
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
    int64_t slice = slice_us();
    int64_t bound = 3 * (spinners + 2) * slice;   /* a few slices: everyone's turn, thrice */
    if (bound < MAX_LATE_US)
        bound = MAX_LATE_US;
    for (int i = 0; i < spinners; i++)
        pid[i] = SPAWN_MON(&ref[i], spin, 0);
    lvm_sleep(20);   /* the spinners are running */
    int64_t worst = 0, raw = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        worst = measure(&raw);
        fprintf(stderr, "fairness: a slice takes %lld us; %d spinning: worst lateness %lld us "
                "(%lld us on the wall clock), bound %lld us\n", (long long)slice, spinners,
                (long long)worst, (long long)raw, (long long)bound);
        if (worst < bound)
            break;
    }
    CHECK(worst < bound, "with %d spinning: a sleep(10) woke %lld us late (bound %lld us: "
          "a slice takes %lld us)", spinners, (long long)worst, (long long)bound,
          (long long)slice);
    printf("%d spinning: %d sleeps of 10 ms, each late by less than max(%d ms, a few slices)\n",
           spinners, ROUNDS, MAX_LATE_US / 1000);
    if (ping) {
        lvm_pid p = SPAWN(ponger, 0, 0);
        int64_t worst_rtt = 0;
        for (int attempt = 0; attempt < 3; attempt++) {
            worst_rtt = 0;
            for (int i = 0; i < 200; i++) {
                int64_t t0 = now_us(), c0 = cpu_us();
                send_i64(p, TAG_PING, i);
                RECV(TAG_PONG, "pong");
                CHECK_EQ(msg_i64(), i);
                int64_t wall = now_us() - t0, off_cpu = wall - (cpu_us() - c0);
                int64_t rtt = wall - (off_cpu > 0 ? off_cpu : 0);
                if (rtt > worst_rtt)
                    worst_rtt = rtt;
            }
            if (worst_rtt < bound)
                break;
        }
        fprintf(stderr, "fairness: worst ping-pong round trip %lld us\n", (long long)worst_rtt);
        CHECK(worst_rtt < bound, "a ping-pong round trip took %lld us (bound %lld us)",
              (long long)worst_rtt, (long long)bound);
        printf("200 ping-pongs with another process: each under the same bound\n");
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
// expect: 1 spinning: 20 sleeps of 10 ms, each late by less than max(5 ms, a few slices)
// expect: 200 ping-pongs with another process: each under the same bound
// expect: killed the spinner
static void one_thread(int argc, char **argv)
{
    run(1, 1);
}

// test: one_thread_many
// lvm: --threads 1
// expect: 4 spinning: 20 sleeps of 10 ms, each late by less than max(5 ms, a few slices)
// expect: killed the spinners
static void one_thread_many(int argc, char **argv)
{
    run(4, 0);
}

// test: spinners_8
// expect: 8 spinning: 20 sleeps of 10 ms, each late by less than max(5 ms, a few slices)
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
