/*
 * loader.h — bytes in, validated immutable Module out.
 *
 * Where it sits: the first step of the flow (DESIGN.md). decode.c reads every section of
 * the binary format (spec chapter 5), validate.c checks every function body with the
 * spec's algorithm (spec appendix "Validation Algorithm"), cache.c keeps one Module per
 * distinct byte string (keyed by an xxHash of the bytes) so that loading the same bytes
 * twice costs a hash and a lookup.
 *
 * Read next: module.h for the structures, then decode.c.
 */
#ifndef LVM_LOADER_LOADER_H
#define LVM_LOADER_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "module.h"

/* What went wrong while loading: which kind of failure, where, and a message.
 * `message` follows the spec test suite's wording where the suite names one
 * (e.g. "unexpected end", "type mismatch", "unknown function"), prefixed by
 * nothing: callers add the section and offset when printing (see loader_error_format). */
typedef enum LoadErrorKind {
    LOAD_OK = 0,
    LOAD_MALFORMED,   /* the bytes do not follow the binary format (assert_malformed) */
    LOAD_INVALID,     /* well-formed but fails validation (assert_invalid) */
    LOAD_UNSUPPORTED, /* valid Wasm we do not implement (SIMD) or over an implementation limit */
    LOAD_NO_MEMORY,
} LoadErrorKind;

typedef struct LoadError {
    LoadErrorKind kind;
    size_t offset;        /* byte offset in the module where the problem was found */
    const char *section;  /* "type", "import", "code", … or "header" */
    char message[160];
} LoadError;

/* Decode and validate `size` bytes. Returns a Module with a reference count of 1, or
 * NULL with `err` filled. The bytes are copied; the caller keeps ownership of its buffer.
 * Identical bytes return the same Module (reference count incremented). Thread-safe. */
Module *loader_load(const uint8_t *bytes, size_t size, LoadError *err)
    __attribute__((warn_unused_result));

/* loader_load taking `bytes`, a malloc'd buffer, in every case: the module keeps it
 * rather than a copy (or it is freed). For bytes read from a file there is then one copy
 * of them in memory, not two at the peak. */
Module *loader_load_owned(uint8_t *bytes, size_t size, LoadError *err)
    __attribute__((warn_unused_result));

/* Same as loader_load, bypassing the cache (for tests and tools). */
Module *loader_load_uncached(const uint8_t *bytes, size_t size, LoadError *err)
    __attribute__((warn_unused_result));

/* Take another reference / drop one. The last release frees the module. Thread-safe and
 * lock-free, but for the last release of a cached module (which unlinks it). */
void loader_retain(Module *m);
void loader_release(Module *m);

/* vm/'s compiled form of m, or NULL if none is attached yet. Lock-free: an acquire load,
 * so the code it points to is seen complete. */
void *loader_compiled(const Module *m);

/* Attach vm/'s compiled form to m, once (Module.compiled is the one mutable field).
 * If m has none yet, stores `compiled` and `free_compiled` (called when the module is
 * freed) and returns `compiled`; otherwise returns the code already attached, and the
 * caller frees its own copy. Thread-safe: runs under the cache lock, and publishes with a
 * release store for loader_compiled. */
void *loader_set_compiled(Module *m, void *compiled, void (*free_compiled)(void *));

/* Write "section 'code' at offset 0x1f: type mismatch" into buf. Returns buf. */
const char *loader_error_format(const LoadError *err, char *buf, size_t len);

/* The text-format name of a value type ("i32", "funcref"; "unknown" for 0, the
 * validator's unknown type). */
const char *valtype_name(uint8_t t);

/* The whole file at path, malloc'ed (*size bytes; the caller frees it), or NULL with
 * strerror's words (or "out of memory") in err. */
uint8_t *loader_read_file(const char *path, size_t *size, char *err, size_t errlen);

/* Find an export by name, or NULL. */
const Export *loader_find_export(const Module *m, const char *name);

/* Reading LEB128 and bytes with bounds checks, shared with tools and unit tests. */
typedef struct Reader {
    const uint8_t *p;     /* next byte */
    const uint8_t *end;   /* one past the last readable byte */
    const uint8_t *base;  /* start of the module, for offsets */
} Reader;

bool reader_u8(Reader *r, uint8_t *out);
bool reader_u32(Reader *r, uint32_t *out);  /* unsigned LEB128, at most 5 bytes */
bool reader_s32(Reader *r, int32_t *out);   /* signed LEB128, at most 5 bytes */
bool reader_s33(Reader *r, int64_t *out);   /* signed LEB128 blocktype index, at most 5 bytes */
bool reader_s64(Reader *r, int64_t *out);   /* signed LEB128, at most 10 bytes */
bool reader_u64(Reader *r, uint64_t *out);
/* On failure each returns false and leaves a message for the caller ("integer
 * representation too long", "integer too large", "unexpected end") in reader_error. */
extern _Thread_local const char *reader_error;

#endif
