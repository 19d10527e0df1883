/*
 * smoke.c: the post-deploy smoke test (see smoke.h).  One thread per
 * check; each check owns its curl handle or child process and its
 * timeout.  HTTPS goes to the Caddy vhosts (public and admin) with the
 * names pinned to an address (CURLOPT_RESOLVE) and the CA given
 * explicitly; the services behind the VPN-only vhost are checked on
 * their container address, which the host reaches over the bridge.
 */
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/child.h"
#include "core/curl.h"
#include "core/err.h"
#include "deploy/deploy.h"
#include "deploy/smoke.h"

#define SMOKE_MAX	64

struct smoke_env {
	const struct smoke_opts	*o;
	const struct deploy_ctrs *cs;
	char			 scheme[8];
	char			 host[256];	/* of base_url (unused for names) */
	int			 port;
	const char		*ip;		/* pinned address or NULL */
	int			 timeout_ms;
};

struct job {
	const struct smoke_env	*env;
	const char		*name_fmt;
	const char		*arg;		/* route for vpn checks */
	int			(*fn)(struct job *);
	char			 name[96];
	int			 ok;
	long long		 ms;
	char			 detail[256];
	pthread_t		 tid;
	int			 started;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
note(struct job *j, const char *fmt, ...) VP_PRINTF(2, 3);

static void
note(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->detail, sizeof(j->detail), fmt, ap);
	va_end(ap);
}

static size_t
body_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct vp_buf *b = arg;

	if (vp_buf_add(b, p, sz * n) != 0)
		return 0;
	return sz * n;
}

struct http_req {
	const char	*host;		/* vhost name (https) or NULL */
	const char	*url;
	const char	*bearer;	/* secret or NULL */
	int		 follow;
	int		 certinfo;
	long		 status;
	long		 redirects;
	long long	 expire;	/* certificate notAfter, epoch */
	struct vp_buf	 body;
};

static int
http_do(struct job *j, struct http_req *q)
{
	const struct smoke_env	*e = j->env;
	struct curl_slist	*res = NULL, *hdr = NULL;
	struct curl_certinfo	*ci = NULL;
	char			 line[512], *auth = NULL;
	CURL			*c;
	CURLcode		 cc;
	int			 r = -1;

	vp_buf_init(&q->body, 4u << 20);
	if ((c = curl_easy_init()) == NULL) {
		note(j, "%s", vp_curl_error() != NULL ? vp_curl_error() :
		    "curl init failed");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &q->body);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, q->follow ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (q->certinfo)
		curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	if (e->o->cafile != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->o->cafile);
	if (q->host != NULL && e->ip != NULL) {
		snprintf(line, sizeof(line), "%s:%d:%s", q->host, e->port,
		    e->ip);
		if ((res = curl_slist_append(NULL, line)) == NULL)
			goto out;
		curl_easy_setopt(c, CURLOPT_RESOLVE, res);
	}
	if (q->bearer != NULL) {
		if (asprintf(&auth, "Authorization: Bearer %s", q->bearer) < 0) {
			auth = NULL;
			goto out;
		}
		if ((hdr = curl_slist_append(NULL, auth)) == NULL)
			goto out;
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	}
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		note(j, "%s", curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
	curl_easy_getinfo(c, CURLINFO_REDIRECT_COUNT, &q->redirects);
	if (q->certinfo && curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) ==
	    CURLE_OK && ci != NULL && ci->num_of_certs > 0) {
		struct curl_slist *s;

		for (s = ci->certinfo[0]; s != NULL; s = s->next) {
			struct tm tm;

			if (strncmp(s->data, "Expire date:", 12) != 0)
				continue;
			memset(&tm, 0, sizeof(tm));
			if (strptime(s->data + 12, "%b %d %H:%M:%S %Y",
			    &tm) != NULL)
				q->expire = (long long)timegm(&tm);
		}
	}
	r = 0;
 out:
	if (auth != NULL) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (hdr != NULL) {
		explicit_bzero(hdr->data, strlen(hdr->data));
		curl_slist_free_all(hdr);
	}
	curl_slist_free_all(res);
	curl_easy_cleanup(c);
	return r;
}

