/*
 * main.c — the `lvm` command: load a module, instantiate it, run it.
 *
 * Where it sits: the outermost layer. It uses loader/ (bytes → Module) and vm/ (Module →
 * Instance → running code) through their public headers only, like any embedder would.
 * WASI and actor processes come later (wasi/, sched/); for now lvm runs modules without
 * imports: `lvm app.wasm` runs the export `_start`, `lvm --invoke NAME app.wasm ARGS…`
 * calls one exported function and prints its results.
 *
 * Output of --invoke: one line per result, the value alone, as the Wasm text format
 * writes it: i32/i64 in signed decimal; f32/f64 in the shortest decimal that reads back
 * to the same bits, or inf, -inf, nan, -nan, nan:0x… (a non-canonical payload); refs as
 * null, ref.func or ref.extern N.
 *
 * Exit status: 0 done, 1 the module could not be loaded or instantiated, 2 bad command
 * line or arguments, 134 the guest trapped (as Wasmtime does).
 *
 * Read next: loader/loader.h, vm/vm.h.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"
#include "vm/vm.h"

#define LVM_VERSION "0.1.0"
#define DEFAULT_REDUCTIONS 20000   /* slice size: about five BEAM slices of 4000 */
#define EXIT_TRAP 134              /* what Wasmtime returns for a trap (128 + SIGABRT) */

typedef struct Options {
    const char *invoke;      /* --invoke NAME, or NULL */
    int64_t reductions;      /* --reductions N */
    bool stats;              /* --stats: totals on stderr at exit */
    const char *file;        /* the module */
    char **args;             /* everything after the module: the guest's arguments */
    int nargs;
} Options;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lvm [options] app.wasm [args...]\n"
        "\n"
        "Run a WebAssembly module. Options come before the module; everything after it is\n"
        "passed to the guest.\n"
        "\n"
        "  --invoke NAME     call the exported function NAME instead of _start; args are\n"
        "                    its parameters (i32/i64: decimal or 0x hex; f32/f64: decimal,\n"
        "                    hex float, inf, -inf, nan, nan:0x...); each result is printed\n"
        "                    on its own line\n"
        "  --reductions N    reductions per time slice: calls and loop back-edges run\n"
        "                    before the VM may switch to other work (default %d)\n"
        "  --stats           print totals on stderr at exit (reductions: N)\n"
        "  --no-reductions   accepted only by a build made with REDUCTIONS=0, which does\n"
        "                    not count reductions (to measure what counting costs)\n"
        "  --version         print the version and exit\n"
        "  --help            print this help and exit\n"
        "\n"
        "Without --invoke, the module's _start export runs (modules that import WASI\n"
        "are not supported yet). Exit status: 0 success, 1 load or link error, 2 usage\n"
        "error, 134 the guest trapped.\n",
        DEFAULT_REDUCTIONS);
}

static void usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "lvm: %s%s\nTry 'lvm --help' for more information.\n", msg, arg);
    exit(2);
}

/* "--name VALUE" or "--name=VALUE": returns the value (advancing *i) or NULL if argv[*i]
 * is not that option. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != '\0') return NULL;
    if (*i + 1 >= argc) usage_error("missing value for ", name);
    return argv[++*i];
}

static void parse_options(int argc, char **argv, Options *o)
{
    *o = (Options){ .reductions = DEFAULT_REDUCTIONS };
    int i;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--") == 0) { i++; break; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); exit(0); }
        if (strcmp(a, "--version") == 0) { printf("lvm " LVM_VERSION "\n"); exit(0); }
        if (strcmp(a, "--stats") == 0) { o->stats = true; continue; }
        if (strcmp(a, "--no-reductions") == 0) {
            if (vm_counts_reductions())
                usage_error("--no-reductions needs a build made with `make REDUCTIONS=0`", "");
            continue;
        }
        if ((v = option_value(argc, argv, &i, "--invoke"))) {
            o->invoke = v;
        } else if ((v = option_value(argc, argv, &i, "--reductions"))) {
            char *end;
            errno = 0;
            long long n = strtoll(v, &end, 10);
            if (errno || end == v || *end || n <= 0)
                usage_error("--reductions wants a positive integer, not ", v);
            o->reductions = n;
        } else {
            usage_error("unknown option ", a);
        }
    }
    if (i >= argc) usage_error("no module file given", "");
    o->file = argv[i];
    o->args = argv + i + 1;
    o->nargs = argc - i - 1;
}

/* ---- Arguments: text → Value by parameter type -------------------------------------- */

