/*
 * memory.c — linear memories, tables and globals: creation, growth, and the bulk
 * operations the interpreter calls out of line (bulk.h).
 *
 * A memory reserves address space for its declared maximum (PROT_NONE, costing nothing
 * but address space), makes the current size readable and writable, and commits pages
 * only as the guest touches them (DESIGN decision 4). Without a declared maximum it
 * reserves just its initial size and moves with mremap when it outgrows it — reserving
 * 4 GiB per memory would not let a million processes fit in the address space. Every
 * access is bounds-checked in software, so no guard region is needed.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bulk.h"
#include "vm_internal.h"

#define PAGE_SIZE 65536u
#define MAX_PAGES 65536u
#define TABLE_LIMIT 10000000u    /* implementation limit on table size (elements) */

/* ---- Memories ------------------------------------------------------------------- */

static size_t round_reserve(uint64_t bytes)
{
    return bytes < PAGE_SIZE ? PAGE_SIZE : (size_t)bytes;
}

MemoryInst *vm_memory_new(uint32_t min_pages, uint32_t max_pages, bool has_max)
{
    return memory_create(min_pages, max_pages, has_max, 0);
}

/* ---- A cache of small mappings ---------------------------------------------------------
 * Spawning and ending processes maps and unmaps a linear memory each time, and unmapping
 * touched pages costs a TLB shootdown on every core the VM runs on: more than half of a
 * spawn's time. So small mappings are kept when their memory is freed and handed to the
 * next memory of the same reservation, after zeroing just the pages that are resident
 * (mincore tells which; zeroing does not unmap, so no shootdown). A reused memory thus has
 * the resident pages its last owner touched — a process of the same module touches the
 * same ones. */

#define CACHE_MAX_RESERVE (1u << 20)   /* only mappings up to 1 MiB are kept */
#define CACHE_MAX_ENTRIES 4096   /* (a few pages resident each: tens of MiB at most) */

typedef struct CachedMapping {
    uint8_t *base;
    size_t reserved;
    size_t rw;                          /* bytes already readable and writable */
} CachedMapping;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static CachedMapping cache[CACHE_MAX_ENTRIES];
static size_t ncache;

static bool cache_take(size_t reserved, CachedMapping *out)
{
    bool found = false;
    pthread_mutex_lock(&cache_lock);
    for (size_t i = ncache; i-- > 0;)
        if (cache[i].reserved == reserved) {
            *out = cache[i];
            cache[i] = cache[--ncache];
            found = true;
            break;
        }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

/* Zero the resident pages of [base, base+len): the memory reads as new again. */
static void zero_resident(uint8_t *base, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), npages = len / page;
    unsigned char vec[CACHE_MAX_RESERVE / 4096];
    if (npages > sizeof vec || mincore(base, len, vec) != 0) {
        memset(base, 0, len);
        return;
    }
    for (size_t i = 0; i < npages; i++)
        if (vec[i] & 1)
            memset(base + i * page, 0, page);
}

static bool cache_put(MemoryInst *m)
{
    if (m->reserved > CACHE_MAX_RESERVE)
        return false;
    zero_resident(m->base, m->rw);
    pthread_mutex_lock(&cache_lock);
    bool kept = ncache < CACHE_MAX_ENTRIES;
    if (kept)
        cache[ncache++] = (CachedMapping){ m->base, m->reserved, m->rw };
    pthread_mutex_unlock(&cache_lock);
    return kept;
}

