/* crc32 — table-driven CRC-32 (IEEE, reflected, as in zlib) over a generated buffer,
 * several passes chained through the running CRC: i32 shifts and xors, byte loads,
 * one table load per byte. */
#include <stdint.h>

#define CRC_BUF_SIZE (8 << 20)
#define CRC_PASSES 16

static uint8_t buf[CRC_BUF_SIZE];
static uint32_t table[256];

long long run(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int32_t k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t x = 2463534242u; /* xorshift32 fills the buffer */
    for (int32_t i = 0; i < CRC_BUF_SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)(x >> 24);
    }

    uint32_t crc = 0;
    uint64_t sum = 0;
    for (int32_t pass = 0; pass < CRC_PASSES; pass++) {
        uint32_t c = ~crc;
        for (int32_t i = 0; i < CRC_BUF_SIZE; i++)
            c = table[(c ^ buf[i]) & 0xff] ^ (c >> 8);
        crc = ~c;
        sum = sum * 1000003 + crc;
    }
    return (long long)sum;
}
