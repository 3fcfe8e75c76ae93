/*
 * lvm.h — the guest side of lvm's actor API, for C programs built with
 * `clang --target=wasm32-wasi`. Each lvm_* function is a host function of module "lvm"
 * (docs/abi.md gives the contract of each); the helpers below them make the common
 * patterns short. Processes share nothing: a message is bytes plus a 64-bit tag, copied
 * from the sender's memory into a host buffer and, by lvm_msg_read, into the receiver's.
 */
#ifndef LVM_SDK_LVM_H
#define LVM_SDK_LVM_H

#include <stdint.h>

#define LVM_IMPORT(name) __attribute__((import_module("lvm"), import_name(name)))

typedef int64_t lvm_pid;

/* Exit reasons (docs/abi.md). Guests choose their own from LVM_EXIT_USER up. */
enum {
    LVM_EXIT_NORMAL = 0,
    LVM_EXIT_KILLED = 1,              /* as a kill reason: cannot be trapped */
    LVM_EXIT_NOPROC = 2,
    LVM_EXIT_OUT_OF_MEMORY = 3,
    LVM_EXIT_OUT_OF_REDUCTIONS = 4,
    LVM_EXIT_SPAWN_FAILED = 5,
    LVM_EXIT_TRAP = 16,               /* + the trap kind */
    LVM_EXIT_USER = 256,
};

/* Tags of messages the VM sends; user tags should be >= 0. */
#define LVM_TAG_EXIT (-1)             /* payload: i64 pid, i32 reason (lvm_exit_info) */
#define LVM_TAG_DOWN (-2)             /* payload: i64 ref, i64 pid, i32 reason (lvm_down_info) */

enum { LVM_SPAWN_LINK = 1, LVM_SPAWN_MONITOR = 2 };
enum { LVM_CFG_MAX_MEMORY_PAGES = 1, LVM_CFG_FUEL = 2, LVM_CFG_CAN_SPAWN = 3, LVM_CFG_NAMESPACES = 4 };
enum { LVM_NS_LVM = 1, LVM_NS_WASI = 2 };

/* ---- The host functions ------------------------------------------------------------------ */

LVM_IMPORT("self") lvm_pid lvm_self(void);
/* Spawn fn (a function pointer of this module: its table index) with nargs i64 arguments.
 * Returns the new pid, or 0 if it could not be spawned. ref_out (may be NULL) gets the
 * monitor reference with LVM_SPAWN_MONITOR. */
LVM_IMPORT("spawn") lvm_pid lvm_spawn_raw(int32_t fn, const int64_t *args, int32_t nargs,
                                          int32_t flags, int64_t *ref_out);
LVM_IMPORT("spawn_export") lvm_pid lvm_spawn_export(const char *name, int32_t name_len,
                                                    const int64_t *args, int32_t nargs,
                                                    int32_t flags, int64_t *ref_out);
LVM_IMPORT("module_load") int64_t lvm_module_load(const void *bytes, int32_t len);
LVM_IMPORT("spawn_module") lvm_pid lvm_spawn_module(int64_t module, const char *name,
                                                    int32_t name_len, const int64_t *args,
                                                    int32_t nargs, int32_t flags,
                                                    int64_t *ref_out);
LVM_IMPORT("exit") __attribute__((noreturn)) void lvm_exit(int32_t reason);
LVM_IMPORT("kill") int32_t lvm_kill(lvm_pid pid, int32_t reason);
LVM_IMPORT("send") int32_t lvm_send(lvm_pid to, int64_t tag, const void *bytes, int32_t len);
/* Wait for the oldest message whose tag is one of tags[0..ntags) (any if ntags == 0);
 * timeout_ms: 0 polls, -1 waits forever. 0: got one (read it with lvm_msg_*), 1: timeout. */