static const struct deploy_ctr *
ctr_running(struct job *j, const char *service)
{
	const struct deploy_ctr *c = deploy_ctrs_find(j->env->cs, service);

	if (c == NULL) {
		note(j, "no container for service '%s'", service);
		return NULL;
	}
	if (strcmp(c->state, "running") != 0) {
		note(j, "service '%s' is %s", service, c->state);
		return NULL;
	}
	return c;
}

static void	trim_copy(struct job *, const struct vp_buf *);

/*
 * The engine is on another host (`--target ssh://`): its containers'
 * addresses are not reachable from here.  The same GET runs inside the
 * container, from the mounted probe, through the transport; a redirect
 * is accepted but not followed there.
 */
static int
probe_get(struct job *j, const struct deploy_ctr *c, int port,
    const char *path, int follow)
{
	struct vp_child	 ch = VP_CHILD_INIT;
	char		*cause = NULL, line[256];
	int		 rc, ok = 0;

	ch.timeout_ms = j->env->timeout_ms;
	if (vp_argv_pushl(&ch.args, "docker", "exec", c->id, "/vpai/probe",
	    "http", NULL) != 0 || vp_argv_pushf(&ch.args,
	    "http://127.0.0.1:%d%s", port, path) != 0 ||
	    vp_argv_pushl(&ch.args, "--expect", follow ?
	    "200,301,302,303,307,308" : "200", NULL) != 0) {
		note(j, "out of memory");
		goto out;
	}
	if ((rc = vp_child_run(&ch, &cause)) < 0) {
		note(j, "%s", cause ? cause : "docker exec failed");
		goto out;
	}
	trim_copy(j, rc == 0 ? &ch.out : &ch.err);
	ok = rc == 0;
	snprintf(line, sizeof(line), "%s", j->detail);
	note(j, "%s (probe in the container on the target)", line);
 out:
	free(cause);
	vp_child_release(&ch);
	return ok;
}

/* GET http://<container ip>:port/path, expect 200. */
static int
direct_get(struct job *j, const char *service, int port, const char *path,
    int follow)
{
	const struct deploy_ctr	*c;
	struct http_req		 q;
	char			 url[256];
	int			 ok = 0;

	if ((c = ctr_running(j, service)) == NULL)
		return 0;
	if (vp_child_is_remote("docker"))
		return probe_get(j, c, port, path, follow);
	if (*c->ip == '\0') {
		note(j, "service '%s' has no address", service);
		return 0;
	}
	memset(&q, 0, sizeof(q));
	snprintf(url, sizeof(url), "http://%s:%d%s", c->ip, port, path);
	q.url = url;
	q.follow = follow;
	if (http_do(j, &q) == 0) {
		ok = q.status == 200;
		if (follow && q.redirects > 0)
			note(j, "%s: HTTP %ld after %ld redirect(s)", path,
			    q.status, q.redirects);
		else
			note(j, "%s: HTTP %ld", path, q.status);
	}
	vp_buf_release(&q.body);
	return ok;
}

static void
vhost_url(const struct smoke_env *e, const char *host, const char *path,
    char *out, size_t len)
{
	snprintf(out, len, "%s://%s:%d%s", e->scheme, host, e->port, path);
}

/*
 * GET path on the vhost `host` through Caddy; healthy when the status is
 * `expect`.  `why` (or NULL) is appended to the note on a mismatch.
 */
static int
vhost_expect(struct job *j, const char *host, const char *path, long expect,
    const char *why)
{
	struct http_req	q;
	char		url[512];
	int		ok = 0;

	memset(&q, 0, sizeof(q));
	vhost_url(j->env, host, path, url, sizeof(url));
	q.host = host;
	q.url = url;
	if (http_do(j, &q) == 0) {
		ok = q.status == expect;
		note(j, "%s: HTTP %ld%s", url, q.status,
		    ok || why == NULL ? "" : why);
	}
	vp_buf_release(&q.body);
	return ok;
}

static int
c_https_health(struct job *j)
{
	return vhost_expect(j, j->env->o->domain, "/health", 200, NULL);
}

