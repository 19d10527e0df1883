/*
 * schema.c: load stack/site-schema.yml (see the comment at its top for
 * the format) and check it, so that a broken schema is reported with its
 * own file and line rather than as strange site errors.
 */
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/opt.h"
#include "site/site-int.h"

static const char *const key_fields[] = {
	"type", "values", "items", "min", "max", "pattern", "default",
	"env_defaults", "required", "required_when", "per_env", "secret",
	"group", "description", "question"
};
#define NKEY_FIELDS (sizeof(key_fields) / sizeof(key_fields[0]))

struct sload {
	struct ydoc		 d;
	struct site_schema	*s;
	struct site_errs	 errs;
	const char		*file;
};

static void
key_release(struct schema_key *k)
{
	size_t i;

	free(k->name);
	for (i = 0; i < k->nvalues; i++)
		free(k->values[i]);
	free(k->values);
	free(k->pattern);
	if (k->has_re)
		regfree(&k->re);
	json_decref(k->def);
	json_decref(k->env_defs);
	free(k->when);
	for (i = 0; i < k->nwhen; i++) {
		free(k->when_keys[i]);
		free(k->when_vals[i]);
	}
	free(k->when_keys);
	free(k->when_vals);
	free(k->group);
	free(k->description);
	free(k->question);
}

void
site_schema_free(struct site_schema *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nkeys; i++)
		key_release(&s->keys[i]);
	free(s->keys);
	free(s->names);
	for (i = 0; i < s->ngroups; i++) {
		free(s->groups[i].name);
		free(s->groups[i].title);
	}
	free(s->groups);
	free(s->path);
	free(s);
}

int
site_schema_find(const struct site_schema *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++)
		if (strcmp(s->keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The value node of field in mapping m (taken), or NULL. */
static yaml_node_t *
field(struct sload *l, yaml_node_t *m, const char *name, int *line)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;
	const char		*ks;

	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(&l->d.doc, p->key);
		if ((ks = ydoc_scalar(k)) != NULL && strcmp(ks, name) == 0) {
			if (line != NULL)
				*line = ydoc_line(k);
			return ydoc_take(&l->d, p->value);
		}
	}
	return NULL;
}

static char *
field_str(struct sload *l, yaml_node_t *m, const char *key,
    const char *name, int need)
{
	yaml_node_t	*n;
	const char	*s;
	char		*r;

	if ((n = field(l, m, name, NULL)) == NULL) {
		if (need)
			site_err(&l->errs, l->file, ydoc_line(m), key,
			    "missing '%s'", name);
		return NULL;
	}
	if ((s = ydoc_scalar(n)) == NULL || (need && *s == '\0')) {
		site_err(&l->errs, l->file, ydoc_line(n), key,
		    "'%s' must be a non-empty string", name);
		return NULL;
	}
	if ((r = strdup(s)) == NULL)
		l->errs.nomem = 1;
	return r;
}

static int
field_bool(struct sload *l, yaml_node_t *m, const char *key,
    const char *name, int def)
{
	yaml_node_t	*n;
	const char	*s;

	if ((n = field(l, m, name, NULL)) == NULL)
		return def;
	s = ydoc_scalar(n);
	if (s != NULL && !ydoc_quoted(n) && strcmp(s, "true") == 0)
		return 1;
	if (s != NULL && !ydoc_quoted(n) && strcmp(s, "false") == 0)
		return 0;
	site_err(&l->errs, l->file, ydoc_line(n), key,
	    "'%s' must be true or false", name);
	return def;
}

static int
field_ll(struct sload *l, yaml_node_t *m, const char *key, const char *name,
    long long *v)
{
	yaml_node_t	*n;
	const char	*s;
	char		*end;

	if ((n = field(l, m, name, NULL)) == NULL)
		return 0;
	s = ydoc_scalar(n);
	if (s == NULL || ydoc_quoted(n) || *s == '\0' ||
	    (*v = strtoll(s, &end, 10), *end != '\0')) {
		site_err(&l->errs, l->file, ydoc_line(n), key,
		    "'%s' must be an integer", name);
		return 0;
	}
	return 1;
}

static int
has_template(const json_t *v)
{
	return json_is_string(v) && strstr(json_string_value(v), "{{") !=
	    NULL;
}

