/*
 * minimal/trace.c — `lvm --trace` and `--top` in the minimal build (make MINIMAL=1): not
 * there. The traced loop is a second copy of the interpreter (vm/interp_trace.c) and the
 * live view a thread of its own (tools/top.c): about 35 KiB that a small box running a
 * known program does not need. Asking for them says so, once, instead of doing nothing.
 */
#include <stdio.h>

#include "tools/top.h"
#include "vm/vm_internal.h"

static void not_here(const char *what)
{
    static bool said;
    if (!said)
        fprintf(stderr, "lvm: %s is not in this minimal build (make MINIMAL=1); "
                        "use a default build\n", what);
    said = true;
}

/* Says so and lets the program run untraced. */
bool vm_exec_set_trace(Exec *e, void *out, const char *who, const char *func)
{
    not_here("--trace");
    return true;
}

void vm_trace_free(struct VmTrace *t) {}
void vm_trace_flush(Exec *e, RunStatus st) {}

/* Never reached: no Exec has a trace here. */
RunStatus vm_interp_run_traced(Exec *e, int64_t budget)
{
    return vm_interp_run(e, budget);
}

Top *top_start(Sched *s, const char *title)
{
    not_here("--top");
    return NULL;
}

void top_stop(Top *t) {}
