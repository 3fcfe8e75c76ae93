/*
 * reasons.c — why a process ended, as its monitor sees it: normal, a trap with its kind
 * (LVM_EXIT_TRAP + the kind, in vm/vm.h's order), killed, out of memory (memory.grow past
 * the limit its spawner set), out of reductions (fuel), noproc.
 */
#include "common.h"

enum { TAG_INFO = 1 };

static int64_t recurse(int64_t n)
{
    if (n == -1)
        return 0;
    return recurse(n + 1) * 3 + n;   /* not a tail call: every level is a Wasm frame */
}

typedef void (*fn0)(void);
typedef int64_t (*fn2)(int64_t, int64_t);

static void victim(void)
{
}

static void die(int64_t how)
{
    volatile int64_t big = INT64_MIN, minus1 = -1;
    volatile double nan = __builtin_nan("");
    volatile uint32_t bad_addr = 0xFFFFFFF0u;
    volatile int32_t index = 0;
    switch (how) {
    case KIND_UNREACHABLE: __builtin_trap();
    case KIND_MEMORY_OOB: send_i64(0, 0, *(volatile int64_t *)(uintptr_t)bad_addr); break;
    case KIND_INT_DIV_ZERO: trap_div0(); break;
    case KIND_INT_OVERFLOW: send_i64(0, 0, big / minus1); break;
    case KIND_INVALID_CONVERSION: send_i64(0, 0, __builtin_wasm_trunc_s_i32_f64(nan)); break;
    case KIND_UNDEFINED_ELEMENT: index = 1000000; ((fn0)(uintptr_t)index)(); break;
    case KIND_UNINITIALIZED_ELEMENT: ((fn0)(uintptr_t)index)(); break;
    case KIND_INDIRECT_CALL_TYPE: {
        volatile uintptr_t f = (uintptr_t)(fn0)victim;   /* opaque to the compiler */
        send_i64(0, 0, ((fn2)f)(1, 2));
        break;
    }
    case KIND_STACK_EXHAUSTED: send_i64(0, 0, recurse(0)); break;
    case KIND_HOST: lvm_send(0, 0, (const void *)(uintptr_t)bad_addr, 1000); break;
    }
}

