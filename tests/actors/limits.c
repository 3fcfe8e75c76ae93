/*
 * limits.c — limits and permissions a spawner sets with config_set for its children, which
 * they pass on to theirs and can only lower: maximum memory, fuel, may-spawn, the host
 * namespaces a module may import (a module importing a forbidden one fails to spawn), and
 * the WASI world (args, env, preopens) children inherit.
 */
#include "common.h"

enum { TAG_INFO = 1, TAG_PID = 2, TAG_CFG = 3, TAG_DOWN_FWD = 4 };

static void report_config(int64_t root)
{
    int64_t c[4];
    for (int i = 0; i < 4; i++)
        c[i] = lvm_config_get(i + 1);
    lvm_send(root, TAG_CFG, c, sizeof c);
}

static void get_config(int64_t c[4])
{
    RECV(TAG_CFG, "config");
    lvm_msg_read(c, 32, 0);
}

/* ---- memory ---------------------------------------------------------------------------------- */

static void grow_past(int64_t unused)
{
    int64_t size = (int64_t)__builtin_wasm_memory_size(0);
    __builtin_wasm_memory_grow(0, (size_t)(64 - size));   /* to 64 pages: over any limit here */
    send_i64(0, 0, size);
}

/* Report config, raise the memory limit (in vain), spawn a grandchild that grows past it and
 * forward its DOWN reason; then grow past the limit itself. */
static void mem_child(int64_t root)
{
    lvm_config_set(LVM_CFG_MAX_MEMORY_PAGES, 1000);   /* can only lower: no effect */
    report_config(root);
    int64_t ref;
    lvm_pid g = SPAWN_MON(&ref, grow_past, 0);
    send_i64(root, TAG_DOWN_FWD, g ? expect_down_at(__FILE_NAME__, __LINE__, ref, g) : -1);
    grow_past(0);
}

// test: memory
// expect: the child's config: memory limit 10 pages (its attempt to raise it had no effect)
// expect: the grandchild grows past it: out_of_memory
// expect: the child grows past it: out_of_memory
// expect: limit 1 page, below the module's minimum: spawn returns 0
static void memory(int argc, char **argv)
{
    CHECK_EQ(lvm_config_set(LVM_CFG_MAX_MEMORY_PAGES, 10), 0);
    int64_t ref, c[4];
    lvm_pid ch = SPAWN_MON(&ref, mem_child, lvm_self());
    get_config(c);
    printf("the child's config: memory limit %lld pages (its attempt to raise it had no "
           "effect)\n", (long long)c[0]);
    RECV(TAG_DOWN_FWD, "grandchild's DOWN");
    printf("the grandchild grows past it: %s\n", reason_name((int32_t)msg_i64()));
    printf("the child grows past it: %s\n", reason_name(EXPECT_DOWN(ref, ch)));
    CHECK_EQ(lvm_config_set(LVM_CFG_MAX_MEMORY_PAGES, 1), 0);
    printf("limit 1 page, below the module's minimum: spawn returns %lld\n",
           (long long)SPAWN(grow_past, 0, 0));
}

/* ---- fuel ------------------------------------------------------------------------------------ */

static void spin(int64_t unused)
{
    for (volatile int64_t i = 0;; i++) {
    }
}

static void fuel_child(int64_t root)
{
    lvm_config_set(LVM_CFG_FUEL, 0);   /* 0 is "no limit": cannot be set once limited */
    report_config(root);
    int64_t ref;
    lvm_pid g = SPAWN_MON(&ref, spin, 0);
    send_i64(root, TAG_DOWN_FWD, g ? expect_down_at(__FILE_NAME__, __LINE__, ref, g) : -1);
    spin(0);
}

// test: fuel
// expect: the child's config: fuel 300000 (its attempt to lift it had no effect)
// expect: the grandchild's busy loop: out_of_reductions
// expect: the child's own busy loop: out_of_reductions
static void fuel(int argc, char **argv)
{
    CHECK_EQ(lvm_config_set(LVM_CFG_FUEL, 300000), 0);
    int64_t ref, c[4];
    lvm_pid ch = SPAWN_MON(&ref, fuel_child, lvm_self());
    get_config(c);
    printf("the child's config: fuel %lld (its attempt to lift it had no effect)\n",
           (long long)c[1]);
    RECV(TAG_DOWN_FWD, "grandchild's DOWN");
    printf("the grandchild's busy loop: %s\n", reason_name((int32_t)msg_i64()));
    printf("the child's own busy loop: %s\n", reason_name(EXPECT_DOWN(ref, ch)));
}

/* ---- may spawn --------------------------------------------------------------------------------- */

static void nothing(int64_t unused)
{
}

static void spawn_child(int64_t root)
{
    lvm_config_set(LVM_CFG_CAN_SPAWN, 1);   /* cannot give itself the right back */
    report_config(root);
    int64_t r[3];
    r[0] = SPAWN(nothing, 0, 0);
    r[1] = lvm_spawn_export("nothing_export", 14, 0, 0, 0, 0);
    r[2] = lvm_send(root, TAG_INFO, "still works", 12);
    lvm_send(root, TAG_INFO, r, sizeof r);
}

