/*
 * mailbox.c — a process's messages (DESIGN decision 6).
 *
 * Senders copy the bytes into a host-owned Message and push it onto the receiver's inbox
 * with one compare-and-swap; they never take a lock and never touch the receiver's
 * private list. The receiver moves the inbox into its FIFO when it looks for a message,
 * and selective receive walks the FIFO oldest first, unlinking the first match and
 * leaving the others where they were, as BEAM does.
 */
#include <stdlib.h>
#include <string.h>

#include "sched_internal.h"

/* Messages of up to MESSAGE_SMALL bytes all get blocks of that size, so that a freed one
 * serves any later one: the worker that frees it keeps it (up to MESSAGE_CACHE_MAX) for
 * its next message_new. In a ring or a ping-pong the receiver is the next sender, and
 * this saves malloc and free about a hundred instructions a message. Blocks move between
 * workers' caches freely: each is plain malloc memory, and past the bound goes back to
 * free(). Threads that are not workers (the embedder's, the poller) use malloc alone. */
#define MESSAGE_SMALL 48
#define MESSAGE_CACHE_MAX 256

static MessageCache *my_cache(void)
{
    Worker *w = sched_current_worker();
    return w ? &w->messages : NULL;
}

Message *message_new(int64_t tag, uint64_t sender, const void *bytes, size_t len)
{
    Message *m = NULL;
    MessageCache *c = len <= MESSAGE_SMALL ? my_cache() : NULL;
    if (c && c->head) {
        m = c->head;
        c->head = m->next;
        c->n--;
    } else if (!(m = malloc(sizeof *m + (len <= MESSAGE_SMALL ? MESSAGE_SMALL : len)))) {
        return NULL;
    }
    m->next = NULL;
    m->tag = tag;
    m->sender = sender;
    m->len = len;
    if (len)
        memcpy(m->bytes, bytes, len);
    return m;
}

void message_free(Message *m)
{
    if (!m)
        return;
    MessageCache *c = m->len <= MESSAGE_SMALL ? my_cache() : NULL;
    if (c && c->n < MESSAGE_CACHE_MAX) {
        m->next = c->head;
        c->head = m;
        c->n++;
    } else {
        free(m);
    }
}

void message_cache_free(MessageCache *c)
{
    for (Message *m = c->head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    c->head = NULL;
    c->n = 0;
}

void mailbox_push(Mailbox *mb, Message *m)
{
    Message *head = atomic_load_explicit(&mb->inbox, memory_order_relaxed);
    do
        m->next = head;
    /* Sequentially consistent: the message's contents are visible to the receiver's
     * exchange (acquire), and the push is ordered before the sender's load of the
     * receiver's state in sched_wake — the receiver stores its state and then loads the
     * inbox, so one of the two sees the other (no lost wake-up). */
    while (!atomic_compare_exchange_weak_explicit(&mb->inbox, &head, m, memory_order_seq_cst,
                                                  memory_order_relaxed));
}

bool mailbox_has_new(Mailbox *mb)
{
    return atomic_load_explicit(&mb->inbox, memory_order_seq_cst) != NULL;
}

/* Move everything pushed so far to the end of the private FIFO, oldest first. */
void mailbox_drain(Mailbox *mb)
{
    /* An exchange is a locked instruction even on an empty inbox, and a receive that is
     * about to block finds it empty: look first. */
    if (!atomic_load_explicit(&mb->inbox, memory_order_relaxed))
        return;
    /* Acquire: pairs with the senders' release CAS, so their bytes are visible. */
    Message *m = atomic_exchange_explicit(&mb->inbox, NULL, memory_order_acquire);
    Message *rev = NULL;
    unsigned n = 0;
    while (m) {
        Message *next = m->next;
        m->next = rev;
        rev = m;
        m = next;
        n++;
    }
    if (!rev)
        return;
    atomic_store_explicit(&mb->count, atomic_load_explicit(&mb->count, memory_order_relaxed) + n,
                          memory_order_relaxed);   /* only the owner writes it */
    if (mb->tail)
        mb->tail->next = rev;
    else
        mb->head = rev;
    while (rev->next)
        rev = rev->next;
    mb->tail = rev;
}

static bool matches(const Message *m, const int64_t *tags, uint32_t ntags)
{
    if (ntags == 0)
        return true;
    for (uint32_t i = 0; i < ntags; i++)
        if (tags[i] == m->tag)
            return true;
    return false;
}

Message *mailbox_take(Mailbox *mb, const int64_t *tags, uint32_t ntags)
{
    mailbox_drain(mb);
    Message *prev = NULL;
    for (Message *m = mb->head; m; prev = m, m = m->next) {
        if (!matches(m, tags, ntags))
            continue;
        if (prev)
            prev->next = m->next;
        else
            mb->head = m->next;
        if (mb->tail == m)
            mb->tail = prev;
        m->next = NULL;
        atomic_store_explicit(&mb->count, atomic_load_explicit(&mb->count, memory_order_relaxed) - 1,
                              memory_order_relaxed);
        return m;
    }
    return NULL;
}

static void free_list(Message *m)
{
    while (m) {
        Message *next = m->next;
        message_free(m);
        m = next;
    }
}

void mailbox_free(Mailbox *mb)
{
    free_list(atomic_exchange(&mb->inbox, NULL));
    free_list(mb->head);
    message_free(mb->current);
    mb->head = mb->tail = mb->current = NULL;
}
