/*
 * minimal/native.c — hostfns/native.h for the minimal build (make MINIMAL=1), which leaves
 * libffi out to be small: binding a native function is refused with a clear message, so
 * `lvm --native` and lvm_register_native say why instead of failing to link. C callbacks
 * (lvm_register_fn) work as in the full build.
 */
#include <stdio.h>

#include "hostfns/native.h"

Function *host_native_new(NativeFn fn, const char *name, const HostSig *sig, void **env_out,
                          char *err, size_t errlen)
{
    *env_out = NULL;
    snprintf(err, errlen, "%s: native functions need libffi, which this minimal build leaves out",
             name);
    return NULL;
}

void host_native_free_env(void *env)
{
}

NativeFn host_native_lookup(const char *library, const char *symbol, char *err, size_t errlen)
{
    snprintf(err, errlen, "native functions need libffi, which this minimal build leaves out");
    return NULL;
}
