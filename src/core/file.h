/*
 * file.h: whole-file reads with a cap, and atomic replacement.
 *
 * vp_file_write_atomic() follows git's lockfile: it creates "<path>.lock"
 * with O_CREAT|O_EXCL (so two writers cannot interleave), writes, fsyncs,
 * sets the mode, renames over <path> and fsyncs the directory.  On any
 * failure the lock file is removed and <path> is untouched.  Lock files
 * still held at exit or on SIGINT/SIGTERM are removed by a handler.
 */
#ifndef VP_FILE_H
#define VP_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"

/* Append the contents of path to *out (capped by out->cap). */
int	vp_file_read(const char *path, struct vp_buf *out, char **cause);

/*
 * Atomically replace path with data (mode applied before rename).
 * uid/gid of (uid_t)-1/(gid_t)-1 leave ownership unchanged.
 */
int	vp_file_write_atomic(const char *path, const void *data, size_t len,
	    mode_t mode, uid_t uid, gid_t gid, char **cause);

/* mkdir -p with mode for created components. */
int	vp_mkdir_p(const char *path, mode_t mode, char **cause);

/* 1 if path exists (lstat), 0 if not. */
int	vp_file_exists(const char *path);

/* Join a and b with one '/'; returns allocated string or NULL. */
char	*vp_path_join(const char *a, const char *b);

/* Write all of buf to fd, retrying on EINTR/short writes. */
int	vp_write_all(int fd, const void *buf, size_t len);

#endif
