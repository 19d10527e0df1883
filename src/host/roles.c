/*
 * roles.c: the host roles (stack/host/roles.yml, stack/host/roles/NAME.yml)
 * -> one desired state.  Each role file is a template rendered with the
 * site's variables, then YAML; "content_from" and "ufw_from" take the
 * rendered bundle files, so the host gets exactly what `vpai render`
 * shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "host/host.h"
#include "host/internal.h"
#include "stack/stack.h"
#include "tmpl/tmpl.h"

/* Keys whose values are lists: concatenated across roles. */
static const char *const list_keys[] = { "apt_repos", "groups", "users",
    "directories", "files", "lines", "authorized_keys", "services", "cron",
    "hosts", "secrets", NULL };

static int
is_list_key(const char *k)
{
	size_t i;

	for (i = 0; list_keys[i] != NULL; i++)
		if (strcmp(list_keys[i], k) == 0)
			return 1;
	return 0;
}

/* "allow 22/tcp from 10.0.0.0/8  # comment" lines -> want.ufw. */
static int
parse_ufw(const char *origin, const char *text, json_t **out, char **cause)
{
	json_t		*u = json_object(), *rules = json_array(), *rule;
	char		*copy = strdup(text), *line, *save = NULL, *w[6], *p;
	const char	*sep = " \t";
	int		 n, lineno = 0, r = VP_OK;

	if (u == NULL || rules == NULL || copy == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	json_object_set(u, "rules", rules);
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *ws = NULL;

		lineno++;
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		for (n = 0, p = strtok_r(line, sep, &ws); p != NULL && n < 6;
		    p = strtok_r(NULL, sep, &ws))
			w[n++] = p;
		if (n == 0)
			continue;
		if (n == 3 && strcmp(w[0], "default") == 0) {
			if (strcmp(w[1], "incoming") == 0 ||
			    strcmp(w[1], "outgoing") == 0) {
				char key[32];

				snprintf(key, sizeof(key), "default_%s", w[1]);
				json_object_set_new(u, key, json_string(w[2]));
			}
			continue;	/* "routed": ufw's default, kept */
		}
		if ((n == 2 || (n == 4 && strcmp(w[2], "from") == 0)) &&
		    (p = strchr(w[1], '/')) != NULL) {
			*p++ = '\0';
			rule = json_pack("{s:s,s:s,s:s,s:s}", "action", w[0],
			    "port", w[1], "proto", p, "from", n == 4 ? w[3] :
			    "any");
			json_array_append_new(rules, rule);
			continue;
		}
		r = vp_fail(cause, VP_ERR_PARSE, "%s: line %d: expected "
		    "'default DIRECTION POLICY' or 'ACTION PORT/PROTO [from "
		    "CIDR]'", origin, lineno);
		goto out;
	}
	*out = u;
	u = NULL;
 out:
	json_decref(u);
	json_decref(rules);
	free(copy);
	return r;
}

/* "key = value" lines (sysctl.d syntax; '#' and ';' comments) -> object. */
static int
parse_sysctl(const char *origin, const char *text, json_t **out,
    char **cause)
{
	json_t	*o = json_object();
	char	*copy = strdup(text), *line, *save = NULL, *eq, *k, *v, *e;
	int	 lineno = 0, r = VP_OK;

	if (o == NULL || copy == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (line = copy; line != NULL; line = save) {
		if ((save = strchr(line, '\n')) != NULL)
			*save++ = '\0';
		lineno++;
		for (k = line; *k == ' ' || *k == '\t'; k++)
			;
		if (*k == '\0' || *k == '#' || *k == ';')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			r = vp_fail(cause, VP_ERR_PARSE, "%s: line %d: "
			    "expected 'key = value'", origin, lineno);
			goto out;
		}
		for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (e = v + strlen(v); e > v && (e[-1] == ' ' ||
		    e[-1] == '\t' || e[-1] == '\r'); e--)
			;
		*e = '\0';
		json_object_set_new(o, k, json_string(v));
	}
	*out = o;
	o = NULL;
 out:
	json_decref(o);
	free(copy);
	return r;
}

static const struct bundle_file *
bundle_get(const struct bundle *b, const char *role, const char *path,
    char **cause)
{
	const struct bundle_file *f = bundle_find(b, path);

	if (f == NULL)
		vp_fail(cause, VP_ERR_NOTFOUND, "role '%s': bundle file '%s' "
		    "not found (stack/bundle.yml)", role, path);
	return f;
}

