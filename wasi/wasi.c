/*
 * wasi.c — the WASI context, the table of wasi_snapshot_preview1 functions and how an
 * import is bound to one, plus the small functions: args, environ, clocks, random,
 * proc_exit, proc_raise, sched_yield.
 *
 * Where it sits: wasi.h is the public face; each host function is a WasiImpl (see
 * wasi_internal.h) listed in FUNCS below with its Wasm signature, and every call goes
 * through dispatch(), which fetches the caller's memory, runs the impl and turns its
 * answer into a HostStatus. The fd table helpers shared by fd.c, dir.c, path.c, poll.c
 * and sock.c live here too.
 *
 * Read next: fd.c, then path.c and sandbox.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../loader/loader.h"
#include "wasi_internal.h"

/* ---- args, environ (witx: args_get, args_sizes_get, environ_get, environ_sizes_get) -- */

/* Write count pointers at `ptrs` and the strings, NUL-terminated, at `buf`. */
static uint32_t put_strings(WasiCall *c, char **strs, int count, size_t bytes, uint32_t ptrs,
                            uint32_t buf)
{
    if (!guest_range(c, ptrs, (uint64_t)count * 4) || !guest_range(c, buf, bytes))
        return WASI_EFAULT;
    uint32_t at = buf;
    for (int i = 0; i < count; i++) {
        size_t n = strlen(strs[i]) + 1;
        put_u32(guest_ptr(c, ptrs + 4 * (uint32_t)i), at);
        memcpy(guest_ptr(c, at), strs[i], n);
        at += (uint32_t)n;
    }
    return WASI_ESUCCESS;
}

static uint32_t put_sizes(WasiCall *c, uint32_t count, size_t bytes, uint32_t pcount,
                          uint32_t pbytes)
{
    if (!guest_range(c, pcount, 4) || !guest_range(c, pbytes, 4)) return WASI_EFAULT;
    put_u32(guest_ptr(c, pcount), count);
    put_u32(guest_ptr(c, pbytes), (uint32_t)bytes);
    return WASI_ESUCCESS;
}

static WASI_IMPL(args_get)
{
    return put_strings(c, c->ctx->argv, c->ctx->argc, c->ctx->argv_bytes, ARG32(0), ARG32(1));
}
static WASI_IMPL(args_sizes_get)
{
    return put_sizes(c, (uint32_t)c->ctx->argc, c->ctx->argv_bytes, ARG32(0), ARG32(1));
}
static WASI_IMPL(environ_get)
{
    return put_strings(c, c->ctx->env, c->ctx->nenv, c->ctx->env_bytes, ARG32(0), ARG32(1));
}
static WASI_IMPL(environ_sizes_get)
{
    return put_sizes(c, (uint32_t)c->ctx->nenv, c->ctx->env_bytes, ARG32(0), ARG32(1));
}

/* ---- clocks (witx: clock_res_get, clock_time_get), timestamps in nanoseconds -------- */

static bool host_clock(uint32_t id, clockid_t *out)
{
    switch (id) {
    case WASI_CLOCK_REALTIME: *out = CLOCK_REALTIME; return true;
    case WASI_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return true;
    case WASI_CLOCK_PROCESS_CPUTIME: *out = CLOCK_PROCESS_CPUTIME_ID; return true;
    /* Thread CPU time is the worker thread's: once a process migrates between workers
     * it stops meaning "this process" exactly; docs/wasi.md says so. */
    case WASI_CLOCK_THREAD_CPUTIME: *out = CLOCK_THREAD_CPUTIME_ID; return true;
    }
    return false;
}

