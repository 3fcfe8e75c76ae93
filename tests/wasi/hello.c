/* hello.c — the smallest WASI command: printf from main. The CLI cases in run.py
 * (--help, a bad flag, a missing module, ...) use it as their module. */
#include <stdio.h>

// test: hello
// expect: hello, world

int main(void)
{
    printf("hello, world\n");
    return 0;
}
