/* native_main.c — the native driver for one compute workload (bench/README.md).
 * Linked as a separate compile unit so that run() is compiled exactly as in the
 * Wasm build: call it once and print its checksum, nothing else. */
#include <stdio.h>

long long run(void);

int main(void)
{
    printf("%lld\n", run());
    return 0;
}