static int
c_tls(struct job *j)
{
	struct http_req	q;
	char		url[512];
	double		days;
	int		ok = 0;

	if (strcmp(j->env->scheme, "https") != 0) {
		note(j, "base URL is not https");
		return 0;
	}
	memset(&q, 0, sizeof(q));
	vhost_url(j->env, j->env->o->domain, "/health", url, sizeof(url));
	q.host = j->env->o->domain;
	q.url = url;
	q.certinfo = 1;
	if (http_do(j, &q) == 0) {
		if (q.expire == 0)
			note(j, "verified, but no expiry date in the certificate");
		else {
			days = (double)(q.expire - (long long)time(NULL)) / 86400;
			ok = days > 0;
			note(j, "verified%s, expires in %.1f days",
			    j->env->o->cafile ? " against the given CA" : "",
			    days);
		}
	}
	vp_buf_release(&q.body);
	return ok;
}

static int
resolve1(const char *name, char *out, size_t len)
{
	struct addrinfo	hints, *ai = NULL;
	size_t		n;
	int		rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(name, NULL, &hints, &ai)) == 0) {
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, out, len, NULL, 0,
		    NI_NUMERICHOST) != 0)
			snprintf(out, len, "?");
		freeaddrinfo(ai);
		return 0;
	}
	/* RFC 6761: *.localhost is loopback even when the resolver says no. */
	n = strlen(name);
	if ((n >= 10 && strcmp(name + n - 10, ".localhost") == 0) ||
	    strcmp(name, "localhost") == 0) {
		snprintf(out, len, "127.0.0.1 (RFC 6761)");
		return 0;
	}
	snprintf(out, len, "%s", gai_strerror(rc));
	return -1;
}

static int
c_dns(struct job *j)
{
	char	a[128], b[128];
	int	ra, rb;

	ra = resolve1(j->env->o->domain, a, sizeof(a));
	rb = resolve1(j->env->o->admin_host, b, sizeof(b));
	note(j, "%s -> %s, %s -> %s", j->env->o->domain, a,
	    j->env->o->admin_host, b);
	return ra == 0 && rb == 0;
}

static int
c_n8n(struct job *j)
{
	return direct_get(j, "n8n", 5678, "/healthz", 0);
}

/* n8n through the public vhost: an unknown webhook gets n8n's own 404. */
static int
c_n8n_caddy(struct job *j)
{
	struct http_req	q;
	char		url[512];
	int		ok = 0;

	memset(&q, 0, sizeof(q));
	vhost_url(j->env, j->env->o->domain, "/n8n/webhook/vpai-smoke", url,
	    sizeof(url));
	q.host = j->env->o->domain;
	q.url = url;
	if (http_do(j, &q) == 0) {
		ok = q.status == 404 && vp_buf_add(&q.body, "", 1) == 0 &&
		    strstr(q.body.buf, "webhook") != NULL;
		note(j, "%s: HTTP %ld%s", url, q.status, ok ? " from n8n" :
		    " (not n8n's answer)");
	}
	vp_buf_release(&q.body);
	return ok;
}

static int
c_grafana(struct job *j)
{
	return direct_get(j, "grafana", 3000, "/", 1) &&
	    direct_get(j, "grafana", 3000, "/api/health", 1);
}

static int
c_qdrant(struct job *j)
{
	return direct_get(j, "qdrant", 6333, "/healthz", 0);
}

static int
c_litellm_health(struct job *j)
{
	return vhost_expect(j, j->env->o->domain,
	    "/litellm/health/liveliness", 200, NULL);
}

static int
c_litellm_models(struct job *j)
{
	struct http_req	 q;
	json_error_t	 je;
	json_t		*doc = NULL, *data;
	char		 url[512];
	int		 ok = 0;

	if (j->env->o->litellm_key == NULL) {
		note(j, "no litellm_master_key in the secrets");
		return 0;
	}
	memset(&q, 0, sizeof(q));
	vhost_url(j->env, j->env->o->domain, "/litellm/v1/models", url,
	    sizeof(url));
	q.host = j->env->o->domain;
	q.url = url;
	q.bearer = j->env->o->litellm_key;
	if (http_do(j, &q) == 0) {
		if (q.status != 200)
			note(j, "%s: HTTP %ld", url, q.status);
		else if ((doc = json_loadb(q.body.buf, q.body.len, 0, &je)) ==
		    NULL || !json_is_array(data = json_object_get(doc, "data")))
			note(j, "%s: not a model list", url);
		else {
			ok = json_array_size(data) > 0;
			note(j, "%zu model(s)", json_array_size(data));
		}
	}
	json_decref(doc);
	vp_buf_release(&q.body);
	return ok;
}

