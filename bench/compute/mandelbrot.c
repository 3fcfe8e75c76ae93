/* mandelbrot — the Benchmarks Game program: a w x h bitmap of the Mandelbrot set,
 * 50 iterations max per pixel. An f64 compare-and-branch tight loop, then the bits
 * packed 8 pixels to a byte; the checksum is FNV-1a over the packed bytes. */
#include <stdint.h>

#define MB_SIZE 2400
#define MB_ITER 50

long long run(void)
{
    const int32_t w = MB_SIZE, h = MB_SIZE;
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (int32_t y = 0; y < h; y++) {
        double ci = 2.0 * y / h - 1.0;
        for (int32_t xb = 0; xb < w; xb += 8) {
            uint32_t bits = 0;
            for (int32_t x = xb; x < xb + 8; x++) {
                double cr = 2.0 * x / w - 1.5;
                double zr = 0, zi = 0, tr = 0, ti = 0;
                int32_t i = 0;
                for (; i < MB_ITER && tr + ti <= 4.0; i++) {
                    zi = 2.0 * zr * zi + ci;
                    zr = tr - ti + cr;
                    tr = zr * zr;
                    ti = zi * zi;
                }
                bits = (bits << 1) | (tr + ti <= 4.0);
            }
            hash = (hash ^ (bits & 0xff)) * 0x100000001b3ULL;
        }
    }
    return (long long)hash;
}
