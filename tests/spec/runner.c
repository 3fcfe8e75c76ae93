/*
 * runner.c — the Wasm spec test suite, run in-process through lvm's library.
 *
 * Where it sits: tests/spec/convert.sh turns each .wast script of the official suite into a
 * JSON list of commands plus the .wasm modules they name (wabt's wast2json). This program
 * reads those JSON files and runs every command against loader/ and vm/ directly:
 * `module` loads and instantiates, `assert_return` invokes and compares bits, `assert_trap`
 * expects a trap message, `assert_malformed`/`assert_invalid` expect the loader to refuse,
 * and so on. A list of known failures (expected-failures.txt) is compared with what
 * actually failed, in both directions, like QuickJS's test262 runner: a new failure fails
 * the run, and so does a listed failure that now passes.
 *
 * Read next: tests/spec/README.md (how to run, how to rerun one assertion).
 *
 * Usage: spec-runner [--budget N] [--expected FILE] [--only FILE[:LINE]] [--verbose]
 *                    JSON_DIR_OR_FILES...
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/loader.h"
#include "vm/vm.h"

#define MAX_REPORTED_FAILURES 20   /* per file, outside --verbose */
#define COMMAND_TIMEOUT_SECONDS 60 /* a command that runs longer is reported as a hang */

/* ---- Options and global state ------------------------------------------------------ */

static struct {
    int64_t budget;          /* slice passed to vm_invoke; -1 = unlimited */
    const char *expected;    /* expected-failures file, or NULL */
    const char *only_file;   /* --only: "i32.wast" (normalised), or NULL */
    long only_line;          /* --only FILE:LINE, or 0 */
    bool verbose;
} opt = { .budget = -1 };

/* What is running now, for the timeout, crash and sanitizer messages. */
static const char *volatile current_file = "";
static volatile long current_line;

/* One entry of expected-failures.txt. */
typedef struct Expected {
    char *key;               /* "i32.wast:37" */
    char *reason;
    bool seen_failing;       /* this run: the assertion failed */
    bool ran;                /* this run: the assertion was run */
} Expected;

static Expected *expected_list;
static size_t nexpected;

/* Totals over all files. */
static long total_passed, total_failed, total_skipped, total_expected_failed;
static long total_fixed, total_message_mismatches, total_unexpected;

/* ---- Small helpers --------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "spec-runner: out of memory\n");
        exit(2);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* "dir/i32.json" or "i32" or "i32.wast" → "i32.wast" (caller frees). */
static char *wast_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0) n -= 5;
    else if (n > 5 && strcmp(base + n - 5, ".wast") == 0) n -= 5;
    char *s = xmalloc(n + 6);
    memcpy(s, base, n);
    strcpy(s + n, ".wast");
    return s;
}

static bool read_file(const char *path, uint8_t **out, size_t *size)
{
    char why[128];
    return (*out = loader_read_file(path, size, why, sizeof why)) != NULL;
}

/* ---- Crash, hang and sanitizer reports name the command that was running ---------- */

static void say_where(const char *what)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "\nspec-runner: %s while running %s:%ld\n",
                     what, current_file, current_line);
    if (n > 0) {
        ssize_t w = write(2, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
        (void)w;
    }
}

static void on_alarm(int sig)
{
    char what[64];
    snprintf(what, sizeof what, "timeout (a command ran for over %d s)",
             COMMAND_TIMEOUT_SECONDS);
    say_where(what);
    _exit(3);
}

static struct sigaction old_segv, old_bus;

/* Print where we were, then put the previous handler back (ASan's, or the default) and
 * return: the faulting instruction runs again and that handler reports it as usual. */
static void on_crash(int sig)
{
    say_where(sig == SIGSEGV ? "SIGSEGV" : "SIGBUS");
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
}

/* Called by AddressSanitizer when it finds an error (a weak hook in its runtime; a plain
 * unused function in other builds). */
void __asan_on_error(void);
void __asan_on_error(void)
{
    say_where("AddressSanitizer error");
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    signal(SIGALRM, on_alarm);
}

/* ---- The expected-failures list ---------------------------------------------------- */

static bool load_expected(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "spec-runner: %s: %s\n", path, strerror(errno));
        return false;
    }
    char line[1024];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || *p == '\0') continue;
        p[strcspn(p, "\n")] = '\0';
        size_t klen = strcspn(p, " \t");
        char *reason = p + klen;
        reason += strspn(reason, " \t");
        p[klen] = '\0';
        if (!strchr(p, ':')) {
            fprintf(stderr, "spec-runner: %s: bad entry '%s' (want FILE:LINE  reason)\n",
                    path, p);
            fclose(f);
            return false;
        }
        if (nexpected == cap) {
            cap = cap ? cap * 2 : 64;
            Expected *n = realloc(expected_list, cap * sizeof *n);
            if (!n) { fclose(f); return false; }
            expected_list = n;
        }
        expected_list[nexpected++] = (Expected){ xstrdup(p), xstrdup(reason), false, false };
    }
    fclose(f);
    return true;
}

static Expected *find_expected(const char *file, long line)
{
    char key[300];
    snprintf(key, sizeof key, "%s:%ld", file, line);
    for (size_t i = 0; i < nexpected; i++)
        if (strcmp(expected_list[i].key, key) == 0) return &expected_list[i];
    return NULL;
}

static void free_expected(void)
{
    for (size_t i = 0; i < nexpected; i++) {
        free(expected_list[i].key);
        free(expected_list[i].reason);
    }
    free(expected_list);
}

/* ---- The `spectest` host module (spec interpreter's host/spectest.ml) ------------- */

static HostStatus spectest_print(Exec *exec, void *env, Value *args)
{
    return HOST_OK;   /* the suite only needs these to exist with the right types */
}

typedef struct SpecTest {
    Function *print, *print_i32, *print_i64, *print_f32, *print_f64;
    Function *print_i32_f32, *print_f64_f64;
    GlobalInst *global_i32, *global_i64, *global_f32, *global_f64;
    TableInst *table;
    MemoryInst *memory;
} SpecTest;

static Function *host_print(const char *name, ValType a, ValType b, uint32_t n)
{
    ValType params[2] = { a, b };
    return vm_host_function_new(params, n, NULL, 0, spectest_print, NULL, name);
}