static void
trim_copy(struct job *j, const struct vp_buf *b)
{
	size_t n = b->len;

	while (n > 0 && (b->buf[n - 1] == '\n' || b->buf[n - 1] == '\r' ||
	    b->buf[n - 1] == ' '))
		n--;
	note(j, "%.*s", (int)(n > 200 ? 200 : n), b->buf);
}

static int
c_postgres(struct job *j)
{
	const struct deploy_ctr	*c;
	struct vp_child		 ch = VP_CHILD_INIT;
	char			*cause = NULL;
	int			 rc, ok = 0;

	if ((c = ctr_running(j, "postgresql")) == NULL)
		return 0;
	ch.timeout_ms = j->env->timeout_ms;
	if (vp_argv_pushl(&ch.args, "docker", "exec", c->id, "pg_isready",
	    NULL) != 0) {
		note(j, "out of memory");
		goto out;
	}
	if ((rc = vp_child_run(&ch, &cause)) < 0) {
		note(j, "%s", cause ? cause : "docker exec failed");
		goto out;
	}
	trim_copy(j, ch.out.len ? &ch.out : &ch.err);
	ok = rc == 0;
 out:
	free(cause);
	vp_child_release(&ch);
	return ok;
}

/*
 * The password reaches redis-cli as REDISCLI_AUTH: `docker exec -e NAME`
 * without a value copies it from docker's own environment, so it is in
 * no argv.
 */
static int
c_redis(struct job *j)
{
	const struct deploy_ctr	*c;
	struct vp_child		 ch = VP_CHILD_INIT;
	char			*cause = NULL, *kv = NULL;
	int			 rc, ok = 0;

	if ((c = ctr_running(j, "redis")) == NULL)
		return 0;
	if (j->env->o->redis_password == NULL) {
		note(j, "no redis_password in the secrets");
		return 0;
	}
	ch.timeout_ms = j->env->timeout_ms;
	if (vp_child_is_remote("docker")) {
		/*
		 * On a remote engine the environment would not travel: the
		 * mounted probe speaks AUTH + PING, the password on its stdin
		 * (through ssh's), never in argv.
		 */
		ch.in = j->env->o->redis_password;
		ch.in_len = strlen(j->env->o->redis_password);
		if (vp_argv_pushl(&ch.args, "docker", "exec", "-i", c->id,
		    "/vpai/probe", "redis", "127.0.0.1:6379",
		    "--password-file", "/dev/stdin", NULL) != 0) {
			note(j, "out of memory");
			goto out;
		}
		if ((rc = vp_child_run(&ch, &cause)) < 0) {
			note(j, "%s", cause ? cause : "docker exec failed");
			goto out;
		}
		trim_copy(j, rc == 0 ? &ch.out : &ch.err);
		ok = rc == 0;
		goto out;
	}
	if (asprintf(&kv, "REDISCLI_AUTH=%s", j->env->o->redis_password) < 0) {
		kv = NULL;
		note(j, "out of memory");
		goto out;
	}
	if (vp_argv_push(&ch.env, kv) != 0 || vp_argv_pushl(&ch.args,
	    "docker", "exec", "-e", "REDISCLI_AUTH", c->id, "redis-cli",
	    "--no-auth-warning", "PING", NULL) != 0) {
		note(j, "out of memory");
		goto out;
	}
	if ((rc = vp_child_run(&ch, &cause)) < 0) {
		note(j, "%s", cause ? cause : "docker exec failed");
		goto out;
	}
	trim_copy(j, ch.out.len ? &ch.out : &ch.err);
	ok = rc == 0 && strcmp(j->detail, "PONG") == 0;
 out:
	if (ch.env.n > 0)
		explicit_bzero(ch.env.v[0], strlen(ch.env.v[0]));
	if (kv != NULL) {
		explicit_bzero(kv, strlen(kv));
		free(kv);
	}
	free(cause);
	vp_child_release(&ch);
	return ok;
}