/* i32/i64: signed or unsigned decimal, or 0x hex, within the type's range. */
static bool parse_int(const char *s, unsigned bits, Value *out)
{
    bool neg = s[0] == '-';
    const char *p = s + (neg || s[0] == '+');
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    /* strtoull would accept spaces and a second sign here */
    if (!(base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p))) return false;
    char *end;
    errno = 0;
    unsigned long long mag = strtoull(p, &end, base);
    if (errno || *end || end == p) return false;
    uint64_t umax = bits == 32 ? UINT32_MAX : UINT64_MAX;
    uint64_t nmax = bits == 32 ? (uint64_t)1 << 31 : (uint64_t)1 << 63;   /* |INT_MIN| */
    if (neg ? mag > nmax : mag > umax) return false;
    uint64_t v = neg ? (uint64_t)0 - mag : mag;
    *out = bits == 32 ? (uint32_t)v : v;
    return true;
}

/* f32/f64: what strtof/strtod read (decimal, hex float, inf), plus the text format's
 * nan:0xPAYLOAD. `nan` alone is the canonical NaN. */
static bool parse_float(const char *s, bool is_f64, Value *out)
{
    bool neg = s[0] == '-';
    const char *p = s + (neg || s[0] == '+');
    if (strncmp(p, "nan", 3) == 0) {
        uint64_t payload = is_f64 ? (uint64_t)1 << 51 : (uint64_t)1 << 22;
        uint64_t mask = is_f64 ? ((uint64_t)1 << 52) - 1 : ((uint64_t)1 << 23) - 1;
        if (p[3] == ':') {
            if (strncmp(p + 4, "0x", 2) != 0) return false;
            char *end;
            errno = 0;
            payload = strtoull(p + 6, &end, 16);
            if (errno || *end || end == p + 6 || payload == 0 || payload > mask) return false;
        } else if (p[3] != '\0') {
            return false;
        }
        uint64_t sign = neg ? (is_f64 ? (uint64_t)1 << 63 : (uint64_t)1 << 31) : 0;
        *out = sign | (is_f64 ? 0x7ff0000000000000ull : 0x7f800000u) | payload;
        return true;
    }
    char *end;
    if (is_f64) {
        double d = strtod(s, &end);
        if (end == s || *end) return false;
        memcpy(out, &d, 8);
    } else {
        float f = strtof(s, &end);
        uint32_t b;
        if (end == s || *end) return false;
        memcpy(&b, &f, 4);
        *out = b;
    }
    return true;
}

static const char *type_name(ValType t)
{
    switch (t) {
    case VT_I32: return "i32";
    case VT_I64: return "i64";
    case VT_F32: return "f32";
    case VT_F64: return "f64";
    case VT_V128: return "v128";
    case VT_FUNCREF: return "funcref";
    case VT_EXTERNREF: return "externref";
    }
    return "?";
}

static bool parse_arg(const char *s, ValType t, Value *out)
{
    switch (t) {
    case VT_I32: return parse_int(s, 32, out);
    case VT_I64: return parse_int(s, 64, out);
    case VT_F32: return parse_float(s, false, out);
    case VT_F64: return parse_float(s, true, out);
    case VT_FUNCREF:
    case VT_EXTERNREF:
        *out = 0;   /* a reference can only be given as null from the command line */
        return strcmp(s, "null") == 0;
    default:
        return false;
    }
}

