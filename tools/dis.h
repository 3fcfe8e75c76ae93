/*
 * dis.h — `lvm dis`: a module's sections, types, imports and exports, and each function's
 * Wasm instructions beside the threaded code lvm compiles them into (tools/dis.c).
 */
#ifndef LVM_TOOLS_DIS_H
#define LVM_TOOLS_DIS_H

/* `lvm dis app.wasm [--func NAME|INDEX]`, with argv[0] = "dis". Prints the listing on
 * stdout; returns the process's exit status (0, 1 the module cannot be loaded or has no
 * such function, 2 a usage error). */
int dis_main(int argc, char **argv);

#endif
