/*
 * restore.c: `vpai restore`: plan, confirm, safety backup, stop the
 * users of the data, restore, start and health-gate.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backup/backup-int.h"
#include "core/child.h"
#include "core/file.h"

struct rs {
	const struct restore_opts	*o;
	char				*bdir;
	char				*set;		/* set directory */
	json_t				*manifest;
	int				 sel[BACKUP_NARTIFACTS];
	json_t				*ent[BACKUP_NARTIFACTS];
	struct deploy_ctrs		 cs;
	struct vp_argv			 stopped;	/* container ids */
	char				*tgt;	/* restic restore target */
};

static void
say(struct rs *s, const char *art, const char *fmt, ...)
    VP_PRINTF(3, 4);

static void
say(struct rs *s, const char *art, const char *fmt, ...)
{
	va_list	 ap;
	char	*m = NULL;

	if (s->o->progress == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	s->o->progress(s->o->arg, art, m ? m : fmt);
	free(m);
}

/* The newest set under bdir that has a manifest (allocated), or NULL. */
static char *
newest_set(const char *bdir)
{
	DIR		*d;
	struct dirent	*e;
	char		*best = NULL, *p, *m;

	if ((d = opendir(bdir)) == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		if (backup_parse_stamp(e->d_name) < 0 ||
		    strstr(e->d_name, ".partial") != NULL ||
		    strstr(e->d_name, "pre-restore") != NULL)
			continue;
		if (best != NULL && strcmp(e->d_name, best) <= 0)
			continue;
		if ((p = vp_path_join(bdir, e->d_name)) == NULL)
			break;
		m = vp_path_join(p, "manifest.json");
		if (m != NULL && vp_file_exists(m)) {
			free(best);
			best = strdup(e->d_name);
		}
		free(m);
		free(p);
	}
	closedir(d);
	if (best == NULL)
		return NULL;
	p = vp_path_join(bdir, best);
	free(best);
	return p;
}

/* Restore a restic snapshot under bdir; s->set is the set inside. */
static int
from_restic(struct rs *s, char **cause)
{
	const struct restore_opts *o = s->o;
	struct vp_buf	 out = VP_BUF_INIT(16 << 20);
	const char	*pw, *const *env, *path, *ro[2];
	struct vp_argv	 ev = VP_ARGV_INIT;
	char		*pwf = NULL, *tgt = NULL;
	json_t		*j = NULL;
	int		 fd = -1, r;

	if (o->restic_repo == NULL)
		return vp_fail(cause, VP_ERR_NOTFOUND, "'%s' is not a backup "
		    "directory, and no restic repository is set (--restic)",
		    o->from);
	if ((pw = bk_secret(o->secrets, "restic_password")) == NULL)
		return vp_fail(cause, VP_ERR_NOTFOUND, "secret "
		    "'restic_password' missing");
	if (asprintf(&pwf, "%s/.restic-pw-XXXXXX", s->bdir) < 0)
		pwf = NULL;
	if (pwf == NULL || asprintf(&tgt, "%s/restic-restore-%lld", s->bdir,
	    (long long)time(NULL)) < 0) {
		tgt = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	s->tgt = tgt;		/* owned by s from now on: removed at the end */
	/* a new host: nothing has made the backups directory yet */
	if ((r = vp_mkdir_p(s->bdir, 0700, cause)) != 0)
		goto out;
	if ((fd = mkstemp(pwf)) < 0 || vp_write_all(fd, pw, strlen(pw)) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "'%s': %s", pwf,
		    strerror(errno));
		goto out;
	}
	if ((r = bk_restic_env(o->secrets, o->restic_repo, pwf, &ev)) != 0)
		goto out;
	env = (const char *const *)ev.v;
	ro[0] = o->restic_option ? "-o" : NULL;	/* NULL: no -o */
	ro[1] = o->restic_option;
	if ((r = bk_exec(&out, env, 120000, cause, "restic", "snapshots",
	    "--json", o->from, ro[0], ro[1], NULL)) != 0)
		goto out;
	if ((j = json_loadb(out.buf, out.len, 0, NULL)) == NULL ||
	    (path = json_string_value(json_array_get(json_object_get(
	    json_array_get(j, json_array_size(j) - 1), "paths"), 0))) ==
	    NULL) {
		r = vp_fail(cause, VP_ERR_NOTFOUND, "restic snapshot '%s' not "
		    "found in '%s'", o->from, o->restic_repo);
		goto out;
	}
	say(s, "restic", "restoring snapshot %s (%s) into %s", o->from, path,
	    tgt);
	if ((r = bk_exec(NULL, env, 0, cause, "restic", "restore", o->from,
	    "--target", tgt, ro[0], ro[1], NULL)) != 0)
		goto out;
	if (asprintf(&s->set, "%s%s", tgt, path) < 0) {
		s->set = NULL;
		r = VP_ERR_NOMEM;
	}

 out:
	if (fd >= 0)
		close(fd);
	if (pwf != NULL && fd >= 0)
		unlink(pwf);
	json_decref(j);
	vp_buf_release(&out);
	free(pwf);
	bk_env_wipe(&ev);
	return r;
}

static const char *
users_of(const char *art)
{
	if (strcmp(art, "pg:n8n") == 0 || strncmp(art, "n8n:", 4) == 0)
		return "n8n";
	if (strcmp(art, "pg:litellm") == 0)
		return "litellm";
	if (strcmp(art, "pg:openclaw") == 0)
		return "openclaw";
	if (strcmp(art, "redis") == 0)
		return "redis";
	return NULL;
}

static int
stop_svc(struct rs *s, const char *svc, char **cause)
{
	const struct deploy_ctr	*c = deploy_ctrs_find(&s->cs, svc);
	size_t			 i;
	int			 r;

	if (c == NULL || strcmp(c->state, "running") != 0)
		return VP_OK;
	for (i = 0; i < s->stopped.n; i++)
		if (strcmp(s->stopped.v[i], c->id) == 0)
			return VP_OK;
	say(s, svc, "stopping %s", c->name);
	if ((r = bk_exec(NULL, NULL, 120000, cause, "docker", "stop", c->id,
	    NULL)) != 0)
		return r;
	return vp_argv_push(&s->stopped, c->id);
}

/* Start what was stopped and wait until every one is healthy. */
static int
start_gate(struct rs *s, char **cause)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	double			 t0 = bk_now();
	size_t			 i, ready;
	int			 r = VP_OK, v;

	for (i = 0; i < s->stopped.n; i++)
		if ((r = bk_exec(NULL, NULL, 120000, cause, "docker", "start",
		    s->stopped.v[i], NULL)) != 0)
			return r;
	while (s->stopped.n > 0) {
		deploy_ctrs_release(&cs);
		if ((r = deploy_inspect(s->stopped.v, s->stopped.n, &cs,
		    cause)) != 0)
			goto out;
		for (i = ready = 0; i < cs.n; i++) {
			v = deploy_gate(&cs.v[i], cs.v[i].restarts);
			if (v < 0) {
				r = vp_fail(cause, VP_ERR_HEALTH, "service "
				    "'%s' is %s after the restore",
				    cs.v[i].service, cs.v[i].health[0] ?
				    cs.v[i].health : cs.v[i].state);
				goto out;
			}
			ready += v;
		}
		if (ready == s->stopped.n)
			break;
		if (bk_now() - t0 > 300) {
			r = vp_fail(cause, VP_ERR_HEALTH, "services not "
			    "healthy 300 s after the restore");
			goto out;
		}
		usleep(500000);
	}
	for (i = 0; i < cs.n; i++)
		say(s, cs.v[i].service, "%s/%s", cs.v[i].state,
		    cs.v[i].health[0] ? cs.v[i].health : "-");
 out:
	deploy_ctrs_release(&cs);
	return r;
}

