/* cli.c — lvm's command line with a WASI command: the exit status (proc_exit, exit(),
 * return from main), output written before exiting, a trap (status 134, the trap and a
 * named backtrace on stderr), --dir in its forms (., HOST::GUEST, HOST::/, several),
 * stdin, and --invoke of another export. */
#include <errno.h>
#include <unistd.h>

#include "common.h"

// test: exit 42
// status: 42
// expect: before exit

// test: exit 0
// name: exit_zero
// expect: before exit

// test: raw_exit 7
// status: 7
// expect: written before proc_exit

// test: return 0
// expect: returning 0

// test: return 3
// name: return_three
// status: 3
// expect: returning 3

// test: trap
// status: 134
// expect: before trap
// stderr: wasm trap: unreachable
// stderr: backtrace
// stderr: crash_here

// test: stack_overflow
// status: 134
// stderr: wasm trap
// stderr: recurse

// test: out_of_bounds
// status: 134
// stderr: wasm trap: out of bounds memory access

// test: stderr
// expect: to stdout
// stderr: to stderr

// test: bigout
// status: 3
// stdout-sha256: 2eeafc619cca22cf32501c37e811f22ef2785e2ee1d47fd3f36b90b43a3932e2

// test: cat hello.txt sub/inner.txt
// name: dir_dot
// lvm: --dir .
// setup: hostfiles
// expect: hello from the host
// expect: inner file

// test: cat /guest/hello.txt /guest/sub/inner.txt
// name: dir_mapped
// lvm: --dir {scratch}::/guest
// setup: hostfiles
// expect: hello from the host
// expect: inner file

// test: cat /hello.txt
// name: dir_root
// lvm: --dir {scratch}::/
// setup: hostfiles
// expect: hello from the host

// test: cat /a/inner.txt /b/hello.txt /c/inner.txt
// name: dir_several
// lvm: --dir {scratch}/sub::/a --dir {scratch}::/b --dir sub::/c
// setup: hostfiles
// expect: inner file
// expect: hello from the host
// expect: inner file

// test: write out.txt written by the guest
// name: dir_dot_write
// lvm: --dir .
// file: out.txt written by the guest

// test: cat /guest/hello.txt
// name: no_dir
// setup: hostfiles
// status: 1
// expect: cannot open /guest/hello.txt

// test: cat -
// name: stdin
// stdin: line one
// stdin: line two
// expect: line one
// expect: line two

// test: 21
// name: invoke
// lvm: --invoke twice
// expect: twice called
// expect: 42

/* An export other than _start, called with --invoke: it uses WASI too. */
__attribute__((export_name("twice"))) int twice(int x)
{
    const char msg[] = "twice called\n";
    write_all(1, msg, sizeof msg - 1);
    return 2 * x;
}

static void sec_exit(int argc, char **argv)
{
    printf("before exit\n");   /* buffered: exit() must flush it */
    exit(atoi(argv[1]));
}

static void sec_raw_exit(int argc, char **argv)
{
    CHECK(write_all(1, "written before proc_exit\n", 25) == 0, "write");
    __wasi_proc_exit(atoi(argv[1]));
}

static void sec_return(int argc, char **argv)
{
    /* handled in main */
}

__attribute__((noinline)) void crash_here(int x)
{
    if (x != 12345) __builtin_trap();
}

static void sec_trap(int argc, char **argv)
{
    printf("before trap\n");
    fflush(stdout);
    crash_here(argc);
    FAIL("did not trap");
}

__attribute__((noinline)) int recurse(volatile int *depth)
{
    volatile char frame[64];
    frame[0] = (char)*depth;
    ++*depth;
    return recurse(depth) + frame[0];
}

static void sec_stack_overflow(int argc, char **argv)
{
    volatile int depth = 0;
    printf("%d\n", recurse(&depth));
}

static void sec_out_of_bounds(int argc, char **argv)
{
    volatile uint32_t addr = 0xFFFFFFF0u;
    printf("%d\n", *(volatile int *)(uintptr_t)addr);
}

static void sec_stderr(int argc, char **argv)
{
    fprintf(stderr, "to stderr\n");
    printf("to stdout\n");
}

/* 1 MiB and a bit: 16384 lines of 64 bytes, then exit(3) */
static void sec_bigout(int argc, char **argv)
{
    for (int i = 0; i < 16384; i++)
        printf("line %05d %052d\n", i, i * 7);
    exit(3);
}

static void sec_cat(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
        if (!f) {
            printf("cannot open %s\n", argv[i]);
            fprintf(stderr, "cannot open %s: %s\n", argv[i], strerror(errno));
            exit(1);
        }
        char buf[256];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
        if (f != stdin) fclose(f);
    }
}

static void sec_write(int argc, char **argv)
{
    FILE *f = fopen(argv[1], "w");
    CHECK(f, "fopen %s: %s", argv[1], strerror(errno));
    for (int i = 2; i < argc; i++) fprintf(f, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
    CHECK(fclose(f) == 0, "fclose");
}

static const Section sections[] = {
    {"exit", sec_exit},
    {"raw_exit", sec_raw_exit},
    {"return", sec_return},
    {"trap", sec_trap},
    {"stack_overflow", sec_stack_overflow},
    {"out_of_bounds", sec_out_of_bounds},
    {"stderr", sec_stderr},
    {"bigout", sec_bigout},
    {"cat", sec_cat},
    {"write", sec_write},
};

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "return") == 0) {
        printf("returning %s\n", argv[2]);
        return atoi(argv[2]);
    }
    return RUN_SECTIONS(sections, argc, argv);
}