__attribute__((export_name("nothing_export"))) void nothing_export(void)
{
}

// test: can_spawn
// expect: the child's config: can_spawn 0
// expect: its spawn of a table function: 0; of an export: 0
// expect: it can still send: "still works"
// expect: the root itself can still spawn
static void can_spawn(int argc, char **argv)
{
    CHECK_EQ(lvm_config_set(LVM_CFG_CAN_SPAWN, 0), 0);
    int64_t c[4], r[3];
    lvm_pid ch = SPAWN(spawn_child, 0, lvm_self());
    CHECK(ch > 0, "the root could not spawn");
    get_config(c);
    printf("the child's config: can_spawn %lld\n", (long long)c[2]);
    RECV(TAG_INFO, "text");
    char buf[12];
    lvm_msg_read(buf, 12, 0);
    RECV(TAG_INFO, "results");
    lvm_msg_read(r, sizeof r, 0);
    printf("its spawn of a table function: %lld; of an export: %lld\n", (long long)r[0],
           (long long)r[1]);
    printf("it can still send: \"%s\"\n", buf);
    int64_t ref;
    lvm_pid n = SPAWN_MON(&ref, nothing, 0);
    CHECK(n > 0, "the root could not spawn");
    EXPECT_DOWN(ref, n);
    printf("the root itself can still spawn\n");
}

/* ---- namespaces ------------------------------------------------------------------------------- */

// test: ns_wasi
// lvm: --dir {mods}::/mods
// expect: children may import: 1 (lvm only)
// expect: spawn of a function of this module (it imports WASI): 0
// expect: spawn of mod_wasi (imports WASI): 0
// expect: spawn of mod_basic (imports lvm only): works, add = 42
// expect: that child's children inherit it: 1; its spawn of mod_wasi: 0, of mod_basic: works
static void ns_wasi(int argc, char **argv)
{
    int64_t basic = load_mod("mod_basic.wasm"), wasi = load_mod("mod_wasi.wasm");
    CHECK_EQ(lvm_config_set(LVM_CFG_NAMESPACES, LVM_NS_LVM), 0);
    printf("children may import: %lld (lvm only)\n", (long long)lvm_config_get(LVM_CFG_NAMESPACES));
    printf("spawn of a function of this module (it imports WASI): %lld\n",
           (long long)SPAWN(nothing, 0, 0));
    int64_t args[3] = { lvm_self(), 40, 2 };
    printf("spawn of mod_wasi (imports WASI): %lld\n",
           (long long)lvm_spawn_module(wasi, "hello", 5, args, 1, 0, 0));
    lvm_pid p = lvm_spawn_module(basic, "add", 3, args, 3, 0, 0);
    CHECK(p > 0, "spawn of mod_basic failed");
    RECV(1, "add");
    printf("spawn of mod_basic (imports lvm only): works, add = %lld\n", (long long)msg_i64());

    int64_t a2[3] = { lvm_self(), 0, 0 };
    p = lvm_spawn_module(basic, "config", 6, a2, 1, 0, 0);
    CHECK(p > 0, "spawn of mod_basic failed");
    int64_t c[4];
    get_config(c);
    int64_t a3[3] = { lvm_self(), wasi, 1 };
    lvm_spawn_module(basic, "try_spawn", 9, a3, 3, 0, 0);
    RECV(2, "try_spawn result");
    int64_t w = msg_i64();
    a3[1] = basic;
    a3[2] = 2;
    lvm_spawn_module(basic, "try_spawn", 9, a3, 3, 0, 0);
    RECV(2, "try_spawn result");
    int64_t b = msg_i64();
    RECV(1, "add from the grandchild");
    printf("that child's children inherit it: %lld; its spawn of mod_wasi: %lld, of mod_basic: "
           "%s\n", (long long)c[3], (long long)w, b > 0 ? "works" : "0");
}

// test: ns_lvm
// lvm: --dir {mods}::/mods
// expect: children may import: 2 (WASI only)
// expect: spawn of mod_basic (imports lvm): 0
// expect: spawn of mod_pure (imports nothing): works, DOWN normal
static void ns_lvm(int argc, char **argv)
{
    int64_t basic = load_mod("mod_basic.wasm"), pure = load_mod("mod_pure.wasm");
    CHECK_EQ(lvm_config_set(LVM_CFG_NAMESPACES, LVM_NS_WASI), 0);
    printf("children may import: %lld (WASI only)\n", (long long)lvm_config_get(LVM_CFG_NAMESPACES));
    int64_t args[3] = { lvm_self(), 1, 2 };
    printf("spawn of mod_basic (imports lvm): %lld\n",
           (long long)lvm_spawn_module(basic, "add", 3, args, 3, 0, 0));
    int64_t ref, n = 1000;
    lvm_pid p = lvm_spawn_module(pure, "compute", 7, &n, 1, LVM_SPAWN_MONITOR, &ref);
    CHECK(p > 0, "spawn of mod_pure failed");
    printf("spawn of mod_pure (imports nothing): works, DOWN %s\n",
           reason_name(EXPECT_DOWN(ref, p)));
}

