/*
 * phases.c: deploy_apply(): image and network preflight, then compose
 * `up -d --no-deps` phase by phase, each gated on the health of its
 * containers; data directories and the probe binary.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/buf.h"
#include "core/child.h"
#include "core/file.h"
#include "core/opt.h"
#include "deploy/deploy.h"

#define UP_TIMEOUT_MS	(15 * 60 * 1000)
#define PULL_TIMEOUT_MS	(15 * 60 * 1000)
#define LOG_TAIL	30
#define REPORT_EVERY_MS	5000

struct sel {
	const char	*name;
	const char	*phase;		/* "A" or "B" */
	const char	*image;
	long long	 timeout_ms;
	const struct deploy_ctr *before;
	const json_t	*svc;		/* its compose definition */
	char		*image_id;	/* what the tag points at now */
	char		 spec[65];	/* hash of the compose definition */
	char		*id;		/* container after up */
	int		 base_restarts;
	int		 done;		/* 1 ready, -1 failed */
	char		 state[32];
	long long	 last_report;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
emit(const struct deploy_opts *o, enum deploy_ev_type t, const char *phase,
    const char *svc, const char *state, double elapsed, const char *msg)
{
	struct deploy_event ev;

	if (o->progress == NULL)
		return;
	ev.type = t;
	ev.phase = phase;
	ev.service = svc;
	ev.state = state;
	ev.elapsed = elapsed;
	ev.msg = msg;
	o->progress(o->arg, &ev);
}

static int
stopped(const struct deploy_opts *o)
{
	return o->stop != NULL && *o->stop != 0;
}

static const char *
svc_phase(const json_t *svc)
{
	const char *p = json_string_value(json_object_get(
	    json_object_get(svc, "labels"), "vpai.phase"));

	return p != NULL && strcmp(p, "A") == 0 ? "A" : "B";
}

static int
cmp_sel(const void *a, const void *b)
{
	const struct sel *x = a, *y = b;
	int c;

	if ((c = strcmp(x->phase, y->phase)) != 0)
		return c;
	return strcmp(x->name, y->name);
}

/* The selected services, sorted by phase then name. */
static int
select_services(const struct deploy_opts *o, struct sel **out, size_t *nout,
    char **cause)
{
	const json_t	*svcs = json_object_get(o->compose, "services");
	const json_t	*svc;
	const char	*k, **cands = NULL, *m;
	struct sel	*v = NULL;
	size_t		 n = 0, i, j, nc = 0;
	int		 r = VP_OK;

	if (!json_is_object(svcs) || json_object_size(svcs) == 0)
		return vp_fail(cause, VP_ERR_INVALID, "'%s': no services",
		    o->compose_file);
	if ((v = calloc(json_object_size(svcs), sizeof(*v))) == NULL ||
	    (cands = calloc(json_object_size(svcs), sizeof(*cands))) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	json_object_foreach((json_t *)(uintptr_t)svcs, k, svc)
		cands[nc++] = k;
	for (i = 0; i < o->nonly; i++) {
		if (json_object_get(svcs, o->only[i]) != NULL)
			continue;
		m = vp_did_you_mean(o->only[i], cands, nc);
		r = vp_fail(cause, VP_ERR_NOTFOUND, "--only: no service "
		    "'%s'%s%s%s", o->only[i], m ? " (did you mean '" : "",
		    m ? m : "", m ? "'?)" : "");
		goto out;
	}
	json_object_foreach((json_t *)(uintptr_t)svcs, k, svc) {
		if (o->nonly > 0) {
			for (j = 0; j < o->nonly; j++)
				if (strcmp(o->only[j], k) == 0)
					break;
			if (j == o->nonly)
				continue;
		}
		v[n].name = k;
		v[n].svc = svc;
		v[n].phase = svc_phase(svc);
		v[n].image = json_string_value(json_object_get(svc, "image"));
		if (v[n].image == NULL) {
			r = vp_fail(cause, VP_ERR_INVALID, "service '%s': no "
			    "image", k);
			goto out;
		}
		v[n].timeout_ms = o->timeout_s > 0 ?
		    (long long)o->timeout_s * 1000 :
		    deploy_gate_timeout_ms(svc);
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_sel);
	*out = v;
	*nout = n;
	v = NULL;
 out:
	free(cands);
	free(v);
	return r;
}

/* ==== Images ==== */

static int
image_exists(const char *img)
{
	struct vp_child	c = VP_CHILD_INIT;
	int		r;

	c.timeout_ms = 30000;
	if (vp_argv_pushl(&c.args, "docker", "image", "inspect", "--format",
	    "{{.Id}}", img, NULL) != 0) {
		vp_child_release(&c);
		return -1;
	}
	r = vp_child_run(&c, NULL);
	vp_child_release(&c);
	return r == 0;
}

static int
image_pull(const struct deploy_opts *o, const char *svc, const char *img)
{
	struct vp_child	c = VP_CHILD_INIT;
	char		msg[512];
	int		r;

	snprintf(msg, sizeof(msg), "pulling %s for %s", img, svc);
	emit(o, DEPLOY_EV_STEP, NULL, svc, NULL, 0, msg);
	c.timeout_ms = PULL_TIMEOUT_MS;
	if (vp_argv_pushl(&c.args, "docker", "pull", "-q", img, NULL) != 0) {
		vp_child_release(&c);
		return -1;
	}
	r = vp_child_run(&c, NULL);
	vp_child_release(&c);
	return r == 0;
}

/* Every image must exist before anything is created or stopped. */
static int
check_images(const struct deploy_opts *o, struct sel *v, size_t n,
    char **cause)
{
	struct vp_child	 c = VP_CHILD_INIT;
	struct vp_buf	 miss = VP_BUF_INIT(64u << 10);
	size_t		 i, j, nmiss = 0;
	int		 r;

	/* Fast path: one call for all. */
	c.timeout_ms = 30000;
	if ((r = vp_argv_pushl(&c.args, "docker", "image", "inspect",
	    "--format", "{{.Id}}", NULL)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = vp_argv_push(&c.args, v[i].image)) != 0)
			goto out;
	if ((r = vp_child_run(&c, cause)) < 0)
		goto out;
	if (r == 0) {
		/* One id per line, in argument order. */
		char *p = c.out.buf, *q;

		for (i = 0; i < n && *p != '\0'; i++, p = q) {
			q = p + strcspn(p, "\n");
			if (*q == '\n')
				*q++ = '\0';
			if ((v[i].image_id = strdup(p)) == NULL) {
				r = VP_ERR_NOMEM;
				goto out;
			}
		}
		goto out;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(v[j].image, v[i].image) == 0)
				break;
		if (j < i && image_exists(v[i].image) != 0)
			continue;
		if (image_exists(v[i].image) == 1)
			continue;
		if (o->pull && image_pull(o, v[i].name, v[i].image) == 1 &&
		    image_exists(v[i].image) == 1)
			continue;
		if ((r = vp_buf_addf(&miss, "%sservice '%s': image '%s'",
		    nmiss ? "; " : "", v[i].name, v[i].image)) != 0)
			goto out;
		nmiss++;
	}
	if (nmiss > 0)
		r = vp_fail(cause, VP_ERR_NOTFOUND, "%s does not exist on this "
		    "engine%s; nothing was stopped or created", miss.buf,
		    o->pull ? " and could not be pulled" :
		    " (build it, or check the tag)");
	else
		r = VP_OK;
 out:
	vp_buf_release(&miss);
	vp_child_release(&c);
	return r;
}

