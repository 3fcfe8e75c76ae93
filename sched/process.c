/*
 * process.c — a process's life: the pid table, spawn, links, monitors, exit signals,
 * names, and the end (process_exit). Erlang's semantics (issue 4): links are
 * bidirectional; when a process ends with a reason other than normal, each linked process
 * dies with the same reason unless it traps exits, in which case it gets a TAG_EXIT
 * message instead; a monitor gets one TAG_DOWN message; EXIT_KILLED sent by sched_kill
 * cannot be trapped.
 *
 * Locking: a process's own `lock` guards its links, monitors, trap_exit and exiting flag.
 * Two processes' locks are taken together only in sched_link, in pid order.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/loader.h"
#include "sched_internal.h"

/* ---- The pid table ----------------------------------------------------------------------
 * Every send, link and monitor looks a pid up, so lookups take no lock: a process lives at
 * table[pid & table_mask], and the table never moves (it is sized at sched_new for twice
 * --max-processes, as calloc'd zero pages that are touched only as pids reach them). Pids
 * still count up from 1 and are never reused: a new process takes the next pid whose slot
 * is free (a CAS from NULL to RESERVED), skipping the few whose slot is still taken.
 *
 * A lookup may find a process that is ending on another thread and will be freed. So a
 * Process's memory is never given back while the Sched lives (the pool below), and the
 * lookup takes a reference only if the count is not already zero, then checks that the
 * process still has that pid and still sits in its slot; otherwise it lets go. BEAM finds
 * a process from its pid the same way, by an index in the pid. */

#define RESERVED ((Process *)1)   /* a slot whose pid is taken, its process not yet in */
#define TABLE_MIN 1024
#define TABLE_MAX ((uint64_t)1 << 26)   /* slots: 512 MiB of address space at most */

bool process_table_init(Sched *s)
{
    uint64_t want = s->cfg.max_processes * 2, cap = TABLE_MIN;
    while (cap < want && cap < TABLE_MAX)
        cap *= 2;
    if (s->cfg.max_processes > cap / 2)
        s->cfg.max_processes = cap / 2;   /* a free slot is always near */
    s->table = calloc(cap, sizeof *s->table);
    s->table_mask = cap - 1;
    pthread_mutex_init(&s->pool_lock, NULL);
    return s->table != NULL;
}

/* The next free pid, its slot reserved. */
static uint64_t table_reserve(Sched *s)
{
    for (;;) {
        uint64_t pid = atomic_fetch_add(&s->next_pid, 1);
        Process *none = NULL;
        if (atomic_compare_exchange_strong(&s->table[pid & s->table_mask], &none, RESERVED))
            return pid;
    }
}

void table_insert(Sched *s, Process *p)
{
    /* Release: whoever finds p in the table sees it initialised. */
    atomic_store_explicit(&s->table[p->pid & s->table_mask], p, memory_order_release);
}

void table_remove(Sched *s, uint64_t pid)
{
    atomic_store(&s->table[pid & s->table_mask], NULL);
}

/* Slots below this have been used: table walks stop there (a VM that ran one process
 * does not read a table of two million slots when it is freed). */
static uint64_t table_used(Sched *s)
{
    uint64_t n = atomic_load(&s->next_pid);
    return n > s->table_mask ? s->table_mask + 1 : n;
}

Process *process_lookup(Sched *s, uint64_t pid)
{
    _Atomic(Process *) *slot = &s->table[pid & s->table_mask];
    Process *p = atomic_load_explicit(slot, memory_order_acquire);
    if (!p || p == RESERVED)
        return NULL;
    /* A sender touches lines 0-3 (sched_internal.h): ask for the other three now, so
     * that their misses overlap the one refs is about to take. */
    __builtin_prefetch((const char *)p + 64, 1);
    __builtin_prefetch((const char *)p + 128, 1);
    __builtin_prefetch((const char *)p + 192, 1);
    int refs = atomic_load(&p->refs);
    do
        if (refs == 0)
            return NULL;          /* being freed: it has left the table already */
    while (!atomic_compare_exchange_weak(&p->refs, &refs, refs + 1));
    if (atomic_load(&p->pid) != pid || atomic_load(slot) != p) {
        process_release(p);       /* recycled for another pid, or it left meanwhile */
        return NULL;
    }
    return p;
}

/* Each process in the table, with a reference (NULL-terminated array; free it and
 * release each), for sched_snapshot. */
