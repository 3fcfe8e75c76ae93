/*
 * numeric.h — the numeric operators of spec section 4.3 that C does not give directly:
 * shifts and rotations modulo the width, division traps, float min/max/nearest with
 * Wasm's NaN and signed-zero rules, checked and saturating float-to-int truncation, and
 * little-endian loads and stores. Included by exec.c only; all static inline.
 */
#ifndef LVM_VM_NUMERIC_H
#define LVM_VM_NUMERIC_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- Guest memory is little-endian (DESIGN decision 10) ---------------------------- */

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#  define LE16(x) __builtin_bswap16(x)
#  define LE32(x) __builtin_bswap32(x)
#  define LE64(x) __builtin_bswap64(x)
#else
#  define LE16(x) (x)
#  define LE32(x) (x)
#  define LE64(x) (x)
#endif

static inline uint8_t ld_u8(const uint8_t *p) { return *p; }
static inline uint16_t ld_u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return LE16(v); }
static inline uint32_t ld_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return LE32(v); }
static inline uint64_t ld_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return LE64(v); }
static inline void st_u8(uint8_t *p, uint64_t v) { *p = (uint8_t)v; }
static inline void st_u16(uint8_t *p, uint64_t v) { uint16_t x = LE16((uint16_t)v); memcpy(p, &x, 2); }
static inline void st_u32(uint8_t *p, uint64_t v) { uint32_t x = LE32((uint32_t)v); memcpy(p, &x, 4); }
static inline void st_u64(uint8_t *p, uint64_t v) { uint64_t x = LE64(v); memcpy(p, &x, 8); }

/* ---- Bits ---------------------------------------------------------------------------- */

static inline uint32_t rotl32(uint32_t a, uint32_t b) { b &= 31; return (a << b) | (a >> ((32 - b) & 31)); }
static inline uint32_t rotr32(uint32_t a, uint32_t b) { b &= 31; return (a >> b) | (a << ((32 - b) & 31)); }
static inline uint64_t rotl64(uint64_t a, uint64_t b) { b &= 63; return (a << b) | (a >> ((64 - b) & 63)); }
static inline uint64_t rotr64(uint64_t a, uint64_t b) { b &= 63; return (a >> b) | (a << ((64 - b) & 63)); }
static inline uint32_t clz32(uint32_t a) { return a ? (uint32_t)__builtin_clz(a) : 32; }
static inline uint32_t ctz32(uint32_t a) { return a ? (uint32_t)__builtin_ctz(a) : 32; }
static inline uint64_t clz64(uint64_t a) { return a ? (uint64_t)__builtin_clzll(a) : 64; }
static inline uint64_t ctz64(uint64_t a) { return a ? (uint64_t)__builtin_ctzll(a) : 64; }

/* ---- Floats: sign-bit operations work on the bits so NaN payloads survive ------------- */