static bool map_memory(MemoryInst *m, uint32_t min_pages, uint32_t reach)
{
    uint64_t want = (uint64_t)reach * PAGE_SIZE;
    if (want > SIZE_MAX / 2)      /* a 32-bit host cannot reserve 4 GiB: start small */
        want = (uint64_t)min_pages * PAGE_SIZE;
    m->reserved = round_reserve(want);
    CachedMapping c;
    if (cache_take(m->reserved, &c)) {
        m->base = c.base;
        m->rw = c.rw;
        return true;
    }
    void *p = mmap(NULL, m->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED && reach > min_pages) {
        m->reserved = round_reserve((uint64_t)min_pages * PAGE_SIZE);
        p = mmap(NULL, m->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    }
    if (p == MAP_FAILED)
        return false;
    m->base = p;
    m->rw = 0;
    return true;
}

/* Make [0, size) readable and writable (what is past rw was PROT_NONE). */
static bool commit(MemoryInst *m, uint64_t size)
{
    if (size <= m->rw)
        return true;
    if (mprotect(m->base + m->rw, (size_t)(size - m->rw), PROT_READ | PROT_WRITE) != 0)
        return false;
    m->rw = (size_t)size;
    return true;
}

MemoryInst *memory_create(uint32_t min_pages, uint32_t max_pages, bool has_max, uint32_t limit)
{
    if (min_pages > MAX_PAGES || (has_max && (max_pages > MAX_PAGES || max_pages < min_pages)))
        return NULL;
    MemoryInst *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->has_max = has_max;
    m->max_pages = has_max ? max_pages : MAX_PAGES;
    m->limit_pages = limit && limit < m->max_pages ? limit : 0;
    /* Reserve up to what the memory may ever reach: the declared maximum or the owner's
     * limit, whichever is lower. */
    uint32_t reach = m->limit_pages ? m->limit_pages : has_max ? max_pages : min_pages;
    if (!map_memory(m, min_pages, reach)) {
        free(m);
        return NULL;
    }
    m->size = (uint64_t)min_pages * PAGE_SIZE;
    if (!commit(m, m->size)) {
        munmap(m->base, m->reserved);
        free(m);
        return NULL;
    }
    atomic_init(&m->refs, 1);
    return m;
}

MemoryInst *memory_retain(MemoryInst *m)
{
    atomic_fetch_add(&m->refs, 1);
    return m;
}

void vm_memory_free(MemoryInst *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    if (!cache_put(m))
        munmap(m->base, m->reserved);
    free(m);
}

uint8_t *vm_memory_data(MemoryInst *m) { return m->base; }
uint64_t vm_memory_size(const MemoryInst *m) { return m->size; }

int32_t memory_grow(MemoryInst *m, uint32_t delta)
{
    uint32_t old = (uint32_t)(m->size / PAGE_SIZE);
    if (delta == 0)
        return (int32_t)old;
    if (delta > m->max_pages - old)
        return -1;
    if (m->limit_pages && delta > m->limit_pages - old)
        return MEMORY_OVER_LIMIT;
    uint64_t new_size = (uint64_t)(old + delta) * PAGE_SIZE;
    if (new_size > SIZE_MAX / 2)
        return -1;
    if (new_size > m->reserved) {
        /* Outgrown the reservation: move. Double it so that a memory grown one page at a
         * time is moved only log(n) times. */
        uint64_t r = (uint64_t)m->reserved * 2;
        if (r < new_size)
            r = new_size;
        if (r > (uint64_t)m->max_pages * PAGE_SIZE)
            r = (uint64_t)m->max_pages * PAGE_SIZE;
        void *p = mremap(m->base, m->reserved, (size_t)r, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
            return -1;
        m->base = p;
        m->reserved = (size_t)r;
    }
    if (!commit(m, new_size))
        return -1;
    m->size = new_size;
    return (int32_t)old;
}

/* ---- Tables ------------------------------------------------------------------------ */

TableInst *vm_table_new(ValType elem, uint32_t min, uint32_t max, bool has_max)
{
    if (min > TABLE_LIMIT || (has_max && max < min))
        return NULL;
    TableInst *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->elems = calloc(min ? min : 1, sizeof(Value));
    if (!t->elems) {
        free(t);
        return NULL;
    }
    t->size = min;
    t->max = has_max ? max : UINT32_MAX;
    t->has_max = has_max;
    t->elem = elem;
    atomic_init(&t->refs, 1);
    return t;
}

TableInst *table_retain(TableInst *t)
{
    atomic_fetch_add(&t->refs, 1);
    return t;
}

void vm_table_free(TableInst *t)
{
    if (!t || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    free(t->elems);
    free(t);
}

int32_t table_grow(TableInst *t, uint32_t delta, Value init)
{
    uint32_t old = t->size;
    if (delta > t->max - old || old + delta > TABLE_LIMIT)
        return -1;
    Value *e = realloc(t->elems, ((size_t)old + delta + 1) * sizeof(Value));
    if (!e)
        return -1;
    for (uint32_t i = old; i < old + delta; i++)
        e[i] = init;
    t->elems = e;
    t->size = old + delta;
    return (int32_t)old;
}

/* ---- Globals ----------------------------------------------------------------------- */

GlobalInst *vm_global_new(ValType type, bool mutable_, Value init)
{
    GlobalInst *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->type = type;
    g->mutable_ = mutable_;
    g->value = slot_from_value(type, init);
    atomic_init(&g->refs, 1);
    return g;
}

GlobalInst *global_retain(GlobalInst *g)
{
    atomic_fetch_add(&g->refs, 1);
    return g;
}

void vm_global_free(GlobalInst *g)
{
    if (g && atomic_fetch_sub(&g->refs, 1) == 1)
        free(g);
}

Value vm_global_get(const GlobalInst *g)
{
    return value_from_slot(g->type, g->value);
}

/* ---- Bulk operations (spec 4.4.6, 4.4.7): check the range, then act ----------------- */

static bool in_range(uint64_t at, uint64_t n, uint64_t size)
{
    return at + n <= size;
}

bool bulk_memory_fill(MemoryInst *m, uint32_t dst, uint8_t val, uint32_t n)
{
    if (!in_range(dst, n, m->size))
        return false;
    memset(m->base + dst, val, n);
    return true;
}

bool bulk_memory_copy(MemoryInst *m, uint32_t dst, uint32_t src, uint32_t n)
{
    if (!in_range(dst, n, m->size) || !in_range(src, n, m->size))
        return false;
    memmove(m->base + dst, m->base + src, n);
    return true;
}

bool bulk_memory_init(Instance *inst, uint32_t dataidx, uint32_t dst, uint32_t src, uint32_t n)
{
    const DataSegment *d = &inst->module->datas[dataidx];
    uint32_t len = inst->data_dropped[dataidx] ? 0 : d->len;
    if (!in_range(src, n, len) || !in_range(dst, n, inst->memory->size))
        return false;
    if (n)
        memcpy(inst->memory->base + dst, d->bytes + src, n);
    return true;
}

bool bulk_table_fill(TableInst *t, uint32_t i, Value val, uint32_t n)
{
    if (!in_range(i, n, t->size))
        return false;
    for (uint32_t k = 0; k < n; k++)
        t->elems[i + k] = val;
    return true;
}

bool bulk_table_copy(TableInst *dt, TableInst *st, uint32_t dst, uint32_t src, uint32_t n)
{
    if (!in_range(dst, n, dt->size) || !in_range(src, n, st->size))
        return false;
    memmove(dt->elems + dst, st->elems + src, (size_t)n * sizeof(Value));
    return true;
}

Value elem_value(Instance *inst, const ElemSegment *seg, uint32_t i)
{
    const ConstExpr *e = &seg->inits[i];
    switch (e->kind) {
    case CONST_REF_FUNC: return (Value)(uintptr_t)inst->funcs[e->index];
    case CONST_GLOBAL_GET: return inst->globals[e->index]->value.u64;
    default: return 0;
    }
}

bool bulk_table_init(Instance *inst, uint32_t elemidx, uint32_t tableidx, uint32_t dst,
                     uint32_t src, uint32_t n)
{
    const ElemSegment *seg = &inst->module->elems[elemidx];
    TableInst *t = inst->tables[tableidx];
    uint32_t len = inst->elem_dropped[elemidx] ? 0 : seg->count;
    if (!in_range(src, n, len) || !in_range(dst, n, t->size))
        return false;
    for (uint32_t k = 0; k < n; k++)
        t->elems[dst + k] = elem_value(inst, seg, src + k);
    return true;
}
