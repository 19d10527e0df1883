/*
 * site.c: load vpai.yml, validate every key against the schema, apply the
 * environment overlay and the defaults.
 *
 * Every error is collected (not only the first) as
 *	"FILE:LINE: key 'K': what is wrong"
 * and returned in one cause, one error per line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/file.h"
#include "core/opt.h"
#include "site/site.h"
#include "site/site-int.h"

struct site {
	char	*path;
	char	*env;
	json_t	*vars;
	json_t	*lines;
};

/* ---- error list ---------------------------------------------------- */

void
site_err(struct site_errs *e, const char *file, int line, const char *key,
    const char *fmt, ...)
{
	va_list	ap;

	e->n++;
	if (e->n > SITE_MAX_ERRORS)
		return;
	if (e->buf.len > 0)
		vp_buf_addc(&e->buf, '\n');
	if (file != NULL && line > 0)
		vp_buf_addf(&e->buf, "%s:%d: ", file, line);
	else if (file != NULL)
		vp_buf_addf(&e->buf, "%s: ", file);
	if (key != NULL)
		vp_buf_addf(&e->buf, "key '%s': ", key);
	va_start(ap, fmt);
	if (vp_buf_vaddf(&e->buf, fmt, ap) == VP_ERR_NOMEM)
		e->nomem = 1;
	va_end(ap);
}