static inline uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float f32_from(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint64_t f64_bits(double f) { uint64_t u; memcpy(&u, &f, 8); return u; }
static inline double f64_from(uint64_t u) { double f; memcpy(&f, &u, 8); return f; }

/* Rounding to an integer (spec 4.3.3 fceil, ffloor, ftrunc, fnearest), written here rather
 * than taken from libm: mapping libm costs every lvm process about 300 KiB of resident
 * memory for five small functions (issue 5's footprint goal). Each works on doubles; a
 * float's result is exact in double and converts back exactly. A NaN gives a quiet NaN
 * (an arithmetic NaN, as the spec asks); signed zeros are kept (ceil(-0.5) is -0). */
#define TWO52 4503599627370496.0          /* 2^52: from here on every double is an integer */

static inline double f64_trunc(double a)
{
    if (isnan(a)) return a + a;
    if (!(__builtin_fabs(a) < TWO52)) return a;           /* integral already, or infinite */
    return __builtin_copysign((double)(int64_t)a, a);      /* exact below 2^52; keeps -0 */
}

static inline double f64_floor(double a)
{
    double t = f64_trunc(a);
    return t > a ? t - 1.0 : t;
}

static inline double f64_ceil(double a)
{
    double t = f64_trunc(a);
    return t < a ? t + 1.0 : t;
}

/* Ties to even: adding and subtracting 2^52 rounds in the current (nearest-even) mode. */
static inline double f64_nearest(double a)
{
    if (isnan(a)) return a + a;
    double m = __builtin_fabs(a);
    if (!(m < TWO52)) return a;
    return __builtin_copysign((m + TWO52) - TWO52, a);
}

static inline float f32_trunc(float a) { return isnan(a) ? a + a : (float)f64_trunc(a); }
static inline float f32_floor(float a) { return isnan(a) ? a + a : (float)f64_floor(a); }
static inline float f32_ceil(float a) { return isnan(a) ? a + a : (float)f64_ceil(a); }
static inline float f32_nearest(float a) { return isnan(a) ? a + a : (float)f64_nearest(a); }

/* min/max (spec 4.3.3 fmin/fmax): NaN if either operand is NaN; -0 is below +0. */
static inline float f32_min(float a, float b)
{
    if (isnan(a) || isnan(b)) return f32_from(0x7FC00000u);
    if (a == 0 && b == 0) return f32_from(f32_bits(a) | f32_bits(b));
    return a < b ? a : b;
}
static inline float f32_max(float a, float b)
{
    if (isnan(a) || isnan(b)) return f32_from(0x7FC00000u);
    if (a == 0 && b == 0) return f32_from(f32_bits(a) & f32_bits(b));
    return a > b ? a : b;
}
static inline double f64_min(double a, double b)
{
    if (isnan(a) || isnan(b)) return f64_from(0x7FF8000000000000ull);
    if (a == 0 && b == 0) return f64_from(f64_bits(a) | f64_bits(b));
    return a < b ? a : b;
}
static inline double f64_max(double a, double b)
{
    if (isnan(a) || isnan(b)) return f64_from(0x7FF8000000000000ull);
    if (a == 0 && b == 0) return f64_from(f64_bits(a) & f64_bits(b));
    return a > b ? a : b;
}

/* ---- Float to integer (spec 4.3.4 trunc and trunc_sat) --------------------------------
 * The checked forms return false when the value is NaN (*nan set) or out of range; the
 * bounds are the first values that do not fit, exactly representable in each type. */

#define TRUNC_CHECK(name, ftype, itype, lo_excl, hi_excl)                      \
    static inline bool name(ftype x, itype *out, bool *nan)                    \
    {                                                                          \
        *nan = isnan(x);                                                       \
        if (*nan || !(x > (lo_excl) && x < (hi_excl)))                         \
            return false;                                                      \
        *out = (itype)x;                                                       \
        return true;                                                           \
    }
TRUNC_CHECK(trunc_f32_i32, float, int32_t, -2147483904.0f, 2147483648.0f)
TRUNC_CHECK(trunc_f32_u32, float, uint32_t, -1.0f, 4294967296.0f)
TRUNC_CHECK(trunc_f64_i32, double, int32_t, -2147483649.0, 2147483648.0)
TRUNC_CHECK(trunc_f64_u32, double, uint32_t, -1.0, 4294967296.0)
TRUNC_CHECK(trunc_f32_i64, float, int64_t, -9223373136366403584.0f, 9223372036854775808.0f)
TRUNC_CHECK(trunc_f32_u64, float, uint64_t, -1.0f, 18446744073709551616.0f)
TRUNC_CHECK(trunc_f64_i64, double, int64_t, -9223372036854777856.0, 9223372036854775808.0)
TRUNC_CHECK(trunc_f64_u64, double, uint64_t, -1.0, 18446744073709551616.0)
#undef TRUNC_CHECK

/* Saturating: NaN gives 0, out of range gives the nearest bound. */
#define TRUNC_SAT(name, ftype, itype, lo_excl, hi_excl, imin, imax)            \
    static inline itype name(ftype x)                                          \
    {                                                                          \
        if (isnan(x)) return 0;                                                \
        if (!(x > (lo_excl))) return (imin);                                   \
        if (!(x < (hi_excl))) return (imax);                                   \
        return (itype)x;                                                       \
    }
TRUNC_SAT(sat_f32_i32, float, int32_t, -2147483904.0f, 2147483648.0f, INT32_MIN, INT32_MAX)
TRUNC_SAT(sat_f32_u32, float, uint32_t, -1.0f, 4294967296.0f, 0, UINT32_MAX)
TRUNC_SAT(sat_f64_i32, double, int32_t, -2147483649.0, 2147483648.0, INT32_MIN, INT32_MAX)
TRUNC_SAT(sat_f64_u32, double, uint32_t, -1.0, 4294967296.0, 0, UINT32_MAX)
TRUNC_SAT(sat_f32_i64, float, int64_t, -9223373136366403584.0f, 9223372036854775808.0f, INT64_MIN, INT64_MAX)
TRUNC_SAT(sat_f32_u64, float, uint64_t, -1.0f, 18446744073709551616.0f, 0, UINT64_MAX)
TRUNC_SAT(sat_f64_i64, double, int64_t, -9223372036854777856.0, 9223372036854775808.0, INT64_MIN, INT64_MAX)
TRUNC_SAT(sat_f64_u64, double, uint64_t, -1.0, 18446744073709551616.0, 0, UINT64_MAX)
#undef TRUNC_SAT

#endif
