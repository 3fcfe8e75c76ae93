/* readdir.c — fd_readdir: the entries of a directory of known contents with their types
 * and inodes, "." and "..", cookies (resuming in the middle gives the rest, in the same
 * order), buffers too small for one entry (truncated, the caller grows the buffer), and
 * libc's opendir/readdir/telldir/seekdir on top. */
#include <dirent.h>

#include "common.h"

// test: list
// lvm: --dir {scratch}::/scratch
// setup: readdir_tree
// expect: . dir
// expect: .. dir
// expect: alpha file
// expect: beta file
// expect: delta_dir dir
// expect: epsilon_link symlink
// expect: gamma file
// expect: list: ok

// test: empty
// lvm: --dir {scratch}::/scratch
// expect: empty: ok

// test: cookies
// lvm: --dir {scratch}::/scratch
// expect: cookies: 62 entries
// expect: cookies: ok

// test: small_buffers
// lvm: --dir {scratch}::/scratch
// expect: small_buffers: ok

// test: posix
// lvm: --dir {scratch}::/scratch
// setup: readdir_tree
// expect: posix: ok

#define MAXENT 256

typedef struct Entry {
    char name[64];
    uint8_t type;
    uint64_t ino, next;
} Entry;

/* Parse the entries of buf[0..used) that are complete; returns how many (at most max). */
static int parse(const uint8_t *buf, size_t used, Entry *out, int max)
{
    size_t off = 0;
    int n = 0;
    while (off + sizeof(__wasi_dirent_t) <= used && n < max) {
        __wasi_dirent_t d;
        memcpy(&d, buf + off, sizeof d);
        if (off + sizeof d + d.d_namlen > used) break;   /* truncated: the caller retries */
        CHECK(d.d_namlen > 0 && d.d_namlen < sizeof out[n].name, "entry name length %u",
              (unsigned)d.d_namlen);
        memcpy(out[n].name, buf + off + sizeof d, d.d_namlen);
        out[n].name[d.d_namlen] = '\0';
        out[n].type = d.d_type;
        out[n].ino = d.d_ino;
        out[n].next = d.d_next;
        n++;
        off += sizeof d + d.d_namlen;
    }
    return n;
}

/* All entries from `cookie` on, read with one large buffer. */
static int read_all(int fd, uint64_t cookie, Entry *out)
{
    static uint8_t buf[1 << 16];
    __wasi_size_t used = 0;
    CHECK_OK(__wasi_fd_readdir(fd, buf, sizeof buf, cookie, &used));
    CHECK(used < sizeof buf, "a 64 KiB buffer was filled");
    int n = parse(buf, used, out, MAXENT);
    /* every byte used belongs to a complete entry */
    size_t sum = 0;
    for (int i = 0; i < n; i++) sum += sizeof(__wasi_dirent_t) + strlen(out[i].name);
    CHECK(sum == used, "fd_readdir used %u bytes, its entries take %zu", (unsigned)used, sum);
    return n;
}

static int open_dir(const char *path)
{
    int fd;
    CHECK_OK(open_at(preopen_fd("/scratch"), path, 0, __WASI_OFLAGS_DIRECTORY, ALL_RIGHTS, 0,
                     &fd));
    return fd;
}

static const char *type_name(uint8_t t)
{
    switch (t) {
    case __WASI_FILETYPE_DIRECTORY: return "dir";
    case __WASI_FILETYPE_REGULAR_FILE: return "file";
    case __WASI_FILETYPE_SYMBOLIC_LINK: return "symlink";
    default: return "other";
    }
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->name, ((const Entry *)b)->name);
}

static void sec_list(int argc, char **argv)
{
    int dir = open_dir("list");
    static Entry e[MAXENT];
    int n = read_all(dir, 0, e);
    CHECK(n == 7, "%d entries, want 7 (5 and . and ..)", n);

    /* inode numbers and types agree with filestat (".." is outside this fd) */
    for (int i = 0; i < n; i++) {
        if (strcmp(e[i].name, "..") == 0) continue;
        __wasi_filestat_t st;
        CHECK_OK(__wasi_path_filestat_get(dir, 0, e[i].name, &st));
        CHECK(e[i].ino == st.ino, "%s: d_ino %llu, filestat ino %llu", e[i].name,
              (unsigned long long)e[i].ino, (unsigned long long)st.ino);
        CHECK(e[i].type == st.filetype, "%s: d_type %d, filestat type %d", e[i].name,
              e[i].type, st.filetype);
    }
    /* the cookies are distinct: each names a place in the listing */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            CHECK(e[i].next != e[j].next, "entries %d and %d have the same d_next", i, j);

    qsort(e, n, sizeof e[0], cmp_entry);
    for (int i = 0; i < n; i++) printf("%s %s\n", e[i].name, type_name(e[i].type));
    CHECK_OK(__wasi_fd_close(dir));
    printf("list: ok\n");
}

