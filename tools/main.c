/*
 * main.c — the `lvm` command: load a module, give it WASI, instantiate it, run it.
 *
 * Where it sits: the outermost layer. It uses loader/ (bytes → Module), vm/ (Module →
 * Instance → running code) and wasi/ (the wasi_snapshot_preview1 imports) through their
 * public headers only, like any embedder would. Options follow Wasmtime's where they
 * overlap: `lvm [options] app.wasm [args…]` runs the export `_start` with the guest's
 * argv = app.wasm args…; `--dir HOST[::GUEST]`, `--env KEY[=VALUE]`, `--tcplisten
 * HOST:PORT` decide what the guest may see (nothing of the host by default);
 * `--invoke NAME` calls one exported function with ARGS as its parameters and prints
 * its results.
 *
 * Output of --invoke: one line per result, the value alone, as the Wasm text format
 * writes it: i32/i64 in signed decimal; f32/f64 in the shortest decimal that reads back
 * to the same bits, or inf, -inf, nan, -nan, nan:0x… (a non-canonical payload); refs as
 * null, ref.func or ref.extern N.
 *
 * Exit status: the guest's proc_exit code (0 if _start returns), 1 the module could not
 * be loaded or instantiated (or a --dir / --tcplisten could not be opened), 2 bad command
 * line or arguments, 134 the guest trapped (as Wasmtime does).
 *
 * Read next: loader/loader.h, vm/vm.h, wasi/wasi.h.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostfns/native.h"
#include "hostfns/runtime.h"
#include "loader/loader.h"
#include "sched/sched.h"
#include "tools/dis.h"
#include "tools/top.h"
#include "vm/config.h"
#include "vm/vm.h"
#include "wasi/wasi.h"

#define LVM_VERSION "0.1.0"
#define DEFAULT_REDUCTIONS SCHED_DEFAULT_REDUCTIONS   /* BEAM's slice: 4000 */
#define EXIT_TRAP 134              /* what Wasmtime returns for a trap (128 + SIGABRT) */

