/*
 * rotate.c: live secret rotation (rotate.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/child.h"
#include "core/curl.h"
#include "core/opt.h"
#include "deploy/rotate.h"
#include "vault/vault.h"

/*
 * How each secret is rotated.  Others in the catalogue are refused with
 * the reason below.
 */
static const struct {
	const char	*name;
	enum rotate_how	 how;
	const char	*role;
	const char	*service;
} methods[] = {
	{ "postgresql_password", ROTATE_PG_ROLE, "postgres", NULL },
	{ "n8n_db_password", ROTATE_PG_ROLE, "n8n", NULL },
	{ "litellm_db_password", ROTATE_PG_ROLE, "litellm", NULL },
	{ "openclaw_db_password", ROTATE_PG_ROLE, "openclaw", NULL },
	{ "redis_password", ROTATE_RERENDER, NULL, NULL },
	{ "qdrant_api_key", ROTATE_RERENDER, NULL, NULL },
	{ "litellm_master_key", ROTATE_RERENDER, NULL, NULL },
	{ "litellm_ui_password", ROTATE_RERENDER, NULL, NULL },
	{ "openclaw_api_key", ROTATE_RERENDER, NULL, NULL },
	{ "n8n_basic_auth_password", ROTATE_RERENDER, NULL, NULL },
	/* Grafana reads its env/file only on first boot; n8n's owner
	 * password lives in n8n's database: both through their API. */
	{ "grafana_admin_password", ROTATE_API, NULL, "grafana" },
	{ "n8n_owner_password", ROTATE_API, NULL, "n8n" },
};
#define NMETHODS	(sizeof(methods) / sizeof(methods[0]))

void
rotate_sel_release(struct rotate_sel *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->v[i].name);
	for (i = 0; i < s->nskip; i++) {
		free(s->skip[i].name);
		free(s->skip[i].why);
	}
	free(s->v);
	free(s->skip);
	s->v = NULL;
	s->skip = NULL;
	s->n = s->nskip = 0;
}

static int
skip_add(struct rotate_sel *s, const char *name, const char *why)
{
	struct rotate_skip	*t;

	if ((t = realloc(s->skip, (s->nskip + 1) * sizeof(*t))) == NULL)
		return VP_ERR_NOMEM;
	s->skip = t;
	t += s->nskip;
	t->name = strdup(name);
	t->why = strdup(why);
	if (t->name == NULL || t->why == NULL) {
		free(t->name);
		free(t->why);
		return VP_ERR_NOMEM;
	}
	s->nskip++;
	return VP_OK;
}

int
rotate_sel_drop(struct rotate_sel *s, size_t i, const char *why)
{
	int	r;

	if (i >= s->n)
		return VP_ERR_INVALID;
	if ((r = skip_add(s, s->v[i].name, why)) != 0)
		return r;
	free(s->v[i].name);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(s->v[0]));
	s->n--;
	return VP_OK;
}

static int
sel_add(struct rotate_sel *s, size_t m)
{
	struct rotate_item	*t;
	size_t			 i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, methods[m].name) == 0)
			return VP_OK;
	if ((t = realloc(s->v, (s->n + 1) * sizeof(*t))) == NULL)
		return VP_ERR_NOMEM;
	s->v = t;
	if ((t[s->n].name = strdup(methods[m].name)) == NULL)
		return VP_ERR_NOMEM;
	t[s->n].how = methods[m].how;
	t[s->n].role = methods[m].role;
	t[s->n].service = methods[m].service;
	s->n++;
	return VP_OK;
}

/* The refusal for a catalogue secret that has no method. */
static int
refuse(const json_t *cat, const char *name, char **cause)
{
	const json_t	*e = secrets_catalogue_get(cat, name);
	const char	*why, *kind;

	if (secrets_catalogue_pinned(cat, name)) {
		why = json_string_value(json_object_get(e, "why"));
		return vp_fail(cause, VP_ERR_REFUSED, "secret '%s' is not "
		    "rotatable: %s", name, why ? why : "rotatable: false in "
		    "the catalogue");
	}
	kind = json_string_value(json_object_get(e, "kind"));
	if (kind != NULL && strcmp(kind, "external") == 0)
		return vp_fail(cause, VP_ERR_REFUSED, "secret '%s' is issued "
		    "by an outside provider: get a new one there, then `vpai "
		    "vault set %s`", name, name);
	return vp_fail(cause, VP_ERR_REFUSED, "secret '%s' cannot be rotated "
	    "live by vpai", name);
}

