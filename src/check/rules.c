/*
 * rules.c: one function per policy rule (see the table in check.c).
 *
 * Each rule reads the borrowed inputs of struct check_input, appends
 * findings with check_add() and returns VP_OK, or an error code for an
 * internal failure only.  A rule whose input is missing reports nothing.
 * Findings name secrets, never their values.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check/check-int.h"
#include "core/buf.h"
#include "core/file.h"
#include "stack/stack.h"

#define WHERE_MAX	512
#define SCAN_FILE_MAX	(1u << 20)
#define SCAN_DEPTH	8

/* ==== helpers ==== */

static const json_t *
jpath(const json_t *o, const char *path)
{
	char	 key[128];
	size_t	 n;

	while (o != NULL && *path != '\0') {
		n = strcspn(path, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path += n;
		if (*path == '.')
			path++;
	}
	return o;
}

static const json_t *
pol(const struct check_input *in, const char *path)
{
	return in->policy ? jpath(in->policy, path) : NULL;
}

static long long
pol_int(const struct check_input *in, const char *path, long long def)
{
	const json_t *v = pol(in, path);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

static const char *
pol_str(const struct check_input *in, const char *path, const char *def)
{
	const char *s = json_string_value(pol(in, path));

	return s ? s : def;
}

static int
in_strarray(const json_t *a, const char *s)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static int
in_strarray_case(const json_t *a, const char *s)
{
	const json_t	*v;
	size_t		 i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) &&
		    strcasecmp(json_string_value(v), s) == 0)
			return 1;
	return 0;
}

static const json_t *
compose_services(const struct check_input *in)
{
	return in->compose ? json_object_get(in->compose, "services") : NULL;
}

static const char *
var_str(const struct check_input *in, const char *k)
{
	return in->vars ? json_string_value(json_object_get(in->vars, k)) :
	    NULL;
}

static const char *
target_env(const struct check_input *in)
{
	const char *e = var_str(in, "target_env");

	return e ? e : "prod";
}

/* vars["<env>_<suffix>"], else vars["prod_<suffix>"]. */
static const json_t *
env_var(const struct check_input *in, const char *suffix)
{
	char		 k[64];
	const json_t	*v;

	if (in->vars == NULL)
		return NULL;
	snprintf(k, sizeof(k), "%s_%s", target_env(in), suffix);
	v = json_object_get(in->vars, k);
	if (v == NULL || (json_is_string(v) && *json_string_value(v) == '\0')) {
		snprintf(k, sizeof(k), "prod_%s", suffix);
		v = json_object_get(in->vars, k);
	}
	return v;
}

/* Searchable secrets: value long enough to be meaningful. */
static size_t
secret_min(const struct check_input *in)
{
	long long n = pol_int(in, "secrets.min_length", 8);

	return n < 1 ? 1 : (size_t)n;
}

/* Name of the first secret whose value occurs in s[0..len), or NULL. */
static const char *
secret_in(const struct check_input *in, const char *s, size_t len)
{
	const char	*k, *v;
	const json_t	*j;
	size_t		 min = secret_min(in);

	if (in->secrets == NULL || s == NULL)
		return NULL;
	json_object_foreach((json_t *)in->secrets, k, j) {
		if ((v = json_string_value(j)) == NULL || strlen(v) < min)
			continue;
		if (memmem(s, len, v, strlen(v)) != NULL)
			return k;
	}
	return NULL;
}

/* The items of a string-or-array value as an array (new reference). */
static json_t *
as_array(const json_t *v)
{
	if (json_is_array(v))
		return json_incref((json_t *)v);
	if (json_is_string(v))
		return json_pack("[O]", v);
	return json_array();
}

/* 1-based line of byte offset off in data. */
static int
line_of(const char *data, size_t off)
{
	size_t	 i;
	int	 line = 1;

	for (i = 0; i < off; i++)
		if (data[i] == '\n')
			line++;
	return line;
}

static int
is_word(int c)
{
	return isalnum(c);
}

/*
 * Offset of the first case-insensitive occurrence of w in s[0..len) on
 * word boundaries, or -1.
 */
static long
find_word(const char *s, size_t len, const char *w)
{
	size_t wl = strlen(w), i;

	if (wl == 0 || wl > len)
		return -1;
	for (i = 0; i + wl <= len; i++) {
		if (strncasecmp(s + i, w, wl) != 0)
			continue;
		if (i > 0 && is_word((unsigned char)s[i - 1]))
			continue;
		if (i + wl < len && is_word((unsigned char)s[i + wl]))
			continue;
		return (long)i;
	}
	return -1;
}

/* ==== images-pinned ==== */

/*
 * Tag pins only a major version ("17", "pg17", "7-alpine") or no version
 * at all ("bookworm").
 */
