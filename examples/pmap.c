/*
 * pmap.c — a parallel map: one process per element, results collected in order.
 *
 *   build/lvm build/examples/pmap.wasm [N]            (default N = 1000)
 *
 * pmap(f, in, out, n) spawns n processes; process i computes f(in[i]) and sends it back
 * with tag i, so the root can collect the results in order with a selective receive on
 * tag 0, then 1, ... whatever order they finish in. The function to apply travels as a
 * spawn argument: a function pointer is a table index, the same in every instance of
 * the module. Each process is linked to the root, so if one of them crashed, the root
 * would die with it instead of waiting forever.
 *
 * The map here: for x, the longest Collatz chain among the numbers x*100+1 .. x*100+100
 * (about ten thousand steps per element). The same map is then run sequentially in
 * the root, to check the results and compare the times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sdk/lvm.h"

typedef int64_t (*map_fn)(int64_t);

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- pmap ----------------------------------------------------------------------------- */

static void map_one(int64_t fn, int64_t x, int64_t index, int64_t parent)
{
    lvm_send_i64(parent, index, ((map_fn)(uintptr_t)fn)(x));
}

/* out[i] = f(in[i]) for i < n, each in its own process. false if a spawn failed. */
static int pmap(map_fn f, const int64_t *in, int64_t *out, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t args[4] = { (int64_t)(uintptr_t)f, in[i], i, lvm_self() };
        if (!lvm_spawn_fn((lvm_fn)map_one, args, 4, LVM_SPAWN_LINK, 0))
            return 0;
    }
    for (int i = 0; i < n; i++)
        out[i] = lvm_recv_i64(i);   /* tag i: result i, however early the others came */
    return 1;
}

/* ---- the function mapped ------------------------------------------------------------------ */

static int64_t longest_collatz(int64_t x)
{
    int64_t best = 0;
    for (int64_t k = x * 100 + 1; k <= x * 100 + 100; k++) {
        int64_t steps = 0;
        for (uint64_t v = (uint64_t)k; v != 1; steps++)
            v = v & 1 ? 3 * v + 1 : v / 2;
        if (steps > best)
            best = steps;
    }
    return best;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    if (n < 1) {
        fprintf(stderr, "usage: pmap [N >= 1]\n");
        return 2;
    }
    int64_t *in = malloc((size_t)n * sizeof *in), *par = malloc((size_t)n * sizeof *par),
            *seq = malloc((size_t)n * sizeof *seq);
    if (!in || !par || !seq)
        return 1;
    for (int i = 0; i < n; i++)
        in[i] = i;

    int64_t t0 = now_us();
    if (!pmap(longest_collatz, in, par, n)) {
        fprintf(stderr, "pmap: cannot spawn\n");
        return 1;
    }
    int64_t t1 = now_us();
    for (int i = 0; i < n; i++)
        seq[i] = longest_collatz(in[i]);
    int64_t t2 = now_us();

    int same = 1, at = 0;
    for (int i = 0; i < n; i++) {
        same &= par[i] == seq[i];
        if (par[i] > par[at])
            at = i;
    }
    printf("pmap: %d processes, f(x) = longest Collatz chain in x*100+1 .. x*100+100\n", n);
    printf("  f(0..4) = %lld %lld %lld %lld %lld ...  longest: f(%d) = %lld\n",
           (long long)par[0], (long long)(n > 1 ? par[1] : 0), (long long)(n > 2 ? par[2] : 0),
           (long long)(n > 3 ? par[3] : 0), (long long)(n > 4 ? par[4] : 0), at,
           (long long)par[at]);
    printf("  parallel %.1f ms, sequential %.1f ms (%.1fx); results %s\n", (t1 - t0) / 1e3,
           (t2 - t1) / 1e3, (double)(t2 - t1) / (double)(t1 - t0 ? t1 - t0 : 1),
           same ? "identical" : "DIFFER");
    return same ? 0 : 1;
}