/* ==== Networks ==== */

static int
subnets_equal(const json_t *want_ipam, const json_t *have_ipam)
{
	const json_t	*wc = json_object_get(want_ipam, "config");
	const json_t	*hc = json_object_get(have_ipam, "Config");
	const json_t	*x, *y;
	size_t		 i, j;

	if (json_array_size(wc) == 0)
		return 1;
	if (json_array_size(wc) != json_array_size(hc))
		return 0;
	json_array_foreach(wc, i, x) {
		const char *s = json_string_value(json_object_get(x, "subnet"));

		if (s == NULL)
			continue;
		json_array_foreach(hc, j, y)
			if (json_string_value(json_object_get(y, "Subnet")) &&
			    strcmp(s, json_string_value(json_object_get(y,
			    "Subnet"))) == 0)
				break;
		if (j == json_array_size(hc))
			return 0;
	}
	return 1;
}

/* Why compose would refuse this existing network, or NULL. */
static const char *
network_problem(const char *project, const char *key, const char *name,
    const json_t *want, const json_t *have)
{
	const json_t	*lab = json_object_get(have, "Labels");
	const char	*p, *nk, *drv;

	p = json_string_value(json_object_get(lab,
	    "com.docker.compose.project"));
	nk = json_string_value(json_object_get(lab,
	    "com.docker.compose.network"));
	if (p == NULL || nk == NULL)
		return "it has no compose labels";
	if (strcmp(p, project) != 0)
		return "it belongs to another compose project";
	/* v2 labels the key, v1 the name. */
	if (strcmp(nk, key) != 0 && strcmp(nk, name) != 0)
		return "its compose network label differs";
	drv = json_string_value(json_object_get(want, "driver"));
	if (drv != NULL && strcmp(drv, json_string_value(json_object_get(have,
	    "Driver")) ? json_string_value(json_object_get(have, "Driver")) :
	    "") != 0)
		return "its driver differs";
	if (json_is_true(json_object_get(want, "internal")) !=
	    json_is_true(json_object_get(have, "Internal")))
		return "its internal flag differs";
	if (!subnets_equal(json_object_get(want, "ipam"),
	    json_object_get(have, "IPAM")))
		return "its subnet differs";
	return NULL;
}