static bool spectest_new(SpecTest *st)
{
    float f32 = 666.6f;
    double f64 = 666.6;
    uint32_t f32_bits;
    uint64_t f64_bits;
    memcpy(&f32_bits, &f32, 4);
    memcpy(&f64_bits, &f64, 8);
    *st = (SpecTest){
        .print = host_print("print", 0, 0, 0),
        .print_i32 = host_print("print_i32", VT_I32, 0, 1),
        .print_i64 = host_print("print_i64", VT_I64, 0, 1),
        .print_f32 = host_print("print_f32", VT_F32, 0, 1),
        .print_f64 = host_print("print_f64", VT_F64, 0, 1),
        .print_i32_f32 = host_print("print_i32_f32", VT_I32, VT_F32, 2),
        .print_f64_f64 = host_print("print_f64_f64", VT_F64, VT_F64, 2),
        .global_i32 = vm_global_new(VT_I32, false, 666),
        .global_i64 = vm_global_new(VT_I64, false, 666),
        .global_f32 = vm_global_new(VT_F32, false, f32_bits),
        .global_f64 = vm_global_new(VT_F64, false, f64_bits),
        .table = vm_table_new(VT_FUNCREF, 10, 20, true),
        .memory = vm_memory_new(1, 2, true),
    };
    return st->print && st->print_i32 && st->print_i64 && st->print_f32 && st->print_f64 &&
           st->print_i32_f32 && st->print_f64_f64 && st->global_i32 && st->global_i64 &&
           st->global_f32 && st->global_f64 && st->table && st->memory;
}

static void spectest_free(SpecTest *st)
{
    Function *fs[] = { st->print, st->print_i32, st->print_i64, st->print_f32,
                       st->print_f64, st->print_i32_f32, st->print_f64_f64 };
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        if (fs[i]) vm_host_function_free(fs[i]);
    GlobalInst *gs[] = { st->global_i32, st->global_i64, st->global_f32, st->global_f64 };
    for (size_t i = 0; i < 4; i++)
        if (gs[i]) vm_global_free(gs[i]);
    if (st->table) vm_table_free(st->table);
    if (st->memory) vm_memory_free(st->memory);
}

static bool spectest_export(const SpecTest *st, const char *name, Extern *out)
{
    static const struct { const char *name; ExternKind kind; size_t off; } table[] = {
        { "print", EXTERN_FUNC, offsetof(SpecTest, print) },
        { "print_i32", EXTERN_FUNC, offsetof(SpecTest, print_i32) },
        { "print_i64", EXTERN_FUNC, offsetof(SpecTest, print_i64) },
        { "print_f32", EXTERN_FUNC, offsetof(SpecTest, print_f32) },
        { "print_f64", EXTERN_FUNC, offsetof(SpecTest, print_f64) },
        { "print_i32_f32", EXTERN_FUNC, offsetof(SpecTest, print_i32_f32) },
        { "print_f64_f64", EXTERN_FUNC, offsetof(SpecTest, print_f64_f64) },
        { "global_i32", EXTERN_GLOBAL, offsetof(SpecTest, global_i32) },
        { "global_i64", EXTERN_GLOBAL, offsetof(SpecTest, global_i64) },
        { "global_f32", EXTERN_GLOBAL, offsetof(SpecTest, global_f32) },
        { "global_f64", EXTERN_GLOBAL, offsetof(SpecTest, global_f64) },
        { "table", EXTERN_TABLE, offsetof(SpecTest, table) },
        { "memory", EXTERN_MEMORY, offsetof(SpecTest, memory) },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].name, name) != 0) continue;
        void *p = *(void *const *)((const char *)st + table[i].off);
        out->kind = table[i].kind;
        switch (table[i].kind) {
        case EXTERN_FUNC: out->u.func = p; break;
        case EXTERN_TABLE: out->u.table = p; break;
        case EXTERN_MEMORY: out->u.memory = p; break;
        case EXTERN_GLOBAL: out->u.global = p; break;
        }
        return true;
    }
    return false;
}

/* ---- One script's state: instances, names, registrations ------------------------- */

typedef struct Named {
    char *name;              /* "$M" for named modules, "M" for registrations */
    Instance *inst;
} Named;

typedef struct Script {
    const char *file;        /* "i32.wast" */
    char *dir;               /* where the .json and its .wasm files are */
    Exec *exec;
    SpecTest spectest;
    Instance **instances;    /* every instance made, freed in reverse order */
    size_t ninstances, cap_instances;
    Named *names, *registered;
    size_t nnames, nregistered, cap_names, cap_registered;
    Instance *current;       /* the last module defined (NULL if it failed) */

    long passed, failed, skipped, expected_failed, fixed, reported;
    bool report_all;         /* --verbose, or the one line of --only FILE:LINE */
} Script;

static void add_named(Named **arr, size_t *n, size_t *cap, const char *name, Instance *inst)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        Named *na = realloc(*arr, *cap * sizeof *na);
        if (!na) { fprintf(stderr, "spec-runner: out of memory\n"); exit(2); }
        *arr = na;
    }
    (*arr)[(*n)++] = (Named){ xstrdup(name), inst };
}

/* The newest entry with that name wins: a script may reuse a name. */
static Instance *find_named(const Named *arr, size_t n, const char *name)
{
    for (size_t i = n; i-- > 0;)
        if (strcmp(arr[i].name, name) == 0) return arr[i].inst;
    return NULL;
}

static void script_add_instance(Script *s, Instance *inst)
{
    if (s->ninstances == s->cap_instances) {
        s->cap_instances = s->cap_instances ? s->cap_instances * 2 : 16;
        Instance **ni = realloc(s->instances, s->cap_instances * sizeof *ni);
        if (!ni) { fprintf(stderr, "spec-runner: out of memory\n"); exit(2); }
        s->instances = ni;
    }
    s->instances[s->ninstances++] = inst;
}

static void script_free(Script *s)
{
    for (size_t i = s->ninstances; i-- > 0;)
        vm_instance_free(s->instances[i]);
    free(s->instances);
    for (size_t i = 0; i < s->nnames; i++) free(s->names[i].name);
    for (size_t i = 0; i < s->nregistered; i++) free(s->registered[i].name);
    free(s->names);
    free(s->registered);
    spectest_free(&s->spectest);
    free(s->dir);
}

/* ---- Values: parsing the JSON form, comparing, printing ---------------------------- */

