/*
 * embed.c — include/lvm.h, the embedding API, on top of a Runtime (runtime.h).
 *
 * Where it sits: the outermost layer of the library, beside tools/main.c (which uses the
 * same Runtime directly). An lvm_vm is a Runtime (scheduler + `lvm` API + WASI + the
 * registry of the embedder's host functions) plus three things of the host's own:
 *
 *   - a mailbox: a process without an instance (sched_host_process_new) whose pid guests
 *     send to; a message to it calls host_notify() instead of queueing it, and
 *     lvm_receive reads it under `host_lock` (a mailbox has one consumer);
 *   - the WASI worlds of lvm_spawn's configurations, deep copies kept until the VM is
 *     freed (children inherit them, and may outlive the spawn call by far);
 *   - the result types of the functions the host spawned, so that lvm_wait can give
 *     typed results.
 *
 * C callbacks (lvm_register_fn) are called through callback_call(), which converts Wasm
 * values to lvm_value and back and tells the scheduler when one blocks
 * (sched_host_call_blocked: an idle VM then waits for the host, it is not deadlocked).
 * Native functions go to native.c. Read next: registry.c, native.c.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/lvm.h"
#include "../loader/loader.h"
#include "../vm/config.h"
#include "native.h"
#include "runtime.h"

_Static_assert(LVM_NS_LVM == NS_LVM && LVM_NS_WASI == NS_WASI && LVM_NS_HOST == NS_HOST,
               "lvm.h's namespace bits are sched.h's");
_Static_assert(LVM_EXIT_OUT_OF_FUEL == EXIT_OUT_OF_REDUCTIONS && LVM_EXIT_TRAP == EXIT_TRAP_BASE &&
               LVM_EXIT_USER == EXIT_USER_BASE, "lvm.h's exit reasons are sched.h's");
_Static_assert(LVM_TAG_EXIT == TAG_EXIT && LVM_TAG_DOWN == TAG_DOWN, "lvm.h's tags are sched.h's");

/* What lvm_wait needs to type a host-spawned process's results. */
typedef struct Spawned {
    uint64_t pid;
    uint32_t nresults;
    lvm_type types[16];
} Spawned;

struct lvm_vm {
    Runtime *rt;
    Sched *sched;
    unsigned threads;
    lvm_process_config defaults;  /* its pointers point into default_world */
    WasiConfig *default_world;

    Process *host;                /* the host's mailbox (lives until sched_free) */
    pthread_mutex_t host_lock;    /* one consumer at a time; host_cond's mutex */
    pthread_cond_t host_cond;     /* a message came (threads > 1) */

    pthread_mutex_t lock;         /* worlds and spawned */
    WasiConfig **worlds;
    size_t nworlds, capworlds;
    Spawned *spawned;
    size_t nspawned, capspawned;
};

struct lvm_module {
    Module *m;
};

struct lvm_call {
    Exec *exec;
    Process *proc;
    lvm_vm *vm;
    const char *name;             /* "env.log", for trap messages */
    bool trap_set;
};

/* A C callback's registration: the env of its Function. */
typedef struct Callback {
    lvm_vm *vm;
    lvm_host_fn fn;
    void *env;
    HostSig sig;
    char name[128];
} Callback;

