/* heapsort — heapsort of a few million generated 32-bit ints: sift-down with
 * data-dependent branches and indexed loads and stores over a 12 MB array. The
 * result is checked sorted, then hashed. */
#include <stdint.h>

#define HS_N 3000000

static uint32_t a[HS_N];

static void sift_down(uint32_t *v, int32_t root, int32_t n)
{
    uint32_t x = v[root];
    for (;;) {
        int32_t child = 2 * root + 1;
        if (child >= n)
            break;
        if (child + 1 < n && v[child + 1] > v[child])
            child++;
        if (v[child] <= x)
            break;
        v[root] = v[child];
        root = child;
    }
    v[root] = x;
}

long long run(void)
{
    uint32_t s = 12345;
    for (int32_t i = 0; i < HS_N; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = s ^ (s >> 15);
    }
    for (int32_t i = HS_N / 2 - 1; i >= 0; i--)
        sift_down(a, i, HS_N);
    for (int32_t end = HS_N - 1; end > 0; end--) {
        uint32_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }

    uint64_t hash = 0;
    for (int32_t i = 0; i < HS_N; i++) {
        if (i > 0 && a[i - 1] > a[i])
            return -1; /* not sorted */
        hash = hash * 0x100000001b3ULL + a[i];
    }
    return (long long)hash;
}
