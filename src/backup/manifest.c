/*
 * manifest.c: artifact selection, the manifest document, checksums and
 * the state file of last verified backups.  Pure code (no Docker).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "backup/backup.h"
#include "core/err.h"
#include "core/file.h"
#include "core/opt.h"

static const char *const arts[BACKUP_NARTIFACTS] = { BACKUP_ARTIFACTS };

const char *
backup_artifact_name(size_t i)
{
	return i < BACKUP_NARTIFACTS ? arts[i] : NULL;
}

int
backup_split(const char *list, char ***out, size_t *n)
{
	char	*dup = NULL, *p, *tok, **v = NULL, **nv;
	size_t	 k = 0;
	int	 r = VP_OK;

	*out = NULL;
	*n = 0;
	if ((dup = strdup(list)) == NULL)
		return VP_ERR_NOMEM;
	for (p = dup; (tok = strsep(&p, ",")) != NULL;) {
		if (*tok == '\0')
			continue;
		if ((nv = realloc(v, (k + 1) * sizeof(*v))) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		v = nv;
		if ((v[k] = strdup(tok)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		k++;
	}
	*out = v;
	*n = k;
	v = NULL;
 out:
	if (v != NULL)
		backup_strv_free(v, k);
	free(dup);
	return r;
}

void
backup_strv_free(char **v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
backup_select(char *const *only, size_t nonly, int sel[BACKUP_NARTIFACTS],
    char **cause)
{
	static const char *const cands[] = { BACKUP_ARTIFACTS, "pg", "n8n" };
	const char	*dym;
	size_t		 i, j, len;
	int		 hit;

	for (i = 0; i < BACKUP_NARTIFACTS; i++)
		sel[i] = only == NULL || nonly == 0;
	for (j = 0; j < nonly; j++) {
		hit = 0;
		len = strlen(only[j]);
		for (i = 0; i < BACKUP_NARTIFACTS; i++) {
			if (strcmp(arts[i], only[j]) == 0 ||
			    (strchr(only[j], ':') == NULL &&
			    strncmp(arts[i], only[j], len) == 0 &&
			    arts[i][len] == ':')) {
				sel[i] = 1;
				hit = 1;
			}
		}
		if (!hit) {
			dym = vp_did_you_mean(only[j], cands,
			    sizeof(cands) / sizeof(cands[0]));
			return vp_fail(cause, VP_ERR_NOTFOUND,
			    "unknown artifact '%s'%s%s%s (one of pg, pg:n8n, "
			    "pg:litellm, pg:openclaw, redis, qdrant, n8n, "
			    "n8n:workflow, n8n:credentials, grafana, configs)",
			    only[j], dym ? ": did you mean '" : "",
			    dym ? dym : "", dym ? "'?" : "");
		}
	}
	return VP_OK;
}

int
backup_sha256_file(const char *path, char hex[65], long long *size,
    char **cause)
{
	EVP_MD_CTX	*md = NULL;
	unsigned char	 dig[EVP_MAX_MD_SIZE], buf[65536];
	unsigned int	 dlen = 0, i;
	FILE		*f = NULL;
	size_t		 got;
	long long	 total = 0;
	int		 r = VP_OK;

	hex[0] = '\0';
	if ((f = fopen(path, "rb")) == NULL) {
		r = vp_fail(cause, VP_ERR_IO, "'%s': %s", path,
		    strerror(errno));
		goto out;
	}
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
		EVP_DigestUpdate(md, buf, got);
		total += (long long)got;
	}
	if (ferror(f)) {
		r = vp_fail(cause, VP_ERR_IO, "'%s': read error", path);
		goto out;
	}
	EVP_DigestFinal_ex(md, dig, &dlen);
	for (i = 0; i < dlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", dig[i]);
	if (size != NULL)
		*size = total;
 out:
	EVP_MD_CTX_free(md);
	if (f != NULL)
		fclose(f);
	return r;
}

json_t *
backup_manifest(const struct backup_report *rep, const json_t *tools)
{
	json_t	*m, *a, *o;
	size_t	 i;

	if ((m = json_object()) == NULL)
		return NULL;
	a = json_array();
	json_object_set_new(m, "format", json_integer(1));
	json_object_set_new(m, "stamp", json_string(rep->stamp ?
	    rep->stamp : ""));
	json_object_set_new(m, "duration_s", json_real(rep->elapsed));
	json_object_set_new(m, "failed", json_integer((json_int_t)
	    rep->nfailed));
	json_object_set(m, "tools", tools != NULL ? (json_t *)tools :
	    json_object());
	if (tools == NULL)
		json_decref(json_object_get(m, "tools"));
	for (i = 0; i < rep->n; i++) {
		const struct backup_art *x = &rep->v[i];

		o = json_object();
		json_object_set_new(o, "name", json_string(x->name));
		json_object_set_new(o, "ok", json_boolean(x->ok));
		if (x->file != NULL && x->ok) {
			json_object_set_new(o, "file", json_string(x->file));
			json_object_set_new(o, "size", json_integer(x->size));
			json_object_set_new(o, "sha256",
			    json_string(x->sha256));
		}
		if (x->verified != NULL)
			json_object_set_new(o, "verified",
			    json_string(x->verified));
		if (x->error != NULL)
			json_object_set_new(o, "error", json_string(x->error));
		if (x->rows != NULL)
			json_object_set(o, "rows", x->rows);
		json_object_set_new(o, "duration_s", json_real(x->seconds));
		json_array_append_new(a, o);
	}
	json_object_set_new(m, "artifacts", a);
	return m;
}

int
backup_manifest_check(const char *dir, const json_t *manifest,
    char **cause)
{
	json_t		*a, *o;
	const char	*file, *sha, *name;
	char		*path = NULL, hex[65];
	long long	 size;
	size_t		 i;
	int		 r = VP_OK;

	a = json_object_get(manifest, "artifacts");
	if (!json_is_array(a))
		return vp_fail(cause, VP_ERR_PARSE,
		    "'%s': manifest has no artifacts array", dir);
	json_array_foreach(a, i, o) {
		if (!json_is_true(json_object_get(o, "ok")))
			continue;
		name = json_string_value(json_object_get(o, "name"));
		file = json_string_value(json_object_get(o, "file"));
		sha = json_string_value(json_object_get(o, "sha256"));
		if (name == NULL || file == NULL || sha == NULL ||
		    strstr(file, "..") != NULL || file[0] == '/') {
			r = vp_fail(cause, VP_ERR_PARSE, "'%s': manifest "
			    "entry %zu: missing or bad name, file or sha256",
			    dir, i);
			goto out;
		}
		free(path);
		if ((path = vp_path_join(dir, file)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if ((r = backup_sha256_file(path, hex, &size, cause)) != 0) {
			vp_fail_prefix(cause, r, "artifact '%s'", name);
			goto out;
		}
		if (size != json_integer_value(json_object_get(o, "size")) ||
		    strcmp(hex, sha) != 0) {
			r = vp_fail(cause, VP_ERR_INVALID, "'%s': artifact "
			    "'%s': size or sha256 differs from the manifest",
			    path, name);
			goto out;
		}
	}
 out:
	free(path);
	return r;
}

int
backup_state_update(json_t *state, const struct backup_report *rep,
    long long now)
{
	json_t	*o;
	size_t	 i;

	for (i = 0; i < rep->n; i++) {
		if (!rep->v[i].ok)
			continue;
		if ((o = json_pack("{s:s, s:s, s:s, s:I}", "stamp",
		    rep->stamp ? rep->stamp : "", "dir",
		    rep->dir ? rep->dir : "", "sha256", rep->v[i].sha256,
		    "at", (json_int_t)now)) == NULL)
			return VP_ERR_NOMEM;
		if (json_object_set_new(state, rep->v[i].name, o) != 0)
			return VP_ERR_NOMEM;
	}
	return VP_OK;
}

const char *const *
backup_restic_forget_args(void)
{
	static const char *const v[] = { "forget", "--keep-daily", "7",
	    "--keep-weekly", "4", "--keep-monthly", "6", "--keep-yearly", "2",
	    "--prune", NULL };

	return v;
}

long long
backup_parse_stamp(const char *s)
{
	struct tm	 tm;
	const char	*e;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strlen(s) < 16)
		return -1;
	e = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (e == NULL || (*e != '\0' && *e != '-'))
		return -1;
	return (long long)timegm(&tm);
}