/*
 * For a rotate-all: 1 (and an entry in s->skip) when name is left out,
 * 0 when it is rotated.
 */
static int
skip_reason(const json_t *cat, const json_t *secrets, const char *name,
    int has_method, struct rotate_sel *s)
{
	const json_t	*e = secrets_catalogue_get(cat, name);
	const json_t	*v = json_object_get(secrets, name);
	const char	*why, *kind;
	char		*msg = NULL;
	int		 r;

	kind = json_string_value(json_object_get(e, "kind"));
	if (secrets_catalogue_pinned(cat, name)) {
		why = json_string_value(json_object_get(e, "why"));
		if (asprintf(&msg, "not rotatable: %s", why ? why :
		    "rotatable: false in the catalogue") < 0)
			return VP_ERR_NOMEM;
	} else if (kind != NULL && strcmp(kind, "external") == 0) {
		if ((msg = strdup("external: issued by an outside provider; "
		    "get a new one there, then `vpai vault set`")) == NULL)
			return VP_ERR_NOMEM;
	} else if (!has_method) {
		if ((msg = strdup("no live method in vpai")) == NULL)
			return VP_ERR_NOMEM;
	} else if (!json_is_string(v) || json_string_length(v) == 0) {
		if ((msg = strdup("no value in the vault yet")) == NULL)
			return VP_ERR_NOMEM;
	} else
		return 0;
	r = skip_add(s, name, msg);
	free(msg);
	return r == 0 ? 1 : r;
}

int
rotate_select(const json_t *cat, const json_t *secrets, char *const *names,
    size_t n, struct rotate_sel *s, char **cause)
{
	const char	**cands = NULL, *k, *dym;
	const json_t	*v, *all = json_object_get(cat, "secrets");
	size_t		  i, m, nc = 0;
	int		  r = VP_OK;

	if (!json_is_object(all))
		all = cat;
	if (n == 0) {
		/* Every secret of the catalogue: rotated, or said why not. */
		json_object_foreach((json_t *)all, k, v) {
			for (m = 0; m < NMETHODS; m++)
				if (strcmp(methods[m].name, k) == 0)
					break;
			if ((r = skip_reason(cat, secrets, k, m < NMETHODS,
			    s)) < 0)
				return r;
			if (r == 0 && (r = sel_add(s, m)) != 0)
				return r;
		}
		return VP_OK;
	}
	for (i = 0; i < n; i++) {
		if (secrets_catalogue_get(cat, names[i]) == NULL) {
			if ((cands = calloc(json_object_size(all) + 1,
			    sizeof(*cands))) == NULL)
				return VP_ERR_NOMEM;
			nc = 0;
			json_object_foreach((json_t *)all, k, v)
				cands[nc++] = k;
			dym = vp_did_you_mean(names[i], cands, nc);
			r = vp_fail(cause, VP_ERR_NOTFOUND, "unknown secret "
			    "'%s'%s%s%s", names[i], dym ? " (did you mean '" :
			    "", dym ? dym : "", dym ? "'?)" : "");
			free(cands);
			return r;
		}
		for (m = 0; m < NMETHODS; m++)
			if (strcmp(methods[m].name, names[i]) == 0)
				break;
		if (m == NMETHODS)
			return refuse(cat, names[i], cause);
		if ((r = sel_add(s, m)) != 0)
			return r;
	}
	return r;
}

