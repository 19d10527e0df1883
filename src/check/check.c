/*
 * check.c: the report (findings), the rule table, the policy loader and
 * small parsers shared by the rules (rules.c).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "check/check-int.h"
#include "core/buf.h"
#include "core/file.h"
#include "core/opt.h"
#include "stack/stack.h"

#define POLICY_MAX	(256u << 10)
#define YAML_DEPTH	32

static const struct check_rule rules[] = {
	{ "images-pinned", "every image has a fixed tag or a digest "
	    "(never latest/stable/main; major-only tags warn)",
	    check_images_pinned },
	{ "network-matrix", "service networks and internal flags equal the "
	    "designed matrix of stack/policy.yml", check_network_matrix },
	{ "published-ports", "no published port except those policy allows "
	    "(caddy 80/tcp, 443/tcp, 443/udp)", check_published_ports },
	{ "healthcheck", "every service has a healthcheck, without "
	    "'localhost' and without a secret in its argv", check_healthcheck },
	{ "depends-on", "depends_on targets exist, conditions are valid and "
	    "the graph is acyclic", check_depends_on },
	{ "ram-budget", "memory limits of the env fit host_ram_mb with "
	    "headroom for the OS", check_ram_budget },
	{ "secret-inline", "no secret value in the compose document or a "
	    "world-readable file; secret files <= 0640, readable by the "
	    "containers that mount them",
	    check_secret_inline },
	{ "container-hardening", "cap_drop ALL, no-new-privileges:true, not "
	    "privileged, no host namespaces", check_container_hardening },
	{ "docker-socket", "docker socket mounted read-only, only by the "
	    "services policy allows", check_docker_socket },
	{ "ssh-lockout", "SSH never restricted to the VPN unless vpn_verified; "
	    "root and password logins off; deploy user allowed",
	    check_ssh_lockout },
	{ "portability", "no project or domain name hard-coded in the stack "
	    "templates and service definitions", check_portability },
	{ "volume-owner", "each data volume is owned by its service's uid",
	    check_volume_owner },
};
#define NRULES	(sizeof(rules) / sizeof(rules[0]))

const struct check_rule *
check_rules(size_t *n)
{
	*n = NRULES;
	return rules;
}

const struct check_rule *
check_rule_find(const char *id)
{
	size_t i;

	for (i = 0; i < NRULES; i++)
		if (strcmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

int
check_run(const struct check_input *in, const char *only,
    struct check_report *rep, char **cause)
{
	const char	*ids[NRULES], *m;
	size_t		 i;
	int		 r;

	if (only != NULL && check_rule_find(only) == NULL) {
		for (i = 0; i < NRULES; i++)
			ids[i] = rules[i].id;
		m = vp_did_you_mean(only, ids, NRULES);
		return vp_fail(cause, VP_ERR_NOTFOUND, "no rule '%s'%s%s%s",
		    only, m ? " (did you mean '" : "", m ? m : "",
		    m ? "'?)" : "");
	}
	for (i = 0; i < NRULES; i++) {
		if (only != NULL && strcmp(only, rules[i].id) != 0)
			continue;
		if ((r = rules[i].fn(in, rep, cause)) != 0)
			return vp_fail_prefix(cause, r, "rule '%s'",
			    rules[i].id);
	}
	return VP_OK;
}

int
check_add(struct check_report *rep, enum check_sev sev, const char *rule,
    const char *where, const char *hint, const char *fmt, ...)
{
	struct check_finding	*f, *nv;
	va_list			 ap;
	char			*msg = NULL;
	size_t			 na;
	int			 n;

	if (rep->n == rep->alloc) {
		na = rep->alloc ? rep->alloc * 2 : 16;
		if ((nv = reallocarray(rep->v, na, sizeof(*nv))) == NULL)
			return VP_ERR_NOMEM;
		rep->v = nv;
		rep->alloc = na;
	}
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return VP_ERR_NOMEM;
	f = &rep->v[rep->n];
	f->sev = sev;
	f->rule = rule;
	f->msg = msg;
	f->where = strdup(where ? where : "");
	f->hint = hint ? strdup(hint) : NULL;
	if (f->where == NULL || (hint != NULL && f->hint == NULL)) {
		free(f->msg);
		free(f->where);
		free(f->hint);
		return VP_ERR_NOMEM;
	}
	rep->n++;
	if (sev == CHECK_ERROR)
		rep->nerr++;
	else
		rep->nwarn++;
	return VP_OK;
}

static size_t
rule_index(const char *id)
{
	size_t i;

	for (i = 0; i < NRULES; i++)
		if (strcmp(rules[i].id, id) == 0)
			return i;
	return NRULES;
}

void
check_report_sort(struct check_report *rep)
{
	struct check_finding	 t;
	size_t			 i, j;

	/* Insertion sort: stable, and reports are small. */
	for (i = 1; i < rep->n; i++) {
		t = rep->v[i];
		for (j = i; j > 0; j--) {
			const struct check_finding *p = &rep->v[j - 1];

			if (p->sev < t.sev || (p->sev == t.sev &&
			    rule_index(p->rule) <= rule_index(t.rule)))
				break;
			rep->v[j] = rep->v[j - 1];
		}
		rep->v[j] = t;
	}
}

