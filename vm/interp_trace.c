/*
 * interp_trace.c — the traced run loop: vm/interp.c compiled a second time.
 *
 * `lvm --trace` must cost nothing when it is off, so the normal loop has no tracing in
 * it at all. This file builds a second copy of the same handlers, as a `switch` loop
 * whose dispatch first calls vm_trace_step() (vm/trace.c), which prints the instruction
 * about to run with the values it reads, and the value the previous one wrote. The
 * copy runs the very code the normal loop runs (the hook decodes label cells as well as
 * Handler numbers), so one compiled module serves both; vm_run() picks this loop for an
 * Exec that has a trace (config.h, LVM_TRACE).
 *
 * Read next: vm/trace.c.
 */
#define LVM_TRACE 1
#undef LVM_DISPATCH_SWITCH
#define LVM_DISPATCH_SWITCH 1

#include "interp.c"