int
site_errs_finish(struct site_errs *e, int r, char **cause)
{
	char *s;

	if (e->nomem)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if (e->n > SITE_MAX_ERRORS)
		vp_buf_addf(&e->buf, "\n(%d more errors not shown)",
		    e->n - SITE_MAX_ERRORS);
	if ((s = vp_buf_detach(&e->buf, NULL)) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	if (cause != NULL) {
		free(*cause);
		*cause = s;
	} else
		free(s);
	return r;
}

void
site_errs_release(struct site_errs *e)
{
	vp_buf_release(&e->buf);
	e->n = 0;
	e->nomem = 0;
}

/* ---- reading the site file ------------------------------------------ */

struct rd {
	const struct site_schema	*sch;
	struct ydoc			 d;
	const char			*file;
	struct site_errs		*errs;
	struct site_val			*flat;		/* nkeys */
	struct site_val			*overlay;	/* nenvs * nkeys */
	int				*keyline;	/* (1+nenvs)*nkeys */
};

/* Convert a value node to key k's type; NULL if unset or bad. */
static json_t *
read_value(struct rd *c, const struct schema_key *k, const char *label,
    yaml_node_t *v, int *bad)
{
	yaml_node_item_t	*it;
	yaml_node_t		*e;
	const char		*s;
	char			*why;
	json_t			*arr, *j;

	*bad = 0;
	if (ydoc_is_null(v))
		return NULL;
	if (k->type == ST_LIST) {
		if (v->type != YAML_SEQUENCE_NODE) {
			site_err(c->errs, c->file, ydoc_line(v), label,
			    "expected a list of %s, got %s",
			    site_type_name(k->item), ydoc_kind(v));
			*bad = 1;
			return NULL;
		}
		if ((arr = json_array()) == NULL) {
			c->errs->nomem = 1;
			return NULL;
		}
		for (it = v->data.sequence.items.start;
		    it < v->data.sequence.items.top; it++) {
			if ((e = ydoc_take(&c->d, *it)) == NULL) {
				site_err(c->errs, c->file, ydoc_line(v), label,
				    "aliases are not supported");
				*bad = 1;
				break;
			}
			if ((s = ydoc_scalar(e)) == NULL) {
				site_err(c->errs, c->file, ydoc_line(e), label,
				    "list items must be %s, got %s",
				    site_type_noun(k->item), ydoc_kind(e));
				*bad = 1;
				continue;
			}
			if ((j = site_value_parse(k, k->item, s,
			    ydoc_quoted(e), &why)) == NULL) {
				site_err(c->errs, c->file, ydoc_line(e), label,
				    "%s", why ? why : "out of memory");
				free(why);
				*bad = 1;
				continue;
			}
			json_array_append_new(arr, j);
		}
		if (*bad) {
			json_decref(arr);
			return NULL;
		}
		return arr;
	}
	if ((s = ydoc_scalar(v)) == NULL) {
		site_err(c->errs, c->file, ydoc_line(v), label,
		    v->type == YAML_SCALAR_NODE ? "holds a NUL byte" :
		    "expected %s, got %s", site_type_noun(k->type),
		    ydoc_kind(v));
		*bad = 1;
		return NULL;
	}
	if ((j = site_value_parse(k, k->type, s, ydoc_quoted(v), &why)) ==
	    NULL) {
		site_err(c->errs, c->file, ydoc_line(v), label, "%s",
		    why ? why : "out of memory");
		free(why);
		*bad = 1;
	}
	return j;
}

/*
 * Read one mapping of site keys into vals.  env: -1 for the top level,
 * else the index of the environment being overlaid.
 */
static void
read_keys(struct rd *c, yaml_node_t *m, struct site_val *vals, int *lines,
    int env);

static void
read_envs(struct rd *c, yaml_node_t *m)
{
	const struct site_schema	*sch = c->sch;
	yaml_node_pair_t		*p;
	yaml_node_t			*kn, *vn;
	const char			*s, *dym;
	char				 label[160];
	int				 envline[SITE_MAX_ENVS] = { 0 };
	size_t				 i;

	if (ydoc_is_null(m))
		return;
	if (m->type != YAML_MAPPING_NODE) {
		site_err(c->errs, c->file, ydoc_line(m), "environments",
		    "expected a mapping of environments, got %s",
		    ydoc_kind(m));
		return;
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		kn = ydoc_take(&c->d, p->key);
		vn = ydoc_take(&c->d, p->value);
		if (kn == NULL || vn == NULL) {
			site_err(c->errs, c->file, ydoc_line(m),
			    "environments", "aliases are not supported");
			continue;
		}
		if ((s = ydoc_scalar(kn)) == NULL) {
			site_err(c->errs, c->file, ydoc_line(kn),
			    "environments", "environment names must be "
			    "strings");
			continue;
		}
		snprintf(label, sizeof(label), "environments.%.100s", s);
		for (i = 0; i < sch->nenvs; i++)
			if (strcmp(s, sch->envs[i]) == 0)
				break;
		if (i == sch->nenvs) {
			dym = vp_did_you_mean(s, sch->envs, sch->nenvs);
			site_err(c->errs, c->file, ydoc_line(kn), label,
			    "unknown environment%s%s%s", dym ?
			    " (did you mean '" : "", dym ? dym : "",
			    dym ? "'?)" : "");
			continue;
		}
		if (envline[i] != 0) {
			site_err(c->errs, c->file, ydoc_line(kn), label,
			    "duplicate key (first set on line %d)",
			    envline[i]);
			continue;
		}
		envline[i] = ydoc_line(kn);
		if (ydoc_is_null(vn))
			continue;
		if (vn->type != YAML_MAPPING_NODE) {
			site_err(c->errs, c->file, ydoc_line(vn), label,
			    "expected a mapping of keys, got %s",
			    ydoc_kind(vn));
			continue;
		}
		read_keys(c, vn, c->overlay + i * sch->nkeys,
		    c->keyline + (i + 1) * sch->nkeys, (int)i);
	}
}

static void
read_keys(struct rd *c, yaml_node_t *m, struct site_val *vals, int *lines,
    int env)
{
	const struct site_schema	*sch = c->sch;
	const struct schema_key		*k;
	yaml_node_pair_t		*p;
	yaml_node_t			*kn, *vn;
	const char			*s, *dym;
	char				 label[256];
	int				 i, bad, envs_line = 0;

	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		kn = ydoc_take(&c->d, p->key);
		if (kn == NULL) {
			site_err(c->errs, c->file, ydoc_line(m), NULL,
			    "aliases are not supported");
			continue;
		}
		if ((s = ydoc_scalar(kn)) == NULL || *s == '\0') {
			site_err(c->errs, c->file, ydoc_line(kn), NULL,
			    "keys must be non-empty strings, got %s",
			    ydoc_kind(kn));
			continue;
		}
		if (env < 0 && strcmp(s, "environments") == 0) {
			if (envs_line != 0) {
				site_err(c->errs, c->file, ydoc_line(kn), s,
				    "duplicate key (first set on line %d)",
				    envs_line);
				continue;
			}
			envs_line = ydoc_line(kn);
			if ((vn = ydoc_take(&c->d, p->value)) == NULL)
				site_err(c->errs, c->file, ydoc_line(kn), s,
				    "aliases are not supported");
			else
				read_envs(c, vn);
			continue;
		}
		if (env >= 0)
			snprintf(label, sizeof(label), "environments.%s.%.200s",
			    sch->envs[env], s);
		else
			snprintf(label, sizeof(label), "%.200s", s);
		if ((i = site_schema_find(sch, s)) < 0) {
			dym = vp_did_you_mean(s, sch->names, sch->nkeys);
			site_err(c->errs, c->file, ydoc_line(kn), label,
			    "unknown key%s%s%s", dym ? " (did you mean '" : "",
			    dym ? dym : "", dym ? "'?)" : "");
			continue;
		}
		k = &sch->keys[i];
		if (lines[i] != 0) {
			site_err(c->errs, c->file, ydoc_line(kn), label,
			    "duplicate key (first set on line %d)", lines[i]);
			continue;
		}
		lines[i] = ydoc_line(kn);
		if (env >= 0 && !k->per_env) {
			site_err(c->errs, c->file, ydoc_line(kn), label,
			    "cannot be set per environment");
			vals[i].line = -1;
			continue;
		}
		if ((vn = ydoc_take(&c->d, p->value)) == NULL) {
			site_err(c->errs, c->file, ydoc_line(kn), label,
			    "aliases are not supported");
			vals[i].line = -1;
			continue;
		}
		vals[i].v = read_value(c, k, label, vn, &bad);
		vals[i].line = bad ? -1 : ydoc_line(kn);
	}
}

