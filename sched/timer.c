/*
 * timer.c — receive timeouts, sleeps and send_after: one binary min-heap of deadlines for
 * the whole scheduler, under a mutex. Workers look at `next_deadline` (an atomic, no lock)
 * between slices and when they go idle, so a due timer is noticed within one slice
 * (DESIGN decision 5 allows a per-worker heap; one heap is simpler and timers are rare
 * next to messages).
 */
#include <stdlib.h>
#include <time.h>

#include "sched_internal.h"

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void timers_init(TimerHeap *h)
{
    pthread_mutex_init(&h->lock, NULL);
    h->items = NULL;
    h->n = h->cap = 0;
    atomic_init(&h->next_deadline, UINT64_MAX);
    atomic_init(&h->next_id, 1);
}

void timers_destroy(TimerHeap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        message_free(h->items[i]->msg);
        free(h->items[i]);
    }
    free(h->items);
    pthread_mutex_destroy(&h->lock);
}

static void swap(Timer **a, Timer **b)
{
    Timer *t = *a;
    *a = *b;
    *b = t;
}

static void sift_up(TimerHeap *h, size_t i)
{
    while (i > 0 && h->items[(i - 1) / 2]->deadline_ns > h->items[i]->deadline_ns) {
        swap(&h->items[(i - 1) / 2], &h->items[i]);
        i = (i - 1) / 2;
    }
}

static void sift_down(TimerHeap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->items[l]->deadline_ns < h->items[m]->deadline_ns)
            m = l;
        if (r < h->n && h->items[r]->deadline_ns < h->items[m]->deadline_ns)
            m = r;
        if (m == i)
            return;
        swap(&h->items[m], &h->items[i]);
        i = m;
    }
}

static void publish_next(TimerHeap *h)
{
    atomic_store(&h->next_deadline, h->n ? h->items[0]->deadline_ns : UINT64_MAX);
}

uint64_t timers_add(TimerHeap *h, uint64_t deadline_ns, uint64_t pid, uint64_t gen, Message *msg)
{
    Timer *t = malloc(sizeof *t);
    if (!t)
        return 0;
    *t = (Timer){ deadline_ns, atomic_fetch_add(&h->next_id, 1), pid, gen, msg, false };
    pthread_mutex_lock(&h->lock);
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        Timer **items = realloc(h->items, cap * sizeof *items);
        if (!items) {
            pthread_mutex_unlock(&h->lock);
            free(t);
            return 0;
        }
        h->items = items;
        h->cap = cap;
    }
    uint64_t id = t->id;          /* once unlocked, another worker may fire and free t */
    h->items[h->n++] = t;
    sift_up(h, h->n - 1);
    publish_next(h);
    pthread_mutex_unlock(&h->lock);
    return id;
}

/* A linear search: cancellation is rare next to firing (a heap with an index would make it
 * O(log n) if a workload ever needs it). */
bool timers_cancel(TimerHeap *h, uint64_t id)
{
    bool found = false;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->n; i++)
        if (h->items[i]->id == id && !h->items[i]->cancelled) {
            h->items[i]->cancelled = true;
            found = true;
            break;
        }
    pthread_mutex_unlock(&h->lock);
    return found;
}

size_t timers_due(TimerHeap *h, uint64_t now, Timer **out, size_t max)
{
    if (atomic_load(&h->next_deadline) > now)
        return 0;
    size_t k = 0;
    pthread_mutex_lock(&h->lock);
    while (h->n && h->items[0]->deadline_ns <= now && k < max) {
        Timer *t = h->items[0];
        h->items[0] = h->items[--h->n];
        sift_down(h, 0);
        if (t->cancelled) {
            message_free(t->msg);
            free(t);
            continue;
        }
        out[k++] = t;
    }
    publish_next(h);
    pthread_mutex_unlock(&h->lock);
    return k;
}
