/*
 * fairness — a ticker process, for 2 s of wall time, repeatedly does
 *     t0 = now; sleep 1 ms; t1 = now; lateness = (t1 - t0) - 1 ms
 * and reports the number of ticks and the p50 / p99 / min / max / mean lateness in ms
 * (nearest-rank percentiles). Phase "idle": the ticker alone. Phase "loaded": first
 * 2 x workers hog processes that spin forever (a counting loop that never blocks), then
 * the ticker; the hogs are killed afterwards. (ba_fairness.erl)
 *
 * BEAM reports the hogs' reductions per second (one per loop iteration). Here a hog
 * counts its loop iterations in memory (a volatile counter) and, every 65,536 of them,
 * polls its mailbox (timeout 0) for `query`, which it answers with its count; the driver
 * queries all hogs before and after the ticker's window. hog_iters_per_s is the sum over
 * all hogs of iterations per second of the window.
 *
 * Argument: `workers=N` (lvm's --threads; default 2) sets the number of hogs to 2N.
 */
#include "common.h"

#define DUR_US 2000000
#define MAX_TICKS 200000
enum { TAG_SAMPLES = 1, TAG_QUERY = 2, TAG_COUNT = 3 };

typedef struct Stats {
    int64_t ticks, p50, p99, min, max, sum;
} Stats;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t percentile(const int64_t *sorted, int64_t n, int p)
{
    int64_t rank = (p * n + 99) / 100;   /* ceil(p/100 * n), at least 1, at most n */
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static int64_t late[MAX_TICKS];

static void ticker(int64_t driver)
{
    int64_t end = now_us() + DUR_US, n = 0;
    for (;;) {
        int64_t t0 = now_us();
        if (t0 >= end || n == MAX_TICKS)
            break;
        lvm_sleep(1);
        int64_t t1 = now_us();
        late[n++] = t1 - t0 - 1000;
    }
    qsort(late, (size_t)n, sizeof late[0], cmp_i64);
    Stats s = { n, percentile(late, n, 50), percentile(late, n, 99), late[0], late[n - 1], 0 };
    for (int64_t i = 0; i < n; i++)
        s.sum += late[i];
    lvm_send(driver, TAG_SAMPLES, &s, sizeof s);
}

static void hog(void)
{
    static const int64_t query = TAG_QUERY;
    volatile uint64_t count = 0;
    for (;;) {
        for (int i = 0; i < 65536; i++)
            count++;
        if (lvm_receive(&query, 1, 0) == 0)
            lvm_send_i64(lvm_msg_sender(), TAG_COUNT, (int64_t)count);
    }
}

static lvm_pid hogs[1024];

static int64_t hog_count(int nhogs)
{
    for (int i = 0; i < nhogs; i++)
        lvm_send(hogs[i], TAG_QUERY, 0, 0);
    int64_t sum = 0;
    for (int i = 0; i < nhogs; i++) {
        recv_tag(TAG_COUNT);
        sum += lvm_msg_i64();
    }
    return sum;
}

static Stats ticker_run(void)
{
    if (!lvm_spawn1(ticker, lvm_self(), 0))
        die("spawn failed");
    recv_tag(TAG_SAMPLES);
    Stats s;
    lvm_msg_read(&s, sizeof s, 0);
    return s;
}

static void report(const char *name, int nhogs, Stats s)
{
    printf("RESULT %s hogs=%d ticks=%lld p50_ms=%.3f p99_ms=%.3f min_ms=%.3f max_ms=%.3f "
           "mean_ms=%.3f", name, nhogs, (long long)s.ticks, s.p50 / 1e3, s.p99 / 1e3,
           s.min / 1e3, s.max / 1e3, (double)s.sum / s.ticks / 1e3);
}

int main(int argc, char **argv)
{
    int workers = 2;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "workers=", 8) == 0 && atoi(argv[i] + 8) > 0)
            workers = atoi(argv[i] + 8);
    int nhogs = 2 * workers > 1024 ? 1024 : 2 * workers;

    report("fairness_idle", 0, ticker_run());
    printf("\n");
    fflush(stdout);

    for (int i = 0; i < nhogs; i++)
        if (!(hogs[i] = lvm_spawn0(hog, 0)))
            die("spawn failed");
    lvm_sleep(100);   /* let the hogs spread over the workers */
    int64_t c0 = hog_count(nhogs), w0 = now_us();
    Stats s = ticker_run();
    int64_t c1 = hog_count(nhogs), w1 = now_us();
    for (int i = 0; i < nhogs; i++)
        lvm_kill(hogs[i], LVM_EXIT_KILLED);
    double per_s = (c1 - c0) / ((w1 - w0) / 1e6);
    report("fairness_loaded", nhogs, s);
    printf(" hog_iters_per_s=%.0f hog_iters_per_s_per_hog=%.0f\n", per_s, per_s / nhogs);
    fflush(stdout);
    return 0;
}
