/*
 * process.c — a process's identity and end: self, exit with a reason, kill with a reason
 * (trappable or not, normal is ignored by a process that does not trap exits), kill of a
 * dead pid, kill of oneself.
 */
#include "common.h"

enum { TAG_PID = 1, TAG_PING = 2, TAG_PONG = 3, TAG_FWD = 4, TAG_AFTER = 5 };

static void report_self(int64_t parent)
{
    send_i64(parent, TAG_PID, lvm_self());
}

// test: self
// expect: root: self is stable and positive
// expect: children: each reports the pid its spawn returned; all three differ
static void t_self(int argc, char **argv)
{
    lvm_pid me = lvm_self();
    CHECK(me > 0 && lvm_self() == me, "self() = %lld", (long long)me);
    printf("root: self is stable and positive\n");
    lvm_pid c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = SPAWN(report_self, 0, me);
        RECV(TAG_PID, "child's self");
        CHECK_EQ(msg_i64(), c[i]);
        CHECK_EQ(lvm_msg_sender(), c[i]);
    }
    CHECK(c[0] != c[1] && c[0] != me && c[1] != me, "pids %lld %lld %lld", (long long)me,
          (long long)c[0], (long long)c[1]);
    printf("children: each reports the pid its spawn returned; all three differ\n");
}

/* ---- exit ------------------------------------------------------------------------------------ */

static void deep_exit(int64_t depth, int64_t reason)
{
    if (depth > 0)
        deep_exit(depth - 1, reason);
    lvm_exit((int32_t)reason);
}

static void exit_then_send(int64_t parent, int64_t reason)
{
    deep_exit(10, reason);
    send_i64(parent, TAG_AFTER, 1);   /* never runs */
}

static void libc_exit(int64_t code)
{
    exit((int)code);
}

// test: exit
// expect: exit(user+42) from 10 calls deep: DOWN user+42, nothing ran after it
// expect: exit(normal): DOWN normal
// expect: exit(trap+4) chosen by the guest: DOWN trap+4
// expect: libc's exit(5) (WASI proc_exit): DOWN user+5
// expect: libc's exit(0): DOWN normal
static void t_exit(int argc, char **argv)
{
    int64_t ref;
    lvm_pid c = SPAWN_MON(&ref, exit_then_send, lvm_self(), LVM_EXIT_USER + 42);
    int32_t r = EXPECT_DOWN(ref, c);
    EXPECT_NOTHING(TAG_AFTER, 50, "after-exit");
    printf("exit(user+42) from 10 calls deep: DOWN %s, nothing ran after it\n", reason_name(r));
    c = SPAWN_MON(&ref, exit_then_send, lvm_self(), LVM_EXIT_NORMAL);
    printf("exit(normal): DOWN %s\n", reason_name(EXPECT_DOWN(ref, c)));
    c = SPAWN_MON(&ref, exit_then_send, lvm_self(), LVM_EXIT_TRAP + KIND_INT_DIV_ZERO);
    printf("exit(trap+4) chosen by the guest: DOWN %s\n", reason_name(EXPECT_DOWN(ref, c)));
    c = SPAWN_MON(&ref, libc_exit, 5);
    printf("libc's exit(5) (WASI proc_exit): DOWN %s\n", reason_name(EXPECT_DOWN(ref, c)));
    c = SPAWN_MON(&ref, libc_exit, 0);
    printf("libc's exit(0): DOWN %s\n", reason_name(EXPECT_DOWN(ref, c)));
}

// test: root_exit
// expect: before
static void root_exit(int argc, char **argv)
{
    printf("before\n");
    fflush(stdout);
    lvm_exit(LVM_EXIT_NORMAL);
    printf("after\n");
}

/* ---- kill -------------------------------------------------------------------------------------- */

/* Answer pings until killed. With trap != 0, trap exits and forward each EXIT message's
 * pid and reason to the root (TAG_FWD). */
static void server(int64_t root, int64_t trap)
{
    if (trap)
        lvm_trap_exit(1);
    send_i64(root, TAG_PID, lvm_self());   /* ready */
    for (;;) {
        int64_t tags[2] = { TAG_PING, LVM_TAG_EXIT };
        lvm_receive(tags, 2, -1);
        if (lvm_msg_tag() == TAG_PING) {
            send_i64(lvm_msg_sender(), TAG_PONG, msg_i64());
        } else {
            ExitMsg e = msg_exit();
            int64_t f[2] = { e.pid, e.reason };
            lvm_send(root, TAG_FWD, f, sizeof f);
        }
    }
}

