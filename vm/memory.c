/*
 * memory.c — linear memories, tables and globals: creation, growth, and the bulk
 * operations the interpreter calls out of line (bulk.h).
 *
 * Every access to a linear memory is bounds-checked in software (DESIGN decision 4), so
 * the bytes past a memory's size need not be inaccessible: no guard region, and nothing
 * to mprotect when memory.grow moves the end. What a memory needs from the OS is address
 * space that reads as zero, with pages committed only as the guest touches them. It gets
 * that one of two ways:
 *
 * - A small memory (one that reserves at most 1 MiB: nearly every process) gets a slot in
 *   the slab, big regions mapped readable and writable once and cut into slots. Creating
 *   one, growing it within its slot and freeing it make no mmap, mprotect or munmap call:
 *   with a mapping per process those calls cost a spawn and an exit dearly, since unmapping
 *   touched pages is a TLB shootdown on every core the VM runs on, and each call takes
 *   the lock that page faults on the other threads wait for. A freed slot is zeroed where
 *   it was touched and kept for the next memory of its size, which — a process of the
 *   same module — touches the same pages again without a fault.
 * - A larger memory gets a mapping of its own: address space reserved (PROT_NONE) for
 *   what it may reach — its declared maximum or its owner's limit — made readable and
 *   writable as it grows, and moved with mremap if it grows past the reservation. With no
 *   maximum only the initial size is reserved: 4 GiB per memory would not let a million
 *   processes fit in the address space.
 *
 * A small memory that outgrows its slot moves to a bigger slot, and past 1 MiB to a
 * mapping of its own, copying the pages it has touched; base changes, which the
 * interpreter allows for by reloading it after every memory.grow and call.
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

/* ---- The slab of small memories -------------------------------------------------------
 * Slots come in five sizes (classes), 64 KiB to 1 MiB, and a memory gets the smallest that
 * holds its reservation. Not 1 MiB for all, because of page tables: a guest touches the
 * start of its memory, and one page-table page maps 2 MiB, so 1 MiB slots would cost a
 * page-table page per two processes — 2 KiB each, on top of the 13 KiB an idle process
 * takes — where the 128 KiB slots of a typical module share one between sixteen.
 *
 * A region is 64 MiB cut into slots of one class. It is mapped with MAP_NORESERVE (only
 * touched pages are charged) and without transparent huge pages (one huge page would
 * commit 2 MiB, the slots of many processes, at the first touch). The kernel merges
 * adjacent regions into one mapping, so a million slots stay far below vm.max_map_count.
 *
 * A listed slot reads as zero throughout: pages no owner touched are untouched still, and
 * the pages of its last owner were zeroed after it freed the slot — the ones mincore
 * reports resident, with memset: nothing is unmapped, so there is no shootdown. (A page
 * swapped out is not reported resident and would keep its bytes; like the rest of lvm,
 * this assumes memories are not swapped.) Freed slots are zeroed DIRTY_BATCH at a time,
 * so that one mincore call looks at many nearby slots: a call costs about what its scan
 * of 512 KiB does (400 ns, and 3 ns a page, measured in a KVM guest), so a gap of up to
 * half that between slots is cheaper to scan than another call. A slot with resident
 * pages then goes on its class's warm list, whose newest slot is taken first; one
 * without, on the cold list, taken when no warm slot is left.
 *
 * The resident bytes of the warm lists are bounded: past FREE_RESIDENT_CAP a region whose
 * slots are all free is unmapped (one shootdown for 64 MiB), and past FREE_RESIDENT_TRIM
 * the free slots of the regions of the oldest warm slots are given back with
 * madvise(MADV_DONTNEED) until the cap is reached — adjacent slots in one call, since
 * each call is a shootdown. Killing a million processes in the order they were spawned
 * thus empties region after region and unmaps each once, keeping 32 MiB.
 *
 * One mutex guards the lists and counts. Zeroing, copying and the system calls happen
 * outside it, on slots or regions no list holds meanwhile. */

#define SLAB_CLASSES 5
#define SLAB_MIN_SLOT PAGE_SIZE                               /* class 0: 64 KiB */
#define SLAB_MAX_SLOT (SLAB_MIN_SLOT << (SLAB_CLASSES - 1))   /* class 4: 1 MiB */
#define REGION_SIZE (64u << 20)
#define FREE_RESIDENT_CAP (32u << 20)
#define FREE_RESIDENT_TRIM (2 * FREE_RESIDENT_CAP)   /* the gap makes trimming a batch */
#define DIRTY_BATCH 32
#define MINCORE_SPAN (8u << 20)   /* the most one mincore call looks at: a 2 KiB vector */
#define MINCORE_GAP (256u << 10)  /* the widest gap between slots one call looks across */
#define EMPTY_REGIONS_KEPT 16    /* all-free regions kept even under the cap: they cost
                                    address space and metadata, but spare an mmap for the
                                    next burst of spawns */

