/*
 * names.c — the "name" custom section (spec 7.4.1): the module's name and the names of
 * its functions, used by traps' backtraces and by tools.
 *
 * It is a custom section, so a malformed one must not make the module fail to load
 * (spec 7.4: "an implementation ... may ignore" it). We read it twice: once to check it
 * is well-formed, and only then again to store the names, so a bad section leaves no
 * half-applied names behind. Subsections we do not use (locals, labels...) are skipped.
 *
 * Read next: cache.c.
 */
#include <stdlib.h>
#include <string.h>

#include "loader_internal.h"

static bool read_name(Reader *r, const uint8_t **s, uint32_t *len)
{
    return reader_u32(r, len) && reader_bytes(r, *len, s) && loader_utf8_valid(*s, *len);
}

static char *copy_name(const uint8_t *s, uint32_t len)
{
    char *p = malloc((size_t)len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = 0;
    }
    return p;
}

/* Subsection 1, the function name map: vec(funcidx name), indices increasing. */
static bool read_function_names(Module *m, Reader *r, bool apply)
{
    uint32_t n, idx;
    int64_t last = -1;
    const uint8_t *s;
    uint32_t len;
    if (!reader_u32(r, &n))
        return false;
    for (uint32_t k = 0; k < n; k++) {
        if (!reader_u32(r, &idx) || !read_name(r, &s, &len))
            return false;
        if ((int64_t)idx <= last || idx >= m->nfuncs)
            return false;
        last = idx;
        if (apply) {
            free((char *)m->funcs[idx].name);
            m->funcs[idx].name = copy_name(s, len);
        }
    }
    return true;
}

static bool read_names(Module *m, const uint8_t *p, uint32_t len, bool apply)
{
    Reader r = { p, p + len, m->bytes };
    int last_id = -1;
    while (r.p < r.end) {
        uint8_t id;
        uint32_t size, nlen;
        const uint8_t *sub, *s;
        if (!reader_u8(&r, &id) || !reader_u32(&r, &size) || !reader_bytes(&r, size, &sub))
            return false;
        if ((int)id <= last_id)      /* each subsection at most once, in order */
            return false;
        last_id = id;
        Reader sr = { sub, sub + size, m->bytes };
        if (id == 0) {
            if (!read_name(&sr, &s, &nlen))
                return false;
            if (apply) {
                free((char *)m->name);
                m->name = copy_name(s, nlen);
            }
        } else if (id == 1) {
            if (!read_function_names(m, &sr, apply))
                return false;
        } else {
            sr.p = sr.end;
        }
        if (sr.p != sr.end)
            return false;
    }
    return true;
}

void names_read(Module *m, const uint8_t *p, uint32_t len)
{
    if (read_names(m, p, len, false))
        read_names(m, p, len, true);
}