/* Convert a default (scalar or sequence) to k's type. */
static json_t *
convert(struct sload *l, struct schema_key *k, yaml_node_t *n,
    const char *what)
{
	yaml_node_item_t	*it;
	yaml_node_t		*e;
	json_t			*arr, *v;
	const char		*s;
	char			*why;

	if (ydoc_is_null(n))
		return json_null();
	if (k->type == ST_LIST) {
		if (n->type != YAML_SEQUENCE_NODE) {
			site_err(&l->errs, l->file, ydoc_line(n), k->name,
			    "%s must be a list", what);
			return NULL;
		}
		if ((arr = json_array()) == NULL)
			return NULL;
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++) {
			if ((e = ydoc_take(&l->d, *it)) == NULL ||
			    (s = ydoc_scalar(e)) == NULL) {
				site_err(&l->errs, l->file, ydoc_line(n),
				    k->name, "%s: items must be scalars", what);
				json_decref(arr);
				return NULL;
			}
			if ((v = site_value_parse(k, k->item, s,
			    ydoc_quoted(e), &why)) == NULL) {
				site_err(&l->errs, l->file, ydoc_line(e),
				    k->name, "%s: %s", what,
				    why ? why : "out of memory");
				free(why);
				json_decref(arr);
				return NULL;
			}
			json_array_append_new(arr, v);
		}
		return arr;
	}
	if ((s = ydoc_scalar(n)) == NULL) {
		site_err(&l->errs, l->file, ydoc_line(n), k->name,
		    "%s must be a scalar", what);
		return NULL;
	}
	if (strstr(s, "{{") != NULL) {
		if (!site_type_is_string(k->type)) {
			site_err(&l->errs, l->file, ydoc_line(n), k->name,
			    "%s: only string defaults may use {{ }}", what);
			return NULL;
		}
		return json_string(s);
	}
	if ((v = site_value_parse(k, k->type, s, ydoc_quoted(n), &why)) ==
	    NULL) {
		site_err(&l->errs, l->file, ydoc_line(n), k->name, "%s: %s",
		    what, why ? why : "out of memory");
		free(why);
	}
	return v;
}

static void
load_values(struct sload *l, struct schema_key *k, yaml_node_t *n)
{
	yaml_node_item_t	*it;
	yaml_node_t		*e;
	const char		*s;
	size_t			 cnt;

	if (n->type != YAML_SEQUENCE_NODE ||
	    (cnt = (size_t)(n->data.sequence.items.top -
	    n->data.sequence.items.start)) == 0) {
		site_err(&l->errs, l->file, ydoc_line(n), k->name,
		    "'values' must be a non-empty list");
		return;
	}
	if ((k->values = calloc(cnt, sizeof(*k->values))) == NULL) {
		l->errs.nomem = 1;
		return;
	}
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		if ((e = ydoc_take(&l->d, *it)) == NULL ||
		    (s = ydoc_scalar(e)) == NULL || *s == '\0') {
			site_err(&l->errs, l->file, ydoc_line(n), k->name,
			    "'values' must hold non-empty strings");
			return;
		}
		if ((k->values[k->nvalues++] = strdup(s)) == NULL) {
			l->errs.nomem = 1;
			return;
		}
	}
}

static void
load_when(struct sload *l, struct schema_key *k)
{
	char	*copy, *tok, *save, *eq;
	size_t	 n = 1;
	const char *p;

	for (p = k->when; *p != '\0'; p++)
		if (*p == ',')
			n++;
	k->when_keys = calloc(n, sizeof(char *));
	k->when_vals = calloc(n, sizeof(char *));
	if ((copy = strdup(k->when)) == NULL || k->when_keys == NULL ||
	    k->when_vals == NULL) {
		free(copy);
		l->errs.nomem = 1;
		return;
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if ((eq = strchr(tok, '=')) == NULL || eq == tok) {
			site_err(&l->errs, l->file, k->line, k->name,
			    "'required_when' must be KEY=VALUE[,KEY=VALUE]");
			break;
		}
		*eq = '\0';
		k->when_keys[k->nwhen] = strdup(tok);
		k->when_vals[k->nwhen] = strdup(eq + 1);
		k->nwhen++;
		if (k->when_keys[k->nwhen - 1] == NULL ||
		    k->when_vals[k->nwhen - 1] == NULL) {
			l->errs.nomem = 1;
			break;
		}
	}
	free(copy);
}