typedef struct Options {
    const char *invoke;      /* --invoke NAME, or NULL */
    int64_t reductions;      /* --reductions N */
    unsigned threads;        /* --threads N (0: one per core) */
    uint64_t seed;           /* --seed N */
    uint64_t max_processes;  /* --max-processes N */
    bool stats;              /* --stats: totals on stderr at exit */
    bool trace;              /* --trace[=FUNC]: every handler run, on stderr */
    const char *trace_func;  /* … FUNC, or NULL */
    bool trace_sched;        /* --trace-sched: scheduler events, on stderr */
    bool top;                /* --top: the live view, on stderr */
    const char *file;        /* the module */
    char **args;             /* everything after the module: the guest's arguments */
    int nargs;
    WasiPreopen *dirs;       /* --dir, in order: guest fds 3, 4, … */
    int ndirs;
    const char **env;        /* --env, as KEY=VALUE */
    const char **env_given;  /* --env as written (KEY alone: env[i] is our copy) */
    int nenv;
    const char **listen;     /* --tcplisten HOST:PORT */
    int nlisten;
    const char **natives;    /* --native LIB.so:MODULE.NAME:SIGNATURE */
    int nnatives;
} Options;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: lvm [options] app.wasm [args...]\n"
        "       lvm dis app.wasm [--func NAME|INDEX]   (lvm dis --help)\n"
        "\n"
        "Run a WebAssembly module: its _start export, with WASI (wasi_snapshot_preview1).\n"
        "Options come before the module; everything after it is passed to the guest, whose\n"
        "argv[0] is app.wasm as written.\n"
        "\n"
        "  --dir HOST[::GUEST]  let the guest use directory HOST, under the name GUEST\n"
        "                    (default: HOST as written); repeatable. The guest cannot\n"
        "                    reach outside it, through .., absolute paths or symlinks\n"
        "  --env KEY=VALUE   set an environment variable for the guest; --env KEY passes\n"
        "                    the host's value of KEY. Repeatable. Nothing else of the\n"
        "                    host environment is visible\n"
        "  --tcplisten HOST:PORT  listen on a TCP socket and give it to the guest as a\n"
        "                    preopened socket (fds after the --dir ones); repeatable\n"
        "  --native LIB.so:MODULE.NAME:SIGNATURE  give the guest the native function NAME\n"
        "                    of library LIB.so as the import MODULE.NAME, called through\n"
        "                    libffi; SIGNATURE is its Wasm type, e.g. (f64)f64, with `buf`\n"
        "                    for a guest buffer (pointer, length: a void * and a size_t\n"
        "                    for the C function). Repeatable. Example:\n"
        "                    --native libm.so.6:env.cos:(f64)f64\n"
        "  --invoke NAME     call the exported function NAME instead of _start; args are\n"
        "                    its parameters (i32/i64: decimal or 0x hex; f32/f64: decimal,\n"
        "                    hex float, inf, -inf, nan, nan:0x...); each result is printed\n"
        "                    on its own line\n"
        "  --reductions N    reductions per time slice: calls and loop back-edges run\n"
        "                    before the VM may switch to other work (default %d)\n"
        "  --threads N       scheduler worker threads (default: one per core); with 1,\n"
        "                    everything runs on the main thread and runs are repeatable\n"
        "  --seed N          seed of the scheduler's random choices (work stealing)\n"
        "  --max-processes N processes alive at once (default 1048576, as BEAM's +P); a\n"
        "                    spawn past it fails (lvm.last_error says why)\n"
        "  --stats           print totals on stderr at exit (reductions: N), processes,\n"
        "                    messages, steals, peak memory\n"
        "  --trace[=FUNC]    print every instruction run on stderr, with its operands and\n"
        "                    the values read and written (=FUNC: only while function FUNC,\n"
        "                    a name or an index, runs, its callees included)\n"
        "  --trace-sched     print scheduler events on stderr: spawn, run, yield, block,\n"
        "                    wake, steal, exit\n"
        "  --top             a live view of the processes and workers on stderr, redrawn\n"
        "                    every 500 ms (redirect the program's stdout to keep it clean)\n"
        "  --no-reductions   accepted only by a build made with REDUCTIONS=0, which does\n"
        "                    not count reductions (to measure what counting costs)\n"
        "  --version         print the version and exit\n"
        "  --help            print this help and exit\n"
        "\n"
        "Exit status: the guest's proc_exit code (0 when _start returns), 1 load, link or\n"
        "setup error, 2 usage error, 134 the guest trapped (message and Wasm backtrace on\n"
        "stderr).\n",
        DEFAULT_REDUCTIONS);
}

static void usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "lvm: %s%s\nTry 'lvm --help' for more information.\n", msg, arg);
    exit(2);
}

/* "--name VALUE" or "--name=VALUE": returns the value (advancing *i) or NULL if argv[*i]
 * is not that option. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != '\0') return NULL;
    if (*i + 1 >= argc) usage_error("missing value for ", name);
    return argv[++*i];
}

/* --dir HOST[::GUEST] */
static void add_dir(Options *o, const char *v)
{
    const char *sep = strstr(v, "::");
    WasiPreopen *d = &o->dirs[o->ndirs++];
    d->host_path = v;
    d->guest_path = v;
    if (sep) {
        char *host = strndup(v, (size_t)(sep - v));   /* freed by free_options */
        if (!host) usage_error("out of memory", "");
        d->host_path = host;
        d->guest_path = sep + 2;
    }
    if (!d->host_path[0] || !d->guest_path[0]) usage_error("--dir wants HOST[::GUEST], not ", v);
    if (LVM_MINIMAL) usage_error("--dir: this minimal build has no WASI filesystem: ", v);
}

/* --env KEY=VALUE, or --env KEY for the host's value of KEY (Wasmtime's rule). */
static void add_env(Options *o, const char *v)
{
    const char *eq = strchr(v, '=');
    if (eq == v || !v[0]) usage_error("--env wants KEY=VALUE, not ", v);
    if (eq) {
        o->env_given[o->nenv] = v;
        o->env[o->nenv++] = v;
        return;
    }
    const char *val = getenv(v);
    if (!val) return;   /* not set on the host: not set in the guest either */
    o->env_given[o->nenv] = v;
    size_t n = strlen(v) + strlen(val) + 2;
    char *kv = malloc(n);   /* freed by free_options */
    if (!kv) usage_error("out of memory", "");
    snprintf(kv, n, "%s=%s", v, val);
    o->env[o->nenv++] = kv;
}

