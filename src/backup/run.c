/*
 * run.c: `vpai backup`: produce, verify and record every artifact on its
 * own, then the off-site restic copy, hot retention and the heartbeat.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backup/backup-int.h"
#include "core/child.h"
#include "core/curl.h"
#include "core/file.h"

double
bk_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wipe and free the "K=V" strings of an environment vector. */
static void
env_wipe(struct vp_argv *env)
{
	size_t	i;

	for (i = 0; i < env->n; i++)
		if (env->v[i] != NULL)
			explicit_bzero(env->v[i], strlen(env->v[i]));
	vp_argv_release(env);
}

int
bk_exec(struct vp_buf *out, const char *const *env, int timeout_ms,
    char **cause, const char *arg0, ...)
{
	struct vp_child	 c = VP_CHILD_INIT;
	va_list		 ap;
	const char	*a;
	char		*nl;
	int		 r;

	va_start(ap, arg0);
	for (a = arg0; a != NULL; a = va_arg(ap, const char *))
		if ((r = vp_argv_push(&c.args, a)) != 0) {
			va_end(ap);
			goto out;
		}
	va_end(ap);
	for (; env != NULL && *env != NULL; env++)
		if ((r = vp_argv_push(&c.env, *env)) != 0)
			goto out;
	c.timeout_ms = timeout_ms > 0 ? timeout_ms : 600000;
	if ((r = vp_child_run(&c, cause)) < 0)
		goto out;
	if (r != 0) {
		while (c.err.len > 0 && (c.err.buf[c.err.len - 1] == '\n' ||
		    c.err.buf[c.err.len - 1] == ' '))
			c.err.buf[--c.err.len] = '\0';
		nl = strrchr(c.err.buf, '\n');
		r = vp_fail(cause, VP_ERR_CHILD, "'%s %s' exited %d%s%s",
		    arg0, c.args.n > 1 ? c.args.v[1] : "", r,
		    c.err.len ? ": " : "", nl ? nl + 1 : c.err.buf);
		goto out;
	}
	if (out != NULL)
		r = vp_buf_add(out, c.out.buf, c.out.len);
 out:
	env_wipe(&c.env);
	vp_child_release(&c);
	return r;
}

/* First line of a command's output, or "" (allocated). */
static char *
first_line(const char *s)
{
	size_t	n = strcspn(s, "\n");

	return strndup(s, n);
}

static void
tool(struct bk *b, const char *name, const char *ctr, const char *prog,
    const char *arg)
{
	struct vp_buf	 out = VP_BUF_INIT(1 << 16);
	char		*cause = NULL, *l;
	int		 r;

	if (json_object_get(b->tools, name) != NULL)
		return;
	if (ctr != NULL)
		r = bk_exec(&out, NULL, 60000, &cause, "docker", "exec", ctr,
		    prog, arg, NULL);
	else
		r = bk_exec(&out, NULL, 60000, &cause, prog, arg, NULL);
	if (r == 0 && (l = first_line(out.buf)) != NULL) {
		json_object_set_new(b->tools, name, json_string(l));
		free(l);
	}
	free(cause);
	vp_buf_release(&out);
}