// test: ns_reason
// lvm: --dir {mods}::/mods
// expect: a forbidden spawn with a monitor: DOWN spawn_failed
static void ns_reason(int argc, char **argv)
{
    /* The spawner must be able to tell why: the ABI's reason for it is
     * LVM_EXIT_SPAWN_FAILED ("instantiation failed"), delivered like any other exit. */
    int64_t wasi = load_mod("mod_wasi.wasm");
    CHECK_EQ(lvm_config_set(LVM_CFG_NAMESPACES, LVM_NS_LVM), 0);
    int64_t ref = 0, args[1] = { lvm_self() };
    lvm_pid p = lvm_spawn_module(wasi, "hello", 5, args, 1, LVM_SPAWN_MONITOR, &ref);
    CHECK(p != 0, "spawn returned 0 with no reason the guest can see (the VM's message, "
          "'not permitted: the module imports wasi_snapshot_preview1.fd_write', is dropped)");
    printf("a forbidden spawn with a monitor: DOWN %s\n", reason_name(EXPECT_DOWN(ref, p)));
}

/* ---- the WASI world --------------------------------------------------------------------------- */

/* Report args, env and the first preopen's name, read through raw WASI (no libc set-up
 * runs in a child). */
static void wasi_child(int64_t root)
{
    char out[512], buf[256];
    char *argv[8], *envp[8];
    __wasi_size_t argc, argsz, envc, envsz;
    int n = 0;
    if (__wasi_args_sizes_get(&argc, &argsz) == 0 && argc <= 8 && argsz <= sizeof buf &&
        __wasi_args_get((uint8_t **)argv, (uint8_t *)buf) == 0)
        n += snprintf(out + n, sizeof out - n, "args %u: %s %s;", (unsigned)argc,
                      argc > 1 ? argv[1] : "-", argc > 2 ? argv[2] : "-");
    if (__wasi_environ_sizes_get(&envc, &envsz) == 0 && envc <= 8 && envsz <= sizeof buf &&
        __wasi_environ_get((uint8_t **)envp, (uint8_t *)buf) == 0)
        n += snprintf(out + n, sizeof out - n, " env %u: %s;", (unsigned)envc,
                      envc > 0 ? envp[0] : "-");
    __wasi_prestat_t ps;
    if (__wasi_fd_prestat_get(3, &ps) == 0 && ps.u.dir.pr_name_len < sizeof buf &&
        __wasi_fd_prestat_dir_name(3, (uint8_t *)buf, ps.u.dir.pr_name_len) == 0) {
        buf[ps.u.dir.pr_name_len] = 0;
        n += snprintf(out + n, sizeof out - n, " preopen 3: %s", buf);
    }
    lvm_send(root, TAG_INFO, out, n + 1);
}

static void read_mod(int64_t root)
{
    static unsigned char data[16 << 10];
    send_i64(root, TAG_INFO, (int64_t)read_preopen_file("/mods", "mod_basic.wasm", data,
                                                        sizeof data));
}

// test: wasi_world extra
// lvm: --env LVM_TEST=child-sees-it --dir {mods}::/mods
// expect: root:  args 3: wasi_world extra; env 1: LVM_TEST=child-sees-it; preopen 3: /mods
// expect: child: args 3: wasi_world extra; env 1: LVM_TEST=child-sees-it; preopen 3: /mods
// expect: the child reads the module file through the preopen: same size as the root reads
static void wasi_world(int argc, char **argv)
{
    (void)argv;
    wasi_child(lvm_self());
    RECV(TAG_INFO, "root's own report");
    char buf[512];
    lvm_msg_read(buf, sizeof buf, 0);
    printf("root:  %s\n", buf);
    SPAWN(wasi_child, 0, lvm_self());
    RECV(TAG_INFO, "child's report");
    lvm_msg_read(buf, sizeof buf, 0);
    printf("child: %s\n", buf);
    SPAWN(read_mod, 0, lvm_self());
    RECV(TAG_INFO, "size");
    static unsigned char data[16 << 10];
    size_t size = read_preopen_file("/mods", "mod_basic.wasm", data, sizeof data);
    printf("the child reads the module file through the preopen: %s\n",
           (size_t)msg_i64() == size ? "same size as the root reads" : "a different size");
}

int main(int argc, char **argv)
{
    static const Section sections[] = {
        { "memory", memory }, { "fuel", fuel }, { "can_spawn", can_spawn },
        { "ns_wasi", ns_wasi }, { "ns_lvm", ns_lvm }, { "ns_reason", ns_reason },
        { "wasi_world", wasi_world },
    };
    return RUN_SECTIONS(sections, argc, argv);
}