Process **process_all(Sched *s, size_t *n)
{
    size_t cap = 64, k = 0;
    Process **v = malloc(cap * sizeof *v);
    for (uint64_t i = 0, used = table_used(s); v && i < used; i++) {
        Process *p = atomic_load_explicit(&s->table[i], memory_order_acquire);
        if (!p || p == RESERVED || !(p = process_lookup(s, atomic_load(&p->pid))))
            continue;
        if (k + 1 == cap) {
            Process **nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) {
                process_release(p);
                break;
            }
            v = nv;
        }
        v[k++] = p;
    }
    if (v)
        v[k] = NULL;
    *n = k;
    return v;
}

/* ---- Process memory ---------------------------------------------------------------------
 * A pool, never given back to malloc while the Sched lives (see the pid table). A worker
 * keeps up to POOL_LOCAL freed Processes for its own next spawns, with no lock; past that
 * it hands half to the shared pool, and takes a batch from there when it has none. When
 * one worker spawns and another runs the children to their end, Processes thus flow back
 * in batches, not one lock (or one malloc arena lock) per spawn. Every Process has room
 * for an Exec after it (the host's mailbox process too, which does not use it). */

#define POOL_LOCAL 64

/* Where a spawned process's Exec lies in its allocation: after it, aligned for any type
 * (vm_exec_init asks no more). */
#define EXEC_OFFSET \
    ((sizeof(Process) + _Alignof(max_align_t) - 1) / _Alignof(max_align_t) * _Alignof(max_align_t))
#define PROCESS_ALLOC_SIZE (EXEC_OFFSET + vm_exec_size())

static Worker *own_worker(Sched *s)
{
    Worker *w = sched_current_worker();
    return w && w->sched == s ? w : NULL;
}

static void list_push(ProcList *l, Process *p)
{
    p->pool_next = l->head;
    l->head = p;
    l->n++;
}

static Process *list_pop(ProcList *l)
{
    Process *p = l->head;
    if (p) {
        l->head = p->pool_next;
        l->n--;
    }
    return p;
}

/* Move up to k processes from `from` to `to`. */
static void list_move(ProcList *from, ProcList *to, size_t k)
{
    Process *p;
    while (k-- > 0 && (p = list_pop(from)))
        list_push(to, p);
}

/* malloc's memory, 64-byte aligned by hand, its address kept in the word before. Not
 * aligned_alloc: glibc's places 1.7 KiB blocks 1792 bytes apart, and the ring ran 30%
 * slower with them than with blocks at any 16-byte offset from a line. */
static Process *process_memory_new(void)
{
    char *raw = malloc(PROCESS_ALLOC_SIZE + _Alignof(Process));
    if (!raw)
        return NULL;
    char *at = (char *)(((uintptr_t)raw + sizeof(void *) + _Alignof(Process) - 1) &
                        ~(uintptr_t)(_Alignof(Process) - 1));
    ((void **)at)[-1] = raw;
    return (Process *)at;
}

static void process_memory_free(Process *p)
{
    free(((void **)p)[-1]);
}

static Process *pool_get(Sched *s)
{
    Worker *w = own_worker(s);
    Process *p;
    if (w && !w->pool.n) {
        pthread_mutex_lock(&s->pool_lock);
        list_move(&s->pool, &w->pool, POOL_LOCAL / 2);
        pthread_mutex_unlock(&s->pool_lock);
    }
    if (w) {
        p = list_pop(&w->pool);
    } else {
        pthread_mutex_lock(&s->pool_lock);
        p = list_pop(&s->pool);
        pthread_mutex_unlock(&s->pool_lock);
    }
    if (!p && (p = process_memory_new())) {
        atomic_init(&p->pid, 0);
        atomic_init(&p->refs, 0);
    }
    return p;
}

static void pool_put(Sched *s, Process *p)
{
    Worker *w = own_worker(s);
    if (w && w->pool.n < POOL_LOCAL) {
        list_push(&w->pool, p);
        return;
    }
    pthread_mutex_lock(&s->pool_lock);
    list_push(&s->pool, p);
    if (w)                        /* keep half: the next spawns here take from it */
        list_move(&w->pool, &s->pool, w->pool.n - POOL_LOCAL / 2);
    pthread_mutex_unlock(&s->pool_lock);
}

static void free_list(ProcList *l)
{
    for (Process *p; (p = list_pop(l));)
        process_memory_free(p);
}

