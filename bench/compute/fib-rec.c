/* fib-rec — naive doubly recursive Fibonacci: frame setup and return cost dominates.
 * fib(n) makes about 2 * fib(n) calls; n is chosen so the native run takes ~0.5 s. */
#include <stdint.h>

#define FIB_N 40

/* noinline keeps one real call per level; clang still turns one of the two
 * recursive calls into a loop (accumulator recursion), the same natively and in Wasm. */
__attribute__((noinline)) static int32_t fib(int32_t n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

long long run(void)
{
    return fib(FIB_N);
}
