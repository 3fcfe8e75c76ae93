/*
 * actor.c — the host functions of module "lvm" (docs/abi.md has the contract of each).
 *
 * Every pointer and length a guest passes is checked against the caller's own memory
 * (guest_bytes) before anything is read or written; a bad one traps the caller with a
 * message naming the function, and only the caller. Functions that wait (receive, sleep,
 * yield) return HOST_BLOCK without side effects the guest can see, and run again from the
 * start when the process is woken (DESIGN decision 7).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/loader.h"
#include "hostfns.h"

struct ActorHost {
    Sched *sched;
    Function **funcs;             /* one per entry of `table`, env = this */
    pthread_mutex_t modules_lock; /* modules loaded at run time: handle = index + 1 */
    Module **modules;
    size_t nmodules, capmodules;
};

/* Per-process state: the configuration its children get (config_set lowers it). */
typedef struct ActorLocal {
    ProcessConfig child;
    char last_error[200];         /* why the last spawn or module_load failed (last_error) */
} ActorLocal;

static ActorLocal *local_of(Process *p)
{
    ActorLocal *a = sched_local(p, LOCAL_ACTOR);
    if (!a && (a = calloc(1, sizeof *a))) {
        a->child = *sched_config(p);
        sched_set_local(p, LOCAL_ACTOR, a, free);
    }
    return a;   /* NULL only when out of memory: callers trap */
}

/* ---- Guest memory ------------------------------------------------------------------------ */

static HostStatus fail(Exec *e, const char *fn, const char *what)
{
    char msg[96];
    snprintf(msg, sizeof msg, "lvm.%s: %s", fn, what);
    vm_exec_set_host_trap(e, msg);
    return HOST_TRAP;
}

/* The guest's bytes [ptr, ptr+len), or NULL if any of them is outside its memory. */
static uint8_t *guest_bytes(Exec *e, uint32_t ptr, uint64_t len)
{
    MemoryInst *m = vm_exec_caller_memory(e);
    if (!m || (uint64_t)ptr + len > vm_memory_size(m))
        return NULL;
    vm_exec_note_hot(e, vm_memory_data(m) + ptr);
    return vm_memory_data(m) + ptr;
}

#define GUEST(var, fn, ptr, len)                                               \
    uint8_t *var = guest_bytes(e, (uint32_t)(ptr), (uint64_t)(len));           \
    if (!var && (len) != 0)                                                    \
        return fail(e, fn, "pointer and length outside the guest's memory")

static int64_t read_i64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return (int64_t)v;
}

static void write_i64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* ---- Spawning ----------------------------------------------------------------------------- */

/* args: nargs little-endian i64 in guest memory, one per parameter of the function. */
static HostStatus spawn_common(Exec *e, ActorHost *h, Module *m, const char *name, uint32_t index,
                               Value *a, uint32_t argp, uint32_t nargs, uint32_t flags, uint32_t refp)
{
    Process *self = sched_self(e);
    if (nargs > 1000)
        return fail(e, "spawn", "too many arguments");
    GUEST(args, "spawn", argp, (uint64_t)nargs * 8);
    GUEST(refout, "spawn", refp, refp ? 8 : 0);
    Value vals[1000];
    for (uint32_t i = 0; i < nargs; i++)
        vals[i] = (Value)read_i64(args + 8 * i);
    ActorLocal *local = local_of(self);
    if (!local)
        return fail(e, "spawn", "out of memory");
    SpawnRequest req = { .module = m, .export_name = name, .table_index = index, .args = vals,
                         .nargs = nargs, .config = &local->child, .parent = self,
                         .flags = flags & (SPAWN_LINK | SPAWN_MONITOR) };
    uint64_t ref = 0;
    /* sched_spawn writes a message only if the spawn fails, so "" stays when it succeeds.
     * Straight into last_error: zeroing a copy and formatting it over cost more than the
     * rest of this function, at every spawn. */
    local->last_error[0] = 0;
    uint64_t pid = sched_spawn(h->sched, &req, &ref, local->last_error, sizeof local->last_error);
    if (refout && pid)
        write_i64(refout, ref);
    a[0] = pid;   /* 0: the spawn failed (docs/abi.md) */
    return HOST_OK;
}