void process_table_free(Sched *s)
{
    /* Whatever is left is parked or queued: free it without running anything. */
    for (uint64_t i = 0, used = s->table ? table_used(s) : 0; i < used; i++) {
        Process *p = atomic_load(&s->table[i]);
        if (p && p != RESERVED)
            process_release(p);
    }
    free(s->table);
    for (unsigned i = 0; i < s->nworkers; i++)
        free_list(&s->workers[i].pool);
    free_list(&s->pool);
    pthread_mutex_destroy(&s->pool_lock);
}

/* ---- Freeing --------------------------------------------------------------------------- */

static void free_resources(Process *p)
{
    io_end_wait(p);
    free(p->io_fds);
    p->io_fds = NULL;
    p->capio_fds = 0;
    for (int i = 0; i < LOCAL_COUNT; i++)
        if (p->local[i] && p->local_free[i]) {
            p->local_free[i](p->local[i]);
            p->local[i] = NULL;
        }
    vm_instance_free(p->inst);
    p->inst = NULL;
    p->module = NULL;             /* (its instance held the reference) */
    if (p->exec)
        vm_exec_fini(p->exec);    /* (its memory is p's: freed with it) */
    p->exec = NULL;
}

void process_release(Process *p)
{
    if (atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    free_resources(p);
    mailbox_free(&p->mbox);
    free(p->trap);
    free(p->links);
    free(p->watchers);
    free(p->watching);
    pthread_mutex_destroy(&p->lock);
    pool_put(p->sched, p);
}

/* ---- Small sets ---------------------------------------------------------------------------- */

static bool add_pid(uint64_t **v, uint32_t *n, uint32_t *cap, uint64_t pid)
{
    for (uint32_t i = 0; i < *n; i++)
        if ((*v)[i] == pid)
            return true;
    if (*n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 4;
        uint64_t *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return false;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = pid;
    return true;
}

static void remove_pid(uint64_t *v, uint32_t *n, uint64_t pid)
{
    for (uint32_t i = 0; i < *n; i++)
        if (v[i] == pid) {
            v[i] = v[--*n];
            return;
        }
}

static bool add_monitor(Monitor **v, uint32_t *n, uint32_t *cap, Monitor m)
{
    if (*n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 4;
        Monitor *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return false;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = m;
    return true;
}

static bool remove_monitor(Monitor *v, uint32_t *n, uint64_t ref, Monitor *out)
{
    for (uint32_t i = 0; i < *n; i++)
        if (v[i].ref == ref) {
            if (out)
                *out = v[i];
            v[i] = v[--*n];
            return true;
        }
    return false;
}

/* ---- Messages the VM sends ------------------------------------------------------------------ */

static void put_u64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));   /* little-endian, as the guest reads it */
}

static void put_u32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void deliver(Process *to, Message *m)
{
    if (!m)
        return;
    sched_deliver(to, m);
}

static void send_down(Process *to, uint64_t ref, uint64_t pid, int32_t reason)
{
    uint8_t b[20];
    put_u64(b, ref);
    put_u64(b + 8, pid);
    put_u32(b + 16, (uint32_t)reason);
    deliver(to, message_new(TAG_DOWN, pid, b, sizeof b));
}

static void kill_with(Process *p, int32_t reason)
{
    int32_t none = -1;
    atomic_compare_exchange_strong(&p->kill_reason, &none, reason);   /* the first reason wins */
    sched_wake(p);
}

void process_signal(Process *p, uint64_t from, int32_t reason, bool from_link)
{
    if (!from_link && reason == EXIT_KILLED) {
        kill_with(p, EXIT_KILLED);
        return;
    }
    pthread_mutex_lock(&p->lock);
    bool trapping = p->trap_exit && !p->exiting;
    pthread_mutex_unlock(&p->lock);
    if (trapping) {
        uint8_t b[12];
        put_u64(b, from);
        put_u32(b + 8, (uint32_t)reason);
        deliver(p, message_new(TAG_EXIT, from, b, sizeof b));
    } else if (reason != EXIT_NORMAL) {
        kill_with(p, reason);
    }
}

/* ---- Spawn ------------------------------------------------------------------------------- */

/* Which NS_* permission importing `imp` takes. */
static uint32_t namespace_of(const Import *imp)
{
    return strcmp(imp->module.str, "lvm") == 0 ? NS_LVM
         : strcmp(imp->module.str, "wasi_snapshot_preview1") == 0 ? NS_WASI : NS_HOST;
}

