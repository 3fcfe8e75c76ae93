/*
 * registry.c — signature strings, and the table of the embedder's host functions that
 * hostfns/runtime.c resolves imports through (registry.h).
 *
 * The table is a plain array under a mutex: it is written while the embedder sets up and
 * read once per import at each spawn, which can happen on any worker thread. Functions are
 * allocated one by one, so the pointers resolve() hands out stay valid when it grows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

/* ---- Signatures ---------------------------------------------------------------------- */

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == ',')
        s++;
    return s;
}

/* One type name at *s; advances *s. */
static bool parse_type(const char **s, HostType *out)
{
    static const struct { const char *name; HostType t; } names[] = {
        { "i32", HT_I32 }, { "i64", HT_I64 }, { "f32", HT_F32 }, { "f64", HT_F64 }, { "buf", HT_BUF },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strncmp(*s, names[i].name, 3) == 0) {
            *out = names[i].t;
            *s += 3;
            return true;
        }
    return false;
}

/* Types up to `close` (')' or the end of the string when close == 0). */
static bool parse_list(const char **s, char close, HostType *out, uint32_t *n, const char **why)
{
    *n = 0;
    for (*s = skip_space(*s); **s != close; *s = skip_space(*s)) {
        if (!**s) {
            *why = "missing ')'";
            return false;
        }
        if (*n == HOST_SIG_MAX) {
            *why = "too many types";
            return false;
        }
        if (!parse_type(s, &out[*n])) {
            *why = "unknown type (i32, i64, f32, f64 or buf)";
            return false;
        }
        (*n)++;
    }
    return true;
}

bool host_sig_parse(const char *text, bool allow_buf, HostSig *out, char *err, size_t errlen)
{
    const char *s = skip_space(text), *why = NULL;
    memset(out, 0, sizeof *out);
    if (*s != '(')
        why = "it must start with '('";
    else if (s++, parse_list(&s, ')', out->params, &out->nparams, &why)) {
        s = skip_space(s + 1);
        if (s[0] == '-' && s[1] == '>')
            s = skip_space(s + 2);
        if (*s == '(') {
            s++;
            if (parse_list(&s, ')', out->results, &out->nresults, &why) && *skip_space(s + 1))
                why = "text after the results";
        } else {
            parse_list(&s, 0, out->results, &out->nresults, &why);
        }
    }
    for (uint32_t i = 0; !why && i < out->nresults; i++)
        if (out->results[i] == HT_BUF)
            why = "buf is a parameter type only";
    for (uint32_t i = 0; !why && !allow_buf && i < out->nparams; i++)
        if (out->params[i] == HT_BUF)
            why = "buf is for native functions only";
    if (why)
        snprintf(err, errlen, "bad signature '%s': %s", text, why);
    return !why;
}

static ValType wasm_type(HostType t)
{
    switch (t) {
    case HT_I64: return VT_I64;
    case HT_F32: return VT_F32;
    case HT_F64: return VT_F64;
    default: return VT_I32;
    }
}