typedef struct SlabSlot SlabSlot;
typedef struct SlabRegion SlabRegion;

enum { SLOT_IN_USE, SLOT_DIRTY, SLOT_WARM, SLOT_COLD, SLOT_TRIMMING };

struct SlabSlot {
    SlabSlot *prev, *next;      /* on its class's warm or cold list, while free (next
                                   alone: on the dirty list, or in a batch) */
    SlabRegion *region;
    uint32_t resident;          /* bytes resident, while on a warm list */
    /* In 64 KiB pages, to keep a slot's record (one per process) at 32 bytes: */
    uint8_t extent;             /* how far owners have reached since the pages were last
                                   given back: where pages may be resident */
    uint8_t used;               /* how far its last owner could reach, while dirty */
    uint8_t state;              /* SLOT_* */
};

struct SlabRegion {
    uint8_t *base;
    SlabRegion *next_release;   /* on a list of regions about to be unmapped */
    uint32_t nslots;
    uint32_t nfree;             /* slots not in use */
    uint32_t nheld;             /* of those, slots off the lists: dirty or being trimmed */
    uint8_t cls;
    SlabSlot slots[];
};

_Static_assert(sizeof(SlabSlot) <= 3 * sizeof(void *) + 8, "one per process: keep it small");

typedef struct SlotList {
    SlabSlot *head, *tail;
} SlotList;

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
/* Under slab_lock, all of these: */
static SlotList warm[SLAB_CLASSES], cold[SLAB_CLASSES];
static SlabSlot *dirty;         /* freed slots not yet zeroed, through next */
static unsigned ndirty;
static size_t free_resident;    /* bytes resident in the slots of the warm lists */
static unsigned nempty;         /* regions whose slots are all free */

static size_t host_page(void) { return (size_t)sysconf(_SC_PAGESIZE); }
static size_t slot_size(unsigned cls) { return (size_t)SLAB_MIN_SLOT << cls; }

static unsigned class_for(size_t bytes)
{
    unsigned cls = 0;
    while (slot_size(cls) < bytes)
        cls++;
    return cls;
}

static uint8_t *slot_base(const SlabSlot *s)
{
    return s->region->base + (size_t)(s - s->region->slots) * slot_size(s->region->cls);
}

static void list_push(SlotList *l, SlabSlot *s, bool at_head)
{
    if (at_head) {
        s->prev = NULL;
        s->next = l->head;
        *(l->head ? &l->head->prev : &l->tail) = s;
        l->head = s;
    } else {
        s->next = NULL;
        s->prev = l->tail;
        *(l->tail ? &l->tail->next : &l->head) = s;
        l->tail = s;
    }
}

static void list_unlink(SlotList *l, SlabSlot *s)
{
    *(s->prev ? &s->prev->next : &l->head) = s->next;
    *(s->next ? &s->next->prev : &l->tail) = s->prev;
}

/* Zero the resident pages of a dirty slot's first `used` bytes (all its last owner could
 * reach) and count those of its first `extent` into `resident`. vec tells which pages
 * (of `page` bytes) are resident, or is NULL if mincore could not tell. */
static void zero_slot(SlabSlot *s, const unsigned char *vec, size_t page)
{
    uint8_t *base = slot_base(s);
    size_t used = (size_t)s->used * PAGE_SIZE, extent = (size_t)s->extent * PAGE_SIZE;
    if (!vec) {
        memset(base, 0, used);
        s->resident = (uint32_t)extent;
        return;
    }
    size_t resident = 0;
    for (size_t at = 0; at < extent; at += page)
        if (vec[at / page] & 1) {
            resident += page;
            if (at < used)
                memset(base + at, 0, page);
        }
    s->resident = (uint32_t)resident;
    if (!resident)
        s->extent = 0;
}

/* Zero the n dirty slots of v, sorted by address: one mincore call for each run of slots
 * of a region that lie close together. */