static void
load_key(struct sload *l, struct schema_key *k, yaml_node_t *m)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*n, *kn;
	const char		*s, *m2;
	char			*tname, *re;
	size_t			 i;
	int			 rc;

	if (m->type != YAML_MAPPING_NODE) {
		site_err(&l->errs, l->file, ydoc_line(m), k->name,
		    "must be a mapping of fields");
		return;
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		kn = yaml_document_get_node(&l->d.doc, p->key);
		if ((s = ydoc_scalar(kn)) == NULL)
			continue;
		for (i = 0; i < NKEY_FIELDS; i++)
			if (strcmp(s, key_fields[i]) == 0)
				break;
		if (i == NKEY_FIELDS) {
			m2 = vp_did_you_mean(s, key_fields, NKEY_FIELDS);
			site_err(&l->errs, l->file, ydoc_line(kn), k->name,
			    "unknown field '%s'%s%s%s", s,
			    m2 ? " (did you mean '" : "", m2 ? m2 : "",
			    m2 ? "'?)" : "");
		}
	}
	k->min = -(1LL << 62);
	k->max = 1LL << 62;
	k->per_env = 1;
	if ((tname = field_str(l, m, k->name, "type", 1)) == NULL)
		return;
	if (site_type_from_name(tname, &k->type) != 0) {
		site_err(&l->errs, l->file, k->line, k->name,
		    "unknown type '%s'", tname);
		free(tname);
		return;
	}
	free(tname);
	if ((n = field(l, m, "values", NULL)) != NULL)
		load_values(l, k, n);
	if (k->type == ST_ENUM && k->nvalues == 0 && n == NULL)
		site_err(&l->errs, l->file, k->line, k->name,
		    "an enum needs 'values'");
	if ((tname = field_str(l, m, k->name, "items", k->type == ST_LIST)) !=
	    NULL) {
		if (site_type_from_name(tname, &k->item) != 0 ||
		    k->item == ST_LIST || k->item == ST_ENUM)
			site_err(&l->errs, l->file, k->line, k->name,
			    "bad item type '%s'", tname);
		free(tname);
	}
	if ((field_ll(l, m, k->name, "min", &k->min) |
	    field_ll(l, m, k->name, "max", &k->max)) && k->type != ST_INT)
		site_err(&l->errs, l->file, k->line, k->name,
		    "'min' and 'max' apply to int keys only");
	if ((k->pattern = field_str(l, m, k->name, "pattern", 0)) != NULL) {
		if (k->type != ST_STRING)
			site_err(&l->errs, l->file, k->line, k->name,
			    "'pattern' applies to string keys only");
		else if (asprintf(&re, "^(%s)$", k->pattern) < 0)
			l->errs.nomem = 1;
		else {
			rc = regcomp(&k->re, re, REG_EXTENDED | REG_NOSUB);
			free(re);
			if (rc != 0)
				site_err(&l->errs, l->file, k->line, k->name,
				    "bad pattern '%s'", k->pattern);
			else
				k->has_re = 1;
		}
	}
	k->required = field_bool(l, m, k->name, "required", 0);
	k->per_env = field_bool(l, m, k->name, "per_env", 1);
	if ((n = field(l, m, "secret", NULL)) == NULL ||
	    (s = ydoc_scalar(n)) == NULL || strcmp(s, "false") != 0)
		site_err(&l->errs, l->file, n ? ydoc_line(n) : k->line,
		    k->name, "needs 'secret: false' (secrets live in the "
		    "vault, not in the site file)");
	if ((k->when = field_str(l, m, k->name, "required_when", 0)) != NULL)
		load_when(l, k);
	k->group = field_str(l, m, k->name, "group", 1);
	k->description = field_str(l, m, k->name, "description", 1);
	k->question = field_str(l, m, k->name, "question", 1);
	if ((n = field(l, m, "default", NULL)) != NULL)
		k->def = convert(l, k, n, "default");
}

static void
load_env_defaults(struct sload *l, struct schema_key *k, yaml_node_t *m)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*kn, *vn;
	const char		*s;
	json_t			*v;
	size_t			 i;

	if ((vn = field(l, m, "env_defaults", NULL)) == NULL)
		return;
	if (vn->type != YAML_MAPPING_NODE) {
		site_err(&l->errs, l->file, ydoc_line(vn), k->name,
		    "'env_defaults' must be a mapping ENV: VALUE");
		return;
	}
	if ((k->env_defs = json_object()) == NULL) {
		l->errs.nomem = 1;
		return;
	}
	m = vn;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		kn = ydoc_take(&l->d, p->key);
		vn = ydoc_take(&l->d, p->value);
		if (kn == NULL || vn == NULL || (s = ydoc_scalar(kn)) == NULL)
			continue;
		for (i = 0; i < l->s->nenvs; i++)
			if (strcmp(s, l->s->envs[i]) == 0)
				break;
		if (i == l->s->nenvs) {
			site_err(&l->errs, l->file, ydoc_line(kn), k->name,
			    "env_defaults: unknown environment '%s'", s);
			continue;
		}
		if ((v = convert(l, k, vn, "env_defaults")) != NULL)
			json_object_set_new(k->env_defs, s, v);
	}
}

