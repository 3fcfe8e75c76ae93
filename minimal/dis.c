/*
 * minimal/dis.c — `lvm dis` in the minimal build (make MINIMAL=1): not there. The
 * disassembler (tools/dis.c and vm/disasm.c, about 15 KiB) is for people reading how lvm
 * works, not for the small boxes the minimal build is for; leaving it out is most of
 * what keeps that build under 150 KiB. It says so instead of failing obscurely.
 */
#include <stdio.h>

#include "tools/dis.h"

int dis_main(int argc, char **argv)
{
    fprintf(stderr, "lvm: `lvm dis` is not in this minimal build (make MINIMAL=1); "
                    "use a default build\n");
    return 2;
}