static bool bind_imports(Sched *s, Process *p, Process *parent, Extern *ext, char *err, size_t len)
{
    const Module *m = p->module;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const Import *imp = &m->imports[i];
        if (!(p->config.namespaces & namespace_of(imp))) {
            snprintf(err, len, "not permitted: the module imports %s.%s", imp->module.str,
                     imp->name.str);
            return false;
        }
        if (!s->cfg.resolver ||
            !s->cfg.resolver(s->cfg.resolver_env, p, parent, m, imp, &ext[i], err, len)) {
            if (!s->cfg.resolver)
                snprintf(err, len, "unknown import %s.%s", imp->module.str, imp->name.str);
            return false;
        }
    }
    return true;
}

/* A module's imports as the resolver bound them, kept by the Sched so that spawning the
 * same module again does not look every import up by name: the resolver's answer does not
 * depend on the process (sched.h, ImportResolver). What does depend on the process, its
 * permission to import each namespace, is checked at every spawn, as one AND against the
 * bits the module needs. An entry holds a reference on its module (so a pointer match is
 * a module match) and lives until sched_free (process_cache_free). */
struct ImportCache {
    Module *module;
    ImportResolver resolver;      /* what bound it: another resolver would bind otherwise */
    void *resolver_env;
    uint32_t namespaces;          /* the NS_* bits its imports need */
    Extern ext[];                 /* one per import of module */
};

static const ImportCache *cache_find(Sched *s, const Module *m)
{
    for (size_t i = 0; i < SCHED_IMPORT_CACHE; i++) {
        /* Acquire: pairs with the release in cache_put, so the entry's fields are seen
         * filled in. */
        ImportCache *c = atomic_load_explicit(&s->import_cache[i], memory_order_acquire);
        if (!c)
            return NULL;          /* slots fill in order: no entry lies past an empty one */
        if (c->module == m && c->resolver == s->cfg.resolver &&
            c->resolver_env == s->cfg.resolver_env)
            return c;
    }
    return NULL;
}

/* Keep the imports a spawn of m just bound. Best effort: with every slot taken (or no
 * memory) later spawns of m bind by name, as this one did. */
static void cache_put(Sched *s, Module *m, const Extern *ext)
{
    ImportCache *c = malloc(sizeof *c + m->nimports * sizeof *ext);
    if (!c)
        return;
    *c = (ImportCache){ m, s->cfg.resolver, s->cfg.resolver_env, 0 };
    for (uint32_t i = 0; i < m->nimports; i++)
        c->namespaces |= namespace_of(&m->imports[i]);
    if (m->nimports)
        memcpy(c->ext, ext, m->nimports * sizeof *ext);
    loader_retain(m);
    for (size_t i = 0; i < SCHED_IMPORT_CACHE; i++) {
        /* Release: publishes the filled-in entry to cache_find's acquire load. Two spawns
         * of one module may race to add it: both entries are right, the first is used. */
        ImportCache *none = NULL;
        if (atomic_compare_exchange_strong_explicit(&s->import_cache[i], &none, c,
                                                    memory_order_release, memory_order_relaxed))
            return;
    }
    loader_release(m);            /* (not the last reference: the spawner holds one) */
    free(c);
}

void process_cache_free(Sched *s)
{
    for (size_t i = 0; i < SCHED_IMPORT_CACHE; i++) {
        ImportCache *c = atomic_exchange(&s->import_cache[i], NULL);
        if (c) {
            loader_release(c->module);
            free(c);
        }
    }
}

/* Instantiate p's module with imports bound as the cache says, or else by the resolver;
 * a module whose imports need a namespace p may not use takes the second way too, for
 * its message naming the first import not permitted. */
static bool instantiate(Sched *s, Process *p, Process *parent, char *err, size_t len)
{
    Module *m = p->module;
    const ImportCache *c = cache_find(s, m);
    Extern *ext = NULL;
    if (!c || (p->config.namespaces & c->namespaces) != c->namespaces) {
        if (!(ext = calloc(m->nimports + 1, sizeof *ext))) {
            snprintf(err, len, "out of memory");
            return false;
        }
        if (!bind_imports(s, p, parent, ext, err, len)) {
            free(ext);
            return false;
        }
    }
    /* The cache keeps only imports that matched (the resolver need not check types), so
     * a spawn from it need not match them again: it is added to after an instantiation. */
    VmError verr;
    InstanceLimits lim = { .max_memory_pages = p->config.max_memory_pages, .imports_match = !ext };
    p->inst = vm_instantiate_limited(m, ext ? ext : c->ext, p->exec, &lim, &verr);
    if (p->inst && !c)
        cache_put(s, m, ext);
    free(ext);
    if (!p->inst) {
        vm_instance_free(verr.partial);
        snprintf(err, len, "%s", verr.message);
        return false;
    }
    return true;
}

