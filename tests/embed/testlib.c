/* testlib.c — a native library of our own, bound through libffi by tests.c (as t.*):
 * one function per Wasm value type, a mix of all four, and buffers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int32_t add_i32(int32_t a, int32_t b) { return a + b; }
int64_t mul_i64(int64_t a, int64_t b) { return a * b; }
float half_f32(float x) { return x / 2; }
double mix(int32_t a, int64_t b, float c, double d) { return a + (double)b + c + d; }

int64_t sum(const void *p, size_t n)
{
    const uint8_t *b = p;
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += b[i];
    return s;
}

int32_t fill(void *p, size_t n, int32_t byte)
{
    memset(p, byte, n);
    return (int32_t)n;
}

static int ticks;
void tick(void) { ticks++; }
int tick_count(void) { return ticks; }
