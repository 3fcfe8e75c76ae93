/* badimport.c — a module that imports a WASI function that does not exist. lvm must
 * refuse it with one line naming the import (cli.unknown_import in run.py). */
#include <stdint.h>

__attribute__((import_module("wasi_snapshot_preview1"), import_name("no_such_function")))
int32_t no_such_function(int32_t);

int main(void)
{
    return no_such_function(1);
}
