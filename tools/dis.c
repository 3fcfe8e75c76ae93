/*
 * dis.c — `lvm dis app.wasm [--func NAME|INDEX]`: what lvm makes of a module.
 *
 * Where it sits: a tool on top of the real code paths, not a copy of them. The module is
 * decoded and validated by loader/ (loader_load_uncached), compiled by vm/compile.c
 * (vm_compile_module, then vm_compile_func for each function listed: lvm compiles a
 * function at its first call, and dis compiles it as that call would), and the listing is read back from what they built: the operand
 * stack height at each instruction comes from the validator itself (loader_walk_heights),
 * the threaded code is decoded by vm/disasm.c from handlers.def, and each threaded
 * instruction is put beside the Wasm instruction it came from with the compiler's own
 * map (CompiledFunc.map_cell / map_offset, kept for backtraces).
 *
 * The listing holds no pointer and no path but the file's base name, so it is the same
 * on every run and every machine: tests/dis/ and the docs' listings (tests/docs/check.sh)
 * compare it byte for byte.
 *
 * Read next: vm/disasm.c (operands), docs/internals.md (a listing, explained).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/instr.h"
#include "loader/loader.h"
#include "tools/dis.h"
#include "vm/code.h"

static void print_functype(const FuncType *t)
{
    printf("(");
    for (uint32_t i = 0; i < t->nparams; i++)
        printf("%s%s", i ? ", " : "", valtype_name(t->types[i]));
    printf(") -> (");
    for (uint32_t i = 0; i < t->nresults; i++)
        printf("%s%s", i ? ", " : "", valtype_name(t->types[t->nparams + i]));
    printf(")");
}

static void print_limits(const Limits *l)
{
    printf("min %u", l->min);
    if (l->has_max)
        printf(" max %u", l->max);
}

/* A function's name: the name section's, else the first export's, else NULL. */
static const char *func_name(const Module *m, uint32_t funcidx)
{
    if (m->funcs[funcidx].name)
        return m->funcs[funcidx].name;
    for (uint32_t i = 0; i < m->nexports; i++)
        if (m->exports[i].kind == EXTERN_FUNC && m->exports[i].index == funcidx)
            return m->exports[i].name.str;
    return NULL;
}

/* ---- The module: sections and declarations ----------------------------------------- */

static const char *const section_names[] = {
    "custom", "type", "import", "function", "table", "memory", "global", "export",
    "start", "element", "code", "data", "datacount",
};

/* Walk the section headers again (the loader keeps contents, not the layout). The module
 * was loaded, so the bytes are well-formed. */
static void print_sections(const Module *m)
{
    Reader r = { m->bytes + 8, m->bytes + m->size, m->bytes };
    printf("sections:\n   id  name        start     size\n");
    while (r.p < r.end) {
        uint8_t id;
        uint32_t size;
        if (!reader_u8(&r, &id) || !reader_u32(&r, &size))
            break;
        const uint8_t *start = r.p;
        printf("  %3u  %-10s  0x%06zx  %5u", id,
               id < sizeof section_names / sizeof *section_names ? section_names[id] : "?",
               (size_t)(start - m->bytes), size);
        uint32_t len;
        Reader c = { start, start + size, m->bytes };
        if (id == 0 && reader_u32(&c, &len) && len <= (size_t)(c.end - c.p))
            printf("  \"%.*s\"", (int)len, (const char *)c.p);
        printf("\n");
        r.p = start + size;
    }
}

static const char *const extern_names[] = { "func", "table", "memory", "global" };