typedef enum Match {
    MATCH_BITS,              /* exact bit pattern */
    MATCH_NAN_CANONICAL,     /* nan:canonical */
    MATCH_NAN_ARITHMETIC,    /* nan:arithmetic */
    MATCH_NONNULL_REF,       /* a funcref with no value given: any non-null reference */
} Match;

typedef struct Expect {
    ValType type;
    Match match;
    Value bits;
} Expect;

static bool parse_type(const char *s, ValType *out)
{
    static const struct { const char *name; ValType t; } types[] = {
        { "i32", VT_I32 }, { "i64", VT_I64 }, { "f32", VT_F32 }, { "f64", VT_F64 },
        { "funcref", VT_FUNCREF }, { "externref", VT_EXTERNREF }, { "v128", VT_V128 },
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(s, types[i].name) == 0) { *out = types[i].t; return true; }
    return false;
}


/* Parse one {"type": T, "value": V} into e. Values are the unsigned decimal of the bits;
 * externref N is lvm's Value N+1, because 0 is the null reference. Returns an error
 * message, or NULL. v128 gives "v128" so the caller can skip the command. */
static const char *parse_value(json_t *j, Expect *e, bool is_arg)
{
    const char *ts = json_string_value(json_object_get(j, "type"));
    if (!ts) return "value without a \"type\"";
    if (!parse_type(ts, &e->type)) return "unknown value type";
    if (e->type == VT_V128) return "v128";
    json_t *jv = json_object_get(j, "value");
    const char *v = json_string_value(jv);
    e->match = MATCH_BITS;
    e->bits = 0;
    if (!jv) {
        if (e->type == VT_FUNCREF && !is_arg) { e->match = MATCH_NONNULL_REF; return NULL; }
        return "value without a \"value\"";
    }
    if (!v) return "\"value\" is not a string";
    if (e->type == VT_FUNCREF || e->type == VT_EXTERNREF) {
        if (strcmp(v, "null") == 0) return NULL;
        if (e->type == VT_FUNCREF) return "funcref values other than null are not supported";
    }
    if ((e->type == VT_F32 || e->type == VT_F64) && !is_arg) {
        if (strcmp(v, "nan:canonical") == 0) { e->match = MATCH_NAN_CANONICAL; return NULL; }
        if (strcmp(v, "nan:arithmetic") == 0) { e->match = MATCH_NAN_ARITHMETIC; return NULL; }
    }
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || end == v || *end || v[0] == '-') return "bad number in \"value\"";
    if ((e->type == VT_I32 || e->type == VT_F32) && n > UINT32_MAX) return "value out of range";
    if (e->type == VT_EXTERNREF) {
        if (n == UINT64_MAX) return "externref out of range";
        n += 1;
    }
    e->bits = n;
    return NULL;
}

