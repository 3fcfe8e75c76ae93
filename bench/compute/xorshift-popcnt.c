/* xorshift-popcnt — i64 xorshift64*, multiply, popcount, clz and ctz in a counted loop.
 * Pure register arithmetic: measures the cost of dispatching simple i64 instructions. */
#include <stdint.h>

#define ITERATIONS 200000000

long long run(void)
{
    uint64_t x = 88172645463325252ULL;
    uint64_t acc = 0;
    for (int32_t i = 0; i < ITERATIONS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t m = x * 0x2545F4914F6CDD1DULL;
        /* |1 and |top bit keep clz/ctz away from 0, where they are undefined in C. */
        acc += (uint64_t)__builtin_popcountll(m);
        acc += (uint64_t)__builtin_clzll(m | 1) * 3;
        acc ^= (uint64_t)__builtin_ctzll(m | (1ULL << 63)) << (i & 31);
    }
    return (long long)(acc ^ x);
}