static HostStatus h_spawn(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    Process *self = sched_self(e);
    Module *m = (Module *)vm_instance_module(sched_instance(self));
    return spawn_common(e, h, m, NULL, (uint32_t)a[0], a, (uint32_t)a[1], (uint32_t)a[2],
                        (uint32_t)a[3], (uint32_t)a[4]);
}

static HostStatus spawn_named(Exec *e, ActorHost *h, Module *m, Value *a, int first)
{
    uint32_t len = (uint32_t)a[first + 1];
    if (len > 255)
        return fail(e, "spawn", "function name longer than 255 bytes");
    GUEST(name, "spawn", a[first], len);
    char buf[256];
    memcpy(buf, name, len);
    buf[len] = 0;
    return spawn_common(e, h, m, buf, 0, a, (uint32_t)a[first + 2], (uint32_t)a[first + 3],
                        (uint32_t)a[first + 4], (uint32_t)a[first + 5]);
}

static HostStatus h_spawn_export(Exec *e, void *env, Value *a)
{
    Process *self = sched_self(e);
    return spawn_named(e, env, (Module *)vm_instance_module(sched_instance(self)), a, 0);
}

static HostStatus h_module_load(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    GUEST(bytes, "module_load", a[0], (uint32_t)a[1]);
    LoadError err;
    Module *m = loader_load(bytes, (uint32_t)a[1], &err);
    a[0] = 0;
    ActorLocal *local = local_of(sched_self(e));
    if (!m) {
        if (local)
            loader_error_format(&err, local->last_error, sizeof local->last_error);
        return HOST_OK;
    }
    if (local)
        local->last_error[0] = 0;
    pthread_mutex_lock(&h->modules_lock);
    for (size_t i = 0; i < h->nmodules; i++)
        if (h->modules[i] == m) {   /* the same bytes (loader's cache): the same handle */
            loader_release(m);
            a[0] = i + 1;
            pthread_mutex_unlock(&h->modules_lock);
            return HOST_OK;
        }
    if (h->nmodules == h->capmodules) {
        size_t c = h->capmodules ? h->capmodules * 2 : 8;
        Module **v = realloc(h->modules, c * sizeof *v);
        if (v) {
            h->modules = v;
            h->capmodules = c;
        }
    }
    if (h->nmodules < h->capmodules) {
        h->modules[h->nmodules++] = m;
        a[0] = h->nmodules;
    } else {
        loader_release(m);
    }
    pthread_mutex_unlock(&h->modules_lock);
    return HOST_OK;
}

static HostStatus h_spawn_module(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    uint64_t handle = a[0];
    Module *m = NULL;
    pthread_mutex_lock(&h->modules_lock);
    if (handle >= 1 && handle <= h->nmodules)
        m = h->modules[handle - 1];
    pthread_mutex_unlock(&h->modules_lock);
    if (!m) {
        a[0] = 0;
        return HOST_OK;
    }
    return spawn_named(e, h, m, a, 1);
}

/* last_error(ptr, len): the message of the last failed spawn or module_load ("" if the
 * last one succeeded), cut to len bytes; returns its full length. */
static HostStatus h_last_error(Exec *e, void *env, Value *a)
{
    ActorLocal *local = local_of(sched_self(e));
    const char *msg = local ? local->last_error : "out of memory";
    uint32_t n = (uint32_t)strlen(msg), len = (uint32_t)a[1];
    GUEST(dst, "last_error", a[0], n < len ? n : len);
    if (dst)
        memcpy(dst, msg, n < len ? n : len);
    a[0] = n;
    return HOST_OK;
}

/* ---- Identity, exit, kill -------------------------------------------------------------------- */

static HostStatus h_self(Exec *e, void *env, Value *a)
{
    a[0] = sched_pid(sched_self(e));
    return HOST_OK;
}

