/*
 * links.c — links are bidirectional: a linked process ending with any reason but normal
 * ends the other with the same reason; a normal exit does not; trap_exit turns the exit
 * signal into a LVM_TAG_EXIT message {pid, reason}; unlink removes the link from both
 * sides; link to a dead pid is noproc.
 */
#include "common.h"

enum { TAG_PID = 1, TAG_GO = 2, TAG_ALIVE = 3, TAG_PING = 4, TAG_PONG = 5 };

static void wait_forever(void)
{
    int64_t tag = 12345;
    lvm_receive(&tag, 1, -1);
}

/* Wait for TAG_GO, then end with `how`: 0 normal return, 1 divide by zero,
 * 2 lvm_exit(LVM_EXIT_NORMAL), else lvm_exit(how). */
static void end_on_go(int64_t how)
{
    int64_t tag = TAG_GO;
    lvm_receive(&tag, 1, -1);
    if (how == 1)
        trap_div0();
    if (how == 2)
        lvm_exit(LVM_EXIT_NORMAL);
    if (how != 0)
        lvm_exit((int32_t)how);
}

/* Spawn-link a child that ends with `how` on TAG_GO, tell the root its pid, then wait
 * forever (answering pings). */
static void middle(int64_t root, int64_t how)
{
    lvm_pid b = SPAWN(end_on_go, LVM_SPAWN_LINK, how);
    send_i64(root, TAG_PID, b);
    for (;;) {
        int64_t tag = TAG_PING;
        lvm_receive(&tag, 1, -1);
        send_i64(lvm_msg_sender(), TAG_PONG, 0);
    }
}

// test: abnormal_kills
// expect: linked child traps (divide by zero): the middle process dies with trap+4
// expect: linked child exits with user+3: the middle process dies with user+3
static void abnormal_kills(int argc, char **argv)
{
    static const int64_t how[2] = { 1, LVM_EXIT_USER + 3 };
    static const char *const what[2] = { "traps (divide by zero)", "exits with user+3" };
    for (int i = 0; i < 2; i++) {
        int64_t ref;
        lvm_pid a = SPAWN_MON(&ref, middle, lvm_self(), how[i]);
        RECV(TAG_PID, "child pid");
        lvm_pid b = msg_i64();
        send_i64(b, TAG_GO, 0);
        printf("linked child %s: the middle process dies with %s\n", what[i],
               reason_name(EXPECT_DOWN(ref, a)));
    }
}

/* Spawn-link a child that returns normally, watch it end (monitor too), then tell the
 * root we are alive, and answer a ping. */
static void survivor(int64_t root, int64_t use_exit)
{
    int64_t ref;
    lvm_pid b = lvm_spawn_raw((int32_t)(uintptr_t)end_on_go, (int64_t[]){ use_exit ? 2 : 0 },
                              1, LVM_SPAWN_LINK | LVM_SPAWN_MONITOR, &ref);
    send_i64(b, TAG_GO, 0);
    int32_t r = EXPECT_DOWN(ref, b);
    send_i64(root, TAG_ALIVE, r);
    int64_t tag = TAG_PING;
    lvm_receive(&tag, 1, -1);
    send_i64(lvm_msg_sender(), TAG_PONG, 0);
}

// test: normal_does_not_kill
// expect: linked child returned: ended normal; the other process is still alive and answers
// expect: linked child called exit(normal): ended normal; the other process is still alive and answers
static void normal_does_not_kill(int argc, char **argv)
{
    for (int use_exit = 0; use_exit < 2; use_exit++) {
        int64_t ref;
        lvm_pid a = SPAWN_MON(&ref, survivor, lvm_self(), use_exit);
        RECV(TAG_ALIVE, "alive");
        int32_t r = (int32_t)msg_i64();
        send_i64(a, TAG_PING, 0);
        RECV(TAG_PONG, "pong");
        CHECK_EQ(EXPECT_DOWN(ref, a), LVM_EXIT_NORMAL);
        printf("linked child %s: ended %s; the other process is still alive and answers\n",
               use_exit ? "called exit(normal)" : "returned", reason_name(r));
    }
}