/* ---- resolving ------------------------------------------------------ */

struct rs {
	const struct site_schema	*sch;
	const char			*file;
	struct site_errs		*errs;
	json_t				**fin;		/* borrowed or owned */
	int				*line;
	unsigned char			*state;		/* see below */
};
#define RS_TEMPLATE	1	/* fin is an unexpanded default */
#define RS_BUSY		2	/* being expanded (loop check) */
#define RS_BAD		4	/* an error was reported for the key */

static int	expand(struct rs *, size_t i, int depth);

static int
has_template_default(const json_t *v)
{
	return json_is_string(v) && strstr(json_string_value(v), "{{") !=
	    NULL;
}

static int
is_empty(const json_t *v)
{
	return v == NULL || json_is_null(v) || (json_is_string(v) &&
	    json_string_length(v) == 0) || (json_is_array(v) &&
	    json_array_size(v) == 0);
}

static void
append_ref(struct rs *s, struct vp_buf *b, const char *name, size_t len,
    int depth, int *bad)
{
	char	*text, nm[128];
	int	 j;

	if (len >= sizeof(nm)) {
		*bad = 1;
		return;
	}
	memcpy(nm, name, len);
	nm[len] = '\0';
	if ((j = site_schema_find(s->sch, nm)) < 0 ||
	    expand(s, (size_t)j, depth + 1) != 0 ||
	    (s->state[j] & RS_BAD)) {
		*bad = 1;
		return;
	}
	/*
	 * An empty required key gets its own error; do not add a second
	 * one about a default built from it.
	 */
	if (is_empty(s->fin[j]) && (s->sch->keys[j].required ||
	    s->sch->keys[j].nwhen > 0)) {
		*bad = 1;
		return;
	}
	if ((text = site_value_text(s->fin[j])) == NULL) {
		s->errs->nomem = 1;
		*bad = 1;
		return;
	}
	vp_buf_adds(b, text);
	free(text);
}