/*
 * A user named by several roles becomes one entry: later keys win, and
 * supplementary groups are the union (common: sudo, docker: docker).
 */
static void
merge_users(json_t *dst, const json_t *add)
{
	const json_t	*u, *g;
	json_t		*d, *dg;
	const char	*k;
	json_t		*x;
	size_t		 i, j, l;
	int		 found;

	json_array_foreach(add, i, u) {
		d = NULL;
		json_array_foreach(dst, j, x)
			if (strcmp(jstr(x, "name"), jstr(u, "name")) == 0) {
				d = x;
				break;
			}
		if (d == NULL) {
			json_array_append(dst, (json_t *)u);
			continue;
		}
		json_object_foreach((json_t *)u, k, x) {
			if (strcmp(k, "groups") != 0) {
				json_object_set(d, k, x);
				continue;
			}
			if ((dg = json_object_get(d, "groups")) == NULL) {
				json_object_set_new(d, "groups",
				    json_deep_copy(x));
				continue;
			}
			json_array_foreach(x, j, g) {
				found = 0;
				for (l = 0; l < json_array_size(dg); l++)
					found |= json_equal(json_array_get(dg,
					    l), (json_t *)g);
				if (!found)
					json_array_append(dg, (json_t *)g);
			}
		}
	}
}

/*
 * apt_repos[].key_from: a key shipped as data under datadir/host/
 * (stack/host/keys/docker.asc).
 */
static int
read_key(const char *datadir, const char *role, json_t *e, char **cause)
{
	struct vp_buf	 k = VP_BUF_INIT(1u << 20);
	const char	*from = jstr(e, "key_from");
	char		 path[4096];
	int		 r;

	if (strncmp(from, "keys/", 5) != 0 || strstr(from, "..") != NULL)
		return vp_fail(cause, VP_ERR_INVALID, "role '%s': apt_repos: "
		    "key_from '%s': expected keys/NAME.asc", role, from);
	snprintf(path, sizeof(path), "%s/host/%s", datadir, from);
	if ((r = vp_file_read(path, &k, cause)) == 0) {
		json_object_set_new(e, "key", json_stringn(k.buf, k.len));
		json_object_del(e, "key_from");
	}
	vp_buf_release(&k);
	return r;
}

/* Resolve content_from / ufw_from / key_from, then merge role into want. */
static int
merge_role(const char *datadir, const char *role, json_t *doc,
    const struct bundle *b, json_t *want, char **cause)
{
	const struct bundle_file	*f;
	const char			*k, *from;
	json_t				*v, *e, *dst, *u = NULL;
	size_t				 i;
	int				 r;

	if ((e = json_object_get(doc, "sysctl")) != NULL &&
	    (from = json_string_value(json_object_get(e, "values_from"))) !=
	    NULL) {
		if ((f = bundle_get(b, role, from, cause)) == NULL)
			return VP_ERR_NOTFOUND;
		if ((r = parse_sysctl(from, f->data, &u, cause)) != 0)
			return r;
		json_object_set_new(e, "values", u);
		u = NULL;
		json_object_del(e, "values_from");
	}
	json_array_foreach(json_object_get(doc, "apt_repos"), i, e)
		if (json_object_get(e, "key_from") != NULL &&
		    (r = read_key(datadir, role, e, cause)) != 0)
			return r;

	json_array_foreach(json_object_get(doc, "files"), i, e) {
		if ((from = json_string_value(json_object_get(e,
		    "content_from"))) == NULL)
			continue;
		if ((f = bundle_get(b, role, from, cause)) == NULL)
			return VP_ERR_NOTFOUND;
		json_object_set_new(e, "content", json_stringn(f->data,
		    f->len));
		if (f->secret)
			json_object_set_new(e, "secret", json_true());
		json_object_del(e, "content_from");
	}
	if ((e = json_object_get(doc, "ntp")) != NULL &&
	    (from = json_string_value(json_object_get(e, "content_from"))) !=
	    NULL) {
		if ((f = bundle_get(b, role, from, cause)) == NULL)
			return VP_ERR_NOTFOUND;
		json_object_set_new(e, "content", json_stringn(f->data,
		    f->len));
		json_object_del(e, "content_from");
	}
	if ((from = json_string_value(json_object_get(doc, "ufw_from"))) !=
	    NULL) {
		if ((f = bundle_get(b, role, from, cause)) == NULL)
			return VP_ERR_NOTFOUND;
		if ((r = parse_ufw(from, f->data, &u, cause)) != 0)
			return r;
		json_object_set_new(doc, "ufw", u);
		json_object_del(doc, "ufw_from");
	}
	json_object_foreach(doc, k, v) {
		dst = json_object_get(want, k);
		if (strcmp(k, "users") == 0 && dst != NULL &&
		    json_is_array(v)) {
			merge_users(dst, v);
		} else if (is_list_key(k) && json_is_array(v)) {
			if (dst == NULL)
				json_object_set(want, k, v);
			else
				json_array_extend(dst, v);
		} else if (strcmp(k, "packages") == 0 && dst != NULL) {
			const char *side[] = { "present", "absent" };

			for (i = 0; i < 2; i++) {
				json_t *a = json_object_get(dst, side[i]);
				json_t *s = json_object_get(v, side[i]);

				if (s == NULL)
					continue;
				if (a == NULL)
					json_object_set(dst, side[i], s);
				else
					json_array_extend(a, s);
			}
		} else
			json_object_set(want, k, v);
	}
	return VP_OK;
}