static long long positive(const char *v, const char *option)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n <= 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "%s wants a positive integer, not ", option);
        usage_error(msg, v);
    }
    return n;
}

/* What parse_options allocated (the --dir host names and --env copies included). */
static void free_options(Options *o)
{
    for (int i = 0; i < o->ndirs; i++)
        if (o->dirs[i].host_path != o->dirs[i].guest_path)
            free((void *)o->dirs[i].host_path);
    for (int i = 0; i < o->nenv; i++)
        if (!strchr(o->env_given[i], '='))
            free((void *)o->env[i]);
    free(o->dirs);
    free(o->env);
    free(o->env_given);
    free(o->listen);
    free(o->natives);
}

/* One option that takes a value; false if argv[*i] is none of them. */
static bool value_option(int argc, char **argv, int *i, Options *o)
{
    const char *v;
    if ((v = option_value(argc, argv, i, "--invoke"))) {
        o->invoke = v;
    } else if ((v = option_value(argc, argv, i, "--dir"))) {
        add_dir(o, v);
    } else if ((v = option_value(argc, argv, i, "--env"))) {
        add_env(o, v);
    } else if ((v = option_value(argc, argv, i, "--tcplisten"))) {
        o->listen[o->nlisten++] = v;
    } else if ((v = option_value(argc, argv, i, "--native"))) {
        o->natives[o->nnatives++] = v;
    } else if ((v = option_value(argc, argv, i, "--reductions"))) {
        o->reductions = positive(v, "--reductions");
    } else if ((v = option_value(argc, argv, i, "--threads"))) {
        long long n = positive(v, "--threads");
        if (n > 1024)
            usage_error("--threads wants at most 1024, not ", v);
        o->threads = (unsigned)n;
    } else if ((v = option_value(argc, argv, i, "--max-processes"))) {
        o->max_processes = (uint64_t)positive(v, "--max-processes");
    } else if ((v = option_value(argc, argv, i, "--seed"))) {
        o->seed = (uint64_t)positive(v, "--seed");
    } else {
        return false;
    }
    return true;
}

static void parse_options(int argc, char **argv, Options *o)
{
    *o = (Options){ .reductions = DEFAULT_REDUCTIONS };
    /* each repeatable option appears at most argc times */
    o->dirs = calloc((size_t)argc, sizeof *o->dirs);
    o->env = calloc((size_t)argc, sizeof *o->env);
    o->env_given = calloc((size_t)argc, sizeof *o->env_given);
    o->listen = calloc((size_t)argc, sizeof *o->listen);
    o->natives = calloc((size_t)argc, sizeof *o->natives);
    if (!o->dirs || !o->env || !o->env_given || !o->listen || !o->natives)
        usage_error("out of memory", "");
    int i;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); exit(0); }
        if (strcmp(a, "--version") == 0) { printf("lvm " LVM_VERSION "\n"); exit(0); }
        if (strcmp(a, "--stats") == 0) { o->stats = true; continue; }
        if (strcmp(a, "--trace") == 0) { o->trace = true; continue; }
        if (strncmp(a, "--trace=", 8) == 0) {
            if (!a[8]) usage_error("--trace= wants a function name or index", "");
            o->trace = true;
            o->trace_func = a + 8;
            continue;
        }
        if (strcmp(a, "--trace-sched") == 0) { o->trace_sched = true; continue; }
        if (strcmp(a, "--top") == 0) { o->top = true; continue; }
        if (strcmp(a, "--no-reductions") == 0) {
            if (vm_counts_reductions())
                usage_error("--no-reductions needs a build made with `make REDUCTIONS=0`", "");
            continue;
        }
        if (!value_option(argc, argv, &i, o)) usage_error("unknown option ", a);
    }
    if (i >= argc) usage_error("no module file given", "");
    o->file = argv[i];
    o->args = argv + i + 1;
    o->nargs = argc - i - 1;
}

/* ---- Arguments: text → Value by parameter type -------------------------------------- */