int
rotate_generate(const json_t *cat, const json_t *secrets,
    const struct rotate_sel *s, json_t **out, char **cause)
{
	json_t		*c;
	const char	*v;
	size_t		 i;
	int		 r, tries, owner = 0;

	*out = NULL;
	if ((c = json_deep_copy(secrets)) == NULL)
		return VP_ERR_NOMEM;
	for (i = 0; i < s->n; i++) {
		json_object_del(c, s->v[i].name);
		if (strcmp(s->v[i].name, "n8n_owner_password") == 0)
			owner = 1;
	}
	if ((r = secrets_generate_missing(cat, c, NULL, cause)) != 0)
		goto fail;
	/* n8n refuses a password without a digit or an uppercase letter. */
	for (tries = 0; owner && tries < 100; tries++) {
		v = json_string_value(json_object_get(c,
		    "n8n_owner_password"));
		if (v == NULL || rotate_n8n_password_ok(v))
			break;
		json_object_del(c, "n8n_owner_password");
		if ((r = secrets_generate_missing(cat, c, NULL, cause)) != 0)
			goto fail;
	}
	*out = c;
	return VP_OK;
 fail:
	json_decref(c);
	return r;
}

int
rotate_has_pg(const struct rotate_sel *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].how == ROTATE_PG_ROLE)
			return 1;
	return 0;
}

/* 'value' as an SQL string literal: quotes doubled. */
static int
add_literal(struct vp_buf *b, const char *v)
{
	int	r;

	if ((r = vp_buf_addc(b, '\'')) != 0)
		return r;
	for (; *v != '\0'; v++)
		if ((*v == '\'' && (r = vp_buf_addc(b, '\'')) != 0) ||
		    (r = vp_buf_addc(b, *v)) != 0)
			return r;
	return vp_buf_addc(b, '\'');
}

int
rotate_pg_roles(const char *ctr, const struct rotate_sel *s,
    const json_t *values, char **cause)
{
	struct vp_child	 c = VP_CHILD_INIT;
	struct vp_buf	 sql = VP_BUF_INIT(1u << 16);
	const char	*v;
	size_t		 i;
	int		 r;

	if (!rotate_has_pg(s))
		return VP_OK;
	if ((r = vp_buf_adds(&sql, "SET log_statement = 'none';\n"
	    "SET log_min_error_statement = 'panic';\n"
	    "SET log_min_duration_statement = -1;\nBEGIN;\n")) != 0)
		goto out;
	for (i = 0; i < s->n; i++) {
		if (s->v[i].how != ROTATE_PG_ROLE)
			continue;
		v = json_string_value(json_object_get(values, s->v[i].name));
		if (v == NULL || *v == '\0') {
			r = vp_fail(cause, VP_ERR_INVALID, "secret '%s': no "
			    "value", s->v[i].name);
			goto out;
		}
		/* Role names come from the table above: plain identifiers. */
		if ((r = vp_buf_addf(&sql, "ALTER ROLE \"%s\" PASSWORD ",
		    s->v[i].role)) != 0 || (r = add_literal(&sql, v)) != 0 ||
		    (r = vp_buf_adds(&sql, ";\n")) != 0)
			goto out;
	}
	if ((r = vp_buf_adds(&sql, "COMMIT;\n")) != 0)
		goto out;
	if ((r = vp_argv_pushl(&c.args, "docker", "exec", "-i", ctr, "psql",
	    "-X", "-q", "-U", "postgres", "-d", "postgres", "-v",
	    "ON_ERROR_STOP=1", NULL)) != 0)
		goto out;
	c.in = sql.buf;
	c.in_len = sql.len;
	c.timeout_ms = 60000;
	if ((r = vp_child_run(&c, cause)) < 0)
		goto out;
	if (r > 0) {
		/* psql's message names the failing statement's error, never
		 * the statement itself (no -e / ECHO). */
		r = vp_fail(cause, VP_ERR_CHILD, "ALTER ROLE in container "
		    "'%.12s' failed (exit %d): %.300s", ctr, r, c.err.buf);
		goto out;
	}
 out:
	vp_buf_release_secure(&sql);
	vp_child_release(&c);
	return r;
}