/* Every "{{ name }}" in a default must name a key. */
static void
check_refs(struct sload *l, struct schema_key *k, const json_t *v)
{
	const char	*p, *e, *b;
	char		 name[128];
	size_t		 n;

	if (!has_template(v))
		return;
	for (p = json_string_value(v); (p = strstr(p, "{{")) != NULL;
	    p = e + 2) {
		if ((e = strstr(p, "}}")) == NULL) {
			site_err(&l->errs, l->file, k->line, k->name,
			    "default: '{{' without '}}'");
			return;
		}
		for (b = p + 2; *b == ' '; b++)
			;
		for (n = (size_t)(e - b); n > 0 && b[n - 1] == ' '; n--)
			;
		if (n == 0 || n >= sizeof(name)) {
			site_err(&l->errs, l->file, k->line, k->name,
			    "default: empty or long {{ }}");
			continue;
		}
		memcpy(name, b, n);
		name[n] = '\0';
		if (site_schema_find(l->s, name) < 0)
			site_err(&l->errs, l->file, k->line, k->name,
			    "default refers to unknown key '%s'", name);
	}
}

static int
group_cmp(const void *a, const void *b)
{
	const struct schema_group *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

static void
load_groups(struct sload *l, yaml_node_t *m)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*kn, *vn;
	const char		*s;
	long long		 order;
	size_t			 cnt;

	if (m->type != YAML_MAPPING_NODE) {
		site_err(&l->errs, l->file, ydoc_line(m), "groups",
		    "must be a mapping");
		return;
	}
	cnt = (size_t)(m->data.mapping.pairs.top -
	    m->data.mapping.pairs.start);
	if ((l->s->groups = calloc(cnt + 1, sizeof(*l->s->groups))) == NULL) {
		l->errs.nomem = 1;
		return;
	}
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		kn = ydoc_take(&l->d, p->key);
		vn = ydoc_take(&l->d, p->value);
		if (kn == NULL || vn == NULL || (s = ydoc_scalar(kn)) == NULL ||
		    vn->type != YAML_MAPPING_NODE) {
			site_err(&l->errs, l->file, ydoc_line(m), "groups",
			    "each group must be NAME: {order, title}");
			continue;
		}
		order = 0;
		if (!field_ll(l, vn, s, "order", &order))
			site_err(&l->errs, l->file, ydoc_line(kn), s,
			    "group needs an integer 'order'");
		l->s->groups[l->s->ngroups].order = (long)order;
		l->s->groups[l->s->ngroups].title = field_str(l, vn, s,
		    "title", 1);
		if ((l->s->groups[l->s->ngroups].name = strdup(s)) == NULL)
			l->errs.nomem = 1;
		l->s->ngroups++;
	}
	qsort(l->s->groups, l->s->ngroups, sizeof(*l->s->groups), group_cmp);
}