static char *
art_path(struct rs *s, size_t i)
{
	return vp_path_join(s->set, json_string_value(json_object_get(
	    s->ent[i], "file")));
}

static int
restore_pg(struct rs *s, size_t i, const char *db, char **cause)
{
	const struct deploy_ctr	*c;
	json_t		*rows = NULL;
	char		*src = NULL, *dst = NULL, *sql = NULL, *d = NULL;
	const char	*tmp = "/tmp/vpai-restore.dump";
	int		 r;

	if ((c = bk_ctr(&s->cs, "postgresql", cause)) == NULL)
		return VP_ERR_NOTFOUND;
	if ((src = art_path(s, i)) == NULL ||
	    asprintf(&dst, "%s:%s", c->id, tmp) < 0 ||
	    asprintf(&sql, "drop database if exists %s with (force)", db) < 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_exec(NULL, NULL, 0, cause, "docker", "cp", src, dst,
	    NULL)) != 0 ||
	    (r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id,
	    "psql", "-U", "postgres", "-XAtq", "-c", sql, NULL)) != 0 ||
	    (r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id,
	    "createdb", "-U", "postgres", "-O", db, db, NULL)) != 0 ||
	    (r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id,
	    "pg_restore", "-U", "postgres", "--exit-on-error", "-d", db, tmp,
	    NULL)) != 0)
		goto out;
	if ((r = bk_pg_rows(c->id, db, &rows, cause)) != 0)
		goto out;
	if ((d = bk_rows_diff(json_object_get(s->ent[i], "rows"), rows)) ==
	    NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (*d != '\0') {
		r = vp_fail(cause, VP_ERR_INVALID, "after pg_restore: %s", d);
		goto out;
	}
	say(s, "pg", "database %s restored: %zu tables, row "
	    "counts match the manifest", db, json_object_size(rows));
 out:
	bk_exec(NULL, NULL, 0, NULL, "docker", "exec", c->id, "rm", "-f", tmp,
	    NULL);
	json_decref(rows);
	free(src);
	free(dst);
	free(sql);
	free(d);
	return r;
}