/* Expand "{{ key }}" in key i's default, then validate the result. */
static int
expand(struct rs *s, size_t i, int depth)
{
	const struct schema_key	*k = &s->sch->keys[i];
	struct vp_buf		 b = VP_BUF_INIT(64u << 10);
	const char		*p, *e, *src;
	size_t			 n;
	char			*why, *shown;
	json_t			*v;
	int			 bad = 0;

	if (!(s->state[i] & RS_TEMPLATE))
		return 0;
	if ((s->state[i] & RS_BUSY) || depth > 16) {
		site_err(s->errs, s->file, 0, k->name,
		    "the default refers to itself through {{ }}");
		s->state[i] |= RS_BAD;
		return -1;
	}
	s->state[i] |= RS_BUSY;
	src = json_string_value(s->fin[i]);
	for (p = src; (e = strstr(p, "{{")) != NULL; ) {
		vp_buf_add(&b, p, (size_t)(e - p));
		p = e + 2;
		if ((e = strstr(p, "}}")) == NULL)
			break;
		while (*p == ' ')
			p++;
		for (n = (size_t)(e - p); n > 0 && p[n - 1] == ' '; n--)
			;
		append_ref(s, &b, p, n, depth, &bad);
		p = e + 2;
	}
	vp_buf_adds(&b, p);
	s->state[i] &= ~(RS_BUSY | RS_TEMPLATE);
	if (bad) {
		/* The referenced key already has its own error. */
		s->state[i] |= RS_BAD;
		vp_buf_release(&b);
		return 0;
	}
	v = site_value_parse(k, k->type, b.buf, 0, &why);
	if (v == NULL) {
		shown = site_shown(src);
		site_err(s->errs, s->file, 0, k->name,
		    "the default '%s' gives %s (set '%s' explicitly)",
		    shown ? shown : "", why ? why : "out of memory", k->name);
		free(shown);
		free(why);
		s->state[i] |= RS_BAD;
	}
	json_decref(s->fin[i]);
	s->fin[i] = v;
	vp_buf_release(&b);
	return 0;
}

static void
check_required(struct rs *s, size_t i)
{
	const struct schema_key	*k = &s->sch->keys[i];
	struct vp_buf		 b = VP_BUF_INIT(4096);
	char			*t;
	size_t			 j;
	int			 w;

	if ((s->state[i] & RS_BAD) || !is_empty(s->fin[i]))
		return;
	if (!k->required) {
		if (k->nwhen == 0)
			return;
		for (j = 0; j < k->nwhen; j++) {
			if ((w = site_schema_find(s->sch, k->when_keys[j])) <
			    0 || (t = site_value_text(s->fin[w])) == NULL)
				return;
			if (strcmp(t, k->when_vals[j]) != 0) {
				free(t);
				vp_buf_release(&b);
				return;
			}
			vp_buf_addf(&b, "%s%s is '%s'", j ? " and " : "",
			    k->when_keys[j], t);
			free(t);
		}
	}
	if (s->line[i] > 0 && b.len > 0)
		site_err(s->errs, s->file, s->line[i], k->name,
		    "must not be empty when %s", b.buf);
	else if (s->line[i] > 0)
		site_err(s->errs, s->file, s->line[i], k->name,
		    "must not be empty");
	else if (b.len > 0)
		site_err(s->errs, s->file, 0, k->name,
		    "required key is missing (required when %s)", b.buf);
	else
		site_err(s->errs, s->file, 0, k->name,
		    "required key is missing");
	vp_buf_release(&b);
}

/* Names that ACME can never get a public certificate for. */
static const char *const private_suffixes[] = {
	"localhost", "local", "test", "internal", "invalid", "example",
	"lan", "home.arpa"
};

static void
check_acme(struct rs *s)
{
	int		 t, d;
	const char	*tls, *dom;
	size_t		 i, dl, sl;

	if ((t = site_schema_find(s->sch, "caddy_tls")) < 0 ||
	    (d = site_schema_find(s->sch, "domain_name")) < 0 ||
	    !json_is_string(s->fin[t]) || !json_is_string(s->fin[d]) ||
	    ((s->state[t] | s->state[d]) & RS_BAD))
		return;
	tls = json_string_value(s->fin[t]);
	dom = json_string_value(s->fin[d]);
	if (strcmp(tls, "acme") != 0)
		return;
	dl = strlen(dom);
	for (i = 0; i < sizeof(private_suffixes) / sizeof(*private_suffixes);
	    i++) {
		sl = strlen(private_suffixes[i]);
		if (dl >= sl && strcasecmp(dom + dl - sl,
		    private_suffixes[i]) == 0 && (dl == sl ||
		    dom[dl - sl - 1] == '.')) {
			site_err(s->errs, s->file, s->line[t] > 0 ? s->line[t] :
			    s->line[d], "caddy_tls", "'acme' cannot get a "
			    "public certificate for '%s' (use 'internal', or "
			    "a public domain_name)", dom);
			return;
		}
	}
}