/* i32/i64: signed or unsigned decimal, or 0x hex, within the type's range. */
static bool parse_int(const char *s, unsigned bits, Value *out)
{
    bool neg = s[0] == '-';
    const char *p = s + (neg || s[0] == '+');
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    /* strtoull would accept spaces and a second sign here */
    if (!(base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p))) return false;
    char *end;
    errno = 0;
    unsigned long long mag = strtoull(p, &end, base);
    if (errno || *end || end == p) return false;
    uint64_t umax = bits == 32 ? UINT32_MAX : UINT64_MAX;
    uint64_t nmax = bits == 32 ? (uint64_t)1 << 31 : (uint64_t)1 << 63;   /* |INT_MIN| */
    if (neg ? mag > nmax : mag > umax) return false;
    uint64_t v = neg ? (uint64_t)0 - mag : mag;
    *out = bits == 32 ? (uint32_t)v : v;
    return true;
}

/* f32/f64: what strtof/strtod read (decimal, hex float, inf), plus the text format's
 * nan:0xPAYLOAD. `nan` alone is the canonical NaN. */
static bool parse_float(const char *s, bool is_f64, Value *out)
{
    bool neg = s[0] == '-';
    const char *p = s + (neg || s[0] == '+');
    if (strncmp(p, "nan", 3) == 0) {
        uint64_t payload = is_f64 ? (uint64_t)1 << 51 : (uint64_t)1 << 22;
        uint64_t mask = is_f64 ? ((uint64_t)1 << 52) - 1 : ((uint64_t)1 << 23) - 1;
        if (p[3] == ':') {
            if (strncmp(p + 4, "0x", 2) != 0) return false;
            char *end;
            errno = 0;
            payload = strtoull(p + 6, &end, 16);
            if (errno || *end || end == p + 6 || payload == 0 || payload > mask) return false;
        } else if (p[3] != '\0') {
            return false;
        }
        uint64_t sign = neg ? (is_f64 ? (uint64_t)1 << 63 : (uint64_t)1 << 31) : 0;
        *out = sign | (is_f64 ? 0x7ff0000000000000ull : 0x7f800000u) | payload;
        return true;
    }
    char *end;
    if (is_f64) {
        double d = strtod(s, &end);
        if (end == s || *end) return false;
        memcpy(out, &d, 8);
    } else {
        float f = strtof(s, &end);
        uint32_t b;
        if (end == s || *end) return false;
        memcpy(&b, &f, 4);
        *out = b;
    }
    return true;
}


static bool parse_arg(const char *s, ValType t, Value *out)
{
    switch (t) {
    case VT_I32: return parse_int(s, 32, out);
    case VT_I64: return parse_int(s, 64, out);
    case VT_F32: return parse_float(s, false, out);
    case VT_F64: return parse_float(s, true, out);
    case VT_FUNCREF:
    case VT_EXTERNREF:
        *out = 0;   /* a reference can only be given as null from the command line */
        return strcmp(s, "null") == 0;
    default:
        return false;
    }
}

/* ---- Results: Value → text ------------------------------------------------------------ */

/* NaN, infinity, or NULL if the value is an ordinary number. */
static const char *special_float(uint64_t bits, bool is_f64, char *buf, size_t len)
{
    unsigned mbits = is_f64 ? 52 : 23;
    uint64_t mant = bits & (((uint64_t)1 << mbits) - 1);
    uint64_t exp = (bits >> mbits) & (is_f64 ? 0x7ff : 0xff);
    bool neg = (bits >> (is_f64 ? 63 : 31)) & 1;
    if (exp != (is_f64 ? 0x7ffu : 0xffu)) return NULL;
    if (mant == 0) snprintf(buf, len, "%sinf", neg ? "-" : "");
    else if (mant == (uint64_t)1 << (mbits - 1)) snprintf(buf, len, "%snan", neg ? "-" : "");
    else snprintf(buf, len, "%snan:0x%" PRIx64, neg ? "-" : "", mant);
    return buf;
}