static int
major_only(const char *tag)
{
	const char *p = tag;

	/* The first number of the tag is the version ("main-v1.63.14"). */
	while (*p != '\0' && !isdigit((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 1;
	while (isdigit((unsigned char)*p))
		p++;
	return !(*p == '.' && isdigit((unsigned char)p[1]));
}

int
check_images_pinned(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const json_t	*svcs = compose_services(in), *svc, *v;
	const char	*name, *image, *slash, *colon, *at, *tag, *set;
	char		 where[WHERE_MAX];
	size_t		 i, hex;
	int		 r, local;

	(void)cause;
	set = var_str(in, "image_set");
	json_object_foreach((json_t *)svcs, name, svc) {
		snprintf(where, sizeof(where), "services.%s.image", name);
		if ((image = json_string_value(json_object_get(svc, "image")))
		    == NULL || *image == '\0') {
			if ((r = check_add(rep, CHECK_ERROR, "images-pinned",
			    where, NULL, "service '%s' has no image", name)))
				return r;
			continue;
		}
		if ((at = strstr(image, "@sha256:")) != NULL) {
			for (hex = 0; isxdigit((unsigned char)at[8 + hex]);
			    hex++)
				;
			if (hex == 64 && at[8 + hex] == '\0')
				continue;
			if ((r = check_add(rep, CHECK_ERROR, "images-pinned",
			    where, NULL, "image '%s': malformed sha256 digest",
			    image)))
				return r;
			continue;
		}
		slash = strrchr(image, '/');
		colon = strrchr(slash ? slash : image, ':');
		if (colon == NULL || colon[1] == '\0') {
			if ((r = check_add(rep, CHECK_ERROR, "images-pinned",
			    where, "pin a version tag in stack/versions.yml",
			    "image '%s' has no tag (Docker pulls 'latest')",
			    image)))
				return r;
			continue;
		}
		tag = colon + 1;
		if (in_strarray_case(pol(in, "images.floating_tags"), tag) ||
		    (pol(in, "images.floating_tags") == NULL &&
		    (strcmp(tag, "latest") == 0 || strcmp(tag, "stable") == 0 ||
		    strcmp(tag, "main") == 0))) {
			if ((r = check_add(rep, CHECK_ERROR, "images-pinned",
			    where, "pin a version tag in stack/versions.yml "
			    "(REX #5: check it exists with `docker manifest "
			    "inspect`)", "image '%s' uses the floating tag "
			    "'%s'", image, tag)))
				return r;
			continue;
		}
		local = set != NULL && strcmp(set, "local") == 0;
		json_array_foreach(pol(in, "images.local_prefixes"), i, v)
			if (json_is_string(v) && strncmp(image,
			    json_string_value(v), strlen(json_string_value(v)))
			    == 0)
				local = 1;
		if (!local && major_only(tag)) {
			if ((r = check_add(rep, CHECK_WARNING, "images-pinned",
			    where, "pin at least MAJOR.MINOR (or a digest) in "
			    "stack/versions.yml", "image '%s': tag '%s' pins "
			    "no minor version; upstream can change under it",
			    image, tag)))
				return r;
		}
	}
	return VP_OK;
}

/* ==== network-matrix ==== */

/* The networks of a compose service as an object used as a set (new). */
static json_t *
svc_networks(const json_t *svc)
{
	const json_t	*n = json_object_get(svc, "networks"), *v;
	const char	*k;
	json_t		*set;
	size_t		 i;

	if ((set = json_object()) == NULL)
		return NULL;
	if (json_is_array(n)) {
		json_array_foreach(n, i, v)
			if (json_is_string(v))
				json_object_set_new(set, json_string_value(v),
				    json_true());
	} else if (json_is_object(n)) {
		json_object_foreach((json_t *)n, k, v)
			json_object_set_new(set, k, json_true());
	}
	return set;
}

static int
net_internal(const json_t *net)
{
	const json_t *v = json_object_get(net, "internal");

	return json_is_true(v) || (json_is_string(v) &&
	    strcmp(json_string_value(v), "true") == 0);
}

int
check_network_matrix(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const json_t	*svcs = compose_services(in), *matrix, *nets, *svc;
	const json_t	*want, *v, *intl, *extl;
	const char	*name, *k;
	json_t		*have = NULL;
	char		 where[WHERE_MAX];
	size_t		 i;
	int		 r = VP_OK;

	(void)cause;
	if (in->compose == NULL || (matrix = pol(in, "matrix")) == NULL)
		return VP_OK;
	intl = pol(in, "networks.internal");
	extl = pol(in, "networks.external");
	nets = json_object_get(in->compose, "networks");
	json_array_foreach(intl, i, v) {
		k = json_string_value(v);
		snprintf(where, sizeof(where), "networks.%s", k ? k : "?");
		if (k == NULL || json_object_get(nets, k) == NULL)
			r = check_add(rep, CHECK_ERROR, "network-matrix", where,
			    NULL, "network '%s' is missing", k ? k : "?");
		else if (!net_internal(json_object_get(nets, k)))
			r = check_add(rep, CHECK_ERROR, "network-matrix", where,
			    "set internal: true (no route to the internet)",
			    "network '%s' must be internal", k);
		if (r != 0)
			return r;
	}
	json_object_foreach((json_t *)nets, k, v) {
		snprintf(where, sizeof(where), "networks.%s", k);
		if (in_strarray(intl, k))
			continue;
		if (!in_strarray(extl, k))
			r = check_add(rep, CHECK_ERROR, "network-matrix", where,
			    "declare it in stack/policy.yml networks",
			    "network '%s' is not in the designed networks", k);
		else if (net_internal(v))
			r = check_add(rep, CHECK_ERROR, "network-matrix", where,
			    "remove internal: true", "network '%s' must not "
			    "be internal: its services need the internet", k);
		if (r != 0)
			return r;
	}
	json_object_foreach((json_t *)svcs, name, svc) {
		snprintf(where, sizeof(where), "services.%s.networks", name);
		if ((want = json_object_get(matrix, name)) == NULL) {
			if ((r = check_add(rep, CHECK_ERROR, "network-matrix",
			    where, "add it to stack/policy.yml matrix",
			    "service '%s' is not in the network matrix",
			    name)) != 0)
				return r;
			continue;
		}
		if ((have = svc_networks(svc)) == NULL)
			return VP_ERR_NOMEM;
		json_array_foreach(want, i, v) {
			if (!json_is_string(v))
				continue;
			if (json_object_get(have, json_string_value(v)) ==
			    NULL && (r = check_add(rep, CHECK_ERROR,
			    "network-matrix", where, NULL, "service '%s' is "
			    "not on network '%s'", name,
			    json_string_value(v))) != 0)
				goto out;
		}
		json_object_foreach(have, k, v) {
			if (!in_strarray(want, k) && (r = check_add(rep,
			    CHECK_ERROR, "network-matrix", where, NULL,
			    "service '%s' must not be on network '%s'", name,
			    k)) != 0)
				goto out;
			if (nets != NULL && json_object_get(nets, k) == NULL &&
			    (r = check_add(rep, CHECK_ERROR, "network-matrix",
			    where, NULL, "service '%s' uses undeclared "
			    "network '%s'", name, k)) != 0)
				goto out;
		}
		json_decref(have);
		have = NULL;
	}
 out:
	json_decref(have);
	return r;
}

/* ==== published-ports ==== */

/* "PUBLISHED/PROTO" of one compose port entry; "" if not published. */
static void
port_norm(const json_t *p, char *out, size_t outsz)
{
	char		 buf[128], *proto, *last, *prev;
	const json_t	*pub;
	const char	*pr;

	out[0] = '\0';
	if (json_is_object(p)) {
		pub = json_object_get(p, "published");
		pr = json_string_value(json_object_get(p, "protocol"));
		if (json_is_integer(pub))
			snprintf(out, outsz, "%lld/%s",
			    (long long)json_integer_value(pub),
			    pr ? pr : "tcp");
		else if (json_is_string(pub) && *json_string_value(pub))
			snprintf(out, outsz, "%s/%s", json_string_value(pub),
			    pr ? pr : "tcp");
		else
			snprintf(out, outsz, "random/%s", pr ? pr : "tcp");
		return;
	}
	if (json_is_integer(p)) {
		snprintf(out, outsz, "random/tcp");
		return;
	}
	if (!json_is_string(p) || strlen(json_string_value(p)) >= sizeof(buf))
		return;
	snprintf(buf, sizeof(buf), "%s", json_string_value(p));
	pr = "tcp";
	if ((proto = strchr(buf, '/')) != NULL) {
		*proto++ = '\0';
		pr = proto;
	}
	if ((last = strrchr(buf, ':')) == NULL) {
		snprintf(out, outsz, "random/%s", pr);
		return;
	}
	*last = '\0';
	prev = strrchr(buf, ':');
	snprintf(out, outsz, "%s/%s", prev ? prev + 1 : buf, pr);
}

int
check_published_ports(const struct check_input *in,
    struct check_report *rep, char **cause)
{
	const json_t	*svcs = compose_services(in), *svc, *p, *allow;
	const char	*name, *nm;
	char		 where[WHERE_MAX], norm[160];
	size_t		 i;
	int		 r;

	(void)cause;
	json_object_foreach((json_t *)svcs, name, svc) {
		allow = pol(in, "ports") ? json_object_get(pol(in, "ports"),
		    name) : NULL;
		nm = json_string_value(json_object_get(svc, "network_mode"));
		if (nm != NULL && strcmp(nm, "host") == 0) {
			snprintf(where, sizeof(where),
			    "services.%s.network_mode", name);
			if ((r = check_add(rep, CHECK_ERROR, "published-ports",
			    where, "use a bridge network from the matrix",
			    "service '%s' uses the host network: every port "
			    "it listens on is reachable", name)) != 0)
				return r;
		}
		json_array_foreach(json_object_get(svc, "ports"), i, p) {
			port_norm(p, norm, sizeof(norm));
			if (in_strarray(allow, norm))
				continue;
			snprintf(where, sizeof(where), "services.%s.ports[%zu]",
			    name, i);
			if ((r = check_add(rep, CHECK_ERROR, "published-ports",
			    where, "only caddy publishes 80/443; reach other "
			    "services through caddy (or the VPN vhost)",
			    "service '%s' publishes %s", name,
			    norm[0] ? norm : "a malformed port")) != 0)
				return r;
		}
	}
	return VP_OK;
}

/* ==== healthcheck ==== */

int
check_healthcheck(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const json_t	*svcs = compose_services(in), *svc, *hc, *v;
	const char	*name, *s, *sec;
	json_t		*test = NULL;
	char		 where[WHERE_MAX];
	size_t		 i;
	int		 r = VP_OK, lh;

	(void)cause;
	json_object_foreach((json_t *)svcs, name, svc) {
		snprintf(where, sizeof(where), "services.%s.healthcheck",
		    name);
		hc = json_object_get(svc, "healthcheck");
		test = as_array(json_object_get(hc, "test"));
		if (test == NULL)
			return VP_ERR_NOMEM;
		if (hc == NULL || json_is_true(json_object_get(hc,
		    "disable")) || json_array_size(test) == 0 ||
		    (json_is_string(json_array_get(test, 0)) &&
		    strcmp(json_string_value(json_array_get(test, 0)),
		    "NONE") == 0)) {
			r = check_add(rep, CHECK_ERROR, "healthcheck", where,
			    "define one in stack/services/<name>.yml (the "
			    "static probe /vpai/probe works in any image)",
			    "service '%s' has no healthcheck", name);
			goto next;
		}
		lh = 0;
		sec = NULL;
		json_array_foreach(test, i, v) {
			if ((s = json_string_value(v)) == NULL)
				continue;
			if (find_word(s, strlen(s), "localhost") >= 0)
				lh = 1;
			if (sec == NULL)
				sec = secret_in(in, s, strlen(s));
		}
		if (lh && (r = check_add(rep, CHECK_ERROR, "healthcheck",
		    where, "use 127.0.0.1", "service '%s': healthcheck uses "
		    "'localhost', which may resolve to ::1 while the service "
		    "listens on IPv4 only", name)) != 0)
			goto next;
		if (sec != NULL)
			r = check_add(rep, CHECK_ERROR, "healthcheck", where,
			    "read it from a file inside the container (e.g. "
			    "--password-file)", "service '%s': healthcheck "
			    "argv contains secret '%s' (visible in docker "
			    "inspect and ps)", name, sec);
 next:
		json_decref(test);
		test = NULL;
		if (r != 0)
			return r;
	}
	return VP_OK;
}

/* ==== depends-on ==== */

static const char *const conditions[] = {
	"service_started", "service_healthy",
	"service_completed_successfully",
};

/* The depends_on of a service as {target: condition} (new reference). */
static json_t *
deps_of(const json_t *svc)
{
	const json_t	*d = json_object_get(svc, "depends_on"), *v, *c;
	const char	*k;
	json_t		*out;
	size_t		 i;

	if ((out = json_object()) == NULL)
		return NULL;
	if (json_is_array(d)) {
		json_array_foreach(d, i, v)
			if (json_is_string(v))
				json_object_set_new(out, json_string_value(v),
				    json_string("service_started"));
	} else if (json_is_object(d)) {
		json_object_foreach((json_t *)d, k, v) {
			c = json_is_object(v) ? json_object_get(v,
			    "condition") : NULL;
			json_object_set_new(out, k, json_is_string(c) ?
			    json_incref((json_t *)c) :
			    json_string("service_started"));
		}
	}
	return out;
}

struct dfs {
	const json_t		*svcs;
	json_t			*color;  /* name -> 1 visiting, 2 done */
	const char		*stack[128];
	size_t			 depth;
	struct check_report	*rep;
};

static int
dfs_visit(struct dfs *d, const char *name)
{
	const json_t	*c = json_object_get(d->color, name);
	json_t		*deps;
	const char	*k;
	json_t		*v;
	struct vp_buf	 b = VP_BUF_INIT(4096);
	size_t		 i, j;
	int		 r = VP_OK;

	if (json_integer_value(c) == 2)
		return VP_OK;
	if (json_integer_value(c) == 1) {
		/* Back edge: the cycle is stack[i..] -> name. */
		for (i = 0; i < d->depth; i++)
			if (strcmp(d->stack[i], name) == 0)
				break;
		for (j = i; j < d->depth; j++)
			if (vp_buf_addf(&b, "%s -> ", d->stack[j]) != 0)
				return VP_ERR_NOMEM;
		if (vp_buf_adds(&b, name) != 0)
			return VP_ERR_NOMEM;
		r = check_add(d->rep, CHECK_ERROR, "depends-on",
		    "services.*.depends_on", "break the cycle: compose "
		    "cannot start any of these services",
		    "dependency cycle: %s", b.buf);
		vp_buf_release(&b);
		return r;
	}
	if (d->depth >= sizeof(d->stack) / sizeof(d->stack[0]))
		return VP_ERR_TOOBIG;
	if (json_object_set_new(d->color, name, json_integer(1)) != 0)
		return VP_ERR_NOMEM;
	d->stack[d->depth++] = name;
	if ((deps = deps_of(json_object_get(d->svcs, name))) == NULL)
		return VP_ERR_NOMEM;
	json_object_foreach(deps, k, v) {
		if (json_object_get(d->svcs, k) == NULL)
			continue;
		/* k is borrowed from deps: use the svcs key instead. */
		{
			void *it = json_object_iter_at((json_t *)d->svcs, k);

			if ((r = dfs_visit(d, json_object_iter_key(it))) != 0)
				break;
		}
	}
	json_decref(deps);
	d->depth--;
	if (r == 0 && json_object_set_new(d->color, name, json_integer(2)))
		r = VP_ERR_NOMEM;
	return r;
}

int
check_depends_on(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const json_t	*svcs = compose_services(in), *svc, *tgt, *hc;
	const char	*name, *k, *cond;
	json_t		*deps = NULL, *v;
	struct dfs	 d;
	char		 where[WHERE_MAX];
	size_t		 i;
	int		 r = VP_OK, ok;

	(void)cause;
	if (svcs == NULL)
		return VP_OK;
	json_object_foreach((json_t *)svcs, name, svc) {
		if ((deps = deps_of(svc)) == NULL)
			return VP_ERR_NOMEM;
		json_object_foreach(deps, k, v) {
			snprintf(where, sizeof(where),
			    "services.%s.depends_on.%s", name, k);
			cond = json_string_value(v);
			if ((tgt = json_object_get(svcs, k)) == NULL) {
				r = check_add(rep, CHECK_ERROR, "depends-on",
				    where, "remove the dependency, or make "
				    "both services follow the same 'enabled' "
				    "expression", "service '%s' depends on "
				    "'%s', which is not in the compose "
				    "document", name, k);
				if (r != 0)
					goto out;
				continue;
			}
			for (ok = 0, i = 0; i < 3; i++)
				if (strcmp(cond, conditions[i]) == 0)
					ok = 1;
			if (!ok) {
				r = check_add(rep, CHECK_ERROR, "depends-on",
				    where, "use service_started, "
				    "service_healthy or "
				    "service_completed_successfully",
				    "invalid condition '%s'", cond);
				if (r != 0)
					goto out;
				continue;
			}
			hc = json_object_get(tgt, "healthcheck");
			if (strcmp(cond, "service_healthy") == 0 &&
			    (hc == NULL || json_is_true(json_object_get(hc,
			    "disable"))) && (r = check_add(rep, CHECK_ERROR,
			    "depends-on", where, NULL, "condition "
			    "service_healthy on '%s', which has no "
			    "healthcheck", k)) != 0)
				goto out;
		}
		json_decref(deps);
		deps = NULL;
	}
	memset(&d, 0, sizeof(d));
	d.svcs = svcs;
	d.rep = rep;
	if ((d.color = json_object()) == NULL)
		return VP_ERR_NOMEM;
	json_object_foreach((json_t *)svcs, name, svc)
		if ((r = dfs_visit(&d, name)) != 0)
			break;
	json_decref(d.color);
 out:
	json_decref(deps);
	return r;
}

/* ==== ram-budget ==== */

static const json_t *
mem_limit(const json_t *svc)
{
	const json_t *m = jpath(svc, "deploy.resources.limits.memory");

	return m ? m : json_object_get(svc, "mem_limit");
}

int
check_ram_budget(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const json_t	*svcs = compose_services(in), *svc, *mon;
	const char	*name, *env = target_env(in), *big = NULL;
	const json_t	*hv;
	char		 where[WHERE_MAX], hint[1024], *p;
	long long	 host, pct, rmin, hard, reserve, budget, total = 0, mb;
	long long	 monsave = 0, bigmb = 0;
	int		 r, monon;
	double		 f;

	(void)cause;
	if (svcs == NULL)
		return VP_OK;
	hv = in->vars ? json_object_get(in->vars, "host_ram_mb") : NULL;
	mon = pol(in, "ram.monitoring_services");
	json_object_foreach((json_t *)svcs, name, svc) {
		mb = check_mem_mb(mem_limit(svc));
		if (mb < 0 || mb == 0) {
			snprintf(where, sizeof(where),
			    "services.%s.deploy.resources.limits.memory", name);
			if ((r = check_add(rep, CHECK_ERROR, "ram-budget",
			    where, "set limits.<env>.memory in "
			    "stack/services/<name>.yml", mem_limit(svc) ?
			    "service '%s': malformed memory limit" :
			    "service '%s' has no memory limit (unbounded)",
			    name)) != 0)
				return r;
			continue;
		}
		total += mb;
		if (in_strarray(mon, name))
			monsave += mb;
		if (mb > bigmb) {
			bigmb = mb;
			big = name;
		}
	}
	if (!json_is_integer(hv))
		return VP_OK;
	host = json_integer_value(hv);
	pct = pol_int(in, "ram.reserve_pct", 15);
	rmin = pol_int(in, "ram.reserve_min_mb", 768);
	hard = pol_int(in, "ram.hard_reserve_mb", 256);
	reserve = (host * pct + 99) / 100;
	if (reserve < rmin)
		reserve = rmin;
	budget = host - reserve;
	if (total <= budget)
		return VP_OK;
	monon = in->vars == NULL ||
	    !json_is_false(json_object_get(in->vars, "monitoring_enabled"));
	p = hint;
	hint[0] = '\0';
	if (monon && monsave > 0 && total - monsave <= budget) {
		p += snprintf(p, sizeof(hint), "set monitoring_enabled: false "
		    "(saves %lld MB: %lld MB fits); or ", monsave,
		    total - monsave);
	}
	f = budget > 0 ? (double)budget / (double)total : 0;
	f = (double)(long long)(f * 100) / 100;
	if (big != NULL)
		snprintf(p, sizeof(hint) - (size_t)(p - hint), "use scaled "
		    "limits: multiply every %s limit by %.2f (e.g. %s %lldM "
		    "-> %lldM); or declare a bigger host_ram_mb", env, f, big,
		    bigmb, (long long)(bigmb * f));
	snprintf(where, sizeof(where), "%s", env);
	if (total > host - hard)
		return check_add(rep, CHECK_ERROR, "ram-budget", where, hint,
		    "limits total %lld MB: more than the %lld MB host minus "
		    "%lld MB for the kernel, sshd and dockerd; keep %lld MB "
		    "for the OS (max of %lld%% and %lld MB), i.e. limits <= "
		    "%lld MB", total, host, hard, reserve, pct, rmin, budget);
	return check_add(rep, CHECK_WARNING, "ram-budget", where, hint,
	    "limits total %lld MB leave %lld MB of the %lld MB host to the "
	    "OS; keep %lld MB (max of %lld%% and %lld MB), i.e. limits <= "
	    "%lld MB", total, host - total, host, reserve, pct, rmin, budget);
}

/* ==== secret-inline ==== */

static int
walk_secrets(const struct check_input *in, const json_t *v, struct vp_buf *path,
    struct check_report *rep)
{
	const char	*k, *sec;
	const json_t	*c;
	size_t		 i, len = path->len;
	int		 r = VP_OK;

	if (json_is_string(v)) {
		sec = secret_in(in, json_string_value(v),
		    json_string_length(v));
		if (sec != NULL)
			r = check_add(rep, CHECK_ERROR, "secret-inline",
			    path->buf, "pass it through an env_file or a "
			    "secret file (mode 0600/0640), never inline",
			    "secret '%s' appears inline in the compose "
			    "document", sec);
		return r;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c) {
			if ((r = vp_buf_addf(path, "%s%s", len ? "." : "", k)))
				return r;
			r = walk_secrets(in, c, path, rep);
			path->len = len;
			path->buf[len] = '\0';
			if (r != 0)
				return r;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c) {
			if ((r = vp_buf_addf(path, "[%zu]", i)) != 0)
				return r;
			r = walk_secrets(in, c, path, rep);
			path->len = len;
			path->buf[len] = '\0';
			if (r != 0)
				return r;
		}
	}
	return VP_OK;
}

/* 1 if a volume source (relative to the stack root) covers path. */
static int
source_covers(const char *src, const char *path)
{
	size_t n = strlen(src);

	while (n > 0 && src[n - 1] == '/')
		n--;
	return strncmp(src, path, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/');
}

/*
 * A secret file mounted into a container must have an owner that lets
 * that container read it: its uid (owner bits), its gid (group bits), or
 * a DAC capability.  With cap_drop ALL even root in the container cannot
 * read a 0400 file of another uid.  A secret file no container mounts
 * (an env_file read by compose, a host-side file) may stay with the
 * deploying user ((uid_t)-1).
 */
static int
secret_readers(const struct check_input *in, const struct bundle_file *f,
    struct check_report *rep)
{
	const json_t	*svcs = in->services, *csvcs = compose_services(in);
	const json_t	*svc, *vol, *caps, *csvc;
	const char	*name, *src;
	long		 uid, gid;
	size_t		 i;
	int		 ok;

	json_object_foreach((json_t *)svcs, name, svc) {
		if (json_is_false(json_object_get(svc, "enabled")))
			continue;
		csvc = csvcs ? json_object_get(csvcs, name) : NULL;
		if (csvcs != NULL && csvc == NULL)
			continue;
		json_array_foreach(json_object_get(svc, "volumes"), i, vol) {
			src = json_string_value(json_object_get(vol, "source"));
			if (src == NULL || *src == '/' ||
			    !source_covers(src, f->path))
				continue;
			uid = json_is_integer(json_object_get(svc, "uid")) ?
			    (long)json_integer_value(json_object_get(svc,
			    "uid")) : -1;
			gid = json_is_integer(json_object_get(svc, "gid")) ?
			    (long)json_integer_value(json_object_get(svc,
			    "gid")) : -1;
			caps = csvc ? json_object_get(csvc, "cap_add") :
			    json_object_get(svc, "cap_add");
			ok = (f->mode & 0004) != 0 ||
			    in_strarray_case(caps, "DAC_OVERRIDE") ||
			    in_strarray_case(caps, "DAC_READ_SEARCH") ||
			    (f->uid != (uid_t)-1 && uid >= 0 &&
			    (long)f->uid == uid && (f->mode & 0400) != 0) ||
			    (f->gid != (gid_t)-1 && gid >= 0 &&
			    (long)f->gid == gid && (f->mode & 0040) != 0);
			if (ok)
				continue;
			if (f->uid == (uid_t)-1)
				return check_add(rep, CHECK_ERROR,
				    "secret-inline", f->path, "set owner: "
				    "<service> in stack/bundle.yml", "file "
				    "holds secrets and is mounted into '%s' "
				    "but has no owner (the deploying user owns "
				    "it)",
				    name);
			return check_add(rep, CHECK_ERROR, "secret-inline",
			    f->path, "set owner: <service> in stack/bundle.yml "
			    "(or its group with mode 0640)", "file (mode %04o, "
			    "uid %ld) holds secrets and is mounted into '%s' "
			    "(uid %ld) but '%s' cannot read it",
			    (unsigned)f->mode & 07777, (long)f->uid, name, uid,
			    name);
		}
	}
	return VP_OK;
}

int
check_secret_inline(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const struct bundle_file	*f;
	struct vp_buf			 path = VP_BUF_INIT(4096);
	const char			*k, *sec;
	const json_t			*v;
	char				*end;
	unsigned long			 maxmode;
	size_t				 i, min = secret_min(in);
	int				 r = VP_OK;

	(void)cause;
	json_object_foreach((json_t *)in->secrets, k, v) {
		/* An empty value means "not set" (optional secret). */
		if (json_is_string(v) && json_string_length(v) > 0 &&
		    json_string_length(v) < min &&
		    (r = check_add(rep, CHECK_WARNING, "secret-inline", k,
		    "regenerate it (vpai secrets rotate)", "secret '%s' is "
		    "shorter than %zu characters: weak, and not searched "
		    "for", k, min)) != 0)
			return r;
	}
	if (in->compose != NULL &&
	    (r = walk_secrets(in, in->compose, &path, rep)) != 0)
		goto out;
	maxmode = strtoul(pol_str(in, "secrets.max_mode", "0640"), &end, 8);
	for (i = 0; in->bundle != NULL && i < in->bundle->n; i++) {
		f = &in->bundle->files[i];
		sec = secret_in(in, f->data, f->len);
		if (sec != NULL && (f->mode & 0007) != 0) {
			r = check_add(rep, CHECK_ERROR, "secret-inline",
			    f->path, "keep secrets in a file of mode 0600/0640 "
			    "read through env_file or a mount",
			    "file (mode %04o) is world-readable and holds "
			    "secret '%s'", (unsigned)f->mode & 07777, sec);
		} else if ((sec != NULL || f->secret) &&
		    (f->mode & 07777 & ~maxmode) != 0) {
			r = check_add(rep, CHECK_ERROR, "secret-inline",
			    f->path, NULL, "file holds secrets but its mode "
			    "%04o is wider than %04lo", (unsigned)f->mode &
			    07777, maxmode);
		} else if (sec != NULL && !f->secret) {
			r = check_add(rep, CHECK_ERROR, "secret-inline",
			    f->path, NULL, "file holds secret '%s' but is not "
			    "marked secret", sec);
		}
		if (r != 0)
			goto out;
		if ((sec != NULL || f->secret) &&
		    (r = secret_readers(in, f, rep)) != 0)
			goto out;
	}
 out:
	vp_buf_release(&path);
	return r;
}

/* ==== container-hardening ==== */

static int
is_root_user(const json_t *u)
{
	const char *s = json_string_value(u);

	if (json_is_integer(u))
		return json_integer_value(u) == 0;
	if (s == NULL || *s == '\0')
		return 1;
	return strcmp(s, "root") == 0 || strcmp(s, "0") == 0 ||
	    strncmp(s, "0:", 2) == 0 || strncmp(s, "root:", 5) == 0;
}

int
check_container_hardening(const struct check_input *in,
    struct check_report *rep, char **cause)
{
	static const char *const ns[] = { "pid", "ipc", "userns_mode", "uts" };
	const json_t	*svcs = compose_services(in), *svc, *so, *v;
	const char	*name, *s;
	char		 where[WHERE_MAX];
	size_t		 i, j;
	int		 r, nnp;

	(void)cause;
	json_object_foreach((json_t *)svcs, name, svc) {
		snprintf(where, sizeof(where), "services.%s.cap_drop", name);
		if (!in_strarray_case(json_object_get(svc, "cap_drop"), "ALL")
		    && (r = check_add(rep, CHECK_ERROR, "container-hardening",
		    where, "cap_drop: [ALL], then cap_add only what it needs",
		    "service '%s' does not drop all capabilities", name)))
			return r;
		snprintf(where, sizeof(where), "services.%s.cap_add", name);
		if (in_strarray_case(json_object_get(svc, "cap_add"), "ALL") &&
		    (r = check_add(rep, CHECK_ERROR, "container-hardening",
		    where, NULL, "service '%s' adds ALL capabilities", name)))
			return r;
		so = json_object_get(svc, "security_opt");
		nnp = 0;
		json_array_foreach(so, i, v) {
			s = json_string_value(v);
			if (s != NULL && (strcmp(s, "no-new-privileges:true") ==
			    0 || strcmp(s, "no-new-privileges=true") == 0 ||
			    strcmp(s, "no-new-privileges") == 0))
				nnp = 1;
		}
		snprintf(where, sizeof(where), "services.%s.security_opt",
		    name);
		if (!nnp && (r = check_add(rep, CHECK_ERROR,
		    "container-hardening", where, "add "
		    "no-new-privileges:true", "service '%s' can gain "
		    "privileges (no no-new-privileges:true)", name)))
			return r;
		snprintf(where, sizeof(where), "services.%s.privileged", name);
		if (json_is_true(json_object_get(svc, "privileged")) &&
		    (r = check_add(rep, CHECK_ERROR, "container-hardening",
		    where, NULL, "service '%s' is privileged", name)))
			return r;
		for (j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
			s = json_string_value(json_object_get(svc, ns[j]));
			snprintf(where, sizeof(where), "services.%s.%s", name,
			    ns[j]);
			if (s != NULL && strcmp(s, "host") == 0 &&
			    (r = check_add(rep, CHECK_ERROR,
			    "container-hardening", where, NULL, "service '%s' "
			    "shares the host's %s namespace", name, ns[j])))
				return r;
		}
		snprintf(where, sizeof(where), "services.%s.user", name);
		if (is_root_user(json_object_get(svc, "user")) &&
		    !in_strarray(pol(in, "root_allowed"), name) &&
		    (r = check_add(rep, CHECK_WARNING, "container-hardening",
		    where, "set user: UID:GID (the image's unprivileged user)",
		    "service '%s' runs as root", name)))
			return r;
	}
	return VP_OK;
}

/* ==== docker-socket ==== */

static int
is_socket_path(const char *s)
{
	return strcmp(s, "/var/run/docker.sock") == 0 ||
	    strcmp(s, "/run/docker.sock") == 0;
}

int
check_docker_socket(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const json_t	*svcs = compose_services(in), *svc, *v;
	const char	*name, *s, *src;
	char		 where[WHERE_MAX], buf[1024], *colon, *opts;
	size_t		 i;
	int		 r, ro;

	(void)cause;
	json_object_foreach((json_t *)svcs, name, svc) {
		json_array_foreach(json_object_get(svc, "volumes"), i, v) {
			ro = 0;
			if ((s = json_string_value(v)) != NULL) {
				if (strlen(s) >= sizeof(buf))
					continue;
				snprintf(buf, sizeof(buf), "%s", s);
				if ((colon = strchr(buf, ':')) != NULL)
					*colon = '\0';
				src = buf;
				opts = colon ? strchr(colon + 1, ':') : NULL;
				if (opts != NULL && (strstr(opts, "ro") ==
				    opts + 1 || strstr(opts, ",ro") != NULL))
					ro = 1;
			} else {
				src = json_string_value(json_object_get(v,
				    "source"));
				ro = json_is_true(json_object_get(v,
				    "read_only"));
			}
			if (src == NULL || !is_socket_path(src))
				continue;
			snprintf(where, sizeof(where),
			    "services.%s.volumes[%zu]", name, i);
			if (!in_strarray(pol(in, "docker_socket"), name))
				r = check_add(rep, CHECK_ERROR, "docker-socket",
				    where, "only the services listed in "
				    "stack/policy.yml docker_socket may mount "
				    "it", "service '%s' mounts the Docker "
				    "socket (root on the host)", name);
			else if (!ro)
				r = check_add(rep, CHECK_ERROR, "docker-socket",
				    where, "mount it read-only (:ro)",
				    "service '%s' mounts the Docker socket "
				    "read-write", name);
			else
				r = VP_OK;
			if (r != 0)
				return r;
		}
	}
	return VP_OK;
}

/* ==== ssh-lockout ==== */

struct net {
	int		 af;
	unsigned char	 a[16];
	int		 len;		/* prefix length */
};

static int
parse_net(const char *s, struct net *n)
{
	char	 buf[64], *slash, *end;
	long	 l;

	if (strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	if (buf[0] == '[') {	/* [v6]:port */
		memmove(buf, buf + 1, strlen(buf));
		if ((end = strchr(buf, ']')) != NULL)
			*end = '\0';
	}
	n->len = -1;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		l = strtol(slash, &end, 10);
		if (*end != '\0' || l < 0 || l > 128)
			return -1;
		n->len = (int)l;
	}
	memset(n->a, 0, sizeof(n->a));
	if (inet_pton(AF_INET, buf, n->a) == 1)
		n->af = AF_INET;
	else if (inet_pton(AF_INET6, buf, n->a) == 1)
		n->af = AF_INET6;
	else {
		/* "addr:port" (IPv4 with port) */
		if ((end = strrchr(buf, ':')) != NULL && strchr(buf, ':') ==
		    end) {
			*end = '\0';
			if (inet_pton(AF_INET, buf, n->a) == 1) {
				n->af = AF_INET;
				goto ok;
			}
		}
		return -1;
	}
 ok:
	if (n->len < 0)
		n->len = n->af == AF_INET ? 32 : 128;
	if (n->af == AF_INET && n->len > 32)
		return -1;
	return 0;
}

/* 1 if network a lies inside network b. */
static int
net_inside(const struct net *a, const struct net *b)
{
	int	 i, bits = b->len;

	if (a->af != b->af || a->len < b->len)
		return 0;
	for (i = 0; bits > 0; i++, bits -= 8) {
		unsigned char m = bits >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - bits));

		if ((a->a[i] & m) != (b->a[i] & m))
			return 0;
	}
	return 1;
}

static const struct bundle_file *
find_file(const struct bundle *b, const char *path)
{
	size_t i;

	for (i = 0; b != NULL && i < b->n; i++)
		if (strcmp(b->files[i].path, path) == 0)
			return &b->files[i];
	return NULL;
}

/* Next line of f as words; returns 0 at the end. */
struct lines {
	const char	*p, *end;
	int		 line;
	char		 buf[1024];
	char		*w[16];
	int		 nw;
};

static int
next_line(struct lines *l)
{
	const char	*nl;
	char		*s, *hash;
	size_t		 n;

	while (l->p < l->end) {
		nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
		n = (size_t)((nl ? nl : l->end) - l->p);
		if (n >= sizeof(l->buf))
			n = sizeof(l->buf) - 1;
		memcpy(l->buf, l->p, n);
		l->buf[n] = '\0';
		l->p = nl ? nl + 1 : l->end;
		l->line++;
		if ((hash = strchr(l->buf, '#')) != NULL)
			*hash = '\0';
		l->nw = 0;
		for (s = strtok_r(l->buf, " \t\r=", &hash);
		    s != NULL && l->nw < 16; s = strtok_r(NULL, " \t\r", &hash))
			l->w[l->nw++] = s;
		if (l->nw > 0)
			return 1;
	}
	return 0;
}

static int
ssh_sshd(const struct check_input *in, const struct bundle_file *f,
    const struct net *vpn, int have_vpn, int verified, const char *user,
    long port, struct check_report *rep)
{
	struct lines	 l;
	struct net	 a;
	char		 where[WHERE_MAX];
	const char	*vip = var_str(in, "vpn_headscale_ip");
	int		 r, i, root = 0, pw = 0, users = 0, userok = 0;
	int		 ports = 0, portok = 0;
	char		*at;

	memset(&l, 0, sizeof(l));
	l.p = f->data;
	l.end = f->data + f->len;
	while (next_line(&l)) {
		snprintf(where, sizeof(where), "%s:%d", f->path, l.line);
		if (strcasecmp(l.w[0], "Match") == 0)
			break;
		if (l.nw < 2)
			continue;
		if (strcasecmp(l.w[0], "ListenAddress") == 0 && !verified &&
		    parse_net(l.w[1], &a) == 0 && ((have_vpn &&
		    net_inside(&a, vpn)) || (vip &&
		    strcmp(l.w[1], vip) == 0))) {
			if ((r = check_add(rep, CHECK_ERROR, "ssh-lockout",
			    where, "remove it, or set vpn_verified: true once "
			    "SSH over the VPN works (REX #1: lockout)",
			    "ListenAddress %s restricts SSH to the VPN but "
			    "vpn_verified is false", l.w[1])) != 0)
				return r;
		} else if (strcasecmp(l.w[0], "PermitRootLogin") == 0 &&
		    !root++ && strcasecmp(l.w[1], "no") != 0) {
			if ((r = check_add(rep, CHECK_ERROR, "ssh-lockout",
			    where, "PermitRootLogin no", "PermitRootLogin is "
			    "'%s'", l.w[1])) != 0)
				return r;
		} else if (strcasecmp(l.w[0], "PasswordAuthentication") == 0
		    && !pw++ && strcasecmp(l.w[1], "no") != 0) {
			if ((r = check_add(rep, CHECK_ERROR, "ssh-lockout",
			    where, "PasswordAuthentication no",
			    "PasswordAuthentication is '%s'", l.w[1])) != 0)
				return r;
		} else if (strcasecmp(l.w[0], "AllowUsers") == 0) {
			users = 1;
			for (i = 1; i < l.nw; i++) {
				if ((at = strchr(l.w[i], '@')) != NULL)
					*at = '\0';
				if (user && strcmp(l.w[i], user) == 0)
					userok = 1;
			}
		} else if (strcasecmp(l.w[0], "Port") == 0) {
			ports = 1;
			if (strtol(l.w[1], NULL, 10) == port)
				portok = 1;
		}
	}
	if (!root && (r = check_add(rep, CHECK_ERROR, "ssh-lockout", f->path,
	    "add PermitRootLogin no", "PermitRootLogin is not set")) != 0)
		return r;
	if (!pw && (r = check_add(rep, CHECK_ERROR, "ssh-lockout", f->path,
	    "add PasswordAuthentication no", "PasswordAuthentication is not "
	    "set")) != 0)
		return r;
	if (user != NULL && !userok && (r = check_add(rep, CHECK_ERROR,
	    "ssh-lockout", f->path, "add it to AllowUsers", users ?
	    "AllowUsers does not include the deploy user '%s'" :
	    "no AllowUsers line for the deploy user '%s'", user)) != 0)
		return r;
	if (ports && port > 0 && !portok && (r = check_add(rep, CHECK_ERROR,
	    "ssh-lockout", f->path, "render Port from the site's "
	    "<env>_ssh_port", "sshd does not listen on the site's SSH port "
	    "%ld", port)) != 0)
		return r;
	return VP_OK;
}

static int
ssh_ufw(const struct bundle_file *f, const struct net *vpn, int have_vpn,
    int verified, long port, struct check_report *rep)
{
	struct lines	 l;
	struct net	 a;
	char		 where[WHERE_MAX], *slash;
	int		 r, any = 0, vpnonly = 0, vline = 0, deny = 0;

	memset(&l, 0, sizeof(l));
	l.p = f->data;
	l.end = f->data + f->len;
	while (next_line(&l)) {
		if (strcmp(l.w[0], "default") == 0 && l.nw >= 3 &&
		    strcmp(l.w[1], "incoming") == 0 &&
		    strcmp(l.w[2], "allow") != 0)
			deny = 1;
		/* "limit" is "allow" with rate limiting. */
		if ((strcmp(l.w[0], "allow") != 0 &&
		    strcmp(l.w[0], "limit") != 0) || l.nw < 2)
			continue;
		if (strtol(l.w[1], &slash, 10) != port ||
		    (*slash != '\0' && strcmp(slash, "/tcp") != 0))
			continue;
		if (l.nw < 4 || strcmp(l.w[2], "from") != 0 ||
		    strcmp(l.w[3], "any") == 0 ||
		    strcmp(l.w[3], "0.0.0.0/0") == 0 ||
		    strcmp(l.w[3], "::/0") == 0)
			any = 1;
		else if (have_vpn && parse_net(l.w[3], &a) == 0 &&
		    net_inside(&a, vpn)) {
			vpnonly = 1;
			vline = l.line;
		}
	}
	if (!any && vpnonly && !verified) {
		snprintf(where, sizeof(where), "%s:%d", f->path, vline);
		return check_add(rep, CHECK_ERROR, "ssh-lockout", where,
		    "allow the SSH port from anywhere until vpn_verified: true "
		    "(REX #1: lockout)", "SSH port %ld is allowed only from "
		    "the VPN but vpn_verified is false", port);
	}
	if (!any && !vpnonly && deny && port > 0)
		return check_add(rep, CHECK_ERROR, "ssh-lockout", f->path,
		    "add: allow <ssh port>/tcp", "no UFW rule allows the SSH "
		    "port %ld: enabling UFW locks every SSH session out", port);
	(void)r;
	return VP_OK;
}

int
check_ssh_lockout(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const struct bundle_file	*sshd, *ufw;
	const char			*cidr, *user, *sp, *up;
	const json_t			*pv;
	struct net			 vpn;
	long				 port = 0;
	int				 r, have_vpn, verified;

	(void)cause;
	if (in->bundle == NULL)
		return VP_OK;
	sp = pol_str(in, "ssh.sshd_dropin", "host/ssh/sshd_config.d/vpai.conf");
	up = pol_str(in, "ssh.ufw_rules", "host/ufw/rules");
	sshd = find_file(in->bundle, sp);
	ufw = find_file(in->bundle, up);
	cidr = var_str(in, "vpn_network_cidr");
	have_vpn = cidr != NULL && parse_net(cidr, &vpn) == 0;
	verified = in->vars != NULL &&
	    json_is_true(json_object_get(in->vars, "vpn_verified"));
	user = json_string_value(env_var(in, "user"));
	pv = env_var(in, "ssh_port");
	if (json_is_integer(pv))
		port = (long)json_integer_value(pv);
	if (sshd == NULL) {
		if ((r = check_add(rep, CHECK_WARNING, "ssh-lockout", sp, NULL,
		    "no sshd drop-in in the bundle: SSH settings not "
		    "checked")) != 0)
			return r;
	} else if ((r = ssh_sshd(in, sshd, &vpn, have_vpn, verified, user,
	    port, rep)) != 0)
		return r;
	if (ufw != NULL && (r = ssh_ufw(ufw, &vpn, have_vpn, verified, port,
	    rep)) != 0)
		return r;
	return VP_OK;
}

/* ==== portability ==== */

struct scan {
	const struct check_input	*in;
	struct check_report		*rep;
	json_t				*words;	/* literals */
	const char			*label;	/* "stack/" prefix */
};

static int
scan_data(struct scan *s, const char *name, const char *data, size_t len,
    const char *what)
{
	const json_t	*v;
	const char	*w;
	char		 where[WHERE_MAX];
	size_t		 i;
	long		 off;
	int		 r;

	json_array_foreach(s->words, i, v) {
		if ((w = json_string_value(v)) == NULL || *w == '\0')
			continue;
		if ((off = find_word(data, len, w)) < 0)
			continue;
		snprintf(where, sizeof(where), "%s:%d", name,
		    line_of(data, (size_t)off));
		if ((r = check_add(s->rep, CHECK_ERROR, "portability", where,
		    "use {{ project_name }} / {{ domain_name }} (or a site "
		    "key) instead", "%s '%s'", what, w)) != 0)
			return r;
	}
	return VP_OK;
}

static int
scan_dir(struct scan *s, const char *dir, const char *rel, int depth)
{
	struct vp_buf	 b = VP_BUF_INIT(SCAN_FILE_MAX);
	struct dirent	**ents = NULL;
	struct stat	 st;
	char		*path = NULL, *nrel = NULL;
	int		 i, n, r = VP_OK;

	if (depth > SCAN_DEPTH)
		return VP_OK;
	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0)
		return VP_OK;	/* missing directory: nothing to scan */
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] == '.')
			continue;
		free(path);
		free(nrel);
		path = vp_path_join(dir, ents[i]->d_name);
		nrel = vp_path_join(rel, ents[i]->d_name);
		if (path == NULL || nrel == NULL) {
			r = VP_ERR_NOMEM;
			break;
		}
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if ((r = scan_dir(s, path, nrel, depth + 1)) != 0)
				break;
			continue;
		}
		if (!S_ISREG(st.st_mode) || st.st_size > SCAN_FILE_MAX)
			continue;
		vp_buf_reset(&b);
		if (vp_file_read(path, &b, NULL) != 0) {
			vp_buf_init(&b, SCAN_FILE_MAX);
			continue;
		}
		if ((r = scan_data(s, nrel, b.buf, b.len,
		    "hard-coded literal")) != 0)
			break;
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	free(path);
	free(nrel);
	vp_buf_release(&b);
	return r;
}