static void print_declarations(const Module *m)
{
    printf("types:\n");
    for (uint32_t i = 0; i < m->ntypes; i++) {
        printf("  type %u: ", i);
        print_functype(&m->types[i]);
        printf("\n");
    }
    if (m->nimports)
        printf("imports:\n");
    for (uint32_t i = 0; i < m->nimports; i++) {
        const Import *im = &m->imports[i];
        printf("  %s %u: \"%s\" \"%s\"", extern_names[im->kind], im->index, im->module.str,
               im->name.str);
        if (im->kind == EXTERN_FUNC) {
            printf(", type %u ", m->funcs[im->index].typeidx);
            print_functype(&m->types[m->funcs[im->index].typeidx]);
        }
        printf("\n");
    }
    printf("functions: %u imported, %u defined\n", m->nimported_funcs,
           m->nfuncs - m->nimported_funcs);
    for (uint32_t i = m->nimported_tables; i < m->ntables; i++) {
        printf("table %u: %s, ", i, valtype_name(m->tables[i].type.elem));
        print_limits(&m->tables[i].type.limits);
        printf("\n");
    }
    for (uint32_t i = m->nimported_memories; i < m->nmemories; i++) {
        printf("memory %u: pages ", i);
        print_limits(&m->memories[i].limits);
        printf("\n");
    }
    for (uint32_t i = m->nimported_globals; i < m->nglobals; i++)
        printf("global %u: %s%s\n", i, m->globals[i].type.mutable_ ? "mut " : "",
               valtype_name(m->globals[i].type.type));
    if (m->nexports)
        printf("exports:\n");
    for (uint32_t i = 0; i < m->nexports; i++)
        printf("  \"%s\": %s %u\n", m->exports[i].name.str, extern_names[m->exports[i].kind],
               m->exports[i].index);
    if (m->has_start)
        printf("start: func %u\n", m->start);
    if (m->nelems || m->ndatas)
        printf("segments: %u element, %u data\n", m->nelems, m->ndatas);
}

/* ---- One function: Wasm beside threaded code -------------------------------------- */

/* One Wasm instruction, as the validator saw it. */
typedef struct Line {
    Instr in;
    uint32_t height;
    bool unreachable;
} Line;

typedef struct Lines {
    Line *v;
    uint32_t n, cap;
    bool failed;
} Lines;

static void collect(void *ctx, const Instr *in, uint32_t height, bool unreachable)
{
    Lines *ls = ctx;
    if (ls->n == ls->cap) {
        uint32_t cap = ls->cap ? ls->cap * 2 : 64;
        Line *v = realloc(ls->v, cap * sizeof *v);
        if (!v) {
            ls->failed = true;
            return;
        }
        ls->v = v;
        ls->cap = cap;
    }
    ls->v[ls->n++] = (Line){ *in, height, unreachable };
}

static void put_float(char *buf, size_t len, uint64_t bits, bool is_f64)
{
    unsigned mbits = is_f64 ? 52 : 23;
    uint64_t mant = bits & (((uint64_t)1 << mbits) - 1);
    uint64_t exp = (bits >> mbits) & (is_f64 ? 0x7ffu : 0xffu);
    const char *sign = (bits >> (is_f64 ? 63 : 31)) & 1 ? "-" : "";
    if (exp == (is_f64 ? 0x7ffu : 0xffu)) {   /* the text format's inf, nan, nan:0x… */
        if (mant == 0)
            snprintf(buf, len, "%sinf", sign);
        else if (mant == (uint64_t)1 << (mbits - 1))
            snprintf(buf, len, "%snan", sign);
        else
            snprintf(buf, len, "%snan:0x%" PRIx64, sign, mant);
        return;
    }
    /* the shortest decimal that reads back to the same bits */
    for (int prec = 1; prec <= 17; prec++) {
        if (is_f64) {
            double d, back;
            memcpy(&d, &bits, 8);
            snprintf(buf, len, "%.*g", prec, d);
            back = strtod(buf, NULL);
            if (memcmp(&back, &d, 8) == 0)
                return;
        } else {
            uint32_t b = (uint32_t)bits;
            float f, back;
            memcpy(&f, &b, 4);
            snprintf(buf, len, "%.*g", prec, (double)f);
            back = strtof(buf, NULL);
            if (memcmp(&back, &f, 4) == 0)
                return;
        }
    }
}