/* Instantiate and prepare the first call; false with err on failure. */
static bool start_process(Sched *s, Process *p, const SpawnRequest *req, char *err, size_t len)
{
    if (!instantiate(s, p, req->parent, err, len))
        return false;
    Function *f = NULL;
    Extern e;
    if (req->export_name) {
        if (vm_instance_export(p->inst, req->export_name, &e) && e.kind == EXTERN_FUNC)
            f = e.u.func;
    } else {
        f = vm_instance_table_func(p->inst, 0, req->table_index);
    }
    if (!f) {
        if (req->export_name)
            snprintf(err, len, "no exported function '%s'", req->export_name);
        else
            snprintf(err, len, "no function at table index %u", req->table_index);
        return false;
    }
    if (!vm_exec_call(p->exec, f, req->args, req->nargs)) {
        snprintf(err, len, "wrong number of arguments (%u) for the spawned function", req->nargs);
        return false;
    }
    return true;
}

/* A Process from the pool with its pid (its slot reserved; table_insert fills it), all
 * else zero, and room for its Exec after it: a spawn makes one allocation for both. */
static Process *process_alloc(Sched *s)
{
    Process *p = pool_get(s);
    if (!p)
        return NULL;
    /* Not pid and refs: a lookup may be looking at them (it sees refs 0 and backs off). */
    memset((char *)p + offsetof(Process, state), 0, sizeof *p - offsetof(Process, state));
    p->sched = s;
    atomic_store(&p->pid, table_reserve(s));
    atomic_store(&p->refs, 1);
    atomic_init(&p->state, PS_RUNNABLE);
    atomic_init(&p->kill_reason, -1);
    atomic_init(&p->wait_gen, 1);
    atomic_init(&p->fired_gen, 0);
    pthread_mutex_init(&p->lock, NULL);
    atomic_init(&p->mbox.inbox, NULL);
    return p;
}

static Process *process_new(Sched *s, const SpawnRequest *req)
{
    Process *p = process_alloc(s);
    if (!p)
        return NULL;
    if (req->config)
        p->config = *req->config;
    else if (req->parent)
        p->config = req->parent->config;
    else
        p->config = (ProcessConfig){ .can_spawn = true, .namespaces = NS_LVM | NS_WASI | NS_HOST };
    p->module = req->module;      /* the spawner's reference keeps it until p->inst has one */
    p->exec = vm_exec_init((char *)p + EXEC_OFFSET, NULL);
    vm_exec_set_user(p->exec, p);
    vm_exec_set_slice(p->exec, s->cfg.reductions);
    if (s->cfg.trace) {          /* lvm --trace: this Exec runs the traced loop (vm/trace.c) */
        char who[32];
        snprintf(who, sizeof who, "pid %llu", (unsigned long long)p->pid);
        if (!vm_exec_set_trace(p->exec, stderr, who, s->cfg.trace_func)) {
            vm_exec_fini(p->exec);
            p->exec = NULL;
        }
    }
    return p;
}

static void link_and_monitor(Sched *s, Process *p, Process *parent, uint32_t flags, uint64_t *ref)
{
    if (!parent)
        return;
    if (flags & SPAWN_LINK) {
        pthread_mutex_lock(&parent->lock);
        add_pid(&parent->links, &parent->nlinks, &parent->caplinks, p->pid);
        pthread_mutex_unlock(&parent->lock);
        add_pid(&p->links, &p->nlinks, &p->caplinks, parent->pid);
    }
    if (flags & SPAWN_MONITOR) {
        uint64_t r = atomic_fetch_add(&s->next_ref, 1);
        add_monitor(&p->watchers, &p->nwatchers, &p->capwatchers, (Monitor){ r, parent->pid });
        pthread_mutex_lock(&parent->lock);
        add_monitor(&parent->watching, &parent->nwatching, &parent->capwatching, (Monitor){ r, p->pid });
        pthread_mutex_unlock(&parent->lock);
        if (ref)
            *ref = r;
    }
}

/* A spawn that failed after the spawner asked to be told how its child ends: as in
 * Erlang, it gets a pid, and the monitor's DOWN (or the link's exit signal) says
 * EXIT_SPAWN_FAILED. Without a link or monitor the spawn just returns 0. */