static int
network_rm(const char *name, char **cause)
{
	struct vp_child	c = VP_CHILD_INIT;
	int		r;

	c.timeout_ms = 30000;
	if ((r = vp_argv_pushl(&c.args, "docker", "network", "rm", name,
	    NULL)) == 0 && (r = vp_child_run(&c, cause)) > 0)
		r = vp_fail(cause, VP_ERR_CHILD, "docker network rm '%s' "
		    "failed", name);
	vp_child_release(&c);
	return r;
}

static int
check_networks(const struct deploy_opts *o, struct deploy_result *res,
    char **cause)
{
	const json_t	*nets = json_object_get(o->compose, "networks");
	const json_t	*want, *have, *x;
	struct vp_child	 c = VP_CHILD_INIT;
	struct vp_buf	 who = VP_BUF_INIT(64u << 10);
	json_t		*doc = NULL;
	json_error_t	 je;
	const char	*key, *name, *why, *hn, *ck;
	char		 def[256];
	size_t		 i, nask = 0;
	int		 r;

	if (json_object_size(nets) == 0)
		return VP_OK;
	c.timeout_ms = 30000;
	if ((r = vp_argv_pushl(&c.args, "docker", "network", "inspect",
	    NULL)) != 0)
		goto out;
	json_object_foreach((json_t *)(uintptr_t)nets, key, want) {
		if (json_is_true(json_object_get(want, "external")))
			continue;
		name = json_string_value(json_object_get(want, "name"));
		if (name == NULL) {
			snprintf(def, sizeof(def), "%s_%s", o->project, key);
			name = def;
		}
		if ((r = vp_argv_push(&c.args, name)) != 0)
			goto out;
		nask++;
	}
	if (nask == 0)
		goto out;
	if ((r = vp_child_run(&c, cause)) < 0)
		goto out;
	if ((doc = json_loadb(c.out.buf, c.out.len, 0, &je)) == NULL ||
	    !json_is_array(doc)) {
		/* None of them exists: compose creates them. */
		r = VP_OK;
		goto out;
	}
	json_array_foreach(doc, i, have) {
		hn = json_string_value(json_object_get(have, "Name"));
		if (hn == NULL)
			continue;
		json_object_foreach((json_t *)(uintptr_t)nets, key, want) {
			name = json_string_value(json_object_get(want, "name"));
			if (name == NULL) {
				snprintf(def, sizeof(def), "%s_%s", o->project,
				    key);
				name = def;
			}
			if (strcmp(name, hn) == 0)
				break;
		}
		if (want == NULL)
			continue;
		if ((why = network_problem(o->project, key, hn, want,
		    have)) == NULL)
			continue;
		if (json_object_size(json_object_get(have, "Containers")) >
		    0) {
			vp_buf_reset(&who);
			json_object_foreach(json_object_get(have,
			    "Containers"), ck, x)
				if ((r = vp_buf_addf(&who, "%s%s",
				    who.len ? ", " : "", json_string_value(
				    json_object_get(x, "Name")) ?
				    json_string_value(json_object_get(x,
				    "Name")) : ck)) != 0)
					goto out;
			r = vp_fail(cause, VP_ERR_EXISTS, "network '%s' exists "
			    "but compose would refuse it (%s) and containers "
			    "use it: %s; stop them, then re-run (apply removes "
			    "an unused one and lets compose recreate it)",
			    hn, why, who.buf);
			goto out;
		}
		if ((r = network_rm(hn, cause)) != 0) {
			vp_fail_prefix(cause, r, "network '%s' (%s)", hn, why);
			goto out;
		}
		if ((r = vp_argv_pushf(&res->repaired, "%s (%s)", hn,
		    why)) != 0)
			goto out;
	}
	r = VP_OK;
 out:
	json_decref(doc);
	vp_buf_release(&who);
	vp_child_release(&c);
	return r;
}

/* ==== Up and gate ==== */

/* Copy the text after `from` in s up to the first of `stops`. */
static int
extract(const char *s, const char *from, const char *const *stops,
    char *out, size_t outlen)
{
	const char	*p, *e, *best = NULL;
	size_t		 n, i;

	if ((p = strstr(s, from)) == NULL)
		return 0;
	p += strlen(from);
	for (i = 0; stops[i] != NULL; i++)
		if ((e = strstr(p, stops[i])) != NULL && (best == NULL ||
		    e < best))
			best = e;
	if (best == NULL)
		return 0;
	n = (size_t)(best - p);
	if (n == 0 || n >= outlen || memchr(p, '\n', n) != NULL)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return 1;
}