// test: trap_exit
// expect: trap_exit(1) returns the old setting 0
// expect: EXIT from the trapping child: reason trap+4
// expect: EXIT from the child exiting with user+9: reason user+9
// expect: EXIT from the child returning normally: reason normal
// expect: the root is still alive; trap_exit(0) returns 1
static void trap_exit(int argc, char **argv)
{
    printf("trap_exit(1) returns the old setting %d\n", (int)lvm_trap_exit(1));
    static const int64_t how[3] = { 1, LVM_EXIT_USER + 9, 0 };
    static const char *const what[3] = { "trapping child", "child exiting with user+9",
                                         "child returning normally" };
    for (int i = 0; i < 3; i++) {
        lvm_pid c = SPAWN(end_on_go, LVM_SPAWN_LINK, how[i]);
        send_i64(c, TAG_GO, 0);
        RECV(LVM_TAG_EXIT, "EXIT");
        CHECK_EQ(lvm_msg_size(), 12);
        ExitMsg e = msg_exit();
        CHECK_EQ(e.pid, c);
        printf("EXIT from the %s: reason %s\n", what[i], reason_name(e.reason));
    }
    printf("the root is still alive; trap_exit(0) returns %d\n", (int)lvm_trap_exit(0));
}

/* Link to `target`, tell the root, then wait forever. */
static void link_and_wait(int64_t root, int64_t target)
{
    CHECK_EQ(lvm_link(target), 0);
    send_i64(root, TAG_ALIVE, 0);
    wait_forever();
}

// test: both_ways
// expect: a process exits with user+4: the process that linked to it dies with user+4
static void both_ways(int argc, char **argv)
{
    int64_t ref;
    lvm_pid a = SPAWN_MON(&ref, end_on_go, LVM_EXIT_USER + 4);
    lvm_pid l = SPAWN(link_and_wait, 0, lvm_self(), a);   /* l links to a: l is the other end */
    RECV(TAG_ALIVE, "linked");
    int64_t ref_l = lvm_monitor(l);
    send_i64(a, TAG_GO, 0);
    CHECK_EQ(EXPECT_DOWN(ref, a), LVM_EXIT_USER + 4);
    printf("a process exits with user+4: the process that linked to it dies with %s\n",
           reason_name(EXPECT_DOWN(ref_l, l)));
}

// test: killed_propagates
// expect: the root traps exits and is linked to a killed process: EXIT reason killed
// expect: a process linked to it that does not trap exits: DOWN killed
static void killed_propagates(int argc, char **argv)
{
    lvm_trap_exit(1);
    lvm_pid v = SPAWN(end_on_go, LVM_SPAWN_LINK, 0);
    lvm_pid l = SPAWN(link_and_wait, 0, lvm_self(), v);
    RECV(TAG_ALIVE, "linked");
    int64_t ref = lvm_monitor(l);
    CHECK_EQ(lvm_kill(v, LVM_EXIT_KILLED), 0);
    RECV(LVM_TAG_EXIT, "EXIT");
    ExitMsg e = msg_exit();
    CHECK_EQ(e.pid, v);
    printf("the root traps exits and is linked to a killed process: EXIT reason %s\n",
           reason_name(e.reason));
    printf("a process linked to it that does not trap exits: DOWN %s\n",
           reason_name(EXPECT_DOWN(ref, l)));
}

static void unlinker(int64_t root)
{
    CHECK_EQ(lvm_unlink(root), 0);
    lvm_exit(LVM_EXIT_USER + 2);
}

// test: unlink
// expect: unlink returns 0; the unlinked child traps: DOWN trap+4, and the root lives on
// expect: the child unlinks itself from the root, then exits with user+2: no EXIT, root lives on
static void t_unlink(int argc, char **argv)
{
    lvm_pid c = SPAWN(end_on_go, LVM_SPAWN_LINK, 1);
    int64_t ref = lvm_monitor(c);
    int32_t u = lvm_unlink(c);
    send_i64(c, TAG_GO, 0);
    int32_t r = EXPECT_DOWN(ref, c);
    lvm_sleep(20);
    printf("unlink returns %d; the unlinked child traps: DOWN %s, and the root lives on\n",
           (int)u, reason_name(r));

    lvm_trap_exit(1);
    c = SPAWN(unlinker, LVM_SPAWN_LINK, lvm_self());
    ref = lvm_monitor(c);
    CHECK_EQ(EXPECT_DOWN(ref, c), LVM_EXIT_USER + 2);
    EXPECT_NOTHING(LVM_TAG_EXIT, 50, "EXIT");
    printf("the child unlinks itself from the root, then exits with user+2: no EXIT, root "
           "lives on\n");
}


