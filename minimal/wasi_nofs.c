/*
 * minimal/wasi_nofs.c — the WASI filesystem of the minimal build (make MINIMAL=1): none.
 *
 * The minimal build is for the smallest boxes, where a guest talks to the world through
 * stdio, clocks, random, sockets it is given and the host's own functions, not files.
 * It leaves out wasi/path.c, wasi/sandbox.c and wasi/dir.c (the path_* functions, the
 * sandboxed path resolution they need, and directory reading) and links these instead:
 * a guest still imports every wasi_snapshot_preview1 function, so programs built with
 * wasi-libc load unchanged, and a filesystem call answers ENOSYS. No directory is ever
 * preopened: fd_prestat_get answers EBADF for every fd, which is how wasi-libc learns
 * that there are no more preopens, and `lvm --dir` / lvm_spawn with directories are
 * refused up front (LVM_MINIMAL in vm/config.h).
 */
#include "wasi/wasi_internal.h"

WASI_IMPL(wasi_path_open) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_create_directory) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_remove_directory) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_unlink_file) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_rename) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_symlink) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_readlink) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_link) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_filestat_get) { return WASI_ENOSYS; }
WASI_IMPL(wasi_path_filestat_set_times) { return WASI_ENOSYS; }
WASI_IMPL(wasi_fd_readdir) { return WASI_ENOSYS; }
WASI_IMPL(wasi_fd_prestat_get) { return WASI_EBADF; }
WASI_IMPL(wasi_fd_prestat_dir_name) { return WASI_EBADF; }