/* The instruction in the text format's words: `i32.load offset=8`, `br_table 0 1 2`. */
static void instr_text(const Module *m, const Instr *in, char *buf, size_t len)
{
    const char *name = instr_name(in->op);
    char imm[160] = "";
    switch (instr_imm_kind(in->op)) {
    case IMM_BLOCK:
        if (in->imm.block.is_index)
            snprintf(imm, sizeof imm, " (type %u)", in->imm.block.typeidx);
        else if (!in->imm.block.empty)
            snprintf(imm, sizeof imm, " (result %s)", valtype_name(in->imm.block.valtype));
        break;
    case IMM_LABEL: case IMM_FUNC: case IMM_LOCAL: case IMM_GLOBAL: case IMM_TABLE:
    case IMM_DATA: case IMM_ELEM:
        snprintf(imm, sizeof imm, " %u", in->imm.index);
        break;
    case IMM_BR_TABLE: {
        Reader r = { in->imm.br_table.labels, m->bytes + m->size, m->bytes };
        size_t at = 0;
        for (uint32_t i = 0; i <= in->imm.br_table.count && at < sizeof imm - 12; i++) {
            uint32_t l = 0;
            reader_u32(&r, &l);
            at += (size_t)snprintf(imm + at, sizeof imm - at, " %u", l);
        }
        break;
    }
    case IMM_CALL_INDIRECT:
        if (in->imm.call_indirect.tableidx)
            snprintf(imm, sizeof imm, " %u (type %u)", in->imm.call_indirect.tableidx,
                     in->imm.call_indirect.typeidx);
        else
            snprintf(imm, sizeof imm, " (type %u)", in->imm.call_indirect.typeidx);
        break;
    case IMM_MEMARG: {
        size_t at = 0;
        if (in->imm.memarg.offset)
            at += (size_t)snprintf(imm, sizeof imm, " offset=%u", in->imm.memarg.offset);
        if (in->imm.memarg.align < 32 && (1u << in->imm.memarg.align) != instr_width(in->op))
            snprintf(imm + at, sizeof imm - at, " align=%u", 1u << in->imm.memarg.align);
        break;
    }
    case IMM_I32: snprintf(imm, sizeof imm, " %" PRId32, in->imm.i32); break;
    case IMM_I64: snprintf(imm, sizeof imm, " %" PRId64, in->imm.i64); break;
    case IMM_F32: imm[0] = ' '; put_float(imm + 1, sizeof imm - 1, in->imm.f32_bits, false); break;
    case IMM_F64: imm[0] = ' '; put_float(imm + 1, sizeof imm - 1, in->imm.f64_bits, true); break;
    case IMM_REFTYPE:
        snprintf(imm, sizeof imm, " %s", in->imm.reftype == VT_FUNCREF ? "func" : "extern");
        break;
    case IMM_SELECT_T: snprintf(imm, sizeof imm, " (result %s)", valtype_name(in->imm.reftype)); break;
    case IMM_DATA_MEMORY: snprintf(imm, sizeof imm, " %u", in->imm.pair.a); break;
    case IMM_ELEM_TABLE:   /* the text format names the table first */
        snprintf(imm, sizeof imm, " %u %u", in->imm.pair.b, in->imm.pair.a);
        break;
    case IMM_TABLE_TABLE:
        snprintf(imm, sizeof imm, " %u %u", in->imm.pair.a, in->imm.pair.b);
        break;
    case IMM_NONE: case IMM_MEMORY: case IMM_MEMORY_MEMORY: break;
    }
    snprintf(buf, len, "%s%s", name, imm);
}

/* Prints one threaded instruction in the right-hand columns. */
static uint32_t print_code(const CompiledFunc *cf, uint32_t cell)
{
    char text[512];
    uint32_t n = vm_disasm_instr(text, sizeof text, cf, cell);
    bool super = vm_handler_is_super(vm_cell_handler(vm_func_code(cf)[cell]));
    printf("%5u %s %s\n", cell, super ? "*" : " ", text);
    return n;
}

/* Left-hand columns of a line: byte offset, stack height, the Wasm text indented by
 * block depth. Pads to `width` when threaded code follows. */