/* The shortest "%.Ng" that reads back to exactly the same bits. */
static void format_float(uint64_t bits, bool is_f64, char *buf, size_t len)
{
    if (special_float(bits, is_f64, buf, len)) return;
    if (is_f64) {
        double d;
        memcpy(&d, &bits, 8);
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, len, "%.*g", prec, d);
            double back = strtod(buf, NULL);
            if (memcmp(&back, &d, 8) == 0) return;
        }
    } else {
        uint32_t b = (uint32_t)bits;
        float f;
        memcpy(&f, &b, 4);
        for (int prec = 1; prec <= 9; prec++) {
            snprintf(buf, len, "%.*g", prec, (double)f);
            float back = strtof(buf, NULL);
            if (memcmp(&back, &f, 4) == 0) return;
        }
    }
}

static void print_value(ValType t, Value v)
{
    char buf[64];
    switch (t) {
    case VT_I32: printf("%" PRId32 "\n", (int32_t)(uint32_t)v); break;
    case VT_I64: printf("%" PRId64 "\n", (int64_t)v); break;
    case VT_F32: format_float(v, false, buf, sizeof buf); printf("%s\n", buf); break;
    case VT_F64: format_float(v, true, buf, sizeof buf); printf("%s\n", buf); break;
    case VT_FUNCREF: printf("%s\n", v ? "ref.func" : "null"); break;
    case VT_EXTERNREF:
        if (v) printf("ref.extern %" PRIu64 "\n", (uint64_t)v - 1);
        else printf("null\n");
        break;
    default: printf("<%s>\n", valtype_name(t)); break;
    }
}

/* ---- Loading and running ---------------------------------------------------------------- */

static Module *load(const char *path)
{
    char why[128];
    size_t n;
    uint8_t *buf = loader_read_file(path, &n, why, sizeof why);
    if (!buf) {
        fprintf(stderr, "lvm: %s: %s\n", path, why);
        return NULL;
    }
    LoadError err;
    Module *m = loader_load_owned(buf, n, &err);
    if (!m) {
        char msg[256];
        fprintf(stderr, "lvm: %s: %s\n", path, loader_error_format(&err, msg, sizeof msg));
    }
    return m;
}

static void print_trap(const Trap *trap)
{
    fflush(stdout);
    fprintf(stderr, "lvm: ");
    vm_trap_print(trap, stderr);
}

/* The exit status for a run that ended in a trap: proc_exit's code, or 134. */
static int trap_status(const Trap *trap)
{
    if (trap->kind == TRAP_EXIT) return trap->exit_code & 0xff;   /* as the shell sees it */
    print_trap(trap);
    return EXIT_TRAP;
}

/* ---- WASI ---------------------------------------------------------------------------------- */

/* --tcplisten HOST:PORT ([v6addr]:PORT too): a bound, listening socket, or -1 after
 * saying why. */
