/*
 * badptr.c — out-of-range pointers and lengths handed to the lvm API (hostfns/actor.c,
 * guest_bytes) trap the calling process with a message naming the function; nothing
 * outside its memory is read or written, and the rest of the VM goes on: the parent gets
 * DOWN with the trap reason (LVM_EXIT_TRAP + 12, the host-function trap) and can still
 * spawn, send and receive.
 */
#include "common.h"

enum { TAG_OK = 1 };
#define HOST_TRAP_REASON (LVM_EXIT_TRAP + 12)

static void bad_send(int64_t parent) { lvm_send(parent, TAG_OK, (const void *)0xFFFFFF00u, 1000); }
static void bad_len(int64_t parent) { char b[4] = "ok"; lvm_send(parent, TAG_OK, b, 48 << 20); }  /* under the 64 MiB cap, past memory */
static void bad_tags(int64_t parent) { lvm_receive((const int64_t *)0xFFFFFFF8u, 2, 0); }
static void many_tags(int64_t parent) { int64_t t = 1; lvm_receive(&t, 100000, 0); }
static void bad_name(int64_t parent) { lvm_register_raw((const char *)0xFFFFFFF0u, 64, parent); }
static void bad_read(int64_t parent)
{
    lvm_send_i64(lvm_self(), TAG_OK, 7);
    int64_t t = TAG_OK;
    lvm_receive(&t, 1, -1);
    lvm_msg_read((void *)0xFFFFFFFCu, 8, 0);   /* 8 bytes from 4 before the end of 4 GiB */
}
static void bad_args(int64_t parent) { lvm_spawn_raw(0, (const int64_t *)0xFFFFFFF0u, 4, 0, 0); }
static void good(int64_t parent) { send_i64(parent, TAG_OK, 42); }

// test: traps_confined
// expect: lvm.send bad pointer: DOWN trap 28
// expect: lvm.send bad length: DOWN trap 28
// expect: lvm.receive bad tags: DOWN trap 28
// expect: lvm.receive 100000 tags: DOWN trap 28
// expect: lvm.register bad name: DOWN trap 28
// expect: lvm.msg_read bad buffer: DOWN trap 28
// expect: lvm.spawn bad args: DOWN trap 28
// expect: and the VM goes on: 42
static void traps_confined(int argc, char **argv)
{
    static const struct { const char *what; void (*fn)(int64_t); } cases[] = {
        { "lvm.send bad pointer", bad_send }, { "lvm.send bad length", bad_len },
        { "lvm.receive bad tags", bad_tags }, { "lvm.receive 100000 tags", many_tags },
        { "lvm.register bad name", bad_name }, { "lvm.msg_read bad buffer", bad_read },
        { "lvm.spawn bad args", bad_args },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ref = 0, arg = lvm_self();
        lvm_pid p = lvm_spawn_raw((int32_t)(uintptr_t)cases[i].fn, &arg, 1, LVM_SPAWN_MONITOR, &ref);
        CHECK(p != 0, "spawn");
        int64_t tag = LVM_TAG_DOWN;
        CHECK_EQ(lvm_receive(&tag, 1, 5000), 0);
        lvm_down_info d = lvm_msg_down_info();
        CHECK_EQ(d.ref, ref);
        printf("%s: DOWN trap %d\n", cases[i].what, d.reason);
        CHECK_EQ(d.reason, HOST_TRAP_REASON);
    }
    SPAWN(good, 0, lvm_self());
    int64_t tag = TAG_OK;
    CHECK_EQ(lvm_receive(&tag, 1, 5000), 0);
    printf("and the VM goes on: %lld\n", (long long)msg_i64());
}

int main(int argc, char **argv)
{
    static const Section sections[] = { { "traps_confined", traps_confined } };
    return RUN_SECTIONS(sections, argc, argv);
}