/* ---- Results: Value → text ------------------------------------------------------------ */

/* NaN, infinity, or NULL if the value is an ordinary number. */
static const char *special_float(uint64_t bits, bool is_f64, char *buf, size_t len)
{
    unsigned mbits = is_f64 ? 52 : 23;
    uint64_t mant = bits & (((uint64_t)1 << mbits) - 1);
    uint64_t exp = (bits >> mbits) & (is_f64 ? 0x7ff : 0xff);
    bool neg = (bits >> (is_f64 ? 63 : 31)) & 1;
    if (exp != (is_f64 ? 0x7ffu : 0xffu)) return NULL;
    if (mant == 0) snprintf(buf, len, "%sinf", neg ? "-" : "");
    else if (mant == (uint64_t)1 << (mbits - 1)) snprintf(buf, len, "%snan", neg ? "-" : "");
    else snprintf(buf, len, "%snan:0x%" PRIx64, neg ? "-" : "", mant);
    return buf;
}

/* The shortest "%.Ng" that reads back to exactly the same bits. */
static void format_float(uint64_t bits, bool is_f64, char *buf, size_t len)
{
    if (special_float(bits, is_f64, buf, len)) return;
    if (is_f64) {
        double d;
        memcpy(&d, &bits, 8);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, len, "%.*g", prec, d);
            double back = strtod(buf, NULL);
            if (memcmp(&back, &d, 8) == 0) return;
        }
    } else {
        uint32_t b = (uint32_t)bits;
        float f;
        memcpy(&f, &b, 4);
        for (int prec = 1; prec <= 9; prec++) {
            snprintf(buf, len, "%.*g", prec, (double)f);
            float back = strtof(buf, NULL);
            if (memcmp(&back, &f, 4) == 0) return;
        }
    }
}

static void print_value(ValType t, Value v)
{
    char buf[64];
    switch (t) {
    case VT_I32: printf("%" PRId32 "\n", (int32_t)(uint32_t)v); break;
    case VT_I64: printf("%" PRId64 "\n", (int64_t)v); break;
    case VT_F32: format_float(v, false, buf, sizeof buf); printf("%s\n", buf); break;
    case VT_F64: format_float(v, true, buf, sizeof buf); printf("%s\n", buf); break;
    case VT_FUNCREF: printf("%s\n", v ? "ref.func" : "null"); break;
    case VT_EXTERNREF:
        if (v) printf("ref.extern %" PRIu64 "\n", (uint64_t)v - 1);
        else printf("null\n");
        break;
    default: printf("<%s>\n", type_name(t)); break;
    }
}

/* ---- Loading and running ---------------------------------------------------------------- */

static Module *load(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lvm: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (!buf || read_errno) {
        fprintf(stderr, "lvm: %s: %s\n", path, buf ? strerror(read_errno) : "out of memory");
        free(buf);
        return NULL;
    }
    LoadError err;
    Module *m = loader_load(buf, n, &err);
    free(buf);
    if (!m) {
        char msg[256];
        fprintf(stderr, "lvm: %s: %s\n", path, loader_error_format(&err, msg, sizeof msg));
    }
    return m;
}

static const char *kind_name(ExternKind k)
{
    switch (k) {
    case EXTERN_FUNC: return "function";
    case EXTERN_TABLE: return "table";
    case EXTERN_MEMORY: return "memory";
    case EXTERN_GLOBAL: return "global";
    }
    return "?";
}

static void print_trap(const Trap *trap)
{
    fflush(stdout);
    fprintf(stderr, "lvm: ");
    vm_trap_print(trap, stderr);
}

/* No host functions exist yet, so a module with imports cannot be linked. Returns the
 * exit status (0 if instantiated). */