static bool value_matches(const Expect *e, Value got)
{
    switch (e->type) {
    case VT_I32:
        return (uint32_t)got == (uint32_t)e->bits;
    case VT_F32: {
        uint32_t b = (uint32_t)got;
        if (e->match == MATCH_NAN_CANONICAL) return (b & 0x7fffffffu) == 0x7fc00000u;
        if (e->match == MATCH_NAN_ARITHMETIC) return (b & 0x7fc00000u) == 0x7fc00000u;
        return b == (uint32_t)e->bits;
    }
    case VT_F64:
        if (e->match == MATCH_NAN_CANONICAL)
            return (got & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
        if (e->match == MATCH_NAN_ARITHMETIC)
            return (got & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
        return got == e->bits;
    case VT_FUNCREF:
    case VT_EXTERNREF:
        if (e->match == MATCH_NONNULL_REF) return got != 0;
        return got == e->bits;
    default:
        return got == e->bits;
    }
}

/* "i32:-1", "f32:1.5 (0x3fc00000)", "externref:41", "funcref:null". */
static void format_value(char *buf, size_t len, ValType t, Value v)
{
    switch (t) {
    case VT_I32:
        snprintf(buf, len, "i32:%" PRId32, (int32_t)(uint32_t)v);
        break;
    case VT_I64:
        snprintf(buf, len, "i64:%" PRId64, (int64_t)v);
        break;
    case VT_F32: {
        uint32_t b = (uint32_t)v;
        float f;
        memcpy(&f, &b, 4);
        snprintf(buf, len, "f32:%.9g (0x%08" PRIx32 ")", (double)f, b);
        break;
    }
    case VT_F64: {
        double d;
        memcpy(&d, &v, 8);
        snprintf(buf, len, "f64:%.17g (0x%016" PRIx64 ")", d, (uint64_t)v);
        break;
    }
    case VT_EXTERNREF:
        if (v == 0) snprintf(buf, len, "externref:null");
        else snprintf(buf, len, "externref:%" PRIu64, (uint64_t)v - 1);
        break;
    case VT_FUNCREF:
        snprintf(buf, len, v ? "funcref:<function>" : "funcref:null");
        break;
    default:
        snprintf(buf, len, "%s:0x%" PRIx64, valtype_name(t), (uint64_t)v);
    }
}

static void format_expect(char *buf, size_t len, const Expect *e)
{
    if (e->match == MATCH_NAN_CANONICAL)
        snprintf(buf, len, "%s:nan:canonical", valtype_name(e->type));
    else if (e->match == MATCH_NAN_ARITHMETIC)
        snprintf(buf, len, "%s:nan:arithmetic", valtype_name(e->type));
    else if (e->match == MATCH_NONNULL_REF)
        snprintf(buf, len, "%s:<non-null>", valtype_name(e->type));
    else
        format_value(buf, len, e->type, e->bits);
}

/* ---- Outcomes ---------------------------------------------------------------------- */

typedef enum Outcome { OUT_PASS, OUT_FAIL, OUT_SKIP } Outcome;

/* Every command handler returns an Outcome and, for failures, fills a message. */
typedef struct Result {
    char msg[1024];
    bool message_mismatch;   /* failed only because the error text differs */
} Result;

static Outcome fail(Result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static Outcome fail(Result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return OUT_FAIL;
}

/* A passed command says what it checked, for --verbose and --only FILE:LINE. */
static Outcome pass(Result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static Outcome pass(Result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return OUT_PASS;
}

static Outcome skip(Result *r, const char *why)
{
    snprintf(r->msg, sizeof r->msg, "%s", why);
    return OUT_SKIP;
}

/* ---- Modules: load, link, instantiate ------------------------------------------- */

/* How far an attempt to define a module got. */
typedef struct Attempt {
    enum { AT_OK, AT_BAD_JSON, AT_LOAD, AT_INSTANTIATE } stage;
    LoadError load;          /* AT_LOAD */
    VmError vm;              /* AT_INSTANTIATE: VM_LINK (from us or the VM), VM_TRAP, … */
    char msg[300];           /* AT_BAD_JSON */
} Attempt;

static Module *load_file(Script *s, json_t *cmd, Attempt *a)
{
    const char *filename = json_string_value(json_object_get(cmd, "filename"));
    if (!filename) {
        a->stage = AT_BAD_JSON;
        snprintf(a->msg, sizeof a->msg, "command has no \"filename\"");
        return NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", s->dir, filename);
    uint8_t *bytes;
    size_t size;
    if (!read_file(path, &bytes, &size)) {
        a->stage = AT_BAD_JSON;
        snprintf(a->msg, sizeof a->msg, "%.200s: %s", path, strerror(errno));
        return NULL;
    }
    memset(&a->load, 0, sizeof a->load);
    Module *m = loader_load(bytes, size, &a->load);
    free(bytes);
    if (!m) a->stage = AT_LOAD;
    return m;
}

/* Resolve m's imports against `spectest` and the registered instances (spec 4.5.4 steps
 * 3–4). On failure fills err with VM_LINK and "unknown import" or the reason given by
 * vm_extern_matches ("incompatible import type"). */
static bool resolve_imports(Script *s, const Module *m, Extern *ext, VmError *err)
{
    for (uint32_t i = 0; i < m->nimports; i++) {
        const Import *imp = &m->imports[i];
        bool found;
        if (strcmp(imp->module.str, "spectest") == 0) {
            found = spectest_export(&s->spectest, imp->name.str, &ext[i]);
        } else {
            Instance *inst = find_named(s->registered, s->nregistered, imp->module.str);
            found = inst && vm_instance_export(inst, imp->name.str, &ext[i]);
        }
        err->kind = VM_LINK;
        if (!found) {
            snprintf(err->message, sizeof err->message, "unknown import \"%s\".\"%s\"",
                     imp->module.str, imp->name.str);
            return false;
        }
        char why[160] = "";
        if (ext[i].kind != imp->kind) {
            snprintf(err->message, sizeof err->message,
                     "incompatible import type for \"%s\".\"%s\" (wrong kind)",
                     imp->module.str, imp->name.str);
            return false;
        }
        if (!vm_extern_matches(m, imp, &ext[i], why, sizeof why)) {
            if (why[0]) snprintf(err->message, sizeof err->message, "%s", why);
            else snprintf(err->message, sizeof err->message,
                          "incompatible import type for \"%s\".\"%s\"", imp->module.str,
                          imp->name.str);
            return false;
        }
    }
    err->kind = VM_OK;
    return true;
}

/* Load, link and instantiate the module a command names. The instance, if any, is owned
 * by the script (freed at its end). */
static Instance *attempt_module(Script *s, json_t *cmd, Attempt *a)
{
    memset(a, 0, sizeof *a);
    Module *m = load_file(s, cmd, a);
    if (!m) return NULL;
    a->stage = AT_INSTANTIATE;
    Extern *ext = xmalloc(m->nimports * sizeof *ext);
    Instance *inst = NULL;
    if (resolve_imports(s, m, ext, &a->vm)) {
        memset(&a->vm, 0, sizeof a->vm);
        inst = vm_instantiate(m, ext, s->exec, &a->vm);
    }
    free(ext);
    loader_release(m);   /* the instance holds its own reference */
    if (inst) {
        a->stage = AT_OK;
        script_add_instance(s, inst);
    } else if (a->vm.partial) {
        /* Failed after writing into imported tables: keep it alive as long as they are. */
        script_add_instance(s, a->vm.partial);
    }
    return inst;
}

static const char *vm_error_kind_name(VmErrorKind k)
{
    switch (k) {
    case VM_OK: return "ok";
    case VM_LINK: return "link error";
    case VM_TRAP: return "trap";
    case VM_NO_MEMORY: return "out of memory";
    case VM_UNSUPPORTED: return "unsupported";
    }
    return "?";
}

static const char *load_error_kind_name(LoadErrorKind k)
{
    switch (k) {
    case LOAD_OK: return "ok";
    case LOAD_MALFORMED: return "malformed";
    case LOAD_INVALID: return "invalid";
    case LOAD_UNSUPPORTED: return "unsupported";
    case LOAD_NO_MEMORY: return "out of memory";
    }
    return "?";
}

/* What went wrong with an attempt, as one line. */
static void describe_attempt(const Attempt *a, char *buf, size_t len)
{
    char tmp[300];
    switch (a->stage) {
    case AT_OK: snprintf(buf, len, "instantiated"); break;
    case AT_BAD_JSON: snprintf(buf, len, "%s", a->msg); break;
    case AT_LOAD:
        snprintf(buf, len, "load failed (%s): %s", load_error_kind_name(a->load.kind),
                 loader_error_format(&a->load, tmp, sizeof tmp));
        break;
    case AT_INSTANTIATE:
        snprintf(buf, len, "instantiation failed (%s): %s", vm_error_kind_name(a->vm.kind),
                 a->vm.kind == VM_TRAP && a->vm.trap.message[0] ? a->vm.trap.message
                                                                 : a->vm.message);
        break;
    }
}

/* Trap texts: the suite's text is a prefix of ours ("uninitialized element" for
 * "uninitialized element 2"), or ours is a whole-word prefix of the suite's. */
static bool trap_text_matches(const char *got, const char *want)
{
    size_t ng = strlen(got), nw = strlen(want);
    if (ng >= nw) return strncmp(got, want, nw) == 0;
    return ng > 0 && strncmp(got, want, ng) == 0 && want[ng] == ' ';
}

/* ---- Actions: invoke and get ------------------------------------------------------- */

typedef enum ActStatus { ACT_DONE, ACT_TRAP, ACT_ERROR, ACT_SKIP } ActStatus;

typedef struct ActResult {
    Value values[64];
    uint32_t n;
    const ValType *types;    /* result types; NULL for `get` (compare as expected type) */
    const Trap *trap;        /* ACT_TRAP */
    char desc[256];          /* "add(i32:1, i32:2)", for reports */
} ActResult;

static Instance *action_instance(Script *s, json_t *action)
{
    const char *mod = json_string_value(json_object_get(action, "module"));
    if (!mod) return s->current;
    Instance *inst = find_named(s->names, s->nnames, mod);
    return inst ? inst : find_named(s->registered, s->nregistered, mod);
}

static ActStatus act_invoke(Script *s, Instance *inst, const char *field, json_t *jargs,
                            ActResult *res, Result *r)
{
    Extern ext;
    if (!vm_instance_export(inst, field, &ext) || ext.kind != EXTERN_FUNC) {
        fail(r, "no exported function \"%s\"", field);
        return ACT_ERROR;
    }
    const ValType *params, *results;
    uint32_t nparams, nresults;
    vm_function_type(ext.u.func, &params, &nparams, &results, &nresults);
    size_t nargs = json_array_size(jargs);
    if (!json_is_array(jargs) || nargs != nparams || nresults > 64) {
        fail(r, "invoke %s: %zu arguments for %u parameters", field, nargs, nparams);
        return ACT_ERROR;
    }
    Value *args = xmalloc(nargs * sizeof *args);
    size_t off = strlen(res->desc);
    for (size_t i = 0; i < nargs; i++) {
        Expect e;
        const char *err = parse_value(json_array_get(jargs, i), &e, true);
        if (err || e.type != params[i]) {
            free(args);
            if (err && strcmp(err, "v128") == 0) {
                skip(r, "v128 argument (SIMD is not implemented)");
                return ACT_SKIP;
            }
            fail(r, "invoke %s: argument %zu: %s", field, i,
                 err ? err : "type differs from the parameter's");
            return ACT_ERROR;
        }
        args[i] = e.bits;
        char v[80];
        format_value(v, sizeof v, e.type, e.bits);
        if (off < sizeof res->desc)
            off += snprintf(res->desc + off, sizeof res->desc - off, "%s%s", i ? ", " : "", v);
    }
    if (off < sizeof res->desc) snprintf(res->desc + off, sizeof res->desc - off, ")");
    RunStatus st = vm_invoke(s->exec, ext.u.func, args, (uint32_t)nargs, res->values,
                             opt.budget);
    free(args);
    res->n = nresults;
    res->types = results;
    if (st == RUN_TRAP) {
        res->trap = vm_exec_trap(s->exec);
        return ACT_TRAP;
    }
    if (st != RUN_DONE) {
        fail(r, "vm_invoke returned status %d", (int)st);
        return ACT_ERROR;
    }
    return ACT_DONE;
}

/* Run the "action" of a command. A `get` leaves res->types NULL: vm.h has no way to ask
 * a GlobalInst its type, so the caller compares it as the type the script expects. */
static ActStatus run_action(Script *s, json_t *action, ActResult *res, Result *r)
{
    memset(res, 0, sizeof *res);
    const char *type = json_string_value(json_object_get(action, "type"));
    const char *field = json_string_value(json_object_get(action, "field"));
    if (!json_is_object(action) || !type || !field) {
        fail(r, "malformed \"action\" in the JSON");
        return ACT_ERROR;
    }
    if (strlen(field) != json_string_length(json_object_get(action, "field"))) {
        /* vm_instance_export takes a C string: a name with U+0000 in it cannot be
         * looked up (names.wast has one). */
        skip(r, "export name contains U+0000 (vm.h has no length-aware export lookup)");
        return ACT_SKIP;
    }
    Instance *inst = action_instance(s, action);
    if (!inst) {
        fail(r, "no module to run \"%s\" in (it failed to instantiate, or no such name)",
             field);
        return ACT_ERROR;
    }
    snprintf(res->desc, sizeof res->desc, "%s(", field);
    if (strcmp(type, "invoke") == 0)
        return act_invoke(s, inst, field, json_object_get(action, "args"), res, r);
    if (strcmp(type, "get") == 0) {
        Extern ext;
        snprintf(res->desc, sizeof res->desc, "get %s", field);
        if (!vm_instance_export(inst, field, &ext) || ext.kind != EXTERN_GLOBAL) {
            fail(r, "no exported global \"%s\"", field);
            return ACT_ERROR;
        }
        res->values[0] = vm_global_get(ext.u.global);
        res->n = 1;
        return ACT_DONE;
    }
    fail(r, "unknown action type \"%s\"", type);
    return ACT_ERROR;
}

/* ---- Commands ------------------------------------------------------------------------ */

static Outcome cmd_module(Script *s, json_t *cmd, Result *r)
{
    Attempt a;
    Instance *inst = attempt_module(s, cmd, &a);
    s->current = inst;
    const char *name = json_string_value(json_object_get(cmd, "name"));
    if (name) add_named(&s->names, &s->nnames, &s->cap_names, name, inst);
    if (inst)
        return pass(r, "%s instantiated%s%s",
                    json_string_value(json_object_get(cmd, "filename")), name ? " as " : "",
                    name ? name : "");
    char d[600];
    describe_attempt(&a, d, sizeof d);
    return fail(r, "%s", d);
}

static Outcome cmd_register(Script *s, json_t *cmd, Result *r)
{
    const char *as = json_string_value(json_object_get(cmd, "as"));
    const char *name = json_string_value(json_object_get(cmd, "name"));
    if (!as) return fail(r, "register without \"as\"");
    Instance *inst = name ? find_named(s->names, s->nnames, name) : s->current;
    if (!inst) return fail(r, "register %s: no such module instance", as);
    add_named(&s->registered, &s->nregistered, &s->cap_registered, as, inst);
    return pass(r, "%s registered as \"%s\"", name ? name : "the current module", as);
}

static Outcome cmd_action(Script *s, json_t *cmd, Result *r)
{
    ActResult res;
    switch (run_action(s, json_object_get(cmd, "action"), &res, r)) {
    case ACT_DONE: return pass(r, "%s returned", res.desc);
    case ACT_SKIP: return OUT_SKIP;
    case ACT_ERROR: return OUT_FAIL;
    case ACT_TRAP: break;
    }
    return fail(r, "%s trapped: %s", res.desc, res.trap->message);
}

static Outcome cmd_assert_return(Script *s, json_t *cmd, Result *r)
{
    ActResult res;
    json_t *jexp = json_object_get(cmd, "expected");
    if (!json_is_array(jexp)) return fail(r, "assert_return without \"expected\"");
    switch (run_action(s, json_object_get(cmd, "action"), &res, r)) {
    case ACT_DONE: break;
    case ACT_SKIP: return OUT_SKIP;
    case ACT_ERROR: return OUT_FAIL;
    case ACT_TRAP: return fail(r, "%s: expected a result, got trap \"%s\"", res.desc,
                               res.trap->message);
    }
    size_t n = json_array_size(jexp);
    if (n != res.n) return fail(r, "%s: expected %zu results, got %u", res.desc, n, res.n);
    char returned[600] = "";
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        Expect e;
        const char *err = parse_value(json_array_get(jexp, i), &e, false);
        if (err) return strcmp(err, "v128") == 0 ? skip(r, "v128") : fail(r, "%s", err);
        ValType got_type = res.types ? res.types[i] : e.type;
        char want[120], got[120];
        format_expect(want, sizeof want, &e);
        format_value(got, sizeof got, got_type, res.values[i]);
        if (got_type != e.type || !value_matches(&e, res.values[i]))
            return fail(r, "%s: result %zu: expected %s, got %s", res.desc, i, want, got);
        if (off < sizeof returned)
            off += snprintf(returned + off, sizeof returned - off, " %s", got);
    }
    return pass(r, "%s returned%s", res.desc, returned);
}

static Outcome cmd_assert_uninstantiable(Script *s, json_t *cmd, Result *r)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (!text) return fail(r, "assert without \"text\"");
    Attempt a;
    char d[600];
    attempt_module(s, cmd, &a);
    describe_attempt(&a, d, sizeof d);
    if (a.stage != AT_INSTANTIATE || a.vm.kind != VM_TRAP)
        return fail(r, "expected instantiation to trap \"%s\", got: %s", text, d);
    if (!trap_text_matches(a.vm.trap.message, text)) {
        r->message_mismatch = true;
        return fail(r, "expected trap \"%s\", got \"%s\"", text, a.vm.trap.message);
    }
    return pass(r, "instantiation trapped \"%s\"", a.vm.trap.message);
}

/* assert_trap and assert_exhaustion on an action, or assert_trap on a module (older
 * wast2json writes uninstantiable modules that way). */
static Outcome cmd_assert_trap(Script *s, json_t *cmd, Result *r)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (!text) return fail(r, "assert without \"text\"");
    if (!json_object_get(cmd, "action")) return cmd_assert_uninstantiable(s, cmd, r);
    ActResult res;
    switch (run_action(s, json_object_get(cmd, "action"), &res, r)) {
    case ACT_TRAP: break;
    case ACT_SKIP: return OUT_SKIP;
    case ACT_ERROR: return OUT_FAIL;
    case ACT_DONE: return fail(r, "%s: expected trap \"%s\", it returned", res.desc, text);
    }
    if (!trap_text_matches(res.trap->message, text)) {
        r->message_mismatch = true;
        return fail(r, "%s: expected trap \"%s\", got trap \"%s\"", res.desc, text,
                    res.trap->message);
    }
    return pass(r, "%s trapped \"%s\"", res.desc, res.trap->message);
}

/* assert_malformed and assert_invalid: the binary must not load, and the loader's
 * message must contain the suite's text. Text-format modules are not ours to judge. */
static Outcome cmd_assert_bad_module(Script *s, json_t *cmd, Result *r, LoadErrorKind want)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    const char *mtype = json_string_value(json_object_get(cmd, "module_type"));
    if (!text) return fail(r, "assert without \"text\"");
    if (mtype && strcmp(mtype, "text") == 0) return skip(r, "text-format module");
    Attempt a;
    memset(&a, 0, sizeof a);
    Module *m = load_file(s, cmd, &a);
    if (m) {
        loader_release(m);
        return fail(r, "expected %s module (\"%s\"), it loaded",
                    load_error_kind_name(want), text);
    }
    if (a.stage == AT_BAD_JSON) return fail(r, "%s", a.msg);
    char buf[300];
    loader_error_format(&a.load, buf, sizeof buf);
    if (a.load.kind != want || !strstr(a.load.message, text)) {
        r->message_mismatch = a.load.kind == want;
        return fail(r, "expected %s \"%s\", got %s: %s", load_error_kind_name(want), text,
                    load_error_kind_name(a.load.kind), buf);
    }
    return pass(r, "refused as %s: %s", load_error_kind_name(a.load.kind), buf);
}

static Outcome cmd_assert_unlinkable(Script *s, json_t *cmd, Result *r)
{
    const char *text = json_string_value(json_object_get(cmd, "text"));
    if (!text) return fail(r, "assert without \"text\"");
    Attempt a;
    char d[600];
    attempt_module(s, cmd, &a);
    describe_attempt(&a, d, sizeof d);
    if (a.stage != AT_INSTANTIATE || a.vm.kind != VM_LINK)
        return fail(r, "expected a link error \"%s\", got: %s", text, d);
    if (!strstr(a.vm.message, text)) {
        r->message_mismatch = true;
        return fail(r, "expected link error \"%s\", got \"%s\"", text, a.vm.message);
    }
    return pass(r, "refused to link: %s", a.vm.message);
}

static Outcome run_command(Script *s, const char *type, json_t *cmd, Result *r)
{
    if (strcmp(type, "module") == 0) return cmd_module(s, cmd, r);
    if (strcmp(type, "register") == 0) return cmd_register(s, cmd, r);
    if (strcmp(type, "action") == 0) return cmd_action(s, cmd, r);
    if (strcmp(type, "assert_return") == 0) return cmd_assert_return(s, cmd, r);
    if (strcmp(type, "assert_trap") == 0) return cmd_assert_trap(s, cmd, r);
    if (strcmp(type, "assert_exhaustion") == 0) return cmd_assert_trap(s, cmd, r);
    if (strcmp(type, "assert_malformed") == 0)
        return cmd_assert_bad_module(s, cmd, r, LOAD_MALFORMED);
    if (strcmp(type, "assert_invalid") == 0)
        return cmd_assert_bad_module(s, cmd, r, LOAD_INVALID);
    if (strcmp(type, "assert_unlinkable") == 0) return cmd_assert_unlinkable(s, cmd, r);
    if (strcmp(type, "assert_uninstantiable") == 0)
        return cmd_assert_uninstantiable(s, cmd, r);
    return fail(r, "unknown command type \"%s\"", type);
}

/* ---- One file ------------------------------------------------------------------------ */

static Exec *the_exec;   /* one Exec for the whole run; vm_exec_call resets it */

/* Count an outcome, check it against the expected list, and report it when asked to. */
static void record(Script *s, FILE *report, long line, const char *type, Outcome o,
                   const Result *r)
{
    Expected *e = find_expected(s->file, line);
    if (e) {
        e->ran = true;
        if (o == OUT_FAIL) e->seen_failing = true;
    }
    if (o == OUT_PASS) s->passed++;
    else if (o == OUT_SKIP) s->skipped++;
    else {
        s->failed++;
        if (r->message_mismatch) total_message_mismatches++;
        if (e) s->expected_failed++;
    }
    bool show = s->report_all || (o == OUT_FAIL && !e && s->reported < MAX_REPORTED_FAILURES);
    if (!show) return;
    if (o == OUT_FAIL && !e) s->reported++;
    const char *tag = o == OUT_PASS ? "ok" : o == OUT_SKIP ? "skip" : e ? "xfail" : "FAIL";
    fprintf(report, "    %-5s %s:%ld: %s: %s\n", tag, s->file, line, type,
            r->msg[0] ? r->msg : "passed");
}

/* List entries of this file that ran and never failed: they are fixed. */
static long report_fixed(const char *file, FILE *report)
{
    long n = 0;
    size_t flen = strlen(file);
    for (size_t i = 0; i < nexpected; i++) {
        Expected *e = &expected_list[i];
        if (strncmp(e->key, file, flen) != 0 || e->key[flen] != ':') continue;
        if (e->ran && !e->seen_failing) {
            fprintf(report, "    FIXED %s: passes now, remove it from the expected "
                    "failures (%s)\n", e->key, e->reason);
            n++;
        }
    }
    return n;
}

static void print_file_line(const char *status, const char *file, long passed, long failed,
                            long skipped, const char *note)
{
    printf("  %-5s %-30s %5ld passed, %ld failed, %ld skipped%s\n", status, file, passed,
           failed, skipped, note);
}

/* A SIMD script: count its commands as skipped. */
static void count_simd(const char *file, json_t *cmds)
{
    long n = (long)json_array_size(cmds);
    print_file_line("SKIP", file, 0, 0, n, "  (SIMD is not implemented)");
    total_skipped += n;
}

static json_t *load_script_json(const char *path, const char *file, json_t **cmds)
{
    json_error_t jerr;
    /* Export names may contain U+0000 (names.wast). */
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        printf("  ERROR %-30s %s:%d: %s\n", file, path, jerr.line, jerr.text);
        return NULL;
    }
    *cmds = json_object_get(root, "commands");
    if (!json_is_object(root) || !json_is_array(*cmds)) {
        printf("  ERROR %-30s %s: no \"commands\" array (not wast2json output?)\n", file,
               path);
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Run every command of one script. Returns false if --only LINE found no command. */
static bool run_script(Script *s, json_t *cmds, FILE *report)
{
    bool found_line = false;
    for (size_t i = 0; i < json_array_size(cmds); i++) {
        json_t *cmd = json_array_get(cmds, i);
        const char *type = json_string_value(json_object_get(cmd, "type"));
        long line = (long)json_integer_value(json_object_get(cmd, "line"));
        if (opt.only_line && line > opt.only_line) break;
        bool quiet = opt.only_line && line < opt.only_line;
        s->report_all = opt.verbose || (opt.only_line && line == opt.only_line);
        found_line |= opt.only_line && line == opt.only_line;
        Result r = { .msg = "" };
        current_line = line;
        alarm(COMMAND_TIMEOUT_SECONDS);
        Outcome o = json_is_object(cmd) && type
                        ? run_command(s, type, cmd, &r)
                        : fail(&r, "command %zu is not an object with a \"type\"", i);
        alarm(0);
        if (!quiet) record(s, report, line, type ? type : "?", o, &r);
    }
    return !opt.only_line || found_line;
}

/* Run (or, for SIMD, count) one .json file; add to the totals. */
static void run_file(const char *path, bool simd)
{
    char *file = wast_name(path);
    current_file = file;
    current_line = 0;
    json_t *cmds = NULL;
    json_t *root = load_script_json(path, file, &cmds);
    if (!root) {
        total_failed++;
        total_unexpected++;
        free(file);
        return;
    }
    if (simd) {
        count_simd(file, cmds);
        json_decref(root);
        free(file);
        return;
    }
    Script s = { .file = file, .exec = the_exec };
    char *pathcopy = xstrdup(path);
    s.dir = xstrdup(dirname(pathcopy));
    free(pathcopy);
    char *rbuf = NULL;
    size_t rlen = 0;
    FILE *report = open_memstream(&rbuf, &rlen);
    if (!report) { perror("open_memstream"); exit(2); }
    if (!spectest_new(&s.spectest)) {
        fprintf(report, "    FAIL  %s: could not create the spectest host module\n", file);
        s.failed++;
    } else if (!run_script(&s, cmds, report)) {
        fprintf(report, "    FAIL  %s:%ld: no command starts at that line\n", file,
                opt.only_line);
        s.failed++;
    }
    long fixed = report_fixed(file, report);
    fclose(report);

    long unexpected = s.failed - s.expected_failed;
    char note[64] = "";
    if (s.expected_failed) snprintf(note, sizeof note, "  (%ld expected)", s.expected_failed);
    print_file_line(unexpected || fixed ? "FAIL" : s.failed ? "XFAIL" : "PASS", file,
                    s.passed, s.failed, s.skipped, note);
    fputs(rbuf, stdout);
    fflush(stdout);
    free(rbuf);

    total_passed += s.passed;
    total_failed += s.failed;
    total_skipped += s.skipped;
    total_expected_failed += s.expected_failed;
    total_unexpected += unexpected;
    total_fixed += fixed;
    script_free(&s);
    json_decref(root);
    free(file);
    current_file = "";
}

/* ---- Finding the files, options, main ---------------------------------------------- */

typedef struct Input {
    char *path;
    char *name;              /* "i32.wast", for sorting and --only */
    bool simd;
} Input;

static Input *inputs;
static size_t ninputs, cap_inputs;

static void add_input(const char *path, bool simd)
{
    if (ninputs == cap_inputs) {
        cap_inputs = cap_inputs ? cap_inputs * 2 : 256;
        Input *n = realloc(inputs, cap_inputs * sizeof *n);
        if (!n) { fprintf(stderr, "spec-runner: out of memory\n"); exit(2); }
        inputs = n;
    }
    inputs[ninputs++] = (Input){ xstrdup(path), wast_name(path), simd };
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A directory from convert.sh: NAME/NAME.json for each script, and simd/NAME.json to count.
 * Plain *.json files directly in the directory are taken too. */
static bool scan_dir(const char *dir, bool simd)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "spec-runner: %s: %s\n", dir, strerror(errno));
        return false;
    }
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (is_dir(path)) {
            if (strcmp(de->d_name, "simd") == 0) {
                scan_dir(path, true);
                continue;
            }
            snprintf(path, sizeof path, "%s/%s/%s.json", dir, de->d_name, de->d_name);
            if (access(path, R_OK) == 0) add_input(path, simd);
        } else if (ends_with(de->d_name, ".json")) {
            add_input(path, simd);
        }
    }
    closedir(d);
    return true;
}

