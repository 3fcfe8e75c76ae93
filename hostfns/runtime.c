/*
 * runtime.c — the import resolver of `lvm app.wasm`: module "lvm" goes to actor.c, module
 * wasi_snapshot_preview1 to a WASI context of the process's own (made on its first WASI
 * import, freed with the process), anything else to the registry of the embedder's host
 * functions (registry.h), which type-checks it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

struct Runtime {
    Sched *sched;
    ActorHost *actor;
    const WasiConfig *wasi;
    WasiShared *wasi_fns;         /* one set of WASI host functions for every process */
    HostRegistry *registry;       /* the embedder's host functions (registry.h) */
};

/* WASI waits on descriptors through the scheduler: the process is parked, not the thread. */
static WasiWaitResult wait_io(void *env, Exec *exec, const struct pollfd *fds, int nfds,
                              int64_t timeout_ns)
{
    switch (sched_wait_io(sched_self(exec), fds, nfds, timeout_ns)) {
    case RECV_BLOCK: return WASI_WAIT_BLOCK;
    case RECV_TIMEOUT: return WASI_WAIT_TIMEOUT;
    default: return WASI_WAIT_AGAIN;
    }
}

static void wait_done(void *env, Exec *exec)
{
    sched_io_done(sched_self(exec));
}

static WasiWaitResult yield_now(void *env, Exec *exec)
{
    return sched_yield_now(sched_self(exec)) == RECV_BLOCK ? WASI_WAIT_BLOCK : WASI_WAIT_AGAIN;
}

static uint64_t cpu_ns(void *env, Exec *exec)
{
    return sched_cpu_ns(sched_self(exec));
}

static void free_wasi(void *ctx)
{
    wasi_free(ctx);
}

/* A process's WASI context, made on its first WASI call: most spawned processes never
 * make one, so a spawn costs no WASI allocation (nor a file descriptor per preopen). */
static WasiCtx *ctx_of(void *env, Exec *exec)
{
    Runtime *rt = env;
    Process *p = sched_self(exec);
    WasiCtx *ctx = sched_local(p, LOCAL_WASI);
    if (ctx)
        return ctx;
    char err[200];
    const WasiConfig *own = sched_config(p)->wasi_config;   /* an embedder's, per spawn */
    if (!(ctx = wasi_new(own ? own : rt->wasi, err, sizeof err)))
        return NULL;
    wasi_set_waiter(ctx, &(WasiWaiter){ wait_io, wait_done, yield_now, cpu_ns, rt });
    sched_set_local(p, LOCAL_WASI, ctx, free_wasi);
    return ctx;
}

static bool resolve(void *env, Process *p, Process *parent, const Module *m, const Import *imp,
                    Extern *out, char *err, size_t errlen)
{
    Runtime *rt = env;
    if (strcmp(imp->module.str, "lvm") == 0)
        return host_actor_resolve(rt->actor, m, imp, out, err, errlen);
    if (wasi_is_import(imp))
        return wasi_resolve_shared(rt->wasi_fns, m, imp, out, err, errlen);
    return host_registry_resolve(rt->registry, m, imp, out, err, errlen);
}

Runtime *runtime_new(const SchedConfig *cfg, const WasiConfig *wasi, char *err, size_t errlen)
{
    Runtime *rt = calloc(1, sizeof *rt);
    if (!rt || !(rt->sched = sched_new(cfg)) || !(rt->actor = host_actor_new(rt->sched)) ||
        !(rt->wasi_fns = wasi_shared_new(ctx_of, rt)) || !(rt->registry = host_registry_new())) {
        snprintf(err, errlen, "out of memory");
        runtime_free(rt);
        return NULL;
    }
    rt->wasi = wasi;
    sched_set_resolver(rt->sched, resolve, rt);
    return rt;
}

void runtime_free(Runtime *rt)
{
    if (!rt)
        return;
    sched_free(rt->sched);   /* first: processes still hold the actor's and WASI's functions */
    host_actor_free(rt->actor);
    wasi_shared_free(rt->wasi_fns);
    host_registry_free(rt->registry);
    free(rt);
}

Sched *runtime_sched(Runtime *rt)
{
    return rt->sched;
}

HostRegistry *runtime_registry(Runtime *rt)
{
    return rt->registry;
}