static uint64_t spawn_failed(Sched *s, const SpawnRequest *req, uint64_t *monitor_ref)
{
    if (!req->parent || !(req->flags & (SPAWN_LINK | SPAWN_MONITOR)))
        return 0;
    uint64_t pid = atomic_fetch_add(&s->next_pid, 1);   /* a pid that is already dead */
    if (req->flags & SPAWN_MONITOR) {
        uint64_t ref = atomic_fetch_add(&s->next_ref, 1);
        if (monitor_ref)
            *monitor_ref = ref;
        send_down(req->parent, ref, pid, EXIT_SPAWN_FAILED);
    }
    if (req->flags & SPAWN_LINK)
        process_signal(req->parent, pid, EXIT_SPAWN_FAILED, true);
    return pid;
}

uint64_t sched_spawn(Sched *s, const SpawnRequest *req, uint64_t *monitor_ref, char *err,
                     size_t errlen)
{
    if (req->parent && !req->parent->config.can_spawn) {
        snprintf(err, errlen, "not permitted: this process may not spawn");
        return spawn_failed(s, req, monitor_ref);
    }
    uint64_t alive = atomic_load(&s->n_spawned) - atomic_load(&s->n_exited);
    if (alive >= s->cfg.max_processes) {
        snprintf(err, errlen, "too many processes (%llu alive; the limit is --max-processes)",
                 (unsigned long long)alive);
        return spawn_failed(s, req, monitor_ref);
    }
    Process *p = process_new(s, req);
    if (!p || !p->exec) {
        snprintf(err, errlen, "out of memory");
        if (p) {
            table_remove(s, p->pid);
            process_release(p);
        }
        return 0;
    }
    if (!start_process(s, p, req, err, errlen)) {
        table_remove(s, p->pid);  /* (its slot was only reserved) */
        process_release(p);
        return spawn_failed(s, req, monitor_ref);
    }
    table_insert(s, p);
    link_and_monitor(s, p, req->parent, req->flags, monitor_ref);
    atomic_fetch_add(&s->n_spawned, 1);
    char by[32];
    if (req->export_name)
        SCHED_EVENT(s, "spawn pid %llu by %s: %s", (unsigned long long)p->pid,
                    sched_who(by, sizeof by, req->parent, "the host"), req->export_name);
    else
        SCHED_EVENT(s, "spawn pid %llu by %s: table 0 [%u]", (unsigned long long)p->pid,
                    sched_who(by, sizeof by, req->parent, "the host"), req->table_index);
    if (!req->parent) {
        /* Kept for sched_wait: one more reference, released there. */
        atomic_fetch_add(&p->refs, 1);
        p->watched = true;
        pthread_mutex_lock(&s->idle_lock);
        if (s->nwatched == s->capwatched) {
            size_t c = s->capwatched ? s->capwatched * 2 : 8;
            Process **w = realloc(s->watched, c * sizeof *w);
            if (w) {
                s->watched = w;
                s->capwatched = c;
            }
        }
        if (s->nwatched < s->capwatched)
            s->watched[s->nwatched++] = p;
        pthread_mutex_unlock(&s->idle_lock);
    }
    uint64_t pid = p->pid;
    sched_enqueue(s, p);
    return pid;
}

Process *sched_host_process_new(Sched *s, void (*notify)(void *env), void *env)
{
    Process *p = process_alloc(s);
    if (!p)
        return NULL;
    atomic_store(&p->state, PS_RUNNING);   /* never queued, never run (sched_wake) */
    p->host_notify = notify;
    p->host_notify_env = env;
    p->trap_exit = true;          /* a linked process's death is a message to the host */
    table_insert(s, p);
    return p;
}

/* ---- Links and monitors --------------------------------------------------------------------- */

int sched_link(Process *p, uint64_t other)
{
    if (other == p->pid)
        return 0;
    Process *q = process_lookup(p->sched, other);
    if (!q) {
        process_signal(p, other, EXIT_NOPROC, true);
        return EXIT_NOPROC;
    }
    Process *first = p->pid < q->pid ? p : q, *second = first == p ? q : p;
    pthread_mutex_lock(&first->lock);
    pthread_mutex_lock(&second->lock);
    bool gone = q->exiting;
    if (!gone) {
        add_pid(&p->links, &p->nlinks, &p->caplinks, other);
        add_pid(&q->links, &q->nlinks, &q->caplinks, p->pid);
    }
    pthread_mutex_unlock(&second->lock);
    pthread_mutex_unlock(&first->lock);
    process_release(q);
    if (gone) {
        process_signal(p, other, EXIT_NOPROC, true);
        return EXIT_NOPROC;
    }
    return 0;
}

