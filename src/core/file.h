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

/*
 * A batch of atomic replacements that costs two filesystem syncs in all
 * instead of two per file (for writing a whole bundle):
 *	struct vp_file_batch fb = VP_FILE_BATCH_INIT;
 *	vp_file_batch_add(&fb, path, data, len, mode, uid, gid, &cause);  (each)
 *	vp_file_batch_commit(&fb, &cause);   syncfs, rename all, syncfs
 * add() writes "<path>.lock" (exclusive, as above); on any failure call
 * vp_file_batch_abort(), which removes every staged lock file.  commit()
 * and abort() leave the batch empty and reusable.  A crash before commit
 * leaves every target untouched; one during the renames leaves each
 * target either old or new, never partial.
 */
struct vp_file_batch {
	char	**lock;		/* pairs: staged lock path, target path */
	size_t	  n;
	size_t	  alloc;
};
#define VP_FILE_BATCH_INIT	{ NULL, 0, 0 }

int	vp_file_batch_add(struct vp_file_batch *, const char *path,
	    const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
	    char **cause);
int	vp_file_batch_commit(struct vp_file_batch *, char **cause);
void	vp_file_batch_abort(struct vp_file_batch *);

/* mkdir -p with mode for created components. */
int	vp_mkdir_p(const char *path, mode_t mode, char **cause);

/* 1 if path exists (lstat), 0 if not. */
int	vp_file_exists(const char *path);

/* Join a and b with one '/'; returns allocated string or NULL. */
char	*vp_path_join(const char *a, const char *b);

/* Write all of buf to fd, retrying on EINTR/short writes. */
int	vp_write_all(int fd, const void *buf, size_t len);

#endif
