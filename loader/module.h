/*
 * module.h — the decoded, validated, immutable form of a Wasm module.
 *
 * Where it sits: loader/ turns bytes into a Module (loader.h); vm/compile.c turns each
 * function body of a Module into threaded code; vm/instance.c instantiates it. Nothing
 * here changes after loader_load() returns, so one Module is shared by every instance
 * (and, later, by every process) spawned from the same bytes.
 *
 * Read next: loader.h (how to get one), then vm/compile.c.
 *
 * Index spaces (spec 2.5.1): functions, tables, memories and globals are numbered with
 * the imports first, then the module's own definitions. The arrays below hold the
 * whole index space, so `funcs[i]` is function i whether imported or defined.
 */
#ifndef LVM_LOADER_MODULE_H
#define LVM_LOADER_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value types, with their binary encodings (spec 5.3.1–5.3.3). */
typedef enum ValType {
    VT_I32 = 0x7F,
    VT_I64 = 0x7E,
    VT_F32 = 0x7D,
    VT_F64 = 0x7C,
    VT_V128 = 0x7B, /* decoded so we can say "SIMD is not supported", never validated */
    VT_FUNCREF = 0x70,
    VT_EXTERNREF = 0x6F,
} ValType;

/* A name as it appears in the binary: UTF-8, not NUL-terminated inside the bytes
 * (it may even contain U+0000). `str` is NUL-terminated for convenience. */
typedef struct Name {
    char *str;
    uint32_t len;
} Name;

/* Function type (spec 2.3.3). `types` holds params then results. Types that are
 * structurally equal within one module share one canonical index (`canon`), so
 * call_indirect inside a module compares two integers. */
typedef struct FuncType {
    uint32_t nparams;
    uint32_t nresults;
    ValType *types;    /* nparams + nresults entries */
    uint32_t canon;    /* index of the first structurally equal type in this module */
} FuncType;

static inline const ValType *functype_params(const FuncType *t) { return t->types; }
static inline const ValType *functype_results(const FuncType *t) { return t->types + t->nparams; }

typedef struct Limits {
    uint32_t min;
    uint32_t max;     /* meaningful only if has_max */
    bool has_max;
} Limits;

typedef struct TableType {
    ValType elem;     /* VT_FUNCREF or VT_EXTERNREF */
    Limits limits;
} TableType;

typedef struct GlobalType {
    ValType type;
    bool mutable_;
} GlobalType;

typedef enum ExternKind {
    EXTERN_FUNC = 0,
    EXTERN_TABLE = 1,
    EXTERN_MEMORY = 2,
    EXTERN_GLOBAL = 3,
} ExternKind;

/* A constant expression (spec 3.3.10). Wasm 2.0 allows exactly one instruction before
 * `end`: t.const, ref.null t, ref.func x, or global.get x (of an imported global). */
typedef enum ConstKind {
    CONST_VALUE,      /* value holds the bits of an i32/i64/f32/f64 constant */
    CONST_REF_NULL,   /* value unused; type says which null */
    CONST_REF_FUNC,   /* index is a funcidx */
    CONST_GLOBAL_GET, /* index is a globalidx */
} ConstKind;

typedef struct ConstExpr {
    ConstKind kind;
    ValType type;     /* the expression's result type */
    uint32_t index;
    uint64_t value;   /* i32 zero-extended; f32/f64 as raw bits */
} ConstExpr;

typedef struct Import {
    Name module;
    Name name;
    ExternKind kind;
    uint32_t index;   /* its index in the index space of its kind */
} Import;

typedef struct Export {
    Name name;
    ExternKind kind;
    uint32_t index;
} Export;

/* One function of the function index space. For imports, `code` is NULL. */
typedef struct Func {
    uint32_t typeidx;
    bool imported;
    uint32_t nlocals;         /* declared locals, excluding parameters */
    ValType *local_types;     /* nlocals entries */
    const uint8_t *code;      /* body instructions (after the locals), ending with 0x0B */
    uint32_t code_len;
    uint32_t code_offset;     /* byte offset of `code` in the module, for error messages */
    uint32_t max_height;      /* validator: highest operand stack height reached */
    const char *name;         /* from the name section, or NULL */
} Func;

typedef struct Table {
    TableType type;
    bool imported;
} Table;

typedef struct Memory {
    Limits limits;            /* in 64 KiB pages */
    bool imported;
} Memory;

typedef struct Global {
    GlobalType type;
    bool imported;
    ConstExpr init;           /* only for defined globals */
} Global;

typedef enum SegmentMode {
    SEG_ACTIVE,
    SEG_PASSIVE,
    SEG_DECLARATIVE,          /* element segments only */
} SegmentMode;

typedef struct ElemSegment {
    SegmentMode mode;
    ValType type;             /* VT_FUNCREF or VT_EXTERNREF */
    uint32_t table;           /* active only */
    ConstExpr offset;         /* active only; an i32 expression */
    uint32_t count;
    ConstExpr *inits;         /* count entries: CONST_REF_FUNC, CONST_REF_NULL or CONST_GLOBAL_GET */
} ElemSegment;

typedef struct DataSegment {
    SegmentMode mode;
    uint32_t memory;          /* active only */
    ConstExpr offset;         /* active only */
    const uint8_t *bytes;     /* points into Module.bytes */
    uint32_t len;
} DataSegment;

typedef struct CustomSection {
    Name name;
    const uint8_t *bytes;     /* contents after the name, pointing into Module.bytes */
    uint32_t len;
} CustomSection;

typedef struct Module {
    uint8_t *bytes;           /* owned copy of the binary; code and data point into it */
    size_t size;
    uint64_t hash;            /* XXH3 of the bytes: the cache key */

    uint32_t ntypes;
    FuncType *types;

    uint32_t nimports;
    Import *imports;

    uint32_t nfuncs, nimported_funcs;
    Func *funcs;

    uint32_t ntables, nimported_tables;
    Table *tables;

    uint32_t nmemories, nimported_memories;
    Memory *memories;

    uint32_t nglobals, nimported_globals;
    Global *globals;

    uint32_t nexports;
    Export *exports;

    bool has_start;
    uint32_t start;

    uint32_t nelems;
    ElemSegment *elems;

    uint32_t ndatas;
    DataSegment *datas;
    bool has_data_count;

    uint32_t ncustoms;
    CustomSection *customs;

    const char *name;         /* module name from the name section, or NULL */

    /* Opaque slot for vm/: the compiled code, built once per module (vm/compile.c).
     * The only mutable field: read with loader_compiled, set once with
     * loader_set_compiled (both in cache.c). */
    void *compiled;
    void (*free_compiled)(void *);
} Module;

#endif