int sched_unlink(Process *p, uint64_t other)
{
    pthread_mutex_lock(&p->lock);
    remove_pid(p->links, &p->nlinks, other);
    pthread_mutex_unlock(&p->lock);
    Process *q = process_lookup(p->sched, other);
    if (q) {
        pthread_mutex_lock(&q->lock);
        remove_pid(q->links, &q->nlinks, p->pid);
        pthread_mutex_unlock(&q->lock);
        process_release(q);
    }
    return 0;
}

bool sched_trap_exit(Process *p, bool on)
{
    pthread_mutex_lock(&p->lock);
    bool old = p->trap_exit;
    p->trap_exit = on;
    pthread_mutex_unlock(&p->lock);
    return old;
}

uint64_t sched_monitor(Process *p, uint64_t other)
{
    uint64_t ref = atomic_fetch_add(&p->sched->next_ref, 1);
    /* The watcher's side first: if the target exits while we add ourselves to its list,
     * either its exit finds our entry here and sends DOWN, or we find it exiting below. */
    pthread_mutex_lock(&p->lock);
    bool recorded = add_monitor(&p->watching, &p->nwatching, &p->capwatching, (Monitor){ ref, other });
    pthread_mutex_unlock(&p->lock);
    Process *q = recorded ? process_lookup(p->sched, other) : NULL;
    bool added = false;
    if (q) {
        pthread_mutex_lock(&q->lock);
        if (!q->exiting)
            added = add_monitor(&q->watchers, &q->nwatchers, &q->capwatchers, (Monitor){ ref, p->pid });
        pthread_mutex_unlock(&q->lock);
        process_release(q);
    }
    if (!added) {
        pthread_mutex_lock(&p->lock);
        bool still = remove_monitor(p->watching, &p->nwatching, ref, NULL);
        pthread_mutex_unlock(&p->lock);
        if (still)   /* (else the target's exit already sent its DOWN) */
            send_down(p, ref, other, EXIT_NOPROC);
    }
    return ref;
}

bool sched_demonitor(Process *p, uint64_t ref)
{
    Monitor m;
    pthread_mutex_lock(&p->lock);
    bool found = remove_monitor(p->watching, &p->nwatching, ref, &m);
    pthread_mutex_unlock(&p->lock);
    if (!found)
        return false;
    Process *q = process_lookup(p->sched, m.pid);
    if (q) {
        pthread_mutex_lock(&q->lock);
        remove_monitor(q->watchers, &q->nwatchers, ref, NULL);
        pthread_mutex_unlock(&q->lock);
        process_release(q);
    }
    return true;
}

bool sched_kill(Sched *s, Process *from, uint64_t pid, int32_t reason)
{
    Process *q = process_lookup(s, pid);
    if (!q)
        return false;
    process_signal(q, from ? from->pid : 0, reason, false);
    process_release(q);
    return true;
}

int32_t sched_pending_kill(Process *p)
{
    return atomic_load(&p->kill_reason);
}

void sched_set_exit_reason(Process *p, int32_t reason)
{
    p->exit_reason = reason;
    p->exit_reason_set = true;
}

/* ---- Exit ------------------------------------------------------------------------------------ */

/* Tell the linked processes and the monitors; each side's lists are taken under its lock. */
static void notify(Process *p, int32_t reason, uint64_t *links, uint32_t nlinks, Monitor *watchers,
                   uint32_t nwatchers, Monitor *watching, uint32_t nwatching)
{
    Sched *s = p->sched;
    for (uint32_t i = 0; i < nlinks; i++) {
        Process *q = process_lookup(s, links[i]);
        if (!q)
            continue;
        pthread_mutex_lock(&q->lock);
        remove_pid(q->links, &q->nlinks, p->pid);
        pthread_mutex_unlock(&q->lock);
        process_signal(q, p->pid, reason, true);
        process_release(q);
    }
    for (uint32_t i = 0; i < nwatchers; i++) {
        Process *q = process_lookup(s, watchers[i].pid);
        if (!q)
            continue;
        pthread_mutex_lock(&q->lock);
        bool still = remove_monitor(q->watching, &q->nwatching, watchers[i].ref, NULL);
        pthread_mutex_unlock(&q->lock);
        if (still)
            send_down(q, watchers[i].ref, p->pid, reason);
        process_release(q);
    }
    for (uint32_t i = 0; i < nwatching; i++) {
        Process *q = process_lookup(s, watching[i].pid);
        if (!q)
            continue;
        pthread_mutex_lock(&q->lock);
        remove_monitor(q->watchers, &q->nwatchers, watching[i].ref, NULL);
        pthread_mutex_unlock(&q->lock);
        process_release(q);
    }
}

