/*
 * spawnlimit.c — a guest that spawns without end meets the VM's process limit
 * (--max-processes, BEAM's +P): the spawn fails with a reason the guest can read, the
 * VM and the processes already alive go on, and once some have ended it can spawn again.
 */
#include "common.h"

enum { TAG_STOP = 1, TAG_DONE = 2 };

static void sit(int64_t root)
{
    int64_t tag = TAG_STOP;
    lvm_receive(&tag, 1, -1);
    send_i64(root, TAG_DONE, 0);
}

// test: bomb
// lvm: --max-processes 100
// expect: spawned 99 (with the root: 100 alive), then: too many processes
// expect: the 99 are still alive and answer: 99
// expect: after they ended, spawning works again: yes
static void bomb(int argc, char **argv)
{
    lvm_pid pids[200];
    int n = 0;
    while (n < 200 && (pids[n] = SPAWN(sit, 0, lvm_self())))
        n++;
    char why[160];
    int32_t len = lvm_last_error(why, sizeof why - 1);
    why[len < (int32_t)sizeof why - 1 ? len : (int32_t)sizeof why - 1] = 0;
    printf("spawned %d (with the root: %d alive), then: %.18s\n", n, n + 1, why);
    for (int i = 0; i < n; i++)
        send_i64(pids[i], TAG_STOP, 0);
    int answered = 0;
    for (int i = 0; i < n; i++) {
        int64_t tag = TAG_DONE;
        if (lvm_receive(&tag, 1, 5000) == 0)
            answered++;
    }
    printf("the %d are still alive and answer: %d\n", n, answered);
    lvm_sleep(20);   /* (their exits are processed after their last message) */
    lvm_pid again = SPAWN(sit, 0, lvm_self());
    printf("after they ended, spawning works again: %s\n", again ? "yes" : "no");
    if (again)
        send_i64(again, TAG_STOP, 0);
}

int main(int argc, char **argv)
{
    static const Section sections[] = { { "bomb", bomb } };
    return RUN_SECTIONS(sections, argc, argv);
}
