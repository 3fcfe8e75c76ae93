/*
 * deque.c — the Chase–Lev work-stealing deque (Chase & Lev 2005, with the C11 memory
 * orderings of Lê, Pop, Cohen & Zappa Nardelli, "Correct and Efficient Work-Stealing for
 * Weak Memory Models", PPoPP 2013).
 *
 * Each worker owns one: only it pushes (at the bottom). Everyone — the owner too — takes
 * from the top, so a worker runs its processes oldest first: a process that used up its
 * slice goes to the back of the line, which is what makes scheduling fair (a LIFO owner
 * would run the same busy process again and again).
 */
#include <stdlib.h>

#include "sched_internal.h"

static DequeArray *array_new(size_t size)
{
    DequeArray *a = calloc(1, sizeof *a + size * sizeof(_Atomic(Process *)));
    if (a)
        a->size = size;
    return a;
}

void deque_init(Deque *d)
{
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->array, array_new(256));
}

void deque_destroy(Deque *d)
{
    DequeArray *a = atomic_load(&d->array);
    while (a) {
        DequeArray *older = a->older;
        free(a);
        a = older;
    }
}

size_t deque_size(Deque *d)
{
    size_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    size_t t = atomic_load_explicit(&d->top, memory_order_relaxed);
    return b > t ? b - t : 0;
}

/* Double the array; the old one stays reachable (thieves may be reading it). */
static DequeArray *grow(Deque *d, DequeArray *a, size_t top, size_t bottom)
{
    DequeArray *n = array_new(a->size * 2);
    if (!n)
        abort();   /* out of memory while queueing work: nothing sensible is left to do */
    for (size_t i = top; i < bottom; i++)
        atomic_store_explicit(&n->items[i & (n->size - 1)],
                              atomic_load_explicit(&a->items[i & (a->size - 1)], memory_order_relaxed),
                              memory_order_relaxed);
    n->older = a;
    /* Release: a thief that reads the new array sees its items. */
    atomic_store_explicit(&d->array, n, memory_order_release);
    return n;
}

void deque_push(Deque *d, Process *p)
{
    size_t b = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    size_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    DequeArray *a = atomic_load_explicit(&d->array, memory_order_relaxed);
    if (b - t > a->size - 1)
        a = grow(d, a, t, b);
    atomic_store_explicit(&a->items[b & (a->size - 1)], p, memory_order_relaxed);
    /* Release: the item (and everything the owner wrote to the process before queueing
     * it) is visible to a thief that reads the new bottom with acquire. The paper uses a
     * release fence and a relaxed store; a release store is the same here and is what
     * ThreadSanitizer understands. */
    atomic_store_explicit(&d->bottom, b + 1, memory_order_release);
}

Process *deque_steal(Deque *d)
{
    size_t t = atomic_load_explicit(&d->top, memory_order_acquire);
    /* Seq-cst fence between reading top and bottom: orders this steal against other
     * steals' CAS on top (the paper's steal). */
    atomic_thread_fence(memory_order_seq_cst);
    size_t b = atomic_load_explicit(&d->bottom, memory_order_acquire);
    if (t >= b)
        return NULL;
    DequeArray *a = atomic_load_explicit(&d->array, memory_order_consume);
    Process *p = atomic_load_explicit(&a->items[t & (a->size - 1)], memory_order_relaxed);
    /* Whoever moves top past t owns the item; a loser returns NULL and may try again. */
    if (!atomic_compare_exchange_strong_explicit(&d->top, &t, t + 1, memory_order_seq_cst,
                                                 memory_order_relaxed))
        return NULL;
    return p;
}