void
check_report_release(struct check_report *rep)
{
	size_t i;

	if (rep == NULL)
		return;
	for (i = 0; i < rep->n; i++) {
		free(rep->v[i].where);
		free(rep->v[i].msg);
		free(rep->v[i].hint);
	}
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}

size_t
check_report_count(const struct check_report *rep, const char *rule)
{
	size_t i, n = 0;

	for (i = 0; i < rep->n; i++)
		if (strcmp(rep->v[i].rule, rule) == 0)
			n++;
	return n;
}

json_t *
check_report_json(const struct check_report *rep)
{
	const struct check_finding	*f;
	json_t				*a, *o;
	size_t				 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < rep->n; i++) {
		f = &rep->v[i];
		o = json_pack("{s:s,s:s,s:s,s:s,s:s*}", "severity",
		    f->sev == CHECK_ERROR ? "error" : "warning", "rule",
		    f->rule, "where", f->where, "message", f->msg, "hint",
		    f->hint);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

int
check_report_format(const struct check_report *rep, int errors_only,
    struct vp_buf *out)
{
	const struct check_finding	*f;
	size_t				 i;
	int				 r;

	for (i = 0; i < rep->n; i++) {
		f = &rep->v[i];
		if (errors_only && f->sev != CHECK_ERROR)
			continue;
		if ((r = vp_buf_addf(out, "%s  %s  %s: %s\n",
		    f->sev == CHECK_ERROR ? "error" : "warning", f->rule,
		    f->where, f->msg)) != 0)
			return r;
		if (f->hint != NULL &&
		    (r = vp_buf_addf(out, "    hint: %s\n", f->hint)) != 0)
			return r;
	}
	return VP_OK;
}

int
check_bundle(const char *stack_dir, const json_t *vars, const json_t *secrets,
    const struct bundle *b, struct check_report *rep, char **cause)
{
	struct check_input	 in;
	json_t			*policy = NULL;
	char			*path;
	int			 r;

	if ((path = vp_path_join(stack_dir, "policy.yml")) == NULL)
		return VP_ERR_NOMEM;
	if ((r = check_policy_load(path, &policy, cause)) != 0)
		goto out;
	memset(&in, 0, sizeof(in));
	in.vars = vars;
	in.secrets = secrets;
	in.bundle = b;
	in.compose = b ? json_object_get(b->model, "compose") : NULL;
	in.services = b ? json_object_get(b->model, "services") : NULL;
	in.policy = policy;
	in.stack_dir = stack_dir;
	if ((r = check_run(&in, NULL, rep, cause)) == 0)
		check_report_sort(rep);
 out:
	json_decref(policy);
	free(path);
	return r;
}

/* ==== YAML (policy) ==== */

struct yp {
	yaml_parser_t	 p;
	const char	*name;
	char		**cause;
	json_t		*lines;		/* "a.b" -> line, or NULL */
	char		 path[256];	/* of the node being parsed */
};

static int
yp_error(struct yp *y, const char *what, size_t line)
{
	return vp_fail(y->cause, VP_ERR_PARSE, "%s:%zu: %s", y->name,
	    line + 1, what);
}

static int
yp_next(struct yp *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev))
		return vp_fail(y->cause, VP_ERR_PARSE, "%s:%zu: %s", y->name,
		    y->p.problem_mark.line + 1,
		    y->p.problem ? y->p.problem : "malformed YAML");
	return VP_OK;
}

