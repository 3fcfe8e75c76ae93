/*
 * spawn.c — the ways to start a process: a function pointer of this module (a table
 * index) with arguments, an exported function by name, spawn-and-link, spawn-and-monitor,
 * a module loaded at run time from bytes, and a module handle sent in a message to
 * another process that spawns from it. Also: what a failed spawn returns, and that a
 * child is a fresh instance sharing nothing with its parent.
 */
#include "common.h"

enum { TAG_RESULT = 1, TAG_HANDLE = 2, TAG_PID = 3 };

/* ---- table function with arguments ---------------------------------------------------------- */

static void child3(int64_t parent, int64_t a, int64_t b)
{
    int64_t r[3] = { a + b, a * b, lvm_self() };
    lvm_send(parent, TAG_RESULT, r, sizeof r);
}

static void child0(void)
{
    lvm_pid root = whereis("root");
    send_i64(root, TAG_RESULT, 1000);
}

static void child1(int64_t parent)
{
    send_i64(parent, TAG_RESULT, 1001);
}

static void child10(int64_t parent, int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5,
                    int64_t a6, int64_t a7, int64_t a8, int64_t a9)
{
    /* Every argument arrives in its place, with all 64 bits. */
    send_i64(parent, TAG_RESULT, 100000000 * a1 + 10000000 * a2 + 1000000 * a3 +
                 100000 * a4 + 10000 * a5 + 1000 * a6 + 100 * a7 + 10 * a8 + (a9 >> 32));
}

// test: table_fn
// expect: child3: sum 13 product 42, reported its own pid, sender is the child
// expect: child0: 1000
// expect: child1: 1001
// expect: child10: 123456789
static void table_fn(int argc, char **argv)
{
    lvm_pid self = lvm_self();
    CHECK(self > 0, "self() = %lld", (long long)self);
    lvm_pid c = SPAWN(child3, 0, self, 6, 7);
    CHECK(c > 0 && c != self, "spawn returned %lld (self %lld)", (long long)c, (long long)self);
    RECV(TAG_RESULT, "child3 result");
    int64_t r[3] = { 0, 0, 0 };
    CHECK_EQ(lvm_msg_size(), 24);
    CHECK_EQ(lvm_msg_read(r, 24, 0), 24);
    CHECK_EQ(r[2], c);
    CHECK_EQ(lvm_msg_sender(), c);
    printf("child3: sum %lld product %lld, reported its own pid, sender is the child\n",
           (long long)r[0], (long long)r[1]);

    CHECK_EQ(reg("root", self), 0);
    CHECK(SPAWN0(child0, 0) > 0, "spawn of a function without arguments failed");
    RECV(TAG_RESULT, "child0 result");
    printf("child0: %lld\n", (long long)msg_i64());

    CHECK(SPAWN(child1, 0, self) > 0, "spawn of child1 failed");
    RECV(TAG_RESULT, "child1 result");
    printf("child1: %lld\n", (long long)msg_i64());

    CHECK(SPAWN(child10, 0, self, 1, 2, 3, 4, 5, 6, 7, 8, (int64_t)9 << 32) > 0, "spawn child10");
    RECV(TAG_RESULT, "child10 result");
    printf("child10: %lld\n", (long long)msg_i64());
}

// test: bad_table_fn
// expect: a table index out of range: 0
// expect: index 0 (no function): 0
// expect: too few arguments: 0
// expect: too many arguments: 0
// expect: nothing was started
static void bad_table_fn(int argc, char **argv)
{
    int64_t args[4] = { lvm_self(), 1, 2, 3 };
    printf("a table index out of range: %lld\n",
           (long long)lvm_spawn_raw(100000, args, 1, 0, 0));
    printf("index 0 (no function): %lld\n", (long long)lvm_spawn_raw(0, args, 1, 0, 0));
    printf("too few arguments: %lld\n",
           (long long)lvm_spawn_raw((int32_t)(uintptr_t)child3, args, 2, 0, 0));
    printf("too many arguments: %lld\n",
           (long long)lvm_spawn_raw((int32_t)(uintptr_t)child3, args, 4, 0, 0));
    EXPECT_NOTHING(TAG_RESULT, 100, "result");
    printf("nothing was started\n");
}

/* ---- exported function ------------------------------------------------------------------------ */

__attribute__((export_name("exported_worker"))) void exported_worker(int64_t parent, int64_t x)
{
    send_i64(parent, TAG_RESULT, x * 2);
}