static void set_error(lvm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(lvm_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

const char *lvm_version(void)
{
    return LVM_VERSION_STRING;
}

/* ---- Values ------------------------------------------------------------------------ */

static lvm_type public_type(ValType t)
{
    switch (t) {
    case VT_I64: return LVM_I64;
    case VT_F32: return LVM_F32;
    case VT_F64: return LVM_F64;
    default: return LVM_I32;
    }
}

static ValType wasm_type(lvm_type t)
{
    switch (t) {
    case LVM_I64: return VT_I64;
    case LVM_F32: return VT_F32;
    case LVM_F64: return VT_F64;
    default: return VT_I32;
    }
}

/* Wasm's Value (raw bits in 64) <-> lvm_value. f32 keeps its bits (NaN payloads too). */
static lvm_value to_public(lvm_type t, Value v)
{
    lvm_value x = { .type = t };
    switch (t) {
    case LVM_I32: x.of.i32 = (int32_t)(uint32_t)v; break;
    case LVM_I64: x.of.i64 = (int64_t)v; break;
    case LVM_F32: { uint32_t b = (uint32_t)v; memcpy(&x.of.f32, &b, 4); break; }
    case LVM_F64: memcpy(&x.of.f64, &v, 8); break;
    }
    return x;
}

static Value from_public(const lvm_value *x)
{
    Value v = 0;
    switch (x->type) {
    case LVM_I32: v = (uint32_t)x->of.i32; break;
    case LVM_I64: v = (uint64_t)x->of.i64; break;
    case LVM_F32: { uint32_t b; memcpy(&b, &x->of.f32, 4); v = b; break; }
    case LVM_F64: memcpy(&v, &x->of.f64, 8); break;
    }
    return v;
}

/* ---- Configurations and WASI worlds --------------------------------------------------- */

lvm_process_config lvm_process_config_default(void)
{
    return (lvm_process_config){ .can_spawn = true, .namespaces = LVM_NS_ALL,
                                 .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2 };
}

lvm_vm_config lvm_vm_config_default(void)
{
    return (lvm_vm_config){ .threads = 0, .reductions = 0, .defaults = lvm_process_config_default() };
}

static void world_free(WasiConfig *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->argc; i++)
        free((void *)w->argv[i]);
    for (int i = 0; i < w->nenv; i++)
        free((void *)w->env[i]);
    for (int i = 0; i < w->npreopens; i++) {
        free((void *)w->preopens[i].host_path);
        free((void *)w->preopens[i].guest_path);
    }
    free((void *)w->argv);
    free((void *)w->env);
    free((void *)w->preopens);
    free(w);
}

/* Copies of n strings; false if out of memory (what was copied is freed by world_free). */
static bool copy_strings(const char *const *src, int n, const char *const **dst, int *count)
{
    const char **v = calloc((size_t)n + 1, sizeof *v);
    *dst = v;
    *count = 0;
    if (!v)
        return false;
    for (int i = 0; i < n; i++, (*count)++)
        if (!(v[i] = strdup(src[i] ? src[i] : "")))
            return false;
    return true;
}

/* A deep copy of a configuration's WASI part: wasi/ copies again per process, but the
 * children of the process inherit this one and may be spawned at any time. */
static WasiConfig *world_new(const lvm_process_config *c)
{
    WasiConfig *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->stdin_fd = c->stdin_fd;
    w->stdout_fd = c->stdout_fd;
    w->stderr_fd = c->stderr_fd;
    bool ok = copy_strings(c->argv, c->argv && c->argc > 0 ? c->argc : 0, &w->argv, &w->argc) &&
              copy_strings(c->env, c->env && c->nenv > 0 ? c->nenv : 0, &w->env, &w->nenv);
    int n = c->preopens && c->npreopens > 0 ? c->npreopens : 0;
    WasiPreopen *p = ok ? calloc((size_t)n + 1, sizeof *p) : NULL;
    w->preopens = p;
    ok = p != NULL;
    for (int i = 0; ok && i < n; i++) {
        const lvm_preopen *d = &c->preopens[i];
        const char *host = d->host_path ? d->host_path : ".";
        p[i].host_path = strdup(host);
        p[i].guest_path = strdup(d->guest_path ? d->guest_path : host);
        w->npreopens++;           /* world_free frees what was copied, NULL included */
        ok = p[i].host_path && p[i].guest_path;
    }
    if (!ok) {
        world_free(w);
        return NULL;
    }
    return w;
}

/* ---- The host's mailbox ---------------------------------------------------------------- */

/* Called on the sender's thread (a worker, a timer, another host thread). */
static void host_notify(void *env)
{
    lvm_vm *vm = env;
    pthread_mutex_lock(&vm->host_lock);
    pthread_cond_broadcast(&vm->host_cond);
    pthread_mutex_unlock(&vm->host_lock);
    if (vm->threads == 1)
        sched_notify(vm->sched);   /* a host thread may sleep in lvm_receive's idle wait */
}

/* Take a matching message into *out; host_lock held. */
static bool take_message(lvm_vm *vm, const int64_t *tags, uint32_t ntags, lvm_message *out)
{
    if (sched_receive(vm->host, tags, ntags, 0) != RECV_OK)
        return false;
    size_t len;
    const uint8_t *bytes = sched_msg_bytes(vm->host, &len);
    out->tag = sched_msg_tag(vm->host);
    out->sender = sched_msg_sender(vm->host);
    out->len = len;
    out->bytes = malloc(len ? len : 1);
    if (out->bytes && len)
        memcpy(out->bytes, bytes, len);
    return true;
}

/* ---- The VM ------------------------------------------------------------------------------- */

lvm_vm *lvm_vm_new(const lvm_vm_config *cfg, lvm_error *err)
{
    lvm_vm_config def = lvm_vm_config_default();
    if (!cfg)
        cfg = &def;
    lvm_vm *vm = calloc(1, sizeof *vm);
    if (!vm) {
        set_error(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&vm->host_lock, NULL);
    pthread_cond_init(&vm->host_cond, NULL);
    pthread_mutex_init(&vm->lock, NULL);
    vm->threads = cfg->threads;
    vm->defaults = cfg->defaults;
    char msg[256] = "out of memory";
    if (!(vm->default_world = world_new(&cfg->defaults)))
        goto fail;
    vm->defaults.argv = vm->default_world->argv;   /* point into our copy */
    vm->defaults.env = vm->default_world->env;
    vm->defaults.preopens = NULL;                   /* the world has them; see spawn_config */
    if (vm->default_world->npreopens) {             /* a bad directory: an error now */
        WasiCtx *probe = wasi_new(vm->default_world, msg, sizeof msg);
        if (!probe)
            goto fail;
        wasi_free(probe);
    }
    SchedConfig scfg = { .threads = cfg->threads, .reductions = cfg->reductions, .seed = cfg->seed };
    if (!(vm->rt = runtime_new(&scfg, vm->default_world, msg, sizeof msg)))
        goto fail;
    vm->sched = runtime_sched(vm->rt);
    if (!(vm->host = sched_host_process_new(vm->sched, host_notify, vm)))
        goto fail;
    sched_start(vm->sched);   /* with threads: processes run as soon as they are spawned */
    return vm;
fail:
    set_error(err, "%s", msg);
    lvm_vm_free(vm);
    return NULL;
}

void lvm_vm_free(lvm_vm *vm)
{
    if (!vm)
        return;
    runtime_free(vm->rt);   /* first: it stops every process, the host's mailbox too */
    world_free(vm->default_world);
    for (size_t i = 0; i < vm->nworlds; i++)
        world_free(vm->worlds[i]);
    free(vm->worlds);
    free(vm->spawned);
    pthread_mutex_destroy(&vm->host_lock);
    pthread_cond_destroy(&vm->host_cond);
    pthread_mutex_destroy(&vm->lock);
    free(vm);
}

void lvm_vm_stats(lvm_vm *vm, lvm_stats *out)
{
    SchedStats st;
    sched_stats(vm->sched, &st);
    *out = (lvm_stats){ .alive = st.alive, .spawned = st.spawned, .exited = st.exited,
                        .reductions = st.reductions, .messages = st.messages };
}

/* ---- Modules --------------------------------------------------------------------------------- */

lvm_module *lvm_module_load(const void *bytes, size_t len, lvm_error *err)
{
    lvm_module *mod = malloc(sizeof *mod);
    if (!mod) {
        set_error(err, "out of memory");
        return NULL;
    }
    LoadError le;
    if (!(mod->m = loader_load(bytes, len, &le))) {
        char msg[256];
        set_error(err, "%s", loader_error_format(&le, msg, sizeof msg));
        free(mod);
        return NULL;
    }
    return mod;
}

lvm_module *lvm_module_load_file(const char *path, lvm_error *err)
{
    char why[128];
    size_t n;
    uint8_t *buf = loader_read_file(path, &n, why, sizeof why);
    if (!buf) {
        set_error(err, "%s: %s", path, why);
        return NULL;
    }
    lvm_error e;
    lvm_module *mod = lvm_module_load(buf, n, &e);
    free(buf);
    if (!mod)
        set_error(err, "%s: %s", path, e.message);
    return mod;
}

void lvm_module_free(lvm_module *mod)
{
    if (!mod)
        return;
    loader_release(mod->m);
    free(mod);
}

/* ---- Host functions: C callbacks ------------------------------------------------------------- */

static HostStatus callback_call(Exec *exec, void *env, Value *args)
{
    Callback *cb = env;
    Process *p = sched_self(exec);
    sched_host_call_begin(p);
    lvm_value in[HOST_SIG_MAX], out[HOST_SIG_MAX];
    for (uint32_t i = 0; i < cb->sig.nparams; i++)
        in[i] = to_public((lvm_type)cb->sig.params[i], args[i]);
    for (uint32_t i = 0; i < cb->sig.nresults; i++)
        out[i] = to_public((lvm_type)cb->sig.results[i], 0);
    lvm_call call = { exec, p, cb->vm, cb->name, false };
    switch (cb->fn(&call, cb->env, in, out)) {
    case LVM_OK:
        for (uint32_t i = 0; i < cb->sig.nresults; i++) {
            out[i].type = (lvm_type)cb->sig.results[i];   /* the signature's, whatever was set */
            args[i] = from_public(&out[i]);
        }
        return HOST_OK;
    case LVM_BLOCK:
        sched_host_call_blocked(p);
        return HOST_BLOCK;
    default:
        if (!call.trap_set) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s: host function trapped", cb->name);
            vm_exec_set_host_trap(exec, msg);
        }
        return HOST_TRAP;
    }
}

_Static_assert((int)HT_I32 == (int)LVM_I32 && (int)HT_I64 == (int)LVM_I64 &&
               (int)HT_F32 == (int)LVM_F32 && (int)HT_F64 == (int)LVM_F64,
               "HostType and lvm_type agree on the four number types");

bool lvm_register_fn(lvm_vm *vm, const char *module, const char *name, const char *signature,
                     lvm_host_fn fn, void *env, lvm_error *err)
{
    char msg[256];
    Callback *cb = calloc(1, sizeof *cb);
    if (!cb || !fn || !module || !name) {
        set_error(err, cb ? "lvm_register_fn: no function or no name" : "out of memory");
        free(cb);
        return false;
    }
    if (!host_sig_parse(signature ? signature : "", false, &cb->sig, msg, sizeof msg)) {
        set_error(err, "%s.%s: %s", module, name, msg);
        free(cb);
        return false;
    }
    *cb = (Callback){ vm, fn, env, cb->sig, "" };
    snprintf(cb->name, sizeof cb->name, "%s.%s", module, name);
    Function *f = host_sig_function(&cb->sig, callback_call, cb, cb->name);
    if (!host_registry_add(runtime_registry(vm->rt), module, name, f, free, cb, msg, sizeof msg)) {
        set_error(err, "%s", msg);
        return false;
    }
    return true;
}

/* ---- Host functions: native, through libffi ------------------------------------------------------ */

bool lvm_register_native(lvm_vm *vm, const char *module, const char *name, const char *signature,
                         lvm_native_fn fn, lvm_error *err)
{
    char msg[256], qualified[128];
    HostSig sig;
    if (!fn || !module || !name) {
        set_error(err, "lvm_register_native: no function or no name");
        return false;
    }
    snprintf(qualified, sizeof qualified, "%s.%s", module, name);
    if (!host_sig_parse(signature ? signature : "", true, &sig, msg, sizeof msg)) {
        set_error(err, "%s: %s", qualified, msg);
        return false;
    }
    void *env;
    Function *f = host_native_new((NativeFn)fn, qualified, &sig, &env, msg, sizeof msg);
    if (!f) {
        set_error(err, "%s", msg);
        return false;
    }
    if (!host_registry_add(runtime_registry(vm->rt), module, name, f, host_native_free_env, env,
                           msg, sizeof msg)) {
        set_error(err, "%s", msg);
        return false;
    }
    return true;
}

bool lvm_register_native_lib(lvm_vm *vm, const char *library, const char *symbol,
                             const char *module, const char *name, const char *signature,
                             lvm_error *err)
{
    char msg[256];
    NativeFn fn = host_native_lookup(library, symbol, msg, sizeof msg);
    if (!fn) {
        set_error(err, "%s", msg);
        return false;
    }
    return lvm_register_native(vm, module, name, signature, (lvm_native_fn)fn, err);
}

/* ---- What a callback may do ---------------------------------------------------------------------- */

uint64_t lvm_call_pid(const lvm_call *call)
{
    return sched_pid(call->proc);
}

lvm_vm *lvm_call_vm(const lvm_call *call)
{
    return call->vm;
}

uint64_t lvm_call_memory_size(const lvm_call *call)
{
    MemoryInst *m = vm_exec_caller_memory(call->exec);
    return m ? vm_memory_size(m) : 0;
}

void *lvm_call_memory(lvm_call *call, uint32_t ptr, uint32_t len)
{
    MemoryInst *m = vm_exec_caller_memory(call->exec);
    /* 64-bit sum: ptr + len cannot wrap around to look small (DESIGN decision 9). */
    if (!m || (uint64_t)ptr + len > vm_memory_size(m))
        return NULL;
    return vm_memory_data(m) + ptr;
}

bool lvm_call_read(lvm_call *call, uint32_t ptr, void *dst, uint32_t len)
{
    void *src = lvm_call_memory(call, ptr, len);
    if (src && len)
        memcpy(dst, src, len);
    return src != NULL;
}

bool lvm_call_write(lvm_call *call, uint32_t ptr, const void *src, uint32_t len)
{
    void *dst = lvm_call_memory(call, ptr, len);
    if (dst && len)
        memcpy(dst, src, len);
    return dst != NULL;
}

lvm_status lvm_call_trap(lvm_call *call, const char *fmt, ...)
{
    char text[120], msg[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(msg, sizeof msg, "%s: %s", call->name, text);
    vm_exec_set_host_trap(call->exec, msg);
    call->trap_set = true;
    return LVM_TRAP;
}

bool lvm_wake(lvm_vm *vm, uint64_t pid)
{
    return sched_host_wake(vm->sched, pid);
}

/* ---- Processes ------------------------------------------------------------------------------------- */

/* The scheduler's configuration for a spawn, and the WASI world it needs kept. */
static bool spawn_config(lvm_vm *vm, const lvm_process_config *c, ProcessConfig *out, char *err,
                         size_t errlen)
{
    *out = (ProcessConfig){ .max_memory_pages = c->max_memory_pages, .fuel = c->fuel,
                            .can_spawn = c->can_spawn, .namespaces = c->namespaces & LVM_NS_ALL };
    if (c == &vm->defaults) {
        out->wasi_config = vm->default_world;
        return true;
    }
    WasiConfig *w = world_new(c);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    if (LVM_MINIMAL && w->npreopens) {
        snprintf(err, errlen, "WASI directories: this minimal build has no WASI filesystem");
        world_free(w);
        return false;
    }
    if (w->npreopens) {
        /* Open the directories once now: a bad one is the spawn's error, not a trap at the
         * guest's first WASI call. */
        WasiCtx *probe = wasi_new(w, err, errlen);
        if (!probe) {
            world_free(w);
            return false;
        }
        wasi_free(probe);
    }
    pthread_mutex_lock(&vm->lock);
    bool room = vm->nworlds < vm->capworlds;
    if (!room) {
        size_t cap = vm->capworlds ? vm->capworlds * 2 : 8;
        WasiConfig **v = realloc(vm->worlds, cap * sizeof *v);
        if ((room = v != NULL)) {
            vm->worlds = v;
            vm->capworlds = cap;
        }
    }
    if (room)
        vm->worlds[vm->nworlds++] = w;
    pthread_mutex_unlock(&vm->lock);
    if (!room) {
        world_free(w);
        snprintf(err, errlen, "out of memory");
        return false;
    }
    out->wasi_config = w;
    return true;
}

/* Check the arguments against the export's type and convert them. */
static bool spawn_args(const Module *m, const char *name, const lvm_value *args, uint32_t nargs,
                       Value *vals, Spawned *rec, char *err, size_t errlen)
{
    const Export *e = loader_find_export(m, name);
    if (!e || e->kind != EXTERN_FUNC) {
        snprintf(err, errlen, "no exported function '%s'", name);
        return false;
    }
    const FuncType *t = &m->types[m->funcs[e->index].typeidx];
    if (nargs != t->nparams || t->nparams > 64) {
        snprintf(err, errlen, "%s takes %u argument%s, %u given", name, t->nparams,
                 t->nparams == 1 ? "" : "s", nargs);
        return false;
    }
    for (uint32_t i = 0; i < nargs; i++) {
        if (wasm_type(args[i].type) != functype_params(t)[i]) {
            snprintf(err, errlen, "argument %u of %s has the wrong type", i + 1, name);
            return false;
        }
        vals[i] = from_public(&args[i]);
    }
    rec->nresults = t->nresults < 16 ? t->nresults : 16;
    for (uint32_t i = 0; i < rec->nresults; i++)
        rec->types[i] = public_type(functype_results(t)[i]);
    return true;
}

uint64_t lvm_spawn(lvm_vm *vm, const lvm_module *mod, const char *export_name,
                   const lvm_value *args, uint32_t nargs, const lvm_process_config *cfg,
                   lvm_error *err)
{
    char msg[256];
    Value vals[64];
    Spawned rec = { 0 };
    ProcessConfig pc;
    if (!mod || !export_name) {
        set_error(err, "lvm_spawn: no module or no function name");
        return 0;
    }
    if (!spawn_args(mod->m, export_name, args, nargs, vals, &rec, msg, sizeof msg) ||
        !spawn_config(vm, cfg ? cfg : &vm->defaults, &pc, msg, sizeof msg)) {
        set_error(err, "%s", msg);
        return 0;
    }
    /* Recorded before the spawn: with threads it may end before sched_spawn returns. */
    pthread_mutex_lock(&vm->lock);
    if (vm->nspawned == vm->capspawned) {
        size_t cap = vm->capspawned ? vm->capspawned * 2 : 16;
        Spawned *v = realloc(vm->spawned, cap * sizeof *v);
        if (v) {
            vm->spawned = v;
            vm->capspawned = cap;
        }
    }
    size_t slot = vm->nspawned < vm->capspawned ? vm->nspawned++ : SIZE_MAX;
    pthread_mutex_unlock(&vm->lock);
    if (slot == SIZE_MAX) {
        set_error(err, "out of memory");
        return 0;
    }
    SpawnRequest req = { .module = mod->m, .export_name = export_name, .args = vals,
                         .nargs = nargs, .config = &pc };
    uint64_t pid = sched_spawn(vm->sched, &req, NULL, msg, sizeof msg);
    rec.pid = pid;
    pthread_mutex_lock(&vm->lock);
    vm->spawned[slot] = rec;      /* pid 0 (failed): never matched, reused below */
    if (!pid && slot == vm->nspawned - 1)
        vm->nspawned--;
    pthread_mutex_unlock(&vm->lock);
    if (!pid)
        set_error(err, "%s", msg);
    return pid;
}

/* The result types recorded for pid, forgotten now that it is collected. */
static Spawned take_spawned(lvm_vm *vm, uint64_t pid)
{
    Spawned rec = { 0 };
    pthread_mutex_lock(&vm->lock);
    for (size_t i = 0; i < vm->nspawned; i++)
        if (vm->spawned[i].pid == pid) {
            rec = vm->spawned[i];
            vm->spawned[i] = vm->spawned[--vm->nspawned];
            break;
        }
    pthread_mutex_unlock(&vm->lock);
    return rec;
}

static void format_backtrace(const Trap *t, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < t->nframes && at < len; i++) {
        const TraceFrame *f = &t->frames[i];
        char func[80];
        if (f->func[0])
            snprintf(func, sizeof func, "%s", f->func);
        else
            snprintf(func, sizeof func, "<func %u>", f->funcidx);
        at += (size_t)snprintf(buf + at, len - at, "%u: 0x%06x - %s!%s\n", i, f->offset,
                               f->module[0] ? f->module : "<module>", func);
    }
}

static void fill_exit(lvm_vm *vm, uint64_t pid, const ExitInfo *ei, lvm_exit *out)
{
    memset(out, 0, sizeof *out);
    out->reason = ei->reason;
    Spawned rec = take_spawned(vm, pid);
    if (ei->reason < 0) {
        snprintf(out->message, sizeof out->message, "deadlock: it waits for something that can never come");
        return;
    }
    char buf[64];
    if (ei->reason >= EXIT_TRAP_BASE && ei->reason < EXIT_USER_BASE) {
        snprintf(out->message, sizeof out->message, "trap: %s", ei->trap.message);
        format_backtrace(&ei->trap, out->backtrace, sizeof out->backtrace);
    } else {
        snprintf(out->message, sizeof out->message, "%s", sched_reason_text(ei->reason, buf, sizeof buf));
    }
    if (ei->trap.kind == TRAP_EXIT)
        out->exit_code = ei->trap.exit_code;
    else if (ei->reason >= EXIT_USER_BASE)
        out->exit_code = ei->reason - EXIT_USER_BASE;
    if (ei->reason == EXIT_NORMAL && ei->trap.kind != TRAP_EXIT) {
        out->nresults = ei->nresults < rec.nresults ? ei->nresults : rec.nresults;
        for (uint32_t i = 0; i < out->nresults; i++)
            out->results[i] = to_public(rec.types[i], ei->results[i]);
    }
}

bool lvm_wait(lvm_vm *vm, uint64_t pid, lvm_exit *out)
{
    return lvm_wait_timeout(vm, pid, -1, out);
}

bool lvm_wait_timeout(lvm_vm *vm, uint64_t pid, int64_t timeout_ms, lvm_exit *out)
{
    uint64_t deadline = UINT64_MAX;
    if (timeout_ms >= 0 && (uint64_t)timeout_ms < (UINT64_MAX - sched_now_ns()) / 1000000u)
        deadline = sched_now_ns() + (uint64_t)timeout_ms * 1000000u;
    ExitInfo ei;
    if (!sched_wait_until(vm->sched, pid, deadline, &ei)) {
        memset(out, 0, sizeof *out);      /* still running: its spawn record stays */
        out->reason = LVM_EXIT_TIMEOUT;
        snprintf(out->message, sizeof out->message, "still running after %lld ms",
                 (long long)timeout_ms);
        return false;
    }
    fill_exit(vm, pid, &ei, out);
    return ei.reason >= 0;
}

bool lvm_poll(lvm_vm *vm, uint64_t pid, lvm_exit *out)
{
    ExitInfo ei;
    if (!sched_poll_exit(vm->sched, pid, &ei))
        return false;
    fill_exit(vm, pid, &ei, out);
    return true;
}

bool lvm_kill(lvm_vm *vm, uint64_t pid, int32_t reason)
{
    return sched_kill(vm->sched, vm->host, pid, reason);
}

/* ---- Messages ------------------------------------------------------------------------------------------ */

uint64_t lvm_host_pid(lvm_vm *vm)
{
    return sched_pid(vm->host);
}

bool lvm_register_name(lvm_vm *vm, const char *name, uint64_t pid)
{
    return sched_register(vm->sched, name, strlen(name), pid);
}

uint64_t lvm_whereis(lvm_vm *vm, const char *name)
{
    return sched_whereis(vm->sched, name, strlen(name));
}

bool lvm_send(lvm_vm *vm, uint64_t pid, int64_t tag, const void *bytes, size_t len)
{
    if (len > HOST_MAX_MESSAGE)
        return false;   /* the limit guests have too */
    sched_send(vm->sched, vm->host, pid, tag, bytes, len);
    return true;
}

uint64_t lvm_monitor(lvm_vm *vm, uint64_t pid)
{
    return sched_monitor(vm->host, pid);
}

void lvm_message_free(lvm_message *msg)
{
    if (!msg)
        return;
    free(msg->bytes);
    msg->bytes = NULL;
    msg->len = 0;
}

static uint64_t deadline_after(int64_t timeout_ms)
{
    return timeout_ms < 0 ? UINT64_MAX : sched_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* One thread: the processes run here, between looks at the mailbox. */
static lvm_recv receive_stepping(lvm_vm *vm, const int64_t *tags, uint32_t ntags,
                                 int64_t timeout_ms, lvm_message *out)
{
    uint64_t deadline = deadline_after(timeout_ms);
    for (;;) {
        pthread_mutex_lock(&vm->host_lock);
        bool got = take_message(vm, tags, ntags, out);
        pthread_mutex_unlock(&vm->host_lock);
        if (got)
            return LVM_RECV_OK;
        if (timeout_ms == 0 || sched_now_ns() >= deadline)
            return LVM_RECV_TIMEOUT;
        /* host_lock is not held here: a guest's send calls host_notify on this thread. */
        SchedStep st = sched_step(vm->sched, SCHED_DEFAULT_REDUCTIONS * 16);
        if (st == STEP_RUNNABLE)
            continue;
        pthread_mutex_lock(&vm->host_lock);
        got = take_message(vm, tags, ntags, out);
        pthread_mutex_unlock(&vm->host_lock);
        if (got)
            return LVM_RECV_OK;
        if (st == STEP_IDLE && timeout_ms < 0)
            return LVM_RECV_IDLE;
        sched_idle_sleep(vm->sched, deadline);
    }
}

lvm_recv lvm_receive(lvm_vm *vm, const int64_t *tags, uint32_t ntags, int64_t timeout_ms,
                     lvm_message *out)
{
    memset(out, 0, sizeof *out);
    if (vm->threads == 1)
        return receive_stepping(vm, tags, ntags, timeout_ms, out);
    uint64_t deadline = deadline_after(timeout_ms);
    lvm_recv r = LVM_RECV_TIMEOUT;
    pthread_mutex_lock(&vm->host_lock);
    for (;;) {
        if (take_message(vm, tags, ntags, out)) {
            r = LVM_RECV_OK;
            break;
        }
        if (timeout_ms == 0 || sched_now_ns() >= deadline)
            break;
        if (deadline == UINT64_MAX) {
            pthread_cond_wait(&vm->host_cond, &vm->host_lock);
        } else {
            /* host_cond runs on CLOCK_REALTIME; the deadline is monotonic: wait by steps */
            uint64_t left = deadline - sched_now_ns();
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t ns = (uint64_t)ts.tv_nsec + (left < 100000000u ? left : 100000000u);
            ts.tv_sec += (time_t)(ns / 1000000000u);
            ts.tv_nsec = (long)(ns % 1000000000u);
            pthread_cond_timedwait(&vm->host_cond, &vm->host_lock, &ts);
        }
    }
    pthread_mutex_unlock(&vm->host_lock);
    return r;
}

/* ---- Stepping ------------------------------------------------------------------------------------------- */

lvm_step lvm_vm_step(lvm_vm *vm, int64_t max_reductions)
{
    switch (sched_step(vm->sched, max_reductions > 0 ? max_reductions : 1)) {
    case STEP_RUNNABLE: return LVM_STEP_RUNNABLE;
    case STEP_IDLE: return LVM_STEP_IDLE;
    default: return LVM_STEP_WAITING;
    }
}

int64_t lvm_vm_next_timer_ms(lvm_vm *vm)
{
    int64_t ns = sched_next_timer_ns(vm->sched);
    return ns < 0 ? -1 : (ns + 999999) / 1000000;
}
