/*
 * config.h — the build switches of the VM, each explained. Nothing else in vm/ uses #if
 * on build settings; handlers never do.
 */
#ifndef LVM_VM_CONFIG_H
#define LVM_VM_CONFIG_H

/* LVM_DISPATCH_SWITCH: run threaded code through a portable `switch` in a loop instead
 * of computed goto (`goto *label`, a GCC/Clang extension). Computed goto is faster
 * (one indirect jump per handler, each with its own branch-prediction history); the
 * switch build is for compilers without the extension, and for reading. `make
 * DISPATCH=switch` sets it; `make test` runs the spec suite in both modes. */
#ifndef LVM_DISPATCH_SWITCH
#  if defined(__GNUC__) || defined(__clang__)
#    define LVM_DISPATCH_SWITCH 0
#  else
#    define LVM_DISPATCH_SWITCH 1
#  endif
#endif

/* LVM_TRACE: set only by vm/interp_trace.c, which compiles interp.c a second time into
 * vm_interp_run_traced(), the loop `lvm --trace` runs (vm/trace.c). That copy is a
 * `switch` loop (it forces LVM_DISPATCH_SWITCH) whose dispatch calls a hook before
 * every handler (dispatch.h, DISPATCH_HANDLER). It runs the same compiled code as the
 * normal loop: the hook turns each handler cell — a label address of the normal
 * loop, or a Handler number — back into a Handler. So the normal loop is compiled
 * exactly as without tracing, not one branch added to a handler; an Exec with a trace
 * set (vm_exec_set_trace) is run by the traced loop instead, chosen once per slice in
 * vm_run(). */
#ifndef LVM_TRACE
#  define LVM_TRACE 0
#endif

/* LVM_REDUCTIONS: count reductions at calls and loop back-edges (DESIGN decision 3), so a
 * run can be preempted. Set to 0 (`make REDUCTIONS=0`) only to measure what counting
 * costs: such a build runs every call to completion and cannot preempt a process. */
#ifndef LVM_REDUCTIONS
#  define LVM_REDUCTIONS 1
#endif

/* LVM_MINIMAL: the size-optimised build for the smallest boxes (`make MINIMAL=1`, which
 * also compiles with -Os and swaps whole files: minimal/native.c for hostfns/native.c —
 * no libffi — and minimal/wasi_nofs.c for wasi/path.c, sandbox.c and dir.c — no WASI
 * filesystem). The code that must know tests it in a plain `if`, so both sides always
 * compile: `lvm --dir` and lvm_spawn with directories are refused in a minimal build
 * rather than given a directory the guest cannot use. */
#ifndef LVM_MINIMAL
#  define LVM_MINIMAL 0
#endif

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