// test: export
// expect: exported_worker: 42, sender is the child
// expect: no such export: 0
// expect: wrong number of arguments: 0
static void export(int argc, char **argv)
{
    int64_t args[3] = { lvm_self(), 21, 0 };
    lvm_pid c = lvm_spawn_export("exported_worker", 15, args, 2, 0, 0);
    CHECK(c > 0, "spawn_export returned %lld", (long long)c);
    RECV(TAG_RESULT, "exported_worker result");
    CHECK_EQ(lvm_msg_sender(), c);
    printf("exported_worker: %lld, sender is the child\n", (long long)msg_i64());
    printf("no such export: %lld\n",
           (long long)lvm_spawn_export("no_such_export", 14, args, 2, 0, 0));
    printf("wrong number of arguments: %lld\n",
           (long long)lvm_spawn_export("exported_worker", 15, args, 3, 0, 0));
}

/* ---- spawn_link, spawn_monitor ------------------------------------------------------------------- */

static void exit_with(int64_t reason)
{
    lvm_exit((int32_t)reason);
}

static void wait_then_exit(int64_t reason)
{
    int64_t tag = 99;
    lvm_receive(&tag, 1, -1);
    lvm_exit((int32_t)reason);
}

// test: link
// expect: EXIT from the child: reason user+7
static void t_link(int argc, char **argv)
{
    lvm_trap_exit(1);
    lvm_pid c = SPAWN(exit_with, LVM_SPAWN_LINK, LVM_EXIT_USER + 7);
    CHECK(c > 0, "spawn with LVM_SPAWN_LINK failed");
    RECV(LVM_TAG_EXIT, "EXIT");
    ExitMsg e = msg_exit();
    CHECK_EQ(e.pid, c);
    CHECK_EQ(lvm_msg_sender(), c);
    printf("EXIT from the child: reason %s\n", reason_name(e.reason));
}

// test: monitor
// expect: DOWN: reason user+9
// expect: link+monitor: DOWN user+11, EXIT user+11
// expect: second monitor ref differs: yes
static void t_monitor(int argc, char **argv)
{
    int64_t ref = 0;
    lvm_pid c = SPAWN_MON(&ref, exit_with, LVM_EXIT_USER + 9);
    CHECK(c > 0, "spawn with LVM_SPAWN_MONITOR failed");
    CHECK(ref != 0, "no monitor reference");
    printf("DOWN: reason %s\n", reason_name(EXPECT_DOWN(ref, c)));

    /* Both flags at once. */
    lvm_trap_exit(1);
    int64_t ref2 = 0, arg = LVM_EXIT_USER + 11;
    lvm_pid d = lvm_spawn_raw((int32_t)(uintptr_t)wait_then_exit, &arg, 1,
                              LVM_SPAWN_LINK | LVM_SPAWN_MONITOR, &ref2);
    CHECK(d > 0 && ref2 != 0 && ref2 != ref, "spawn with link and monitor: pid %lld ref %lld",
          (long long)d, (long long)ref2);
    lvm_send(d, 99, 0, 0);
    int32_t down = EXPECT_DOWN(ref2, d);
    RECV(LVM_TAG_EXIT, "EXIT");
    ExitMsg e = msg_exit();
    CHECK_EQ(e.pid, d);
    printf("link+monitor: DOWN %s, EXIT %s\n", reason_name(down), reason_name(e.reason));
    int64_t ref3 = 0;
    lvm_pid f = SPAWN_MON(&ref3, exit_with, 0);
    CHECK(f > 0, "spawn");
    EXPECT_DOWN(ref3, f);
    printf("second monitor ref differs: %s\n", ref3 != ref2 && ref3 != ref ? "yes" : "no");
}

/* ---- modules loaded at run time ---------------------------------------------------------------- */

