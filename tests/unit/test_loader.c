/*
 * test_loader.c — unit tests for loader/: LEB128, each section's errors, the name
 * section, validation, instruction decoding, and the module cache.
 *
 * Modules are written out byte by byte, with a comment saying what each group is, so a
 * test reads like the binary format chapter of the spec (chapter 5). The spec test suite
 * (tests/spec/) covers far more cases; these pin down the loader's own behaviour and its
 * exact messages, and run in a fraction of a second.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "loader/instr.h"
#include "loader/loader.h"

#define HEADER 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00

/* Load `bytes` (a module, header included) without the cache. */
#define LOAD(err, ...)                                                      \
    ({                                                                      \
        static const uint8_t bytes_[] = { __VA_ARGS__ };                    \
        loader_load_uncached(bytes_, sizeof bytes_, (err));                 \
    })

/* The module must fail with this kind and a message starting with `msg`. */
#define EXPECT_FAIL(kind_, msg_, ...)                                       \
    do {                                                                    \
        LoadError e_;                                                       \
        Module *m_ = LOAD(&e_, __VA_ARGS__);                                \
        ck_assert_msg(m_ == NULL, "module loaded, expected '%s'", msg_);    \
        ck_assert_msg(strncmp(e_.message, msg_, strlen(msg_)) == 0,         \
                      "got '%s', expected '%s'", e_.message, msg_);         \
        ck_assert_int_eq(e_.kind, kind_);                                   \
    } while (0)

#define MALFORMED(msg, ...) EXPECT_FAIL(LOAD_MALFORMED, msg, HEADER, __VA_ARGS__)
#define INVALID(msg, ...) EXPECT_FAIL(LOAD_INVALID, msg, HEADER, __VA_ARGS__)

/* Frequently used sections. */
#define TYPE_VOID 0x01, 0x04, 0x01, 0x60, 0x00, 0x00   /* type 0: [] -> [] */
#define ONE_FUNC 0x03, 0x02, 0x01, 0x00                /* one function of type 0 */
#define EMPTY_BODY 0x0A, 0x04, 0x01, 0x02, 0x00, 0x0B  /* code: one body, `end` */

/* ---- LEB128 (spec 5.2.2) ------------------------------------------------------------ */

static Reader reader_of(const uint8_t *b, size_t n)
{
    return (Reader){ b, b + n, b };
}

#define U32_OK(expect, ...)                                                 \
    do {                                                                    \
        static const uint8_t b_[] = { __VA_ARGS__ };                        \
        Reader r_ = reader_of(b_, sizeof b_);                               \
        uint32_t v_;                                                        \
        ck_assert(reader_u32(&r_, &v_));                                    \
        ck_assert_uint_eq(v_, (expect));                                    \
        ck_assert_ptr_eq(r_.p, r_.end);                                     \
    } while (0)

#define S32_OK(expect, ...)                                                 \
    do {                                                                    \
        static const uint8_t b_[] = { __VA_ARGS__ };                        \
        Reader r_ = reader_of(b_, sizeof b_);                               \
        int32_t v_;                                                         \
        ck_assert(reader_s32(&r_, &v_));                                    \
        ck_assert_int_eq(v_, (expect));                                     \
    } while (0)

#define S64_OK(expect, ...)                                                 \
    do {                                                                    \
        static const uint8_t b_[] = { __VA_ARGS__ };                        \
        Reader r_ = reader_of(b_, sizeof b_);                               \
        int64_t v_;                                                         \
        ck_assert(reader_s64(&r_, &v_));                                    \
        ck_assert(v_ == (int64_t)(expect));                                 \
    } while (0)

/* fn must fail with message `why`. */
#define LEB_FAIL(fn, type, why, ...)                                        \
    do {                                                                    \
        static const uint8_t b_[] = { __VA_ARGS__ };                        \
        Reader r_ = reader_of(b_, sizeof b_);                               \
        type v_;                                                            \
        ck_assert(!fn(&r_, &v_));                                           \
        ck_assert_str_eq(reader_error, why);                                \
    } while (0)