static void sec_empty(int argc, char **argv)
{
    int scratch = preopen_fd("/scratch");
    CHECK_OK(__wasi_path_create_directory(scratch, "empty"));
    int dir = open_dir("empty");
    static Entry e[MAXENT];
    int n = read_all(dir, 0, e);
    qsort(e, n, sizeof e[0], cmp_entry);
    CHECK(n == 2 && strcmp(e[0].name, ".") == 0 && strcmp(e[1].name, "..") == 0,
          "an empty directory lists %d entries", n);
    CHECK(e[0].type == __WASI_FILETYPE_DIRECTORY && e[1].type == __WASI_FILETYPE_DIRECTORY,
          ". and .. are not directories");
    /* the last entry's cookie is the end */
    uint8_t buf[256];
    __wasi_size_t used = 99;
    n = read_all(dir, 0, e);   /* again, in listing order */
    CHECK_OK(__wasi_fd_readdir(dir, buf, sizeof buf, e[n - 1].next, &used));
    CHECK(used == 0, "reading from the last cookie gave %u bytes", (unsigned)used);
    /* a zero-length buffer: nothing */
    CHECK_OK(__wasi_fd_readdir(dir, buf, 0, 0, &used));
    CHECK(used == 0, "a zero-length buffer got %u bytes", (unsigned)used);
    CHECK_OK(__wasi_fd_close(dir));
    printf("empty: ok\n");
}

static int many(void)
{
    int scratch = preopen_fd("/scratch");
    CHECK_OK(__wasi_path_create_directory(scratch, "many"));
    for (int i = 0; i < 60; i++) {
        char name[32];
        snprintf(name, sizeof name, "many/file_%02d%s", i, i % 7 == 0 ? "_longer_name" : "");
        put_file(scratch, name, "x");
    }
    return open_dir("many");
}

static void sec_cookies(int argc, char **argv)
{
    int dir = many();
    static Entry all[MAXENT], rest[MAXENT], again[MAXENT];
    int n = read_all(dir, 0, all);
    printf("cookies: %d entries\n", n);
    /* the same listing again */
    CHECK(read_all(dir, 0, again) == n, "a second listing has a different length");
    for (int i = 0; i < n; i++)
        CHECK(strcmp(all[i].name, again[i].name) == 0 && all[i].next == again[i].next,
              "a second listing differs at %d", i);
    /* resuming after each entry gives exactly the entries after it */
    for (int i = 0; i < n; i++) {
        int m = read_all(dir, all[i].next, rest);
        CHECK(m == n - i - 1, "from the cookie of entry %d: %d entries, want %d", i, m,
              n - i - 1);
        for (int j = 0; j < m; j++)
            CHECK(strcmp(rest[j].name, all[i + 1 + j].name) == 0,
                  "from the cookie of entry %d: entry %d is %s, want %s", i, j, rest[j].name,
                  all[i + 1 + j].name);
    }
    CHECK_OK(__wasi_fd_close(dir));
    printf("cookies: ok\n");
}

/* Read the whole directory through a buffer of `size` bytes the way wasi-libc does:
 * resume from the cookie of the last complete entry while the buffer comes back full,
 * and double the buffer when not even one entry fits. */
static int read_small(int dir, size_t size, Entry *out)
{
    static uint8_t buf[4096 + 16];
    uint64_t cookie = 0;
    int n = 0;
    for (int rounds = 0;; rounds++) {
        CHECK(rounds < 10000, "no end after 10000 reads with a %zu-byte buffer", size);
        memset(buf, 0xEE, sizeof buf);
        __wasi_size_t used = 0;
        CHECK_OK(__wasi_fd_readdir(dir, buf, size, cookie, &used));
        CHECK(used <= size, "fd_readdir used %u bytes of a %zu-byte buffer", (unsigned)used,
              size);
        for (size_t i = size; i < size + 16; i++)
            CHECK(buf[i] == 0xEE, "fd_readdir wrote past its %zu-byte buffer", size);
        int got = parse(buf, used, out + n, MAXENT - n);
        n += got;
        if (got > 0) cookie = out[n - 1].next;
        if (used < size) return n;   /* the end of the directory */
        if (got == 0) {
            CHECK(size * 2 <= 4096, "an entry does not fit in 4096 bytes");
            size *= 2;
        }
    }
}