static int
restore_redis(struct rs *s, size_t i, char **cause)
{
	char	*src = NULL, *ddir = NULL, *dst = NULL, *ref = NULL;
	int	 r;

	/* redis was stopped (its shutdown SAVE is behind us). */
	if ((src = art_path(s, i)) == NULL ||
	    (ddir = vp_path_join(s->o->stack_root, "data/redis")) == NULL ||
	    (dst = vp_path_join(ddir, "dump.rdb")) == NULL ||
	    asprintf(&ref, "--reference=%s", ddir) < 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_exec(NULL, NULL, 0, cause, "cp", "--", src, dst,
	    NULL)) != 0 ||
	    (r = bk_exec(NULL, NULL, 0, cause, "chown", ref, dst, NULL)) != 0)
		goto out;
	chmod(dst, 0600);
	say(s, "redis", "dump.rdb put back in %s", ddir);
 out:
	free(src);
	free(ddir);
	free(dst);
	free(ref);
	return r;
}

static int
restore_n8n(struct rs *s, size_t i, const char *kind, char **cause)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	const struct deploy_ctr	*c = NULL;
	char	*src = NULL, *dst = NULL, *in = NULL, *cmd = NULL;
	const char	*tmp = "/tmp/vpai-restore-n8n.json";
	int	 r;

	/* The import runs in the (restarted, healthy) n8n container. */
	if ((r = deploy_list(s->o->project, &cs, cause)) != 0)
		goto out;
	if ((c = bk_ctr(&cs, "n8n", cause)) == NULL) {
		r = VP_ERR_NOTFOUND;
		goto out;
	}
	if ((src = art_path(s, i)) == NULL ||
	    asprintf(&dst, "%s:%s", c->id, tmp) < 0 ||
	    asprintf(&in, "--input=%s", tmp) < 0 ||
	    asprintf(&cmd, "import:%s", kind) < 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_exec(NULL, NULL, 0, cause, "docker", "cp", src, dst,
	    NULL)) != 0 ||
	    (r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", "-u", "0",
	    c->id, "chmod", "0644", tmp, NULL)) != 0 ||
	    (r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id, "n8n",
	    cmd, in, NULL)) != 0)
		goto out;
	say(s, "n8n", "%s imported", kind);
 out:
	if (dst != NULL && c != NULL)
		bk_exec(NULL, NULL, 0, NULL, "docker", "exec", "-u", "0",
		    c->id, "rm", "-f", tmp, NULL);
	deploy_ctrs_release(&cs);
	free(src);
	free(dst);
	free(in);
	free(cmd);
	return r;
}