void host_sig_wasm(const HostSig *sig, ValType *params, uint32_t *np, ValType *results, uint32_t *nr)
{
    *np = 0;
    for (uint32_t i = 0; i < sig->nparams; i++) {
        params[(*np)++] = wasm_type(sig->params[i]);
        if (sig->params[i] == HT_BUF)
            params[(*np)++] = VT_I32;   /* the length */
    }
    for (*nr = 0; *nr < sig->nresults; (*nr)++)
        results[*nr] = wasm_type(sig->results[*nr]);
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

void host_type_format(const ValType *params, uint32_t np, const ValType *results, uint32_t nr,
                      char *buf, size_t len)
{
    size_t at = 0;
#define PUT(...) (at += (at < len ? (size_t)snprintf(buf + at, len - at, __VA_ARGS__) : 0))
    PUT("(");
    for (uint32_t i = 0; i < np; i++)
        PUT("%s%s", i ? " " : "", type_name(params[i]));
    PUT(nr == 1 ? ")->" : ")->(");
    for (uint32_t i = 0; i < nr; i++)
        PUT("%s%s", i ? " " : "", type_name(results[i]));
    if (nr != 1)
        PUT(")");
#undef PUT
}

Function *host_sig_function(const HostSig *sig, HostFn fn, void *env, const char *name)
{
    ValType p[2 * HOST_SIG_MAX], r[2 * HOST_SIG_MAX];
    uint32_t np, nr;
    host_sig_wasm(sig, p, &np, r, &nr);
    return vm_host_function_new(p, np, r, nr, fn, env, name);
}

/* ---- The registry ---------------------------------------------------------------------- */

typedef struct Entry {
    char *module, *name;
    Function *func;
    void (*free_env)(void *);
    void *env;
} Entry;

struct HostRegistry {
    pthread_mutex_t lock;
    Entry *entries;
    size_t n, cap;
};

HostRegistry *host_registry_new(void)
{
    HostRegistry *r = calloc(1, sizeof *r);
    if (r)
        pthread_mutex_init(&r->lock, NULL);
    return r;
}

static void free_entry(Entry *e)
{
    vm_host_function_free(e->func);
    if (e->free_env)
        e->free_env(e->env);
    free(e->module);
    free(e->name);
}

void host_registry_free(HostRegistry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free_entry(&r->entries[i]);
    free(r->entries);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static Entry *find(HostRegistry *r, const char *module, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->entries[i].module, module) == 0 && strcmp(r->entries[i].name, name) == 0)
            return &r->entries[i];
    return NULL;
}

bool host_registry_add(HostRegistry *r, const char *module, const char *name, Function *f,
                       void (*free_env)(void *), void *env, char *err, size_t errlen)
{
    Entry e = { strdup(module), strdup(name), f, free_env, env };
    const char *why = NULL;
    pthread_mutex_lock(&r->lock);
    if (!e.module || !e.name || !f)
        why = "out of memory";
    else if (strcmp(module, "lvm") == 0 || strcmp(module, "wasi_snapshot_preview1") == 0)
        why = "that module name is lvm's own";
    else if (find(r, module, name))
        why = "already registered";
    else if (r->n == r->cap) {
        size_t c = r->cap ? r->cap * 2 : 16;
        Entry *v = realloc(r->entries, c * sizeof *v);
        if (v) {
            r->entries = v;
            r->cap = c;
        } else {
            why = "out of memory";
        }
    }
    if (!why)
        r->entries[r->n++] = e;
    pthread_mutex_unlock(&r->lock);
    if (why) {
        snprintf(err, errlen, "%s.%s: %s", module, name, why);
        free_entry(&e);
    }
    return !why;
}

bool host_registry_resolve(HostRegistry *r, const Module *m, const Import *imp, Extern *out,
                           char *err, size_t errlen)
{
    pthread_mutex_lock(&r->lock);
    Entry *e = find(r, imp->module.str, imp->name.str);
    Function *f = e ? e->func : NULL;
    pthread_mutex_unlock(&r->lock);
    if (!f) {
        snprintf(err, errlen, "unknown import %s.%s", imp->module.str, imp->name.str);
        return false;
    }
    if (imp->kind != EXTERN_FUNC) {
        snprintf(err, errlen, "%s.%s: the module imports it as something other than a function",
                 imp->module.str, imp->name.str);
        return false;
    }
    out->kind = EXTERN_FUNC;
    out->u.func = f;
    if (vm_extern_matches(m, imp, out, NULL, 0))
        return true;
    const FuncType *t = &m->types[m->funcs[imp->index].typeidx];
    const ValType *hp, *hr;
    uint32_t hnp, hnr;
    vm_function_type(f, &hp, &hnp, &hr, &hnr);
    char want[160], have[160];
    host_type_format(functype_params(t), t->nparams, functype_results(t), t->nresults, want,
                     sizeof want);
    host_type_format(hp, hnp, hr, hnr, have, sizeof have);
    snprintf(err, errlen, "%s.%s: the module imports %s, the host function is %s",
             imp->module.str, imp->name.str, want, have);
    return false;
}