static HostStatus h_exit(Exec *e, void *env, Value *a)
{
    sched_set_exit_reason(sched_self(e), (int32_t)a[0]);
    vm_exec_set_exit(e, (int32_t)a[0]);
    return HOST_TRAP;
}

static HostStatus h_kill(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    Process *self = sched_self(e);
    a[0] = sched_kill(h->sched, self, a[0], (int32_t)a[1]) ? 0 : (Value)(uint32_t)-1;
    /* A signal to itself that kills it takes effect now, not at the end of the slice. */
    int32_t pending = sched_pending_kill(self);
    if (pending >= 0) {
        sched_set_exit_reason(self, pending);
        vm_exec_set_exit(e, pending);
        return HOST_TRAP;
    }
    return HOST_OK;
}

/* ---- Messages ---------------------------------------------------------------------------------- */

static HostStatus h_send(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    uint32_t len = (uint32_t)a[3];
    if (len > HOST_MAX_MESSAGE) {
        a[0] = (Value)(uint32_t)-2;
        return HOST_OK;
    }
    GUEST(bytes, "send", a[2], len);
    sched_send(h->sched, sched_self(e), a[0], (int64_t)a[1], bytes, len);
    a[0] = 0;
    return HOST_OK;
}

static HostStatus h_receive(Exec *e, void *env, Value *a)
{
    uint32_t ntags = (uint32_t)a[1];
    if (ntags > 1024)
        return fail(e, "receive", "more than 1024 tags");
    GUEST(tagbytes, "receive", a[0], (uint64_t)ntags * 8);
    int64_t tags[1024];
    for (uint32_t i = 0; i < ntags; i++)
        tags[i] = read_i64(tagbytes + 8 * i);
    switch (sched_receive(sched_self(e), tags, ntags, (int64_t)a[2])) {
    case RECV_OK: a[0] = 0; return HOST_OK;
    case RECV_TIMEOUT: a[0] = 1; return HOST_OK;
    default: return HOST_BLOCK;
    }
}

static HostStatus h_msg_tag(Exec *e, void *env, Value *a)
{
    a[0] = (Value)sched_msg_tag(sched_self(e));
    return HOST_OK;
}

static HostStatus h_msg_sender(Exec *e, void *env, Value *a)
{
    a[0] = sched_msg_sender(sched_self(e));
    return HOST_OK;
}

static HostStatus h_msg_size(Exec *e, void *env, Value *a)
{
    size_t len;
    sched_msg_bytes(sched_self(e), &len);
    a[0] = (uint32_t)len;
    return HOST_OK;
}

/* msg_read(ptr, len, offset): copy up to len bytes from `offset` of the message. */
static HostStatus h_msg_read(Exec *e, void *env, Value *a)
{
    size_t size;
    const uint8_t *bytes = sched_msg_bytes(sched_self(e), &size);
    uint32_t len = (uint32_t)a[1], off = (uint32_t)a[2];
    size_t n = off >= size ? 0 : size - off < len ? size - off : len;
    GUEST(dst, "msg_read", a[0], n);
    if (n)
        memcpy(dst, bytes + off, n);
    a[0] = (uint32_t)n;
    return HOST_OK;
}

/* ---- Links, monitors, names ------------------------------------------------------------------ */

static HostStatus h_link(Exec *e, void *env, Value *a)
{
    a[0] = (uint32_t)sched_link(sched_self(e), a[0]);
    return HOST_OK;
}

static HostStatus h_unlink(Exec *e, void *env, Value *a)
{
    a[0] = (uint32_t)sched_unlink(sched_self(e), a[0]);
    return HOST_OK;
}

static HostStatus h_trap_exit(Exec *e, void *env, Value *a)
{
    a[0] = sched_trap_exit(sched_self(e), (uint32_t)a[0] != 0);
    return HOST_OK;
}

static HostStatus h_monitor(Exec *e, void *env, Value *a)
{
    a[0] = sched_monitor(sched_self(e), a[0]);
    return HOST_OK;
}

static HostStatus h_demonitor(Exec *e, void *env, Value *a)
{
    a[0] = sched_demonitor(sched_self(e), a[0]) ? 1 : 0;
    return HOST_OK;
}