/*
 * Qdrant: every collection snapshot of the set uploaded through
 * POST /collections/{name}/snapshots/upload (the collection is replaced
 * by the snapshot's), then its point count compared with the manifest's.
 * Collections that are not in the set are left as they are.
 */
static int
restore_qdrant(struct rs *s, size_t i, char **cause)
{
	const struct deploy_ctr	*c;
	const json_t	*want = json_object_get(s->ent[i], "rows");
	const char	*key, *coll;
	json_t		*v;
	char		*src = NULL, *d = NULL, *hdr = NULL, *base = NULL;
	char		*f = NULL;
	long long	 got;
	int		 r;

	if ((key = bk_secret(s->o->secrets, "qdrant_api_key")) == NULL)
		return vp_fail(cause, VP_ERR_NOTFOUND, "secret "
		    "'qdrant_api_key' missing");
	if ((c = bk_ctr(&s->cs, "qdrant", cause)) == NULL)
		return VP_ERR_NOTFOUND;
	if ((src = art_path(s, i)) == NULL ||
	    asprintf(&d, "%s/.qdrant-restore-%ld", s->bdir, (long)getpid()) <
	    0 || asprintf(&hdr, "api-key: %s", key) < 0 ||
	    asprintf(&base, "http://%s:6333", c->ip) < 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_mkdir_p(d, 0700, cause)) != 0 ||
	    (r = bk_exec(NULL, NULL, 0, cause, "tar", "-xf", src, "-C", d,
	    NULL)) != 0)
		goto out;
	json_object_foreach((json_t *)want, coll, v) {
		if (!bk_qdrant_name_ok(coll)) {
			r = vp_fail(cause, VP_ERR_INVALID, "qdrant: bad "
			    "collection name in the manifest");
			goto out;
		}
		free(f);
		if (asprintf(&f, "%s/%s.snapshot", d, coll) < 0) {
			f = NULL;
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (!vp_file_exists(f)) {
			r = vp_fail(cause, VP_ERR_NOTFOUND, "qdrant: no "
			    "snapshot of collection '%s' in the set", coll);
			goto out;
		}
		if ((r = bk_qdrant_upload(base, hdr, coll, f, cause)) != 0 ||
		    (r = bk_qdrant_points(base, hdr, coll, &got, cause)) != 0)
			goto out;
		if (got != json_integer_value(v)) {
			r = vp_fail(cause, VP_ERR_INVALID, "qdrant: collection "
			    "'%s' has %lld points after the restore, the "
			    "manifest says %lld", coll, got,
			    (long long)json_integer_value(v));
			goto out;
		}
		say(s, "qdrant", "collection %s restored: %lld points, as "
		    "in the manifest", coll, got);
	}
 out:
	if (d != NULL)
		bk_exec(NULL, NULL, 0, NULL, "rm", "-rf", "--", d, NULL);
	if (hdr != NULL)
		explicit_bzero(hdr, strlen(hdr));
	free(src);
	free(d);
	free(hdr);
	free(base);
	free(f);
	return r;
}

/*
 * Grafana: every dashboard of the set that was not provisioned from a
 * file (those come back with the configs) is imported through
 * POST /api/dashboards/db {dashboard, folderUid, overwrite: true}, then
 * read back by uid.
 */