static void zero_slots(SlabSlot **v, size_t n)
{
    unsigned char vec[MINCORE_SPAN / 4096];
    size_t page = host_page();
    for (size_t i = 0, j; i < n; i = j) {
        uint8_t *start = slot_base(v[i]), *end = start + (size_t)v[i]->extent * PAGE_SIZE;
        for (j = i + 1; j < n && v[j]->region == v[i]->region; j++) {
            uint8_t *b = slot_base(v[j]), *b_end = b + (size_t)v[j]->extent * PAGE_SIZE;
            if (b - end > MINCORE_GAP || b_end - start > MINCORE_SPAN)
                break;
            end = b_end;
        }
        bool known = (size_t)(end - start) / page <= sizeof vec
                  && mincore(start, (size_t)(end - start), vec) == 0;
        for (size_t k = i; k < j; k++)
            zero_slot(v[k], known ? vec + (size_t)(slot_base(v[k]) - start) / page : NULL,
                      page);
    }
}

/* Copy [src, src + len) (len at most 1 MiB) to dst, which reads as zero: only the pages
 * resident at src, since the others read as zero too. */
static void copy_resident(uint8_t *dst, uint8_t *src, size_t len)
{
    unsigned char vec[SLAB_MAX_SLOT / 4096];
    size_t page = host_page();
    if (len / page > sizeof vec || mincore(src, len, vec) != 0) {
        memcpy(dst, src, len);
        return;
    }
    for (size_t at = 0; at < len; at += page)
        if (vec[at / page] & 1)
            memcpy(dst + at, src + at, page);
}

/* Map a region of class cls; its slots are all free, none listed yet. */
static SlabRegion *region_new(unsigned cls)
{
    uint32_t n = (uint32_t)(REGION_SIZE / slot_size(cls));
    SlabRegion *r = calloc(1, sizeof *r + n * sizeof r->slots[0]);
    if (!r)
        return NULL;
    void *p = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        free(r);
        return NULL;
    }
    madvise(p, REGION_SIZE, MADV_NOHUGEPAGE);   /* best effort: a kernel without THP refuses */
    r->base = p;
    r->nslots = r->nfree = n;
    r->cls = (uint8_t)cls;
    for (uint32_t i = 0; i < n; i++)
        r->slots[i] = (SlabSlot){ .region = r, .state = SLOT_COLD };
    return r;
}

/* Take every slot of an all-free region off the lists (under slab_lock). */
static void region_detach(SlabRegion *r)
{
    for (uint32_t i = 0; i < r->nslots; i++) {
        SlabSlot *s = &r->slots[i];
        if (s->state == SLOT_WARM) {
            list_unlink(&warm[r->cls], s);
            free_resident -= s->resident;
        } else {
            list_unlink(&cold[r->cls], s);
        }
    }
    nempty--;
}

static void regions_unmap(SlabRegion *r)
{
    while (r) {
        SlabRegion *next = r->next_release;
        munmap(r->base, REGION_SIZE);
        free(r);
        r = next;
    }
}

/* madvise(MADV_DONTNEED) the slots of batch (listed through next in address order), one
 * call per run of adjacent slots. */
static void slots_give_back(SlabSlot *batch)
{
    while (batch) {
        SlabSlot *last = batch;
        while (last->next && last->next == last + 1)    /* the next slot of the region */
            last = last->next;
        uint8_t *start = slot_base(batch);
        size_t len = (size_t)(slot_base(last) - start) + slot_size(batch->region->cls);
        madvise(start, len, MADV_DONTNEED);
        batch = last->next;
    }
}

/* The warm lists hold more than FREE_RESIDENT_TRIM: give back pages until they hold
 * FREE_RESIDENT_CAP, starting from the regions of the oldest warm slots. A region whose
 * slots are all free is unmapped; from any other, every free slot is taken off the lists
 * and given back, so that adjacent ones go in one call. */
static void slab_trim(void)
{
    SlabSlot *batch = NULL, **end = &batch;
    SlabRegion *release = NULL;
    pthread_mutex_lock(&slab_lock);
    for (unsigned cls = SLAB_CLASSES; cls-- > 0;)
        while (free_resident > FREE_RESIDENT_CAP && warm[cls].tail) {
            SlabRegion *r = warm[cls].tail->region;
            if (r->nfree == r->nslots && r->nheld == 0) {
                region_detach(r);
                r->next_release = release;
                release = r;
                continue;
            }
            for (uint32_t i = 0; i < r->nslots; i++) {
                SlabSlot *s = &r->slots[i];
                if (s->state == SLOT_WARM) {
                    list_unlink(&warm[cls], s);
                    free_resident -= s->resident;
                } else if (s->state == SLOT_COLD) {
                    list_unlink(&cold[cls], s);
                } else {
                    continue;
                }
                s->state = SLOT_TRIMMING;
                r->nheld++;
                *end = s;
                end = &s->next;
            }
        }
    *end = NULL;
    pthread_mutex_unlock(&slab_lock);
    regions_unmap(release);
    if (!batch)
        return;
    slots_give_back(batch);
    pthread_mutex_lock(&slab_lock);
    for (SlabSlot *s = batch, *next; s; s = next) {
        next = s->next;
        s->extent = 0;
        s->resident = 0;
        s->state = SLOT_COLD;
        s->region->nheld--;
        list_push(&cold[s->region->cls], s, false);
    }
    pthread_mutex_unlock(&slab_lock);
}