static HostStatus h_register(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    GUEST(name, "register", a[0], (uint32_t)a[1]);
    a[0] = sched_register(h->sched, (const char *)name, (uint32_t)a[1], a[2]) ? 0 : (uint32_t)-1;
    return HOST_OK;
}

static HostStatus h_unregister(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    GUEST(name, "unregister", a[0], (uint32_t)a[1]);
    a[0] = sched_unregister(h->sched, (const char *)name, (uint32_t)a[1]) ? 0 : (uint32_t)-1;
    return HOST_OK;
}

static HostStatus h_whereis(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    GUEST(name, "whereis", a[0], (uint32_t)a[1]);
    a[0] = sched_whereis(h->sched, (const char *)name, (uint32_t)a[1]);
    return HOST_OK;
}

/* ---- Time -------------------------------------------------------------------------------------- */

static HostStatus h_sleep(Exec *e, void *env, Value *a)
{
    return sched_sleep(sched_self(e), (int64_t)a[0]) == RECV_BLOCK ? HOST_BLOCK : HOST_OK;
}

static HostStatus h_yield(Exec *e, void *env, Value *a)
{
    return sched_yield_now(sched_self(e)) == RECV_BLOCK ? HOST_BLOCK : HOST_OK;
}

static HostStatus h_send_after(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    uint32_t len = (uint32_t)a[3];
    if (len > HOST_MAX_MESSAGE) {
        a[0] = 0;
        return HOST_OK;
    }
    GUEST(bytes, "send_after", a[2], len);
    a[0] = sched_send_after(h->sched, sched_self(e), a[0], (int64_t)a[1], bytes, len, (int64_t)a[4]);
    return HOST_OK;
}

static HostStatus h_cancel_timer(Exec *e, void *env, Value *a)
{
    ActorHost *h = env;
    a[0] = sched_cancel_timer(h->sched, a[0]) ? 1 : 0;
    return HOST_OK;
}

/* ---- Configuration for children: may only be lowered --------------------------------------------- */

enum { CFG_MAX_MEMORY_PAGES = 1, CFG_FUEL = 2, CFG_CAN_SPAWN = 3, CFG_NAMESPACES = 4 };

static uint64_t lower(uint64_t current, uint64_t wanted)
{
    /* 0 means "no limit" for memory and fuel: anything lowers it. */
    return current == 0 ? wanted : wanted == 0 || wanted > current ? current : wanted;
}

static HostStatus h_config_set(Exec *e, void *env, Value *a)
{
    ActorLocal *local = local_of(sched_self(e));
    if (!local)
        return fail(e, "config_set", "out of memory");
    ProcessConfig *c = &local->child;
    uint64_t v = a[1];
    switch ((uint32_t)a[0]) {
    case CFG_MAX_MEMORY_PAGES: c->max_memory_pages = (uint32_t)lower(c->max_memory_pages, v > 65536 ? 65536 : v); break;
    case CFG_FUEL: c->fuel = lower(c->fuel, v); break;
    case CFG_CAN_SPAWN: c->can_spawn = c->can_spawn && v != 0; break;
    case CFG_NAMESPACES: c->namespaces &= (uint32_t)v; break;
    default: a[0] = (uint32_t)-1; return HOST_OK;
    }
    a[0] = 0;
    return HOST_OK;
}

static HostStatus h_config_get(Exec *e, void *env, Value *a)
{
    ActorLocal *local = local_of(sched_self(e));
    if (!local)
        return fail(e, "config_get", "out of memory");
    const ProcessConfig *c = &local->child;
    switch ((uint32_t)a[0]) {
    case CFG_MAX_MEMORY_PAGES: a[0] = c->max_memory_pages; break;
    case CFG_FUEL: a[0] = c->fuel; break;
    case CFG_CAN_SPAWN: a[0] = c->can_spawn; break;
    case CFG_NAMESPACES: a[0] = c->namespaces; break;
    default: a[0] = (Value)-1; break;
    }
    return HOST_OK;
}

