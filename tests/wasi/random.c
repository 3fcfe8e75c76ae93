/* random.c — random_get: fills exactly the buffer it is given, with bytes that look
 * random, different on every call; and libc's getentropy/arc4random on top of it. */
#include <unistd.h>

#include "common.h"

// test: fill
// expect: fill: ok

// test: large
// expect: large: ok

// test: libc
// expect: libc: ok

static void sec_fill(int argc, char **argv)
{
    uint8_t a[64 + 2], b[64 + 2];
    memset(a, 0xA5, sizeof a);
    memset(b, 0xA5, sizeof b);
    CHECK_OK(__wasi_random_get(a + 1, 64));
    CHECK_OK(__wasi_random_get(b + 1, 64));
    CHECK(a[0] == 0xA5 && a[65] == 0xA5, "random_get wrote outside its buffer");
    CHECK(memcmp(a + 1, b + 1, 64) != 0, "two calls gave the same 64 bytes");
    int zero = 1, same = 1;
    for (int i = 1; i <= 64; i++) {
        if (a[i] != 0) zero = 0;
        if (a[i] != 0xA5) same = 0;
    }
    CHECK(!zero && !same, "random_get left the buffer zero or untouched");

    /* a zero-length request succeeds and touches nothing */
    uint8_t c = 0x3C;
    CHECK_OK(__wasi_random_get(&c, 0));
    CHECK(c == 0x3C, "random_get(len 0) wrote a byte");

    /* odd sizes and offsets */
    for (int n = 1; n < 40; n++) {
        uint8_t buf[48];
        memset(buf, 0xA5, sizeof buf);
        CHECK_OK(__wasi_random_get(buf + 3, n));
        CHECK(buf[2] == 0xA5 && buf[3 + n] == 0xA5, "random_get(%d) wrote outside", n);
    }
    printf("fill: ok\n");
}

static void sec_large(int argc, char **argv)
{
    size_t n = 1 << 20;
    uint8_t *buf = calloc(n, 1);
    CHECK(buf, "malloc");
    CHECK_OK(__wasi_random_get(buf, n));
    size_t hist[256] = {0};
    for (size_t i = 0; i < n; i++) hist[buf[i]]++;
    /* 4096 expected per value; every value is far inside [3000, 5200] for random data */
    for (int v = 0; v < 256; v++)
        CHECK(hist[v] > 3000 && hist[v] < 5200, "byte %d appears %zu times in 1 MiB", v,
              hist[v]);
    free(buf);
    printf("large: ok\n");
}

static void sec_libc(int argc, char **argv)
{
    uint8_t a[32] = {0}, b[32] = {0};
    CHECK(getentropy(a, sizeof a) == 0, "getentropy");
    CHECK(getentropy(b, sizeof b) == 0, "getentropy");
    CHECK(memcmp(a, b, sizeof a) != 0, "getentropy gave the same bytes twice");
    uint32_t x = arc4random(), y = arc4random(), z = arc4random();
    CHECK(!(x == y && y == z), "arc4random is constant");
    printf("libc: ok\n");
}

static const Section sections[] = {
    {"fill", sec_fill},
    {"large", sec_large},
    {"libc", sec_libc},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