static int by_address(const void *a, const void *b)
{
    /* the slots of a region lie in the order of their records */
    uintptr_t x = (uintptr_t)*(SlabSlot *const *)a, y = (uintptr_t)*(SlabSlot *const *)b;
    return x < y ? -1 : x > y;
}

/* Take the dirty list (under slab_lock). */
static SlabSlot *take_dirty(void)
{
    SlabSlot *batch = dirty;
    dirty = NULL;
    ndirty = 0;
    return batch;
}

/* Zero a batch of dirty slots (at most DIRTY_BATCH, through next) and list them; unmap a
 * region they leave all free if the slab holds too much, and trim past the cap. */
static void slab_clean(SlabSlot *batch)
{
    SlabSlot *v[DIRTY_BATCH];
    size_t n = 0;
    for (SlabSlot *s = batch; s; s = s->next)
        v[n++] = s;
    qsort(v, n, sizeof *v, by_address);
    zero_slots(v, n);
    SlabRegion *release = NULL;
    pthread_mutex_lock(&slab_lock);
    for (size_t i = 0; i < n; i++) {
        SlabSlot *s = v[i];
        SlabRegion *r = s->region;
        s->state = s->resident ? SLOT_WARM : SLOT_COLD;
        list_push(s->resident ? &warm[r->cls] : &cold[r->cls], s, true);
        free_resident += s->resident;
        if (--r->nheld == 0 && r->nfree == r->nslots
            && (free_resident > FREE_RESIDENT_CAP || nempty > EMPTY_REGIONS_KEPT)) {
            region_detach(r);
            r->next_release = release;
            release = r;
        }
    }
    bool trim = free_resident > FREE_RESIDENT_TRIM;
    pthread_mutex_unlock(&slab_lock);
    regions_unmap(release);
    if (trim)
        slab_trim();
}

/* Free a slot whose owner could reach its first `used` bytes: put it on the dirty list,
 * and zero the list once it holds DIRTY_BATCH. */
static void slab_give(SlabSlot *s, size_t used)
{
    SlabRegion *r = s->region;
    s->used = (uint8_t)(used / PAGE_SIZE);
    if (s->used > s->extent)
        s->extent = s->used;
    pthread_mutex_lock(&slab_lock);
    s->state = SLOT_DIRTY;
    s->next = dirty;
    dirty = s;
    r->nheld++;
    if (++r->nfree == r->nslots)
        nempty++;
    SlabSlot *batch = ++ndirty == DIRTY_BATCH ? take_dirty() : NULL;
    pthread_mutex_unlock(&slab_lock);
    if (batch)
        slab_clean(batch);
}

/* A free slot of class cls, zero throughout: the newest warm one, else a cold one, else
 * (once the dirty slots are zeroed and listed, if there are any) the first of a new
 * region. NULL if no region can be mapped. */
static SlabSlot *slab_take(unsigned cls)
{
    SlabSlot *s;
    pthread_mutex_lock(&slab_lock);
    while (!(s = warm[cls].head ? warm[cls].head : cold[cls].head) && dirty) {
        SlabSlot *batch = take_dirty();
        pthread_mutex_unlock(&slab_lock);
        slab_clean(batch);
        pthread_mutex_lock(&slab_lock);
    }
    if (s) {
        SlabRegion *r = s->region;
        if (s->state == SLOT_WARM) {
            list_unlink(&warm[cls], s);
            free_resident -= s->resident;
        } else {
            list_unlink(&cold[cls], s);
        }
        if (r->nfree-- == r->nslots)
            nempty--;
        s->state = SLOT_IN_USE;
    }
    pthread_mutex_unlock(&slab_lock);
    if (s)
        return s;
    SlabRegion *r = region_new(cls);
    if (!r)
        return NULL;
    /* in address order, so that slots are handed out (and, by a workload that ends
     * processes in the order it spawned them, emptied) region by region */
    r->slots[0].state = SLOT_IN_USE;
    r->nfree--;
    pthread_mutex_lock(&slab_lock);
    for (uint32_t i = 1; i < r->nslots; i++)
        list_push(&cold[cls], &r->slots[i], false);
    pthread_mutex_unlock(&slab_lock);
    return &r->slots[0];
}