/* ---- The table: name, function, signature ("params:results", i = i32, I = i64) -------------- */

static const struct {
    const char *name;
    HostFn fn;
    const char *sig;
} table[] = {
    { "self", h_self, ":I" },
    { "spawn", h_spawn, "iiiii:I" },
    { "spawn_export", h_spawn_export, "iiiiii:I" },
    { "module_load", h_module_load, "ii:I" },
    { "spawn_module", h_spawn_module, "Iiiiiii:I" },
    { "last_error", h_last_error, "ii:i" },
    { "exit", h_exit, "i:" },
    { "kill", h_kill, "Ii:i" },
    { "send", h_send, "IIii:i" },
    { "receive", h_receive, "iiI:i" },
    { "msg_tag", h_msg_tag, ":I" },
    { "msg_sender", h_msg_sender, ":I" },
    { "msg_size", h_msg_size, ":i" },
    { "msg_read", h_msg_read, "iii:i" },
    { "link", h_link, "I:i" },
    { "unlink", h_unlink, "I:i" },
    { "trap_exit", h_trap_exit, "i:i" },
    { "monitor", h_monitor, "I:I" },
    { "demonitor", h_demonitor, "I:i" },
    { "register", h_register, "iiI:i" },
    { "unregister", h_unregister, "ii:i" },
    { "whereis", h_whereis, "ii:I" },
    { "sleep", h_sleep, "I:" },
    { "yield", h_yield, ":" },
    { "send_after", h_send_after, "IIiiI:I" },
    { "cancel_timer", h_cancel_timer, "I:i" },
    { "config_set", h_config_set, "iI:i" },
    { "config_get", h_config_get, "i:I" },
};

#define NFUNCS (sizeof table / sizeof table[0])

static uint32_t parse_types(const char *s, char stop, ValType *out)
{
    uint32_t n = 0;
    for (; *s && *s != stop; s++)
        out[n++] = *s == 'I' ? VT_I64 : VT_I32;
    return n;
}

ActorHost *host_actor_new(Sched *s)
{
    ActorHost *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->sched = s;
    pthread_mutex_init(&h->modules_lock, NULL);
    h->funcs = calloc(NFUNCS, sizeof *h->funcs);
    for (size_t i = 0; h->funcs && i < NFUNCS; i++) {
        ValType params[8], results[2];
        uint32_t np = parse_types(table[i].sig, ':', params);
        uint32_t nr = parse_types(strchr(table[i].sig, ':') + 1, 0, results);
        char name[64];
        snprintf(name, sizeof name, "lvm.%s", table[i].name);
        h->funcs[i] = vm_host_function_new(params, np, results, nr, table[i].fn, h, name);
        if (!h->funcs[i]) {
            host_actor_free(h);
            return NULL;
        }
    }
    return h->funcs ? h : (host_actor_free(h), NULL);
}

void host_actor_free(ActorHost *h)
{
    if (!h)
        return;
    for (size_t i = 0; h->funcs && i < NFUNCS; i++)
        vm_host_function_free(h->funcs[i]);
    free(h->funcs);
    for (size_t i = 0; i < h->nmodules; i++)
        loader_release(h->modules[i]);
    free(h->modules);
    pthread_mutex_destroy(&h->modules_lock);
    free(h);
}

bool host_actor_resolve(ActorHost *h, const Module *m, const Import *imp, Extern *out, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < NFUNCS; i++) {
        if (strcmp(imp->name.str, table[i].name) != 0)
            continue;
        out->kind = EXTERN_FUNC;
        out->u.func = h->funcs[i];
        if (imp->kind != EXTERN_FUNC || !vm_extern_matches(m, imp, out, NULL, 0)) {
            snprintf(err, errlen, "lvm.%s is imported with the wrong type (it is %s, see docs/abi.md)",
                     table[i].name, table[i].sig);
            return false;
        }
        return true;
    }
    snprintf(err, errlen, "unknown import lvm.%s (see docs/abi.md)", imp->name.str);
    return false;
}