void process_exit(Process *p, int32_t reason)
{
    Sched *s = p->sched;
    if (s->cfg.trace_sched) {
        char why[160];
        SCHED_EVENT(s, "exit pid %llu: %s", (unsigned long long)p->pid,
                    sched_reason_text(reason, why, sizeof why));
    }
    pthread_mutex_lock(&p->lock);
    p->exiting = true;
    p->exit_reason = reason;
    uint64_t *links = p->links;
    uint32_t nlinks = p->nlinks;
    Monitor *watchers = p->watchers, *watching = p->watching;
    uint32_t nwatchers = p->nwatchers, nwatching = p->nwatching;
    p->links = NULL;
    p->watchers = p->watching = NULL;
    p->nlinks = p->nwatchers = p->nwatching = 0;
    p->caplinks = p->capwatchers = p->capwatching = 0;
    pthread_mutex_unlock(&p->lock);

    table_remove(s, p->pid);      /* from now on sends to it do nothing */
    names_remove_pid(s, p);
    notify(p, reason, links, nlinks, watchers, nwatchers, watching, nwatching);
    free(links);
    free(watchers);
    free(watching);

    if (p->host_waiting)          /* it died blocked in an embedder's host call */
        atomic_fetch_sub(&s->n_host_waiting, 1);
    free_resources(p);
    message_free(p->mbox.current);
    p->mbox.current = NULL;
    atomic_fetch_add(&s->n_exited, 1);
    if (p->watched) {
        /* Someone may sleep in sched_wait for this one, or poll it: under idle_lock. Not
         * for the others — waking the waiting thread at every exit would cost each
         * short-lived process a futex call and a context switch for nothing. */
        pthread_mutex_lock(&s->idle_lock);
        atomic_store(&p->state, PS_EXITED);
        pthread_cond_broadcast(&s->exited);
        pthread_cond_broadcast(&s->idle);   /* (a caller_is_worker sched_wait sleeps there) */
        pthread_mutex_unlock(&s->idle_lock);
    } else {
        atomic_store(&p->state, PS_EXITED);
    }
    process_release(p);           /* the table's reference */
}

/* ---- Names ------------------------------------------------------------------------------------ */

bool sched_register(Sched *s, const char *name, size_t len, uint64_t pid)
{
    Process *p = process_lookup(s, pid);
    if (!p)
        return false;
    process_release(p);
    bool ok = false;
    pthread_mutex_lock(&s->names_lock);
    bool taken = false;
    for (size_t i = 0; i < s->nnames; i++)
        if (s->names[i].len == len && memcmp(s->names[i].name, name, len) == 0)
            taken = true;
    if (!taken && s->nnames == s->capnames) {
        size_t c = s->capnames ? s->capnames * 2 : 16;
        Registration *r = realloc(s->names, c * sizeof *r);
        if (r) {
            s->names = r;
            s->capnames = c;
        }
    }
    char *copy = taken ? NULL : malloc(len + 1);
    if (copy && s->nnames < s->capnames) {
        memcpy(copy, name, len);
        copy[len] = 0;
        s->names[s->nnames++] = (Registration){ copy, len, pid };
        ok = true;
    } else {
        free(copy);
    }
    pthread_mutex_unlock(&s->names_lock);
    return ok;
}

bool sched_unregister(Sched *s, const char *name, size_t len)
{
    bool found = false;
    pthread_mutex_lock(&s->names_lock);
    for (size_t i = 0; i < s->nnames; i++)
        if (s->names[i].len == len && memcmp(s->names[i].name, name, len) == 0) {
            free(s->names[i].name);
            s->names[i] = s->names[--s->nnames];
            found = true;
            break;
        }
    pthread_mutex_unlock(&s->names_lock);
    return found;
}

uint64_t sched_whereis(Sched *s, const char *name, size_t len)
{
    uint64_t pid = 0;
    pthread_mutex_lock(&s->names_lock);
    for (size_t i = 0; i < s->nnames; i++)
        if (s->names[i].len == len && memcmp(s->names[i].name, name, len) == 0)
            pid = s->names[i].pid;
    pthread_mutex_unlock(&s->names_lock);
    return pid;
}

void names_remove_pid(Sched *s, Process *p)
{
    pthread_mutex_lock(&s->names_lock);
    for (size_t i = 0; i < s->nnames;)
        if (s->names[i].pid == p->pid) {
            free(s->names[i].name);
            s->names[i] = s->names[--s->nnames];
        } else {
            i++;
        }
    pthread_mutex_unlock(&s->names_lock);
}
