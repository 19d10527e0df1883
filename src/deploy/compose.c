/*
 * compose.c: the Docker CLI driver: engine and compose detection,
 * `docker inspect` parsing, memory use, logs.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/child.h"
#include "core/file.h"
#include "deploy/deploy.h"

#define DOCKER_TIMEOUT_MS	30000

/* First line of s (at most 300 bytes), for error causes. */
static void
first_line(const char *s, char *out, size_t outlen)
{
	size_t n;

	while (*s == '\n' || *s == ' ')
		s++;
	n = strcspn(s, "\n");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* On a remote target: does `docker-compose version` run there? */
static int
compose_v1_answers(void)
{
	struct vp_child	c = VP_CHILD_INIT;
	int		r;

	c.timeout_ms = 15000;
	r = vp_argv_pushl(&c.args, "docker-compose", "version", "--short",
	    NULL) == 0 && vp_child_run(&c, NULL) == 0;
	vp_child_release(&c);
	return r;
}

int
deploy_engine_detect(struct deploy_engine *e, char **cause)
{
	struct vp_child	 c = VP_CHILD_INIT;
	const char	*host = getenv("DOCKER_HOST");
	char		 line[320];
	int		 r;

	if (!vp_child_is_remote("docker") && !vp_have_program("docker")) {
		r = vp_fail(cause, VP_ERR_NOTFOUND, "'docker' is not installed "
		    "(apt-get install docker.io)");
		goto out;
	}
	c.timeout_ms = 15000;
	if ((r = vp_argv_pushl(&c.args, "docker", "version", "--format",
	    "{{.Server.Version}}", NULL)) != 0)
		goto out;
	if ((r = vp_child_run(&c, cause)) < 0) {
		r = vp_fail_prefix(cause, VP_ERR_REMOTE, "docker engine");
		goto out;
	}
	if (r != 0 || c.out.len == 0) {
		first_line(c.err.buf, line, sizeof(line));
		r = vp_child_is_remote("docker") ? vp_fail(cause,
		    VP_ERR_REMOTE, "docker engine not reachable on the "
		    "target: %s", line) : vp_fail(cause, VP_ERR_REMOTE,
		    "docker engine not reachable at %s: %s", host && *host ?
		    host : "unix:///var/run/docker.sock", line);
		goto out;
	}
	c.out.buf[strcspn(c.out.buf, "\n")] = '\0';
	free(e->server_version);
	if ((e->server_version = strdup(c.out.buf)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	vp_child_release(&c);
	c = (struct vp_child)VP_CHILD_INIT;
	c.timeout_ms = 15000;
	if ((r = vp_argv_pushl(&c.args, "docker", "compose", "version",
	    "--short", NULL)) != 0)
		goto out;
	r = vp_child_run(&c, NULL);
	if (r == 0) {
		e->compose_v2 = 1;
	} else if (vp_child_is_remote("docker-compose") ?
	    compose_v1_answers() : vp_have_program("docker-compose")) {
		e->compose_v2 = 0;
	} else {
		r = vp_fail(cause, VP_ERR_NOTFOUND, "neither 'docker compose' "
		    "nor 'docker-compose' is installed (apt-get install "
		    "docker-compose)");
		goto out;
	}
	r = VP_OK;
 out:
	vp_child_release(&c);
	return r;
}

void
deploy_engine_release(struct deploy_engine *e)
{
	if (e == NULL)
		return;
	free(e->server_version);
	e->server_version = NULL;
}

int
deploy_compose_argv(const struct deploy_engine *e, const char *project,
    const char *file, struct vp_argv *a)
{
	int r;

	if (e->compose_v2)
		r = vp_argv_pushl(a, "docker", "compose", NULL);
	else
		r = vp_argv_pushl(a, "docker-compose", NULL);
	if (r == 0)
		r = vp_argv_pushl(a, "-p", project, NULL);
	if (r == 0 && file != NULL)
		r = vp_argv_pushl(a, "-f", file, NULL);
	return r;
}

/* ==== Parsing ==== */

static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long	era;
	unsigned	yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

long long
deploy_parse_time(const char *s)
{
	int		 y, mo, d, h, mi, sec, n = 0, oh, om;
	long long	 t;
	const char	*p;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d,
	    &h, &mi, &sec, &n) != 6 || n == 0)
		return 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return 0;
	t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec;
	p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'Z' && p[1] == '\0')
		return t;
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh,
	    &om) == 2) {
		t += (*p == '+' ? -1 : 1) * (oh * 3600 + om * 60);
		return t;
	}
	return 0;
}