static int
restore_grafana(struct rs *s, size_t i, char **cause)
{
	const struct deploy_ctr	*c;
	struct vp_buf	 mb = VP_BUF_INIT(64 << 20), out = VP_BUF_INIT(1 << 20);
	json_t		*all = NULL, *d, *dash = NULL, *req = NULL, *meta;
	const char	*pw, *uid, *fuid;
	char		*src = NULL, *up = NULL, *url = NULL;
	int		 r, n = 0, np = 0;

	if ((pw = bk_secret(s->o->secrets, "grafana_admin_password")) == NULL)
		return vp_fail(cause, VP_ERR_NOTFOUND, "secret "
		    "'grafana_admin_password' missing");
	if ((c = bk_ctr(&s->cs, "grafana", cause)) == NULL)
		return VP_ERR_NOTFOUND;
	if ((src = art_path(s, i)) == NULL || asprintf(&up, "admin:%s", pw) <
	    0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_file_read(src, &mb, cause)) != 0)
		goto out;
	if ((all = json_loadb(mb.buf, mb.len, 0, NULL)) == NULL ||
	    !json_is_object(all)) {
		r = vp_fail(cause, VP_ERR_PARSE, "'%s': not a JSON object",
		    src);
		goto out;
	}
	json_object_foreach(all, uid, d) {
		meta = json_object_get(d, "meta");
		if (json_is_true(json_object_get(meta, "provisioned"))) {
			np++;
			continue;
		}
		json_decref(dash);
		json_decref(req);
		req = NULL;
		if ((dash = json_deep_copy(json_object_get(d,
		    "dashboard"))) == NULL || !json_is_object(dash)) {
			r = vp_fail(cause, VP_ERR_PARSE, "grafana: dashboard "
			    "'%s' has no 'dashboard' document", uid);
			goto out;
		}
		/* A new id on this instance; the uid identifies it. */
		json_object_set_new(dash, "id", json_null());
		fuid = json_string_value(json_object_get(meta, "folderUid"));
		if ((req = json_pack("{s:O, s:b, s:s}", "dashboard", dash,
		    "overwrite", 1, "message", "vpai restore")) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (fuid != NULL && *fuid != '\0')
			json_object_set_new(req, "folderUid",
			    json_string(fuid));
		free(url);
		if (asprintf(&url, "http://%s:3000/api/dashboards/db",
		    c->ip) < 0) {
			url = NULL;
			r = VP_ERR_NOMEM;
			goto out;
		}
		vp_buf_reset(&out);
		if ((r = bk_http_send("POST", url, NULL, up, req, NULL, NULL,
		    &out, cause)) != 0) {
			vp_fail_prefix(cause, r, "grafana: dashboard '%s'",
			    uid);
			goto out;
		}
		free(url);
		if (asprintf(&url, "http://%s:3000/api/dashboards/uid/%s",
		    c->ip, uid) < 0) {
			url = NULL;
			r = VP_ERR_NOMEM;
			goto out;
		}
		vp_buf_reset(&out);
		if ((r = bk_http("GET", url, NULL, up, NULL, &out,
		    cause)) != 0) {
			vp_fail_prefix(cause, r, "grafana: dashboard '%s' "
			    "not found after its import", uid);
			goto out;
		}
		n++;
	}
	say(s, "grafana", "%d dashboards imported and read back by uid%s", n,
	    np > 0 ? "; the provisioned ones come from the configs" : "");
 out:
	if (up != NULL)
		explicit_bzero(up, strlen(up));
	vp_buf_release_secure(&mb);
	vp_buf_release(&out);
	json_decref(all);
	json_decref(dash);
	json_decref(req);
	free(src);
	free(up);
	free(url);
	return r;
}

static int
restore_configs(struct rs *s, size_t i, char **cause)
{
	char	*src;
	int	 r;

	if ((src = art_path(s, i)) == NULL)
		return VP_ERR_NOMEM;
	r = bk_exec(NULL, NULL, 0, cause, "tar", "-xzf", src, "-C",
	    s->o->stack_root, NULL);
	free(src);
	if (r == 0)
		say(s, "configs", "configs/ and docker-compose.yml put back; "
		    "`vpai apply` restarts what reads them");
	return r;
}