int
rotate_n8n_password_ok(const char *v)
{
	size_t	n = strlen(v), i;
	int	digit = 0, upper = 0;

	for (i = 0; i < n; i++) {
		digit |= isdigit((unsigned char)v[i]) != 0;
		upper |= (v[i] >= 'A' && v[i] <= 'Z');
	}
	return n >= 8 && n <= 64 && digit && upper;
}

/* ---- HTTP (libcurl, in this process: no secret in any argv) ---------- */

struct rq {
	const char	*method;
	const char	*url;
	const char	*user;		/* basic auth, or NULL */
	const char	*pw;
	const char	*body;		/* JSON, or NULL */
	const char	*cookie;	/* "n8n-auth=...", or NULL */
	long		 status;
	long		 retry_after;	/* seconds, from a 429; 0 none */
	struct vp_buf	 out;
	char		*token;		/* the n8n-auth cookie set, if any */
};
#define RQ_INIT	{ NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, \
	VP_BUF_INIT(1u << 20), NULL }

static size_t
rq_data(char *p, size_t sz, size_t n, void *arg)
{
	struct rq	*q = arg;

	if (vp_buf_add(&q->out, p, sz * n) != 0)
		return 0;
	return sz * n;
}

/*
 * Keep the value of "Set-Cookie: n8n-auth=VALUE; ..." and of
 * "Retry-After: SECONDS".
 */
static size_t
rq_header(char *p, size_t sz, size_t n, void *arg)
{
	static const char	 k[] = "set-cookie:", ra[] = "retry-after:";
	struct rq		*q = arg;
	size_t			 len = sz * n, i;
	char			*v, num[16];

	if (len > sizeof(ra) - 1 && len - (sizeof(ra) - 1) < sizeof(num) &&
	    strncasecmp(p, ra, sizeof(ra) - 1) == 0) {
		memcpy(num, p + sizeof(ra) - 1, len - (sizeof(ra) - 1));
		num[len - (sizeof(ra) - 1)] = '\0';
		q->retry_after = strtol(num, NULL, 10);
		return len;
	}
	if (len <= sizeof(k) - 1 || strncasecmp(p, k, sizeof(k) - 1) != 0)
		return len;
	for (i = sizeof(k) - 1; i < len && p[i] == ' '; i++)
		;
	if (len - i < 9 || strncmp(p + i, "n8n-auth=", 9) != 0)
		return len;
	i += 9;
	if ((v = strndup(p + i, strcspn(p + i, ";\r\n"))) == NULL)
		return 0;
	if (q->token != NULL) {
		explicit_bzero(q->token, strlen(q->token));
		free(q->token);
	}
	q->token = v;
	return len;
}

static void
rq_release(struct rq *q)
{
	if (q->token != NULL) {
		explicit_bzero(q->token, strlen(q->token));
		free(q->token);
		q->token = NULL;
	}
	vp_buf_release_secure(&q->out);
}

static int
hdr_add(struct curl_slist **l, const char *h)
{
	struct curl_slist	*n;

	if ((n = curl_slist_append(*l, h)) == NULL)
		return VP_ERR_NOMEM;
	*l = n;
	return VP_OK;
}

/* One request; q->status set.  Transport errors only are failures. */
static int
rq_do(struct rq *q, char **cause)
{
	struct curl_slist	*hdr = NULL;
	struct vp_buf		 ck = VP_BUF_INIT(8192);
	CURL			*c;
	CURLcode		 cr;
	int			 r = VP_OK;

	vp_buf_reset(&q->out);
	q->status = 0;
	q->retry_after = 0;
	if ((r = vp_curl_easy(&c, cause)) != VP_OK)
		return r;
	/* n8n binds its auth cookie to the browser-id header's value. */
	if ((r = hdr_add(&hdr, "Content-Type: application/json")) != 0 ||
	    (r = hdr_add(&hdr, "Accept: application/json")) != 0 ||
	    (r = hdr_add(&hdr, "browser-id: vpai-rotate-secrets")) != 0)
		goto out;
	if (q->cookie != NULL && ((r = vp_buf_addf(&ck, "Cookie: %s",
	    q->cookie)) != 0 || (r = hdr_add(&hdr, ck.buf)) != 0))
		goto out;
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rq_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, rq_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	if (q->user != NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, q->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, q->pw);
	}
	if (q->body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
	if ((cr = curl_easy_perform(c)) != CURLE_OK) {
		r = vp_fail(cause, VP_ERR_REMOTE, "%s '%s': %s", q->method,
		    q->url, curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
 out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	vp_buf_release_secure(&ck);
	return r;
}

/* A JSON body for a request, from pairs of keys and values; NULL: NOMEM. */
static char *
json_body(const char *k1, const char *v1, const char *k2, const char *v2,
    const char *k3, const char *v3)
{
	json_t	*o;
	char	*s = NULL;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, k1, json_string(v1)) == 0 &&
	    json_object_set_new(o, k2, json_string(v2)) == 0 &&
	    (k3 == NULL || json_object_set_new(o, k3, json_string(v3)) == 0))
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);		/* the allocator wipes (vault_secure_json) */
	return s;
}