long long
deploy_parse_duration(const char *s)
{
	long long	 total = 0;
	double		 v;
	char		*end;

	if (s == NULL || *s == '\0')
		return -1;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		if (strncmp(s, "ms", 2) == 0) {
			total += (long long)v;
			s += 2;
		} else if (strncmp(s, "us", 2) == 0) {
			total += (long long)(v / 1000);
			s += 2;
		} else if (*s == 'h') {
			total += (long long)(v * 3600000);
			s++;
		} else if (*s == 'm') {
			total += (long long)(v * 60000);
			s++;
		} else if (*s == 's') {
			total += (long long)(v * 1000);
			s++;
		} else
			return -1;
	}
	return total;
}

static char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return strdup(s ? s : "");
}

/* The address on the network whose name sorts first (stable). */
static char *
first_ip(const json_t *nets)
{
	const char	*k, *best = NULL, *ip;
	const json_t	*v;

	json_object_foreach((json_t *)(uintptr_t)nets, k, v) {
		ip = json_string_value(json_object_get(v, "IPAddress"));
		if (ip == NULL || *ip == '\0')
			continue;
		if (best == NULL || strcmp(k, best) < 0)
			best = k;
	}
	ip = best ? json_string_value(json_object_get(json_object_get(nets,
	    best), "IPAddress")) : "";
	return strdup(ip);
}

static void
ctr_release(struct deploy_ctr *c)
{
	free(c->id);
	free(c->name);
	free(c->service);
	free(c->project);
	free(c->state);
	free(c->health);
	free(c->health_out);
	free(c->image);
	free(c->image_id);
	free(c->phase);
	free(c->config_hash);
	free(c->ip);
	memset(c, 0, sizeof(*c));
}

void
deploy_ctrs_release(struct deploy_ctrs *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < cs->n; i++)
		ctr_release(&cs->v[i]);
	free(cs->v);
	cs->v = NULL;
	cs->n = 0;
}

