/*
 * release.c: release manifests under <stack_root>/releases (release.h).
 */
#define _XOPEN_SOURCE 700
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "core/buf.h"
#include "core/file.h"
#include "deploy/deploy.h"
#include "deploy/release.h"
#include "stack/stack.h"

#define MANIFEST	"manifest.json"
#define FILE_CAP	(256u << 20)
#define PENDING		"pending-backup.json"

int
release_stateful(const char *service)
{
	static const char *const v[] = { "postgresql", "n8n", "litellm",
	    "openclaw", "qdrant", "redis", "grafana", NULL };
	size_t	i;

	for (i = 0; v[i] != NULL; i++)
		if (strcmp(v[i], service) == 0)
			return 1;
	return 0;
}

void
release_sha256(const void *data, size_t len, char hex[65])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0, i;

	hex[0] = '\0';
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return;
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

int
release_sha256_file(const char *path, char hex[65], char **cause)
{
	struct vp_buf	b = VP_BUF_INIT(FILE_CAP);
	int		r;

	hex[0] = '\0';
	if (path == NULL || !vp_file_exists(path))
		return VP_OK;
	if ((r = vp_file_read(path, &b, cause)) == 0)
		release_sha256(b.buf, b.len, hex);
	vp_buf_release_secure(&b);
	return r;
}

static char *
rel_dir(const char *root)
{
	return vp_path_join(root, "releases");
}

