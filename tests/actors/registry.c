/*
 * registry.c — names for pids: register, whereis, unregister; a taken name cannot be
 * registered again; a dead process's names are removed automatically (whatever way it
 * ended), so the name can be used again.
 */
#include "common.h"

enum { TAG_PING = 1, TAG_PONG = 2, TAG_GO = 3, TAG_READY = 4 };

static void pong_server(int64_t unused)
{
    for (;;) {
        int64_t tags[2] = { TAG_PING, TAG_GO };
        lvm_receive(tags, 2, -1);
        if (lvm_msg_tag() == TAG_GO)
            return;
        send_i64(lvm_msg_sender(), TAG_PONG, msg_i64() + 1);
    }
}

static void find_root(int64_t unused)
{
    send_i64(whereis("root"), TAG_READY, 0);
}

// test: basic
// expect: register("alpha", child): 0
// expect: whereis("alpha") is the child; a message sent to it is answered: 42
// expect: whereis of a name never registered: 0
// expect: names are exact: whereis("alph") 0, whereis("alphab") 0
// expect: unregister("alpha"): 0; whereis("alpha") now 0
// expect: unregister("alpha") again: -1
// expect: register("root", self): 0; a child finds the root by name
static void basic(int argc, char **argv)
{
    lvm_pid c = SPAWN(pong_server, 0, 0);
    printf("register(\"alpha\", child): %d\n", (int)reg("alpha", c));
    lvm_pid w = whereis("alpha");
    CHECK_EQ(w, c);
    send_i64(w, TAG_PING, 41);
    RECV(TAG_PONG, "pong");
    printf("whereis(\"alpha\") is the child; a message sent to it is answered: %lld\n",
           (long long)msg_i64());
    printf("whereis of a name never registered: %lld\n", (long long)whereis("beta"));
    printf("names are exact: whereis(\"alph\") %lld, whereis(\"alphab\") %lld\n",
           (long long)whereis("alph"), (long long)whereis("alphab"));
    int32_t u = unreg("alpha");
    printf("unregister(\"alpha\"): %d; whereis(\"alpha\") now %lld\n", (int)u,
           (long long)whereis("alpha"));
    printf("unregister(\"alpha\") again: %d\n", (int)unreg("alpha"));
    int32_t r = reg("root", lvm_self());
    SPAWN(find_root, 0, 0);
    RECV(TAG_READY, "message from the child");
    printf("register(\"root\", self): %d; a child finds the root by name\n", (int)r);
    send_i64(c, TAG_GO, 0);
}

// test: taken
// expect: register("x", a): 0
// expect: register("x", b) while a has it: -1; whereis("x") is still a
// expect: a second name for a: 0
// expect: register of a pid that has exited: -1
// expect: register of a pid never used: -1
static void taken(int argc, char **argv)
{
    lvm_pid a = SPAWN(pong_server, 0, 0), b = SPAWN(pong_server, 0, 0);
    printf("register(\"x\", a): %d\n", (int)reg("x", a));
    int32_t r = reg("x", b);
    CHECK_EQ(whereis("x"), a);
    printf("register(\"x\", b) while a has it: %d; whereis(\"x\") is still a\n", (int)r);
    printf("a second name for a: %d\n", (int)reg("x2", a));
    int64_t ref = lvm_monitor(b);
    send_i64(b, TAG_GO, 0);
    EXPECT_DOWN(ref, b);
    printf("register of a pid that has exited: %d\n", (int)reg("y", b));
    printf("register of a pid never used: %d\n", (int)reg("z", (int64_t)1 << 50));
    send_i64(a, TAG_GO, 0);
}

static void crash_on_go(int64_t unused)
{
    int64_t tag = TAG_GO;
    lvm_receive(&tag, 1, -1);
    trap_div0();
}

// test: cleanup
// expect: returned normally: its 2 names are gone; the name can be registered again: 0
// expect: trapped: its 2 names are gone; the name can be registered again: 0
// expect: was killed: its 2 names are gone; the name can be registered again: 0
static void cleanup(int argc, char **argv)
{
    static const char *const how[3] = { "returned normally", "trapped", "was killed" };
    lvm_pid keeper = SPAWN(pong_server, 0, 0);
    for (int i = 0; i < 3; i++) {
        lvm_pid c = i == 1 ? SPAWN(crash_on_go, 0, 0) : SPAWN(pong_server, 0, 0);
        CHECK_EQ(reg("worker", c), 0);
        CHECK_EQ(reg("worker.alias", c), 0);
        int64_t ref = lvm_monitor(c);
        if (i == 2)
            lvm_kill(c, LVM_EXIT_KILLED);
        else
            send_i64(c, TAG_GO, 0);
        EXPECT_DOWN(ref, c);
        CHECK_EQ(whereis("worker"), 0);
        CHECK_EQ(whereis("worker.alias"), 0);
        int32_t r = reg("worker", keeper);
        CHECK_EQ(whereis("worker"), keeper);
        CHECK_EQ(unreg("worker"), 0);
        printf("%s: its 2 names are gone; the name can be registered again: %d\n", how[i],
               (int)r);
    }
    send_i64(keeper, TAG_GO, 0);
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "basic", basic }, { "taken", taken }, { "cleanup", cleanup },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