static int
cmp_ctr(const void *a, const void *b)
{
	const struct deploy_ctr *x = a, *y = b;
	int c;

	if ((c = strcmp(x->service, y->service)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

int
deploy_parse_inspect(const char *json, size_t len, struct deploy_ctrs *cs,
    char **cause)
{
	json_error_t	 je;
	json_t		*doc, *o, *st, *cfg, *hc, *lab, *h, *logs;
	struct deploy_ctr *nv, *c;
	const char	*name;
	size_t		 i;
	int		 r = VP_OK;

	if ((doc = json_loadb(json, len, 0, &je)) == NULL)
		return vp_fail(cause, VP_ERR_PARSE, "docker inspect: line %d: "
		    "%s", je.line, je.text);
	if (!json_is_array(doc)) {
		r = vp_fail(cause, VP_ERR_PARSE, "docker inspect: expected an "
		    "array");
		goto out;
	}
	if (json_array_size(doc) == 0)
		goto out;
	if ((nv = realloc(cs->v, (cs->n + json_array_size(doc)) *
	    sizeof(*nv))) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	cs->v = nv;
	json_array_foreach(doc, i, o) {
		st = json_object_get(o, "State");
		cfg = json_object_get(o, "Config");
		hc = json_object_get(o, "HostConfig");
		lab = json_object_get(cfg, "Labels");
		h = json_object_get(st, "Health");
		c = &cs->v[cs->n];
		memset(c, 0, sizeof(*c));
		cs->n++;
		name = json_string_value(json_object_get(o, "Name"));
		if (name != NULL && *name == '/')
			name++;
		c->id = jstr(o, "Id");
		c->name = strdup(name ? name : "");
		c->service = jstr(lab, "com.docker.compose.service");
		c->project = jstr(lab, "com.docker.compose.project");
		c->state = jstr(st, "Status");
		c->health = jstr(h, "Status");
		c->image = jstr(cfg, "Image");
		c->image_id = jstr(o, "Image");
		c->phase = jstr(lab, "vpai.phase");
		c->config_hash = jstr(lab, "vpai.config-hash");
		c->ip = first_ip(json_object_get(json_object_get(o,
		    "NetworkSettings"), "Networks"));
		logs = json_object_get(h, "Log");
		c->health_out = json_array_size(logs) > 0 ? jstr(
		    json_array_get(logs, json_array_size(logs) - 1),
		    "Output") : strdup("");
		c->restarts = (int)json_integer_value(json_object_get(o,
		    "RestartCount"));
		c->exit_code = (int)json_integer_value(json_object_get(st,
		    "ExitCode"));
		c->started = deploy_parse_time(json_string_value(
		    json_object_get(st, "StartedAt")));
		c->mem_limit = json_integer_value(json_object_get(hc,
		    "Memory"));
		c->mem_use = -1;
		if (c->id == NULL || c->name == NULL || c->service == NULL ||
		    c->project == NULL || c->state == NULL ||
		    c->health == NULL || c->image == NULL ||
		    c->image_id == NULL || c->phase == NULL ||
		    c->config_hash == NULL || c->health_out == NULL ||
		    c->ip == NULL) {
			r = VP_ERR_NOMEM;
			goto out;
		}
	}
	qsort(cs->v, cs->n, sizeof(*cs->v), cmp_ctr);
 out:
	json_decref(doc);
	return r;
}

/* Run a docker command, capturing; non-zero exit is an error with stderr. */
static int
docker_run(struct vp_child *c, const char *what, char **cause)
{
	char	line[320];
	int	r;

	if (c->timeout_ms == 0)
		c->timeout_ms = DOCKER_TIMEOUT_MS;
	if ((r = vp_child_run(c, cause)) < 0)
		return vp_fail_prefix(cause, r, "%s", what);
	if (r != 0) {
		first_line(c->err.buf, line, sizeof(line));
		return vp_fail(cause, VP_ERR_CHILD, "%s: %s", what,
		    *line ? line : "failed");
	}
	return VP_OK;
}

int
deploy_inspect(char *const *ids, size_t n, struct deploy_ctrs *cs,
    char **cause)
{
	struct vp_child	c = VP_CHILD_INIT;
	size_t		i;
	int		r;

	if (n == 0)
		return VP_OK;
	if ((r = vp_argv_pushl(&c.args, "docker", "inspect", "--type",
	    "container", NULL)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = vp_argv_push(&c.args, ids[i])) != 0)
			goto out;
	c.timeout_ms = DOCKER_TIMEOUT_MS;
	if ((r = vp_child_run(&c, cause)) < 0)
		goto out;
	/* Exit 1 when one vanished: the others are still printed. */
	if (c.out.len == 0 && r != 0) {
		if (strstr(c.err.buf, "No such") != NULL) {
			r = VP_OK;
			goto out;
		}
		r = docker_run(&c, "docker inspect", cause);
		goto out;
	}
	r = deploy_parse_inspect(c.out.buf, c.out.len, cs, cause);
 out:
	vp_child_release(&c);
	return r;
}

int
deploy_list(const char *project, struct deploy_ctrs *cs, char **cause)
{
	struct vp_child	 c = VP_CHILD_INIT;
	struct vp_argv	 ids = VP_ARGV_INIT;
	char		*p, *q;
	int		 r;

	if ((r = vp_argv_pushl(&c.args, "docker", "ps", "-a", "-q",
	    "--no-trunc", "--filter", NULL)) != 0 ||
	    (r = vp_argv_pushf(&c.args, "label=com.docker.compose.project=%s",
	    project)) != 0)
		goto out;
	if ((r = docker_run(&c, "docker ps", cause)) != 0)
		goto out;
	for (p = c.out.buf; *p != '\0'; p = q) {
		q = p + strcspn(p, "\n");
		if (*q == '\n')
			*q++ = '\0';
		if (*p != '\0' && (r = vp_argv_push(&ids, p)) != 0)
			goto out;
	}
	r = deploy_inspect(ids.v, ids.n, cs, cause);
 out:
	vp_argv_release(&ids);
	vp_child_release(&c);
	return r;
}

const struct deploy_ctr *
deploy_ctrs_find(const struct deploy_ctrs *cs, const char *service)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->v[i].service, service) == 0)
			return &cs->v[i];
	return NULL;
}

/* Memory use from the cgroup files (v1 and v2, cgroupfs or systemd). */
static long long
cgroup_mem(const char *id)
{
	static const char *const fmt[] = {
		"/sys/fs/cgroup/memory/docker/%s/memory.usage_in_bytes",
		"/sys/fs/cgroup/docker/%s/memory.current",
		"/sys/fs/cgroup/system.slice/docker-%s.scope/memory.current",
		"/sys/fs/cgroup/memory/system.slice/docker-%s.scope/memory.usage_in_bytes",
	};
	char	 path[256];
	FILE	*f;
	long long v;
	size_t	 i;

	for (i = 0; i < sizeof(fmt) / sizeof(*fmt); i++) {
		snprintf(path, sizeof(path), fmt[i], id);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
		if (v >= 0)
			return v;
	}
	return -1;
}

/* "12.5MiB" -> bytes. */
static long long
parse_size(const char *s)
{
	static const struct { const char *u; double m; } units[] = {
		{ "GiB", 1073741824.0 }, { "MiB", 1048576.0 },
		{ "KiB", 1024.0 }, { "GB", 1e9 }, { "MB", 1e6 },
		{ "kB", 1e3 }, { "B", 1.0 },
	};
	char	*end;
	double	 v = strtod(s, &end);
	size_t	 i;

	if (end == s)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(*units); i++)
		if (strncmp(end, units[i].u, strlen(units[i].u)) == 0)
			return (long long)(v * units[i].m);
	return -1;
}