// test: traps
// expect: unreachable: trap+1
// expect: load outside memory: trap+2
// expect: integer divide by zero: trap+4
// expect: INT64_MIN / -1: trap+5
// expect: i32.trunc_f64_s of NaN: trap+6
// expect: call_indirect past the table: trap+7
// expect: call_indirect of a null entry: trap+8
// expect: call_indirect with the wrong type: trap+9
// expect: unbounded recursion: trap+10
// expect: a host function given a bad pointer: trap+12
static void traps(int argc, char **argv)
{
    static const struct { int kind; const char *what; } cases[] = {
        { KIND_UNREACHABLE, "unreachable" },
        { KIND_MEMORY_OOB, "load outside memory" },
        { KIND_INT_DIV_ZERO, "integer divide by zero" },
        { KIND_INT_OVERFLOW, "INT64_MIN / -1" },
        { KIND_INVALID_CONVERSION, "i32.trunc_f64_s of NaN" },
        { KIND_UNDEFINED_ELEMENT, "call_indirect past the table" },
        { KIND_UNINITIALIZED_ELEMENT, "call_indirect of a null entry" },
        { KIND_INDIRECT_CALL_TYPE, "call_indirect with the wrong type" },
        { KIND_STACK_EXHAUSTED, "unbounded recursion" },
        { KIND_HOST, "a host function given a bad pointer" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ref;
        lvm_pid c = SPAWN_MON(&ref, die, cases[i].kind);
        CHECK(c > 0, "spawn");
        printf("%s: %s\n", cases[i].what, reason_name(EXPECT_DOWN(ref, c)));
    }
}

/* ---- out of memory ------------------------------------------------------------------------ */

/* Grow memory to `to` pages (reporting the results of memory.grow), then by one more page. */
static void grow(int64_t root, int64_t to)
{
    int64_t r[3];
    r[0] = (int64_t)__builtin_wasm_memory_size(0);
    r[1] = (int64_t)__builtin_wasm_memory_grow(0, (size_t)(to - r[0]));
    r[2] = (int64_t)__builtin_wasm_memory_size(0);
    lvm_send(root, TAG_INFO, r, sizeof r);
    int64_t past = (int64_t)__builtin_wasm_memory_grow(0, 1);   /* over the limit */
    send_i64(root, TAG_INFO, past);                              /* never sent */
}

static char *volatile sink;   /* so that the compiler cannot drop the mallocs */

static void malloc_forever(int64_t root)
{
    for (int i = 0;; i++) {
        char *p = malloc(1 << 16);
        sink = p;
        if (!p) {
            send_i64(root, TAG_INFO, i);   /* malloc returned NULL instead */
            return;
        }
        p[0] = 1;
    }
}

// test: out_of_memory
// expect: children's limit: 8 pages
// expect: memory.grow up to the limit: returns the old size, size is now 8
// expect: memory.grow past the limit: DOWN out_of_memory
// expect: malloc until the limit: DOWN out_of_memory
// expect: the root's own memory is not limited: memory.grow of 20 pages works
static void out_of_memory(int argc, char **argv)
{
    CHECK_EQ(lvm_config_set(LVM_CFG_MAX_MEMORY_PAGES, 8), 0);
    printf("children's limit: %lld pages\n", (long long)lvm_config_get(LVM_CFG_MAX_MEMORY_PAGES));
    int64_t ref;
    lvm_pid c = SPAWN_MON(&ref, grow, lvm_self(), 8);
    RECV(TAG_INFO, "grow results");
    int64_t r[3];
    lvm_msg_read(r, sizeof r, 0);
    CHECK(r[0] < 8, "the child starts with %lld pages: the test needs fewer than 8", (long long)r[0]);
    CHECK_EQ(r[1], r[0]);
    printf("memory.grow up to the limit: returns the old size, size is now %lld\n",
           (long long)r[2]);
    int32_t reason = EXPECT_DOWN(ref, c);
    int64_t tag = TAG_INFO;
    if (lvm_receive(&tag, 1, 0) == 0)
        FAIL("memory.grow past the limit returned %lld instead of ending the process",
             (long long)msg_i64());
    printf("memory.grow past the limit: DOWN %s\n", reason_name(reason));
    c = SPAWN_MON(&ref, malloc_forever, lvm_self());
    CHECK(c > 0, "spawn");
    reason = EXPECT_DOWN(ref, c);
    if (lvm_receive(&tag, 1, 0) == 0)
        FAIL("malloc returned NULL after %lld blocks", (long long)msg_i64());
    printf("malloc until the limit: DOWN %s\n", reason_name(reason));
    int32_t old = __builtin_wasm_memory_grow(0, 20);
    CHECK(old > 0, "memory.grow(20) in the root returned %d", (int)old);
    printf("the root's own memory is not limited: memory.grow of 20 pages works\n");
}

/* ---- out of reductions ------------------------------------------------------------------------ */

static void spin(int64_t unused)
{
    for (volatile int64_t i = 0;; i++) {
    }
}

static void work(int64_t root, int64_t n)
{
    volatile int64_t s = 0;
    for (int64_t i = 0; i < n; i++)
        s += i;
    send_i64(root, TAG_INFO, s);
}

// test: out_of_reductions
// expect: children's fuel: 200000 reductions
// expect: a busy loop: DOWN out_of_reductions
// expect: a small job within its fuel: result 4950, DOWN normal
// expect: the root's own fuel is not limited: 1000000 loop iterations done
static void out_of_reductions(int argc, char **argv)
{
    CHECK_EQ(lvm_config_set(LVM_CFG_FUEL, 200000), 0);
    printf("children's fuel: %lld reductions\n", (long long)lvm_config_get(LVM_CFG_FUEL));
    int64_t ref;
    lvm_pid c = SPAWN_MON(&ref, spin, 0);
    CHECK(c > 0, "spawn");
    printf("a busy loop: DOWN %s\n", reason_name(EXPECT_DOWN(ref, c)));
    c = SPAWN_MON(&ref, work, lvm_self(), 100);
    RECV(TAG_INFO, "work result");
    int64_t s = msg_i64();
    printf("a small job within its fuel: result %lld, DOWN %s\n", (long long)s,
           reason_name(EXPECT_DOWN(ref, c)));
    volatile int64_t i = 0;
    while (i < 1000000)
        i++;
    printf("the root's own fuel is not limited: %lld loop iterations done\n", (long long)i);
}

// test: noproc
// expect: monitor of a pid that never existed: DOWN noproc
// expect: link to it while trapping exits: returns noproc, EXIT noproc
static void noproc(int argc, char **argv)
{
    lvm_pid p = (int64_t)1 << 40;
    int64_t ref = lvm_monitor(p);
    printf("monitor of a pid that never existed: DOWN %s\n", reason_name(EXPECT_DOWN(ref, p)));
    lvm_trap_exit(1);
    int32_t r = lvm_link(p);
    RECV(LVM_TAG_EXIT, "EXIT");
    printf("link to it while trapping exits: returns %s, EXIT %s\n", reason_name(r),
           reason_name(msg_exit().reason));
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "traps", traps }, { "out_of_memory", out_of_memory },
        { "out_of_reductions", out_of_reductions }, { "noproc", noproc },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
