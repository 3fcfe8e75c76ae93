/* A WASI command for tests.c: prints its first argument and $WHO, to check that
 * lvm_spawn's WASI configuration (argv, env, stdout) reaches the guest. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *who = getenv("WHO");
    printf("hello %s %s\n", argc > 1 ? argv[1] : "-", who ? who : "-");
    return argc > 2 ? 3 : 0;
}