int
deploy_mem_usage(struct deploy_ctrs *cs, char **cause)
{
	struct vp_child	 c = VP_CHILD_INIT;
	const char	*host = getenv("DOCKER_HOST");
	json_t		*o;
	json_error_t	 je;
	char		*p, *q;
	size_t		 i, missing = 0;
	int		 r = VP_OK;

	for (i = 0; i < cs->n; i++) {
		cs->v[i].mem_use = -1;
		if (strcmp(cs->v[i].state, "running") != 0)
			continue;
		if (!vp_child_is_remote("docker") && (host == NULL ||
		    *host == '\0' || strncmp(host, "unix://", 7) == 0))
			cs->v[i].mem_use = cgroup_mem(cs->v[i].id);
		if (cs->v[i].mem_use < 0)
			missing++;
	}
	if (missing == 0)
		goto out;
	if ((r = vp_argv_pushl(&c.args, "docker", "stats", "--no-stream",
	    "--no-trunc", "--format", "{{json .}}", NULL)) != 0)
		goto out;
	for (i = 0; i < cs->n; i++)
		if (cs->v[i].mem_use < 0 &&
		    strcmp(cs->v[i].state, "running") == 0 &&
		    (r = vp_argv_push(&c.args, cs->v[i].id)) != 0)
			goto out;
	if ((r = docker_run(&c, "docker stats", cause)) != 0)
		goto out;
	for (p = c.out.buf; *p != '\0'; p = q) {
		const char *id, *mem;

		q = p + strcspn(p, "\n");
		if (*q == '\n')
			*q++ = '\0';
		if ((o = json_loads(p, 0, &je)) == NULL)
			continue;
		id = json_string_value(json_object_get(o, "ID"));
		mem = json_string_value(json_object_get(o, "MemUsage"));
		for (i = 0; id != NULL && mem != NULL && i < cs->n; i++)
			if (strncmp(cs->v[i].id, id, strlen(id)) == 0)
				cs->v[i].mem_use = parse_size(mem);
		json_decref(o);
	}
 out:
	vp_child_release(&c);
	return r;
}

int
deploy_gate(const struct deploy_ctr *c, int base_restarts)
{
	if (strcmp(c->state, "exited") == 0 || strcmp(c->state, "dead") == 0 ||
	    strcmp(c->state, "restarting") == 0)
		return -1;
	if (c->restarts > base_restarts)
		return -1;
	if (strcmp(c->health, "unhealthy") == 0)
		return -1;
	if (strcmp(c->state, "running") != 0)
		return 0;
	if (*c->health == '\0' || strcmp(c->health, "healthy") == 0)
		return 1;
	return 0;
}

static long long
hc_ms(const json_t *hc, const char *k, long long def)
{
	const json_t	*x = json_object_get(hc, k);
	long long	 v;

	if (json_is_integer(x))		/* compose accepts seconds */
		return json_integer_value(x) * 1000;
	if (!json_is_string(x))
		return def;
	v = deploy_parse_duration(json_string_value(x));
	return v < 0 ? def : v;
}

long long
deploy_gate_timeout_ms(const json_t *svc)
{
	const json_t	*hc = json_object_get(svc, "healthcheck");
	long long	 start, iv, to, retries;

	if (hc == NULL || json_is_true(json_object_get(hc, "disable")))
		return 30000;
	start = hc_ms(hc, "start_period", 0);
	iv = hc_ms(hc, "interval", 30000);
	to = hc_ms(hc, "timeout", 30000);
	retries = json_is_integer(json_object_get(hc, "retries")) ?
	    json_integer_value(json_object_get(hc, "retries")) : 3;
	return start + (iv + to) * (retries + 1) + 10000;
}

int
deploy_logs(const char *id, int tail, struct vp_buf *out, char **cause)
{
	struct vp_child	c = VP_CHILD_INIT;
	int		r;

	if ((r = vp_argv_pushl(&c.args, "docker", "logs", "--tail", NULL))
	    != 0 || (r = vp_argv_pushf(&c.args, "%d", tail)) != 0 ||
	    (r = vp_argv_push(&c.args, id)) != 0)
		goto out;
	c.out.cap = c.err.cap = 1u << 20;
	if ((r = docker_run(&c, "docker logs", cause)) != 0)
		goto out;
	/* Interleaving is lost: stdout lines, then stderr lines. */
	if ((r = vp_buf_add(out, c.out.buf, c.out.len)) != 0 ||
	    (r = vp_buf_add(out, c.err.buf, c.err.len)) != 0)
		goto out;
 out:
	vp_child_release(&c);
	return r;
}