static int compare_inputs(const void *a, const void *b)
{
    const Input *x = a, *y = b;
    if (x->simd != y->simd) return x->simd - y->simd;
    return strcmp(x->name, y->name);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: spec-runner [options] JSON_DIR_OR_FILES...\n"
        "Runs the Wasm spec test suite (wast2json output, see tests/spec/convert.sh)\n"
        "in-process through lvm's loader and VM.\n"
        "\n"
        "  --budget N       reductions per slice given to vm_invoke; the call is resumed\n"
        "                   after every yield (default -1: no limit; 1 yields everywhere)\n"
        "  --expected FILE  known failures, one 'FILE:LINE  reason' a line; a failure not\n"
        "                   listed, or a listed one that passes, fails the run\n"
        "  --only F[:LINE]  run only script F (i32, i32.wast or i32.json); with LINE,\n"
        "                   report only that line's command, verbosely (the commands\n"
        "                   before it still run, silently, to build the same state)\n"
        "  --verbose        report every command, not only failures\n"
        "  --help           this text\n");
}

static bool parse_args(int argc, char **argv, int *first)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0) { usage(stdout); exit(0); }
        else if (strcmp(a, "--verbose") == 0) opt.verbose = true;
        else if (strcmp(a, "--budget") == 0 && has_val) {
            char *end;
            opt.budget = strtoll(argv[++i], &end, 10);
            if (*end || end == argv[i] || opt.budget == 0) {
                fprintf(stderr, "spec-runner: --budget wants a non-zero integer\n");
                return false;
            }
        } else if (strcmp(a, "--expected") == 0 && has_val) opt.expected = argv[++i];
        else if (strcmp(a, "--only") == 0 && has_val) {
            char *spec = argv[++i], *colon = strrchr(spec, ':');
            if (colon && colon[1]) {
                char *end;
                opt.only_line = strtol(colon + 1, &end, 10);
                if (*end || opt.only_line <= 0) {
                    fprintf(stderr, "spec-runner: --only wants FILE or FILE:LINE\n");
                    return false;
                }
                *colon = '\0';
            }
            opt.only_file = spec;
        } else {
            fprintf(stderr, "spec-runner: unknown option or missing value: %s "
                    "(see --help)\n", a);
            return false;
        }
    }
    *first = i;
    if (i == argc) {
        usage(stderr);
        return false;
    }
    return true;
}

