/*
 * service.c: the schema of one stack/services/<name>.yml, checked into a
 * normalised JSON object (every key present, defaults applied).
 *
 * Errors read "FILE:LINE: key 'K': what is wrong" (LINE in the file as
 * rendered by the template engine; the same as the source unless block
 * tags removed lines above it).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/opt.h"
#include "stack/stack-int.h"

enum kt { K_STR, K_BOOLEXPR, K_STRLIST, K_MAP, K_OBJ, K_LIST, K_SCALARMAP };

struct skey {
	const char	*name;
	enum kt		 type;
	int		 required;
};

static const struct skey service_keys[] = {
	{ "name", K_STR, 1 },
	{ "description", K_STR, 0 },
	{ "phase", K_STR, 1 },
	{ "enabled", K_BOOLEXPR, 0 },
	{ "image_key", K_STR, 0 },
	{ "user", K_STR, 1 },
	{ "volumes", K_LIST, 0 },
	{ "networks", K_STRLIST, 1 },
	{ "limits", K_OBJ, 1 },
	{ "healthcheck", K_OBJ, 0 },
	{ "depends_on", K_OBJ, 0 },
	{ "cap_add", K_STRLIST, 0 },
	{ "security_opt", K_STRLIST, 0 },
	{ "env_file", K_STRLIST, 0 },
	{ "environment", K_SCALARMAP, 0 },
	{ "command", K_STRLIST, 0 },
	{ "entrypoint", K_STRLIST, 0 },
	{ "ports", K_STRLIST, 0 },
	{ "labels", K_SCALARMAP, 0 },
	{ "tmpfs", K_STRLIST, 0 },
	{ "probe", K_BOOLEXPR, 0 },
	{ "compose", K_MAP, 0 },
};
#define NKEYS (sizeof(service_keys) / sizeof(service_keys[0]))

static const char *const volume_keys[] = {
	"kind", "source", "target", "owner", "read_only", "mode",
};
static const char *const limit_keys[] = { "memory", "cpus", "reservation" };
static const char *const hc_keys[] = {
	"test", "interval", "timeout", "retries", "start_period",
};
static const char *const conditions[] = {
	"service_started", "service_healthy", "service_completed_successfully",
};
static const char *const envs[] = { "prod", "preprod" };

struct sc {
	const char	*file;
	const json_t	*lines;
	char		**cause;
};

static int sc_fail(struct sc *, const char *, const char *, ...)
    VP_PRINTF(3, 4);

static int
sc_fail(struct sc *c, const char *key, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg = NULL;
	int	 line = stack_line(c->lines, key), r;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (line > 0)
		r = vp_fail(c->cause, VP_ERR_INVALID, "%s:%d: key '%s': %s",
		    c->file, line, key, msg ? msg : "invalid");
	else
		r = vp_fail(c->cause, VP_ERR_INVALID, "%s: key '%s': %s",
		    c->file, key, msg ? msg : "invalid");
	free(msg);
	return r;
}

static int
unknown_key(struct sc *c, const char *path, const char *key,
    const char *const *cands, size_t n)
{
	const char *m = vp_did_you_mean(key, cands, n);

	if (m != NULL)
		return sc_fail(c, path, "unknown key (did you mean '%s'?)", m);
	return sc_fail(c, path, "unknown key");
}

static int
in_list(const char *s, const char *const *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, l[i]) == 0)
			return 1;
	return 0;
}

long long
stack_parse_mem(const char *s)
{
	long long	 v = 0, mul = 1;
	const char	*p = s;

	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p - '0');
		if (v > (1LL << 50))
			return -1;
		p++;
	}
	switch (*p) {
	case '\0':
		return v;
	case 'k': case 'K':
		mul = 1024;
		break;
	case 'm': case 'M':
		mul = 1024 * 1024;
		break;
	case 'g': case 'G':
		mul = 1024LL * 1024 * 1024;
		break;
	default:
		return -1;
	}
	p++;
	if (*p == 'b' || *p == 'B')
		p++;
	return *p == '\0' ? v * mul : -1;
}

static int
is_duration(const char *s)
{
	int digits = 0;

	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (strchr("hms", *s) != NULL && digits)
			digits = 0;
		else
			return 0;
	}
	return digits == 0;
}

static int
check_strlist(struct sc *c, const char *key, const json_t *v)
{
	size_t	 i;
	json_t	*x;
	char	 sub[256];

	if (!json_is_array(v))
		return sc_fail(c, key, "expected a list of strings");
	json_array_foreach(v, i, x)
		if (!json_is_string(x)) {
			snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
			return sc_fail(c, sub, "expected a string");
		}
	return VP_OK;
}

static int
check_volumes(struct sc *c, const json_t *vols, int uid, json_t *out)
{
	const char	*k, *kind, *src, *tgt;
	json_t		*v, *x, *nv;
	char		 path[256];
	size_t		 i;
	int		 r;

	json_array_foreach(vols, i, v) {
		snprintf(path, sizeof(path), "volumes[%zu]", i);
		if (!json_is_object(v))
			return sc_fail(c, path, "expected a mapping");
		json_object_foreach(v, k, x) {
			if (!in_list(k, volume_keys, 6)) {
				snprintf(path, sizeof(path), "volumes[%zu].%s",
				    i, k);
				return unknown_key(c, path, k, volume_keys, 6);
			}
		}
		kind = json_string_value(json_object_get(v, "kind"));
		src = json_string_value(json_object_get(v, "source"));
		tgt = json_string_value(json_object_get(v, "target"));
		snprintf(path, sizeof(path), "volumes[%zu].kind", i);
		if (kind == NULL || (strcmp(kind, "data") != 0 &&
		    strcmp(kind, "config") != 0 && strcmp(kind, "host") != 0))
			return sc_fail(c, path,
			    "expected one of data, config, host");
		snprintf(path, sizeof(path), "volumes[%zu].source", i);
		if (src == NULL || *src == '\0')
			return sc_fail(c, path, "expected a non-empty string");
		if (strcmp(kind, "host") == 0 ? *src != '/' :
		    (*src == '/' || strstr(src, "..") != NULL))
			return sc_fail(c, path, strcmp(kind, "host") == 0 ?
			    "a host volume needs an absolute path" :
			    "must be relative to the stack root, without '..'");
		snprintf(path, sizeof(path), "volumes[%zu].target", i);
		if (tgt == NULL || *tgt != '/')
			return sc_fail(c, path, "expected an absolute path");
		snprintf(path, sizeof(path), "volumes[%zu].read_only", i);
		x = json_object_get(v, "read_only");
		if (x != NULL && !json_is_boolean(x))
			return sc_fail(c, path, "expected true or false");
		snprintf(path, sizeof(path), "volumes[%zu].owner", i);
		x = json_object_get(v, "owner");
		if (x != NULL && (!json_is_integer(x) ||
		    json_integer_value(x) < 0 ||
		    json_integer_value(x) > 65535 ||
		    strcmp(kind, "data") != 0))
			return sc_fail(c, path, strcmp(kind, "data") != 0 ?
			    "only data volumes have an owner" :
			    "expected a uid (0-65535)");
		snprintf(path, sizeof(path), "volumes[%zu].mode", i);
		x = json_object_get(v, "mode");
		if (x != NULL && (!json_is_string(x) ||
		    strspn(json_string_value(x), "01234567") != 4 ||
		    json_string_length(x) != 4))
			return sc_fail(c, path, "expected a quoted octal mode "
			    "like \"0750\"");
		nv = json_pack("{s:s,s:s,s:s,s:b}", "kind", kind, "source", src,
		    "target", tgt, "read_only",
		    strcmp(kind, "config") == 0 ||
		    json_is_true(json_object_get(v, "read_only")));
		if (nv == NULL)
			return VP_ERR_NOMEM;
		if (strcmp(kind, "data") == 0) {
			x = json_object_get(v, "owner");
			r = json_object_set_new(nv, "owner", json_integer(x ?
			    json_integer_value(x) : uid));
			x = json_object_get(v, "mode");
			r |= json_object_set_new(nv, "mode",
			    json_string(x ? json_string_value(x) : "0750"));
			if (r != 0) {
				json_decref(nv);
				return VP_ERR_NOMEM;
			}
		}
		if (json_array_append_new(out, nv) != 0)
			return VP_ERR_NOMEM;
	}
	return VP_OK;
}

static int
check_limits(struct sc *c, const json_t *lim)
{
	const char	*k, *k2, *s;
	json_t		*e, *x;
	char		 path[128];
	size_t		 i;

	json_object_foreach((json_t *)(uintptr_t)lim, k, e)
		if (!in_list(k, envs, 2)) {
			snprintf(path, sizeof(path), "limits.%s", k);
			return unknown_key(c, path, k, envs, 2);
		}
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "limits.%s", envs[i]);
		if ((e = json_object_get(lim, envs[i])) == NULL)
			return sc_fail(c, "limits", "missing '%s'", envs[i]);
		if (!json_is_object(e))
			return sc_fail(c, path, "expected a mapping");
		json_object_foreach(e, k2, x) {
			snprintf(path, sizeof(path), "limits.%s.%s", envs[i],
			    k2);
			if (!in_list(k2, limit_keys, 3))
				return unknown_key(c, path, k2, limit_keys, 3);
			if (strcmp(k2, "cpus") == 0) {
				if (!json_is_number(x) && !(json_is_string(x) &&
				    atof(json_string_value(x)) > 0))
					return sc_fail(c, path,
					    "expected a number of CPUs");
				continue;
			}
			s = json_string_value(x);
			if (s == NULL || stack_parse_mem(s) <= 0)
				return sc_fail(c, path, "expected a memory size "
				    "like \"512M\"");
		}
		snprintf(path, sizeof(path), "limits.%s", envs[i]);
		if (json_object_get(e, "memory") == NULL)
			return sc_fail(c, path, "missing 'memory'");
	}
	return VP_OK;
}

static int
check_healthcheck(struct sc *c, const json_t *hc)
{
	const char	*k, *t;
	json_t		*x, *test;
	char		 path[128];

	json_object_foreach((json_t *)(uintptr_t)hc, k, x) {
		snprintf(path, sizeof(path), "healthcheck.%s", k);
		if (!in_list(k, hc_keys, 5))
			return unknown_key(c, path, k, hc_keys, 5);
		if (strcmp(k, "retries") == 0) {
			if (!json_is_integer(x) || json_integer_value(x) < 1)
				return sc_fail(c, path,
				    "expected a positive integer");
		} else if (strcmp(k, "test") != 0) {
			if (!json_is_string(x) ||
			    !is_duration(json_string_value(x)))
				return sc_fail(c, path,
				    "expected a duration like \"30s\"");
		}
	}
	if ((test = json_object_get(hc, "test")) == NULL)
		return sc_fail(c, "healthcheck", "missing 'test'");
	if (check_strlist(c, "healthcheck.test", test) != 0)
		return VP_ERR_INVALID;
	t = json_string_value(json_array_get(test, 0));
	if (t == NULL || (strcmp(t, "CMD") != 0 && strcmp(t, "CMD-SHELL") != 0)
	    || json_array_size(test) < 2)
		return sc_fail(c, "healthcheck.test",
		    "expected [\"CMD\", program, args...] or "
		    "[\"CMD-SHELL\", command]");
	return VP_OK;
}

static int
check_depends(struct sc *c, const json_t *dep)
{
	const char	*k, *cond;
	json_t		*x;
	char		 path[128];

	json_object_foreach((json_t *)(uintptr_t)dep, k, x) {
		snprintf(path, sizeof(path), "depends_on.%s", k);
		cond = json_string_value(x);
		if (cond == NULL && json_is_object(x))
			cond = json_string_value(json_object_get(x,
			    "condition"));
		if (cond == NULL || !in_list(cond, conditions, 3))
			return sc_fail(c, path, "expected a condition: "
			    "service_started, service_healthy or "
			    "service_completed_successfully");
	}
	return VP_OK;
}

static int
parse_user(const char *s, int *uid, int *gid)
{
	char	*end;
	long	 u, g;

	u = strtol(s, &end, 10);
	if (end == s || *end != ':' || u < 0 || u > 65535)
		return -1;
	s = end + 1;
	g = strtol(s, &end, 10);
	if (end == s || *end != '\0' || g < 0 || g > 65535)
		return -1;
	*uid = (int)u;
	*gid = (int)g;
	return 0;
}

int
stack_service_check(const char *file, const char *base, const json_t *doc,
    const json_t *lines, const json_t *networks, json_t **out, char **cause)
{
	struct sc	 c = { file, lines, cause };
	const char	*names[NKEYS], *k, *s;
	const struct skey *sk;
	json_t		*svc = NULL, *x, *vols = NULL, *dep;
	size_t		 i;
	int		 r, uid = 0, gid = 0;

	*out = NULL;
	if (!json_is_object(doc))
		return vp_fail(cause, VP_ERR_INVALID,
		    "%s: a service definition must be a mapping", file);
	for (i = 0; i < NKEYS; i++)
		names[i] = service_keys[i].name;
	json_object_foreach((json_t *)(uintptr_t)doc, k, x) {
		for (sk = NULL, i = 0; i < NKEYS; i++)
			if (strcmp(service_keys[i].name, k) == 0)
				sk = &service_keys[i];
		if (sk == NULL)
			return unknown_key(&c, k, k, names, NKEYS);
		switch (sk->type) {
		case K_STR:
			if (!json_is_string(x))
				return sc_fail(&c, k, "expected a string");
			break;
		case K_BOOLEXPR:
			if (!json_is_boolean(x) && !json_is_string(x))
				return sc_fail(&c, k, "expected true, false or "
				    "an expression");
			break;
		case K_STRLIST:
			if ((r = check_strlist(&c, k, x)) != 0)
				return r;
			break;
		case K_LIST:
			if (!json_is_array(x))
				return sc_fail(&c, k, "expected a list");
			break;
		case K_OBJ:
		case K_MAP:
			if (!json_is_object(x))
				return sc_fail(&c, k, "expected a mapping");
			break;
		case K_SCALARMAP:
			if (!json_is_object(x))
				return sc_fail(&c, k, "expected a mapping");
			{
				const char	*k2;
				json_t		*y;
				char		 p[256];

				json_object_foreach(x, k2, y)
					if (json_is_object(y) ||
					    json_is_array(y)) {
						snprintf(p, sizeof(p), "%s.%s",
						    k, k2);
						return sc_fail(&c, p,
						    "expected a scalar");
					}
			}
			break;
		}
	}
	for (i = 0; i < NKEYS; i++)
		if (service_keys[i].required &&
		    json_object_get(doc, service_keys[i].name) == NULL)
			return vp_fail(cause, VP_ERR_INVALID,
			    "%s: key '%s': missing", file,
			    service_keys[i].name);
	s = json_string_value(json_object_get(doc, "name"));
	if (strcmp(s, base) != 0)
		return sc_fail(&c, "name", "'%s' does not match the file "
		    "name ('%s')", s, base);
	s = json_string_value(json_object_get(doc, "phase"));
	if (strcmp(s, "A") != 0 && strcmp(s, "B") != 0)
		return sc_fail(&c, "phase", "expected A (data and proxy) or B "
		    "(applications and observability)");
	s = json_string_value(json_object_get(doc, "user"));
	if (parse_user(s, &uid, &gid) != 0)
		return sc_fail(&c, "user", "expected \"UID:GID\" (numbers)");
	json_array_foreach(json_object_get(doc, "networks"), i, x)
		if (json_object_get(networks, json_string_value(x)) == NULL) {
			char		 p[64];
			const char	*cands[16], *nk, *m;
			size_t		 n = 0;
			json_t		*nv;

			json_object_foreach((json_t *)(uintptr_t)networks, nk,
			    nv)
				if (n < 16)
					cands[n++] = nk;
			snprintf(p, sizeof(p), "networks[%zu]", i);
			m = vp_did_you_mean(json_string_value(x), cands, n);
			return sc_fail(&c, p, "unknown network '%s'%s%s%s",
			    json_string_value(x), m ? " (did you mean '" : "",
			    m ? m : "",
			    m ? "'?)" : " (see stack/networks.yml)");
		}
	if ((r = check_limits(&c, json_object_get(doc, "limits"))) != 0)
		return r;
	if ((x = json_object_get(doc, "healthcheck")) != NULL &&
	    (r = check_healthcheck(&c, x)) != 0)
		return r;
	if ((dep = json_object_get(doc, "depends_on")) != NULL &&
	    (r = check_depends(&c, dep)) != 0)
		return r;
	if ((vols = json_array()) == NULL)
		return VP_ERR_NOMEM;
	if ((x = json_object_get(doc, "volumes")) != NULL &&
	    (r = check_volumes(&c, x, uid, vols)) != 0)
		goto out;

	/* Normalised copy: every key present. */
	if ((svc = json_deep_copy(doc)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	r = json_object_set_new(svc, "uid", json_integer(uid));
	r |= json_object_set_new(svc, "gid", json_integer(gid));
	r |= json_object_set(svc, "volumes", vols);
	if (json_object_get(svc, "enabled") == NULL)
		r |= json_object_set_new(svc, "enabled", json_true());
	if (json_object_get(svc, "probe") == NULL)
		r |= json_object_set_new(svc, "probe", json_true());
	if (json_object_get(svc, "image_key") == NULL)
		r |= json_object_set_new(svc, "image_key", json_string(base));
	for (i = 0; i < NKEYS; i++) {
		sk = &service_keys[i];
		if (json_object_get(svc, sk->name) != NULL)
			continue;
		if (sk->type == K_STRLIST || sk->type == K_LIST)
			r |= json_object_set_new(svc, sk->name, json_array());
		else if (sk->type != K_STR)
			r |= json_object_set_new(svc, sk->name, json_object());
	}
	/* depends_on: {svc: condition} whatever the input form. */
	if (dep != NULL) {
		json_t *nd = json_object();

		json_object_foreach(dep, k, x)
			json_object_set_new(nd, k, json_string(json_is_string(x)
			    ? json_string_value(x) : json_string_value(
			    json_object_get(x, "condition"))));
		r |= json_object_set_new(svc, "depends_on", nd);
	}
	if (r != 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	*out = svc;
	svc = NULL;
	r = VP_OK;
 out:
	json_decref(vols);
	json_decref(svc);
	return r;
}