static void exit_now(int64_t reason)
{
    lvm_exit((int32_t)reason);
}

static void link_dead(int64_t dead)
{
    lvm_link(dead);
    wait_forever();   /* the link's noproc signal ends it */
}

// test: link_dead
// expect: trapping exits: link(dead pid) returns 2 (noproc), EXIT from it with reason noproc
// expect: not trapping: link(dead pid) ends the caller with noproc
// expect: link(self) returns 0 and does nothing
static void t_link_dead(int argc, char **argv)
{
    int64_t ref;
    lvm_pid d = SPAWN_MON(&ref, exit_now, LVM_EXIT_NORMAL);
    EXPECT_DOWN(ref, d);
    lvm_trap_exit(1);
    int32_t r = lvm_link(d);
    RECV(LVM_TAG_EXIT, "EXIT");
    ExitMsg e = msg_exit();
    CHECK_EQ(e.pid, d);
    printf("trapping exits: link(dead pid) returns %d (%s), EXIT from it with reason %s\n",
           (int)r, reason_name(r), reason_name(e.reason));
    lvm_trap_exit(0);
    lvm_pid c = SPAWN_MON(&ref, link_dead, d);
    printf("not trapping: link(dead pid) ends the caller with %s\n",
           reason_name(EXPECT_DOWN(ref, c)));
    printf("link(self) returns %d and does nothing\n", (int)lvm_link(lvm_self()));
}

/* A chain root - a - b - c of links; c traps; everyone but the root (trapping) dies. */
static void chain(int64_t root, int64_t depth)
{
    if (depth == 0) {
        send_i64(root, TAG_PID, lvm_self());
        end_on_go(1);
        return;
    }
    lvm_pid next = SPAWN(chain, LVM_SPAWN_LINK, root, depth - 1);
    send_i64(root, TAG_PID, next);
    wait_forever();
}

// test: chain
// expect: a chain of 5 linked processes: the last traps, the 4 others die with trap+4
static void t_chain(int argc, char **argv)
{
    int64_t refs[5];
    lvm_pid pids[5];
    pids[0] = SPAWN(chain, 0, lvm_self(), 4);
    refs[0] = lvm_monitor(pids[0]);
    for (int i = 1; i < 5; i++) {
        RECV(TAG_PID, "chain pid");
        pids[i] = msg_i64();
        refs[i] = lvm_monitor(pids[i]);
    }
    RECV(TAG_PID, "last pid");
    CHECK_EQ(msg_i64(), pids[4]);
    send_i64(pids[4], TAG_GO, 0);
    int32_t r[5];
    for (int i = 0; i < 5; i++) {
        int64_t tag = LVM_TAG_DOWN;
        CHECK_EQ(lvm_receive(&tag, 1, WAIT_MS), 0);
        DownMsg d = msg_down();
        int j = 0;
        while (j < 5 && refs[j] != d.ref)
            j++;
        CHECK(j < 5 && d.pid == pids[j], "DOWN for an unknown ref %lld", (long long)d.ref);
        r[j] = d.reason;
    }
    for (int i = 0; i < 5; i++)
        CHECK(r[i] == LVM_EXIT_TRAP + KIND_INT_DIV_ZERO, "process %d ended with %s", i,
              reason_name(r[i]));
    printf("a chain of 5 linked processes: the last traps, the 4 others die with %s\n",
           reason_name(r[0]));
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "abnormal_kills", abnormal_kills }, { "both_ways", both_ways },
        { "normal_does_not_kill", normal_does_not_kill }, { "trap_exit", trap_exit },
        { "killed_propagates", killed_propagates }, { "unlink", t_unlink },
        { "link_dead", t_link_dead }, { "chain", t_chain },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
