/*
 * render.c: stack_render(): from the stack data and the variables to the
 * bundle (every file of the deployment, sorted by path) and the model.
 *
 *  1. versions.yml: the image set chosen by the site's image_set;
 *  2. networks.yml and services/<name>.yml: rendered as templates with
 *     the variables WITHOUT the secrets (so no secret can reach the
 *     compose file through a service definition), parsed, checked;
 *  3. bundle.yml: each template entry rendered with every variable
 *     (site, secrets at top level and under "secrets", images,
 *     networks, services, stack_root, target_env);
 *  4. the compose document, with per service a vpai.config-hash label:
 *     the SHA-256 of every bundle file that service reads (listed in
 *     `readers`, or mounted by it, or one of its env files);
 *  5. every file is scanned for secret values: such files are marked
 *     secret and refused when their mode lets group write or others in.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/file.h"
#include "core/opt.h"
#include "stack/stack.h"
#include "stack/stack-int.h"
#include "tmpl/tmpl.h"

#define SECRET_MIN_LEN	6	/* shorter values are not scanned for */
#define MAX_SERVICES	64
#define MAX_FILES	512

struct rc {
	const char	*dir;		/* stack dir */
	json_t		*vars;		/* every variable (new) */
	json_t		*svars;		/* without secrets (new) */
	const json_t	*secrets;	/* borrowed from vars */
	json_t		*services;	/* name -> service, all (new) */
	json_t		*slines;	/* name -> lines object (new) */
	json_t		*networks;	/* name -> {name, subnet, internal} */
	json_t		*images;	/* service -> image ref */
	const char	*env;
	const char	*project;
	char		*root;		/* stack_root */
	struct bundle	*b;
	size_t		 alloc;
	char		**cause;
};

/* Read a stack data file into out; name is for messages. */
static int
read_data(struct rc *c, const char *rel, struct vp_buf *out)
{
	char	*path;
	int	 r;

	if ((path = vp_path_join(c->dir, rel)) == NULL)
		return VP_ERR_NOMEM;
	vp_buf_init(out, STACK_FILE_MAX);
	r = vp_file_read(path, out, c->cause);
	free(path);
	return r;
}

int
stack_expr_true(const char *name, const char *expr, const json_t *vars,
    int *result, char **cause)
{
	struct vp_buf	 src = VP_BUF_INIT(8192), out = VP_BUF_INIT(64);
	int		 r;

	if ((r = vp_buf_addf(&src, "{%% if %s %%}1{%% endif %%}", expr)) != 0)
		goto out;
	if ((r = tmpl_render(name, src.buf, src.len, vars, &out, cause)) != 0)
		goto out;
	*result = strcmp(out.buf, "1") == 0;
 out:
	vp_buf_release(&src);
	vp_buf_release(&out);
	return r;
}

static int
bool_or_expr(struct rc *c, const char *name, const json_t *v,
    const json_t *vars, int *res)
{
	if (json_is_boolean(v)) {
		*res = json_is_true(v);
		return VP_OK;
	}
	return stack_expr_true(name, json_string_value(v), vars, res,
	    c->cause);
}

/* Render a stack data file as a template, then parse it. */
static int
load_templated(struct rc *c, const char *rel, const json_t *vars,
    json_t **doc, json_t **lines)
{
	struct vp_buf	 src, out = VP_BUF_INIT(STACK_FILE_MAX);
	char		*name = NULL;
	int		 r;

	if ((r = read_data(c, rel, &src)) != 0)
		return r;
	if (asprintf(&name, "stack/%s", rel) < 0) {
		name = NULL;
		r = VP_ERR_NOMEM;
		goto out;
	}
	if ((r = tmpl_render(name, src.buf, src.len, vars, &out,
	    c->cause)) != 0)
		goto out;
	r = stack_yaml_load(name, out.buf, out.len, doc, lines, c->cause);
 out:
	free(name);
	vp_buf_release(&src);
	vp_buf_release(&out);
	return r;
}

static int
image_pinned(const char *ref)
{
	const char	*slash = strrchr(ref, '/'), *colon, *tag;
	static const char *const floating[] = {
		"latest", "stable", "main", "master", "edge", "nightly",
	};
	size_t		 i;

	if (strstr(ref, "@sha256:") != NULL)
		return 1;
	colon = strrchr(slash ? slash : ref, ':');
	if (colon == NULL || colon[1] == '\0')
		return 0;
	tag = colon + 1;
	for (i = 0; i < sizeof(floating) / sizeof(floating[0]); i++)
		if (strcmp(tag, floating[i]) == 0)
			return 0;
	return 1;
}

static int
load_versions(struct rc *c)
{
	struct vp_buf	 src;
	json_t		*doc = NULL, *lines = NULL, *set, *v;
	const char	*which, *k;
	char		 path[256];
	int		 r;

	which = json_string_value(json_object_get(c->vars, "image_set"));
	if (which == NULL)
		which = "upstream";
	if ((r = read_data(c, "versions.yml", &src)) != 0)
		return r;
	r = stack_yaml_load("stack/versions.yml", src.buf, src.len, &doc,
	    &lines, c->cause);
	vp_buf_release(&src);
	if (r != 0)
		return r;
	set = json_object_get(doc, which);
	if (set == NULL || !json_is_object(set)) {
		r = vp_fail(c->cause, VP_ERR_INVALID, "stack/versions.yml: "
		    "key '%s': no such image set (site key image_set)", which);
		goto out;
	}
	json_object_foreach(set, k, v) {
		snprintf(path, sizeof(path), "%s.%s", which, k);
		if (!json_is_string(v) || !image_pinned(json_string_value(v))) {
			r = vp_fail(c->cause, VP_ERR_INVALID,
			    "stack/versions.yml:%d: key '%s': image must be "
			    "pinned to a tag or digest (not latest, stable, "
			    "main...)", stack_line(lines, path), path);
			goto out;
		}
	}
	c->images = json_incref(set);
	r = VP_OK;
 out:
	json_decref(doc);
	json_decref(lines);
	return r;
}