START_TEST(leb_u32)
{
    U32_OK(0, 0x00);
    U32_OK(127, 0x7F);
    U32_OK(128, 0x80, 0x01);
    U32_OK(0, 0x80, 0x80, 0x80, 0x80, 0x00);            /* over-padded but 5 bytes: fine */
    U32_OK(UINT32_MAX, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);   /* max-length maximum */
    LEB_FAIL(reader_u32, uint32_t, "integer representation too long",
             0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    LEB_FAIL(reader_u32, uint32_t, "integer too large", 0xFF, 0xFF, 0xFF, 0xFF, 0x1F);
    LEB_FAIL(reader_u32, uint32_t, "integer too large", 0x82, 0x80, 0x80, 0x80, 0x70);
    LEB_FAIL(reader_u32, uint32_t, "unexpected end", 0x80, 0x80);
}
END_TEST

START_TEST(leb_s32)
{
    S32_OK(-1, 0x7F);
    S32_OK(-64, 0x40);                                  /* bit 6 is the sign */
    S32_OK(63, 0x3F);
    S32_OK(64, 0xC0, 0x00);
    S32_OK(-1, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
    S32_OK(INT32_MIN, 0x80, 0x80, 0x80, 0x80, 0x78);
    S32_OK(INT32_MAX, 0xFF, 0xFF, 0xFF, 0xFF, 0x07);
    /* the last byte's unused bits must copy the sign bit (bit 3 of that byte) */
    LEB_FAIL(reader_s32, int32_t, "integer too large", 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
    LEB_FAIL(reader_s32, int32_t, "integer too large", 0x80, 0x80, 0x80, 0x80, 0x70);
    LEB_FAIL(reader_s32, int32_t, "integer too large", 0xFF, 0xFF, 0xFF, 0xFF, 0x4F);
    LEB_FAIL(reader_s32, int32_t, "integer representation too long",
             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
}
END_TEST

START_TEST(leb_s64_s33_u64)
{
    S64_OK(-1, 0x7F);
    S64_OK(INT64_MIN, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F);
    S64_OK(INT64_MAX, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00);
    LEB_FAIL(reader_s64, int64_t, "integer too large",
             0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7E);
    LEB_FAIL(reader_s64, int64_t, "integer too large",
             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01);
    LEB_FAIL(reader_s64, int64_t, "integer representation too long",
             0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);

    static const uint8_t s33_max[] = { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F };  /* 2^32 - 1 */
    Reader r = reader_of(s33_max, sizeof s33_max);
    int64_t v;
    ck_assert(reader_s33(&r, &v));
    ck_assert(v == 0xFFFFFFFFll);
    LEB_FAIL(reader_s33, int64_t, "integer too large", 0xFF, 0xFF, 0xFF, 0xFF, 0x2F);

    static const uint8_t u64_max[] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
    uint64_t u;
    r = reader_of(u64_max, sizeof u64_max);
    ck_assert(reader_u64(&r, &u));
    ck_assert(u == UINT64_MAX);
    LEB_FAIL(reader_u64, uint64_t, "integer too large",
             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x03);
}
END_TEST

/* ---- the header and the section framing (5.5.2, 5.5.16) -------------------------- */

START_TEST(header)
{
    EXPECT_FAIL(LOAD_MALFORMED, "unexpected end", 0x00, 0x61);
    EXPECT_FAIL(LOAD_MALFORMED, "magic header not detected", 0x00, 0x41, 0x53, 0x4D, 1, 0, 0, 0);
    EXPECT_FAIL(LOAD_MALFORMED, "unexpected end", 0x00, 0x61, 0x73, 0x6D, 1);
    EXPECT_FAIL(LOAD_MALFORMED, "unknown binary version", 0x00, 0x61, 0x73, 0x6D, 2, 0, 0, 0);
    LoadError err;
    Module *m = LOAD(&err, HEADER);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->nfuncs, 0);
    loader_release(m);
}
END_TEST

START_TEST(section_framing)
{
    MALFORMED("malformed section id", 0x0D, 0x00);
    MALFORMED("length out of bounds", 0x01, 0x09, 0x00);           /* size past the end */
    MALFORMED("section size mismatch", 0x01, 0x05, 0x01, 0x60, 0x00, 0x00, 0x00);
    MALFORMED("unexpected content after last section", ONE_FUNC, TYPE_VOID);
    MALFORMED("unexpected content after last section", TYPE_VOID, TYPE_VOID);
    MALFORMED("length out of bounds",                              /* vec(0xFFFFFFFF) */
              0x01, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
    MALFORMED("unexpected end of section or function", 0x04, 0x01, 0x01);
}
END_TEST

/* ---- each section's own errors ------------------------------------------------------- */

START_TEST(type_and_import_sections)
{
    MALFORMED("malformed function type", 0x01, 0x04, 0x01, 0x61, 0x00, 0x00);
    MALFORMED("malformed value type", 0x01, 0x05, 0x01, 0x60, 0x01, 0x6E, 0x00);
    MALFORMED("malformed import kind", 0x02, 0x04, 0x01, 0x00, 0x00, 0x04);
    MALFORMED("malformed mutability",                                    /* global, mut 2 */
              0x02, 0x06, 0x01, 0x00, 0x00, 0x03, 0x7F, 0x02);
    MALFORMED("malformed UTF-8 encoding",                                /* module name "\xff" */
              0x02, 0x06, 0x01, 0x01, 0xFF, 0x00, 0x00, 0x00);
    INVALID("unknown type", 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00);   /* no type 0 */
}
END_TEST

START_TEST(table_memory_global_sections)
{
    MALFORMED("malformed reference type", 0x04, 0x04, 0x01, 0x7F, 0x00, 0x00);
    MALFORMED("integer too large", 0x05, 0x03, 0x01, 0x02, 0x00);          /* limits flag 2 */
    INVALID("memory size must be at most 65536 pages (4GiB)",
            0x05, 0x05, 0x01, 0x00, 0x81, 0x80, 0x04);                      /* min 65537 */
    INVALID("size minimum must not be greater than maximum",
            0x05, 0x04, 0x01, 0x01, 0x02, 0x01);
    INVALID("multiple memories", 0x05, 0x05, 0x02, 0x00, 0x00, 0x00, 0x00);
    INVALID("constant expression required", 0x06, 0x05, 0x01, 0x7F, 0x00, 0x01, 0x0B);
    INVALID("type mismatch", 0x06, 0x06, 0x01, 0x7F, 0x00, 0x42, 0x00, 0x0B);
    INVALID("unknown global", 0x06, 0x06, 0x01, 0x7F, 0x00, 0x23, 0x00, 0x0B);
    INVALID("global is immutable",
            TYPE_VOID, ONE_FUNC,
            0x06, 0x06, 0x01, 0x7F, 0x00, 0x41, 0x00, 0x0B,                 /* global i32 0 */
            0x0A, 0x08, 0x01, 0x06, 0x00, 0x41, 0x01, 0x24, 0x00, 0x0B);     /* global.set 0 */
}
END_TEST

START_TEST(export_start_elem_data_sections)
{
    INVALID("duplicate export name",
            TYPE_VOID, ONE_FUNC,
            0x07, 0x09, 0x02, 0x01, 'a', 0x00, 0x00, 0x01, 'a', 0x00, 0x00,
            EMPTY_BODY);
    INVALID("unknown function", 0x07, 0x05, 0x01, 0x01, 'a', 0x00, 0x03);
    INVALID("start function",
            0x01, 0x05, 0x01, 0x60, 0x01, 0x7F, 0x00,                        /* [i32] -> [] */
            ONE_FUNC, 0x08, 0x01, 0x00, EMPTY_BODY);
    MALFORMED("malformed elements segment kind", 0x09, 0x02, 0x01, 0x08);
    MALFORMED("data count and data section have inconsistent lengths", 0x0C, 0x01, 0x01);
    MALFORMED("data count section required",
              TYPE_VOID, ONE_FUNC, 0x05, 0x03, 0x01, 0x00, 0x00,
              0x0A, 0x07, 0x01, 0x05, 0x00, 0xFC, 0x09, 0x00, 0x0B,          /* data.drop 0 */
              0x0B, 0x03, 0x01, 0x01, 0x00);                                 /* passive data */
    INVALID("unknown data segment",
            TYPE_VOID, ONE_FUNC, 0x05, 0x03, 0x01, 0x00, 0x00, 0x0C, 0x01, 0x00,
            0x0A, 0x07, 0x01, 0x05, 0x00, 0xFC, 0x09, 0x00, 0x0B);
    INVALID("unknown memory", 0x0B, 0x06, 0x01, 0x00, 0x41, 0x00, 0x0B, 0x00);
}
END_TEST

START_TEST(code_section)
{
    MALFORMED("function and code section have inconsistent lengths", TYPE_VOID, ONE_FUNC);
    MALFORMED("function and code section have inconsistent lengths", TYPE_VOID,
              0x0A, 0x04, 0x01, 0x02, 0x00, 0x0B);
    MALFORMED("too many locals", TYPE_VOID, ONE_FUNC,
              0x0A, 0x0A, 0x01, 0x08, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x0B);
    MALFORMED("illegal opcode", TYPE_VOID, ONE_FUNC, 0x0A, 0x05, 0x01, 0x03, 0x00, 0xFF, 0x0B);
    MALFORMED("unexpected end of section or function",               /* no final end */
              TYPE_VOID, ONE_FUNC, 0x0A, 0x04, 0x01, 0x02, 0x00, 0x01);
    MALFORMED("section size mismatch",                               /* bytes after end */
              TYPE_VOID, ONE_FUNC, 0x0A, 0x05, 0x01, 0x03, 0x00, 0x0B, 0x01);
    MALFORMED("END opcode expected",                                 /* else in a block */
              TYPE_VOID, ONE_FUNC, 0x0A, 0x08, 0x01, 0x06, 0x00, 0x02, 0x40, 0x05, 0x0B, 0x0B);
    MALFORMED("zero byte expected",                                  /* memory.size 1 */
              TYPE_VOID, ONE_FUNC, 0x05, 0x03, 0x01, 0x00, 0x00,
              0x0A, 0x07, 0x01, 0x05, 0x00, 0x3F, 0x01, 0x1A, 0x0B);
    EXPECT_FAIL(LOAD_UNSUPPORTED, "SIMD is not supported",
                HEADER, TYPE_VOID, ONE_FUNC, 0x0A, 0x05, 0x01, 0x03, 0x00, 0xFD, 0x0B);
    EXPECT_FAIL(LOAD_UNSUPPORTED, "SIMD is not supported",               /* a v128 local */
                HEADER, TYPE_VOID, ONE_FUNC, 0x0A, 0x06, 0x01, 0x04, 0x01, 0x01, 0x7B, 0x0B);
}
END_TEST

/* ---- validation (spec 3.3 and the appendix's algorithm) ---------------------------- */

START_TEST(validation)
{
    INVALID("type mismatch",                          /* i64.const 1; i32.const 2; i32.add */
            TYPE_VOID, ONE_FUNC,
            0x0A, 0x0A, 0x01, 0x08, 0x00, 0x42, 0x01, 0x41, 0x02, 0x6A, 0x1A, 0x0B);
    INVALID("type mismatch",                          /* a value left over at the end */
            TYPE_VOID, ONE_FUNC, 0x0A, 0x06, 0x01, 0x04, 0x00, 0x41, 0x00, 0x0B);
    INVALID("unknown local", TYPE_VOID, ONE_FUNC,
            0x0A, 0x07, 0x01, 0x05, 0x00, 0x20, 0x05, 0x1A, 0x0B);
    INVALID("unknown label", TYPE_VOID, ONE_FUNC,
            0x0A, 0x06, 0x01, 0x04, 0x00, 0x0C, 0x01, 0x0B);
    INVALID("unknown function", TYPE_VOID, ONE_FUNC,
            0x0A, 0x06, 0x01, 0x04, 0x00, 0x10, 0x07, 0x0B);
    INVALID("alignment must not be larger than natural",  /* i32.load align=3 */
            TYPE_VOID, ONE_FUNC, 0x05, 0x03, 0x01, 0x00, 0x00,
            0x0A, 0x0A, 0x01, 0x08, 0x00, 0x41, 0x00, 0x28, 0x03, 0x00, 0x1A, 0x0B);
    INVALID("undeclared function reference",          /* ref.func 0; drop */
            TYPE_VOID, ONE_FUNC, 0x0A, 0x07, 0x01, 0x05, 0x00, 0xD2, 0x00, 0x1A, 0x0B);

    /* Unreachable code is typed with Unknown operands: `unreachable; i32.add; drop` is
     * valid, and the same function with an export may take ref.func 0. */
    LoadError err;
    Module *m = LOAD(&err, HEADER, TYPE_VOID, ONE_FUNC,
                     0x07, 0x05, 0x01, 0x01, 'f', 0x00, 0x00,
                     0x0A, 0x0A, 0x01, 0x08, 0x00, 0x00, 0x6A, 0x1A, 0xD2, 0x00, 0x1A, 0x0B);
    ck_assert_msg(m != NULL, "%s", err.message);
    loader_release(m);
}
END_TEST

START_TEST(max_height_and_canon)
{
    LoadError err;
    Module *m = LOAD(&err, HEADER,
                     0x01, 0x07, 0x02, 0x60, 0x00, 0x00, 0x60, 0x00, 0x00,     /* two [] -> [] */
                     0x03, 0x02, 0x01, 0x01,
                     /* i32.const 1; i32.const 2; i32.add; drop; end */
                     0x0A, 0x0A, 0x01, 0x08, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6A, 0x1A, 0x0B);
    ck_assert_msg(m != NULL, "%s", err.message);
    ck_assert_uint_eq(m->funcs[0].max_height, 2);
    ck_assert_uint_eq(m->funcs[0].code_len, 7);
    ck_assert_uint_eq(m->funcs[0].code[m->funcs[0].code_len - 1], 0x0B);
    ck_assert_uint_eq(m->types[0].canon, 0);
    ck_assert_uint_eq(m->types[1].canon, 0);
    loader_release(m);
}
END_TEST

/* ---- custom and name sections (5.5.3, 7.4) ------------------------------------------ */

#define TWO_FUNCS 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x03, 0x02, 0x00, 0x00, \
                  0x0A, 0x07, 0x02, 0x02, 0x00, 0x0B, 0x02, 0x00, 0x0B

START_TEST(name_section)
{
    LoadError err;
    Module *m = LOAD(&err, HEADER, TWO_FUNCS,
                     0x00, 0x14, 0x04, 'n', 'a', 'm', 'e',
                     0x00, 0x04, 0x03, 'm', 'o', 'd',                  /* module name */
                     0x01, 0x07, 0x02, 0x00, 0x01, 'f', 0x01, 0x01, 'g'); /* function names */
    ck_assert_msg(m != NULL, "%s", err.message);
    ck_assert_str_eq(m->name, "mod");
    ck_assert_str_eq(m->funcs[0].name, "f");
    ck_assert_str_eq(m->funcs[1].name, "g");
    ck_assert_uint_eq(m->ncustoms, 1);
    ck_assert_str_eq(m->customs[0].name.str, "name");
    ck_assert_uint_eq(m->customs[0].len, 0x14 - 5);
    loader_release(m);
}
END_TEST

START_TEST(bad_name_section_is_ignored)
{
    LoadError err;
    /* function index 5 does not exist: the whole section is ignored, the module loads */
    Module *m = LOAD(&err, HEADER, TWO_FUNCS,
                     0x00, 0x11, 0x04, 'n', 'a', 'm', 'e',
                     0x00, 0x04, 0x03, 'm', 'o', 'd',
                     0x01, 0x04, 0x01, 0x05, 0x01, 'f');
    ck_assert_msg(m != NULL, "%s", err.message);
    ck_assert_ptr_null(m->name);
    ck_assert_ptr_null(m->funcs[0].name);
    loader_release(m);

    m = LOAD(&err, HEADER, TWO_FUNCS, 0x00, 0x07, 0x04, 'n', 'a', 'm', 'e', 0xFF, 0xFF);
    ck_assert_msg(m != NULL, "%s", err.message);
    ck_assert_ptr_null(m->name);
    loader_release(m);

    /* but a custom section's own name must be valid UTF-8 */
    MALFORMED("malformed UTF-8 encoding", 0x00, 0x03, 0x02, 0xC0, 0x80);
}
END_TEST

/* ---- instructions ------------------------------------------------------------------- */

START_TEST(instr_tables)
{
    ck_assert_str_eq(instr_name(OP_I32_ADD), "i32.add");
    ck_assert_str_eq(instr_name(OP_LOCAL_GET), "local.get");
    ck_assert_str_eq(instr_name(OP_BR_IF), "br_if");
    ck_assert_str_eq(instr_name(OP_CALL_INDIRECT), "call_indirect");
    ck_assert_str_eq(instr_name(OP_I32_TRUNC_SAT_F32_S), "i32.trunc_sat_f32_s");
    ck_assert_str_eq(instr_name(OP_REF_IS_NULL), "ref.is_null");
    ck_assert_str_eq(instr_name(OP_SELECT_T), "select");
    ck_assert_str_eq(instr_name((Opcode)0xFF), "?");
    ck_assert_uint_eq(instr_width(OP_I64_LOAD32_U), 4);
    ck_assert_uint_eq(instr_width(OP_I32_ADD), 0);
    ck_assert_int_eq(instr_imm_kind(OP_MEMORY_INIT), IMM_DATA_MEMORY);
    ck_assert_int_eq(instr_sig(OP_F64_ADD), SIG_FF_F);
}
END_TEST

START_TEST(instr_decoding)
{
    static const uint8_t code[] = {
        0x41, 0x7F,                   /* i32.const -1 */
        0x0E, 0x02, 0x00, 0x01, 0x02, /* br_table 0 1 default 2 */
        0x28, 0x02, 0x10,             /* i32.load align=2 offset=16 */
        0x02, 0x40,                   /* block (empty) */
        0xFC, 0x0E, 0x01, 0x02,       /* table.copy 1 2 */
        0x44, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, /* f64.const 1.0 */
    };
    Reader r = reader_of(code, sizeof code);
    Instr in;
    LoadError err;
    ck_assert(instr_decode(&r, &in, &err));
    ck_assert_int_eq(in.op, OP_I32_CONST);
    ck_assert_int_eq(in.imm.i32, -1);
    ck_assert(instr_decode(&r, &in, &err));
    ck_assert_int_eq(in.op, OP_BR_TABLE);
    ck_assert_uint_eq(in.imm.br_table.count, 2);
    Reader labels = { in.imm.br_table.labels, r.end, code };
    uint32_t l;
    for (uint32_t k = 0; k <= 2; k++) {
        ck_assert(reader_u32(&labels, &l));
        ck_assert_uint_eq(l, k);
    }
    ck_assert(instr_decode(&r, &in, &err));
    ck_assert_uint_eq(in.imm.memarg.align, 2);
    ck_assert_uint_eq(in.imm.memarg.offset, 16);
    ck_assert(instr_decode(&r, &in, &err));
    ck_assert(in.imm.block.empty);
    ck_assert(instr_decode(&r, &in, &err));
    ck_assert_int_eq(in.op, OP_TABLE_COPY);
    ck_assert_uint_eq(in.imm.pair.a, 1);
    ck_assert_uint_eq(in.imm.pair.b, 2);
    ck_assert(instr_decode(&r, &in, &err));
    ck_assert(in.imm.f64_bits == 0x3FF0000000000000ull);
    ck_assert_uint_eq(in.offset, 16);
    ck_assert_ptr_eq(r.p, r.end);
    ck_assert(!instr_decode(&r, &in, &err));                      /* nothing left */
}
END_TEST

/* ---- the cache ---------------------------------------------------------------------- */

static int freed;
static void count_free(void *p)
{
    (void)p;
    freed++;
}

static const uint8_t cache_module[] = { HEADER, TWO_FUNCS };

START_TEST(cache_shares_and_counts)
{
    LoadError err;
    uint8_t copy[sizeof cache_module];
    memcpy(copy, cache_module, sizeof copy);
    Module *a = loader_load(cache_module, sizeof cache_module, &err);
    Module *b = loader_load(copy, sizeof copy, &err);       /* same bytes, other buffer */
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(a, b);
    Module *c = loader_load_uncached(cache_module, sizeof cache_module, &err);
    ck_assert_ptr_ne(a, c);
    loader_release(c);

    static int code;
    freed = 0;
    ck_assert_ptr_eq(loader_set_compiled(a, &code, count_free), &code);
    ck_assert_ptr_eq(loader_set_compiled(a, &freed, count_free), &code); /* first one wins */
    loader_retain(a);
    loader_release(a);
    loader_release(b);
    ck_assert_int_eq(freed, 0);                               /* one reference left */
    Module *d = loader_load(cache_module, sizeof cache_module, &err);
    ck_assert_ptr_eq(d, a);
    loader_release(a);
    loader_release(d);
    ck_assert_int_eq(freed, 1);                               /* freed with the module */
}
END_TEST

static void *load_many(void *arg)
{
    Module **out = arg;
    LoadError err;
    for (int i = 0; i < 200; i++) {
        Module *m = loader_load(cache_module, sizeof cache_module, &err);
        if (i == 0)
            *out = m;
        else
            loader_release(m);
    }
    return NULL;
}

START_TEST(cache_is_thread_safe)
{
    pthread_t th[4];
    Module *got[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, load_many, &got[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_nonnull(got[i]);
        ck_assert_ptr_eq(got[i], got[0]);
    }
    for (int i = 0; i < 4; i++)
        loader_release(got[i]);
}
END_TEST

/* Threads that each load, retain, release and drop the same bytes, so that the count
 * reaches zero while other threads look the module up: a lookup must never revive a module
 * that is being freed (cache.c, retain_unless_dying), and a compiled pointer once published
 * is the one every thread reads. Under ASan a use-after-free here would show. */
static void *load_release_churn(void *arg)
{
    static int code;              /* stands for compiled code: only its address matters */
    LoadError err;
    for (int i = 0; i < 20000; i++) {
        Module *m = loader_load(cache_module, sizeof cache_module, &err);
        if (!m)
            return "load failed";
        if (i & 1) {
            loader_retain(m);
            loader_release(m);
        }
        if (i % 7 == 0)
            (void)loader_set_compiled(m, &code, NULL);
        const void *c = loader_compiled(m);
        loader_release(m);
        if (c && c != &code)
            return "another compiled pointer";
    }
    return NULL;
}

START_TEST(cache_release_races_lookup)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, load_release_churn, NULL);
    for (int i = 0; i < 4; i++) {
        void *why;
        pthread_join(th[i], &why);
        ck_assert_msg(why == NULL, "%s", (const char *)why);
    }
}
END_TEST

START_TEST(error_format)
{
    LoadError err;
    char buf[200];
    Module *m = LOAD(&err, HEADER, 0x0D, 0x00);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(loader_error_format(&err, buf, sizeof buf),
                     "section '?' at offset 0x8: malformed section id 13");
    m = LOAD(&err, HEADER, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x03, 0x02, 0x00, 0x00,
             0x07, 0x05, 0x01, 0x01, 'f', 0x00, 0x01,                   /* export "f" = 1 */
             0x0A, 0x07, 0x02, 0x02, 0x00, 0x0B, 0x02, 0x00, 0x0B);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(loader_find_export(m, "f"));
    ck_assert_uint_eq(loader_find_export(m, "f")->index, 1);
    ck_assert_ptr_null(loader_find_export(m, "g"));
    loader_release(m);
}
END_TEST

Suite *loader_suite(void)
{
    Suite *s = suite_create("loader");
    TCase *t = tcase_create("leb128");
    tcase_add_test(t, leb_u32);
    tcase_add_test(t, leb_s32);
    tcase_add_test(t, leb_s64_s33_u64);
    suite_add_tcase(s, t);

    t = tcase_create("sections");
    tcase_add_test(t, header);
    tcase_add_test(t, section_framing);
    tcase_add_test(t, type_and_import_sections);
    tcase_add_test(t, table_memory_global_sections);
    tcase_add_test(t, export_start_elem_data_sections);
    tcase_add_test(t, code_section);
    tcase_add_test(t, name_section);
    tcase_add_test(t, bad_name_section_is_ignored);
    suite_add_tcase(s, t);

    t = tcase_create("validation");
    tcase_add_test(t, validation);
    tcase_add_test(t, max_height_and_canon);
    suite_add_tcase(s, t);

    t = tcase_create("instructions");
    tcase_add_test(t, instr_tables);
    tcase_add_test(t, instr_decoding);
    suite_add_tcase(s, t);

    t = tcase_create("cache");
    tcase_add_test(t, cache_shares_and_counts);
    tcase_add_test(t, cache_is_thread_safe);
    tcase_add_test(t, cache_release_races_lookup);
    tcase_add_test(t, error_format);
    suite_add_tcase(s, t);
    return s;
}