int
deploy_up_error(const char *err, const char *phase, char **cause)
{
	static const char *const svc_end[] = { ":", " ", NULL };
	static const char *const bind_end[] = { ": bind", NULL };
	static const char *const for_end[] = { " failed", NULL };
	const char	*p;
	char		 buf[1024], svc[128], addr[128];
	size_t		 n;

	if (strstr(err, "already allocated") != NULL ||
	    strstr(err, "address already in use") != NULL) {
		if (!extract(err, "Cannot start service ", svc_end, svc,
		    sizeof(svc)))
			snprintf(svc, sizeof(svc), "?");
		if (!extract(err, "listen tcp4 ", bind_end, addr,
		    sizeof(addr)) && !extract(err, "listen tcp6 ", bind_end,
		    addr, sizeof(addr)) && !extract(err, "listen tcp ",
		    bind_end, addr, sizeof(addr)) && !extract(err,
		    "listen udp4 ", bind_end, addr, sizeof(addr)) &&
		    !extract(err, "Bind for ", for_end, addr, sizeof(addr)))
			snprintf(addr, sizeof(addr), "?");
		return vp_fail(cause, VP_ERR_EXISTS, "phase %s: service '%s' "
		    "cannot start: a published port is already in use on "
		    "this host: %s (stop what listens there, or change the "
		    "port)", phase, svc, addr);
	}
	/* The last few non-empty lines. */
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
		n--;
	for (p = err + n; p > err; p--) {
		if (p[-1] == '\n' && (size_t)(err + n - p) > 600)
			break;
	}
	n = (size_t)(err + n - p);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return vp_fail(cause, VP_ERR_CHILD, "phase %s: compose up failed:\n%s",
	    phase, buf);
}

static int
compose_up(const struct deploy_engine *e, const struct deploy_opts *o,
    const char *phase, struct sel *v, size_t n, char **cause)
{
	struct vp_child	c = VP_CHILD_INIT;
	size_t		i;
	int		r;

	if ((r = deploy_compose_argv(e, o->project, o->compose_file,
	    &c.args)) != 0 || (r = vp_argv_pushl(&c.args, "up", "-d",
	    "--no-deps", NULL)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = vp_argv_push(&c.args, v[i].name)) != 0)
			goto out;
	c.timeout_ms = UP_TIMEOUT_MS;	/* output captured: no tty */
	if ((r = vp_child_run(&c, cause)) < 0)
		goto out;
	if (r != 0) {
		r = deploy_up_error(c.err.buf, phase, cause);
		goto out;
	}
	r = VP_OK;
 out:
	vp_child_release(&c);
	return r;
}

static int
set_str(char **dst, const char *s)
{
	char *d = strdup(s ? s : "");

	if (d == NULL)
		return VP_ERR_NOMEM;
	free(*dst);
	*dst = d;
	return VP_OK;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);	/* EINTR: the caller checks stop */
}

static int
fail_logs(const struct sel *s, const struct deploy_ctr *c,
    struct deploy_result *res)
{
	struct vp_buf	 b = VP_BUF_INIT(2u << 20);
	char		*lc = NULL;
	int		 r;

	if (c != NULL && *c->health_out != '\0' &&
	    (r = vp_buf_addf(&b, "last health check output:\n%s%s",
	    c->health_out, c->health_out[strlen(c->health_out) - 1] == '\n' ?
	    "" : "\n")) != 0)
		return r;
	if ((r = vp_buf_addf(&b, "last %d log lines of %s:\n", LOG_TAIL,
	    s->name)) != 0)
		return r;
	if (s->id != NULL && deploy_logs(s->id, LOG_TAIL, &b, &lc) != 0) {
		r = vp_buf_addf(&b, "(logs unavailable: %s)\n",
		    lc ? lc : "error");
		free(lc);
		if (r != 0)
			return r;
	}
	free(res->fail_logs);
	if ((res->fail_logs = vp_buf_detach(&b, NULL)) == NULL)
		return VP_ERR_NOMEM;
	return VP_OK;
}