static lvm_pid start_server(int trap, int64_t *ref)
{
    lvm_pid s = SPAWN_MON(ref, server, lvm_self(), trap);
    CHECK(s > 0, "spawn server");
    RECV(TAG_PID, "server ready");
    return s;
}

static void ping(lvm_pid s, int64_t n)
{
    send_i64(s, TAG_PING, n);
    RECV(TAG_PONG, "pong");
    CHECK_EQ(msg_i64(), n);
    CHECK_EQ(lvm_msg_sender(), s);
}

// test: kill
// expect: kill(user+5) returns 0; DOWN user+5
// expect: kill(normal) of a process not trapping exits: ignored, it still answers
// expect: kill(killed): DOWN killed
static void t_kill(int argc, char **argv)
{
    int64_t ref;
    lvm_pid s = start_server(0, &ref);
    int32_t k = lvm_kill(s, LVM_EXIT_USER + 5);
    printf("kill(user+5) returns %d; DOWN %s\n", (int)k, reason_name(EXPECT_DOWN(ref, s)));
    s = start_server(0, &ref);
    CHECK_EQ(lvm_kill(s, LVM_EXIT_NORMAL), 0);
    ping(s, 1);
    ping(s, 2);
    printf("kill(normal) of a process not trapping exits: ignored, it still answers\n");
    CHECK_EQ(lvm_kill(s, LVM_EXIT_KILLED), 0);
    printf("kill(killed): DOWN %s\n", reason_name(EXPECT_DOWN(ref, s)));
}

// test: kill_trapped
// expect: kill(user+6) of a process trapping exits: it gets EXIT from the root, reason user+6
// expect: kill(normal): EXIT from the root, reason normal
// expect: it is still alive and answers
// expect: kill(killed) cannot be trapped: DOWN killed, no EXIT message for it
static void kill_trapped(int argc, char **argv)
{
    int64_t ref;
    lvm_pid s = start_server(1, &ref);
    CHECK_EQ(lvm_kill(s, LVM_EXIT_USER + 6), 0);
    RECV(TAG_FWD, "forwarded EXIT");
    int64_t f[2];
    lvm_msg_read(f, 16, 0);
    CHECK_EQ(f[0], lvm_self());
    printf("kill(user+6) of a process trapping exits: it gets EXIT from the root, reason %s\n",
           reason_name((int32_t)f[1]));
    CHECK_EQ(lvm_kill(s, LVM_EXIT_NORMAL), 0);
    RECV(TAG_FWD, "forwarded EXIT");
    lvm_msg_read(f, 16, 0);
    CHECK_EQ(f[0], lvm_self());
    printf("kill(normal): EXIT from the root, reason %s\n", reason_name((int32_t)f[1]));
    ping(s, 3);
    printf("it is still alive and answers\n");
    CHECK_EQ(lvm_kill(s, LVM_EXIT_KILLED), 0);
    int32_t r = EXPECT_DOWN(ref, s);
    EXPECT_NOTHING(TAG_FWD, 50, "forwarded EXIT");
    printf("kill(killed) cannot be trapped: DOWN %s, no EXIT message for it\n", reason_name(r));
}

static void kill_self(int64_t reason)
{
    lvm_kill(lvm_self(), (int32_t)reason);
    int64_t tag = 12345;
    lvm_receive(&tag, 1, -1);   /* never gets a message: the kill ends it */
}

// test: kill_dead
// expect: kill of a process that has exited: -1
// expect: kill of a pid never used: -1
// expect: a process killing itself: DOWN user+8
static void kill_dead(int argc, char **argv)
{
    int64_t ref;
    lvm_pid c = SPAWN_MON(&ref, report_self, lvm_self());
    EXPECT_DOWN(ref, c);
    printf("kill of a process that has exited: %d\n", (int)lvm_kill(c, LVM_EXIT_USER));
    printf("kill of a pid never used: %d\n", (int)lvm_kill((int64_t)1 << 50, LVM_EXIT_USER));
    c = SPAWN_MON(&ref, kill_self, LVM_EXIT_USER + 8);
    printf("a process killing itself: DOWN %s\n", reason_name(EXPECT_DOWN(ref, c)));
}

static void sleep_long(int64_t how)
{
    if (how == 0)
        lvm_sleep(60000);
    else {
        int64_t tag = 12345;
        lvm_receive(&tag, 1, how > 0 ? 60000 : -1);
    }
}