int
vp_host_roles_want(const char *datadir, const json_t *vars,
    const struct bundle *b, json_t **want, json_t **skipped, char **cause)
{
	struct vp_buf	 src = VP_BUF_INIT(1u << 20);
	struct vp_buf	 text = VP_BUF_INIT(4u << 20);
	json_t		*list = NULL, *doc = NULL, *lines = NULL, *w, *sk;
	const json_t	*v;
	char		 path[4096], name[256];
	size_t		 i;
	int		 r;

	*want = NULL;
	*skipped = NULL;
	w = json_object();
	sk = json_array();
	snprintf(path, sizeof(path), "%s/host/roles.yml", datadir);
	if ((r = vp_file_read(path, &src, cause)) != 0 ||
	    (r = stack_yaml_load(path, src.buf, src.len, &list, &lines,
	    cause)) != 0)
		goto out;
	json_decref(lines);
	lines = NULL;
	json_array_foreach(json_object_get(list, "roles"), i, v) {
		const char *role = json_string_value(v);

		if (role == NULL || strchr(role, '/') != NULL) {
			r = vp_fail(cause, VP_ERR_INVALID, "%s: roles[%zu]: "
			    "expected a role name", path, i);
			goto out;
		}
		snprintf(name, sizeof(name), "host/roles/%s.yml", role);
		snprintf(path, sizeof(path), "%s/%s", datadir, name);
		vp_buf_reset(&src);
		vp_buf_reset(&text);
		if ((r = vp_file_read(path, &src, cause)) != 0 ||
		    (r = tmpl_render(name, src.buf, src.len, vars, &text,
		    cause)) != 0 ||
		    (r = stack_yaml_load(name, text.buf, text.len, &doc,
		    &lines, cause)) != 0)
			goto out;
		json_decref(lines);
		lines = NULL;
		if (json_is_null(doc) || doc == NULL) {
			json_decref(doc);
			doc = json_object();
		}
		if (!json_is_object(doc)) {
			r = vp_fail(cause, VP_ERR_INVALID, "%s: expected a "
			    "mapping", name);
			goto out;
		}
		if (json_object_get(doc, "skip") != NULL) {
			json_array_append_new(sk, json_pack("{s:s,s:s}",
			    "role", role, "why", jstr(doc, "skip")));
			json_decref(doc);
			doc = NULL;
			continue;
		}
		if ((r = merge_role(datadir, role, doc, b, w, cause)) != 0)
			goto out;
		json_decref(doc);
		doc = NULL;
	}
	if ((r = vp_host_want_check(w, "stack/host/roles", cause)) != 0)
		goto out;
	*want = w;
	*skipped = sk;
	w = sk = NULL;
 out:
	json_decref(w);
	json_decref(sk);
	json_decref(list);
	json_decref(doc);
	json_decref(lines);
	vp_buf_release(&src);
	vp_buf_release_secure(&text);
	return r;
}