static void
body_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* The service's error message from a JSON answer ("message"), or "". */
static const char *
answer_message(const struct rq *q, char *buf, size_t len)
{
	json_t		*d;
	const char	*m;

	buf[0] = '\0';
	if ((d = json_loadb(q->out.buf, q->out.len, 0, NULL)) == NULL)
		return buf;
	if ((m = json_string_value(json_object_get(d, "message"))) != NULL)
		snprintf(buf, len, ": %s", m);
	json_decref(d);
	return buf;
}

/* ---- Grafana -------------------------------------------------------- */

/* GET /api/user as user:pw: the HTTP status, or a negative error. */
static int
grafana_status(const char *url, const char *user, const char *pw,
    long *status, char **cause)
{
	struct rq	 q = RQ_INIT;
	char		 u[512];
	int		 r;

	snprintf(u, sizeof(u), "%s/api/user", url);
	q.method = "GET";
	q.url = u;
	q.user = user;
	q.pw = pw;
	r = rq_do(&q, cause);
	*status = q.status;
	rq_release(&q);
	return r;
}

int
rotate_grafana_admin(const char *url, const char *user, const char *oldpw,
    const char *newpw, char **cause)
{
	struct rq	 q = RQ_INIT;
	char		 u[512], msg[256], *body = NULL;
	long		 st;
	int		 r;

	if ((body = json_body("oldPassword", oldpw, "newPassword", newpw,
	    "confirmNew", newpw)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	snprintf(u, sizeof(u), "%s/api/user/password", url);
	q.method = "PUT";
	q.url = u;
	q.user = user;
	q.pw = oldpw;
	q.body = body;
	if ((r = rq_do(&q, cause)) != 0)
		goto out;
	if (q.status == 401) {
		r = vp_fail(cause, VP_ERR_REFUSED, "grafana: the admin password "
		    "in the vault is refused for user '%s' (changed outside "
		    "vpai? set the current one with `vpai vault set "
		    "grafana_admin_password`); nothing changed", user);
		goto out;
	}
	if (q.status != 200) {
		r = vp_fail(cause, VP_ERR_REMOTE, "grafana: PUT "
		    "/api/user/password: HTTP %ld%s", q.status,
		    answer_message(&q, msg, sizeof(msg)));
		goto out;
	}
	/* Verified: the new one works, the old one is refused. */
	if ((r = grafana_status(url, user, newpw, &st, cause)) != 0)
		goto out;
	if (st != 200) {
		r = vp_fail(cause, VP_ERR_REMOTE, "grafana: the new admin "
		    "password is refused (GET /api/user: HTTP %ld)", st);
		goto out;
	}
	if ((r = grafana_status(url, user, oldpw, &st, cause)) != 0)
		goto out;
	if (st != 401) {
		r = vp_fail(cause, VP_ERR_REMOTE, "grafana: the old admin "
		    "password still works (GET /api/user: HTTP %ld)", st);
		goto out;
	}
 out:
	body_free(body);
	rq_release(&q);
	return r;
}

/* ---- n8n ------------------------------------------------------------ */

/*
 * One request to n8n, a 429 (rate limit: /rest/login allows 5 a minute
 * per client) waited out up to twice, as long as its Retry-After says.
 */
static int
n8n_do(struct rq *q, char **cause)
{
	int	r, tries;

	for (tries = 0; ; tries++) {
		if ((r = rq_do(q, cause)) != 0)
			return r;
		if (q->status != 429 || tries >= 2)
			return VP_OK;
		/* Its window's end (Retry-After), at most a minute. */
		sleep(q->retry_after > 0 && q->retry_after < 60 ?
		    (unsigned)q->retry_after + 1 : 61);
	}
}

/* POST /rest/login: HTTP status in *status; the cookie in q->token. */
static int
n8n_login(const char *url, const char *email, const char *pw, struct rq *q,
    char **cause)
{
	char	u[512], *body;
	int	r;

	if ((body = json_body("emailOrLdapLoginId", email, "password", pw,
	    NULL, NULL)) == NULL)
		return VP_ERR_NOMEM;
	snprintf(u, sizeof(u), "%s/rest/login", url);
	q->method = "POST";
	q->url = u;
	q->body = body;
	r = n8n_do(q, cause);
	q->url = NULL;
	q->body = NULL;
	body_free(body);
	return r;
}

int
rotate_n8n_owner(const char *url, const char *email, const char *oldpw,
    const char *newpw, char **cause)
{
	struct rq	 q = RQ_INIT, p = RQ_INIT;
	struct vp_buf	 ck = VP_BUF_INIT(8192);
	char		 u[512], msg[256], *body = NULL;
	int		 r;

	if ((r = n8n_login(url, email, oldpw, &q, cause)) != 0)
		goto out;
	if (q.status == 401) {
		r = vp_fail(cause, VP_ERR_REFUSED, "n8n: the owner password in "
		    "the vault is refused for '%s' (changed in n8n's UI? set "
		    "the current one with `vpai vault set n8n_owner_password`); "
		    "nothing changed", email);
		goto out;
	}
	if (q.status != 200 || q.token == NULL) {
		r = vp_fail(cause, VP_ERR_REMOTE, "n8n: POST /rest/login as "
		    "'%s': HTTP %ld%s%s", email, q.status, answer_message(&q,
		    msg, sizeof(msg)), q.status == 200 ? " (no n8n-auth "
		    "cookie)" : "");
		goto out;
	}
	if ((r = vp_buf_addf(&ck, "n8n-auth=%s", q.token)) != 0 ||
	    (body = json_body("currentPassword", oldpw, "newPassword", newpw,
	    NULL, NULL)) == NULL) {
		r = r ? r : VP_ERR_NOMEM;
		goto out;
	}
	snprintf(u, sizeof(u), "%s/rest/me/password", url);
	p.method = "PATCH";
	p.url = u;
	p.body = body;
	p.cookie = ck.buf;
	if ((r = n8n_do(&p, cause)) != 0)
		goto out;
	if (p.status != 200) {
		/* n8n's messages name rules, never the values. */
		r = vp_fail(cause, VP_ERR_REMOTE, "n8n: PATCH /rest/me/password "
		    "for '%s': HTTP %ld%s", email, p.status, answer_message(&p,
		    msg, sizeof(msg)));
		goto out;
	}
	/* Verified: the new one logs in, the old one is refused. */
	if ((r = n8n_login(url, email, newpw, &q, cause)) != 0)
		goto out;
	if (q.status != 200) {
		r = vp_fail(cause, VP_ERR_REMOTE, "n8n: login with the new "
		    "owner password: HTTP %ld%s", q.status, answer_message(&q,
		    msg, sizeof(msg)));
		goto out;
	}
	if ((r = n8n_login(url, email, oldpw, &q, cause)) != 0)
		goto out;
	if (q.status != 401) {
		r = vp_fail(cause, VP_ERR_REMOTE, "n8n: the old owner password "
		    "still logs in (HTTP %ld)", q.status);
		goto out;
	}
 out:
	body_free(body);
	vp_buf_release_secure(&ck);
	rq_release(&q);
	rq_release(&p);
	return r;
}
