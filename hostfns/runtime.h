/*
 * runtime.h — an actor VM ready to run guests: a scheduler whose processes may import the
 * `lvm` API (actor.c) and WASI (wasi/), each process with its own WASI context made from
 * the same configuration (arguments, environment, preopened directories), as children
 * inherit their parent's. This is what `lvm app.wasm` runs, and what the embedding API
 * (embed.c) is built on.
 *
 * Imports of any other module go to the runtime's HostRegistry (registry.h): the host
 * functions an embedder or `lvm --native` added, type-checked against the import. A
 * process whose ProcessConfig.wasi_config is set gets a WASI context made from that
 * WasiConfig instead of the runtime's (an embedder's per-spawn arguments, environment
 * and directories; children inherit it with the rest of the configuration).
 */
#ifndef LVM_HOSTFNS_RUNTIME_H
#define LVM_HOSTFNS_RUNTIME_H

#include "../wasi/wasi.h"
#include "hostfns.h"
#include "registry.h"

typedef struct Runtime Runtime;

/* The WASI configuration is borrowed: it must outlive the runtime. */
Runtime *runtime_new(const SchedConfig *sched, const WasiConfig *wasi, char *err, size_t errlen);
void runtime_free(Runtime *rt);
Sched *runtime_sched(Runtime *rt);
/* The embedder's host functions (registry.h), resolved for imports of any module but
 * "lvm" and WASI; freed with the runtime, after the scheduler. */
HostRegistry *runtime_registry(Runtime *rt);

#endif