/* ---- Memories ------------------------------------------------------------------------ */

static size_t round_reserve(uint64_t bytes)
{
    return bytes < PAGE_SIZE ? PAGE_SIZE : (size_t)bytes;
}

MemoryInst *vm_memory_new(uint32_t min_pages, uint32_t max_pages, bool has_max)
{
    return memory_create(min_pages, max_pages, has_max, 0);
}

/* Put m in a slot of the slab that holds `bytes`; false if it cannot. */
static bool place_in_slot(MemoryInst *m, size_t bytes)
{
    if (bytes > SLAB_MAX_SLOT || host_page() > SLAB_MIN_SLOT)
        return false;
    unsigned cls = class_for(bytes);
    SlabSlot *s = slab_take(cls);
    if (!s)
        return false;
    m->slot = s;
    m->base = slot_base(s);
    m->reserved = m->rw = slot_size(cls);   /* all of a slot is readable and writable */
    return true;
}

/* Give m a mapping of its own: `bytes` of address space, none of it accessible yet. */
static bool map_own(MemoryInst *m, size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return false;
    m->slot = NULL;
    m->base = p;
    m->reserved = bytes;
    m->rw = 0;
    return true;
}

static void unmap_memory(MemoryInst *m)
{
    if (m->slot)
        slab_give(m->slot, (size_t)m->size);
    else
        munmap(m->base, m->reserved);
}

static bool map_memory(MemoryInst *m, uint32_t min_pages, uint32_t reach)
{
    uint64_t want = (uint64_t)reach * PAGE_SIZE;
    if (want > SIZE_MAX / 2)      /* a 32-bit host cannot reserve 4 GiB: start small */
        want = (uint64_t)min_pages * PAGE_SIZE;
    size_t bytes = round_reserve(want);
    if (place_in_slot(m, bytes) || map_own(m, bytes))
        return true;
    return reach > min_pages && map_own(m, round_reserve((uint64_t)min_pages * PAGE_SIZE));
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
    if (!commit(m, (uint64_t)min_pages * PAGE_SIZE)) {
        unmap_memory(m);
        free(m);
        return NULL;
    }
    m->size = (uint64_t)min_pages * PAGE_SIZE;
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
    unmap_memory(m);
    free(m);
}

uint8_t *vm_memory_data(MemoryInst *m) { return m->base; }
uint64_t vm_memory_size(const MemoryInst *m) { return m->size; }

/* A memory in a slot has outgrown it: move it to a slot that holds new_size, or past the
 * largest slot to a mapping of its own. Either way the new place at least doubles the
 * old, so a memory grown a page at a time moves only log(n) times. Only the pages resident
 * in the old slot are copied: the others read as zero, as does the new place. */
static bool leave_slot(MemoryInst *m, uint64_t new_size)
{
    SlabSlot *old_slot = m->slot;
    uint8_t *old_base = m->base;
    size_t old_reserved = m->reserved, old_size = (size_t)m->size;
    uint64_t r = (uint64_t)old_reserved * 2;
    if (r < new_size)
        r = new_size;
    if (r > (uint64_t)m->max_pages * PAGE_SIZE)
        r = (uint64_t)m->max_pages * PAGE_SIZE;
    if (!place_in_slot(m, (size_t)new_size)) {
        if (!map_own(m, (size_t)r))
            return false;
        if (!commit(m, new_size)) {           /* back to the slot, which is untouched */
            munmap(m->base, m->reserved);
            m->slot = old_slot;
            m->base = old_base;
            m->reserved = m->rw = old_reserved;
            return false;
        }
    }
    copy_resident(m->base, old_base, old_size);
    slab_give(old_slot, old_size);
    return true;
}

/* A memory with a mapping of its own has outgrown its reservation: move it with mremap.
 * Double the reservation, so that a memory grown a page at a time is moved only log(n)
 * times. */
static bool remap(MemoryInst *m, uint64_t new_size)
{
    uint64_t r = (uint64_t)m->reserved * 2;
    if (r < new_size)
        r = new_size;
    if (r > (uint64_t)m->max_pages * PAGE_SIZE)
        r = (uint64_t)m->max_pages * PAGE_SIZE;
    void *p = mremap(m->base, m->reserved, (size_t)r, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return false;
    m->base = p;
    m->reserved = (size_t)r;
    return true;
}

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
        bool moved = m->slot ? leave_slot(m, new_size) : remap(m, new_size);
        if (!moved)
            return -1;
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