static void print_wasm(const Line *l, const char *text, int depth, int width, bool more)
{
    char h[16];
    if (l->unreachable)
        snprintf(h, sizeof h, "-");
    else
        snprintf(h, sizeof h, "%u", l->height);
    int n = printf("  0x%06x %5s  %*s%s", l->in.offset, h, 2 * depth, "", text);
    if (more)
        printf("%*s", width > n ? width - n : 1, "");
}

static void print_header(const Module *m, const CompiledFunc *cf, uint32_t funcidx)
{
    const Func *f = &m->funcs[funcidx];
    const char *name = func_name(m, funcidx);
    printf("func %u", funcidx);
    if (name)
        printf(" \"%s\"", name);
    printf(": type %u ", f->typeidx);
    print_functype(&m->types[f->typeidx]);
    printf("\n");
    if (f->nlocals) {
        printf("  locals:");
        for (uint32_t i = 0; i < f->nlocals; i++)
            printf(" %s", valtype_name(f->local_types[i]));
        printf("\n");
    }
    uint32_t zero = cf->nparams + cf->nlocals - 1;
    printf("  frame: %u slots: ", cf->frame_slots);
    if (zero == 1)
        printf("L0 = slot 0, ");
    else if (zero > 1)
        printf("L0..L%u = slots 0..%u, ", zero - 1, zero - 1);
    printf("zero = slot %u, S0.. = slots %u..; %u cells\n", zero, zero + 1, cf->ncells);
}

static int print_function(const Module *m, CompiledModule *cm, uint32_t funcidx)
{
    if (m->funcs[funcidx].imported) {
        for (uint32_t i = 0; i < m->nimports; i++)
            if (m->imports[i].kind == EXTERN_FUNC && m->imports[i].index == funcidx)
                printf("func %u: imported from \"%s\" \"%s\", type %u\n", funcidx,
                       m->imports[i].module.str, m->imports[i].name.str,
                       m->funcs[funcidx].typeidx);
        return 0;
    }
    /* Functions are compiled at their first call (vm/compile.c); nothing has called
     * these, so compile each now, as its first call would. */
    char why[256];
    bool oom;
    if (!vm_compile_func(m, cm, funcidx, &oom, why, sizeof why)) {
        fprintf(stderr, "lvm dis: %s\n", why);
        return 1;
    }
    const CompiledFunc *cf = &cm->funcs[funcidx - cm->first];
    Lines ls = { 0 };
    LoadError err;
    if (!loader_walk_heights(m, funcidx, collect, &ls, &err) || ls.failed) {
        fprintf(stderr, "lvm dis: function %u: %s\n", funcidx,
                ls.failed ? "out of memory" : err.message);
        free(ls.v);
        return 1;
    }
    print_header(m, cf, funcidx);
    /* The Wasm column is as wide as its longest line, so the code column lines up. */
    char text[200];
    int width = 0, depth = 0;
    for (uint32_t i = 0; i < ls.n; i++) {
        Opcode op = ls.v[i].in.op;
        if ((op == OP_END || op == OP_ELSE) && depth > 0)
            depth--;
        instr_text(m, &ls.v[i].in, text, sizeof text);
        int w = 18 + 2 * depth + (int)strlen(text) + 2;
        if (w > width)
            width = w;
        if (op == OP_BLOCK || op == OP_LOOP || op == OP_IF || op == OP_ELSE)
            depth++;
    }
    printf("  %-8s %5s  %-*s%5s   %s\n", "offset", "stack", width - 18, "wasm", "cell",
           "threaded code (* superinstruction)");
    /* The compiler emits in body order, so map_offset never decreases: each Wasm
     * instruction owns the run of map entries that carry its offset. */
    uint32_t k = 0;
    depth = 0;
    for (uint32_t i = 0; i < ls.n; i++) {
        const Line *l = &ls.v[i];
        if ((l->in.op == OP_END || l->in.op == OP_ELSE) && depth > 0)
            depth--;
        instr_text(m, &l->in, text, sizeof text);
        bool first = true;
        while (k < cf->nmap && cf->map_offset[k] == l->in.offset) {
            if (first)
                print_wasm(l, text, depth, width, true);
            else
                printf("%*s", width, "");
            print_code(cf, cf->map_cell[k++]);
            first = false;
        }
        if (first) {
            print_wasm(l, text, depth, width, false);
            printf("\n");
        }
        if (l->in.op == OP_BLOCK || l->in.op == OP_LOOP || l->in.op == OP_IF ||
            l->in.op == OP_ELSE)
            depth++;
    }
    for (; k < cf->nmap; k++) {      /* would mean the map is out of order: show, don't hide */
        printf("%*s", width, "(unmatched)");
        print_code(cf, cf->map_cell[k]);
    }
    free(ls.v);
    return 0;
}