static int listen_on(const char *spec)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1]) {
        fprintf(stderr, "lvm: --tcplisten wants HOST:PORT, not %s\n", spec);
        return -1;
    }
    bool v6 = spec[0] == '[' && colon[-1] == ']';
    char *host = strndup(spec + v6, (size_t)(colon - spec) - 2 * v6);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE }, *ai = NULL;
    int e = host ? getaddrinfo(host, colon + 1, &hints, &ai) : EAI_MEMORY;
    free(host);
    if (e) {
        fprintf(stderr, "lvm: --tcplisten %s: %s\n", spec, gai_strerror(e));
        return -1;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        fprintf(stderr, "lvm: --tcplisten %s: %s\n", spec, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* The guest's world: argv = the module's name as given, then its arguments; only the
 * --env variables; stdio; the --dir directories, then the --tcplisten sockets. Every
 * process gets a WASI context made from this (children inherit their parent's world). */
static bool make_wasi_config(const Options *o, WasiConfig *cfg, int *sockets)
{
    const char **argv = calloc((size_t)o->nargs + 2, sizeof *argv);
    if (!argv) return false;
    argv[0] = o->file;
    for (int i = 0; i < o->nargs; i++) argv[i + 1] = o->args[i];
    for (int i = 0; i < o->nlisten; i++)
        if ((sockets[i] = listen_on(o->listen[i])) < 0) {
            free(argv);
            return false;
        }
    *cfg = (WasiConfig){ .argc = o->nargs + 1, .argv = argv, .nenv = o->nenv, .env = o->env,
                         .npreopens = o->ndirs, .preopens = o->dirs, .nsockets = o->nlisten,
                         .sockets = sockets, .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2 };
    /* Open the directories once here, so a bad --dir is a one-line error up front. */
    char err[300];
    WasiCtx *probe = wasi_new(cfg, err, sizeof err);
    if (!probe) {
        fprintf(stderr, "lvm: %s\n", err);
        free(argv);
        return false;
    }
    wasi_free(probe);
    return true;
}

/* ---- Native functions (--native) ----------------------------------------------------------- */

/* --native LIB.so:MODULE.NAME:SIGNATURE: split from the right, since a library path may
 * hold ':' and a module name '.', but a signature holds neither and NAME, a C symbol,
 * holds no '.'. Then dlopen + dlsym, bound through libffi into the runtime's registry. */
static bool bind_native(Runtime *rt, const char *spec)
{
    char *copy = strdup(spec), *sig = copy ? strrchr(copy, ':') : NULL;
    char *qual = NULL, *dot = NULL;
    if (sig) {
        *sig++ = 0;
        if ((qual = strrchr(copy, ':'))) {
            *qual++ = 0;
            dot = strrchr(qual, '.');
        }
    }
    if (!dot || dot == qual || !dot[1] || !copy[0]) {
        fprintf(stderr, "lvm: --native wants LIB.so:MODULE.NAME:SIGNATURE, not %s\n", spec);
        free(copy);
        exit(2);
    }
    *dot = 0;
    const char *module = qual, *name = dot + 1;
    char err[300];
    HostSig hs;
    void *env = NULL;
    NativeFn fn = NULL;
    Function *f = NULL;
    char qualified[200];
    snprintf(qualified, sizeof qualified, "%s.%s", module, name);
    bool ok = host_sig_parse(sig, true, &hs, err, sizeof err) &&
              (fn = host_native_lookup(copy, name, err, sizeof err)) != NULL &&
              (f = host_native_new(fn, qualified, &hs, &env, err, sizeof err)) != NULL &&
              host_registry_add(runtime_registry(rt), module, name, f, host_native_free_env, env,
                                err, sizeof err);
    if (!ok)
        fprintf(stderr, "lvm: --native %s: %s\n", spec, err);
    free(copy);
    return ok;
}

/* ---- Running ---------------------------------------------------------------------------------- */

/* The function the root process runs, its type, and the arguments parsed for it. */
static int entry_args(const Options *o, const Module *m, const char *name, Value *args,
                      const ValType **results, uint32_t *nresults)
{
    const Export *e = loader_find_export(m, name);
    if (!e || e->kind != EXTERN_FUNC) {
        fprintf(stderr, "lvm: no exported function '%s'\n", name);
        return 1;
    }
    const FuncType *t = &m->types[m->funcs[e->index].typeidx];
    int nargs = o->invoke ? o->nargs : 0;   /* _start's arguments go to WASI's argv */
    if ((uint32_t)nargs != t->nparams) {
        fprintf(stderr, "lvm: %s takes %u argument%s, %d given\n", name, t->nparams,
                t->nparams == 1 ? "" : "s", nargs);
        return 2;
    }
    for (uint32_t i = 0; i < t->nparams; i++)
        if (!parse_arg(o->args[i], t->types[i], &args[i])) {
            fprintf(stderr, "lvm: argument %u of %s: '%s' is not a valid %s\n", i + 1, name,
                    o->args[i], valtype_name(t->types[i]));
            return 2;
        }
    *results = t->types + t->nparams;
    *nresults = t->nresults;
    return 0;
}

/* Run the root process to its end; the VM's exit status is the root's. */
static int run_root(const Options *o, Module *m, Runtime *rt)
{
    const char *name = o->invoke ? o->invoke : "_start";
    if (!o->invoke && !loader_find_export(m, "_start"))
        name = NULL;   /* a library module: instantiating (and its start function) is all */
    Value args[64] = { 0 };
    const ValType *rtypes = NULL;
    uint32_t nres = 0;
    if (o->invoke && o->nargs > 64) {
        fprintf(stderr, "lvm: too many arguments\n");
        return 2;
    }
    int st = name ? entry_args(o, m, name, args, &rtypes, &nres) : 0;
    if (st)
        return st;
    SpawnRequest req = { .module = m, .export_name = name ? name : "",
                         .args = args, .nargs = o->invoke ? (uint32_t)o->nargs : 0 };
    char err[300];
    uint64_t pid = sched_spawn(runtime_sched(rt), &req, NULL, err, sizeof err);
    if (!pid && !name && strstr(err, "no exported function"))
        return 0;
    if (!pid) {
        fprintf(stderr, "lvm: %s: %s\n", o->file, err);
        return 1;
    }
    ExitInfo ei;
    sched_wait(runtime_sched(rt), pid, &ei);
    if (ei.reason < 0) {
        fprintf(stderr, "lvm: deadlock: every process is waiting and nothing can wake them\n");
        return 1;
    }
    if (ei.trap.kind == TRAP_EXIT)
        return ei.trap.exit_code;
    if (ei.reason >= EXIT_TRAP_BASE && ei.reason < EXIT_USER_BASE)
        return trap_status(&ei.trap);
    if (ei.reason != EXIT_NORMAL) {
        char buf[64];
        fprintf(stderr, "lvm: the root process exited: %s\n",
                sched_reason_text(ei.reason, buf, sizeof buf));
        return 1;
    }
    for (uint32_t i = 0; o->invoke && i < nres && i < ei.nresults; i++)
        print_value(rtypes[i], ei.results[i]);
    return 0;
}

/* --stats, on stderr. `reductions: N` stays the first line: bench/run.py reads it. */
static void print_stats(Sched *s)
{
    SchedStats st;
    sched_stats(s, &st);
    struct rusage ru;
    long peak_kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;   /* KiB on Linux */
    fprintf(stderr, "reductions: %llu\nprocesses spawned: %llu\nprocesses exited: %llu\n"
            "messages: %llu\nsteals: %llu\npeak memory: %ld KiB\n",
            (unsigned long long)st.reductions, (unsigned long long)st.spawned,
            (unsigned long long)st.exited, (unsigned long long)st.messages,
            (unsigned long long)st.steals, peak_kib);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "dis") == 0)   /* `lvm dis app.wasm`: tools/dis.c */
        return dis_main(argc - 1, argv + 1);
    Options o;
    parse_options(argc, argv, &o);
    /* A write to a closed pipe or socket is EPIPE for the guest, not death (Wasmtime). */
    signal(SIGPIPE, SIG_IGN);
    Module *m = load(o.file);
    if (!m) {
        free_options(&o);
        return 1;
    }
    int *sockets = calloc((size_t)o.nlisten + 1, sizeof *sockets);
    WasiConfig wcfg;
    int status = 1;
    if (!sockets) fprintf(stderr, "lvm: out of memory\n");
    if (sockets && make_wasi_config(&o, &wcfg, sockets)) {
        SchedConfig scfg = { .threads = o.threads, .reductions = o.reductions, .seed = o.seed,
                             .max_processes = o.max_processes, .trace = o.trace,
                             .trace_func = o.trace_func, .trace_sched = o.trace_sched, .caller_is_worker = true };
        char err[300];
        Runtime *rt = runtime_new(&scfg, &wcfg, err, sizeof err);
        if (!rt) {
            fprintf(stderr, "lvm: %s\n", err);
        } else {
            bool bound = true;
            for (int i = 0; bound && i < o.nnatives; i++)
                bound = bind_native(rt, o.natives[i]);
            Top *top = bound && o.top ? top_start(runtime_sched(rt), o.file) : NULL;
            if (bound)
                status = run_root(&o, m, rt);
            top_stop(top);
            if (o.stats)
                print_stats(runtime_sched(rt));
            fflush(stdout);
            runtime_free(rt);
        }
        free((void *)wcfg.argv);
    }
    for (int i = 0; sockets && i < o.nlisten; i++)
        if (sockets[i] > 0) close(sockets[i]);
    free(sockets);
    loader_release(m);
    free_options(&o);
    fflush(stdout);
    return status;
}