/* Keep only the --only script. */
static bool filter_only(void)
{
    char *want = wast_name(opt.only_file);
    size_t kept = 0;
    for (size_t i = 0; i < ninputs; i++) {
        if (strcmp(inputs[i].name, want) == 0) inputs[kept++] = inputs[i];
        else { free(inputs[i].path); free(inputs[i].name); }
    }
    ninputs = kept;
    if (!kept) fprintf(stderr, "spec-runner: --only %s: no such script\n", want);
    free(want);
    return kept > 0;
}

int main(int argc, char **argv)
{
    int first;
    if (!parse_args(argc, argv, &first)) return 2;
    if (opt.expected && !load_expected(opt.expected)) return 2;
    for (int i = first; i < argc; i++) {
        if (is_dir(argv[i])) {
            if (!scan_dir(argv[i], false)) return 2;
        } else if (access(argv[i], R_OK) == 0) {
            char *copy = xstrdup(argv[i]);
            add_input(argv[i], strcmp(basename(dirname(copy)), "simd") == 0);
            free(copy);
        } else {
            fprintf(stderr, "spec-runner: %s: %s\n", argv[i], strerror(errno));
            return 2;
        }
    }
    if (opt.only_file && !filter_only()) return 2;
    if (!ninputs) {
        fprintf(stderr, "spec-runner: no .json scripts found (run tests/spec/convert.sh)\n");
        return 2;
    }
    qsort(inputs, ninputs, sizeof *inputs, compare_inputs);

    install_handlers();
    the_exec = vm_exec_new(NULL);
    if (!the_exec) {
        fprintf(stderr, "spec-runner: vm_exec_new failed\n");
        return 2;
    }
    vm_exec_set_slice(the_exec, opt.budget);   /* start functions yield too */
    for (size_t i = 0; i < ninputs; i++) {
        run_file(inputs[i].path, inputs[i].simd);
        free(inputs[i].path);
        free(inputs[i].name);
    }
    free(inputs);
    vm_exec_free(the_exec);

    if (total_message_mismatches)
        printf("spec: %ld failures are only a different error message\n",
               total_message_mismatches);
    if (total_expected_failed)
        printf("spec: %ld failures are on the expected list\n", total_expected_failed);
    /* In a full run, an entry that matched no command is stale (a renumbered line?). */
    for (size_t i = 0; i < nexpected && !opt.only_file; i++) {
        if (expected_list[i].ran) continue;
        printf("  STALE %s: no such command in this run; remove or fix the entry\n",
               expected_list[i].key);
        total_fixed++;
    }
    if (total_fixed)
        printf("spec: %ld entries of the expected list pass now or match nothing: "
               "remove them\n", total_fixed);
    printf("spec: %ld passed, %ld failed, %ld skipped\n", total_passed, total_failed,
           total_skipped);
    free_expected();
    return total_unexpected || total_fixed ? 1 : 0;
}