static json_t *
yp_scalar(const yaml_event_t *ev)
{
	const char	*s = (const char *)ev->data.scalar.value;
	char		*end;
	long long	 v;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_string(s);
	if (strcmp(s, "true") == 0)
		return json_true();
	if (strcmp(s, "false") == 0)
		return json_false();
	if (strcmp(s, "null") == 0 || strcmp(s, "~") == 0 || *s == '\0')
		return json_null();
	if ((isdigit((unsigned char)*s) || (*s == '-' &&
	    isdigit((unsigned char)s[1])))) {
		v = strtoll(s, &end, 10);
		if (*end == '\0')
			return json_integer(v);
	}
	return json_string(s);
}

/* Parse the node whose first event is ev (consumed by the caller). */
static int
yp_node(struct yp *y, yaml_event_t *ev, int depth, json_t **out)
{
	yaml_event_t	 e;
	json_t		*node = NULL, *child = NULL;
	char		*key = NULL;
	int		 r = VP_OK;

	*out = NULL;
	if (depth > YAML_DEPTH)
		return yp_error(y, "nesting too deep", ev->start_mark.line);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if ((*out = yp_scalar(ev)) == NULL)
			return VP_ERR_NOMEM;
		return VP_OK;
	case YAML_ALIAS_EVENT:
		return yp_error(y, "aliases are not supported",
		    ev->start_mark.line);
	case YAML_SEQUENCE_START_EVENT:
		if ((node = json_array()) == NULL)
			return VP_ERR_NOMEM;
		for (;;) {
			if ((r = yp_next(y, &e)) != 0)
				goto out;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			r = yp_node(y, &e, depth + 1, &child);
			yaml_event_delete(&e);
			if (r != 0)
				goto out;
			if (json_array_append_new(node, child) != 0) {
				r = VP_ERR_NOMEM;
				goto out;
			}
		}
		break;
	case YAML_MAPPING_START_EVENT:
		if ((node = json_object()) == NULL)
			return VP_ERR_NOMEM;
		for (;;) {
			if ((r = yp_next(y, &e)) != 0)
				goto out;
			if (e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			if (e.type != YAML_SCALAR_EVENT) {
				r = yp_error(y, "mapping keys must be scalars",
				    e.start_mark.line);
				yaml_event_delete(&e);
				goto out;
			}
			free(key);
			if ((key = strdup((char *)e.data.scalar.value)) ==
			    NULL) {
				yaml_event_delete(&e);
				r = VP_ERR_NOMEM;
				goto out;
			}
			if (y->lines != NULL) {
				size_t	pl = strlen(y->path);
				char	kp[sizeof(y->path)];

				if (snprintf(kp, sizeof(kp), "%s%s%s", y->path,
				    pl ? "." : "", key) < (int)sizeof(kp))
					json_object_set_new(y->lines, kp,
					    json_integer((json_int_t)
					    e.start_mark.line + 1));
			}
			if (json_object_get(node, key) != NULL) {
				r = vp_fail(y->cause, VP_ERR_PARSE,
				    "%s:%zu: key '%s': duplicate key", y->name,
				    e.start_mark.line + 1, key);
				yaml_event_delete(&e);
				goto out;
			}
			yaml_event_delete(&e);
			if ((r = yp_next(y, &e)) != 0)
				goto out;
			{
				size_t	pl = strlen(y->path);

				if (pl + strlen(key) + 2 < sizeof(y->path))
					snprintf(y->path + pl, sizeof(y->path) -
					    pl, "%s%s", pl ? "." : "", key);
				r = yp_node(y, &e, depth + 1, &child);
				y->path[pl] = '\0';
			}
			yaml_event_delete(&e);
			if (r != 0)
				goto out;
			if (json_object_set_new(node, key, child) != 0) {
				r = VP_ERR_NOMEM;
				goto out;
			}
		}
		break;
	default:
		return yp_error(y, "unexpected YAML event",
		    ev->start_mark.line);
	}
 out:
	free(key);
	if (r != 0) {
		json_decref(node);
		return r;
	}
	*out = node;
	return VP_OK;
}