int
site_resolve(const struct site_schema *sch, const char *file,
    const struct site_val *flat, const struct site_val *overlay,
    const char *env, struct site_errs *errs, json_t **vars, int *lines)
{
	const struct schema_key	*k;
	const struct site_val	*src;
	struct rs		 s;
	json_t			*out = NULL, *v;
	size_t			 i, ei;
	int			 te, r = VP_OK, n0 = errs->n;

	*vars = NULL;
	for (ei = 0; ei < sch->nenvs; ei++)
		if (strcmp(sch->envs[ei], env) == 0)
			break;
	if (ei == sch->nenvs)
		return VP_ERR_INVALID;
	memset(&s, 0, sizeof(s));
	s.sch = sch;
	s.file = file;
	s.errs = errs;
	s.fin = calloc(sch->nkeys + 1, sizeof(*s.fin));
	s.line = calloc(sch->nkeys + 1, sizeof(*s.line));
	s.state = calloc(sch->nkeys + 1, 1);
	if (s.fin == NULL || s.line == NULL || s.state == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < sch->nkeys; i++) {
		k = &sch->keys[i];
		src = NULL;
		if (overlay != NULL && (overlay[ei * sch->nkeys + i].v !=
		    NULL || overlay[ei * sch->nkeys + i].line < 0))
			src = &overlay[ei * sch->nkeys + i];
		else if (flat[i].v != NULL || flat[i].line < 0)
			src = &flat[i];
		if (src != NULL) {
			s.line[i] = src->line;
			if (src->line < 0)
				s.state[i] |= RS_BAD;
			s.fin[i] = json_incref(src->v);
			continue;
		}
		if (k->env_defs != NULL &&
		    (v = json_object_get(k->env_defs, env)) != NULL)
			s.fin[i] = json_incref(v);
		else
			s.fin[i] = json_incref(k->def);
		if (has_template_default(s.fin[i]))
			s.state[i] |= RS_TEMPLATE;
	}
	if ((te = site_schema_find(sch, "target_env")) >= 0) {
		json_decref(s.fin[te]);
		s.fin[te] = json_string(env);
		s.state[te] &= ~(RS_TEMPLATE | RS_BAD);
	}
	for (i = 0; i < sch->nkeys; i++)
		expand(&s, i, 0);
	for (i = 0; i < sch->nkeys; i++)
		check_required(&s, i);
	check_acme(&s);
	if (errs->nomem) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	if (errs->n > n0) {
		r = VP_ERR_INVALID;
		goto out;
	}
	if ((out = json_object()) == NULL) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < sch->nkeys; i++) {
		k = &sch->keys[i];
		v = s.fin[i];
		if (v == NULL || json_is_null(v))
			v = site_type_is_string(k->type) ? json_string("") :
			    k->type == ST_LIST ? json_array() : json_null();
		else
			json_incref(v);
		if (v == NULL || json_object_set_new(out, k->name, v) != 0) {
			r = VP_ERR_NOMEM;
			goto out;
		}
		if (lines != NULL)
			lines[i] = s.line[i] > 0 ? s.line[i] : 0;
	}
	if (te < 0 && json_object_set_new(out, "target_env",
	    json_string(env)) != 0) {
		r = VP_ERR_NOMEM;
		goto out;
	}
	*vars = out;
	out = NULL;
 out:
	json_decref(out);
	if (s.fin != NULL)
		for (i = 0; i < sch->nkeys; i++)
			json_decref(s.fin[i]);
	free(s.fin);
	free(s.line);
	free(s.state);
	return r;
}

/* ---- the public API ------------------------------------------------- */

void
site_free(struct site *s)
{
	if (s == NULL)
		return;
	free(s->path);
	free(s->env);
	json_decref(s->vars);
	json_decref(s->lines);
	free(s);
}

static void
vals_free(struct site_val *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		json_decref(v[i].v);
	free(v);
}

int
site_load_mem(const char *name, const char *data, size_t len,
    const char *schema_path, const char *env, struct site **out,
    char **cause)
{
	struct site_schema	*sch = NULL;
	int			 r;

	*out = NULL;
	if ((r = site_schema_load(schema_path, &sch, cause)) != VP_OK)
		return r;
	r = site_load_schema(sch, name, data, len, env, out, cause);
	site_schema_free(sch);
	return r;
}