/* Poll until every service of the phase is ready, or one fails. */
static int
gate(const struct deploy_opts *o, const char *phase, struct sel *v,
    size_t n, long long t0, struct deploy_result *res, char **cause)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	const struct deploy_ctr	*c;
	char			*ids[256];
	const char		*st;
	long long		 t, tup = now_ms();
	size_t			 i, k, pending;
	int			 r, g, poll = o->poll_ms > 0 ? o->poll_ms : 250;

	for (;;) {
		if (stopped(o)) {
			res->interrupted = 1;
			r = vp_fail(cause, VP_ERR_INTERRUPTED, "interrupted "
			    "while waiting for phase %s; containers keep "
			    "running; re-run apply to converge", phase);
			goto out;
		}
		for (k = 0, i = 0; i < n; i++)
			if (v[i].done == 0 && v[i].id != NULL && k < 256)
				ids[k++] = v[i].id;
		deploy_ctrs_release(&cs);
		if ((r = deploy_inspect(ids, k, &cs, cause)) != 0)
			goto out;
		t = now_ms();
		for (pending = 0, i = 0; i < n; i++) {
			if (v[i].done != 0)
				continue;
			c = NULL;
			for (k = 0; v[i].id != NULL && k < cs.n; k++)
				if (strcmp(cs.v[k].id, v[i].id) == 0)
					c = &cs.v[k];
			if (c == NULL) {
				g = -1;
				st = "missing";
			} else {
				g = deploy_gate(c, v[i].base_restarts);
				st = *c->health ? c->health : c->state;
				if (c->restarts > v[i].base_restarts &&
				    strcmp(c->state, "running") == 0)
					st = "restarting";
			}
			if (g == 0 && t - tup > v[i].timeout_ms) {
				g = -1;
				snprintf(v[i].state, sizeof(v[i].state),
				    "timeout (%s)", st);
				st = v[i].state;
			}
			if (g == 0) {
				pending++;
				if (strcmp(v[i].state, st) != 0 ||
				    t - v[i].last_report >= REPORT_EVERY_MS) {
					snprintf(v[i].state,
					    sizeof(v[i].state), "%s", st);
					v[i].last_report = t;
					emit(o, DEPLOY_EV_WAIT, phase,
					    v[i].name, st, (t - t0) / 1000.0,
					    NULL);
				}
				continue;
			}
			if (st != v[i].state)
				snprintf(v[i].state, sizeof(v[i].state), "%s",
				    st);
			v[i].done = g;
			if (g > 0) {
				emit(o, DEPLOY_EV_READY, phase, v[i].name,
				    v[i].state, (t - t0) / 1000.0, NULL);
				continue;
			}
			emit(o, DEPLOY_EV_FAIL, phase, v[i].name, v[i].state,
			    (t - t0) / 1000.0, NULL);
			if ((r = set_str(&res->fail_service, v[i].name)) != 0 ||
			    (r = set_str(&res->fail_state, v[i].state)) != 0 ||
			    (r = fail_logs(&v[i], c, res)) != 0)
				goto out;
			r = vp_fail(cause, VP_ERR_HEALTH, "phase %s: service "
			    "'%s' is %s after %.1fs; the services already "
			    "healthy are left running", phase, v[i].name,
			    v[i].state, (t - t0) / 1000.0);
			goto out;
		}
		if (pending == 0)
			break;
		sleep_ms(poll);
	}
	r = VP_OK;
 out:
	deploy_ctrs_release(&cs);
	return r;
}

/* ==== State of the last converged apply (the no-op fast path) ==== */

/* SHA-256 of the canonical JSON of x, as hex. */
static int
spec_hash(const json_t *x, char hex[65])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0, i;
	char		*s;

	if ((s = json_dumps(x, JSON_SORT_KEYS | JSON_COMPACT |
	    JSON_ENCODE_ANY)) == NULL)
		return VP_ERR_NOMEM;
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1) {
		free(s);
		return VP_ERR_CRYPTO;
	}
	free(s);
	for (i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
	return VP_OK;
}

/*
 * A phase can skip `up` when, for each of its services, the last
 * converged apply recorded the same compose definition, the same
 * container (still there, running, healthy, not restarted) and the same
 * image id, and the networks are as recorded: compose would then leave
 * every container alone, so vpai does not spend its start-up time.
 */
static int
phase_unchanged(const json_t *state, const char *nethash, const struct sel *v,
    size_t n)
{
	const json_t	*rec;
	const char	*x;
	size_t		 i;

	x = json_string_value(json_object_get(state, "networks"));
	if (x == NULL || strcmp(x, nethash) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		rec = json_object_get(json_object_get(state, "services"),
		    v[i].name);
		if (rec == NULL || v[i].before == NULL || v[i].image_id == NULL)
			return 0;
		if ((x = json_string_value(json_object_get(rec, "spec"))) ==
		    NULL || strcmp(x, v[i].spec) != 0)
			return 0;
		if ((x = json_string_value(json_object_get(rec,
		    "container"))) == NULL || strcmp(x, v[i].before->id) != 0)
			return 0;
		if ((x = json_string_value(json_object_get(rec, "image"))) ==
		    NULL || strcmp(x, v[i].image_id) != 0 ||
		    strcmp(v[i].before->image_id, v[i].image_id) != 0)
			return 0;
		if (deploy_gate(v[i].before, v[i].before->restarts) != 1)
			return 0;
	}
	return 1;
}

static int
state_record(json_t *state, const char *nethash, const struct sel *v,
    size_t n, const struct deploy_ctrs *after)
{
	const struct deploy_ctr	*a;
	json_t			*svcs;
	size_t			 i;

	if ((svcs = json_object_get(state, "services")) == NULL) {
		if ((svcs = json_object()) == NULL ||
		    json_object_set_new(state, "services", svcs) != 0)
			return VP_ERR_NOMEM;
	}
	if (json_object_set_new(state, "networks", json_string(nethash)) != 0)
		return VP_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		a = deploy_ctrs_find(after, v[i].name);
		if (a == NULL || v[i].done != 1) {
			json_object_del(svcs, v[i].name);
			continue;
		}
		if (json_object_set_new(svcs, v[i].name, json_pack(
		    "{s:s,s:s,s:s}", "spec", v[i].spec, "container", a->id,
		    "image", a->image_id)) != 0)
			return VP_ERR_NOMEM;
	}
	return VP_OK;
}