static WASI_IMPL(clock_res_get)
{
    clockid_t id;
    struct timespec ts;
    if (!host_clock(ARG32(0), &id)) return WASI_EINVAL;
    if (!guest_range(c, ARG32(1), 8)) return WASI_EFAULT;
    if (clock_getres(id, &ts) != 0) return wasi_errno(errno);
    put_u64(guest_ptr(c, ARG32(1)), (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    return WASI_ESUCCESS;
}

/* The CPU-time clocks must not go back for the guest, but a per-thread CPU clock can,
 * by a microsecond or so, when the host thread moves between CPUs whose clocks differ
 * (seen in VMs). So each context keeps the last value it gave and never gives less.
 * On the scheduler a process moves between worker threads, so the thread clock is then
 * only approximately its own: it should become the process's CPU time summed over its
 * slices, which needs the VM to count it (docs/wasi.md). */
static uint64_t cpu_clock(WasiCtx *ctx, uint32_t id, uint64_t ns)
{
    uint64_t *last = &ctx->last_cpu[id == WASI_CLOCK_THREAD_CPUTIME];
    if (ns < *last) ns = *last;
    *last = ns;
    return ns;
}

static WASI_IMPL(clock_time_get)
{
    clockid_t id;
    struct timespec ts;
    /* a[1] is the requested precision: a hint the spec lets us ignore */
    if (!host_clock(ARG32(0), &id)) return WASI_EINVAL;
    if (!guest_range(c, ARG32(2), 8)) return WASI_EFAULT;
    const WasiWaiter *w = &c->ctx->waiter;
    uint64_t ns;
    if (ARG32(0) == WASI_CLOCK_THREAD_CPUTIME && w->cpu_ns) {
        ns = w->cpu_ns(w->env, c->exec);   /* the process's own time, over its slices */
    } else {
        if (clock_gettime(id, &ts) != 0) return wasi_errno(errno);
        ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    if (ARG32(0) >= WASI_CLOCK_PROCESS_CPUTIME) ns = cpu_clock(c->ctx, ARG32(0), ns);
    put_u64(guest_ptr(c, ARG32(2)), ns);
    return WASI_ESUCCESS;
}

/* ---- random_get, proc_*, sched_yield --------------------------------------------------- */

/* Straight into guest memory, in getrandom's 32 MiB-or-less pieces: no host buffer. */
static WASI_IMPL(random_get)
{
    uint32_t buf = ARG32(0), len = ARG32(1);
    if (!guest_range(c, buf, len)) return WASI_EFAULT;
    for (uint32_t done = 0; done < len;) {
        ssize_t n = getrandom(guest_ptr(c, buf + done), len - done, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return wasi_errno(errno);
        done += (uint32_t)n;
    }
    return WASI_ESUCCESS;
}

/* proc_exit(rval): the run ends on purpose, with TRAP_EXIT carrying the code. */
static WASI_IMPL(proc_exit)
{
    vm_exec_set_exit(c->exec, (int)ARG32(0));
    return WASI_EXITED;
}

/* Sending a signal to oneself has no meaning in a sandbox (Wasmtime: ENOSYS too). */
static WASI_IMPL(proc_raise) { return WASI_ENOSYS; }

/* With a scheduler: ends the process's slice (it goes to the back of its run queue, and
 * the call completes when it runs again). Without one: yields the host thread. */
static WASI_IMPL(yield_now)
{
    const WasiWaiter *w = &c->ctx->waiter;
    if (!w->yield) {
        sched_yield();
        return WASI_ESUCCESS;
    }
    return w->yield(w->env, c->exec) == WASI_WAIT_BLOCK ? WASI_BLOCKED : WASI_ESUCCESS;
}

/* ---- the function table ---------------------------------------------------------------- */

/* Signatures from wasi_snapshot_preview1.witx as wasi-libc imports them: i = i32,
 * I = i64. Every function returns an errno (i32) except proc_exit. */
static const struct {
    const char *name, *params, *results;
    WasiImpl impl;
} FUNCS[WASI_NFUNCS] = {
    { "args_get", "ii", "i", args_get },
    { "args_sizes_get", "ii", "i", args_sizes_get },
    { "environ_get", "ii", "i", environ_get },
    { "environ_sizes_get", "ii", "i", environ_sizes_get },
    { "clock_res_get", "ii", "i", clock_res_get },
    { "clock_time_get", "iIi", "i", clock_time_get },
    { "fd_advise", "iIIi", "i", wasi_fd_advise },
    { "fd_allocate", "iII", "i", wasi_fd_allocate },
    { "fd_close", "i", "i", wasi_fd_close },
    { "fd_datasync", "i", "i", wasi_fd_datasync },
    { "fd_fdstat_get", "ii", "i", wasi_fd_fdstat_get },
    { "fd_fdstat_set_flags", "ii", "i", wasi_fd_fdstat_set_flags },
    { "fd_fdstat_set_rights", "iII", "i", wasi_fd_fdstat_set_rights },
    { "fd_filestat_get", "ii", "i", wasi_fd_filestat_get },
    { "fd_filestat_set_size", "iI", "i", wasi_fd_filestat_set_size },
    { "fd_filestat_set_times", "iIIi", "i", wasi_fd_filestat_set_times },
    { "fd_pread", "iiiIi", "i", wasi_fd_pread },
    { "fd_prestat_get", "ii", "i", wasi_fd_prestat_get },
    { "fd_prestat_dir_name", "iii", "i", wasi_fd_prestat_dir_name },
    { "fd_pwrite", "iiiIi", "i", wasi_fd_pwrite },
    { "fd_read", "iiii", "i", wasi_fd_read },
    { "fd_readdir", "iiiIi", "i", wasi_fd_readdir },
    { "fd_renumber", "ii", "i", wasi_fd_renumber },
    { "fd_seek", "iIii", "i", wasi_fd_seek },
    { "fd_sync", "i", "i", wasi_fd_sync },
    { "fd_tell", "ii", "i", wasi_fd_tell },
    { "fd_write", "iiii", "i", wasi_fd_write },
    { "path_create_directory", "iii", "i", wasi_path_create_directory },
    { "path_filestat_get", "iiiii", "i", wasi_path_filestat_get },
    { "path_filestat_set_times", "iiiiIIi", "i", wasi_path_filestat_set_times },
    { "path_link", "iiiiiii", "i", wasi_path_link },
    { "path_open", "iiiiiIIii", "i", wasi_path_open },
    { "path_readlink", "iiiiii", "i", wasi_path_readlink },
    { "path_remove_directory", "iii", "i", wasi_path_remove_directory },
    { "path_rename", "iiiiii", "i", wasi_path_rename },
    { "path_symlink", "iiiii", "i", wasi_path_symlink },
    { "path_unlink_file", "iii", "i", wasi_path_unlink_file },
    { "poll_oneoff", "iiii", "i", wasi_poll_oneoff },
    { "proc_exit", "i", "", proc_exit },
    { "proc_raise", "i", "i", proc_raise },
    { "sched_yield", "", "i", yield_now },
    { "random_get", "ii", "i", random_get },
    { "sock_accept", "iii", "i", wasi_sock_accept },
    { "sock_recv", "iiiiii", "i", wasi_sock_recv },
    { "sock_send", "iiiii", "i", wasi_sock_send },
    { "sock_shutdown", "ii", "i", wasi_sock_shutdown },
};

/* The one HostFn of every WASI function: env is its WasiBinding. */
static HostStatus dispatch(Exec *exec, void *env, Value *args)
{
    WasiBinding *b = env;
    WasiCall c = { .ctx = b->ctx ? b->ctx : b->shared->ctx_of(b->shared->env, exec), .exec = exec };
    if (!c.ctx) {
        vm_exec_set_host_trap(exec, "WASI: this process has no WASI context (out of memory?)");
        return HOST_TRAP;
    }
    MemoryInst *m = vm_exec_caller_memory(exec);
    if (m) {
        c.mem = vm_memory_data(m);
        c.memsize = vm_memory_size(m);
    }
    uint32_t r = FUNCS[b->index].impl(&c, args);
    if (r == WASI_BLOCKED) return HOST_BLOCK;
    if (r == WASI_EXITED) return HOST_TRAP;
    if (FUNCS[b->index].results[0]) args[0] = r;
    return HOST_OK;
}

static ValType val_type(char ch) { return ch == 'I' ? VT_I64 : VT_I32; }


/* "(i32, i64) -> (i32)" */
static void format_sig(const ValType *p, uint32_t np, const ValType *r, uint32_t nr, char *buf,
                       size_t len)
{
    size_t at = 0;
    at += (size_t)snprintf(buf + at, len - at, "(");
    for (uint32_t i = 0; i < np && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "", valtype_name(p[i]));
    if (at < len) at += (size_t)snprintf(buf + at, len - at, ") -> (");
    for (uint32_t i = 0; i < nr && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ", " : "", valtype_name(r[i]));
    if (at < len) snprintf(buf + at, len - at, ")");
}

bool wasi_is_import(const Import *imp)
{
    return strcmp(imp->module.str, WASI_MODULE_NAME) == 0;
}

/* The host function for FUNCS[i] in a set, made on first use; `b` is its binding. */
static Function *get_function(WasiFuncs *fs, uint32_t i, WasiBinding b)
{
    if (fs->funcs[i]) return fs->funcs[i];
    ValType p[16], r[1];
    uint32_t np = (uint32_t)strlen(FUNCS[i].params), nr = (uint32_t)strlen(FUNCS[i].results);
    for (uint32_t k = 0; k < np; k++) p[k] = val_type(FUNCS[i].params[k]);
    for (uint32_t k = 0; k < nr; k++) r[k] = val_type(FUNCS[i].results[k]);
    fs->bindings[i] = b;
    fs->funcs[i] = vm_host_function_new(p, np, r, nr, dispatch, &fs->bindings[i], FUNCS[i].name);
    return fs->funcs[i];
}

static bool resolve(WasiFuncs *fs, WasiBinding b, const Module *m, const Import *imp,
                    Extern *out, char *err, size_t errlen);

bool wasi_resolve(WasiCtx *ctx, const Module *m, const Import *imp, Extern *out, char *err,
                  size_t errlen)
{
    return resolve(&ctx->fns, (WasiBinding){ ctx, NULL, 0 }, m, imp, out, err, errlen);
}

WasiShared *wasi_shared_new(WasiCtxOf ctx_of, void *env)
{
    WasiShared *sh = calloc(1, sizeof *sh);
    if (sh) {
        sh->ctx_of = ctx_of;
        sh->env = env;
    }
    return sh;
}

void wasi_shared_free(WasiShared *sh)
{
    if (!sh) return;
    for (int i = 0; i < WASI_NFUNCS; i++) vm_host_function_free(sh->fns.funcs[i]);
    free(sh);
}

bool wasi_resolve_shared(WasiShared *sh, const Module *m, const Import *imp, Extern *out,
                         char *err, size_t errlen)
{
    return resolve(&sh->fns, (WasiBinding){ NULL, sh, 0 }, m, imp, out, err, errlen);
}

static bool resolve(WasiFuncs *fs, WasiBinding b, const Module *m, const Import *imp,
                    Extern *out, char *err, size_t errlen)
{
    uint32_t i;
    for (i = 0; i < WASI_NFUNCS; i++)
        if (imp->name.len == strlen(FUNCS[i].name) && strcmp(imp->name.str, FUNCS[i].name) == 0)
            break;
    if (i == WASI_NFUNCS || imp->kind != EXTERN_FUNC) {
        snprintf(err, errlen, "unknown import: `%s::%s` has not been defined%s",
                 imp->module.str, imp->name.str,
                 i < WASI_NFUNCS ? " as anything but a function" : "");
        return false;
    }
    b.index = i;
    Function *f = get_function(fs, i, b);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    const FuncType *t = &m->types[m->funcs[imp->index].typeidx];
    const ValType *wp, *wr;
    uint32_t wnp, wnr;
    vm_function_type(f, &wp, &wnp, &wr, &wnr);
    bool same = t->nparams == wnp && t->nresults == wnr &&
                memcmp(functype_params(t), wp, wnp * sizeof *wp) == 0 &&
                memcmp(functype_results(t), wr, wnr * sizeof *wr) == 0;
    if (!same) {
        char want[200], got[200];
        format_sig(wp, wnp, wr, wnr, want, sizeof want);
        format_sig(functype_params(t), t->nparams, functype_results(t), t->nresults, got,
                   sizeof got);
        snprintf(err, errlen, "incompatible import type for `%s::%s`: expected %s, found %s",
                 imp->module.str, imp->name.str, want, got);
        return false;
    }
    out->kind = EXTERN_FUNC;
    out->u.func = f;
    return true;
}
