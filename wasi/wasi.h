/*
 * wasi.h — wasi_snapshot_preview1 for lvm guests: the public interface of wasi/.
 *
 * Where it sits: between an embedder (tools/main.c, later sched/) and vm/. A WasiCtx is
 * everything one guest process sees of the outside world: its arguments, environment,
 * file-descriptor table (stdio, preopened directories, preopened listening sockets) and
 * nothing else. wasi_resolve() turns each `wasi_snapshot_preview1.*` import of a module
 * into a host function bound to that context, so one WasiCtx serves exactly one instance
 * (one process, once processes exist: issue 4).
 *
 * The functions follow the WASI preview 1 spec (WebAssembly/WASI, phases/snapshot/witx/
 * wasi_snapshot_preview1.witx, and docs.md next to it) and Wasmtime's behaviour where the
 * spec is loose; docs/wasi.md lists the choices. Files: wasi.c (context, registration,
 * args/environ/clock/random/proc), fd.c and dir.c (fd_*), path.c (path_*), sandbox.c (how
 * a guest path is resolved beneath a preopen), poll.c (poll_oneoff and the readiness
 * checks every blocking call makes), sock.c (sock_*).
 *
 * Blocking (DESIGN decision 7). A host function that must wait has to return HOST_BLOCK
 * having done nothing, and is called again when the process is woken. Every call that
 * can wait (fd_read, fd_write, sock_accept, sock_recv, sock_send on pipes, terminals and
 * sockets; poll_oneoff) therefore first asks "is it ready?" with poll(2) and a zero
 * timeout, which has no side effects, and only then does the operation. When it is not
 * ready, the context's WasiWaiter (wasi_set_waiter below) decides: the scheduler's parks
 * the process and the call returns HOST_BLOCK; without one the calling thread waits in
 * poll(2). See poll.c.
 *
 * Read next: wasi_internal.h (the fd table and guest-memory helpers), then wasi.c.
 */
#ifndef LVM_WASI_WASI_H
#define LVM_WASI_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../loader/module.h"
#include "../vm/vm.h"

#define WASI_MODULE_NAME "wasi_snapshot_preview1"

/* A host directory the guest may use, under the name it will see (`--dir HOST::GUEST`). */
typedef struct WasiPreopen {
    const char *host_path;
    const char *guest_path;
} WasiPreopen;

/* What a guest process starts with. Everything is copied by wasi_new(); host file
 * descriptors are borrowed, never closed by wasi/ (the embedder owns them). */
typedef struct WasiConfig {
    int argc;
    const char *const *argv;          /* argv[0] is the program name the guest sees */
    int nenv;
    const char *const *env;           /* "KEY=VALUE" strings; nothing else leaks in */
    int npreopens;
    const WasiPreopen *preopens;      /* guest fds 3, 4, … in this order */
    int nsockets;
    const int *sockets;               /* listening sockets (host fds), after the preopens */
    int stdin_fd, stdout_fd, stderr_fd;   /* host fds for guest fds 0, 1, 2; -1: closed */
} WasiConfig;

typedef struct WasiCtx WasiCtx;

/* A new context. Opens each preopened directory (O_DIRECTORY); returns NULL with a
 * one-line message in err ("/no/such: No such file or directory") on failure. */
WasiCtx *wasi_new(const WasiConfig *cfg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Closes the files the guest opened and the preopened directories, frees the host
 * functions. Instances bound through wasi_resolve must be freed first. */
void wasi_free(WasiCtx *ctx);

/* How a call waits when a descriptor is not ready (DESIGN decision 7). Without a waiter
 * the calling thread waits in poll(2) — fine for a single process. With one (the
 * scheduler's, hostfns/runtime.c), wait() parks the process without holding a thread:
 *   WASI_WAIT_BLOCK    nothing was done; the host call returns HOST_BLOCK and runs again
 *                      from the start when the process is woken
 *   WASI_WAIT_AGAIN    look again now (something may be ready, or waiting failed)
 *   WASI_WAIT_TIMEOUT  the timeout (relative, armed on the call's first try) is over
 * done() ends the wait when the call completes. */
struct pollfd;
typedef enum WasiWaitResult { WASI_WAIT_AGAIN, WASI_WAIT_BLOCK, WASI_WAIT_TIMEOUT } WasiWaitResult;
typedef struct WasiWaiter {
    WasiWaitResult (*wait)(void *env, Exec *exec, const struct pollfd *fds, int nfds,
                           int64_t timeout_ns);
    void (*done)(void *env, Exec *exec);
    /* sched_yield: WASI_WAIT_BLOCK the first time (the process goes to the back of the
     * run queue), WASI_WAIT_AGAIN when it runs again. NULL: yield the host thread. */
    WasiWaitResult (*yield)(void *env, Exec *exec);
    /* The calling process's own CPU time in ns (CLOCK_THREAD_CPUTIME_ID for the guest:
     * a process moves between worker threads). NULL: the host thread's clock. */
    uint64_t (*cpu_ns)(void *env, Exec *exec);
    void *env;
} WasiWaiter;
void wasi_set_waiter(WasiCtx *ctx, const WasiWaiter *waiter);

/* Host functions shared by every process of a scheduler, instead of one set per context:
 * each call finds its context with ctx_of (which may make it on first use, so a process
 * that never calls WASI never has one). A spawn then costs no WASI allocation at all. */
typedef WasiCtx *(*WasiCtxOf)(void *env, Exec *exec);
typedef struct WasiShared WasiShared;
WasiShared *wasi_shared_new(WasiCtxOf ctx_of, void *env);
void wasi_shared_free(WasiShared *shared);
bool wasi_resolve_shared(WasiShared *shared, const Module *m, const Import *imp, Extern *out,
                         char *err, size_t errlen) __attribute__((warn_unused_result));

/* True if imp is imported from wasi_snapshot_preview1. */
bool wasi_is_import(const Import *imp);

/* Bind one wasi_snapshot_preview1 import of m: fills *out with the host function (made
 * once per context, its env is the context) and returns true. An unknown name, a
 * non-function import or a wrong signature is an error (false, message in err, worded
 * like Wasmtime's: "unknown import: `wasi_snapshot_preview1::foo` has not been defined"). */
bool wasi_resolve(WasiCtx *ctx, const Module *m, const Import *imp, Extern *out,
                  char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