int
check_portability(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	struct scan	 s;
	const json_t	*v;
	const char	*proj = var_str(in, "project_name");
	const char	*dom = var_str(in, "domain_name");
	const struct bundle_file *f;
	char		*dir = NULL, *rel = NULL, name[WHERE_MAX];
	size_t		 i;
	int		 r = VP_OK;

	(void)cause;
	memset(&s, 0, sizeof(s));
	s.in = in;
	s.rep = rep;
	if ((s.words = json_array()) == NULL)
		return VP_ERR_NOMEM;
	json_array_foreach(pol(in, "portability.forbidden"), i, v)
		if (json_is_string(v))
			json_array_append(s.words, (json_t *)v);
	/*
	 * The site's domain is distinctive (it has a dot); its project name
	 * may be an ordinary word of the stack ("acme"), so the sources are
	 * searched for the domain only and the project name is left to the
	 * canary render below.
	 */
	if (dom != NULL && *dom != '\0')
		json_array_append_new(s.words, json_string(dom));
	if (in->stack_dir != NULL) {
		json_array_foreach(pol(in, "portability.scan"), i, v) {
			if (!json_is_string(v))
				continue;
			dir = vp_path_join(in->stack_dir, json_string_value(v));
			rel = vp_path_join("stack", json_string_value(v));
			if (dir == NULL || rel == NULL)
				r = VP_ERR_NOMEM;
			else
				r = scan_dir(&s, dir, rel, 0);
			free(dir);
			free(rel);
			dir = rel = NULL;
			if (r != 0)
				goto out;
		}
	}
	/*
	 * The canary render: the site's own values should all have been
	 * replaced.  A project name that is also a word the stack uses
	 * ("caddy", "acme") is reported here too: rename the project or run
	 * with --no-canary.
	 */
	json_array_clear(s.words);
	if (dom != NULL && *dom != '\0')
		json_array_append_new(s.words, json_string(dom));
	if (proj != NULL && *proj != '\0' &&
	    !in_strarray(pol(in, "portability.tool_words"), proj))
		json_array_append_new(s.words, json_string(proj));
	for (i = 0; in->canary != NULL && i < in->canary->n; i++) {
		f = &in->canary->files[i];
		snprintf(name, sizeof(name), "%s", f->path);
		if ((r = scan_data(&s, name, f->data, f->len,
		    "rendered with a canary domain and project, still "
		    "contains")) != 0)
			goto out;
	}
 out:
	json_decref(s.words);
	return r;
}