LVM_IMPORT("receive") int32_t lvm_receive(const int64_t *tags, int32_t ntags, int64_t timeout_ms);
LVM_IMPORT("msg_tag") int64_t lvm_msg_tag(void);
LVM_IMPORT("msg_sender") lvm_pid lvm_msg_sender(void);
LVM_IMPORT("msg_size") int32_t lvm_msg_size(void);
LVM_IMPORT("msg_read") int32_t lvm_msg_read(void *dst, int32_t len, int32_t offset);
LVM_IMPORT("link") int32_t lvm_link(lvm_pid pid);
LVM_IMPORT("unlink") int32_t lvm_unlink(lvm_pid pid);
LVM_IMPORT("trap_exit") int32_t lvm_trap_exit(int32_t on);
LVM_IMPORT("monitor") int64_t lvm_monitor(lvm_pid pid);
LVM_IMPORT("demonitor") int32_t lvm_demonitor(int64_t ref);
LVM_IMPORT("register") int32_t lvm_register_raw(const char *name, int32_t len, lvm_pid pid);
LVM_IMPORT("unregister") int32_t lvm_unregister_raw(const char *name, int32_t len);
LVM_IMPORT("whereis") lvm_pid lvm_whereis_raw(const char *name, int32_t len);
LVM_IMPORT("sleep") void lvm_sleep(int64_t ms);
LVM_IMPORT("yield") void lvm_yield(void);
LVM_IMPORT("send_after") int64_t lvm_send_after(lvm_pid to, int64_t tag, const void *bytes,
                                                int32_t len, int64_t ms);
LVM_IMPORT("cancel_timer") int32_t lvm_cancel_timer(int64_t timer);
LVM_IMPORT("config_set") int32_t lvm_config_set(int32_t key, int64_t value);
LVM_IMPORT("config_get") int64_t lvm_config_get(int32_t key);

/* ---- Helpers ----------------------------------------------------------------------------- */

static inline int32_t lvm_strlen_(const char *s)
{
    int32_t n = 0;
    while (s[n])
        n++;
    return n;
}

typedef void (*lvm_fn0)(void);
typedef void (*lvm_fn1)(int64_t);

/* Spawn a function of this module taking no argument, or one i64. */
static inline lvm_pid lvm_spawn0(lvm_fn0 fn, int32_t flags)
{
    return lvm_spawn_raw((int32_t)(uintptr_t)fn, 0, 0, flags, 0);
}

static inline lvm_pid lvm_spawn1(lvm_fn1 fn, int64_t arg, int32_t flags)
{
    return lvm_spawn_raw((int32_t)(uintptr_t)fn, &arg, 1, flags, 0);
}

static inline int32_t lvm_register(const char *name, lvm_pid pid)
{
    return lvm_register_raw(name, lvm_strlen_(name), pid);
}

static inline int32_t lvm_unregister(const char *name)
{
    return lvm_unregister_raw(name, lvm_strlen_(name));
}

static inline lvm_pid lvm_whereis(const char *name)
{
    return lvm_whereis_raw(name, lvm_strlen_(name));
}

/* Send / receive one i64 (the commonest message in examples and benchmarks). */
static inline int32_t lvm_send_i64(lvm_pid to, int64_t tag, int64_t value)
{
    return lvm_send(to, tag, &value, 8);
}

static inline int64_t lvm_msg_i64(void)
{
    int64_t v = 0;
    lvm_msg_read(&v, 8, 0);
    return v;
}

/* Receive any message with one tag, waiting forever; returns its i64 payload. */
static inline int64_t lvm_recv_i64(int64_t tag)
{
    lvm_receive(&tag, 1, -1);
    return lvm_msg_i64();
}

typedef struct lvm_exit_info { lvm_pid pid; int32_t reason; } lvm_exit_info;
typedef struct lvm_down_info { int64_t ref; lvm_pid pid; int32_t reason; } lvm_down_info;

static inline lvm_exit_info lvm_msg_exit_info(void)
{
    lvm_exit_info e = { 0, 0 };
    lvm_msg_read(&e.pid, 8, 0);
    lvm_msg_read(&e.reason, 4, 8);
    return e;
}

static inline lvm_down_info lvm_msg_down_info(void)
{
    lvm_down_info d = { 0, 0, 0 };
    lvm_msg_read(&d.ref, 8, 0);
    lvm_msg_read(&d.pid, 8, 8);
    lvm_msg_read(&d.reason, 4, 16);
    return d;
}

#endif