static int instantiate(const Options *o, Module *m, Exec *exec, Instance **out)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const Import *imp = &m->imports[i];
        if (strcmp(imp->module.str, "wasi_snapshot_preview1") == 0) {
            fprintf(stderr, "lvm: %s: WASI is not supported yet (the module imports %s.%s)\n",
                    o->file, imp->module.str, imp->name.str);
            return 1;
        }
    }
    if (m->nimports > 0) {
        const Import *imp = &m->imports[0];
        fprintf(stderr, "lvm: %s: unknown import %s.%s (%s)\n", o->file, imp->module.str,
                imp->name.str, kind_name(imp->kind));
        return 1;
    }
    VmError err;
    *out = vm_instantiate(m, NULL, exec, &err);
    if (*out) return 0;
    vm_instance_free(err.partial);   /* (only set when tables are imported) */
    if (err.kind == VM_TRAP) {
        print_trap(&err.trap);   /* frames carry copies of names: safe after the free */
        return EXIT_TRAP;
    }
    fprintf(stderr, "lvm: %s: %s\n", o->file, err.message);
    return 1;
}

/* Call f with the command line's arguments; print the results if `print`. */
static int call(const Options *o, Exec *exec, Function *f, const char *name, bool print)
{
    const ValType *params, *results;
    uint32_t nparams, nresults;
    vm_function_type(f, &params, &nparams, &results, &nresults);
    if ((uint32_t)o->nargs != nparams) {
        fprintf(stderr, "lvm: %s takes %u argument%s, %d given\n", name, nparams,
                nparams == 1 ? "" : "s", o->nargs);
        return 2;
    }
    Value *args = calloc(nparams + 1, sizeof *args);
    Value *res = calloc(nresults + 1, sizeof *res);
    int status = 0;
    if (!args || !res) {
        fprintf(stderr, "lvm: out of memory\n");
        status = 1;
        goto done;
    }
    for (uint32_t i = 0; i < nparams; i++) {
        if (!parse_arg(o->args[i], params[i], &args[i])) {
            fprintf(stderr, "lvm: argument %u of %s: '%s' is not a valid %s\n", i + 1, name,
                    o->args[i], type_name(params[i]));
            status = 2;
            goto done;
        }
    }
    if (vm_invoke(exec, f, args, nparams, res, o->reductions) == RUN_TRAP) {
        print_trap(vm_exec_trap(exec));
        status = EXIT_TRAP;
        goto done;
    }
    for (uint32_t i = 0; print && i < nresults; i++) print_value(results[i], res[i]);
done:
    free(args);
    free(res);
    return status;
}

/* --invoke NAME, or `_start` (if the module exports it). */
static int run(const Options *o, Instance *inst, Exec *exec)
{
    Extern ext;
    const char *name = o->invoke ? o->invoke : "_start";
    bool found = vm_instance_export(inst, name, &ext);
    if (!o->invoke && !found) return 0;   /* a library module: instantiating was all */
    if (!found || ext.kind != EXTERN_FUNC) {
        fprintf(stderr, "lvm: no exported function '%s'\n", name);
        return 1;
    }
    if (!o->invoke) {
        /* WASI will give _start its arguments; until then they are not used. */
        Options none = *o;
        none.nargs = 0;
        return call(&none, exec, ext.u.func, name, false);
    }
    return call(o, exec, ext.u.func, name, true);
}

int main(int argc, char **argv)
{
    Options o;
    parse_options(argc, argv, &o);
    Module *m = load(o.file);
    if (!m) return 1;
    Exec *exec = vm_exec_new(NULL);
    if (!exec) {
        fprintf(stderr, "lvm: out of memory\n");
        loader_release(m);
        return 1;
    }
    vm_exec_set_slice(exec, o.reductions);
    Instance *inst = NULL;
    int status = instantiate(&o, m, exec, &inst);
    if (inst) status = run(&o, inst, exec);
    if (inst) vm_instance_free(inst);
    if (o.stats)
        fprintf(stderr, "reductions: %llu\n", (unsigned long long)vm_exec_reductions(exec));
    vm_exec_free(exec);
    loader_release(m);
    fflush(stdout);
    return status;
}