// test: module
// lvm: --dir {mods}::/mods
// expect: add from mod_basic: 42, sender is the new process
// expect: crash from mod_basic: DOWN trap+4
// expect: loading it again: a handle too
// expect: no such export: 0
// expect: bad handle: 0
// expect: module_load of garbage: 0
static void module(int argc, char **argv)
{
    int64_t h = load_mod("mod_basic.wasm");
    int64_t args[3] = { lvm_self(), 40, 2 };
    lvm_pid p = lvm_spawn_module(h, "add", 3, args, 3, 0, 0);
    CHECK(p > 0, "spawn_module returned %lld", (long long)p);
    RECV(TAG_RESULT, "add result");
    CHECK_EQ(lvm_msg_sender(), p);
    printf("add from mod_basic: %lld, sender is the new process\n", (long long)msg_i64());

    int64_t ref = 0;
    p = lvm_spawn_module(h, "crash", 5, args + 1, 1, LVM_SPAWN_MONITOR, &ref);
    CHECK(p > 0 && ref != 0, "spawn_module with a monitor: pid %lld ref %lld", (long long)p,
          (long long)ref);
    printf("crash from mod_basic: DOWN %s\n", reason_name(EXPECT_DOWN(ref, p)));

    int64_t h2 = load_mod("mod_basic.wasm");
    printf("loading it again: %s\n", h2 != 0 ? "a handle too" : "0");
    printf("no such export: %lld\n", (long long)lvm_spawn_module(h, "nope", 4, args, 3, 0, 0));
    printf("bad handle: %lld\n", (long long)lvm_spawn_module(h + 1000, "add", 3, args, 3, 0, 0));
    static const unsigned char garbage[] = "\0asm\x01\0\0\0\x01\xff\xff garbage";
    printf("module_load of garbage: %lld\n",
           (long long)lvm_module_load(garbage, sizeof garbage - 1));
}

/* Receives a module handle in a message, spawns "add" from it (for the root) and tells the
 * root the new pid. */
static void relay(int64_t root)
{
    RECV(TAG_HANDLE, "module handle");
    CHECK_EQ(lvm_msg_sender(), root);
    int64_t h = msg_i64();
    int64_t args[3] = { root, 100, 23 };
    lvm_pid p = lvm_spawn_module(h, "add", 3, args, 3, 0, 0);
    send_i64(root, TAG_PID, p);
}

// test: module_sent
// lvm: --dir {mods}::/mods
// expect: the relay spawned from the handle it was sent
// expect: add: 123, from the process the relay spawned
static void module_sent(int argc, char **argv)
{
    int64_t h = load_mod("mod_basic.wasm");
    lvm_pid r = SPAWN(relay, 0, lvm_self());
    CHECK(r > 0, "spawn relay");
    CHECK_EQ(send_i64(r, TAG_HANDLE, h), 0);
    RECV(TAG_PID, "pid from the relay");
    lvm_pid p = msg_i64();
    CHECK(p > 0, "the relay's spawn_module returned %lld", (long long)p);
    printf("the relay spawned from the handle it was sent\n");
    RECV(TAG_RESULT, "add result");
    CHECK_EQ(lvm_msg_sender(), p);
    printf("add: %lld, from the process the relay spawned\n", (long long)msg_i64());
}

/* ---- a child is a fresh instance ------------------------------------------------------------- */

static int64_t counter = 5;
static char text[32] = "initial";

static void fresh(int64_t parent)
{
    /* The parent changed both before spawning us: we must see the initial values. */
    int64_t r[2] = { counter, strcmp(text, "initial") == 0 };
    counter = 77;
    strcpy(text, "child's");
    lvm_send(parent, TAG_RESULT, r, sizeof r);
}

// test: share_nothing
// expect: child saw counter 5 and text "initial"
// expect: parent still has counter 6 and text "parent's"
// expect: a message is a copy: the parent's buffer is unchanged
static void share_nothing(int argc, char **argv)
{
    counter = 6;
    strcpy(text, "parent's");
    int64_t ref;
    lvm_pid c = SPAWN_MON(&ref, fresh, lvm_self());
    RECV(TAG_RESULT, "fresh result");
    int64_t r[2];
    lvm_msg_read(r, 16, 0);
    printf("child saw counter %lld and text \"%s\"\n", (long long)r[0], r[1] ? "initial" : "?");
    EXPECT_DOWN(ref, c);
    printf("parent still has counter %lld and text \"%s\"\n", (long long)counter, text);
    /* Send our buffer to ourselves, change it, then read the message. */
    char buf[16] = "abcdefghijklmno";
    lvm_send(lvm_self(), TAG_RESULT, buf, 16);
    memset(buf, 'x', sizeof buf);
    RECV(TAG_RESULT, "own message");
    char got[16];
    lvm_msg_read(got, 16, 0);
    CHECK(memcmp(got, "abcdefghijklmno", 16) == 0, "message changed with the sender's buffer");
    printf("a message is a copy: the parent's buffer is unchanged\n");
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "table_fn", table_fn }, { "bad_table_fn", bad_table_fn }, { "export", export },
        { "link", t_link }, { "monitor", t_monitor }, { "module", module },
        { "module_sent", module_sent }, { "share_nothing", share_nothing },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