static int
yaml_parse(const char *name, const char *data, size_t len, json_t **out,
    json_t *lines, char **cause)
{
	struct yp	 y;
	yaml_event_t	 e;
	json_t		*doc = NULL;
	int		 r, done = 0;

	*out = NULL;
	memset(&y, 0, sizeof(y));
	y.name = name;
	y.cause = cause;
	y.lines = lines;
	if (!yaml_parser_initialize(&y.p))
		return VP_ERR_NOMEM;
	yaml_parser_set_input_string(&y.p, (const unsigned char *)data, len);
	while (!done) {
		if ((r = yp_next(&y, &e)) != 0)
			goto out;
		switch (e.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
			break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			if (doc != NULL) {
				r = yp_error(&y, "one document expected",
				    e.start_mark.line);
				yaml_event_delete(&e);
				goto out;
			}
			r = yp_node(&y, &e, 0, &doc);
			if (r != 0) {
				yaml_event_delete(&e);
				goto out;
			}
		}
		yaml_event_delete(&e);
	}
	if (!json_is_object(doc)) {
		r = vp_fail(cause, VP_ERR_PARSE, "%s: expected a mapping",
		    name);
		goto out;
	}
	*out = doc;
	doc = NULL;
	r = VP_OK;
 out:
	json_decref(doc);
	yaml_parser_delete(&y.p);
	return r;
}

int
check_yaml_parse(const char *name, const char *data, size_t len,
    json_t **out, char **cause)
{
	return yaml_parse(name, data, len, out, NULL, cause);
}

/* ==== policy schema ==== */

enum pt { PT_OBJ, PT_INT, PT_STR, PT_STRLIST, PT_MAP_STRLIST };

struct pkey {
	const char	*path;		/* "ram.reserve_pct" */
	enum pt		 type;
};

/* Every key of stack/policy.yml; all are required. */
static const struct pkey policy_keys[] = {
	{ "version", PT_INT },
	{ "networks", PT_OBJ },
	{ "networks.internal", PT_STRLIST },
	{ "networks.external", PT_STRLIST },
	{ "matrix", PT_MAP_STRLIST },
	{ "ports", PT_MAP_STRLIST },
	{ "docker_socket", PT_STRLIST },
	{ "root_allowed", PT_STRLIST },
	{ "images", PT_OBJ },
	{ "images.floating_tags", PT_STRLIST },
	{ "images.local_prefixes", PT_STRLIST },
	{ "ram", PT_OBJ },
	{ "ram.reserve_pct", PT_INT },
	{ "ram.reserve_min_mb", PT_INT },
	{ "ram.hard_reserve_mb", PT_INT },
	{ "ram.monitoring_services", PT_STRLIST },
	{ "secrets", PT_OBJ },
	{ "secrets.min_length", PT_INT },
	{ "secrets.max_mode", PT_STR },
	{ "ssh", PT_OBJ },
	{ "ssh.sshd_dropin", PT_STR },
	{ "ssh.ufw_rules", PT_STR },
	{ "portability", PT_OBJ },
	{ "portability.scan", PT_STRLIST },
	{ "portability.forbidden", PT_STRLIST },
	{ "portability.tool_words", PT_STRLIST },
};
#define NPKEYS	(sizeof(policy_keys) / sizeof(policy_keys[0]))

