/*
 * native.c — native functions called through libffi (native.h).
 *
 * At registration the signature becomes an ffi_cif (the C calling convention for those
 * argument types, prepared once). At each call, native_call converts the Wasm arguments
 * into C values, checks and translates every `buf` (pointer, length) into a host pointer
 * into the caller's memory, and lets ffi_call do the rest. Nothing blocks and nothing is
 * kept: the call either completes or traps before the native function runs.
 */
#include <dlfcn.h>
#include <ffi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

typedef struct Native {
    ffi_cif cif;
    NativeFn fn;
    HostSig sig;
    ffi_type *atypes[2 * HOST_SIG_MAX];
    char name[128];
} Native;

/* One C argument: the widest of what the signature may ask for. */
typedef union CArg {
    int32_t i32;
    int64_t i64;
    float f32;
    double f64;
    void *ptr;
    size_t size;
} CArg;

static ffi_type *ffi_of(HostType t)
{
    switch (t) {
    case HT_I32: return &ffi_type_sint32;
    case HT_I64: return &ffi_type_sint64;
    case HT_F32: return &ffi_type_float;
    case HT_F64: return &ffi_type_double;
    case HT_BUF: return &ffi_type_pointer;
    }
    return &ffi_type_void;
}

static HostStatus native_call(Exec *exec, void *env, Value *args)
{
    Native *n = env;
    CArg c[2 * HOST_SIG_MAX];
    void *avalues[2 * HOST_SIG_MAX];
    uint32_t at = 0, k = 0;   /* at: Wasm argument, k: C argument */
    for (uint32_t i = 0; i < n->sig.nparams; i++, k++) {
        Value v = args[at++];
        switch (n->sig.params[i]) {
        case HT_I32: c[k].i32 = (int32_t)(uint32_t)v; break;
        case HT_I64: c[k].i64 = (int64_t)v; break;
        case HT_F32: { uint32_t b = (uint32_t)v; memcpy(&c[k].f32, &b, 4); break; }
        case HT_F64: memcpy(&c[k].f64, &v, 8); break;
        case HT_BUF: {
            uint32_t ptr = (uint32_t)v, len = (uint32_t)args[at++];
            MemoryInst *m = vm_exec_caller_memory(exec);
            if (!m || (uint64_t)ptr + len > vm_memory_size(m)) {
                char msg[128];
                snprintf(msg, sizeof msg, "%s: buffer (0x%x, %u) is outside the guest's memory",
                         n->name, ptr, len);
                vm_exec_set_host_trap(exec, msg);
                return HOST_TRAP;
            }
            c[k].ptr = vm_memory_data(m) + ptr;
            avalues[k] = &c[k];
            c[++k].size = len;
            break;
        }
        }
        avalues[k] = &c[k];
    }
    /* Integer results narrower than a register come back widened to ffi_arg (libffi). */
    union { ffi_arg word; int64_t i64; float f32; double f64; } r;
    memset(&r, 0, sizeof r);
    ffi_call(&n->cif, n->fn, &r, avalues);
    if (n->sig.nresults) {
        switch (n->sig.results[0]) {
        case HT_I32: args[0] = (uint32_t)(int32_t)r.word; break;
        case HT_I64: args[0] = (uint64_t)r.i64; break;
        case HT_F32: { uint32_t b; memcpy(&b, &r.f32, 4); args[0] = b; break; }
        case HT_F64: memcpy(&args[0], &r.f64, 8); break;
        case HT_BUF: break;
        }
    }
    return HOST_OK;
}

Function *host_native_new(NativeFn fn, const char *name, const HostSig *sig, void **env_out,
                          char *err, size_t errlen)
{
    *env_out = NULL;
    if (sig->nresults > 1) {
        snprintf(err, errlen, "%s: a native function returns one value at most", name);
        return NULL;
    }
    Native *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->fn = fn;
    n->sig = *sig;
    snprintf(n->name, sizeof n->name, "%s", name);
    unsigned nargs = 0;
    for (uint32_t i = 0; i < sig->nparams; i++) {
        n->atypes[nargs++] = ffi_of(sig->params[i]);
        if (sig->params[i] == HT_BUF)
            n->atypes[nargs++] = sizeof(size_t) == 8 ? &ffi_type_uint64 : &ffi_type_uint32;
    }
    ffi_type *rtype = sig->nresults ? ffi_of(sig->results[0]) : &ffi_type_void;
    if (ffi_prep_cif(&n->cif, FFI_DEFAULT_ABI, nargs, rtype, n->atypes) != FFI_OK) {
        snprintf(err, errlen, "%s: libffi cannot call a function of this signature", name);
        free(n);
        return NULL;
    }
    Function *f = host_sig_function(sig, native_call, n, n->name);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        free(n);
        return NULL;
    }
    *env_out = n;
    return f;
}

void host_native_free_env(void *env)
{
    free(env);
}

NativeFn host_native_lookup(const char *library, const char *symbol, char *err, size_t errlen)
{
    /* RTLD_NODELETE: never unloaded, since bindings of it may outlive any one VM. The
     * handle from a second dlopen of the same library is the same one. */
    void *lib = dlopen(library, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!lib) {
        snprintf(err, errlen, "%s", dlerror());
        return NULL;
    }
    dlerror();
    void *sym = dlsym(lib, symbol);
    const char *why = dlerror();
    if (why || !sym)   /* copied now: dlclose may reuse dlerror's buffer */
        snprintf(err, errlen, "%s", why ? why : "symbol is NULL");
    dlclose(lib);   /* with RTLD_NODELETE the library stays; only the reference goes */
    if (why || !sym)
        return NULL;
    NativeFn fn;
    memcpy(&fn, &sym, sizeof fn);   /* object pointer to function pointer (POSIX allows) */
    return fn;
}
