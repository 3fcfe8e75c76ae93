/*
 * isolation.c — a trap ends only the process that trapped: its parent and its siblings
 * carry on, with their memory intact and their results right.
 */
#include "common.h"

enum { TAG_RESULT = 1 };

/* Sum of i*i*k for i < n, in many slices (preempted along the way), with a private
 * buffer whose contents are checked at the end: another process's trap must not touch it. */
static void worker(int64_t root, int64_t k, int64_t n)
{
    static int64_t buf[1024];
    for (int i = 0; i < 1024; i++)
        buf[i] = i * k;
    int64_t s = 0;
    for (int64_t i = 0; i < n; i++) {
        s += i * i * k;
        if ((i & 1023) == 0)
            lvm_yield();
    }
    for (int i = 0; i < 1024; i++)
        CHECK(buf[i] == i * k, "worker %lld: buffer changed at %d", (long long)k, i);
    int64_t r[2] = { k, s };
    lvm_send(root, TAG_RESULT, r, sizeof r);
}

/* Scribble over its own memory, then trap in one of several ways. */
static void crasher(int64_t how)
{
    static int64_t buf[1024];
    for (int i = 0; i < 1024; i++)
        buf[i] = -1;
    lvm_sleep(5);   /* let the workers get going */
    volatile uint32_t bad = 0xFFFFFFF0u;
    switch (how) {
    case 0: trap_div0(); break;
    case 1: __builtin_trap();
    case 2: send_i64(0, 0, *(volatile int64_t *)(uintptr_t)bad); break;
    case 3: lvm_send(0, 0, (const void *)(uintptr_t)bad, 100); break;
    }
}

// test: siblings
// expect: 4 crashers: trap+4 trap+1 trap+2 trap+12
// expect: 8 workers: all results right, all DOWN normal
// expect: the parent carries on: a new worker after the crashes is right too
static void siblings(int argc, char **argv)
{
    enum { W = 8, C = 4, N = 200000 };
    int64_t wref[W], cref[C];
    lvm_pid wpid[W], cpid[C];
    for (int i = 0; i < W; i++) {
        wpid[i] = SPAWN_MON(&wref[i], worker, lvm_self(), i + 1, N);
        if (i < C)
            cpid[i] = SPAWN_MON(&cref[i], crasher, i);
    }
    int64_t want = 0;
    for (int64_t i = 0; i < N; i++)
        want += i * i;
    int got[W] = { 0 };
    for (int i = 0; i < W; i++) {
        RECV(TAG_RESULT, "worker result");
        int64_t r[2];
        lvm_msg_read(r, 16, 0);
        CHECK(r[0] >= 1 && r[0] <= W && !got[r[0] - 1], "result from worker %lld", (long long)r[0]);
        CHECK(r[1] == want * r[0], "worker %lld: %lld, want %lld", (long long)r[0],
              (long long)r[1], (long long)(want * r[0]));
        got[r[0] - 1] = 1;
    }
    int64_t refs[W + C];
    lvm_pid pids[W + C];
    int32_t reasons[W + C];
    for (int i = 0; i < W + C; i++) {
        refs[i] = i < C ? cref[i] : wref[i - C];
        pids[i] = i < C ? cpid[i] : wpid[i - C];
    }
    EXPECT_DOWNS(W + C, refs, pids, reasons);
    printf("%d crashers:", C);
    for (int i = 0; i < C; i++)
        printf(" %s", reason_name(reasons[i]));
    printf("\n");
    for (int i = C; i < W + C; i++)
        CHECK_EQ(reasons[i], LVM_EXIT_NORMAL);
    printf("%d workers: all results right, all DOWN normal\n", W);
    SPAWN(worker, 0, lvm_self(), 3, 1000);
    RECV(TAG_RESULT, "last worker");
    int64_t r[2];
    lvm_msg_read(r, 16, 0);
    int64_t w2 = 0;
    for (int64_t i = 0; i < 1000; i++)
        w2 += i * i * 3;
    CHECK_EQ(r[1], w2);
    printf("the parent carries on: a new worker after the crashes is right too\n");
}

static int64_t recurse(int64_t n)
{
    if (n == -1)
        return 0;
    return recurse(n + 1) * 3 + n;
}

static void deep(int64_t unused)
{
    send_i64(0, 0, recurse(0));
}

// test: stack_exhaustion
// expect: 4 children exhaust their call stacks at once: trap+10 each; the root goes on
static void stack_exhaustion(int argc, char **argv)
{
    int64_t ref[4];
    lvm_pid p[4];
    for (int i = 0; i < 4; i++)
        p[i] = SPAWN_MON(&ref[i], deep, 0);
    int32_t reasons[4];
    EXPECT_DOWNS(4, ref, p, reasons);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(reasons[i], LVM_EXIT_TRAP + KIND_STACK_EXHAUSTED);
    printf("4 children exhaust their call stacks at once: trap+10 each; the root goes on\n");
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "siblings", siblings }, { "stack_exhaustion", stack_exhaustion },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
