/*
 * cache.c — the loader's entry points, the module cache, and a Module's lifetime.
 *
 * loader_load() hashes the bytes with XXH3 and looks for a module loaded from the same
 * bytes (same hash, same length, same contents: a hash match alone is not proof). If
 * there is one, it gets another reference; otherwise the bytes are decoded (decode.c),
 * validated (validate_module.c) and the new Module enters the cache. DESIGN decision 11:
 * everything per-module is built once and shared, so a thousand processes spawned from
 * one binary cost one decode, one validation and one compilation.
 *
 * A Module is allocated inside a ModuleBox that holds the reference count and the cache
 * link, so module.h stays free of bookkeeping. One mutex guards the cache list; the
 * reference count is atomic, since every spawn takes a reference (its instance's) and
 * every exit drops one, and a lock there would be shared by all of them. Why a release
 * may drop the count to zero without the lock, although a lookup under the lock may be
 * looking at the same module, is explained at lookup_locked.
 *
 * Read next: decode.c for what loading does, module.h for what it produces.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "loader_internal.h"

typedef struct ModuleBox {
    Module module;              /* first, so a Module * is its ModuleBox * */
    atomic_uint refs;           /* holders of the module; the cache list is not one */
    bool cached;                /* entered the cache list (set once, before it is shared) */
    struct ModuleBox *next;
} ModuleBox;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static ModuleBox *cache_head;   /* guarded by cache_lock */

static ModuleBox *box_of(Module *m)
{
    return (ModuleBox *)m;
}

Module *module_alloc(void)
{
    ModuleBox *b = calloc(1, sizeof *b);
    return b ? &b->module : NULL;
}

static void free_name(Name *n)
{
    free(n->str);
}

void module_free_contents(Module *m)
{
    for (uint32_t i = 0; i < m->ntypes; i++)
        free(m->types[i].types);
    free(m->types);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free_name(&m->imports[i].module);
        free_name(&m->imports[i].name);
    }
    free(m->imports);
    for (uint32_t i = 0; i < m->nfuncs; i++) {
        free(m->funcs[i].local_types);
        free((char *)m->funcs[i].name);
    }
    free(m->funcs);
    free(m->tables);
    free(m->memories);
    free(m->globals);
    for (uint32_t i = 0; i < m->nexports; i++)
        free_name(&m->exports[i].name);
    free(m->exports);
    for (uint32_t i = 0; i < m->nelems; i++)
        free(m->elems[i].inits);
    free(m->elems);
    free(m->datas);
    for (uint32_t i = 0; i < m->ncustoms; i++)
        free_name(&m->customs[i].name);
    free(m->customs);
    free((char *)m->name);
    free(m->bytes);
    memset(m, 0, sizeof *m);
}

void module_destroy(Module *m)
{
    if (!m)
        return;
    /* Relaxed: no reference is left, and loader_release's acq_rel ordered every holder's
     * stores before this; the load is atomic only to match loader_set_compiled's store. */
    void *compiled = __atomic_load_n(&m->compiled, __ATOMIC_RELAXED);
    if (compiled && m->free_compiled)
        m->free_compiled(compiled);
    module_free_contents(m);
    free(box_of(m));
}

/* Decode and validate; the caller has hashed the bytes already. With `owned` the module
 * takes that buffer (which holds the bytes) instead of a copy, and frees it on failure. */
static Module *load(const uint8_t *bytes, size_t size, uint64_t hash, uint8_t *owned,
                    LoadError *err)
{
    DecodeExtras x = { 0 };
    memset(err, 0, sizeof *err);
    Module *m = module_alloc();
    if (m && owned)
        m->bytes = owned;
    else if (!m)
        free(owned);
    if (!m || size > UINT32_MAX || (!owned && !(m->bytes = malloc(size ? size : 1)))) {
        if (size > UINT32_MAX)
            load_fail(err, LOAD_UNSUPPORTED, "header", 0, "module larger than 4 GiB");
        else
            load_fail(err, LOAD_NO_MEMORY, "header", 0, "out of memory");
        goto fail;
    }
    if (size && !owned)
        memcpy(m->bytes, bytes, size);
    m->size = size;
    m->hash = hash;
    if (!decode_module(m, &x, err) || !validate_module(m, &x, err))
        goto fail;
    decode_extras_free(&x);
    atomic_init(&box_of(m)->refs, 1);
    return m;
fail:
    decode_extras_free(&x);
    module_destroy(m);
    return NULL;
}

Module *loader_load_uncached(const uint8_t *bytes, size_t size, LoadError *err)
{
    LoadError ignored;
    return load(bytes, size, XXH3_64bits(bytes, size), NULL, err ? err : &ignored);
}

/* Take a reference on b unless its count is already zero: false then.
 *
 * Why this is the only place a count may be seen at zero, and why that is safe. The cache
 * list holds no reference, so a module's count can drop to zero while it is still on the
 * list: loader_release decrements without the lock and only then takes the lock to unlink
 * the module. Between the two, a lookup (under the lock) may find it. Reviving it there
 * (0 -> 1) would give it two owners: the release that saw zero goes on to unlink and free
 * it, and the new holder would use freed memory, or free it a second time on its own last
 * release. So a lookup never revives: a count of zero means "being freed", the lookup
 * passes over it as if it were gone, and a load decodes the bytes again if no other entry
 * matches. Every other increment (loader_retain) is by a holder, so from at least one.
 * Hence once a count reaches zero it stays there, and exactly one thread (the one whose
 * decrement reached it) unlinks and frees. The box stays valid for a lookup that passes
 * over it: it is unlinked under the lock before it is freed. */