static int
state_save(const char *path, json_t *state, char **cause)
{
	char	*s;
	int	 r;

	if ((s = json_dumps(state, JSON_SORT_KEYS | JSON_INDENT(1))) == NULL)
		return VP_ERR_NOMEM;
	r = vp_file_write_atomic(path, s, strlen(s), 0644, (uid_t)-1,
	    (gid_t)-1, cause);
	free(s);
	return r;
}

/* ==== Apply ==== */

const char *
deploy_change_name(enum deploy_change c)
{
	switch (c) {
	case DEPLOY_UNCHANGED:
		return "unchanged";
	case DEPLOY_STARTED:
		return "started";
	case DEPLOY_CREATED:
		return "created";
	case DEPLOY_RECREATED:
		return "recreated";
	default:
		return "not reached";
	}
}

void
deploy_result_release(struct deploy_result *res)
{
	size_t i;

	if (res == NULL)
		return;
	for (i = 0; i < res->n; i++) {
		free(res->v[i].service);
		free(res->v[i].phase);
		free(res->v[i].state);
	}
	free(res->v);
	vp_argv_release(&res->repaired);
	vp_argv_release(&res->removed);
	free(res->fail_service);
	free(res->fail_state);
	free(res->fail_logs);
	memset(res, 0, sizeof(*res));
}

/*
 * After a full apply: remove the project's containers whose service the
 * compose document no longer defines (a service switched off in the
 * site).  `docker rm -f` without -v: named volumes and bind-mounted data
 * directories stay, so switching the service back on finds its data.
 */
static int
remove_orphans(const struct deploy_opts *o, struct deploy_result *res,
    char **cause)
{
	struct deploy_ctrs	 cs = DEPLOY_CTRS_INIT;
	const json_t		*svcs = json_object_get(o->compose, "services");
	struct vp_child		 c;
	char			 msg[512];
	size_t			 i;
	int			 r;

	if ((r = deploy_list(o->project, &cs, cause)) != 0)
		goto out;
	for (i = 0; i < cs.n; i++) {
		if (cs.v[i].service == NULL || *cs.v[i].service == '\0' ||
		    json_object_get(svcs, cs.v[i].service) != NULL)
			continue;
		snprintf(msg, sizeof(msg), "removing container %s: service "
		    "'%s' is no longer in the stack", cs.v[i].name,
		    cs.v[i].service);
		emit(o, DEPLOY_EV_STEP, NULL, cs.v[i].service, NULL, 0, msg);
		c = (struct vp_child)VP_CHILD_INIT;
		c.timeout_ms = 60000;
		if ((r = vp_argv_pushl(&c.args, "docker", "rm", "-f",
		    cs.v[i].id, NULL)) == 0 &&
		    (r = vp_child_run(&c, cause)) > 0)
			r = vp_fail(cause, VP_ERR_CHILD, "docker rm -f '%s' "
			    "(service '%s', no longer in the stack) failed",
			    cs.v[i].name, cs.v[i].service);
		vp_child_release(&c);
		if (r != 0 || (r = vp_argv_pushf(&res->removed,
		    "%s (service %s)", cs.v[i].name, cs.v[i].service)) != 0)
			goto out;
	}
 out:
	deploy_ctrs_release(&cs);
	return r;
}

/* Fill res->v[i] from the selection. */
static int
fill_result(const struct sel *v, size_t n, struct deploy_result *res,
    int reached_b)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct deploy_svc *d = &res->v[i];

		if (set_str(&d->service, v[i].name) != 0 ||
		    set_str(&d->phase, v[i].phase) != 0 ||
		    set_str(&d->state, *v[i].state ? v[i].state :
		    "not started") != 0)
			return VP_ERR_NOMEM;
		d->ready_s = -1;
		if (v[i].id == NULL || (strcmp(v[i].phase, "B") == 0 &&
		    !reached_b)) {
			d->change = DEPLOY_NOT_REACHED;
			continue;
		}
		if (v[i].before == NULL)
			d->change = DEPLOY_CREATED;
		else if (strcmp(v[i].before->id, v[i].id) != 0)
			d->change = DEPLOY_RECREATED;
		else if (strcmp(v[i].before->state, "running") != 0)
			d->change = DEPLOY_STARTED;
		else
			d->change = DEPLOY_UNCHANGED;
	}
	return VP_OK;
}

int
deploy_apply(const struct deploy_engine *e, const struct deploy_opts *o,
    struct deploy_result *res, char **cause)
{
	struct deploy_ctrs	 before = DEPLOY_CTRS_INIT;
	struct deploy_ctrs	 after = DEPLOY_CTRS_INIT;
	const struct deploy_ctr	*a;
	struct sel		*v = NULL;
	static const char *const phases[] = { "A", "B" };
	char			 msg[1024], nethash[65];
	json_t			*state = NULL;
	json_error_t		 je;
	size_t			 n = 0, i, j, lo, hi;
	long long		 t0 = now_ms(), tp;
	int			 r, reached_b = 0;

