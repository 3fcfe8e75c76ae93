/*
 * spawn_idle_1m — the driver spawns N = 1,000,000 children; each sends `ready` to the
 * driver and blocks in a receive for `stop`. Reported: the spawn loop's time, the time
 * until all N `ready` have arrived (every child has run up to its receive), and the time
 * to kill them all (kill each with reason killed, then wait until none is left). Done
 * twice in one VM: run=cold, then run=warm after all of the first N were killed.
 * (ba_spawn.erl, main_idle/0)
 *
 * Resident bytes per idle process cannot be measured from inside (no /proc in the
 * sandbox): with the argument `handshake` the driver prints `MEASURE base run=…` before
 * spawning and `MEASURE loaded run=…` when all children are blocked, and each time waits
 * for a line on stdin, while bench/run_actors.py reads the VmRSS of the lvm process.
 * bytes_per_proc = (loaded - base) / N. The driver's own pid array is allocated and
 * touched before the first `base`, so it is not counted (BEAM's figure subtracts the
 * driver's growth too). Without `handshake` it does not stop.
 *
 * An argument `n=COUNT` replaces N (run_actors.py uses it only when 1,000,000 do not fit).
 */
#include "common.h"

static int N = 1000000;
enum { TAG_READY = 1, TAG_STOP = 2 };

static void child(int64_t parent)
{
    lvm_send(parent, TAG_READY, 0, 0);
    recv_tag(TAG_STOP);
}

static int handshake;

static void measure(const char *what, int run)
{
    if (!handshake)
        return;
    printf("MEASURE %s run=%s\n", what, RUN_NAME[run]);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin))
        die("stdin closed during the handshake");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "handshake") == 0)
            handshake = 1;
        else if (strncmp(argv[i], "n=", 2) == 0 && atoi(argv[i] + 2) > 0)
            N = atoi(argv[i] + 2);
    lvm_pid self = lvm_self();
    lvm_pid *pids = malloc((size_t)N * sizeof *pids);
    if (!pids)
        die("out of memory");
    memset(pids, 0xff, (size_t)N * sizeof *pids);
    for (int run = 0; run < 2; run++) {
        measure("base", run);
        int64_t t0 = now_us();
        for (int i = 0; i < N; i++)
            if (!(pids[i] = lvm_spawn1(child, self, 0)))
                die("spawn failed");
        int64_t t1 = now_us();
        for (int i = 0; i < N; i++)
            recv_tag(TAG_READY);
        int64_t t2 = now_us();
        measure("loaded", run);
        int64_t t3 = now_us();
        for (int i = 0; i < N; i++)
            lvm_kill(pids[i], LVM_EXIT_KILLED);
        /* Wait until every one has gone: kill fails only for a pid no longer alive
         * (a second kill of a dying process changes nothing; the first reason wins). */
        for (int i = 0; i < N; i++)
            while (lvm_kill(pids[i], LVM_EXIT_KILLED) == 0)
                lvm_sleep(1);
        int64_t t4 = now_us();
        printf("RESULT spawn_idle_1m run=%s n=%d spawn_loop_ms=%.3f all_blocked_ms=%.3f "
               "us_per_spawn=%.3f kill_all_ms=%.3f\n",
               RUN_NAME[run], N, (t1 - t0) / 1e3, (t2 - t0) / 1e3, (double)(t2 - t0) / N,
               (t4 - t3) / 1e3);
        fflush(stdout);
    }
    return 0;
}