static int
build_plan(struct rs *s, struct vp_buf *plan, int explicit, char **cause)
{
	json_t		*a = json_object_get(s->manifest, "artifacts"), *o;
	const char	*n, *u;
	size_t		 i, j, nsel = 0;

	vp_buf_addf(plan, "restore from %s (taken %s):\n", s->set,
	    json_string_value(json_object_get(s->manifest, "stamp")));
	for (i = 0; i < BACKUP_NARTIFACTS; i++) {
		if (!s->sel[i])
			continue;
		n = backup_artifact_name(i);
		json_array_foreach(a, j, o)
			if (strcmp(json_string_value(json_object_get(o,
			    "name")) ? json_string_value(json_object_get(o,
			    "name")) : "", n) == 0 &&
			    json_is_true(json_object_get(o, "ok")))
				s->ent[i] = o;
		if (strcmp(n, "qdrant") == 0 && s->ent[i] != NULL &&
		    json_object_get(s->ent[i], "rows") == NULL) {
			/* A set made before per-collection snapshots. */
			if (explicit)
				return vp_fail(cause, VP_ERR_REFUSED,
				    "'%s': its qdrant artifact is a full "
				    "snapshot, which Qdrant recovers only at "
				    "start-up (--snapshot); see "
				    "docs/BACKUP.md", s->set);
			s->sel[i] = 0;
			continue;
		}
		if (s->ent[i] == NULL) {
			if (explicit)
				return vp_fail(cause, VP_ERR_NOTFOUND,
				    "'%s': no verified '%s' artifact in this "
				    "set", s->set, n);
			s->sel[i] = 0;
			continue;
		}
		u = users_of(n);
		vp_buf_addf(plan, "  %-16s %s replaced by %s (%lld bytes)%s%s"
		    "\n", n, strncmp(n, "pg:", 3) == 0 ? "database" :
		    strcmp(n, "redis") == 0 ? "every Redis key" :
		    strcmp(n, "configs") == 0 ? "configs/ + compose file" :
		    strcmp(n, "qdrant") == 0 ? "the collections of the set" :
		    strcmp(n, "grafana") == 0 ? "dashboards with the same uids" :
		    "n8n entries with the same ids",
		    json_string_value(json_object_get(s->ent[i], "file")),
		    (long long)json_integer_value(json_object_get(s->ent[i],
		    "size")), u ? "; stops " : "", u ? u : "");
		nsel++;
	}
	if (nsel == 0)
		return vp_fail(cause, VP_ERR_NOTFOUND, "'%s': nothing to "
		    "restore", s->set);
	return VP_OK;
}

