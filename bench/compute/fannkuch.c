/* fannkuch — fannkuch-redux (Computer Language Benchmarks Game): walk all n!
 * permutations of 0..n-1, flipping prefixes until 0 is in front. Short loops,
 * byte loads and stores, unpredictable branches. Known results: n = 10 gives
 * checksum 73196 and 38 flips; n = 11 gives 556355 and 51. n = 10 is run twice, from
 * the identity and from the reversed permutation, to bring the native time near 0.5 s. */
#include <stdint.h>

#define FANNKUCH_N 10

__attribute__((noinline)) static long long fannkuch(int32_t n, int32_t reversed)
{
    uint8_t perm[16], perm1[16], count[16];
    int32_t max_flips = 0, checksum = 0, perm_count = 0;
    int32_t r = n;

    for (int32_t i = 0; i < n; i++)
        perm1[i] = (uint8_t)(reversed ? n - 1 - i : i);

    for (;;) {
        while (r != 1) {
            count[r - 1] = (uint8_t)r;
            r--;
        }
        for (int32_t i = 0; i < n; i++)
            perm[i] = perm1[i];

        int32_t flips = 0;
        for (int32_t k = perm[0]; k != 0; k = perm[0]) {
            for (int32_t i = 0, j = k; i < j; i++, j--) {
                uint8_t t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            flips++;
        }
        if (flips > max_flips)
            max_flips = flips;
        checksum += (perm_count % 2 == 0) ? flips : -flips;

        /* Next permutation in the order of the original program: rotate the first r+1. */
        for (;;) {
            if (r == n)
                return (long long)checksum * 1000 + max_flips;
            uint8_t perm0 = perm1[0];
            for (int32_t i = 0; i < r; i++)
                perm1[i] = perm1[i + 1];
            perm1[r] = perm0;
            count[r]--;
            if (count[r] > 0)
                break;
            r++;
        }
        perm_count++;
    }
}

long long run(void)
{
    return fannkuch(FANNKUCH_N, 0) * 1000000000LL + fannkuch(FANNKUCH_N, 1);
}
