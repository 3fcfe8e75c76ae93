/* spectral-norm — the Benchmarks Game program: power iteration for the largest
 * eigenvalue of A^T A, A(i,j) = 1 / ((i+j)(i+j+1)/2 + i + 1). f64 multiply, add and
 * divide in nested loops, with a real function call (eval_a) in the inner loop. */
#include <stdint.h>

#define SN_N 1500
#define SN_ITERATIONS 10

static double u[SN_N], v[SN_N], tmp[SN_N];

__attribute__((noinline)) static double eval_a(int32_t i, int32_t j)
{
    return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1);
}

__attribute__((noinline)) static void mul_av(const double *x, double *y)
{
    for (int32_t i = 0; i < SN_N; i++) {
        double sum = 0;
        for (int32_t j = 0; j < SN_N; j++)
            sum += eval_a(i, j) * x[j];
        y[i] = sum;
    }
}

__attribute__((noinline)) static void mul_atv(const double *x, double *y)
{
    for (int32_t i = 0; i < SN_N; i++) {
        double sum = 0;
        for (int32_t j = 0; j < SN_N; j++)
            sum += eval_a(j, i) * x[j];
        y[i] = sum;
    }
}

static void mul_atav(const double *x, double *y)
{
    mul_av(x, tmp);
    mul_atv(tmp, y);
}

long long run(void)
{
    for (int32_t i = 0; i < SN_N; i++)
        u[i] = 1.0;
    for (int32_t i = 0; i < SN_ITERATIONS; i++) {
        mul_atav(u, v);
        mul_atav(v, u);
    }
    double vbv = 0, vv = 0;
    for (int32_t i = 0; i < SN_N; i++) {
        vbv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    /* Every step is IEEE-exact and identical on x86-64 and Wasm (no FMA contraction
     * on baseline x86-64); the checksum is the norm to 9 decimals, sqrt included. */
    return (long long)(__builtin_sqrt(vbv / vv) * 1e9);
}
