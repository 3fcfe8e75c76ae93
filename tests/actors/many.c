/*
 * many.c — 100,000 processes alive at once: each is spawned, says it is ready and blocks in
 * receive; when all of them are ready (so all are alive together) the root tells each to
 * exit, and counts their goodbyes.
 *
 * Under ThreadSanitizer 100,000 processes take 16 GB and more (1.5 GB without, 1.8 GB
 * under ASan): a TSan build runs it with 10,000 (the `tsan:` line), enough to look for
 * races.
 */
// ldflags: -Wl,-z,stack-size=16384
#include "common.h"

enum { TAG_READY = 1, TAG_QUIT = 2, TAG_BYE = 3 };

static void sleeper(int64_t root)
{
    send_i64(root, TAG_READY, 0);
    int64_t tag = TAG_QUIT;
    lvm_receive(&tag, 1, -1);
    send_i64(root, TAG_BYE, 0);
}

// test: alive 100000
// name: alive_100k
// tsan: alive 10000
// timeout: 120
// expect: spawned {arg1}
// expect: ready {arg1}: all alive at once, each blocked in receive
// expect: told to exit: {arg1} goodbyes
static void alive(int argc, char **argv)
{
    CHECK(argc == 2, "usage: alive N");
    int n = atoi(argv[1]);
    lvm_pid *pids = malloc((size_t)n * sizeof *pids);
    CHECK(pids, "malloc");
    for (int i = 0; i < n; i++) {
        pids[i] = SPAWN(sleeper, 0, lvm_self());
        CHECK(pids[i] > 0, "spawn %d of %d failed", i + 1, n);
    }
    printf("spawned %d\n", n);
    for (int i = 0; i < n; i++) {
        int64_t tag = TAG_READY;
        CHECK(lvm_receive(&tag, 1, 60000) == 0, "only %d of %d ready", i, n);
    }
    printf("ready %d: all alive at once, each blocked in receive\n", n);
    for (int i = 0; i < n; i++)
        send_i64(pids[i], TAG_QUIT, 0);
    for (int i = 0; i < n; i++) {
        int64_t tag = TAG_BYE;
        CHECK(lvm_receive(&tag, 1, 60000) == 0, "only %d of %d goodbyes", i, n);
    }
    printf("told to exit: %d goodbyes\n", n);
}

int main(int argc, char **argv)
{
    static const Section sections[] = { { "alive", alive } };
    return RUN_SECTIONS(sections, argc, argv);
}