static bool retain_unless_dying(ModuleBox *b)
{
    /* Relaxed: under cache_lock, which orders this with the insertion that published the
     * module; taking a reference publishes nothing. A failed exchange reloads n. */
    unsigned n = atomic_load_explicit(&b->refs, memory_order_relaxed);
    do {
        if (n == 0)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&b->refs, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

/* Under cache_lock: a cached module made from exactly these bytes, with one more
 * reference, or NULL. */
static Module *lookup_locked(const uint8_t *bytes, size_t size, uint64_t hash)
{
    for (ModuleBox *b = cache_head; b; b = b->next) {
        Module *m = &b->module;
        if (m->hash == hash && m->size == size &&
            (size == 0 || memcmp(m->bytes, bytes, size) == 0) && retain_unless_dying(b))
            return m;
    }
    return NULL;
}

static Module *load_cached(const uint8_t *bytes, size_t size, uint8_t *owned, LoadError *err)
{
    LoadError ignored;
    if (!err)
        err = &ignored;
    uint64_t hash = XXH3_64bits(bytes, size);
    pthread_mutex_lock(&cache_lock);
    Module *m = lookup_locked(bytes, size, hash);
    pthread_mutex_unlock(&cache_lock);
    if (m) {
        memset(err, 0, sizeof *err);
        free(owned);
        return m;
    }
    /* Decode without holding the lock: another thread may load other bytes meanwhile.
     * If it loaded these same bytes, keep its module and drop ours. */
    Module *fresh = load(bytes, size, hash, owned, err);
    if (!fresh)
        return NULL;
    pthread_mutex_lock(&cache_lock);
    m = lookup_locked(bytes, size, hash);
    if (!m) {
        box_of(fresh)->cached = true;
        box_of(fresh)->next = cache_head;
        cache_head = box_of(fresh);
    }
    pthread_mutex_unlock(&cache_lock);
    if (m) {
        module_destroy(fresh);
        return m;
    }
    return fresh;
}

Module *loader_load(const uint8_t *bytes, size_t size, LoadError *err)
{
    return load_cached(bytes, size, NULL, err);
}

Module *loader_load_owned(uint8_t *bytes, size_t size, LoadError *err)
{
    return load_cached(bytes, size, bytes, err);
}

void loader_retain(Module *m)
{
    /* Relaxed: the caller holds a reference, so the count is at least 1 and cannot reach
     * zero meanwhile; taking a reference publishes nothing. */
    atomic_fetch_add_explicit(&box_of(m)->refs, 1, memory_order_relaxed);
}

void loader_release(Module *m)
{
    if (!m)
        return;
    ModuleBox *b = box_of(m);
    /* Release: this holder's uses of the module happen before the last release, which
     * frees it. Acquire: for the last one, pairs with the release of every earlier holder
     * (acq_rel rather than a separate acquire fence: the same instruction on x86, and
     * ThreadSanitizer, which runs the scheduler tests, does not understand fences). */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* The count stays at zero from here on (retain_unless_dying), so this thread alone
     * unlinks and frees the module. */
    if (b->cached) {
        pthread_mutex_lock(&cache_lock);
        ModuleBox **p = &cache_head;
        while (*p != b)
            p = &(*p)->next;
        *p = b->next;
        pthread_mutex_unlock(&cache_lock);
    }
    module_destroy(m);
}

void *loader_compiled(const Module *m)
{
    /* Acquire: pairs with the release store in loader_set_compiled, so the compiled code
     * is seen as its compiler wrote it. */
    return __atomic_load_n(&m->compiled, __ATOMIC_ACQUIRE);
}

void *loader_set_compiled(Module *m, void *compiled, void (*free_compiled)(void *))
{
    /* The lock orders two setters; free_compiled is read only by module_destroy, after
     * the last reference is gone. Release: see loader_compiled. */
    pthread_mutex_lock(&cache_lock);
    void *winner = __atomic_load_n(&m->compiled, __ATOMIC_RELAXED);
    if (!winner) {
        m->free_compiled = free_compiled;
        __atomic_store_n(&m->compiled, compiled, __ATOMIC_RELEASE);
        winner = compiled;
    }
    pthread_mutex_unlock(&cache_lock);
    return winner;
}

const char *loader_error_format(const LoadError *err, char *buf, size_t len)
{
    if (err->kind == LOAD_OK)
        snprintf(buf, len, "no error");
    else
        snprintf(buf, len, "section '%s' at offset 0x%zx: %s",
                 err->section ? err->section : "?", err->offset, err->message);
    return buf;
}

const Export *loader_find_export(const Module *m, const char *name)
{
    size_t len = strlen(name);
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].name.len == len && memcmp(m->exports[i].name.str, name, len) == 0)
            return &m->exports[i];
    return NULL;
}
