/*
 * file.c — read a whole file into memory: how the lvm command, `lvm dis`, the embedding
 * API and the spec runner all get module bytes from a path (one copy of the loop, and
 * of its error handling).
 *
 * Plain open/read rather than stdio: a regular file is read in one call into a buffer of
 * its exact size, and a short-lived `lvm app.wasm` touches none of stdio's code or buffers
 * (a start-up cost counted in its resident memory, bench/footprint.py).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"

uint8_t *loader_read_file(const char *path, size_t *size, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    /* A regular file's size is known; a pipe's or a /proc file's is not, and the buffer
     * grows by doubling. One byte more than the size, so that reaching the end takes a
     * read that returns 0 rather than a realloc. (A directory fails in read: EISDIR.) */
    struct stat st;
    size_t cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
               ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    int read_errno = 0;
    while (buf) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            read_errno = got < 0 ? errno : 0;
            break;
        }
        n += (size_t)got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    close(fd);
    if (!buf || read_errno) {
        snprintf(err, errlen, "%s", buf ? strerror(read_errno) : "out of memory");
        free(buf);
        return NULL;
    }
    *size = n;
    return buf;
}