// test: kill_waiting
// expect: kill of a process in sleep(60 s): DOWN user+1 at once
// expect: kill of a process in receive(60 s): DOWN user+1 at once
// expect: kill of a process in receive(-1): DOWN user+1 at once
static void kill_waiting(int argc, char **argv)
{
    static const char *const what[3] = { "sleep(60 s)", "receive(60 s)", "receive(-1)" };
    for (int i = 0; i < 3; i++) {
        int64_t ref;
        lvm_pid c = SPAWN_MON(&ref, sleep_long, i == 2 ? -1 : i);
        lvm_sleep(20);   /* it is waiting now */
        int64_t t0 = now_us();
        CHECK_EQ(lvm_kill(c, LVM_EXIT_USER + 1), 0);
        int32_t r = EXPECT_DOWN(ref, c);
        CHECK(now_us() - t0 < 1000000, "the DOWN took %lld us", (long long)(now_us() - t0));
        printf("kill of a process in %s: DOWN %s at once\n", what[i], reason_name(r));
    }
}

static void spin_forever(int64_t unused)
{
    for (volatile int64_t i = 0;; i++) {
    }
}

// test: root_status
// status: 3
// expect: children left spinning and waiting; the root exits with 3
static void root_status(int argc, char **argv)
{
    SPAWN(spin_forever, 0, 0);
    SPAWN(sleep_long, 0, -1);
    printf("children left spinning and waiting; the root exits with 3\n");
    fflush(stdout);
    exit(3);
}

// test: root_trap
// status: 134
// stderr: divide by zero
// expect: the root traps with a child still running
static void root_trap(int argc, char **argv)
{
    SPAWN(spin_forever, 0, 0);
    printf("the root traps with a child still running\n");
    fflush(stdout);
    trap_div0();
}

// test: deadlock
// status: 1
// stderr: deadlock
// expect: the root waits forever for a message that cannot come
static void deadlock(int argc, char **argv)
{
    SPAWN(sleep_long, 0, -1);   /* waiting too: nothing can ever run again */
    printf("the root waits forever for a message that cannot come\n");
    fflush(stdout);
    int64_t tag = 777;
    lvm_receive(&tag, 1, -1);
    printf("it came?\n");
}

// test: deadlock_after_sleep
// status: 1
// stderr: deadlock
// expect: slept, then waits for a message that cannot come
static void deadlock_after_sleep(int argc, char **argv)
{
    /* A WASI sleep (poll_oneoff with only a clock) once left the scheduler believing an
     * I/O wait was still pending, so this deadlock was never reported: lvm hung. */
    usleep(10000);
    printf("slept, then waits for a message that cannot come\n");
    fflush(stdout);
    int64_t tag = 778;
    lvm_receive(&tag, 1, -1);
    printf("it came?\n");
}

static void spin_then_wait(int64_t ms)
{
    int64_t end = now_us() + ms * 1000;
    while (now_us() < end) {
    }
    int64_t tag = 779;
    lvm_receive(&tag, 1, -1);
}

// test: deadlock_last_asleep_on_another_worker
// lvm: --threads 2
// status: 1
// stderr: deadlock
// timeout: 20
// expect: two children spin 10 and 300 ms, then all three wait for what cannot come
static void deadlock_last_asleep_on_another_worker(int argc, char **argv)
{
    /* lvm's main thread is worker 0 and waits for the root there. When it fell asleep
     * first and the other worker, last to sleep, found the deadlock, it told only
     * sched_wait's condition variable, not the sleeping worker: lvm hung (seen when a
     * skynet node could not spawn). Two runnable children start the second worker; the
     * one that spins longer is most likely on it. */
    SPAWN(spin_then_wait, 0, 10);
    SPAWN(spin_then_wait, 0, 300);
    printf("two children spin 10 and 300 ms, then all three wait for what cannot come\n");
    fflush(stdout);
    int64_t tag = 780;
    lvm_receive(&tag, 1, -1);
    printf("it came?\n");
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "self", t_self }, { "exit", t_exit }, { "root_exit", root_exit }, { "kill", t_kill },
        { "kill_trapped", kill_trapped }, { "kill_dead", kill_dead },
        { "kill_waiting", kill_waiting }, { "root_status", root_status },
        { "root_trap", root_trap }, { "deadlock", deadlock },
        { "deadlock_after_sleep", deadlock_after_sleep },
        { "deadlock_last_asleep_on_another_worker", deadlock_last_asleep_on_another_worker },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