static int
load_networks(struct rc *c)
{
	json_t		*doc = NULL, *lines = NULL, *nets, *v, *n;
	const char	*k, *name, *subnet;
	char		 path[128];
	int		 r;

	if ((r = load_templated(c, "networks.yml", c->svars, &doc,
	    &lines)) != 0)
		return r;
	nets = json_object_get(doc, "networks");
	if (!json_is_object(nets) || json_object_size(nets) == 0) {
		r = vp_fail(c->cause, VP_ERR_INVALID, "stack/networks.yml: "
		    "key 'networks': expected a mapping of networks");
		goto out;
	}
	if ((c->networks = json_object()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	json_object_foreach(nets, k, v) {
		name = json_string_value(json_object_get(v, "name"));
		subnet = json_string_value(json_object_get(v, "subnet"));
		snprintf(path, sizeof(path), "networks.%s", k);
		if (name == NULL || subnet == NULL || !json_is_boolean(
		    json_object_get(v, "internal")) ||
		    json_object_size(v) != 3) {
			r = vp_fail(c->cause, VP_ERR_INVALID,
			    "stack/networks.yml:%d: key '%s': expected "
			    "name, subnet and internal (true/false)",
			    stack_line(lines, path), path);
			goto out;
		}
		n = json_pack("{s:s,s:s,s:O}", "name", name, "subnet", subnet,
		    "internal", json_object_get(v, "internal"));
		if (n == NULL || json_object_set_new(c->networks, k, n) != 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
	}
	r = VP_OK;
 out:
	json_decref(doc);
	json_decref(lines);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted service base names (without .yml) under dir/services. */
static int
list_services(struct rc *c, char ***out, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	char		*path, **names = NULL;
	size_t		 len, cnt = 0;
	int		 r = VP_OK;

	*out = NULL;
	*n = 0;
	if ((path = vp_path_join(c->dir, "services")) == NULL)
		return VP_ERR_NOMEM;
	if ((d = opendir(path)) == NULL) {
		r = vp_fail(c->cause, VP_ERR_NOTFOUND,
		    "cannot read '%s': %s", path, strerror(errno));
		free(path);
		return r;
	}
	free(path);
	if ((names = calloc(MAX_SERVICES, sizeof(*names))) == NULL) {
		closedir(d);
		return VP_ERR_NOMEM;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 5 || de->d_name[0] == '.' ||
		    strcmp(de->d_name + len - 4, ".yml") != 0)
			continue;
		if (cnt == MAX_SERVICES) {
			r = vp_fail(c->cause, VP_ERR_TOOBIG,
			    "stack/services: more than %d services",
			    MAX_SERVICES);
			break;
		}
		if ((names[cnt] = strndup(de->d_name, len - 4)) == NULL) {
			r = VP_ERR_NOMEM;
			break;
		}
		cnt++;
	}
	closedir(d);
	qsort(names, cnt, sizeof(*names), cmp_str);
	*out = names;
	*n = cnt;
	return r;
}

static int
load_services(struct rc *c)
{
	char		**names = NULL, rel[300], file[310];
	json_t		 *doc = NULL, *lines = NULL, *svc = NULL, *img, *x;
	size_t		  i, n = 0;
	int		  r, en;

	if ((c->services = json_object()) == NULL ||
	    (c->slines = json_object()) == NULL)
		return VP_ERR_NOMEM;
	if ((r = list_services(c, &names, &n)) != 0)
		goto out;
	if (n == 0) {
		r = vp_fail(c->cause, VP_ERR_NOTFOUND,
		    "stack/services: no service definitions");
		goto out;
	}
	for (i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "services/%s.yml", names[i]);
		snprintf(file, sizeof(file), "stack/%s", rel);
		if ((r = load_templated(c, rel, c->svars, &doc, &lines)) != 0)
			goto out;
		if ((r = stack_service_check(file, names[i], doc, lines,
		    c->networks, &svc, c->cause)) != 0)
			goto out;
		if ((r = bool_or_expr(c, file, json_object_get(svc, "enabled"),
		    c->svars, &en)) != 0)
			goto out;
		json_object_set_new(svc, "enabled", json_boolean(en));
		json_object_set_new(svc, "file", json_string(file));
		x = json_object_get(svc, "image_key");
		img = json_object_get(c->images, json_string_value(x));
		if (img == NULL && en) {
			r = vp_fail(c->cause, VP_ERR_INVALID, "%s:%d: key "
			    "'image_key': no image '%s' in stack/versions.yml",
			    file, stack_line(lines, "image_key"),
			    json_string_value(x));
			goto out;
		}
		if (img != NULL)
			json_object_set(svc, "image", img);
		if (json_object_set_new(c->services, names[i], svc) != 0 ||
		    json_object_set_new(c->slines, names[i], lines) != 0) {
			svc = lines = NULL;
			r = VP_ERR_NOMEM;
			goto out;
		}
		svc = lines = NULL;
		json_decref(doc);
		doc = NULL;
	}
	r = VP_OK;
 out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	json_decref(doc);
	json_decref(lines);
	json_decref(svc);
	return r;
}

/* Dependencies: targets exist, are enabled, no phase A -> B, no cycle. */
static int
check_graph(struct rc *c)
{
	const char	*name, *dep, *file;
	json_t		*svc, *t, *x, *lines;
	char		 key[128];
	size_t		 n, guard;
	int		 changed;

	json_object_foreach(c->services, name, svc) {
		if (!json_is_true(json_object_get(svc, "enabled")))
			continue;
		file = json_string_value(json_object_get(svc, "file"));
		lines = json_object_get(c->slines, name);
		json_object_foreach(json_object_get(svc, "depends_on"), dep, x) {
			snprintf(key, sizeof(key), "depends_on.%s", dep);
			t = json_object_get(c->services, dep);
			if (t == NULL)
				return vp_fail(c->cause, VP_ERR_INVALID,
				    "%s:%d: key '%s': no service '%s'", file,
				    stack_line(lines, key), key, dep);
			if (!json_is_true(json_object_get(t, "enabled")))
				return vp_fail(c->cause, VP_ERR_INVALID,
				    "%s:%d: key '%s': service '%s' is "
				    "disabled for this site", file,
				    stack_line(lines, key), key, dep);
			if (strcmp(json_string_value(json_object_get(svc,
			    "phase")), "A") == 0 && strcmp(json_string_value(
			    json_object_get(t, "phase")), "B") == 0)
				return vp_fail(c->cause, VP_ERR_INVALID,
				    "%s:%d: key '%s': a phase A service cannot "
				    "wait for '%s' (phase B)", file,
				    stack_line(lines, key), key, dep);
		}
	}
	/* Cycle: repeatedly mark services whose deps are all marked. */
	n = json_object_size(c->services);
	for (guard = 0; guard <= n; guard++) {
		changed = 0;
		json_object_foreach(c->services, name, svc) {
			int ok = 1;

			if (json_object_get(svc, "_done") != NULL)
				continue;
			json_object_foreach(json_object_get(svc, "depends_on"),
			    dep, x)
				if (json_object_get(json_object_get(
				    c->services, dep), "_done") == NULL)
					ok = 0;
			if (ok) {
				json_object_set_new(svc, "_done", json_true());
				changed = 1;
			}
		}
		if (!changed)
			break;
	}
	json_object_foreach(c->services, name, svc) {
		if (json_object_get(svc, "_done") == NULL)
			return vp_fail(c->cause, VP_ERR_INVALID,
			    "%s: key 'depends_on': dependency cycle through "
			    "'%s'", json_string_value(json_object_get(svc,
			    "file")), name);
	}
	json_object_foreach(c->services, name, svc)
		json_object_del(svc, "_done");
	return VP_OK;
}

/* The resolved services, as templates see them. */
static json_t *
services_var(struct rc *c)
{
	json_t		*out = json_object(), *svc, *e;
	const char	*name;

	if (out == NULL)
		return NULL;
	json_object_foreach(c->services, name, svc) {
		e = json_pack("{s:s,s:O,s:s,s:O,s:O,s:s,s:O,s:O}",
		    "name", name,
		    "enabled", json_object_get(svc, "enabled"),
		    "user", json_string_value(json_object_get(svc, "user")),
		    "uid", json_object_get(svc, "uid"),
		    "gid", json_object_get(svc, "gid"),
		    "phase", json_string_value(json_object_get(svc, "phase")),
		    "networks", json_object_get(svc, "networks"),
		    "image", json_object_get(svc, "image") ?
		    json_object_get(svc, "image") : json_null());
		if (e == NULL || json_object_set_new(out, name, e) != 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static struct bundle_file *
new_file(struct rc *c)
{
	struct bundle_file *f;

	if (c->b->n == c->alloc) {
		size_t	 na = c->alloc ? c->alloc * 2 : 32;
		void	*p;

		if (na > MAX_FILES ||
		    (p = reallocarray(c->b->files, na, sizeof(*f))) == NULL)
			return NULL;
		c->b->files = p;
		c->alloc = na;
	}
	f = &c->b->files[c->b->n++];
	memset(f, 0, sizeof(*f));
	f->uid = (uid_t)-1;
	f->gid = (gid_t)-1;
	return f;
}

static int
parse_mode(const json_t *v, mode_t *mode)
{
	const char	*s = json_string_value(v);
	char		*end;
	long		 m;

	if (s == NULL || strlen(s) != 4 || s[0] != '0')
		return -1;
	m = strtol(s, &end, 8);
	if (*end != '\0' || m < 0 || m > 0777)
		return -1;
	*mode = (mode_t)m;
	return 0;
}

static int
resolve_owner(struct rc *c, const json_t *v, uid_t *uid, gid_t *gid)
{
	const char	*s;
	json_t		*svc;
	char		*end;
	long		 u, g;

	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 65535) {
		*uid = (uid_t)json_integer_value(v);
		*gid = (gid_t)json_integer_value(v);
		return 0;
	}
	if ((s = json_string_value(v)) == NULL)
		return -1;
	if ((svc = json_object_get(c->services, s)) != NULL) {
		*uid = (uid_t)json_integer_value(json_object_get(svc, "uid"));
		*gid = (gid_t)json_integer_value(json_object_get(svc, "gid"));
		return 0;
	}
	u = strtol(s, &end, 10);
	if (end == s || *end != ':' || u < 0 || u > 65535)
		return -1;
	g = strtol(end + 1, &end, 10);
	if (*end != '\0' || g < 0 || g > 65535)
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

static const char *const entry_keys[] = {
	"template", "generator", "path", "mode", "owner", "readers", "when",
};

static int
bundle_entry(struct rc *c, const json_t *e, const json_t *lines,
    size_t idx, json_t **gen)
{
	struct vp_buf		 src, out = VP_BUF_INIT(VP_BUF_DEFAULT_CAP);
	struct bundle_file	*f;
	const char		*k, *tpl, *path, *m;
	json_t			*x, *rd;
	char			 key[128], rel[512], *name = NULL;
	size_t			 i;
	int			 r, on = 1, ln;

	snprintf(key, sizeof(key), "files[%zu]", idx);
	ln = stack_line(lines, key);
	if (!json_is_object(e))
		return vp_fail(c->cause, VP_ERR_INVALID, "stack/bundle.yml:%d: "
		    "key '%s': expected a mapping", ln, key);
	json_object_foreach((json_t *)(uintptr_t)e, k, x) {
		for (i = 0; i < 7; i++)
			if (strcmp(k, entry_keys[i]) == 0)
				break;
		if (i == 7) {
			snprintf(key, sizeof(key), "files[%zu].%s", idx, k);
			m = vp_did_you_mean(k, entry_keys, 7);
			return vp_fail(c->cause, VP_ERR_INVALID,
			    "stack/bundle.yml:%d: key '%s': unknown key%s%s%s",
			    stack_line(lines, key), key,
			    m ? " (did you mean '" : "", m ? m : "",
			    m ? "'?)" : "");
		}
	}
	tpl = json_string_value(json_object_get(e, "template"));
	path = json_string_value(json_object_get(e, "path"));
	if ((tpl == NULL) == (json_object_get(e, "generator") == NULL))
		return vp_fail(c->cause, VP_ERR_INVALID, "stack/bundle.yml:%d: "
		    "key '%s': needs either 'template' or 'generator'", ln,
		    key);
	if (path == NULL || *path == '\0' || *path == '/' ||
	    strstr(path, "..") != NULL || path[strlen(path) - 1] == '/')
		return vp_fail(c->cause, VP_ERR_INVALID, "stack/bundle.yml:%d: "
		    "key '%s.path': expected a relative file path without "
		    "'..'", ln, key);
	if ((x = json_object_get(e, "when")) != NULL) {
		if (!json_is_boolean(x) && !json_is_string(x))
			return vp_fail(c->cause, VP_ERR_INVALID,
			    "stack/bundle.yml:%d: key '%s.when': expected an "
			    "expression", ln, key);
		if ((r = bool_or_expr(c, "stack/bundle.yml", x, c->vars,
		    &on)) != 0)
			return r;
	}
	if (!on)
		return VP_OK;
	if ((f = new_file(c)) == NULL)
		return VP_ERR_NOMEM;
	if ((f->path = strdup(path)) == NULL ||
	    (f->readers = json_array()) == NULL)
		return VP_ERR_NOMEM;
	f->mode = 0644;
	if ((x = json_object_get(e, "mode")) != NULL &&
	    parse_mode(x, &f->mode) != 0)
		return vp_fail(c->cause, VP_ERR_INVALID, "stack/bundle.yml:%d: "
		    "key '%s.mode': expected a quoted octal mode like \"0640\"",
		    ln, key);
	if (resolve_owner(c, json_object_get(e, "owner"), &f->uid,
	    &f->gid) != 0)
		return vp_fail(c->cause, VP_ERR_INVALID, "stack/bundle.yml:%d: "
		    "key '%s.owner': expected a uid, \"UID:GID\" or a service "
		    "name", ln, key);
	if ((rd = json_object_get(e, "readers")) != NULL) {
		if (!json_is_array(rd))
			return vp_fail(c->cause, VP_ERR_INVALID,
			    "stack/bundle.yml:%d: key '%s.readers': expected a "
			    "list of services", ln, key);
		json_array_foreach(rd, i, x) {
			if (json_object_get(c->services,
			    json_string_value(x) ? json_string_value(x) : "")
			    == NULL)
				return vp_fail(c->cause, VP_ERR_INVALID,
				    "stack/bundle.yml:%d: key '%s.readers': "
				    "no service '%s'", ln, key,
				    json_string_value(x) ? json_string_value(x)
				    : "?");
			json_array_append(f->readers, x);
		}
	}
	if (tpl == NULL) {
		x = json_object_get(e, "generator");
		if (!json_is_string(x) || strcmp(json_string_value(x),
		    "compose") != 0)
			return vp_fail(c->cause, VP_ERR_INVALID,
			    "stack/bundle.yml:%d: key '%s.generator': unknown "
			    "generator (known: compose)", ln, key);
		if (*gen != NULL)
			return vp_fail(c->cause, VP_ERR_INVALID,
			    "stack/bundle.yml:%d: key '%s.generator': compose "
			    "listed twice", ln, key);
		*gen = json_string(path);
		/* Filled in later, once every other file is known. */
		return VP_OK;
	}
	snprintf(rel, sizeof(rel), "templates/%s", tpl);
	if (strstr(tpl, "..") != NULL || *tpl == '/')
		return vp_fail(c->cause, VP_ERR_INVALID, "stack/bundle.yml:%d: "
		    "key '%s.template': must be under stack/templates/", ln,
		    key);
	if ((r = read_data(c, rel, &src)) != 0)
		return vp_fail_prefix(c->cause, r, "stack/bundle.yml:%d: key "
		    "'%s.template'", ln, key);
	if (asprintf(&name, "stack/%s", rel) < 0) {
		vp_buf_release(&src);
		return VP_ERR_NOMEM;
	}
	r = tmpl_render(name, src.buf, src.len, c->vars, &out, c->cause);
	free(name);
	vp_buf_release(&src);
	if (r != 0) {
		vp_buf_release_secure(&out);
		return r;
	}
	if ((f->data = vp_buf_detach(&out, &f->len)) == NULL)
		return VP_ERR_NOMEM;
	return VP_OK;
}

static int
cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct bundle_file *)a)->path,
	    ((const struct bundle_file *)b)->path);
}

static int
covers(const char *src, const char *path)
{
	size_t n = strlen(src);

	while (n > 0 && src[n - 1] == '/')
		n--;
	return strncmp(src, path, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

static void
add_reader(struct bundle_file *f, const char *svc)
{
	json_t	*x;
	size_t	 i;

	json_array_foreach(f->readers, i, x)
		if (strcmp(json_string_value(x), svc) == 0)
			return;
	json_array_append_new(f->readers, json_string(svc));
}

/*
 * A directory mounted into a container must be traversable by the
 * container's uid: a directory holding secrets is 0750 and owned by the
 * owner of those secrets (bundle_dir_attr()).
 */
static int
check_traverse(struct rc *c, const json_t *svc, const char *src,
    const char *path, const char *file, int line, const char *key)
{
	const char	*slash = strrchr(path, '/');
	char		*dir;
	mode_t		 mode;
	uid_t		 uid, su;
	gid_t		 gid, sg;
	int		 r = VP_OK;

	if (strcmp(src, path) == 0 || slash == NULL)
		return VP_OK;	/* a file mount: the file's mode counts */
	if ((dir = strndup(path, (size_t)(slash - path))) == NULL)
		return VP_ERR_NOMEM;
	bundle_dir_attr(c->b, dir, &mode, &uid, &gid);
	su = (uid_t)json_integer_value(json_object_get(svc, "uid"));
	sg = (gid_t)json_integer_value(json_object_get(svc, "gid"));
	if ((mode & 05) == 0 && su != 0 && uid != su && gid != sg)
		r = vp_fail(c->cause, VP_ERR_INVALID, "%s:%d: key '%s': "
		    "directory '%s' holds secrets of another owner; the "
		    "container (uid %u) could not enter it", file, line, key,
		    dir, (unsigned)su);
	free(dir);
	return r;
}

/*
 * Every config volume and env file of an enabled service must be
 * produced by the bundle (else Docker would create an empty directory
 * in its place); the service becomes a reader of what it mounts.
 */
static int
link_readers(struct rc *c)
{
	const char	*name, *file, *src;
	json_t		*svc, *v, *lines;
	size_t		 i, j;
	char		 key[64];
	int		 hit, r;

	json_object_foreach(c->services, name, svc) {
		if (!json_is_true(json_object_get(svc, "enabled")))
			continue;
		file = json_string_value(json_object_get(svc, "file"));
		lines = json_object_get(c->slines, name);
		json_array_foreach(json_object_get(svc, "volumes"), i, v) {
			if (strcmp(json_string_value(json_object_get(v, "kind")),
			    "config") != 0)
				continue;
			src = json_string_value(json_object_get(v, "source"));
			snprintf(key, sizeof(key), "volumes[%zu].source", i);
			for (hit = 0, j = 0; j < c->b->n; j++)
				if (covers(src, c->b->files[j].path)) {
					add_reader(&c->b->files[j], name);
					hit = 1;
					if ((r = check_traverse(c, svc, src,
					    c->b->files[j].path, file,
					    stack_line(lines, key), key)) != 0)
						return r;
				}
			if (!hit)
				return vp_fail(c->cause, VP_ERR_INVALID,
				    "%s:%d: key '%s': '%s' is not produced by "
				    "the bundle (stack/bundle.yml)", file,
				    stack_line(lines, key), key, src);
		}
		json_array_foreach(json_object_get(svc, "env_file"), i, v) {
			src = json_string_value(v);
			for (hit = 0, j = 0; j < c->b->n; j++)
				if (strcmp(src, c->b->files[j].path) == 0) {
					add_reader(&c->b->files[j], name);
					hit = 1;
				}
			snprintf(key, sizeof(key), "env_file[%zu]", i);
			if (!hit)
				return vp_fail(c->cause, VP_ERR_INVALID,
				    "%s:%d: key '%s': '%s' is not produced by "
				    "the bundle (stack/bundle.yml)", file,
				    stack_line(lines, key), key, src);
		}
	}
	return VP_OK;
}

/* SHA-256 over (path, NUL, length, NUL, bytes) of every file it reads. */
static int
config_hash(struct rc *c, const char *svc, char hex[65])
{
	EVP_MD_CTX		*md;
	unsigned char		 dg[32];
	unsigned int		 dl = 0;
	const struct bundle_file *f;
	json_t			*x;
	char			 num[32];
	size_t			 i, j;
	int			 r = VP_ERR_CRYPTO;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return VP_ERR_NOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (i = 0; i < c->b->n; i++) {
		f = &c->b->files[i];
		json_array_foreach(f->readers, j, x) {
			if (strcmp(json_string_value(x), svc) != 0)
				continue;
			snprintf(num, sizeof(num), "%zu", f->len);
			if (EVP_DigestUpdate(md, f->path,
			    strlen(f->path) + 1) != 1 ||
			    EVP_DigestUpdate(md, num, strlen(num) + 1) != 1 ||
			    EVP_DigestUpdate(md, f->data, f->len) != 1)
				goto out;
		}
	}
	if (EVP_DigestFinal_ex(md, dg, &dl) != 1 || dl != 32)
		goto out;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", dg[i]);
	r = VP_OK;
 out:
	EVP_MD_CTX_free(md);
	return r;
}

/* Compose keys the engine owns: a service's `compose:` may not set them. */
static const char *const managed_keys[] = {
	"image", "container_name", "restart", "user", "networks",
	"healthcheck", "depends_on", "deploy", "cap_drop", "cap_add",
	"security_opt", "logging", "volumes", "env_file", "environment",
	"command", "entrypoint", "ports", "labels", "tmpfs", "privileged",
	"network_mode", "pid", "ipc",
};

static json_t *
str_or_string(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return json_string(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return json_string(buf);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%g", json_real_value(v));
		return json_string(buf);
	}
	if (json_is_boolean(v))
		return json_string(json_is_true(v) ? "true" : "false");
	return json_string("");
}

static int
compose_service(struct rc *c, const char *name, const json_t *svc,
    json_t **out)
{
	json_t		*s = NULL, *x, *arr, *lim, *res, *labels, *env;
	const char	*k, *file = json_string_value(json_object_get(svc,
	    "file"));
	char		 hex[65], *p = NULL;
	size_t		 i;
	int		 r = VP_ERR_NOMEM;

	if ((s = json_object()) == NULL)
		return VP_ERR_NOMEM;
	if (asprintf(&p, "%s_%s", c->project, name) < 0) {
		p = NULL;
		goto out;
	}
	json_object_set(s, "image", json_object_get(svc, "image"));
	json_object_set_new(s, "container_name", json_string(p));
	json_object_set_new(s, "restart", json_string("unless-stopped"));
	json_object_set(s, "user", json_object_get(svc, "user"));
	json_object_set(s, "networks", json_object_get(svc, "networks"));
	if (json_object_size(json_object_get(svc, "healthcheck")) > 0)
		json_object_set(s, "healthcheck",
		    json_object_get(svc, "healthcheck"));
	if (json_object_size(json_object_get(svc, "depends_on")) > 0) {
		json_t *d = json_object();

		json_object_foreach(json_object_get(svc, "depends_on"), k, x)
			json_object_set_new(d, k, json_pack("{s:O}",
			    "condition", x));
		json_object_set_new(s, "depends_on", d);
	}
	x = json_object_get(json_object_get(svc, "limits"), c->env);
	lim = json_object();
	json_object_set_new(lim, "memory", str_or_string(json_object_get(x,
	    "memory")));
	if (json_object_get(x, "cpus") != NULL)
		json_object_set_new(lim, "cpus", str_or_string(
		    json_object_get(x, "cpus")));
	res = json_pack("{s:o}", "limits", lim);
	if (json_object_get(x, "reservation") != NULL)
		json_object_set_new(res, "reservations", json_pack("{s:o}",
		    "memory", str_or_string(json_object_get(x,
		    "reservation"))));
	json_object_set_new(s, "deploy", json_pack("{s:o}", "resources", res));
	json_object_set_new(s, "cap_drop", json_pack("[s]", "ALL"));
	if (json_array_size(json_object_get(svc, "cap_add")) > 0)
		json_object_set(s, "cap_add", json_object_get(svc, "cap_add"));
	arr = json_pack("[s]", "no-new-privileges:true");
	json_array_extend(arr, json_object_get(svc, "security_opt"));
	json_object_set_new(s, "security_opt", arr);
	json_object_set_new(s, "logging", json_pack("{s:s,s:{s:s,s:s}}",
	    "driver", "json-file", "options", "max-size", "10m", "max-file",
	    "3"));

	arr = json_array();
	json_array_foreach(json_object_get(svc, "volumes"), i, x) {
		const char *kind = json_string_value(json_object_get(x,
		    "kind"));
		const char *src = json_string_value(json_object_get(x,
		    "source"));
		const char *tgt = json_string_value(json_object_get(x,
		    "target"));
		char *v = NULL;

		if (strchr(src, ':') != NULL || strchr(tgt, ':') != NULL) {
			r = vp_fail(c->cause, VP_ERR_INVALID, "%s: key "
			    "'volumes[%zu]': paths may not contain ':'", file,
			    i);
			json_decref(arr);
			goto out;
		}
		if (asprintf(&v, "%s%s%s:%s%s", strcmp(kind, "host") == 0 ?
		    "" : c->root, strcmp(kind, "host") == 0 ? "" : "/", src,
		    tgt, json_is_true(json_object_get(x, "read_only")) ?
		    ":ro" : "") < 0) {
			json_decref(arr);
			goto out;
		}
		json_array_append_new(arr, json_string(v));
		free(v);
	}
	if (json_is_true(json_object_get(svc, "probe"))) {
		char *v = NULL;

		if (asprintf(&v, "%s/bin/vpai-probe:/vpai/probe:ro",
		    c->root) < 0) {
			json_decref(arr);
			goto out;
		}
		json_array_append_new(arr, json_string(v));
		free(v);
	}
	if (json_array_size(arr) > 0)
		json_object_set(s, "volumes", arr);
	json_decref(arr);

	if (json_array_size(json_object_get(svc, "env_file")) > 0) {
		arr = json_array();
		json_array_foreach(json_object_get(svc, "env_file"), i, x) {
			char *v = NULL;

			if (asprintf(&v, "%s/%s", c->root,
			    json_string_value(x)) < 0) {
				json_decref(arr);
				goto out;
			}
			json_array_append_new(arr, json_string(v));
			free(v);
		}
		json_object_set_new(s, "env_file", arr);
	}
	if (json_object_size(json_object_get(svc, "environment")) > 0) {
		env = json_object();
		json_object_foreach(json_object_get(svc, "environment"), k, x)
			json_object_set_new(env, k, str_or_string(x));
		json_object_set_new(s, "environment", env);
	}
	if (json_array_size(json_object_get(svc, "command")) > 0)
		json_object_set(s, "command", json_object_get(svc, "command"));
	if (json_array_size(json_object_get(svc, "entrypoint")) > 0)
		json_object_set(s, "entrypoint",
		    json_object_get(svc, "entrypoint"));
	if (json_array_size(json_object_get(svc, "ports")) > 0)
		json_object_set(s, "ports", json_object_get(svc, "ports"));
	if (json_array_size(json_object_get(svc, "tmpfs")) > 0)
		json_object_set(s, "tmpfs", json_object_get(svc, "tmpfs"));

	labels = json_object();
	json_object_foreach(json_object_get(svc, "labels"), k, x)
		json_object_set_new(labels, k, str_or_string(x));
	if ((r = config_hash(c, name, hex)) != 0) {
		json_decref(labels);
		goto out;
	}
	json_object_set_new(labels, "vpai.config-hash", json_string(hex));
	json_object_set(labels, "vpai.phase", json_object_get(svc, "phase"));
	json_object_set_new(labels, "vpai.service", json_string(name));
	json_object_set_new(s, "labels", labels);

	json_object_foreach(json_object_get(svc, "compose"), k, x) {
		for (i = 0; i < sizeof(managed_keys) / sizeof(*managed_keys);
		    i++)
			if (strcmp(k, managed_keys[i]) == 0) {
				char key[128];

				snprintf(key, sizeof(key), "compose.%s", k);
				r = vp_fail(c->cause, VP_ERR_INVALID,
				    "%s:%d: key '%s': set by the engine; use "
				    "the service key instead", file,
				    stack_line(json_object_get(c->slines, name),
				    key), key);
				goto out;
			}
		json_object_set(s, k, x);
	}
	*out = s;
	s = NULL;
	r = VP_OK;
 out:
	free(p);
	json_decref(s);
	return r;
}

static int
build_compose(struct rc *c, json_t **out)
{
	json_t		*doc = NULL, *svcs, *nets, *n, *x, *svc;
	const char	*k;
	int		 r;

	svcs = json_object();
	nets = json_object();
	doc = json_pack("{s:o,s:o}", "services", svcs, "networks", nets);
	if (doc == NULL)
		return VP_ERR_NOMEM;
	json_object_foreach(c->networks, k, x) {
		n = json_pack("{s:O,s:s,s:O,s:{s:[{s:O}]}}", "name",
		    json_object_get(x, "name"), "driver", "bridge", "internal",
		    json_object_get(x, "internal"), "ipam", "config", "subnet",
		    json_object_get(x, "subnet"));
		if (n == NULL || json_object_set_new(nets, k, n) != 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
	}
	json_object_foreach(c->services, k, svc) {
		if (!json_is_true(json_object_get(svc, "enabled")))
			continue;
		if ((r = compose_service(c, k, svc, &x)) != 0)
			goto out;
		json_object_set_new(svcs, k, x);
	}
	*out = doc;
	doc = NULL;
	r = VP_OK;
 out:
	json_decref(doc);
	return r;
}

static int
scan_secrets(struct rc *c)
{
	struct bundle_file	*f;
	const char		*k, *v;
	json_t			*x;
	size_t			 i, len;

	for (i = 0; i < c->b->n; i++) {
		f = &c->b->files[i];
		json_object_foreach((json_t *)(uintptr_t)c->secrets, k, x) {
			v = json_string_value(x);
			len = json_string_length(x);
			if (v == NULL || len < SECRET_MIN_LEN)
				continue;
			if (f->len > 0 &&
			    memmem(f->data, f->len, v, len) != NULL) {
				f->secret = 1;
				break;
			}
		}
		/* Owner may read (and write); group may read; others none. */
		if (f->secret && (f->mode & 0027) != 0)
			return vp_fail(c->cause, VP_ERR_REFUSED,
			    "bundle file '%s' holds secrets but its mode %04o "
			    "lets %s in (use 0600, 0400 or 0640)", f->path,
			    (unsigned)f->mode, (f->mode & 07) ? "others" :
			    "the group write");
	}
	return VP_OK;
}

json_t *
stack_vars_new(const json_t *site_vars, const json_t *secrets, char **cause)
{
	json_t		*v, *x;
	const char	*k;

	if ((v = json_copy((json_t *)(uintptr_t)site_vars)) == NULL)
		return NULL;
	if (secrets != NULL) {
		json_object_foreach((json_t *)(uintptr_t)secrets, k, x) {
			if (json_object_get(site_vars, k) != NULL) {
				vp_fail(cause, VP_ERR_INVALID, "secret '%s' "
				    "has the same name as a site key", k);
				json_decref(v);
				return NULL;
			}
			json_object_set(v, k, x);
		}
		json_object_set_new(v, "secrets",
		    json_copy((json_t *)(uintptr_t)secrets));
	} else
		json_object_set_new(v, "secrets", json_object());
	return v;
}

static int
setup_vars(struct rc *c, const json_t *vars)
{
	const char	*k, *root;
	json_t		*x;

	if (!json_is_object(vars))
		return vp_fail(c->cause, VP_ERR_INVALID, "variables must be an "
		    "object");
	if ((c->vars = json_copy((json_t *)(uintptr_t)vars)) == NULL)
		return VP_ERR_NOMEM;
	c->secrets = json_object_get(c->vars, "secrets");
	if (c->secrets == NULL) {
		json_object_set_new(c->vars, "secrets", json_object());
		c->secrets = json_object_get(c->vars, "secrets");
	}
	c->env = json_string_value(json_object_get(c->vars, "target_env"));
	if (c->env == NULL) {
		json_object_set_new(c->vars, "target_env", json_string("prod"));
		c->env = "prod";
	}
	if (strcmp(c->env, "prod") != 0 && strcmp(c->env, "preprod") != 0)
		return vp_fail(c->cause, VP_ERR_INVALID, "target_env '%s': "
		    "expected prod or preprod", c->env);
	c->project = json_string_value(json_object_get(c->vars,
	    "project_name"));
	if (c->project == NULL || *c->project == '\0')
		return vp_fail(c->cause, VP_ERR_INVALID, "key 'project_name': "
		    "missing");
	root = json_string_value(json_object_get(c->vars, "stack_root"));
	if (root != NULL && *root != '\0')
		c->root = strdup(root);
	else if (asprintf(&c->root, "/opt/%s", c->project) < 0)
		c->root = NULL;
	if (c->root == NULL)
		return VP_ERR_NOMEM;
	if (*c->root != '/' || strchr(c->root, ':') != NULL)
		return vp_fail(c->cause, VP_ERR_INVALID, "key 'stack_root': "
		    "'%s' must be an absolute path without ':'", c->root);
	while (strlen(c->root) > 1 && c->root[strlen(c->root) - 1] == '/')
		c->root[strlen(c->root) - 1] = '\0';
	json_object_set_new(c->vars, "stack_root", json_string(c->root));

	/* The variables of stack definitions: everything but the secrets. */
	if ((c->svars = json_copy(c->vars)) == NULL)
		return VP_ERR_NOMEM;
	json_object_foreach((json_t *)(uintptr_t)c->secrets, k, x)
		json_object_del(c->svars, k);
	json_object_del(c->svars, "secrets");
	return VP_OK;
}

int
stack_render(const char *stack_dir, const json_t *vars, struct bundle **out,
    char **cause)
{
	struct rc		 c;
	struct vp_buf		 yml = VP_BUF_INIT(VP_BUF_DEFAULT_CAP), src;
	struct bundle_file	*f;
	json_t			*bdoc = NULL, *blines = NULL, *gen = NULL, *e;
	json_t			*compose = NULL, *sv;
	size_t			 i;
	int			 r;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.dir = stack_dir;
	c.cause = cause;
	if ((c.b = calloc(1, sizeof(*c.b))) == NULL)
		return VP_ERR_NOMEM;
	if ((r = setup_vars(&c, vars)) != 0)
		goto out;
	if ((r = load_versions(&c)) != 0)
		goto out;
	json_object_set(c.svars, "images", c.images);
	json_object_set(c.vars, "images", c.images);
	if ((r = load_networks(&c)) != 0)
		goto out;
	json_object_set(c.svars, "networks", c.networks);
	json_object_set(c.vars, "networks", c.networks);
	if ((r = load_services(&c)) != 0 || (r = check_graph(&c)) != 0)
		goto out;
	if ((sv = services_var(&c)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	json_object_set_new(c.vars, "services", sv);

	/* The bundle's files. */
	if ((r = read_data(&c, "bundle.yml", &src)) != 0)
		goto out;
	r = stack_yaml_load("stack/bundle.yml", src.buf, src.len, &bdoc,
	    &blines, cause);
	vp_buf_release(&src);
	if (r != 0)
		goto out;
	e = json_object_get(bdoc, "files");
	if (!json_is_array(e)) {
		r = vp_fail(cause, VP_ERR_INVALID, "stack/bundle.yml: key "
		    "'files': expected a list");
		goto out;
	}
	for (i = 0; i < json_array_size(e); i++)
		if ((r = bundle_entry(&c, json_array_get(e, i), blines, i,
		    &gen)) != 0)
			goto out;
	if (gen == NULL) {
		r = vp_fail(cause, VP_ERR_INVALID, "stack/bundle.yml: no "
		    "'generator: compose' entry");
		goto out;
	}
	/* Secret flags first: link_readers() checks directory access. */
	if ((r = scan_secrets(&c)) != 0 || (r = link_readers(&c)) != 0)
		goto out;
	/* Sorted before hashing so that the hash does not depend on order. */
	qsort(c.b->files, c.b->n, sizeof(*c.b->files), cmp_file);

	/* The compose file (the generator entry was reserved, data empty). */
	if ((r = build_compose(&c, &compose)) != 0)
		goto out;
	if ((r = vp_buf_adds(&yml, "# Generated by vpai render from the "
	    "stack definitions; do not edit.\n")) != 0 ||
	    (r = stack_yaml_emit(compose, &yml, cause)) != 0)
		goto out;
	for (f = NULL, i = 0; i < c.b->n; i++)
		if (strcmp(c.b->files[i].path, json_string_value(gen)) == 0)
			f = &c.b->files[i];
	if (f == NULL) {
		r = VP_ERR_INVALID;
		goto out;
	}
	if ((f->data = vp_buf_detach(&yml, &f->len)) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	for (i = 1; i < c.b->n; i++)
		if (strcmp(c.b->files[i - 1].path, c.b->files[i].path) == 0) {
			r = vp_fail(cause, VP_ERR_INVALID, "stack/bundle.yml: "
			    "path '%s' is produced twice", c.b->files[i].path);
			goto out;
		}
	if ((r = scan_secrets(&c)) != 0)
		goto out;

	c.b->model = json_pack("{s:O,s:O,s:O,s:O,s:s,s:s,s:s}",
	    "services", c.services, "networks", c.networks,
	    "compose", compose, "images", c.images, "stack_root", c.root,
	    "target_env", c.env, "project_name", c.project);
	if (c.b->model == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	*out = c.b;
	c.b = NULL;
	r = VP_OK;
 out:
	vp_buf_release(&yml);
	bundle_free(c.b);
	json_decref(bdoc);
	json_decref(blines);
	json_decref(gen);
	json_decref(compose);
	json_decref(c.vars);
	json_decref(c.svars);
	json_decref(c.services);
	json_decref(c.slines);
	json_decref(c.networks);
	json_decref(c.images);
	free(c.root);
	return r;
}