void
bk_progress(struct bk *b, const char *art, const char *fmt, ...)
{
	va_list	 ap;
	char	*m = NULL;

	if (b->o->progress == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	b->o->progress(b->o->arg, art, m ? m : fmt);
	free(m);
}

const char *
bk_secret(const json_t *secrets, const char *name)
{
	const char	*s = json_string_value(json_object_get(secrets, name));

	return s != NULL && *s != '\0' ? s : NULL;
}

/* The running container of a service, or NULL with the cause. */
const struct deploy_ctr *
bk_ctr(const struct deploy_ctrs *cs, const char *svc, char **cause)
{
	const struct deploy_ctr	*c = deploy_ctrs_find(cs, svc);

	if (c == NULL) {
		vp_fail(cause, VP_ERR_NOTFOUND, "service '%s' has no "
		    "container", svc);
		return NULL;
	}
	if (strcmp(c->state, "running") != 0) {
		vp_fail(cause, VP_ERR_NOTFOUND, "service '%s' is not "
		    "running (%s)", svc, c->state);
		return NULL;
	}
	return c;
}

/* Exact row count of every table of db, "schema.table|count" lines. */
int
bk_pg_rows(const char *ctr, const char *db, json_t **rows, char **cause)
{
	static const char sql[] =
	    "select n.nspname || '.' || c.relname, (xpath('/row/c/text()', "
	    "query_to_xml(format('select count(*) as c from %I.%I', "
	    "n.nspname, c.relname), false, true, '')))[1]::text "
	    "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
	    "where c.relkind in ('r', 'p') and n.nspname not in "
	    "('pg_catalog', 'information_schema') "
	    "and n.nspname not like 'pg_toast%' order by 1";
	struct vp_buf	 out = VP_BUF_INIT(16 << 20);
	char		*p, *q, *bar;
	int		 r;

	*rows = NULL;
	if ((r = bk_exec(&out, NULL, 600000, cause, "docker", "exec", ctr,
	    "psql", "-U", "postgres", "-d", db, "-XAtq", "-F", "|", "-c", sql,
	    NULL)) != 0)
		goto out;
	if ((*rows = json_object()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	for (p = out.buf; *p != '\0'; p = q) {
		q = p + strcspn(p, "\n");
		if (*q == '\n')
			*q++ = '\0';
		if ((bar = strchr(p, '|')) == NULL)
			continue;
		*bar = '\0';
		json_object_set_new(*rows, p, json_integer(strtoll(bar + 1,
		    NULL, 10)));
	}
 out:
	vp_buf_release(&out);
	return r;
}

/* "" when equal, else the first difference (allocated). */
char *
bk_rows_diff(const json_t *a, const json_t *b)
{
	const char	*k;
	json_t		*v, *w;
	char		*s = NULL;

	json_object_foreach((json_t *)a, k, v) {
		w = json_object_get(b, k);
		if (w == NULL || json_integer_value(w) !=
		    json_integer_value(v)) {
			if (asprintf(&s, "table %s: %lld rows in the source, "
			    "%lld restored", k, (long long)json_integer_value(v),
			    w ? (long long)json_integer_value(w) : -1LL) < 0)
				s = NULL;
			return s;
		}
	}
	json_object_foreach((json_t *)b, k, v) {
		if (json_object_get(a, k) == NULL) {
			if (asprintf(&s, "table %s: restored but not in the "
			    "source", k) < 0)
				s = NULL;
			return s;
		}
	}
	return strdup("");
}

static long long
rows_total(const json_t *rows)
{
	const char	*k;
	json_t		*v;
	long long	 n = 0;

	json_object_foreach((json_t *)rows, k, v)
		n += json_integer_value(v);
	return n;
}

/* Finish an artifact file: checksum and size. */
static int
finish_file(struct bk *b, struct backup_art *a, const char *file,
    char **cause)
{
	char	*path;
	int	 r;

	if ((a->file = strdup(file)) == NULL ||
	    (path = vp_path_join(b->dir, file)) == NULL)
		return VP_ERR_NOMEM;
	r = backup_sha256_file(path, a->sha256, &a->size, cause);
	free(path);
	return r;
}

static int
art_pg(struct bk *b, struct backup_art *a, const char *db, char **cause)
{
	const struct deploy_ctr	*c;
	json_t		*before = NULL, *after = NULL, *restored = NULL;
	char		*tmp = NULL, *file = NULL, *dest = NULL, *vdb = NULL;
	char		*d1 = NULL, *d2 = NULL, *sql = NULL, *src = NULL;
	struct vp_buf	 ex = VP_BUF_INIT(4096);
	int		 r;

	if ((c = bk_ctr(&b->cs, "postgresql", cause)) == NULL)
		return VP_ERR_NOTFOUND;
	tool(b, "pg_dump", c->id, "pg_dump", "--version");
	if (asprintf(&tmp, "/tmp/vpai-backup-%s.dump", db) < 0 ||
	    asprintf(&file, "pg-%s.dump", db) < 0 ||
	    asprintf(&vdb, "vpai_verify_%s", db) < 0 ||
	    (dest = vp_path_join(b->dir, file)) == NULL ||
	    asprintf(&src, "%s:%s", c->id, tmp) < 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (asprintf(&sql, "select 1 from pg_database where datname = '%s'",
	    db) < 0) {
		sql = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_exec(&ex, NULL, 0, cause, "docker", "exec", c->id, "psql",
	    "-U", "postgres", "-XAtq", "-c", sql, NULL)) != 0)
		goto out;
	free(sql);
	sql = NULL;
	if (ex.buf[0] != '1') {
		r = vp_fail(cause, VP_ERR_NOTFOUND, "database '%s' does not "
		    "exist", db);
		goto out;
	}
	if ((r = bk_pg_rows(c->id, db, &before, cause)) != 0)
		goto out;
	if ((r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id,
	    "pg_dump", "-U", "postgres", "-Fc", "-f", tmp, db, NULL)) != 0)
		goto out;
	if ((r = bk_pg_rows(c->id, db, &after, cause)) != 0)
		goto out;
	if ((r = bk_exec(NULL, NULL, 0, cause, "docker", "cp", src, dest,
	    NULL)) != 0)
		goto out;
	if ((r = finish_file(b, a, file, cause)) != 0)
		goto out;
	/* Verify: restore into a throwaway database, compare row counts. */
	bk_progress(b, a->name, "verifying: pg_restore into %s", vdb);
	if (asprintf(&sql, "drop database if exists %s", vdb) < 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id, "psql",
	    "-U", "postgres", "-XAtq", "-c", sql, NULL)) != 0 ||
	    (r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id,
	    "createdb", "-U", "postgres", vdb, NULL)) != 0)
		goto out;
	r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id,
	    "pg_restore", "-U", "postgres", "--no-owner", "--no-privileges",
	    "--exit-on-error", "-d", vdb, tmp, NULL);
	if (r == 0)
		r = bk_pg_rows(c->id, vdb, &restored, cause);
	bk_exec(NULL, NULL, 0, NULL, "docker", "exec", c->id, "psql", "-U",
	    "postgres", "-XAtq", "-c", sql, NULL);
	if (r != 0) {
		vp_fail_prefix(cause, r, "verify: pg_restore into '%s'", vdb);
		goto out;
	}
	if ((d1 = bk_rows_diff(before, restored)) == NULL ||
	    (d2 = bk_rows_diff(after, restored)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (*d1 != '\0' && *d2 != '\0') {
		r = vp_fail(cause, VP_ERR_INVALID, "verify: %s", d2);
		goto out;
	}
	if (asprintf(&a->verified, "pg_restore into a scratch database: %zu "
	    "tables, %lld rows, counts match the source",
	    json_object_size(restored), rows_total(restored)) < 0)
		a->verified = NULL;
	a->rows = restored;
	restored = NULL;
 out:
	if (tmp != NULL)
		bk_exec(NULL, NULL, 0, NULL, "docker", "exec", c->id, "rm",
		    "-f", tmp, NULL);
	vp_buf_release(&ex);
	json_decref(before);
	json_decref(after);
	json_decref(restored);
	free(tmp);
	free(file);
	free(dest);
	free(vdb);
	free(d1);
	free(d2);
	free(sql);
	free(src);
	return r;
}

static int
redis_cli(const char *ctr, const char *pw, struct vp_buf *out, char **cause,
    const char *cmd)
{
	char		*env = NULL;
	const char	*envv[2];
	int		 r;

	if (asprintf(&env, "REDISCLI_AUTH=%s", pw) < 0)
		return VP_ERR_NOMEM;
	envv[0] = env;
	envv[1] = NULL;
	r = bk_exec(out, envv, 60000, cause, "docker", "exec", "-e",
	    "REDISCLI_AUTH", ctr, "redis-cli", "--no-auth-warning", cmd, NULL);
	explicit_bzero(env, strlen(env));
	free(env);
	return r;
}

static int
art_redis(struct bk *b, struct backup_art *a, char **cause)
{
	const struct deploy_ctr	*c;
	struct vp_buf	 o1 = VP_BUF_INIT(4096), o2 = VP_BUF_INIT(4096);
	struct vp_buf	 chk = VP_BUF_INIT(1 << 20);
	const char	*pw;
	char		*src = NULL, *dest = NULL;
	int		 r, i;

	if ((pw = bk_secret(b->o->secrets, "redis_password")) == NULL)
		return vp_fail(cause, VP_ERR_NOTFOUND, "secret "
		    "'redis_password' missing");
	if ((c = bk_ctr(&b->cs, "redis", cause)) == NULL)
		return VP_ERR_NOTFOUND;
	tool(b, "redis-server", c->id, "redis-server", "--version");
	tool(b, "redis-check-rdb", NULL, "redis-check-rdb", "--version");
	if ((r = redis_cli(c->id, pw, &o1, cause, "LASTSAVE")) != 0 ||
	    (r = redis_cli(c->id, pw, NULL, cause, "BGSAVE")) != 0)
		goto out;
	for (i = 0; i < 1200; i++) {
		usleep(100000);
		vp_buf_reset(&o2);
		if ((r = redis_cli(c->id, pw, &o2, cause, "LASTSAVE")) != 0)
			goto out;
		if (o2.len > 0 && strcmp(o1.buf, o2.buf) != 0)
			break;
	}
	if (i == 1200) {
		r = vp_fail(cause, VP_ERR_CHILD, "BGSAVE did not complete "
		    "within 120 s (LASTSAVE unchanged)");
		goto out;
	}
	if (asprintf(&src, "%s:/data/dump.rdb", c->id) < 0 ||
	    (dest = vp_path_join(b->dir, "redis.rdb")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_exec(NULL, NULL, 0, cause, "docker", "cp", src, dest,
	    NULL)) != 0 || (r = finish_file(b, a, "redis.rdb", cause)) != 0)
		goto out;
	if ((r = bk_exec(&chk, NULL, 0, cause, "redis-check-rdb", dest,
	    NULL)) != 0) {
		vp_fail_prefix(cause, r, "verify");
		goto out;
	}
	if (strstr(chk.buf, "RDB looks OK") == NULL) {
		r = vp_fail(cause, VP_ERR_INVALID, "verify: redis-check-rdb "
		    "did not say 'RDB looks OK'");
		goto out;
	}
	if ((a->verified = strdup("redis-check-rdb: RDB looks OK; BGSAVE "
	    "completed (LASTSAVE changed)")) == NULL)
		r = VP_ERR_NOMEM;
 out:
	vp_buf_release(&o1);
	vp_buf_release(&o2);
	vp_buf_release(&chk);
	free(src);
	free(dest);
	return r;
}

/* n8n export:workflow|credentials, count checked against its database. */
static int
art_n8n(struct bk *b, struct backup_art *a, const char *kind,
    char **cause)
{
	const struct deploy_ctr	*c, *pg;
	struct vp_buf	 cnt = VP_BUF_INIT(4096);
	json_error_t	 je;
	json_t		*doc = NULL;
	char		*tmp = NULL, *file = NULL, *dest = NULL, *src = NULL;
	char		*opt = NULL, *sql = NULL;
	long long	 dbn;
	int		 r;

	if ((c = bk_ctr(&b->cs, "n8n", cause)) == NULL)
		return VP_ERR_NOTFOUND;
	if ((pg = bk_ctr(&b->cs, "postgresql", cause)) == NULL)
		return vp_fail_prefix(cause, VP_ERR_NOTFOUND, "count check");
	tool(b, "n8n", c->id, "n8n", "--version");
	if (asprintf(&tmp, "/tmp/vpai-backup-%s.json", kind) < 0 ||
	    asprintf(&opt, "--output=%s", tmp) < 0 ||
	    asprintf(&file, "n8n-%s.json", kind) < 0 ||
	    (dest = vp_path_join(b->dir, file)) == NULL ||
	    asprintf(&src, "%s:%s", c->id, tmp) < 0 ||
	    asprintf(&sql, "select count(*) from %s_entity",
	    strcmp(kind, "workflow") == 0 ? "workflow" : "credentials") < 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_exec(&cnt, NULL, 0, cause, "docker", "exec", pg->id,
	    "psql", "-U", "postgres", "-d", "n8n", "-XAtq", "-c", sql,
	    NULL)) != 0)
		goto out;
	dbn = strtoll(cnt.buf, NULL, 10);
	bk_exec(NULL, NULL, 0, NULL, "docker", "exec", c->id, "rm", "-f", tmp,
	    NULL);
	/* Without --decrypted: credentials stay encrypted. */
	r = bk_exec(NULL, NULL, 0, cause, "docker", "exec", c->id, "n8n",
	    strcmp(kind, "workflow") == 0 ? "export:workflow" :
	    "export:credentials", "--all", opt, NULL);
	if (r == 0)
		r = bk_exec(NULL, NULL, 0, cause, "docker", "cp", src, dest,
		    NULL);
	if (r != 0 && dbn == 0) {
		/* n8n writes no file when there is nothing to export. */
		free(*cause);
		*cause = NULL;
		r = vp_file_write_atomic(dest, "[]\n", 3, 0600, (uid_t)-1,
		    (gid_t)-1, cause);
	}
	if (r != 0 || (r = finish_file(b, a, file, cause)) != 0)
		goto out;
	if ((doc = json_load_file(dest, 0, &je)) == NULL ||
	    !json_is_array(doc)) {
		r = vp_fail(cause, VP_ERR_PARSE, "verify: %s: %s", file,
		    doc == NULL ? je.text : "not a JSON array");
		goto out;
	}
	if ((long long)json_array_size(doc) != dbn) {
		r = vp_fail(cause, VP_ERR_INVALID, "verify: %zu %s exported, "
		    "%lld in the database", json_array_size(doc), kind, dbn);
		goto out;
	}
	if (asprintf(&a->verified, "JSON array of %zu, as many as in the "
	    "database%s", json_array_size(doc), strcmp(kind, "credentials")
	    == 0 ? " (still encrypted)" : "") < 0)
		a->verified = NULL;
 out:
	bk_exec(NULL, NULL, 0, NULL, "docker", "exec", c->id, "rm", "-f", tmp,
	    NULL);
	json_decref(doc);
	vp_buf_release(&cnt);
	free(tmp);
	free(file);
	free(dest);
	free(src);
	free(opt);
	free(sql);
	return r;
}

