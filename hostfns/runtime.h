/*
 * runtime.h — an actor VM ready to run guests: a scheduler whose processes may import the
 * `lvm` API (actor.c) and WASI (wasi/), each process with its own WASI context made from
 * the same configuration (arguments, environment, preopened directories), as children
 * inherit their parent's. This is what `lvm app.wasm` runs, and what an embedder uses
 * unless it binds its own host functions.
 */
#ifndef LVM_HOSTFNS_RUNTIME_H
#define LVM_HOSTFNS_RUNTIME_H

#include "../wasi/wasi.h"
#include "hostfns.h"

typedef struct Runtime Runtime;

/* The WASI configuration is borrowed: it must outlive the runtime. */
Runtime *runtime_new(const SchedConfig *sched, const WasiConfig *wasi, char *err, size_t errlen);
void runtime_free(Runtime *rt);
Sched *runtime_sched(Runtime *rt);

#endif
