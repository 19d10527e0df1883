/*
 * prune.c: stale bundle files (see prune.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/file.h"
#include "deploy/prune.h"
#include "deploy/release.h"

#define RECORD_CAP	(1u << 20)

/* A relative path with no "", "." or ".." component. */
static int
safe_rel(const char *p)
{
	const char	*c = p, *e;
	size_t		 n;

	if (*p == '\0' || *p == '/')
		return 0;
	for (;;) {
		e = strchr(c, '/');
		n = e != NULL ? (size_t)(e - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (e == NULL)
			return 1;
		c = e + 1;
	}
}

/* The record's {path: sha256} object (new reference), or NULL: none. */
static int
record_load(const char *path, json_t **files, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(RECORD_CAP);
	json_error_t	 je;
	json_t		*doc = NULL;
	int		 r;

	*files = NULL;
	if (!vp_file_exists(path))
		return VP_OK;
	if ((r = vp_file_read(path, &b, cause)) != 0)
		goto out;
	if ((doc = json_loadb(b.buf, b.len, 0, &je)) == NULL ||
	    !json_is_object(json_object_get(doc, "files"))) {
		r = vp_fail(cause, VP_ERR_PARSE, "'%s': not a bundle record "
		    "(remove it: the next apply writes a new one)", path);
		goto out;
	}
	*files = json_incref(json_object_get(doc, "files"));
 out:
	json_decref(doc);
	vp_buf_release(&b);
	return r;
}

/* The sha256 of root/rel, "" when it is not a regular file. */
static int
disk_sha256(const char *root, const char *rel, char hex[65], char **cause)
{
	struct stat	 st;
	char		*full;
	int		 r = VP_OK;

	hex[0] = '\0';
	if ((full = vp_path_join(root, rel)) == NULL)
		return VP_ERR_NOMEM;
	if (lstat(full, &st) == 0 && S_ISREG(st.st_mode))
		r = release_sha256_file(full, hex, cause);
	free(full);
	return r;
}

int
deploy_stale_find(const struct bundle *b, const char *root,
    struct deploy_stale *st, char **cause)
{
	json_t		*files = NULL, *v;
	const char	*rel;
	char		*rec, hex[65];
	int		 r;

	if ((rec = vp_path_join(root, DEPLOY_BUNDLE_RECORD)) == NULL)
		return VP_ERR_NOMEM;
	if ((r = record_load(rec, &files, cause)) != 0 || files == NULL)
		goto out;
	json_object_foreach(files, rel, v) {
		if (!json_is_string(v) || !safe_rel(rel) ||
		    bundle_find(b, rel) != NULL)
			continue;
		if ((r = disk_sha256(root, rel, hex, cause)) != 0)
			goto out;
		if (hex[0] == '\0')
			continue;	/* gone already */
		if (strcmp(hex, json_string_value(v)) == 0)
			r = vp_argv_push(&st->remove, rel);
		else
			r = vp_argv_push(&st->edited, rel);
		if (r != 0)
			goto out;
	}
 out:
	json_decref(files);
	free(rec);
	return r;
}

/* rmdir each parent of rel under root while it is empty. */
static void
rmdir_parents(const char *root, const char *rel)
{
	char	*full, *slash;
	size_t	 rl = strlen(root);

	if ((full = vp_path_join(root, rel)) == NULL)
		return;
	while ((slash = strrchr(full, '/')) != NULL &&
	    (size_t)(slash - full) > rl) {
		*slash = '\0';
		if (rmdir(full) != 0)
			break;
	}
	free(full);
}

int
deploy_stale_remove(const char *root, struct deploy_stale *st, char **cause)
{
	char	*full;
	size_t	 i;

	st->nremoved = 0;
	for (i = 0; i < st->remove.n; i++) {
		if ((full = vp_path_join(root, st->remove.v[i])) == NULL)
			return VP_ERR_NOMEM;
		if (unlink(full) != 0 && errno != ENOENT) {
			vp_fail(cause, VP_ERR_IO, "cannot remove stale '%s': "
			    "%s", full, strerror(errno));
			free(full);
			return VP_ERR_IO;
		}
		free(full);
		st->nremoved++;
		rmdir_parents(root, st->remove.v[i]);
	}
	return VP_OK;
}

int
deploy_bundle_record(const struct bundle *b, const char *root, char **cause)
{
	struct vp_buf	 cur = VP_BUF_INIT(RECORD_CAP);
	json_t		*doc, *files;
	char		*rec = NULL, *text = NULL, hex[65];
	size_t		 i;
	int		 r = VP_ERR_NOMEM;

	if ((doc = json_object()) == NULL || (files = json_object()) == NULL ||
	    json_object_set_new(doc, "files", files) != 0)
		goto out;
	for (i = 0; i < b->n; i++) {
		release_sha256(b->files[i].data ? b->files[i].data : "",
		    b->files[i].len, hex);
		if (json_object_set_new(files, b->files[i].path,
		    json_string(hex)) != 0)
			goto out;
	}
	if ((text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS)) == NULL ||
	    (rec = vp_path_join(root, DEPLOY_BUNDLE_RECORD)) == NULL)
		goto out;
	r = VP_OK;
	if (vp_file_exists(rec) && vp_file_read(rec, &cur, NULL) == 0 &&
	    cur.len == strlen(text) && memcmp(cur.buf, text, cur.len) == 0)
		goto out;
	r = vp_file_write_atomic(rec, text, strlen(text), 0600, (uid_t)-1,
	    (gid_t)-1, cause);
 out:
	vp_buf_release(&cur);
	json_decref(doc);
	free(text);
	free(rec);
	return r;
}

void
deploy_stale_release(struct deploy_stale *st)
{
	if (st == NULL)
		return;
	vp_argv_release(&st->remove);
	vp_argv_release(&st->edited);
	st->nremoved = 0;
}
