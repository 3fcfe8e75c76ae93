/* misc.c — sched_yield and proc_raise. */
#include "common.h"

// test: sched_yield
// expect: sched_yield: ok

// test: proc_raise
// expect: proc_raise: ok

static void sec_sched_yield(int argc, char **argv)
{
    for (int i = 0; i < 1000; i++) CHECK_OK(__wasi_sched_yield());
    printf("sched_yield: ok\n");
}

/* proc_raise is gone from later WASI versions; ENOSYS (or NOTSUP) is a fine answer. Signal
 * 0 (none) may also just succeed. Either way the guest keeps running. */
static void sec_proc_raise(int argc, char **argv)
{
    int e = raw_proc_raise(0);
    CHECK(e == 0 || e == __WASI_ERRNO_NOSYS || e == __WASI_ERRNO_NOTSUP,
          "proc_raise(0): errno %d (%s)", e, ename(e));
    printf("proc_raise: ok\n");
}

static const Section sections[] = {
    {"sched_yield", sec_sched_yield},
    {"proc_raise", sec_proc_raise},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