struct http {
	FILE		*f;
	struct vp_buf	*b;
};

static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	struct http	*h = arg;

	if (h->f != NULL)
		return fwrite(p, sz, n, h->f);
	if (h->b != NULL && vp_buf_add(h->b, p, sz * n) != 0)
		return 0;
	return sz * n;
}

/*
 * One HTTP request; the body goes to file (when not NULL) or out.  hdr
 * and userpwd carry secrets: they never reach a cause.
 */
int
bk_http(const char *method, const char *url, const char *hdr,
    const char *userpwd, const char *file, struct vp_buf *out, char **cause)
{
	CURL			*c = NULL;
	struct curl_slist	*h = NULL;
	struct http		 st = { NULL, out };
	CURLcode		 cr;
	long			 code = 0;
	int			 r = VP_OK;

	if (file != NULL && (st.f = fopen(file, "wb")) == NULL)
		return vp_fail(cause, VP_ERR_IO, "'%s': %s", file,
		    strerror(errno));
	if ((r = vp_curl_easy(&c, cause)) != VP_OK)
		goto out;
	if (hdr != NULL)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (userpwd != NULL)
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		r = vp_fail(cause, VP_ERR_REMOTE, "%s %s: %s", method,
		    strchr(url, '?') ? "request" : url, curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		r = vp_fail(cause, VP_ERR_REMOTE, "%s %s: HTTP %ld", method,
		    url, code);
 out:
	if (st.f != NULL && fclose(st.f) != 0 && r == 0)
		r = vp_fail(cause, VP_ERR_IO, "'%s': %s", file,
		    strerror(errno));
	curl_slist_free_all(h);
	if (c != NULL)
		curl_easy_cleanup(c);
	return r;
}

/*
 * An HTTP request with a body: a JSON document (json, Content-Type
 * application/json) or a multipart upload of file as form field field.
 * The answer goes to out.  hdr and userpwd carry secrets: they never
 * reach a cause.
 */
int
bk_http_send(const char *method, const char *url, const char *hdr,
    const char *userpwd, const json_t *json, const char *field,
    const char *file, struct vp_buf *out, char **cause)
{
	CURL			*c = NULL;
	struct curl_slist	*h = NULL;
	curl_mime		*mime = NULL;
	curl_mimepart		*part;
	struct http		 st = { NULL, out };
	CURLcode		 cr;
	char			*body = NULL;
	const char		*q;
	long			 code = 0;
	int			 r = VP_OK;

	if ((r = vp_curl_easy(&c, cause)) != VP_OK)
		return r;
	if (hdr != NULL)
		h = curl_slist_append(h, hdr);
	if (json != NULL) {
		if ((body = json_dumps(json, JSON_COMPACT)) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else if (file != NULL) {
		if ((mime = curl_mime_init(c)) == NULL ||
		    (part = curl_mime_addpart(mime)) == NULL ||
		    curl_mime_name(part, field) != CURLE_OK ||
		    curl_mime_filedata(part, file) != CURLE_OK) {
			r = vp_fail(cause, VP_ERR_IO, "'%s': cannot attach",
			    file);
			goto out;
		}
		curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (userpwd != NULL)
		curl_easy_setopt(c, CURLOPT_USERPWD, userpwd);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 300000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
	q = strchr(url, '?');
	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		r = vp_fail(cause, VP_ERR_REMOTE, "%s %.*s: %s", method,
		    q ? (int)(q - url) : (int)strlen(url), url,
		    curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		r = vp_fail(cause, VP_ERR_REMOTE, "%s %.*s: HTTP %ld%s%.200s",
		    method, q ? (int)(q - url) : (int)strlen(url), url, code,
		    out != NULL && out->len > 0 ? ": " : "",
		    out != NULL && out->len > 0 ? out->buf : "");
 out:
	curl_mime_free(mime);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(body);
	return r;
}

/* GET a Qdrant API path; *res: the "result" member (new reference). */
int
bk_qdrant_get(const char *base, const char *hdr, const char *path,
    json_t **res, char **cause)
{
	struct vp_buf	 out = VP_BUF_INIT(16 << 20);
	json_t		*doc = NULL;
	char		*url = NULL;
	int		 r;

	*res = NULL;
	if (asprintf(&url, "%s%s", base, path) < 0)
		return VP_ERR_NOMEM;
	if ((r = bk_http("GET", url, hdr, NULL, NULL, &out, cause)) != 0)
		goto out;
	if ((doc = json_loadb(out.buf, out.len, 0, NULL)) == NULL ||
	    (*res = json_incref(json_object_get(doc, "result"))) == NULL)
		r = vp_fail(cause, VP_ERR_PARSE, "GET %s: no 'result' in the "
		    "answer", path);
 out:
	json_decref(doc);
	vp_buf_release(&out);
	free(url);
	return r;
}

/*
 * The exact number of points of a collection (-1 when not known):
 * POST /collections/{coll}/points/count {"exact": true}; the collection
 * info's points_count is only approximate in Qdrant.
 */
int
bk_qdrant_points(const char *base, const char *hdr, const char *coll,
    long long *n, char **cause)
{
	struct vp_buf	 out = VP_BUF_INIT(1 << 20);
	json_t		*req = NULL, *doc = NULL, *v;
	char		*url = NULL;
	int		 r;

	*n = -1;
	if (asprintf(&url, "%s/collections/%s/points/count", base, coll) <
	    0) {
		url = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((req = json_pack("{s:b}", "exact", 1)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_http_send("POST", url, hdr, NULL, req, NULL, NULL, &out,
	    cause)) != 0)
		goto out;
	doc = json_loadb(out.buf, out.len, 0, NULL);
	v = json_object_get(json_object_get(doc, "result"), "count");
	if (!json_is_integer(v))
		r = vp_fail(cause, VP_ERR_PARSE, "collection '%s': no point "
		    "count in the answer", coll);
	else
		*n = json_integer_value(v);
 out:
	json_decref(req);
	json_decref(doc);
	vp_buf_release(&out);
	free(url);
	return r;
}

/*
 * Upload a collection snapshot file into collection coll (created or
 * replaced): POST /collections/{coll}/snapshots/upload, multipart field
 * "snapshot", as Qdrant's API.
 */
int
bk_qdrant_upload(const char *base, const char *hdr, const char *coll,
    const char *file, char **cause)
{
	struct vp_buf	 out = VP_BUF_INIT(1 << 20);
	char		*url = NULL;
	int		 r;

	if (asprintf(&url, "%s/collections/%s/snapshots/upload?wait=true&"
	    "priority=snapshot", base, coll) < 0)
		return VP_ERR_NOMEM;
	r = bk_http_send("POST", url, hdr, NULL, NULL, "snapshot", file,
	    &out, cause);
	vp_buf_release(&out);
	free(url);
	return r;
}

/* A collection name usable in a URL path and as a file name. */
int
bk_qdrant_name_ok(const char *n)
{
	size_t	i;

	if (n == NULL || *n == '\0' || *n == '.' || strlen(n) > 200)
		return 0;
	for (i = 0; n[i] != '\0'; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') ||
		    (n[i] >= 'A' && n[i] <= 'Z') ||
		    (n[i] >= '0' && n[i] <= '9') || strchr("_.-", n[i])))
			return 0;
	return 1;
}

/*
 * One collection: snapshot on the server, download into dir as
 * <coll>.snapshot, delete the server copy; *points: the count just
 * before.  Then the verification: the snapshot uploaded into the scratch
 * collection vpai_verify_<coll> must hold as many points (dropped after).
 */
static int
qdrant_one(const char *base, const char *hdr, const char *dir,
    const char *coll, long long *points, char **cause)
{
	struct vp_buf	 out = VP_BUF_INIT(1 << 20);
	json_t		*doc = NULL;
	const char	*name;
	char		*url = NULL, *dest = NULL, *scratch = NULL;
	long long	 got = -1;
	int		 r;

	if ((r = bk_qdrant_points(base, hdr, coll, points, cause)) != 0)
		return r;
	if (asprintf(&url, "%s/collections/%s/snapshots?wait=true", base,
	    coll) < 0 || asprintf(&scratch, "vpai_verify_%s", coll) < 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_http("POST", url, hdr, NULL, NULL, &out, cause)) != 0)
		goto out;
	if ((doc = json_loadb(out.buf, out.len, 0, NULL)) == NULL ||
	    (name = json_string_value(json_object_get(json_object_get(doc,
	    "result"), "name"))) == NULL || strchr(name, '/') != NULL) {
		r = vp_fail(cause, VP_ERR_PARSE, "collection '%s': no "
		    "snapshot name in the answer", coll);
		goto out;
	}
	free(url);
	if (asprintf(&url, "%s/collections/%s/snapshots/%s", base, coll,
	    name) < 0 || asprintf(&dest, "%s/%s.snapshot", dir, coll) < 0) {
		url = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_http("GET", url, hdr, NULL, dest, NULL, cause)) != 0)
		goto out;
	bk_http("DELETE", url, hdr, NULL, NULL, NULL, NULL);
	/* Verify: recover it into a scratch collection. */
	free(url);
	if (asprintf(&url, "%s/collections/%s", base, scratch) < 0) {
		url = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	bk_http("DELETE", url, hdr, NULL, NULL, NULL, NULL);
	if ((r = bk_qdrant_upload(base, hdr, scratch, dest, cause)) != 0) {
		vp_fail_prefix(cause, r, "verify: upload into a scratch "
		    "collection");
		goto out;
	}
	r = bk_qdrant_points(base, hdr, scratch, &got, cause);
	bk_http("DELETE", url, hdr, NULL, NULL, NULL, NULL);
	if (r != 0)
		goto out;
	if (got != *points)
		r = vp_fail(cause, VP_ERR_INVALID, "verify: collection '%s': "
		    "%lld points in the source, %lld after recovering the "
		    "snapshot", coll, *points, got);
 out:
	json_decref(doc);
	vp_buf_release(&out);
	free(url);
	free(dest);
	free(scratch);
	return r;
}

/*
 * Qdrant: one snapshot per collection (the form Qdrant can recover one
 * collection from, through its upload API), each verified by recovering
 * it into a scratch collection and comparing the point counts; the
 * snapshots are packed into qdrant.tar, the counts go into rows.
 */
static int
art_qdrant(struct bk *b, struct backup_art *a, char **cause)
{
	const struct deploy_ctr	*c;
	struct vp_buf	 lst = VP_BUF_INIT(1 << 20);
	json_t		*res = NULL, *it, *rows = NULL;
	const char	*key, *name;
	char		*hdr = NULL, *base = NULL, *d = NULL, *dest = NULL;
	long long	 n;
	size_t		 i;
	int		 r;

	if ((key = bk_secret(b->o->secrets, "qdrant_api_key")) == NULL)
		return vp_fail(cause, VP_ERR_NOTFOUND, "secret "
		    "'qdrant_api_key' missing");
	if ((c = bk_ctr(&b->cs, "qdrant", cause)) == NULL)
		return VP_ERR_NOTFOUND;
	if (asprintf(&hdr, "api-key: %s", key) < 0 ||
	    asprintf(&base, "http://%s:6333", c->ip) < 0 ||
	    (d = vp_path_join(b->dir, "qdrant.d")) == NULL ||
	    (dest = vp_path_join(b->dir, "qdrant.tar")) == NULL ||
	    (rows = json_object()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_mkdir_p(d, 0700, cause)) != 0)
		goto out;
	if ((r = bk_qdrant_get(base, hdr, "/collections", &res, cause)) != 0)
		goto out;
	json_array_foreach(json_object_get(res, "collections"), i, it) {
		name = json_string_value(json_object_get(it, "name"));
		if (!bk_qdrant_name_ok(name) ||
		    strncmp(name, "vpai_verify_", 12) == 0)
			continue;
		if ((r = qdrant_one(base, hdr, d, name, &n, cause)) != 0)
			goto out;
		json_object_set_new(rows, name, json_integer(n));
	}
	if ((r = bk_exec(NULL, NULL, 0, cause, "tar", "-cf", dest, "-C", d,
	    ".", NULL)) != 0 ||
	    (r = finish_file(b, a, "qdrant.tar", cause)) != 0)
		goto out;
	if ((r = bk_exec(&lst, NULL, 0, cause, "tar", "-tf", dest,
	    NULL)) != 0) {
		vp_fail_prefix(cause, r, "verify: not a tar archive");
		goto out;
	}
	if (asprintf(&a->verified, "%zu collections, %lld points: each "
	    "snapshot recovered into a scratch collection with the same "
	    "point count", json_object_size(rows), rows_total(rows)) < 0)
		a->verified = NULL;
	a->rows = rows;
	rows = NULL;
 out:
	if (d != NULL)
		bk_exec(NULL, NULL, 0, NULL, "rm", "-rf", "--", d, NULL);
	if (hdr != NULL)
		explicit_bzero(hdr, strlen(hdr));
	json_decref(res);
	json_decref(rows);
	vp_buf_release(&lst);
	free(hdr);
	free(base);
	free(d);
	free(dest);
	return r;
}

static int
art_grafana(struct bk *b, struct backup_art *a, char **cause)
{
	const struct deploy_ctr	*c;
	struct vp_buf	 out = VP_BUF_INIT(16 << 20);
	json_t		*list = NULL, *all = NULL, *it, *d;
	const char	*pw, *uid;
	char		*up = NULL, *url = NULL, *dest = NULL;
	size_t		 i;
	int		 r;

	if ((pw = bk_secret(b->o->secrets, "grafana_admin_password")) == NULL)
		return vp_fail(cause, VP_ERR_NOTFOUND, "secret "
		    "'grafana_admin_password' missing");
	if ((c = bk_ctr(&b->cs, "grafana", cause)) == NULL)
		return VP_ERR_NOTFOUND;
	if (asprintf(&up, "admin:%s", pw) < 0 ||
	    asprintf(&url, "http://%s:3000/api/search?type=dash-db",
	    c->ip) < 0 || (all = json_object()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = bk_http("GET", url, NULL, up, NULL, &out, cause)) != 0)
		goto out;
	if ((list = json_loadb(out.buf, out.len, 0, NULL)) == NULL ||
	    !json_is_array(list)) {
		r = vp_fail(cause, VP_ERR_PARSE, "dashboard search: not a "
		    "JSON array");
		goto out;
	}
	json_array_foreach(list, i, it) {
		if ((uid = json_string_value(json_object_get(it, "uid"))) ==
		    NULL || strchr(uid, '/') != NULL)
			continue;
		free(url);
		if (asprintf(&url, "http://%s:3000/api/dashboards/uid/%s",
		    c->ip, uid) < 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		vp_buf_reset(&out);
		if ((r = bk_http("GET", url, NULL, up, NULL, &out,
		    cause)) != 0)
			goto out;
		if ((d = json_loadb(out.buf, out.len, 0, NULL)) == NULL ||
		    json_object_get(d, "dashboard") == NULL) {
			json_decref(d);
			r = vp_fail(cause, VP_ERR_PARSE, "verify: dashboard "
			    "'%s' has no 'dashboard' member", uid);
			goto out;
		}
		json_object_set_new(all, uid, d);
	}
	if ((dest = vp_path_join(b->dir, "grafana.json")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (json_dump_file(all, dest, JSON_INDENT(1)) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "'%s': cannot write", dest);
		goto out;
	}
	if ((r = finish_file(b, a, "grafana.json", cause)) != 0)
		goto out;
	if (asprintf(&a->verified, "%zu dashboards, each with its "
	    "'dashboard' document (stand-in API)", json_object_size(all)) < 0)
		a->verified = NULL;
 out:
	if (up != NULL)
		explicit_bzero(up, strlen(up));
	json_decref(list);
	json_decref(all);
	vp_buf_release(&out);
	free(up);
	free(url);
	free(dest);
	return r;
}

static int
art_configs(struct bk *b, struct backup_art *a, char **cause)
{
	struct vp_buf	 lst = VP_BUF_INIT(16 << 20);
	char		*dest = NULL;
	size_t		 n = 0, i;
	int		 r;

	tool(b, "tar", NULL, "tar", "--version");
	if ((dest = vp_path_join(b->dir, "configs.tar.gz")) == NULL)
		return VP_ERR_NOMEM;
	if ((r = bk_exec(NULL, NULL, 0, cause, "tar", "-czf", dest, "-C",
	    b->o->stack_root, "configs", "docker-compose.yml", NULL)) != 0 ||
	    (r = finish_file(b, a, "configs.tar.gz", cause)) != 0)
		goto out;
	if ((r = bk_exec(&lst, NULL, 0, cause, "tar", "-tzf", dest,
	    NULL)) != 0) {
		vp_fail_prefix(cause, r, "verify");
		goto out;
	}
	for (i = 0; i < lst.len; i++)
		n += lst.buf[i] == '\n';
	if (asprintf(&a->verified, "tarball lists %zu entries", n) < 0)
		a->verified = NULL;
 out:
	vp_buf_release(&lst);
	free(dest);
	return r;
}

static int
produce(struct bk *b, size_t i, struct backup_art *a, char **cause)
{
	const char	*n = a->name;

	(void)i;
	if (strncmp(n, "pg:", 3) == 0)
		return art_pg(b, a, n + 3, cause);
	if (strcmp(n, "redis") == 0)
		return art_redis(b, a, cause);
	if (strcmp(n, "qdrant") == 0)
		return art_qdrant(b, a, cause);
	if (strncmp(n, "n8n:", 4) == 0)
		return art_n8n(b, a, n + 4, cause);
	if (strcmp(n, "grafana") == 0)
		return art_grafana(b, a, cause);
	return art_configs(b, a, cause);
}

/*
 * restic's environment: password file, repository, and for an S3
 * repository the vault's S3 keys (restic reads them from AWS_*).
 */
int
bk_restic_env(const json_t *secrets, const char *repo, const char *pwfile,
    struct vp_argv *env)
{
	const char	*ak, *sk;
	int		 r;

	if ((r = vp_argv_pushf(env, "RESTIC_PASSWORD_FILE=%s", pwfile)) != 0 ||
	    (r = vp_argv_pushf(env, "RESTIC_REPOSITORY=%s", repo)) != 0 ||
	    (r = vp_argv_push(env, "RESTIC_PROGRESS_FPS=0.01")) != 0)
		return r;
	if (strncmp(repo, "s3:", 3) == 0 &&
	    (ak = bk_secret(secrets, "s3_access_key")) != NULL &&
	    (sk = bk_secret(secrets, "s3_secret_key")) != NULL &&
	    ((r = vp_argv_pushf(env, "AWS_ACCESS_KEY_ID=%s", ak)) != 0 ||
	    (r = vp_argv_pushf(env, "AWS_SECRET_ACCESS_KEY=%s", sk)) != 0))
		return r;
	return VP_OK;
}

void
bk_env_wipe(struct vp_argv *env)
{
	env_wipe(env);
}

/* restic: init when needed, backup the set, GFS forget --prune. */
static int
restic_copy(struct bk *b, struct backup_report *rep, char **cause)
{
	struct vp_buf	 out = VP_BUF_INIT(16 << 20);
	const struct backup_opts *o = b->o;
	const char	*pw, *const *fa, *const *env, *ro[2];
	struct vp_argv	 ev = VP_ARGV_INIT;
	char		*pwf = NULL, *p, *q;
	size_t		 i;
	struct vp_child	 c = VP_CHILD_INIT;
	json_t		*j;
	int		 fd = -1, r;

	if ((pw = bk_secret(o->secrets, "restic_password")) == NULL)
		return vp_fail(cause, VP_ERR_NOTFOUND, "secret "
		    "'restic_password' missing");
	if (asprintf(&pwf, "%s/.restic-pw-XXXXXX", b->bdir) < 0) {
		pwf = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((fd = mkstemp(pwf)) < 0) {
		r = vp_fail(cause, VP_ERR_IO, "'%s': %s", pwf,
		    strerror(errno));
		free(pwf);
		pwf = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || vp_write_all(fd, pw, strlen(pw)) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "'%s': %s", pwf,
		    strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if ((r = bk_restic_env(o->secrets, o->restic_repo, pwf, &ev)) != 0)
		goto out;
	env = (const char *const *)ev.v;
	/* ro[0] NULL ends the argument lists early: no -o. */
	ro[0] = o->restic_option ? "-o" : NULL;
	ro[1] = o->restic_option;
	if (bk_exec(NULL, env, 120000, NULL, "restic", "cat", "config",
	    ro[0], ro[1], NULL) != 0 && (r = bk_exec(NULL, env, 120000, cause,
	    "restic", "init", ro[0], ro[1], NULL)) != 0) {
		vp_fail_prefix(cause, r, "restic init");
		goto out;
	}
	if ((r = bk_exec(&out, env, 0, cause, "restic", "backup", "--json",
	    "--tag", "vpai", "--host", o->project, b->dir, ro[0], ro[1],
	    NULL)) != 0)
		goto out;
	for (p = out.buf; *p != '\0'; p = q) {
		q = p + strcspn(p, "\n");
		if (*q == '\n')
			*q++ = '\0';
		if ((j = json_loads(p, 0, NULL)) == NULL)
			continue;
		if (json_string_value(json_object_get(j, "snapshot_id")))
			rep->restic_snapshot = strdup(json_string_value(
			    json_object_get(j, "snapshot_id")));
		json_decref(j);
	}
	if (rep->restic_snapshot == NULL) {
		r = vp_fail(cause, VP_ERR_CHILD, "restic backup: no snapshot "
		    "id in its output");
		goto out;
	}
	/* GFS over every vpai snapshot of this host: each set has its own
	 * path, so group by host and tags, not by paths. */
	vp_argv_pushl(&c.args, "restic", NULL);
	for (fa = backup_restic_forget_args(); *fa != NULL; fa++)
		vp_argv_push(&c.args, *fa);
	vp_argv_pushl(&c.args, "--group-by", "host,tags", "--tag", "vpai",
	    "--host", o->project, NULL);
	if (o->restic_option != NULL)
		vp_argv_pushl(&c.args, "-o", o->restic_option, NULL);
	for (i = 0; i < ev.n; i++)
		vp_argv_push(&c.env, ev.v[i]);
	c.timeout_ms = 1800000;
	if ((r = vp_child_run(&c, cause)) > 0)
		r = vp_fail(cause, VP_ERR_CHILD, "restic forget exited %d: %s",
		    r, c.err.buf);
 out:
	if (fd >= 0)
		close(fd);
	if (pwf != NULL) {
		unlink(pwf);
		free(pwf);
	}
	env_wipe(&c.env);
	vp_child_release(&c);
	vp_buf_release(&out);
	env_wipe(&ev);
	return r;
}

/* 1 when state (name -> {dir}) points at dir: a last verified backup. */
static int
state_keeps(const json_t *state, const char *dir)
{
	const char	*k, *v;
	json_t		*o;

	json_object_foreach((json_t *)state, k, o)
		if ((v = json_string_value(json_object_get(o, "dir"))) !=
		    NULL && strcmp(v, dir) == 0)
			return 1;
	return 0;
}

/*
 * Remove sets older than hot_days, except the current one and any set
 * that state holds as the last verified backup of some artifact (an
 * artifact failing for days keeps its last good copy).
 */
static int
prune_hot(struct bk *b, const json_t *state, int days, long long now)
{
	DIR		*d;
	struct dirent	*e;
	char		*p;
	long long	 t;
	int		 n = 0;

	if ((d = opendir(b->bdir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if ((t = backup_parse_stamp(e->d_name)) < 0 ||
		    strstr(e->d_name, ".partial") != NULL ||
		    now - t <= (long long)days * 86400)
			continue;
		if ((p = vp_path_join(b->bdir, e->d_name)) == NULL)
			break;
		if (strcmp(p, b->dir) != 0 && !state_keeps(state, p) &&
		    bk_exec(NULL, NULL, 0, NULL, "rm", "-rf", "--", p,
		    NULL) == 0)
			n++;
		free(p);
	}
	closedir(d);
	return n;
}

int
backup_run(const struct backup_opts *o, struct backup_report *rep,
    char **cause)
{
	struct bk	 b;
	int		 sel[BACKUP_NARTIFACTS];
	char		*lock = NULL, *partial = NULL, *acause = NULL, *tmp;
	char		*mf = NULL, *sf = NULL, *s;
	struct vp_buf	 sb = VP_BUF_INIT(1 << 20);
	json_t		*m = NULL, *state = NULL;
	time_t		 now = time(NULL);
	struct tm	 tm;
	char		 stamp[64];
	double		 t0 = bk_now(), t1;
	size_t		 i;
	int		 r, lfd = -1, k;

	memset(&b, 0, sizeof(b));
	b.o = o;
	if ((r = backup_select(o->only, o->nonly, sel, cause)) != 0)
		return r;
	if (o->backup_dir != NULL)
		b.bdir = strdup(o->backup_dir);
	else
		b.bdir = vp_path_join(o->stack_root, "backups");
	if (b.bdir == NULL || (b.tools = json_object()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = vp_mkdir_p(b.bdir, 0700, cause)) != 0)
		goto out;
	if ((lock = vp_path_join(b.bdir, ".backup.lock")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		r = vp_fail(cause, VP_ERR_EXISTS, "'%s': another backup or "
		    "restore is running", lock);
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (k = 0;; k++) {
		free(b.dir);
		free(partial);
		partial = NULL;
		if (asprintf(&s, "%s%s%s%s%d", stamp, o->label ? "-" : "",
		    o->label ? o->label : "", k ? "-" : "", k) < 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (k == 0)
			s[strlen(s) - 1] = '\0';
		b.dir = vp_path_join(b.bdir, s);
		free(rep->stamp);
		rep->stamp = s;
		if (b.dir == NULL || asprintf(&partial, "%s.partial",
		    b.dir) < 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (!vp_file_exists(b.dir) && mkdir(partial, 0700) == 0)
			break;
		if (errno != EEXIST && !vp_file_exists(b.dir)) {
			r = vp_fail(cause, VP_ERR_IO, "'%s': %s", partial,
			    strerror(errno));
			goto out;
		}
	}
	/* Produce into DIR.partial: b.dir points there until the rename. */
	tmp = b.dir;
	b.dir = partial;
	partial = tmp;
	if ((r = deploy_list(o->project, &b.cs, cause)) != 0)
		goto out;
	if (o->restic_repo != NULL)
		tool(&b, "restic", NULL, "restic", "version");
	if ((rep->v = calloc(BACKUP_NARTIFACTS, sizeof(*rep->v))) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < BACKUP_NARTIFACTS; i++) {
		struct backup_art	*a;

		if (!sel[i])
			continue;
		a = &rep->v[rep->n++];
		if ((a->name = strdup(backup_artifact_name(i))) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		bk_progress(&b, a->name, "start");
		t1 = bk_now();
		r = produce(&b, i, a, &acause);
		a->seconds = bk_now() - t1;
		if (r == 0) {
			a->ok = 1;
			bk_progress(&b, a->name, "ok (%.1f s): %s", a->seconds,
			    a->verified ? a->verified : "verified");
		} else {
			a->absent = r == VP_ERR_NOTFOUND;
			a->error = acause ? acause : strdup(vp_strerror(r));
			acause = NULL;
			rep->nfailed++;
			bk_progress(&b, a->name, "FAILED: %s", a->error);
			/* A half-written artifact is not kept. */
			if (a->file != NULL) {
				char *fp = vp_path_join(b.dir, a->file);

				if (fp != NULL)
					unlink(fp);
				free(fp);
			}
		}
		r = 0;
	}
	rep->elapsed = bk_now() - t0;
	if ((m = backup_manifest(rep, b.tools)) == NULL ||
	    (mf = vp_path_join(b.dir, "manifest.json")) == NULL ||
	    (s = json_dumps(m, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	r = vp_file_write_atomic(mf, s, strlen(s), 0600, (uid_t)-1,
	    (gid_t)-1, cause);
	free(s);
	if (r != 0)
		goto out;
	if (rename(b.dir, partial) != 0) {
		r = vp_fail(cause, VP_ERR_IO, "'%s': %s", partial,
		    strerror(errno));
		goto out;
	}
	tmp = b.dir;
	b.dir = partial;
	partial = tmp;
	if ((rep->dir = strdup(b.dir)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	/* Last verified backup per artifact. */
	if (!o->no_state) {
		if ((sf = vp_path_join(b.bdir, "state.json")) == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (vp_file_read(sf, &sb, NULL) == 0)
			state = json_loadb(sb.buf, sb.len, 0, NULL);
		if (!json_is_object(state)) {
			json_decref(state);
			state = json_object();
		}
		if ((r = backup_state_update(state, rep,
		    (long long)time(NULL))) != 0 ||
		    (s = json_dumps(state, JSON_INDENT(2) |
		    JSON_SORT_KEYS)) == NULL) {
			r = r ? r : VP_ERR_NOMEM;
			goto out;
		}
		r = vp_file_write_atomic(sf, s, strlen(s), 0600, (uid_t)-1,
		    (gid_t)-1, cause);
		free(s);
		if (r != 0)
			goto out;
	}
	if (o->restic_repo != NULL) {
		bk_progress(&b, "restic", "copy to %s", o->restic_repo);
		if (restic_copy(&b, rep, &acause) != 0) {
			rep->restic_error = acause ? acause :
			    strdup("restic failed");
			acause = NULL;
			bk_progress(&b, "restic", "FAILED: %s",
			    rep->restic_error);
		} else
			bk_progress(&b, "restic", "snapshot %s; forget "
			    "--keep-daily 7 --keep-weekly 4 --keep-monthly 6 "
			    "--keep-yearly 2 --prune applied",
			    rep->restic_snapshot);
	}
	rep->pruned = prune_hot(&b, state, o->hot_days > 0 ? o->hot_days : 3,
	    (long long)now);
	if (o->heartbeat_url != NULL && rep->nfailed == 0 &&
	    rep->restic_error == NULL) {
		rep->heartbeat = bk_http("GET", o->heartbeat_url, NULL, NULL,
		    NULL, NULL, &acause) == 0 ? 1 : -1;
		free(acause);
		acause = NULL;
	}
	rep->elapsed = bk_now() - t0;
 out:
	if (partial != NULL && r != 0 && b.dir != NULL &&
	    strstr(b.dir, ".partial") != NULL)
		bk_exec(NULL, NULL, 0, NULL, "rm", "-rf", "--", b.dir, NULL);
	if (lfd >= 0)
		close(lfd);
	deploy_ctrs_release(&b.cs);
	json_decref(b.tools);
	json_decref(m);
	json_decref(state);
	vp_buf_release(&sb);
	free(acause);
	free(lock);
	free(partial);
	free(mf);
	free(sf);
	free(b.dir);
	free(b.bdir);
	return r;
}

void
backup_report_release(struct backup_report *rep)
{
	size_t	i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->n; i++) {
		free(rep->v[i].name);
		free(rep->v[i].file);
		free(rep->v[i].error);
		free(rep->v[i].verified);
		json_decref(rep->v[i].rows);
	}
	free(rep->v);
	free(rep->dir);
	free(rep->stamp);
	free(rep->restic_snapshot);
	free(rep->restic_error);
	memset(rep, 0, sizeof(*rep));
}
