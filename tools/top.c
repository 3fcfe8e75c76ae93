/*
 * top.c — `lvm --top`: the processes and workers of a running VM, redrawn in the
 * terminal every 500 ms, as Erlang's etop or Unix top do.
 *
 * Where it sits: beside main.c, which starts it before the root process runs and stops
 * it when the VM is done. A thread of its own (not a worker: it never runs guest code)
 * asks the scheduler for a snapshot (sched_snapshot, sched/observe.c, which says which
 * numbers may be a little stale and why reading them is safe) and draws it with two
 * ANSI sequences: cursor home and clear screen. It writes to stderr, so the program's
 * own output can go elsewhere (`lvm --top app.wasm > out.txt`).
 *
 * Read next: sched/observe.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "tools/top.h"

#define TOP_PERIOD_MS 500

struct Top {
    Sched *sched;
    const char *title;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    struct timespec started;
};

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Rows the terminal has for the process list (24 if it does not say). */
static int screen_rows(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
        return ws.ws_row;
    return 24;
}

static void draw(Top *t)
{
    SchedSnapshot snap;
    if (!sched_snapshot(t->sched, &snap))
        return;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);   /* one write per frame: no flicker */
    if (!f) {
        sched_snapshot_free(&snap);
        return;
    }
    const SchedStats *st = &snap.stats;
    fprintf(f, "\033[H\033[2J");
    fprintf(f, "lvm --top  %s   %.1f s   processes %zu   spawned %llu   messages %llu   "
            "reductions %llu   steals %llu\n", t->title, seconds_since(&t->started),
            snap.nprocs, (unsigned long long)st->spawned, (unsigned long long)st->messages,
            (unsigned long long)st->reductions, (unsigned long long)st->steals);
    fprintf(f, "workers:");
    for (unsigned i = 0; i < snap.nworkers && snap.workers; i++)
        fprintf(f, "  %u: %u queued, %llu steals", i, snap.workers[i].queued,
                (unsigned long long)snap.workers[i].steals);
    fprintf(f, "   global queue: %zu\n\n", snap.global_queued);
    fprintf(f, "%8s  %-16s %-18s %12s %10s %6s  %s\n", "PID", "NAME", "STATE", "REDUCTIONS",
            "MEMORY", "MBOX", "FUNCTION");
    int room = screen_rows() - 6;
    for (size_t i = 0; i < snap.nprocs; i++) {
        if ((int)i >= room) {
            fprintf(f, "… %zu more\n", snap.nprocs - i);
            break;
        }
        const ProcInfo *p = &snap.procs[i];
        fprintf(f, "%8llu  %-16s %-18s %12llu %9lluK %6u  %s\n", (unsigned long long)p->pid,
                p->name[0] ? p->name : "-", p->state, (unsigned long long)p->reductions,
                (unsigned long long)(p->memory >> 10), p->mailbox, p->func);
    }
    fclose(f);
    fwrite(buf, 1, len, stderr);
    fflush(stderr);
    free(buf);
    sched_snapshot_free(&snap);
}

static void *top_main(void *arg)
{
    Top *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        pthread_mutex_unlock(&t->lock);
        draw(t);
        pthread_mutex_lock(&t->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += TOP_PERIOD_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!t->stop && pthread_cond_timedwait(&t->wake, &t->lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

Top *top_start(Sched *s, const char *title)
{
    Top *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->sched = s;
    t->title = title;
    clock_gettime(CLOCK_MONOTONIC, &t->started);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    if (pthread_create(&t->thread, NULL, top_main, t) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void top_stop(Top *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);     /* the last picture stays on the screen */
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    free(t);
}