int
restore_run(const struct restore_opts *o, char **safety_dir, char **cause)
{
	struct rs		 s;
	struct backup_opts	 bo = BACKUP_OPTS_INIT;
	struct backup_report	 rep = BACKUP_REPORT_INIT;
	struct vp_buf		 plan = VP_BUF_INIT(1 << 20);
	struct vp_buf		 mb = VP_BUF_INIT(64 << 20);
	struct vp_argv		 names = VP_ARGV_INIT;
	char			*mf = NULL, *acause = NULL;
	const char		*n, *u;
	size_t			 i;
	int			 r, r2;
	struct stat		 st;

	memset(&s, 0, sizeof(s));
	s.o = o;
	*safety_dir = NULL;
	if ((r = backup_select(o->only, o->nonly, s.sel, cause)) != 0)
		return r;
	s.bdir = o->backup_dir ? strdup(o->backup_dir) :
	    vp_path_join(o->stack_root, "backups");
	if (s.bdir == NULL)
		return VP_ERR_NOMEM;
	if (o->from == NULL) {
		if ((s.set = newest_set(s.bdir)) == NULL) {
			r = vp_fail(cause, VP_ERR_NOTFOUND, "'%s': no backup "
			    "set with a manifest", s.bdir);
			goto out;
		}
	} else if (stat(o->from, &st) == 0 && S_ISDIR(st.st_mode)) {
		if ((s.set = strdup(o->from)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
	} else if ((r = from_restic(&s, cause)) != 0)
		goto out;
	if ((mf = vp_path_join(s.set, "manifest.json")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_file_read(mf, &mb, cause)) != 0)
		goto out;
	if ((s.manifest = json_loadb(mb.buf, mb.len, 0, NULL)) == NULL) {
		r = vp_fail(cause, VP_ERR_PARSE, "'%s': not JSON", mf);
		goto out;
	}
	if ((r = backup_manifest_check(s.set, s.manifest, cause)) != 0 ||
	    (r = build_plan(&s, &plan, o->nonly > 0, cause)) != 0)
		goto out;
	if (o->confirm != NULL && !o->confirm(o->arg, plan.buf)) {
		r = vp_fail(cause, VP_ERR_REFUSED, "not confirmed: nothing "
		    "was changed");
		goto out;
	}
	/* Safety backup of the current state of the same artifacts. */
	for (i = 0; i < BACKUP_NARTIFACTS; i++)
		if (s.sel[i] && (r = vp_argv_push(&names,
		    backup_artifact_name(i))) != 0)
			goto out;
	bo.project = o->project;
	bo.stack_root = o->stack_root;
	bo.backup_dir = s.bdir;
	bo.secrets = o->secrets;
	bo.only = names.v;
	bo.nonly = names.n;
	bo.no_state = 1;
	bo.label = "pre-restore";
	bo.hot_days = 3650;
	bo.progress = o->progress;
	bo.arg = o->arg;
	if ((r = backup_run(&bo, &rep, cause)) != 0) {
		vp_fail_prefix(cause, r, "safety backup (nothing was changed)");
		goto out;
	}
	if ((*safety_dir = strdup(rep.dir)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	/*
	 * A source that does not exist (its database or container is gone,
	 * as after a host loss or a restore that failed midway) has no
	 * current state to save; any other failure stops here.
	 */
	for (i = 0; i < rep.n; i++) {
		if (rep.v[i].ok)
			continue;
		if (rep.v[i].absent) {
			say(&s, rep.v[i].name, "nothing to save: %s",
			    rep.v[i].error ? rep.v[i].error : "absent");
			continue;
		}
		r = vp_fail(cause, VP_ERR_REFUSED, "safety backup of '%s' "
		    "failed (%s): nothing was changed", rep.v[i].name,
		    rep.v[i].error ? rep.v[i].error : "?");
		goto out;
	}
	/* Stop the users of the data. */
	if ((r = deploy_list(o->project, &s.cs, cause)) != 0)
		goto out;
	for (i = 0; i < BACKUP_NARTIFACTS; i++)
		if (s.sel[i] && (u = users_of(backup_artifact_name(i))) !=
		    NULL && (r = stop_svc(&s, u, &acause)) != 0)
			goto fail;
	for (i = 0; i < BACKUP_NARTIFACTS; i++) {
		n = backup_artifact_name(i);
		if (!s.sel[i] || strncmp(n, "n8n:", 4) == 0 ||
		    strcmp(n, "qdrant") == 0 || strcmp(n, "grafana") == 0)
			continue;
		say(&s, n, "restoring");
		if (strncmp(n, "pg:", 3) == 0)
			r = restore_pg(&s, i, n + 3, &acause);
		else if (strcmp(n, "redis") == 0)
			r = restore_redis(&s, i, &acause);
		else
			r = restore_configs(&s, i, &acause);
		if (r != 0)
			goto fail;
	}
	if ((r = start_gate(&s, &acause)) != 0) {
		n = "start";
		goto fail;
	}
	for (i = 0; i < BACKUP_NARTIFACTS; i++) {
		n = backup_artifact_name(i);
		if (!s.sel[i] || (strncmp(n, "n8n:", 4) != 0 &&
		    strcmp(n, "qdrant") != 0 && strcmp(n, "grafana") != 0))
			continue;
		say(&s, n, "restoring");
		if (strcmp(n, "qdrant") == 0)
			r = restore_qdrant(&s, i, &acause);
		else if (strcmp(n, "grafana") == 0)
			r = restore_grafana(&s, i, &acause);
		else
			r = restore_n8n(&s, i, n + 4, &acause);
		if (r != 0)
			goto fail;
	}
	goto out;
 fail:
	/* Leave the services running again, then say how to go back. */
	if (s.stopped.n > 0) {
		r2 = start_gate(&s, NULL);
		(void)r2;
	}
	r = vp_fail(cause, r, "restore failed midway (%s); the state before "
	    "the restore is saved in '%s': `vpai restore --from %s --yes` "
	    "puts it back", acause ? acause : vp_strerror(r), *safety_dir,
	    *safety_dir);
 out:
	free(acause);
	backup_report_release(&rep);
	vp_argv_release(&names);
	vp_argv_release(&s.stopped);
	deploy_ctrs_release(&s.cs);
	json_decref(s.manifest);
	vp_buf_release(&plan);
	vp_buf_release(&mb);
	free(mf);
	/* The copy restored from restic is not kept (the safety set is). */
	if (s.tgt != NULL)
		bk_exec(NULL, NULL, 0, NULL, "rm", "-rf", "--", s.tgt, NULL);
	free(s.tgt);
	free(s.set);
	free(s.bdir);
	return r;
}
