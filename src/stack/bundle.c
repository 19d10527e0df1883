/*
 * bundle.c: writing a rendered bundle to disk, lookup, release.
 *
 * bundle_write() rewrites a file only when its bytes, mode or (when run
 * as root) owner differ, all changed files in one atomic batch
 * (core/file.h vp_file_batch: two filesystem syncs in all).  Missing parent
 * directories are created 0750 when they hold a secret file, else 0755.
 * Ownership is applied only when running as root: an unprivileged render
 * (for review or golden tests) leaves files owned by the caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/file.h"
#include "stack/stack.h"

static int
same_file(const char *path, const struct bundle_file *f, int root)
{
	struct stat	 st;
	struct vp_buf	 cur;
	int		 same;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((st.st_mode & 07777) != f->mode || (size_t)st.st_size != f->len)
		return 0;
	if (root && ((f->uid != (uid_t)-1 && st.st_uid != f->uid) ||
	    (f->gid != (gid_t)-1 && st.st_gid != f->gid)))
		return 0;
	vp_buf_init(&cur, f->len + 1);
	if (vp_file_read(path, &cur, NULL) != 0)
		return 0;
	same = cur.len == f->len && memcmp(cur.buf, f->data, f->len) == 0;
	vp_buf_release_secure(&cur);
	return same;
}

void
bundle_dir_attr(const struct bundle *b, const char *dir, mode_t *mode,
    uid_t *uid, gid_t *gid)
{
	const struct bundle_file	*f;
	const char			*slash;
	size_t				 i, dl = strlen(dir);
	int				 secret = 0, mixed = 0;

	*mode = 0755;
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	for (i = 0; i < b->n; i++) {
		f = &b->files[i];
		slash = strrchr(f->path, '/');
		if (slash == NULL || (size_t)(slash - f->path) != dl ||
		    strncmp(f->path, dir, dl) != 0 || !f->secret)
			continue;
		if (!secret) {
			*uid = f->uid;
			*gid = f->gid;
		} else if (f->uid != *uid || f->gid != *gid)
			mixed = 1;
		secret = 1;
	}
	if (!secret)
		return;
	*mode = 0750;
	if (mixed) {
		*uid = (uid_t)-1;
		*gid = (gid_t)-1;
	}
}

/* Set dir's mode (and owner when root) to the bundle's rule. */
static int
fix_dir(const struct bundle *b, const char *rel, const char *full, int isroot,
    char **cause)
{
	struct stat	 st;
	mode_t		 mode;
	uid_t		 uid;
	gid_t		 gid;

	bundle_dir_attr(b, rel, &mode, &uid, &gid);
	if (stat(full, &st) != 0)
		return vp_fail(cause, VP_ERR_IO, "cannot stat '%s': %s", full,
		    strerror(errno));
	if ((st.st_mode & 07777) != mode && chmod(full, mode) != 0)
		return vp_fail(cause, VP_ERR_IO, "cannot chmod '%s': %s", full,
		    strerror(errno));
	if (isroot && ((uid != (uid_t)-1 && st.st_uid != uid) ||
	    (gid != (gid_t)-1 && st.st_gid != gid)) &&
	    chown(full, uid, gid) != 0)
		return vp_fail(cause, VP_ERR_IO, "cannot chown '%s': %s", full,
		    strerror(errno));
	return VP_OK;
}

int
bundle_write(const struct bundle *b, const char *dir, int *nchanged,
    char **cause)
{
	const struct bundle_file	*f;
	struct vp_file_batch		 fb = VP_FILE_BATCH_INIT;
	char				*full = NULL, *slash, *made = NULL;
	size_t				 i;
	int				 r, root = geteuid() == 0, n = 0;

	if (nchanged != NULL)
		*nchanged = 0;
	if ((r = vp_mkdir_p(dir, 0755, cause)) != 0)
		return r;
	for (i = 0; i < b->n; i++) {
		f = &b->files[i];
		free(full);
		if ((full = vp_path_join(dir, f->path)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		/* Files are sorted: siblings follow each other. */
		if (strchr(f->path, '/') != NULL &&
		    (slash = strrchr(full, '/')) != NULL) {
			*slash = '\0';
			if (made == NULL || strcmp(made, full) != 0) {
				char *rel = strndup(f->path, (size_t)(
				    strrchr(f->path, '/') - f->path));

				if (rel == NULL)
					r = VP_ERR_NOMEM;
				else if ((r = vp_mkdir_p(full, 0755,
				    cause)) == 0)
					r = fix_dir(b, rel, full, root, cause);
				free(rel);
				free(made);
				made = strdup(full);
			}
			*slash = '/';
			if (r != 0)
				goto out;
		}
		if (same_file(full, f, root))
			continue;
		if ((r = vp_file_batch_add(&fb, full, f->data ? f->data : "",
		    f->len, f->mode, root ? f->uid : (uid_t)-1,
		    root ? f->gid : (gid_t)-1, cause)) != 0)
			goto out;
		n++;
	}
	r = vp_file_batch_commit(&fb, cause);
 out:
	vp_file_batch_abort(&fb);
	if (r != VP_OK)
		n = 0;
	free(made);
	free(full);
	if (nchanged != NULL)
		*nchanged = n;
	return r;
}

const struct bundle_file *
bundle_find(const struct bundle *b, const char *path)
{
	size_t lo = 0, hi, mid;
	int c;

	if (b == NULL)
		return NULL;
	hi = b->n;
	while (lo < hi) {		/* files are sorted by path */
		mid = lo + (hi - lo) / 2;
		c = strcmp(path, b->files[mid].path);
		if (c == 0)
			return &b->files[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

void
bundle_free(struct bundle *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++) {
		free(b->files[i].path);
		if (b->files[i].data != NULL) {
			explicit_bzero(b->files[i].data, b->files[i].len);
			free(b->files[i].data);
		}
		json_decref(b->files[i].readers);
	}
	free(b->files);
	json_decref(b->model);
	free(b);
}