/* ---- The command ----------------------------------------------------------------- */

static uint8_t *read_file(const char *path, size_t *size)
{
    char why[128];
    uint8_t *buf = loader_read_file(path, size, why, sizeof why);
    if (!buf)
        fprintf(stderr, "lvm dis: %s: %s\n", path, why);
    return buf;
}

/* --func NAME|INDEX: a function index, an export's name or a name-section name. */
static bool find_func(const Module *m, const char *want, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long i = strtoul(want, &end, 10);
    if (*want >= '0' && *want <= '9' && !*end && !errno) {
        *out = (uint32_t)i;
        return i < m->nfuncs;
    }
    for (uint32_t f = 0; f < m->nfuncs; f++) {
        const char *name = func_name(m, f);
        if (name && strcmp(name, want) == 0) {
            *out = f;
            return true;
        }
    }
    const Export *e = loader_find_export(m, want);
    if (e && e->kind == EXTERN_FUNC) {
        *out = e->index;
        return true;
    }
    return false;
}

static int usage(FILE *f, int status)
{
    fprintf(f,
        "usage: lvm dis app.wasm [--func NAME|INDEX]\n"
        "\n"
        "Print the module's sections, types, imports and exports, then each function's\n"
        "Wasm instructions (byte offset, operand stack height before it, text) beside\n"
        "the threaded code lvm compiles them into (first cell, handler, operands).\n"
        "Slots: L0.. parameters and locals, zero the always-zero slot, S0.. the operand\n"
        "stack; @N is cell N of the function; * marks a superinstruction.\n"
        "With --func, only that function (an index, an export name or a debug name).\n");
    return status;
}

int dis_main(int argc, char **argv)
{
    const char *file = NULL, *want = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(stdout, 0);
        if (strcmp(argv[i], "--func") == 0 && i + 1 < argc)
            want = argv[++i];
        else if (strncmp(argv[i], "--func=", 7) == 0)
            want = argv[i] + 7;
        else if (argv[i][0] == '-' || file)
            return usage(stderr, 2);
        else
            file = argv[i];
    }
    if (!file)
        return usage(stderr, 2);
    size_t size = 0;
    uint8_t *bytes = read_file(file, &size);
    if (!bytes)
        return 1;
    LoadError err;
    Module *m = loader_load_uncached(bytes, size, &err);
    free(bytes);
    if (!m) {
        char msg[256];
        fprintf(stderr, "lvm dis: %s: %s\n", file, loader_error_format(&err, msg, sizeof msg));
        return 1;
    }
    char cerr[256];
    CompiledModule *cm = vm_compile_module(m, cerr, sizeof cerr);
    int status = 0;
    uint32_t only = 0;
    if (!cm) {
        fprintf(stderr, "lvm dis: %s: %s\n", file, cerr);
        status = 1;
    } else if (want && !find_func(m, want, &only)) {
        fprintf(stderr, "lvm dis: %s: no function %s\n", file, want);
        status = 1;
    } else if (want) {
        status = print_function(m, cm, only);
    } else {
        const char *base = strrchr(file, '/');
        printf("module %s: %zu bytes", base ? base + 1 : file, m->size);
        if (m->name)
            printf(", name \"%s\"", m->name);
        printf("\n");
        print_sections(m);
        print_declarations(m);
        for (uint32_t f = 0; f < m->nfuncs && status == 0; f++) {
            printf("\n");
            status = print_function(m, cm, f);
        }
    }
    fflush(stdout);
    loader_release(m);
    return status;
}
