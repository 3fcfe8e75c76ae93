/*
 * file.c — read a whole file into memory: how the lvm command, `lvm dis`, the embedding
 * API and the spec runner all get module bytes from a path (one copy of the loop, and
 * of its error handling).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

uint8_t *loader_read_file(const char *path, size_t *size, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (!buf || read_errno) {
        snprintf(err, errlen, "%s", buf ? strerror(read_errno) : "out of memory");
        free(buf);
        return NULL;
    }
    *size = n;
    return buf;
}