static const json_t *
policy_get(const json_t *doc, const char *path)
{
	const char	*dot = strchr(path, '.');
	char		 top[64];

	if (dot == NULL)
		return json_object_get(doc, path);
	snprintf(top, sizeof(top), "%.*s", (int)(dot - path), path);
	return json_object_get(json_object_get(doc, top), dot + 1);
}

static int
strlist(const json_t *v)
{
	const json_t	*x;
	size_t		 i;

	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, x)
		if (!json_is_string(x))
			return 0;
	return 1;
}

static int
policy_fail(const char *name, const json_t *lines, const char *key,
    char **cause, const char *what)
{
	int line = (int)json_integer_value(json_object_get(lines, key));

	if (line > 0)
		return vp_fail(cause, VP_ERR_INVALID, "%s:%d: key '%s': %s",
		    name, line, key, what);
	return vp_fail(cause, VP_ERR_INVALID, "%s: key '%s': %s", name, key,
	    what);
}

/*
 * Every key known, present and of its type: a mistyped key must not
 * silently switch a rule off.
 */
/* The index of path in policy_keys, or NPKEYS. */
static size_t
pkey_find(const char *path)
{
	size_t i;

	for (i = 0; i < NPKEYS; i++)
		if (strcmp(policy_keys[i].path, path) == 0)
			break;
	return i;
}

static int
policy_unknown(const char *name, const json_t *lines, const char *key,
    char **cause)
{
	const char	*names[NPKEYS], *m;
	char		 msg[256];
	size_t		 i;

	for (i = 0; i < NPKEYS; i++)
		names[i] = policy_keys[i].path;
	m = vp_did_you_mean(key, names, NPKEYS);
	snprintf(msg, sizeof(msg), "unknown key%s%s%s",
	    m ? " (did you mean '" : "", m ? m : "", m ? "'?)" : "");
	return policy_fail(name, lines, key, cause, msg);
}

static const char *
pt_what(enum pt t)
{
	switch (t) {
	case PT_OBJ:
		return "expected a mapping";
	case PT_INT:
		return "expected a non-negative integer";
	case PT_STR:
		return "expected a string";
	case PT_STRLIST:
		return "expected a list of strings";
	case PT_MAP_STRLIST:
		return "expected a mapping of lists of strings";
	}
	return "invalid";
}

/*
 * Every key known, present and of its type: a mistyped key must not
 * silently switch a rule off.
 */
static int
policy_validate(const char *name, const json_t *doc, const json_t *lines,
    char **cause)
{
	const char	*k, *k2;
	const json_t	*v, *v2;
	char		 path[256];
	size_t		 i;
	int		 ok;

	json_object_foreach((json_t *)doc, k, v) {
		if ((i = pkey_find(k)) == NPKEYS)
			return policy_unknown(name, lines, k, cause);
		if (policy_keys[i].type != PT_OBJ || !json_is_object(v))
			continue;
		json_object_foreach((json_t *)v, k2, v2) {
			snprintf(path, sizeof(path), "%s.%s", k, k2);
			if (pkey_find(path) == NPKEYS)
				return policy_unknown(name, lines, path,
				    cause);
		}
	}
	for (i = 0; i < NPKEYS; i++) {
		k = policy_keys[i].path;
		if ((v = policy_get(doc, k)) == NULL)
			return policy_fail(name, lines, k, cause, "missing");
		switch (policy_keys[i].type) {
		case PT_OBJ:
			ok = json_is_object(v);
			break;
		case PT_INT:
			ok = json_is_integer(v) && json_integer_value(v) >= 0;
			break;
		case PT_STR:
			ok = json_is_string(v);
			break;
		case PT_STRLIST:
			ok = strlist(v);
			break;
		default:
			ok = json_is_object(v);
			json_object_foreach((json_t *)v, k2, v2) {
				if (strlist(v2))
					continue;
				snprintf(path, sizeof(path), "%s.%s", k, k2);
				return policy_fail(name, lines, path, cause,
				    "expected a list of strings");
			}
			break;
		}
		if (!ok)
			return policy_fail(name, lines, k, cause,
			    pt_what(policy_keys[i].type));
	}
	return VP_OK;
}

