/*
 * loader_internal.h — what the files of loader/ share and nobody else sees.
 *
 * The loader runs in two passes, like the spec's reference interpreter:
 *   1. decode.c / decode_code.c read every section (spec chapter 5). This pass reports
 *      only malformed input (LOAD_MALFORMED): bad LEB128, truncation, unknown opcodes,
 *      sections out of order... Function bodies and constant expressions are scanned
 *      instruction by instruction so that an illegal opcode is a decoding error, but
 *      nothing is type-checked yet.
 *   2. validate_module.c checks the module (spec 3.4) and validate.c every function
 *      body and constant expression (spec 3.3 and the appendix "Validation Algorithm").
 *      This pass reports LOAD_INVALID.
 * Doing all decoding first means a module that is both malformed and invalid is reported
 * as malformed, which is what the spec test suite expects.
 *
 * Read next: reader.c (LEB128), instr.c (one instruction), decode.c (sections).
 */
#ifndef LVM_LOADER_INTERNAL_H
#define LVM_LOADER_INTERNAL_H

#include <stdarg.h>

#include "instr.h"
#include "loader.h"

/* The messages a Reader leaves in reader_error; compared by pointer in decode.c. */
extern const char READER_END[];      /* "unexpected end" */
extern const char READER_TOO_LONG[]; /* "integer representation too long" */
extern const char READER_TOO_LARGE[];/* "integer too large" */

/* Implementation limits (spec appendix "Implementation Limitations"). */
#define LOADER_MAX_LOCALS 50000u     /* declared locals per function, excluding params */
#define LOADER_MAX_PARAMS 1000u      /* params or results per function type */

/* Read n raw bytes (pointer into the module). */
bool reader_bytes(Reader *r, uint32_t n, const uint8_t **out);

/* Is [s, s+len) well-formed UTF-8 (spec 5.2.4: no overlong forms, no surrogates,
 * nothing above U+10FFFF)? */
bool loader_utf8_valid(const uint8_t *s, uint32_t len);

/* Fill err and return false, so failure paths read `return load_fail(...)`. */
bool load_fail(LoadError *err, LoadErrorKind kind, const char *section, size_t offset,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A constant expression seen by the decoder, to be type-checked by the validator.
 * The decoder fills `*out` from the first instruction; the validator checks that the
 * expression really is that one constant instruction followed by `end`. */
typedef enum ConstContext {
    CONSTCTX_GLOBAL,    /* global initializer: only imported globals are visible */
    CONSTCTX_OFFSET,    /* element/data segment offset */
    CONSTCTX_ELEM,      /* element segment item */
} ConstContext;

typedef struct PendingExpr {
    ConstExpr *out;
    const uint8_t *start, *end;   /* the instructions, `end` excluded */
    ValType expected;
    ConstContext ctx;
    const char *section;
} PendingExpr;

/* What pass 1 hands to pass 2 beyond the Module itself. */
typedef struct DecodeExtras {
    PendingExpr *exprs;
    uint32_t nexprs, cap_exprs;
    /* Where each piece was found, for error messages of pass 2. */
    uint32_t *import_offsets;     /* per import */
    uint32_t *func_offsets;       /* per defined function: its entry in the function section */
    uint32_t *export_offsets;     /* per export */
    uint32_t *table_offsets, *memory_offsets, *elem_offsets, *data_offsets;
    uint32_t start_offset;
    uint32_t data_count;          /* from the data count section, if any */
    bool seen_data;               /* there is a data section */
    uint32_t data_use;            /* offset + 1 of the first data index used in code */
} DecodeExtras;

void decode_extras_free(DecodeExtras *x);

/* ---- pass 1 helpers, shared by decode.c and decode_code.c ------------------------ */

/* The state of pass 1: the module being filled and the section being read. */
typedef struct Decoder {
    Module *m;
    DecodeExtras *x;
    LoadError *err;
    Reader r;                 /* bounded by the module's end, as in the reference decoder */
    const uint8_t *section_end;
    const char *section;      /* its name, for error messages */
} Decoder;

/* Malformed input at byte `at`; always returns false. */
bool dec_fail(Decoder *d, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool dec_u8(Decoder *d, uint8_t *out);
bool dec_u32(Decoder *d, uint32_t *out);
/* A vector length or byte count (the reference decoder's len32): it may not exceed the
 * bytes left in the module, counted from the length itself, else "length out of
 * bounds". This also bounds every allocation by the size of the input. */
bool dec_count(Decoder *d, uint32_t *out);
bool dec_name(Decoder *d, Name *out);
bool dec_valtype(Decoder *d, ValType *out);
bool dec_reftype(Decoder *d, ValType *out);
/* A constant expression: scanned now, type-checked in pass 2 (see PendingExpr). */
bool dec_const_expr(Decoder *d, ConstExpr *out, ValType expected, ConstContext ctx);
/* Zeroed array of n items of size `size`; false (LOAD_NO_MEMORY) if allocation fails. */
bool dec_alloc(Decoder *d, void **out, size_t n, size_t size);

bool decode_element_section(Decoder *d);
bool decode_data_section(Decoder *d);
bool decode_code_section(Decoder *d);

/* Pass 1: decode all sections into m (which owns a copy of the bytes already). */
bool decode_module(Module *m, DecodeExtras *x, LoadError *err);

/* Scan one function body or constant expression for well-formedness (pass 1): read
 * instructions from r up to and including the `end` that closes the outermost block.
 * If data_use is not NULL and *data_use is 0, the offset + 1 of the first memory.init or
 * data.drop goes there (they need a data count section, checked at the end). */
bool decode_scan_expr(Reader *r, const char *section, uint32_t *data_use, LoadError *err);

/* Pass 2. */
bool validate_module(Module *m, DecodeExtras *x, LoadError *err);
bool validate_function(const Module *m, uint32_t funcidx, const uint8_t *declared_refs,
                       uint32_t *max_height, LoadError *err);
bool validate_const_expr(const Module *m, const PendingExpr *e, LoadError *err);

/* Free everything a (possibly half-built) Module owns, but not the Module itself. */
void module_free_contents(Module *m);

/* Allocate a zeroed Module with room for the cache's bookkeeping (cache.c). */
Module *module_alloc(void);
/* Free a module allocated by module_alloc, contents included. */
void module_destroy(Module *m);

/* Read the "name" custom section into Func.name / Module.name (names.c). Never fails:
 * a malformed name section is ignored, as the spec asks of custom sections. */
void names_read(Module *m, const uint8_t *p, uint32_t len);

/* A printable name of a value type ("i32", "funcref", ...). */

#endif
