/* lz-compress — an LZ77 compressor and decompressor (LZ4-like block format) over
 * generated English-like text, round-trip checked. Hash-table lookups, byte compares,
 * short copies; the checksum is the compressed size and an FNV-1a hash of the stream.
 *
 * Format: a sequence is a token byte (high nibble: literal count, low nibble: match
 * length - 4; 15 means "more follows" as 255-bytes plus a last byte), the literals,
 * then a 2-byte little-endian offset. The last sequence has literals only. */
#include <stdint.h>
#include <string.h>

#define LZ_TEXT_SIZE (2 << 20)
#define LZ_ROUNDS 24
#define LZ_HASH_BITS 14
#define LZ_MIN_MATCH 4
#define LZ_MAX_OFFSET 65535

static uint8_t text[LZ_TEXT_SIZE];
static uint8_t packed[LZ_TEXT_SIZE + LZ_TEXT_SIZE / 255 + 64];
static uint8_t unpacked[LZ_TEXT_SIZE];
static int32_t hash_table[1 << LZ_HASH_BITS];

static uint32_t rng_state = 1;

static uint32_t rng(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static const char *const words[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was",
    "with", "be", "by", "on", "not", "he", "this", "are", "or", "his", "from",
    "at", "which", "but", "have", "an", "had", "they", "you", "were", "their",
    "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when",
    "will", "would", "who", "so", "no", "interpreter", "machine", "process",
    "message", "reduction", "scheduler", "module", "memory", "function", "table",
};

static void make_text(void)
{
    const int32_t nwords = (int32_t)(sizeof words / sizeof words[0]);
    int32_t pos = 0;
    rng_state = 1;
    while (pos < LZ_TEXT_SIZE) {
        const char *w = words[rng() % (uint32_t)nwords];
        /* Skew towards short common words, like real text. */
        if (rng() % 4 != 0)
            w = words[rng() % 12];
        while (*w != '\0' && pos < LZ_TEXT_SIZE)
            text[pos++] = (uint8_t)*w++;
        if (pos < LZ_TEXT_SIZE) {
            uint32_t p = rng() % 16;
            text[pos++] = p == 0 ? '.' : p == 1 ? ',' : p == 2 ? '\n' : ' ';
        }
    }
}

static uint32_t read32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint8_t *put_length(uint8_t *out, int32_t len)
{
    while (len >= 255) {
        *out++ = 255;
        len -= 255;
    }
    *out++ = (uint8_t)len;
    return out;
}

static uint8_t *put_sequence(uint8_t *out, const uint8_t *lit, int32_t nlit,
                             int32_t offset, int32_t match_len)
{
    int32_t ml = match_len - LZ_MIN_MATCH;
    uint8_t *token = out++;
    *token = (uint8_t)(((nlit < 15 ? nlit : 15) << 4) | (match_len == 0 ? 0 : ml < 15 ? ml : 15));
    if (nlit >= 15)
        out = put_length(out, nlit - 15);
    memcpy(out, lit, (size_t)nlit);
    out += nlit;
    if (match_len == 0)
        return out;
    *out++ = (uint8_t)(offset & 0xff);
    *out++ = (uint8_t)(offset >> 8);
    if (ml >= 15)
        out = put_length(out, ml - 15);
    return out;
}

static int32_t compress(const uint8_t *src, int32_t n, uint8_t *dst)
{
    uint8_t *out = dst;
    int32_t ip = 0, anchor = 0;
    for (int32_t i = 0; i < (1 << LZ_HASH_BITS); i++)
        hash_table[i] = -1;
    while (ip + LZ_MIN_MATCH < n) {
        uint32_t seq = read32(src + ip);
        uint32_t h = (seq * 2654435761u) >> (32 - LZ_HASH_BITS);
        int32_t ref = hash_table[h];
        hash_table[h] = ip;
        if (ref < 0 || ip - ref > LZ_MAX_OFFSET || read32(src + ref) != seq) {
            ip++;
            continue;
        }
        int32_t len = LZ_MIN_MATCH;
        while (ip + len < n && src[ref + len] == src[ip + len])
            len++;
        out = put_sequence(out, src + anchor, ip - anchor, ip - ref, len);
        ip += len;
        anchor = ip;
    }
    out = put_sequence(out, src + anchor, n - anchor, 0, 0);
    return (int32_t)(out - dst);
}

static int32_t get_length(const uint8_t **in, int32_t len)
{
    if (len == 15) {
        uint8_t b;
        do {
            b = *(*in)++;
            len += b;
        } while (b == 255);
    }
    return len;
}

static int32_t decompress(const uint8_t *src, int32_t n, uint8_t *dst)
{
    const uint8_t *in = src, *end = src + n;
    uint8_t *out = dst;
    for (;;) {
        uint8_t token = *in++;
        int32_t nlit = get_length(&in, token >> 4);
        memcpy(out, in, (size_t)nlit);
        out += nlit;
        in += nlit;
        if (in >= end)
            break;
        int32_t offset = in[0] | (in[1] << 8);
        in += 2;
        int32_t len = get_length(&in, token & 15) + LZ_MIN_MATCH;
        const uint8_t *from = out - offset;
        for (int32_t i = 0; i < len; i++) /* byte by byte: the copy may overlap */
            out[i] = from[i];
        out += len;
    }
    return (int32_t)(out - dst);
}

long long run(void)
{
    uint64_t sum = 0;
    make_text();
    for (int32_t round = 0; round < LZ_ROUNDS; round++) {
        /* Vary the input a little each round so no pass is a copy of the last. */
        text[(uint32_t)round * 7919u % LZ_TEXT_SIZE] ^= (uint8_t)(round + 1);
        int32_t packed_size = compress(text, LZ_TEXT_SIZE, packed);
        int32_t unpacked_size = decompress(packed, packed_size, unpacked);
        if (unpacked_size != LZ_TEXT_SIZE || memcmp(text, unpacked, LZ_TEXT_SIZE) != 0)
            return -1; /* round trip failed */
        uint64_t hash = 0xcbf29ce484222325ULL;
        for (int32_t i = 0; i < packed_size; i++)
            hash = (hash ^ packed[i]) * 0x100000001b3ULL;
        sum = sum * 1000003 + (uint64_t)packed_size + (hash >> 16);
    }
    return (long long)sum;
}