static void
load_keys(struct sload *l, yaml_node_t *m)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*kn, *vn;
	struct schema_key	*k;
	const char		*s;
	size_t			 cnt, i, j;
	int			 ti;

	if (m->type != YAML_MAPPING_NODE) {
		site_err(&l->errs, l->file, ydoc_line(m), "keys",
		    "must be a mapping");
		return;
	}
	cnt = (size_t)(m->data.mapping.pairs.top -
	    m->data.mapping.pairs.start);
	l->s->keys = calloc(cnt + 1, sizeof(*l->s->keys));
	l->s->names = calloc(cnt + 1, sizeof(*l->s->names));
	if (l->s->keys == NULL || l->s->names == NULL) {
		l->errs.nomem = 1;
		return;
	}
	/* Names first, so that env names and references can be checked. */
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
	    p++) {
		kn = ydoc_take(&l->d, p->key);
		if (kn == NULL || (s = ydoc_scalar(kn)) == NULL || *s == '\0') {
			site_err(&l->errs, l->file, ydoc_line(m), "keys",
			    "key names must be strings");
			continue;
		}
		if (site_schema_find(l->s, s) >= 0 ||
		    strcmp(s, "environments") == 0) {
			site_err(&l->errs, l->file, ydoc_line(kn), s,
			    "duplicate or reserved key");
			continue;
		}
		k = &l->s->keys[l->s->nkeys];
		if ((k->name = strdup(s)) == NULL) {
			l->errs.nomem = 1;
			return;
		}
		k->line = ydoc_line(kn);
		l->s->names[l->s->nkeys++] = k->name;
	}
	for (i = 0, p = m->data.mapping.pairs.start;
	    p < m->data.mapping.pairs.top; p++) {
		kn = yaml_document_get_node(&l->d.doc, p->key);
		if ((s = ydoc_scalar(kn)) == NULL || i >= l->s->nkeys ||
		    strcmp(s, l->s->keys[i].name) != 0)
			continue;
		if ((vn = ydoc_take(&l->d, p->value)) != NULL)
			load_key(l, &l->s->keys[i], vn);
		i++;
	}
	if ((ti = site_schema_find(l->s, "target_env")) < 0 ||
	    l->s->keys[ti].type != ST_ENUM || l->s->keys[ti].nvalues == 0 ||
	    l->s->keys[ti].nvalues > SITE_MAX_ENVS)
		site_err(&l->errs, l->file, 0, "target_env",
		    "the schema needs an enum key 'target_env' listing the "
		    "environments");
	else {
		for (j = 0; j < l->s->keys[ti].nvalues; j++)
			l->s->envs[j] = l->s->keys[ti].values[j];
		l->s->nenvs = l->s->keys[ti].nvalues;
	}
	/* Second pass: env_defaults, references, groups, conditions. */
	for (i = 0, p = m->data.mapping.pairs.start;
	    p < m->data.mapping.pairs.top; p++) {
		kn = yaml_document_get_node(&l->d.doc, p->key);
		if ((s = ydoc_scalar(kn)) == NULL || i >= l->s->nkeys ||
		    strcmp(s, l->s->keys[i].name) != 0)
			continue;
		k = &l->s->keys[i++];
		vn = yaml_document_get_node(&l->d.doc, p->value);
		if (vn != NULL && vn->type == YAML_MAPPING_NODE)
			load_env_defaults(l, k, vn);
		check_refs(l, k, k->def);
		for (j = 0; j < k->nwhen; j++)
			if (site_schema_find(l->s, k->when_keys[j]) < 0)
				site_err(&l->errs, l->file, k->line, k->name,
				    "required_when refers to unknown key "
				    "'%s'", k->when_keys[j]);
		if (k->group == NULL)
			continue;
		for (j = 0; j < l->s->ngroups; j++)
			if (strcmp(l->s->groups[j].name, k->group) == 0)
				break;
		if (j == l->s->ngroups)
			site_err(&l->errs, l->file, k->line, k->name,
			    "unknown group '%s'", k->group);
	}
}

int
site_schema_load_mem(const char *name, const char *data, size_t len,
    struct site_schema **out, char **cause)
{
	struct sload	 l;
	yaml_node_t	*root, *n;
	const char	*s;
	int		 r;

	*out = NULL;
	memset(&l, 0, sizeof(l));
	l.file = name;
	vp_buf_init(&l.errs.buf, 1u << 16);
	if ((r = ydoc_load(&l.d, name, data, len, cause)) != VP_OK)
		return r;
	if ((l.s = calloc(1, sizeof(*l.s))) == NULL ||
	    (l.s->path = strdup(name)) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((root = ydoc_root(&l.d)) == NULL ||
	    root->type != YAML_MAPPING_NODE) {
		r = vp_fail(cause, VP_ERR_PARSE,
		    "%s: the schema must be a mapping", name);
		goto out;
	}
	if ((n = field(&l, root, "version", NULL)) == NULL ||
	    (s = ydoc_scalar(n)) == NULL || strcmp(s, "1") != 0) {
		r = vp_fail(cause, VP_ERR_PARSE,
		    "%s: unsupported schema version (want 'version: 1')",
		    name);
		goto out;
	}
	if ((n = field(&l, root, "groups", NULL)) != NULL)
		load_groups(&l, n);
	if ((n = field(&l, root, "keys", NULL)) == NULL)
		site_err(&l.errs, name, 0, "keys", "missing");
	else
		load_keys(&l, n);
	if (l.errs.nomem)
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	else if (l.errs.n > 0)
		r = site_errs_finish(&l.errs, VP_ERR_PARSE, cause);
 out:
	site_errs_release(&l.errs);
	ydoc_release(&l.d);
	if (r == VP_OK)
		*out = l.s;
	else
		site_schema_free(l.s);
	return r;
}

int
site_schema_load(const char *path, struct site_schema **out, char **cause)
{
	struct vp_buf	b = VP_BUF_INIT(SITE_MAX_INPUT + 1);
	int		r;

	*out = NULL;
	if ((r = vp_file_read(path, &b, cause)) != VP_OK)
		return vp_fail_prefix(cause, r, "site schema");
	r = site_schema_load_mem(path, b.buf, b.len, out, cause);
	vp_buf_release(&b);
	return r;
}
