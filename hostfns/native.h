/*
 * native.h — any native C function as a host function, without glue code: called through
 * libffi from its signature (registry.h: "(f64)f64", "(buf i32)i64", …). This is how
 * include/lvm.h's lvm_register_native and `lvm --native LIB.so:MODULE.NAME:SIGNATURE`
 * give a guest libm's cos or a function of the embedder's own library.
 *
 * Each Wasm argument becomes the C type of the same width (i32 int32_t, i64 int64_t,
 * f32 float, f64 double); a `buf` parameter takes two Wasm i32 (pointer, length),
 * checked against the caller's memory on every call, and passes a `void *` into guest
 * memory and a `size_t` length. A range outside the guest's memory traps the caller
 * ("env.f: buffer (0xfff0, 64) is outside the guest's memory"); the native function
 * never sees it. The native function must not keep the pointer after it returns: guest
 * memory can move when it grows.
 *
 * The minimal build (make MINIMAL=1) has no libffi: minimal/native.c refuses instead.
 * Read next: native.c.
 */
#ifndef LVM_HOSTFNS_NATIVE_H
#define LVM_HOSTFNS_NATIVE_H

#include "registry.h"

typedef void (*NativeFn)(void);

/* A host function calling fn with the signature `sig`; `name` ("env.cos") names it in
 * traps. *env_out gets what host_native_free_env frees after the function (give both to
 * host_registry_add). NULL with a message on failure. */
Function *host_native_new(NativeFn fn, const char *name, const HostSig *sig, void **env_out,
                          char *err, size_t errlen);
void host_native_free_env(void *env);

/* dlopen `library` (NULL: the program itself) and find `symbol` in it. The library stays
 * loaded for the life of the process (its functions may be bound to many VMs). NULL with
 * dlerror's message on failure. */
NativeFn host_native_lookup(const char *library, const char *symbol, char *err, size_t errlen);

#endif