int
check_policy_parse(const char *name, const char *data, size_t len,
    json_t **out, char **cause)
{
	json_t	*lines, *doc = NULL;
	int	 r;

	*out = NULL;
	if ((lines = json_object()) == NULL)
		return VP_ERR_NOMEM;
	if ((r = yaml_parse(name, data, len, &doc, lines, cause)) == 0 &&
	    (r = policy_validate(name, doc, lines, cause)) == 0) {
		*out = doc;
		doc = NULL;
	}
	json_decref(doc);
	json_decref(lines);
	return r;
}

int
check_policy_load(const char *path, json_t **out, char **cause)
{
	struct vp_buf	 b = VP_BUF_INIT(POLICY_MAX);
	int		 r;

	*out = NULL;
	if ((r = vp_file_read(path, &b, cause)) != 0)
		goto out;
	r = check_policy_parse(path, b.buf, b.len, out, cause);
 out:
	vp_buf_release(&b);
	return r;
}

/* ==== small parsers ==== */

long long
check_mem_mb(const json_t *v)
{
	const char	*s, *u;
	char		*end;
	double		 d, mul;

	if (json_is_integer(v))
		return json_integer_value(v) < 0 ? -1 :
		    json_integer_value(v) / (1024 * 1024);
	if ((s = json_string_value(v)) == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	d = strtod(s, &end);
	u = end;
	if (strcasecmp(u, "") == 0 || strcasecmp(u, "b") == 0)
		mul = 1.0 / (1024 * 1024);
	else if (strcasecmp(u, "k") == 0 || strcasecmp(u, "kb") == 0 ||
	    strcasecmp(u, "kib") == 0)
		mul = 1.0 / 1024;
	else if (strcasecmp(u, "m") == 0 || strcasecmp(u, "mb") == 0 ||
	    strcasecmp(u, "mib") == 0)
		mul = 1;
	else if (strcasecmp(u, "g") == 0 || strcasecmp(u, "gb") == 0 ||
	    strcasecmp(u, "gib") == 0)
		mul = 1024;
	else if (strcasecmp(u, "t") == 0 || strcasecmp(u, "tb") == 0)
		mul = 1024.0 * 1024;
	else
		return -1;
	if (d < 0 || d * mul > 1e12)
		return -1;
	return (long long)(d * mul + 0.5);
}

/* Replace every occurrence of from by to in s; new string or NULL. */
static char *
str_replace(const char *s, const char *from, const char *to)
{
	struct vp_buf	 b = VP_BUF_INIT(VP_BUF_DEFAULT_CAP);
	const char	*p;
	size_t		 fl = strlen(from);

	if (fl == 0)
		return strdup(s);
	while ((p = strstr(s, from)) != NULL) {
		if (vp_buf_add(&b, s, (size_t)(p - s)) != 0 ||
		    vp_buf_adds(&b, to) != 0)
			return NULL;
		s = p + fl;
	}
	if (vp_buf_adds(&b, s) != 0)
		return NULL;
	return vp_buf_detach(&b, NULL);
}

json_t *
check_canary_vars(const json_t *vars)
{
	const char	*proj, *dom, *k;
	json_t		*out, *v;
	char		*a, *b;

	if ((out = json_deep_copy(vars)) == NULL)
		return NULL;
	proj = json_string_value(json_object_get(vars, "project_name"));
	dom = json_string_value(json_object_get(vars, "domain_name"));
	json_object_foreach(out, k, v) {
		if (!json_is_string(v))
			continue;
		/* Domain first: it may contain the project name. */
		a = dom && *dom ? str_replace(json_string_value(v), dom,
		    CHECK_CANARY_DOMAIN) : strdup(json_string_value(v));
		if (a == NULL)
			goto fail;
		b = proj && *proj ? str_replace(a, proj, CHECK_CANARY_PROJECT) :
		    strdup(a);
		free(a);
		if (b == NULL || json_string_set(v, b) != 0) {
			free(b);
			goto fail;
		}
		free(b);
	}
	return out;
 fail:
	json_decref(out);
	return NULL;
}