int
site_load_schema(const struct site_schema *sch, const char *name,
    const char *data, size_t len, const char *env, struct site **out,
    char **cause)
{
	struct site_errs	 errs = SITE_ERRS_INIT;
	struct rd		 c;
	struct site		*st = NULL;
	yaml_node_t		*root;
	const char		*dym;
	json_t			*vars = NULL;
	int			*lines = NULL;
	size_t			 i, nenv = 0, nk = 0;
	int			 r, te;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	nk = sch->nkeys;
	nenv = sch->nenvs;
	if (env != NULL) {
		for (i = 0; i < nenv; i++)
			if (strcmp(env, sch->envs[i]) == 0)
				break;
		if (i == nenv) {
			dym = vp_did_you_mean(env, sch->envs, nenv);
			r = vp_fail(cause, VP_ERR_USAGE,
			    "unknown environment '%s'%s%s%s", env,
			    dym ? " (did you mean '" : "", dym ? dym : "",
			    dym ? "'?)" : "");
			goto out;
		}
	}
	if ((r = ydoc_load(&c.d, name, data, len, cause)) != VP_OK)
		goto out;
	c.sch = sch;
	c.file = name;
	c.errs = &errs;
	c.flat = calloc(nk + 1, sizeof(*c.flat));
	c.overlay = calloc(nk * nenv + 1, sizeof(*c.overlay));
	c.keyline = calloc(nk * (nenv + 1) + 1, sizeof(*c.keyline));
	lines = calloc(nk + 1, sizeof(*lines));
	if (c.flat == NULL || c.overlay == NULL || c.keyline == NULL ||
	    lines == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((root = ydoc_root(&c.d)) == NULL) {
		r = vp_fail(cause, VP_ERR_PARSE, "%s: the file is empty "
		    "(expected a mapping of site keys)", name);
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		r = vp_fail(cause, VP_ERR_PARSE, "%s:%d: the top level must be "
		    "a mapping of site keys, not %s", name, ydoc_line(root),
		    root->type == YAML_SCALAR_NODE ? "a string" :
		    ydoc_kind(root));
		goto out;
	}
	read_keys(&c, root, c.flat, c.keyline, -1);
	if (env == NULL) {
		env = sch->envs[0];
		if ((te = site_schema_find(sch, "target_env")) >= 0) {
			if (json_is_string(c.flat[te].v))
				env = json_string_value(c.flat[te].v);
			else if (json_is_string(sch->keys[te].def))
				env = json_string_value(sch->keys[te].def);
		}
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(name)) == NULL ||
	    (st->env = strdup(env)) == NULL ||
	    (st->lines = json_object()) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = site_resolve(sch, name, c.flat, c.overlay, st->env, &errs, &vars,
	    lines);
	if (errs.n > 0 || errs.nomem) {
		r = site_errs_finish(&errs, errs.nomem ? VP_ERR_NOMEM :
		    VP_ERR_INVALID, cause);
		goto out;
	}
	if (r != VP_OK) {
		r = vp_fail(cause, r, "%s: %s", name, vp_strerror(r));
		goto out;
	}
	for (i = 0; i < nk; i++)
		if (lines[i] > 0 && json_object_set_new(st->lines,
		    sch->keys[i].name, json_integer(lines[i])) != 0) {
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
	st->vars = vars;
	vars = NULL;
	*out = st;
	st = NULL;
 out:
	json_decref(vars);
	site_free(st);
	free(lines);
	free(c.keyline);
	vals_free(c.flat, nk);
	vals_free(c.overlay, nk * nenv);
	ydoc_release(&c.d);
	site_errs_release(&errs);
	return r;
}

int
site_load(const char *path, const char *schema_path, const char *env,
    struct site **out, char **cause)
{
	struct vp_buf	b = VP_BUF_INIT(SITE_MAX_INPUT + 1);
	int		r;

	*out = NULL;
	if ((r = vp_file_read(path, &b, cause)) != VP_OK) {
		if (r == VP_ERR_TOOBIG)
			r = vp_fail(cause, r, "%s: file larger than 1 MiB",
			    path);
		return r;
	}
	r = site_load_mem(path, b.buf, b.len, schema_path, env, out, cause);
	vp_buf_release(&b);
	return r;
}

const json_t *
site_vars(const struct site *s)
{
	return s->vars;
}

const char *
site_env(const struct site *s)
{
	return s->env;
}

const char *
site_path(const struct site *s)
{
	return s->path;
}

int
site_key_line(const struct site *s, const char *key)
{
	json_t *v;

	if ((v = json_object_get(s->lines, key)) == NULL)
		return 0;
	return (int)json_integer_value(v);
}