char *
release_bundle_dir(const char *root, const char *id)
{
	char	*p = NULL;

	if (asprintf(&p, "%s/releases/%s/bundle", root, id) < 0)
		return NULL;
	return p;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The release ids present (those with a manifest), sorted. */
static int
list_ids(const char *root, char ***idsp, size_t *np, char **cause)
{
	DIR		*d = NULL;
	struct dirent	*de;
	char		*dir = NULL, *m = NULL, **ids = NULL, **t;
	size_t		 n = 0;
	int		 r = VP_OK;

	*idsp = NULL;
	*np = 0;
	if ((dir = rel_dir(root)) == NULL)
		return VP_ERR_NOMEM;
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			r = vp_fail(cause, VP_ERR_IO, "'%s': %s", dir,
			    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		free(m);
		if (asprintf(&m, "%s/%s/" MANIFEST, dir, de->d_name) < 0) {
			m = NULL;
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (!vp_file_exists(m))
			continue;
		if ((t = realloc(ids, (n + 1) * sizeof(*ids))) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		ids = t;
		if ((ids[n] = strdup(de->d_name)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		n++;
	}
	if (n > 0)
		qsort(ids, n, sizeof(*ids), cmp_str);
 out:
	if (d != NULL)
		closedir(d);
	free(dir);
	free(m);
	if (r != 0) {
		while (n > 0)
			free(ids[--n]);
		free(ids);
		return r;
	}
	*idsp = ids;
	*np = n;
	return r;
}

static void
free_ids(char **ids, size_t n)
{
	while (n > 0)
		free(ids[--n]);
	free(ids);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int
prune(const char *root, int keep, char **cause)
{
	char	**ids = NULL, *dir = NULL;
	size_t	  n = 0, i;
	int	  r;

	if ((r = list_ids(root, &ids, &n, cause)) != 0)
		return r;
	for (i = 0; keep > 0 && i + (size_t)keep < n; i++) {
		free(dir);
		if (asprintf(&dir, "%s/releases/%s", root, ids[i]) < 0) {
			dir = NULL;
			r = VP_ERR_NOMEM;
			break;
		}
		if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
			r = vp_fail(cause, VP_ERR_IO, "removing old release "
			    "'%s': %s", dir, strerror(errno));
			break;
		}
	}
	free(dir);
	free_ids(ids, n);
	return r;
}

/* A fresh release directory under releases/ (0700); *idp its id. */
static int
new_release_dir(const char *root, char **idp, char **dirp, char **cause)
{
	char		 stamp[32], *dir = NULL, *rel = NULL;
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 r, k;

	*idp = *dirp = NULL;
	if ((rel = rel_dir(root)) == NULL)
		return VP_ERR_NOMEM;
	if ((r = vp_mkdir_p(rel, 0700, cause)) != 0)
		goto out;
	if (chmod(rel, 0700) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "'%s': %s", rel, strerror(errno));
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (k = 1; k < 100; k++) {
		free(dir);
		if ((k == 1 ? asprintf(&dir, "%s/%s", rel, stamp) :
		    asprintf(&dir, "%s/%s-%d", rel, stamp, k)) < 0) {
			dir = NULL;
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (mkdir(dir, 0700) == 0)
			break;
		if (errno != EEXIST) {
			r = vp_fail(cause, VP_ERR_IO, "'%s': %s", dir,
			    strerror(errno));
			goto out;
		}
	}
	if (k == 100) {
		r = vp_fail(cause, VP_ERR_EXISTS, "'%s': too many releases in "
		    "one second", rel);
		goto out;
	}
	if ((*idp = strdup(strrchr(dir, '/') + 1)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	*dirp = dir;
	dir = NULL;
 out:
	free(dir);
	free(rel);
	return r;
}

static json_t *
load_manifest(const char *root, const char *id, char **cause)
{
	json_t		*m;
	json_error_t	 je;
	char		*p = NULL;

	if (asprintf(&p, "%s/releases/%s/" MANIFEST, root, id) < 0)
		return NULL;
	if ((m = json_load_file(p, 0, &je)) == NULL || !json_is_object(m)) {
		vp_fail(cause, VP_ERR_PARSE, "%s:%d: %s", p, je.line,
		    m == NULL ? je.text : "expected an object");
		json_decref(m);
		m = NULL;
	}
	free(p);
	return m;
}

static char *
pending_path(const char *root)
{
	char	*d, *p;

	if ((d = rel_dir(root)) == NULL)
		return NULL;
	p = vp_path_join(d, PENDING);
	free(d);
	return p;
}

int
release_pending_backup_set(const char *root, const json_t *rec,
    char **cause)
{
	char	*d = NULL, *p = NULL, *text = NULL;
	int	 r;

	if ((d = rel_dir(root)) == NULL || (p = pending_path(root)) == NULL ||
	    (text = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS)) ==
	    NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_mkdir_p(d, 0700, cause)) != 0)
		goto out;
	r = vp_file_write_atomic(p, text, strlen(text), 0600, (uid_t)-1,
	    (gid_t)-1, cause);
 out:
	free(d);
	free(p);
	free(text);
	return r;
}

int
release_pending_backup(const char *root, json_t **out, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(1 << 20);
	char		*p;
	int		 r = VP_OK;

	*out = NULL;
	if ((p = pending_path(root)) == NULL)
		return VP_ERR_NOMEM;
	if (vp_file_exists(p) && (r = vp_file_read(p, &b, cause)) == 0 &&
	    (*out = json_loadb(b.buf, b.len, 0, NULL)) == NULL)
		r = vp_fail(cause, VP_ERR_PARSE, "'%s': not JSON", p);
	vp_buf_release(&b);
	free(p);
	return r;
}

int
release_record(const char *root, const char *project, const struct bundle *b,
    const char *site_file, const char *vault_file, const char *rollback_of,
    int keep, char **idp, int *isnew, char **cause)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	json_t			*m = NULL, *images, *files, *cur = NULL;
	json_t			*pend = NULL;
	char			*id = NULL, *dir = NULL, *bdir = NULL;
	char			*ppath = NULL;
	char			*mpath = NULL, *text = NULL;
	char			 hex[65], created[32];
	struct tm		 tm;
	time_t			 now = time(NULL);
	size_t			 i;
	int			 r, n = 0;

	if (idp != NULL)
		*idp = NULL;
	if ((r = deploy_list(project, &cs, cause)) != 0)
		goto out;
	gmtime_r(&now, &tm);
	strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((m = json_object()) == NULL || (images = json_object()) == NULL ||
	    json_object_set_new(m, "images", images) != 0 ||
	    (files = json_object()) == NULL ||
	    json_object_set_new(m, "files", files) != 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	json_object_set_new(m, "project", json_string(project));
	json_object_set_new(m, "rollback_of", rollback_of ?
	    json_string(rollback_of) : json_null());
	if ((r = release_sha256_file(site_file, hex, cause)) != 0)
		goto out;
	json_object_set_new(m, "site_sha256", json_string(hex));
	if ((r = release_sha256_file(vault_file, hex, cause)) != 0)
		goto out;
	json_object_set_new(m, "vault_sha256", json_string(hex));
	for (i = 0; i < cs.n; i++)
		json_object_set_new(images, cs.v[i].service, json_pack(
		    "{s:s, s:s}", "ref", cs.v[i].image, "id",
		    cs.v[i].image_id));
	for (i = 0; i < b->n; i++) {
		release_sha256(b->files[i].data, b->files[i].len, hex);
		json_object_set_new(files, b->files[i].path,
		    json_string(hex));
	}
	/* Same as the current release (a no-op apply): keep that one. */
	if ((r = release_current(root, &id, cause)) != 0)
		goto out;
	if (id != NULL && (cur = load_manifest(root, id, NULL)) != NULL &&
	    json_equal(json_object_get(cur, "images"), images) &&
	    json_equal(json_object_get(cur, "files"), files) &&
	    json_equal(json_object_get(cur, "site_sha256"),
	    json_object_get(m, "site_sha256")) &&
	    json_equal(json_object_get(cur, "vault_sha256"),
	    json_object_get(m, "vault_sha256")) && rollback_of == NULL) {
		if (isnew != NULL)
			*isnew = 0;
		goto done;
	}
	free(id);
	id = NULL;
	if ((r = new_release_dir(root, &id, &dir, cause)) != 0)
		goto out;
	if ((bdir = vp_path_join(dir, "bundle")) == NULL ||
	    (mpath = vp_path_join(dir, MANIFEST)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bundle_write(b, bdir, &n, cause)) != 0)
		goto out;
	json_object_set_new(m, "id", json_string(id));
	json_object_set_new(m, "created", json_string(created));
	/* The pre-update backup taken by the apply that made this release. */
	if (rollback_of == NULL &&
	    (r = release_pending_backup(root, &pend, cause)) != 0)
		goto out;
	json_object_set_new(m, "pre_update_backup", pend ? pend : json_null());
	pend = NULL;
	if ((text = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_file_write_atomic(mpath, text, strlen(text), 0600,
	    (uid_t)-1, (gid_t)-1, cause)) != 0)
		goto out;
	/* The compose document as JSON, for the deploy engine. */
	free(text);
	free(mpath);
	text = NULL;
	if ((mpath = vp_path_join(dir, "compose.json")) == NULL ||
	    (text = json_dumps(json_object_get(b->model, "compose"),
	    JSON_SORT_KEYS)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_file_write_atomic(mpath, text, strlen(text), 0600,
	    (uid_t)-1, (gid_t)-1, cause)) != 0)
		goto out;
	if ((r = release_set_current(root, id, cause)) != 0 ||
	    (r = prune(root, keep, cause)) != 0)
		goto out;
	if (isnew != NULL)
		*isnew = 1;
	if (rollback_of == NULL && (ppath = pending_path(root)) != NULL)
		unlink(ppath);
 done:
	if (idp != NULL) {
		*idp = id;
		id = NULL;
	}
 out:
	if (r != 0 && dir != NULL)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	deploy_ctrs_release(&cs);
	json_decref(cur);
	json_decref(m);
	json_decref(pend);
	free(ppath);
	free(text);
	free(mpath);
	free(bdir);
	free(dir);
	free(id);
	return r;
}

int
release_current(const char *root, char **idp, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(256);
	char		*p = NULL;
	int		 r = VP_OK;

	*idp = NULL;
	if (asprintf(&p, "%s/releases/CURRENT", root) < 0)
		return VP_ERR_NOMEM;
	if (vp_file_exists(p) && (r = vp_file_read(p, &b, cause)) == 0) {
		while (b.len > 0 && (b.buf[b.len - 1] == '\n' ||
		    b.buf[b.len - 1] == ' '))
			b.buf[--b.len] = '\0';
		if (b.len > 0 && (*idp = strdup(b.buf)) == NULL)
			r = VP_ERR_NOMEM;
	}
	vp_buf_release(&b);
	free(p);
	return r;
}

int
release_set_current(const char *root, const char *id, char **cause)
{
	char	*p = NULL, *line = NULL;
	int	 r;

	if (asprintf(&p, "%s/releases/CURRENT", root) < 0)
		return VP_ERR_NOMEM;
	if (asprintf(&line, "%s\n", id) < 0) {
		free(p);
		return VP_ERR_NOMEM;
	}
	r = vp_file_write_atomic(p, line, strlen(line), 0600, (uid_t)-1,
	    (gid_t)-1, cause);
	free(line);
	free(p);
	return r;
}

int
release_list(const char *root, json_t **out, char **cause)
{
	json_t	*a = NULL, *m;
	char	**ids = NULL;
	size_t	  n = 0, i;
	int	  r;

	*out = NULL;
	if ((r = list_ids(root, &ids, &n, cause)) != 0)
		return r;
	if ((a = json_array()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((m = load_manifest(root, ids[i], cause)) == NULL) {
			r = VP_ERR_PARSE;
			goto out;
		}
		json_array_append_new(a, m);
	}
	*out = a;
	a = NULL;
 out:
	json_decref(a);
	free_ids(ids, n);
	return r;
}

int
release_get(const char *root, const char *id, json_t **out, char **cause)
{
	struct vp_buf	  known = VP_BUF_INIT(4096);
	char		**ids = NULL, *cur = NULL;
	size_t		  n = 0, i;
	int		  r;

	*out = NULL;
	if ((r = list_ids(root, &ids, &n, cause)) != 0 ||
	    (r = release_current(root, &cur, cause)) != 0)
		goto out;
	if (id == NULL) {
		for (i = 0; cur != NULL && i < n && strcmp(ids[i], cur) != 0;
		    i++)
			;
		if (cur == NULL || i == n)
			i = n > 0 ? n - 1 : 0;
		if (i == 0) {
			r = vp_fail(cause, VP_ERR_NOTFOUND, "'%s': no release "
			    "before the current one (%zu recorded); nothing to "
			    "roll back to", root, n);
			goto out;
		}
		id = ids[i - 1];
	}
	for (i = 0; i < n && strcmp(ids[i], id) != 0; i++)
		;
	if (i == n) {
		for (i = 0; i < n; i++)
			vp_buf_addf(&known, "%s%s", i ? ", " : "", ids[i]);
		r = vp_fail(cause, VP_ERR_NOTFOUND, "release '%s' not found "
		    "(known: %s)", id, n ? known.buf : "none");
		goto out;
	}
	if ((*out = load_manifest(root, id, cause)) == NULL)
		r = VP_ERR_PARSE;
 out:
	free(cur);
	vp_buf_release(&known);
	free_ids(ids, n);
	return r;
}

int
release_restore_bundle(const char *root, const json_t *m, int *nwritten,
    char **cause)
{
	struct vp_file_batch	 fb = VP_FILE_BATCH_INIT;
	struct vp_buf		 src = VP_BUF_INIT(FILE_CAP);
	struct vp_buf		 cur = VP_BUF_INIT(FILE_CAP);
	struct stat		 st;
	const json_t		*files = json_object_get(m, "files"), *h;
	const char		*path, *id;
	char			*bdir = NULL, *sp = NULL, *dp = NULL, *dd, hex[65];
	int			 r = VP_OK;

	*nwritten = 0;
	id = json_string_value(json_object_get(m, "id"));
	if (id == NULL || !json_is_object(files))
		return vp_fail(cause, VP_ERR_PARSE, "release manifest: "
		    "missing id or files");
	if ((bdir = release_bundle_dir(root, id)) == NULL)
		return VP_ERR_NOMEM;
	json_object_foreach((json_t *)files, path, h) {
		free(sp);
		free(dp);
		dp = NULL;
		vp_buf_release_secure(&src);
		vp_buf_release_secure(&cur);
		if ((sp = vp_path_join(bdir, path)) == NULL ||
		    (dp = vp_path_join(root, path)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if ((r = vp_file_read(sp, &src, cause)) != 0)
			goto out;
		release_sha256(src.buf, src.len, hex);
		if (strcmp(hex, json_string_value(h) ? json_string_value(h) :
		    "") != 0) {
			r = vp_fail(cause, VP_ERR_INVALID, "release '%s': file "
			    "'%s' does not match its recorded sha256; nothing "
			    "was changed", id, path);
			goto out;
		}
		if (stat(sp, &st) != 0) {
			r = vp_fail(cause, VP_ERR_IO, "'%s': %s", sp,
			    strerror(errno));
			goto out;
		}
		if (vp_file_exists(dp) && vp_file_read(dp, &cur, NULL) == 0 &&
		    cur.len == src.len && memcmp(cur.buf, src.buf,
		    src.len) == 0)
			continue;
		if ((dd = strrchr(dp, '/')) != NULL) {
			*dd = '\0';
			r = vp_mkdir_p(dp, 0755, cause);
			*dd = '/';
			if (r != 0)
				goto out;
		}
		if ((r = vp_file_batch_add(&fb, dp, src.buf, src.len,
		    st.st_mode & 07777, geteuid() == 0 ? st.st_uid : (uid_t)-1,
		    geteuid() == 0 ? st.st_gid : (gid_t)-1, cause)) != 0)
			goto out;
		(*nwritten)++;
	}
	r = vp_file_batch_commit(&fb, cause);
 out:
	if (r != 0)
		vp_file_batch_abort(&fb);
	vp_buf_release_secure(&src);
	vp_buf_release_secure(&cur);
	free(bdir);
	free(sp);
	free(dp);
	return r;
}
