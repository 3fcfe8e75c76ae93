/*
 * monitor.c — monitors: one DOWN message {ref, pid, reason} per monitor when the watched
 * process ends (normal, trap with its kind, killed), noproc at once for a pid that is
 * already dead, nothing after demonitor; monitors are one-way (the watcher is not harmed).
 */
#include "common.h"

enum { TAG_GO = 1, TAG_READY = 2 };

/* Wait for TAG_GO, then end: 0 return, 1 divide by zero, else lvm_exit(how). */
static void end_on_go(int64_t how)
{
    int64_t tag = TAG_GO;
    lvm_receive(&tag, 1, -1);
    if (how == 1)
        trap_div0();
    if (how > 1)
        lvm_exit((int32_t)how);
}

// test: reasons
// expect: monitor returns a non-zero ref for a live process
// expect: returns normally: DOWN normal, with the right ref and pid
// expect: divides by zero: DOWN trap+4, with the right ref and pid
// expect: is killed: DOWN killed, with the right ref and pid
// expect: exits with user+1: DOWN user+1, with the right ref and pid
// expect: the watcher is not linked: it lives on
static void reasons(int argc, char **argv)
{
    static const int64_t how[4] = { 0, 1, -1, LVM_EXIT_USER + 1 };
    static const char *const what[4] = { "returns normally", "divides by zero", "is killed",
                                         "exits with user+1" };
    for (int i = 0; i < 4; i++) {
        lvm_pid c = SPAWN(end_on_go, 0, how[i]);
        int64_t ref = lvm_monitor(c);
        if (i == 0)
            printf("monitor returns a %s ref for a live process\n", ref ? "non-zero" : "zero");
        if (how[i] == -1)
            lvm_kill(c, LVM_EXIT_KILLED);
        else
            send_i64(c, TAG_GO, 0);
        printf("%s: DOWN %s, with the right ref and pid\n", what[i],
               reason_name(EXPECT_DOWN(ref, c)));
    }
    printf("the watcher is not linked: it lives on\n");
}

static void nothing(void)
{
}

// test: noproc
// expect: monitor of a process that has exited: DOWN noproc at once, with its ref and pid
// expect: monitor of a pid never used: DOWN noproc
static void noproc(int argc, char **argv)
{
    int64_t ref;
    lvm_pid c = SPAWN_MON(&ref, end_on_go, 0);
    send_i64(c, TAG_GO, 0);
    EXPECT_DOWN(ref, c);
    int64_t ref2 = lvm_monitor(c);
    CHECK(ref2 != 0 && ref2 != ref, "monitor of a dead pid returned ref %lld", (long long)ref2);
    printf("monitor of a process that has exited: DOWN %s at once, with its ref and pid\n",
           reason_name(EXPECT_DOWN(ref2, c)));
    lvm_pid never = (int64_t)1 << 50;
    int64_t ref3 = lvm_monitor(never);
    printf("monitor of a pid never used: DOWN %s\n", reason_name(EXPECT_DOWN(ref3, never)));
    (void)nothing;
}

// test: demonitor
// expect: demonitor of a live monitor: 1; no DOWN for it when the process ends
// expect: the other monitor on the same process still gets its DOWN: killed
// expect: demonitor again: 0; of a ref never made: 0
static void demonitor(int argc, char **argv)
{
    lvm_pid c = SPAWN(end_on_go, 0, 0);
    int64_t r1 = lvm_monitor(c), r2 = lvm_monitor(c);
    CHECK(r1 != r2, "two monitors with the same ref %lld", (long long)r1);
    int32_t d = lvm_demonitor(r1);
    lvm_kill(c, LVM_EXIT_KILLED);
    int32_t reason = EXPECT_DOWN(r2, c);   /* fails if r1's DOWN comes first */
    EXPECT_NOTHING(LVM_TAG_DOWN, 100, "DOWN");
    printf("demonitor of a live monitor: %d; no DOWN for it when the process ends\n", (int)d);
    printf("the other monitor on the same process still gets its DOWN: %s\n",
           reason_name(reason));
    printf("demonitor again: %d; of a ref never made: %d\n", (int)lvm_demonitor(r1),
           (int)lvm_demonitor(r1 + 1000000));
}

/* Monitor target, say ready, forward the DOWN's reason (as TAG_READY). */
static void watcher(int64_t root, int64_t target)
{
    int64_t ref = lvm_monitor(target);
    send_i64(root, TAG_READY, 0);
    int64_t tag = LVM_TAG_DOWN;
    lvm_receive(&tag, 1, -1);
    DownMsg d = msg_down();
    CHECK_EQ(d.ref, ref);
    send_i64(root, TAG_READY, d.reason);
}

// test: many_watchers
// expect: 3 monitors from the root and 1 from each of 20 processes: 23 DOWN messages, each with its own ref
static void many_watchers(int argc, char **argv)
{
    lvm_pid target = SPAWN(end_on_go, 0, LVM_EXIT_USER + 5);
    int64_t mine[3];
    for (int i = 0; i < 3; i++)
        mine[i] = lvm_monitor(target);
    for (int i = 0; i < 20; i++)
        SPAWN(watcher, 0, lvm_self(), target);
    for (int i = 0; i < 20; i++)
        RECV(TAG_READY, "watcher ready");
    send_i64(target, TAG_GO, 0);
    int got_mine = 0, got_theirs = 0;
    for (int i = 0; i < 23; i++) {
        int64_t tags[2] = { LVM_TAG_DOWN, TAG_READY };
        CHECK_EQ(lvm_receive(tags, 2, WAIT_MS), 0);
        if (lvm_msg_tag() == TAG_READY) {
            CHECK_EQ(msg_i64(), LVM_EXIT_USER + 5);
            got_theirs++;
            continue;
        }
        DownMsg d = msg_down();
        CHECK_EQ(d.pid, target);
        CHECK_EQ(d.reason, LVM_EXIT_USER + 5);
        int j = 0;
        while (j < 3 && mine[j] != d.ref)
            j++;
        CHECK(j < 3, "DOWN with ref %lld, not one of ours", (long long)d.ref);
        mine[j] = 0;
        got_mine++;
    }
    CHECK_EQ(got_mine, 3);
    CHECK_EQ(got_theirs, 20);
    printf("3 monitors from the root and 1 from each of 20 processes: %d DOWN messages, each "
           "with its own ref\n", got_mine + got_theirs);
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "reasons", reasons }, { "noproc", noproc }, { "demonitor", demonitor },
        { "many_watchers", many_watchers },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