/* ==== volume-owner ==== */

static long
user_uid(const json_t *u)
{
	const char	*s = json_string_value(u);
	char		*end;
	long		 v;

	if (json_is_integer(u))
		return (long)json_integer_value(u);
	if (s == NULL)
		return -1;
	if (strcmp(s, "root") == 0 || strncmp(s, "root:", 5) == 0)
		return 0;
	v = strtol(s, &end, 10);
	if (end == s || (*end != '\0' && *end != ':'))
		return -1;
	return v;
}

int
check_volume_owner(const struct check_input *in, struct check_report *rep,
    char **cause)
{
	const json_t	*svcs = in->services, *csvcs = compose_services(in);
	const json_t	*svc, *vol, *ow, *csvc, *caps;
	const char	*name, *src;
	char		 where[WHERE_MAX];
	long		 uid;
	size_t		 i;
	int		 r, canfix;

	(void)cause;
	json_object_foreach((json_t *)svcs, name, svc) {
		if (json_is_false(json_object_get(svc, "enabled")))
			continue;
		csvc = csvcs ? json_object_get(csvcs, name) : NULL;
		if (csvcs != NULL && csvc == NULL)
			continue;
		if (json_is_integer(json_object_get(svc, "uid")))
			uid = (long)json_integer_value(json_object_get(svc,
			    "uid"));
		else
			uid = user_uid(json_object_get(csvc ? csvc : svc,
			    "user"));
		caps = csvc ? json_object_get(csvc, "cap_add") :
		    json_object_get(svc, "cap_add");
		canfix = in_strarray_case(caps, "CHOWN") ||
		    in_strarray_case(caps, "DAC_OVERRIDE") ||
		    in_strarray_case(caps, "FOWNER");
		json_array_foreach(json_object_get(svc, "volumes"), i, vol) {
			src = json_string_value(json_object_get(vol,
			    "source"));
			if (src == NULL || !json_is_string(json_object_get(vol,
			    "kind")) || strcmp(json_string_value(
			    json_object_get(vol, "kind")), "data") != 0)
				continue;
			snprintf(where, sizeof(where),
			    "services.%s.volumes[%zu]", name, i);
			ow = json_object_get(vol, "owner");
			if (!json_is_integer(ow)) {
				r = check_add(rep, CHECK_ERROR, "volume-owner",
				    where, "set owner: <uid> on the volume",
				    "data volume '%s' has no owner uid", src);
			} else if (uid >= 0 && json_integer_value(ow) != uid) {
				r = check_add(rep, canfix ? CHECK_WARNING :
				    CHECK_ERROR, "volume-owner", where,
				    canfix ? "it may chown at start, but "
				    "owning it right is simpler" : "set the "
				    "volume owner to the service uid (with "
				    "cap_drop ALL the container cannot chown "
				    "it)",
				    "data volume '%s' is owned by uid %lld but "
				    "'%s' runs as uid %ld", src,
				    (long long)json_integer_value(ow), name,
				    uid);
			} else
				r = VP_OK;
			if (r != 0)
				return r;
		}
	}
	return VP_OK;
}
