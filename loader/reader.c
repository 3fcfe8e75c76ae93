/*
 * reader.c — bounds-checked reading of bytes, LEB128 integers and UTF-8 (spec 5.2).
 *
 * Every read in the loader goes through a Reader whose `end` is the end of the module
 * (while decoding) or of a body already scanned (while validating), so no malformed
 * length can make us read past the buffer. On failure a reader function returns false
 * and leaves one of three messages in the thread-local `reader_error`; the caller adds
 * where it happened.
 *
 * Read next: instr.c, which decodes one instruction with these functions.
 */
#include <stdio.h>
#include <string.h>

#include "loader_internal.h"

const char READER_END[] = "unexpected end";
const char READER_TOO_LONG[] = "integer representation too long";
const char READER_TOO_LARGE[] = "integer too large";

_Thread_local const char *reader_error;

static bool reader_fail(const char *why)
{
    reader_error = why;
    return false;
}

bool reader_u8(Reader *r, uint8_t *out)
{
    if (r->p >= r->end)
        return reader_fail(READER_END);
    *out = *r->p++;
    return true;
}

bool reader_bytes(Reader *r, uint32_t n, const uint8_t **out)
{
    if ((size_t)(r->end - r->p) < n)
        return reader_fail(READER_END);
    *out = r->p;
    r->p += n;
    return true;
}

/*
 * Unsigned LEB128 of at most `bits` bits (spec 5.2.2): at most ceil(bits/7) bytes, and in
 * the last byte the bits beyond `bits` must be zero. A continuation bit on that last byte
 * is "integer representation too long"; a stray high bit is "integer too large".
 */
static bool read_uleb(Reader *r, unsigned bits, uint64_t *out)
{
    unsigned max_bytes = (bits + 6) / 7;
    uint64_t result = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        if (r->p >= r->end)
            return reader_fail(READER_END);
        uint8_t b = *r->p++;
        result |= (uint64_t)(b & 0x7F) << (7 * i);
        if (i == max_bytes - 1) {
            if (b & 0x80)
                return reader_fail(READER_TOO_LONG);
            unsigned used = bits - 7 * i;              /* value bits in this byte */
            if ((b & 0x7F) >> used)
                return reader_fail(READER_TOO_LARGE);
        }
        if (!(b & 0x80))
            break;
    }
    *out = result;
    return true;
}

/*
 * Signed LEB128 of at most `bits` bits: in the last possible byte, the bits beyond the
 * value's width must all equal its sign bit (they are its sign extension).
 */
static bool read_sleb(Reader *r, unsigned bits, int64_t *out)
{
    unsigned max_bytes = (bits + 6) / 7;
    uint64_t result = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        if (r->p >= r->end)
            return reader_fail(READER_END);
        b = *r->p++;
        result |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if (i == max_bytes - 1) {
            if (b & 0x80)
                return reader_fail(READER_TOO_LONG);
            unsigned used = bits - 7 * i;              /* value bits, sign bit included */
            uint8_t sign = (b >> (used - 1)) & 1;
            uint8_t extra = (b & 0x7F) >> used;        /* must be all sign bits */
            uint8_t want = sign ? (uint8_t)(0x7F >> used) : 0;
            if (extra != want)
                return reader_fail(READER_TOO_LARGE);
        }
        if (!(b & 0x80))
            break;
    }
    if (shift < 64 && (b & 0x40))
        result |= ~(uint64_t)0 << shift;               /* sign-extend */
    *out = (int64_t)result;
    return true;
}

bool reader_u32(Reader *r, uint32_t *out)
{
    uint64_t v;
    if (!read_uleb(r, 32, &v))
        return false;
    *out = (uint32_t)v;
    return true;
}

bool reader_u64(Reader *r, uint64_t *out)
{
    return read_uleb(r, 64, out);
}

bool reader_s32(Reader *r, int32_t *out)
{
    int64_t v;
    if (!read_sleb(r, 32, &v))
        return false;
    *out = (int32_t)v;
    return true;
}

bool reader_s33(Reader *r, int64_t *out)
{
    return read_sleb(r, 33, out);
}

bool reader_s64(Reader *r, int64_t *out)
{
    return read_sleb(r, 64, out);
}

/* UTF-8 as the spec defines it (5.2.4): the shortest encoding of a scalar value. */
bool loader_utf8_valid(const uint8_t *s, uint32_t len)
{
    uint32_t i = 0;
    while (i < len) {
        uint8_t b = s[i];
        uint32_t n, cp, min;
        if (b < 0x80) { i++; continue; }
        else if ((b & 0xE0) == 0xC0) { n = 1; cp = b & 0x1F; min = 0x80; }
        else if ((b & 0xF0) == 0xE0) { n = 2; cp = b & 0x0F; min = 0x800; }
        else if ((b & 0xF8) == 0xF0) { n = 3; cp = b & 0x07; min = 0x10000; }
        else return false;                             /* stray continuation or 0xF8+ */
        if (len - i - 1 < n)
            return false;
        for (uint32_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

bool load_fail(LoadError *err, LoadErrorKind kind, const char *section, size_t offset,
               const char *fmt, ...)
{
    if (!err)
        return false;
    err->kind = kind;
    err->section = section;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

const char *valtype_name(uint8_t t)
{
    switch (t) {
    case VT_I32: return "i32";
    case VT_I64: return "i64";
    case VT_F32: return "f32";
    case VT_F64: return "f64";
    case VT_V128: return "v128";
    case VT_FUNCREF: return "funcref";
    case VT_EXTERNREF: return "externref";
    case 0: return "unknown";
    default: return "?";
    }
}
