/*
 * registry.h — host functions an embedder adds under module names of its own choosing
 * ("env.cos"), and the signature strings that describe them.
 *
 * Where it sits: in hostfns/, beside the `lvm` API (actor.c). hostfns/runtime.c owns one
 * registry and resolves through it every import whose module is neither "lvm" nor
 * "wasi_snapshot_preview1". It is filled by the embedding API (embed.c: C callbacks and
 * libffi-bound natives) and by `lvm --native` (tools/main.c, through native.h).
 *
 * A signature is written "(PARAMS)RESULTS", types separated by spaces or commas, an
 * optional "->" before the results, and the results bare or in parentheses:
 *   "(f64)f64"   "(i32, i64) -> (f32)"   "()"   "(buf i32)i32"
 * Types: i32 i64 f32 f64, and for native functions `buf`, a guest buffer: two i32 in the
 * Wasm import (pointer, length), a `void *` and a `size_t` for the native function, the
 * range checked against the caller's memory on every call (native.c).
 *
 * Read next: registry.c, native.h, embed.c.
 */
#ifndef LVM_HOSTFNS_REGISTRY_H
#define LVM_HOSTFNS_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "../vm/vm.h"

typedef enum HostType { HT_I32, HT_I64, HT_F32, HT_F64, HT_BUF } HostType;

#define HOST_SIG_MAX 32           /* parameters or results, `buf` counting once */

typedef struct HostSig {
    uint32_t nparams, nresults;
    HostType params[HOST_SIG_MAX];
    HostType results[HOST_SIG_MAX];
} HostSig;

/* Parse a signature; `buf` is accepted among the parameters only if allow_buf. False
 * with a message ("bad signature '(f64': missing ')'") on error. */
bool host_sig_parse(const char *text, bool allow_buf, HostSig *out, char *err, size_t errlen);

/* The Wasm type of a signature (`buf` becomes i32 i32). The arrays hold 2 * HOST_SIG_MAX. */
void host_sig_wasm(const HostSig *sig, ValType *params, uint32_t *nparams, ValType *results,
                   uint32_t *nresults);

/* "(i32 i32)->i32", "(f64)->f64", "()->()" — the form error messages use. */
void host_type_format(const ValType *params, uint32_t np, const ValType *results, uint32_t nr,
                      char *buf, size_t len);

/* A host function of Wasm type `sig` (buf expanded) calling fn(exec, env, args). */
Function *host_sig_function(const HostSig *sig, HostFn fn, void *env, const char *name);

typedef struct HostRegistry HostRegistry;

HostRegistry *host_registry_new(void);
/* Frees every function added (vm_host_function_free, then free_env(env)): only when no
 * instance that imported one can run any more (after sched_free). */
void host_registry_free(HostRegistry *r);

/* Add module.name. The registry owns f (and env, freed with free_env if not NULL) from
 * now on, also when it refuses: false with a message if module.name is taken or module
 * is "lvm" or "wasi_snapshot_preview1". Thread-safe. */
bool host_registry_add(HostRegistry *r, const char *module, const char *name, Function *f,
                       void (*free_env)(void *), void *env, char *err, size_t errlen);

/* Bind import imp of m. False with a message when nothing of that name was registered
 * ("unknown import env.foo") or the types differ ("env.cos: the module imports
 * (i32)->i32, the host function is (f64)->f64"). Thread-safe. */
bool host_registry_resolve(HostRegistry *r, const Module *m, const Import *imp, Extern *out,
                           char *err, size_t errlen);

#endif