static int
c_vpn(struct job *j)
{
	return vhost_expect(j, j->env->o->admin_host, j->arg, 403,
	    " (expected 403 outside the VPN)");
}

static void *
job_main(void *arg)
{
	struct job	*j = arg;
	long long	 t0 = now_ms();

	j->ok = j->fn(j);
	j->ms = now_ms() - t0;
	return NULL;
}

static void
free_routes(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int
smoke_admin_routes(const char *text, const char *admin_host, char ***routes,
    size_t *n, char **cause)
{
	const char	*p = text, *eol, *s;
	char		**v = NULL, **nv, word[128];
	size_t		 nv_n = 0, alen = strlen(admin_host), k;
	int		 depth = 0, in = 0, found = 0, r = VP_OK;

	*routes = NULL;
	*n = 0;
	if ((v = calloc(2, sizeof(*v))) == NULL || (v[0] = strdup("/")) ==
	    NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	nv_n = 1;
	for (; *p != '\0'; p = *eol ? eol + 1 : eol) {
		if ((eol = strchr(p, '\n')) == NULL)
			eol = p + strlen(p);
		for (s = p; s < eol && (*s == ' ' || *s == '\t'); s++)
			;
		if (s == eol || *s == '#')
			continue;
		if (depth == 0 && strncmp(s, admin_host, alen) == 0 &&
		    (s[alen] == ' ' || s[alen] == '{' || s[alen] == ':' ||
		    s[alen] == ',')) {
			in = found = 1;
		}
		if (in && depth >= 1 && (strncmp(s, "handle_path /", 13) == 0 ||
		    strncmp(s, "handle /", 8) == 0)) {
			s = strchr(s, '/');
			for (k = 0; k + 1 < sizeof(word) && s + k < eol &&
			    s[k] != ' ' && s[k] != '*' && s[k] != '{'; k++)
				word[k] = s[k];
			word[k] = '\0';
			if (k > 1) {
				if (word[k - 1] != '/' && k + 1 < sizeof(word))
					word[k++] = '/', word[k] = '\0';
				if ((nv = realloc(v, (nv_n + 2) *
				    sizeof(*v))) == NULL) {
					r = VP_ERR_NOMEM;
					goto out;
				}
				v = nv;
				if ((v[nv_n] = strdup(word)) == NULL) {
					r = VP_ERR_NOMEM;
					goto out;
				}
				v[++nv_n] = NULL;
			}
		}
		for (; s < eol; s++) {
			if (*s == '{')
				depth++;
			else if (*s == '}' && --depth == 0)
				in = 0;
		}
	}
	if (!found) {
		r = vp_fail(cause, VP_ERR_NOTFOUND, "Caddyfile: no site block "
		    "for '%s'", admin_host);
		goto out;
	}
	*routes = v;
	*n = nv_n;
	v = NULL;
 out:
	free_routes(v);
	return r;
}

static int
parse_base(const char *url, struct smoke_env *e, char **cause)
{
	const char	*h, *p;
	size_t		 n;

	if (strncmp(url, "https://", 8) == 0) {
		snprintf(e->scheme, sizeof(e->scheme), "https");
		e->port = 443;
	} else if (strncmp(url, "http://", 7) == 0) {
		snprintf(e->scheme, sizeof(e->scheme), "http");
		e->port = 80;
	} else
		return vp_fail(cause, VP_ERR_USAGE, "base URL '%s': not "
		    "http:// or https://", url);
	h = strstr(url, "://") + 3;
	n = strcspn(h, ":/");
	if (n == 0 || n >= sizeof(e->host))
		return vp_fail(cause, VP_ERR_USAGE, "base URL '%s': bad host",
		    url);
	memcpy(e->host, h, n);
	e->host[n] = '\0';
	p = h + n;
	if (*p == ':') {
		char *end;
		long v;

		errno = 0;
		v = strtol(p + 1, &end, 10);
		if (errno || v < 1 || v > 65535 || (*end && *end != '/'))
			return vp_fail(cause, VP_ERR_USAGE, "base URL '%s': "
			    "bad port", url);
		e->port = (int)v;
	}
	return VP_OK;
}

static int
add_check(struct smoke_report *rep, const struct job *j)
{
	struct smoke_check *c = &rep->v[rep->n++];

	if ((c->name = strdup(j->name)) == NULL ||
	    (c->detail = strdup(j->detail)) == NULL)
		return VP_ERR_NOMEM;
	c->ok = j->ok;
	c->ms = j->ms;
	if (!j->ok)
		rep->failed++;
	if (j->ms > rep->slowest_ms)
		rep->slowest_ms = j->ms;
	return VP_OK;
}

int
smoke_run(const struct smoke_opts *o, struct smoke_report *rep, char **cause)
{
	static const struct {
		const char	*name;
		int		(*fn)(struct job *);
	} fixed[] = {
		{ "https-health", c_https_health },
		{ "tls-certificate", c_tls },
		{ "dns", c_dns },
		{ "n8n-healthz", c_n8n },
		{ "n8n-via-caddy", c_n8n_caddy },
		{ "grafana-health", c_grafana },
		{ "litellm-health", c_litellm_health },
		{ "litellm-models", c_litellm_models },
		{ "postgresql-ready", c_postgres },
		{ "redis-ping", c_redis },
		{ "qdrant-healthz", c_qdrant },
	};
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	struct smoke_env	 e;
	struct job		*jobs = NULL;
	char			**routes = NULL, *base = NULL;
	size_t			 nroutes = 0, nj = 0, i;
	long long		 t0 = now_ms();
	int			 r;

	memset(&e, 0, sizeof(e));
	e.o = o;
	e.cs = &cs;
	e.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	if (o->base_url == NULL) {
		if (asprintf(&base, "https://%s", o->domain) < 0) {
			base = NULL;
			r = VP_ERR_NOMEM;
			goto out;
		}
	}
	if ((r = parse_base(base ? base : o->base_url, &e, cause)) != 0)
		goto out;
	e.ip = o->resolve_ip;
	if (e.ip == NULL) {
		size_t n = strlen(o->domain);

		if (n >= 10 && strcmp(o->domain + n - 10, ".localhost") == 0)
			e.ip = "127.0.0.1";
	}
	if ((r = smoke_admin_routes(o->caddyfile, o->admin_host, &routes,
	    &nroutes, cause)) != 0)
		goto out;
	if ((r = deploy_list(o->project, &cs, cause)) != 0)
		goto out;
	nj = sizeof(fixed) / sizeof(fixed[0]) + nroutes;
	if (nj > SMOKE_MAX) {
		r = vp_fail(cause, VP_ERR_TOOBIG, "too many admin routes");
		goto out;
	}
	if ((jobs = calloc(nj, sizeof(*jobs))) == NULL ||
	    (rep->v = calloc(nj, sizeof(*rep->v))) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		r = vp_fail(cause, VP_ERR_CHILD, "%s", vp_curl_error() != NULL ?
		    vp_curl_error() : "curl_global_init failed");
		goto out;
	}
	for (i = 0; i < nj; i++) {
		jobs[i].env = &e;
		if (i < sizeof(fixed) / sizeof(fixed[0])) {
			snprintf(jobs[i].name, sizeof(jobs[i].name), "%s",
			    fixed[i].name);
			jobs[i].fn = fixed[i].fn;
		} else {
			jobs[i].arg = routes[i - sizeof(fixed) /
			    sizeof(fixed[0])];
			snprintf(jobs[i].name, sizeof(jobs[i].name),
			    "vpn-only %s", jobs[i].arg);
			jobs[i].fn = c_vpn;
		}
	}
	for (i = 0; i < nj; i++) {
		if (pthread_create(&jobs[i].tid, NULL, job_main, &jobs[i]) == 0)
			jobs[i].started = 1;
		else
			job_main(&jobs[i]);
	}
	for (i = 0; i < nj; i++)
		if (jobs[i].started)
			pthread_join(jobs[i].tid, NULL);
	rep->wall_ms = now_ms() - t0;
	for (i = 0; i < nj; i++)
		if ((r = add_check(rep, &jobs[i])) != 0)
			goto out;
 out:
	free(jobs);
	free(base);
	free_routes(routes);
	deploy_ctrs_release(&cs);
	return r;
}

void
smoke_report_release(struct smoke_report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; rep->v != NULL && i < rep->n; i++) {
		free(rep->v[i].name);
		free(rep->v[i].detail);
	}
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}