	if ((r = select_services(o, &v, &n, cause)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = spec_hash(v[i].svc, v[i].spec)) != 0)
			goto out;
	if ((r = spec_hash(json_object_get(o->compose, "networks") ?
	    json_object_get(o->compose, "networks") : json_null(),
	    nethash)) != 0)
		goto out;
	if (o->state_file != NULL &&
	    ((state = json_load_file(o->state_file, 0, &je)) == NULL ||
	    !json_is_object(state) || !json_is_string(json_object_get(state,
	    "project")) || strcmp(json_string_value(json_object_get(state,
	    "project")), o->project) != 0)) {
		json_decref(state);
		state = json_pack("{s:s}", "project", o->project);
	}
	if ((res->v = calloc(n ? n : 1, sizeof(*res->v))) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	res->n = n;
	emit(o, DEPLOY_EV_STEP, NULL, NULL, NULL, 0, "checking images");
	if ((r = check_images(o, v, n, cause)) != 0)
		goto out;
	if ((r = check_networks(o, res, cause)) != 0)
		goto out;
	if ((r = deploy_list(o->project, &before, cause)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		v[i].before = deploy_ctrs_find(&before, v[i].name);
	if (o->prepare != NULL && (r = o->prepare(o->arg, cause)) != 0)
		goto out;

	for (j = 0; j < 2; j++) {
		for (lo = 0; lo < n && strcmp(v[lo].phase, phases[j]) != 0;
		    lo++)
			;
		for (hi = lo; hi < n && strcmp(v[hi].phase, phases[j]) == 0;
		    hi++)
			;
		if (lo == hi)
			continue;
		if (j == 1)
			reached_b = 1;
		if (state != NULL && phase_unchanged(state, nethash, v + lo,
		    hi - lo)) {
			for (i = lo; i < hi; i++) {
				if ((v[i].id = strdup(v[i].before->id)) ==
				    NULL) {
					r = VP_ERR_NOMEM;
					goto out;
				}
				v[i].done = 1;
				snprintf(v[i].state, sizeof(v[i].state), "%s",
				    *v[i].before->health ?
				    v[i].before->health : "running");
				emit(o, DEPLOY_EV_READY, phases[j], v[i].name,
				    v[i].state, 0, "as converged last time");
			}
			continue;
		}
		if (stopped(o)) {
			res->interrupted = 1;
			r = vp_fail(cause, VP_ERR_INTERRUPTED, "interrupted "
			    "before phase %s; re-run apply to converge",
			    phases[j]);
			goto out;
		}
		snprintf(msg, sizeof(msg), "phase %s: up -d --no-deps",
		    phases[j]);
		for (i = lo; i < hi; i++) {
			size_t l = strlen(msg);

			snprintf(msg + l, sizeof(msg) - l, " %s", v[i].name);
		}
		emit(o, DEPLOY_EV_STEP, phases[j], NULL, NULL, 0, msg);
		tp = now_ms();
		if ((r = compose_up(e, o, phases[j], v + lo, hi - lo,
		    cause)) != 0) {
			if (stopped(o)) {
				res->interrupted = 1;
				r = vp_fail(cause, VP_ERR_INTERRUPTED,
				    "interrupted during phase %s (compose up);"
				    " re-run apply to converge", phases[j]);
			}
			goto out;
		}
		deploy_ctrs_release(&after);
		if ((r = deploy_list(o->project, &after, cause)) != 0)
			goto out;
		for (i = lo; i < hi; i++) {
			if ((a = deploy_ctrs_find(&after, v[i].name)) == NULL)
				continue;
			if ((v[i].id = strdup(a->id)) == NULL) {
				r = VP_ERR_NOMEM;
				goto out;
			}
			/* Restarts already counted on a kept container. */
			v[i].base_restarts = a->restarts;
		}
		r = gate(o, phases[j], v + lo, hi - lo, tp, res, cause);
		if (state != NULL && state_record(state, nethash, v + lo,
		    hi - lo, &after) != 0 && r == 0)
			r = VP_ERR_NOMEM;
		if (r != 0)
			goto out;
	}
	if (o->nonly == 0 && (r = remove_orphans(o, res, cause)) != 0)
		goto out;
	r = VP_OK;
 out:
	/* Recorded even after a failed gate: what did converge is kept. */
	if (state != NULL && o->state_file != NULL &&
	    (r == 0 || r == VP_ERR_HEALTH || r == VP_ERR_INTERRUPTED)) {
		char *sc = NULL;

		if (state_save(o->state_file, state, &sc) != 0 && r == 0) {
			r = vp_fail(cause, VP_ERR_IO, "%s", sc ? sc :
			    "saving the deploy state");
		}
		free(sc);
	}
	json_decref(state);
	res->elapsed = (now_ms() - t0) / 1000.0;
	if (res->v != NULL && v != NULL && fill_result(v, n, res,
	    reached_b) != 0 && r == 0)
		r = VP_ERR_NOMEM;
	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].id);
		free(v[i].image_id);
	}
	free(v);
	deploy_ctrs_release(&before);
	deploy_ctrs_release(&after);
	return r;
}