static void sec_small_buffers(int argc, char **argv)
{
    int dir = many();
    static Entry all[MAXENT], e[MAXENT];
    int n = read_all(dir, 0, all);
    static const size_t sizes[] = {1, 8, 24, 25, 31, 32, 33, 40, 47, 57, 64, 100, 128, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int m = read_small(dir, sizes[k], e);
        CHECK(m == n, "%zu-byte buffer: %d entries, want %d", sizes[k], m, n);
        for (int i = 0; i < n; i++)
            CHECK(strcmp(e[i].name, all[i].name) == 0 && e[i].next == all[i].next,
                  "%zu-byte buffer: entry %d is %s, want %s", sizes[k], i, e[i].name,
                  all[i].name);
    }
    /* a buffer that holds the header but not the name: the header is there, truncated */
    uint8_t buf[sizeof(__wasi_dirent_t) + 1];
    __wasi_size_t used = 0;
    CHECK_OK(__wasi_fd_readdir(dir, buf, sizeof buf, 0, &used));
    CHECK(used == sizeof buf, "a %zu-byte buffer got %u bytes", sizeof buf, (unsigned)used);
    __wasi_dirent_t d;
    memcpy(&d, buf, sizeof d);
    CHECK(d.d_namlen == strlen(all[0].name) && d.d_next == all[0].next,
          "the truncated first entry's header differs");
    CHECK_OK(__wasi_fd_close(dir));
    printf("small_buffers: ok\n");
}

static void sec_posix(int argc, char **argv)
{
    DIR *d = opendir("/scratch/list");
    CHECK(d, "opendir /scratch/list");
    const char *want[] = {".", "..", "alpha", "beta", "gamma", "delta_dir", "epsilon_link"};
    int seen[7] = {0}, count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        count++;
        int k = -1;
        for (int i = 0; i < 7; i++)
            if (strcmp(de->d_name, want[i]) == 0) k = i;
        CHECK(k >= 0, "readdir: unexpected entry %s", de->d_name);
        seen[k]++;
        if (k >= 2 && k <= 4) CHECK(de->d_type == DT_REG, "%s: d_type %d", de->d_name, de->d_type);
        if (k == 5) CHECK(de->d_type == DT_DIR, "delta_dir: d_type %d", de->d_type);
        if (k == 6) CHECK(de->d_type == DT_LNK, "epsilon_link: d_type %d", de->d_type);
    }
    CHECK(count == 7, "readdir gave %d entries", count);
    for (int i = 0; i < 7; i++) CHECK(seen[i] == 1, "%s seen %d times", want[i], seen[i]);

    /* telldir/seekdir ride on the cookies */
    rewinddir(d);
    char first[64];
    CHECK((de = readdir(d)), "readdir after rewinddir");
    snprintf(first, sizeof first, "%s", de->d_name);
    CHECK(readdir(d) && readdir(d), "readdir");
    long pos = telldir(d);
    char rest1[7][64];
    int r1 = 0;
    while ((de = readdir(d))) snprintf(rest1[r1++], 64, "%s", de->d_name);
    CHECK(r1 == 4, "%d entries after the third", r1);
    seekdir(d, pos);
    int r2 = 0;
    while ((de = readdir(d))) {
        CHECK(r2 < r1 && strcmp(de->d_name, rest1[r2]) == 0, "after seekdir: %s", de->d_name);
        r2++;
    }
    CHECK(r2 == r1, "after seekdir: %d entries, want %d", r2, r1);
    rewinddir(d);
    CHECK((de = readdir(d)) && strcmp(de->d_name, first) == 0, "rewinddir");
    closedir(d);
    printf("posix: ok\n");
}

static const Section sections[] = {
    {"list", sec_list},
    {"empty", sec_empty},
    {"cookies", sec_cookies},
    {"small_buffers", sec_small_buffers},
    {"posix", sec_posix},
};

int main(int argc, char **argv)
{
    return RUN_SECTIONS(sections, argc, argv);
}