/* ==== Data directories and probe ==== */

static int
only_has(char *const *only, size_t nonly, const char *name)
{
	size_t i;

	if (nonly == 0)
		return 1;
	for (i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return 1;
	return 0;
}

int
deploy_data_dirs(const json_t *services, const char *stack_root,
    char *const *only, size_t nonly, int *ncreated, char **cause)
{
	const json_t	*svc, *vol;
	const char	*name, *src, *ms;
	struct stat	 sb;
	char		*path = NULL;
	mode_t		 mode;
	uid_t		 uid;
	gid_t		 gid;
	size_t		 i;
	int		 r = VP_OK, isroot = geteuid() == 0;

	*ncreated = 0;
	json_object_foreach((json_t *)(uintptr_t)services, name, svc) {
		if (json_is_false(json_object_get(svc, "enabled")) ||
		    !only_has(only, nonly, name))
			continue;
		json_array_foreach(json_object_get(svc, "volumes"), i, vol) {
			ms = json_string_value(json_object_get(vol, "kind"));
			src = json_string_value(json_object_get(vol,
			    "source"));
			if (ms == NULL || strcmp(ms, "data") != 0 ||
			    src == NULL)
				continue;
			ms = json_string_value(json_object_get(vol, "mode"));
			mode = ms ? (mode_t)strtol(ms, NULL, 8) : 0750;
			uid = json_is_integer(json_object_get(vol, "owner")) ?
			    (uid_t)json_integer_value(json_object_get(vol,
			    "owner")) : (uid_t)json_integer_value(
			    json_object_get(svc, "uid"));
			gid = (gid_t)json_integer_value(json_object_get(svc,
			    "gid"));
			free(path);
			if ((path = vp_path_join(stack_root, src)) == NULL) {
				r = VP_ERR_NOMEM;
				goto out;
			}
			if (stat(path, &sb) != 0) {
				if ((r = vp_mkdir_p(path, 0755, cause)) != 0)
					goto out;
				(*ncreated)++;
				if (stat(path, &sb) != 0) {
					r = vp_fail(cause, VP_ERR_IO, "'%s': "
					    "%s", path, strerror(errno));
					goto out;
				}
			} else if (!S_ISDIR(sb.st_mode)) {
				r = vp_fail(cause, VP_ERR_IO, "'%s': exists and "
				    "is not a directory (service '%s')", path,
				    name);
				goto out;
			}
			if (isroot && (sb.st_uid != uid || sb.st_gid != gid) &&
			    chown(path, uid, gid) != 0) {
				r = vp_fail(cause, VP_ERR_IO, "chown '%s': %s",
				    path, strerror(errno));
				goto out;
			}
			if ((sb.st_mode & 07777) != mode &&
			    chmod(path, mode) != 0) {
				r = vp_fail(cause, VP_ERR_IO, "chmod '%s': %s",
				    path, strerror(errno));
				goto out;
			}
		}
	}
 out:
	free(path);
	return r;
}

int
deploy_install_probe(const char *src, const char *stack_root, int *changed,
    char **cause)
{
	struct vp_buf	 want = VP_BUF_INIT(64u << 20);
	struct vp_buf	 have = VP_BUF_INIT(64u << 20);
	char		*dir = NULL, *dst = NULL, *lc = NULL;
	int		 r;

	*changed = 0;
	if ((r = vp_file_read(src, &want, cause)) != 0) {
		vp_fail_prefix(cause, r, "probe binary (build target "
		    "vpai-probe, or set VPAI_PROBE)");
		goto out;
	}
	if ((dir = vp_path_join(stack_root, "bin")) == NULL ||
	    (dst = vp_path_join(dir, "vpai-probe")) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (vp_file_read(dst, &have, &lc) == 0 && have.len == want.len &&
	    memcmp(have.buf, want.buf, want.len) == 0) {
		struct stat sb;

		if (stat(dst, &sb) == 0 && (sb.st_mode & 07777) == 0755) {
			r = VP_OK;
			goto out;
		}
	}
	if ((r = vp_mkdir_p(dir, 0755, cause)) != 0 ||
	    (r = vp_file_write_atomic(dst, want.buf, want.len, 0755,
	    (uid_t)-1, (gid_t)-1, cause)) != 0)
		goto out;
	*changed = 1;
 out:
	free(lc);
	free(dir);
	free(dst);
	vp_buf_release(&want);
	vp_buf_release(&have);
	return r;
}
