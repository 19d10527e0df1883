/*
 * init.c: write a new site file from the schema defaults and --set
 * values, grouped and commented with the schema's descriptions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file.h"
#include "core/opt.h"
#include "site/site.h"
#include "site/site-int.h"

#define SET_FILE	"--set"

/* Append s as a YAML double-quoted scalar. */
static void
add_quoted(struct vp_buf *b, const char *s)
{
	vp_buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			vp_buf_addf(b, "\\%c", *s);
		else if (*s == '\n')
			vp_buf_adds(b, "\\n");
		else if (*s == '\t')
			vp_buf_adds(b, "\\t");
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			vp_buf_addf(b, "\\x%02x", (unsigned char)*s);
		else
			vp_buf_addc(b, *s);
	}
	vp_buf_addc(b, '"');
}

static void
add_value(struct vp_buf *b, const json_t *v)
{
	size_t i;

	if (v == NULL || json_is_null(v))
		vp_buf_adds(b, "null");
	else if (json_is_string(v))
		add_quoted(b, json_string_value(v));
	else if (json_is_integer(v))
		vp_buf_addf(b, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		vp_buf_adds(b, json_is_true(v) ? "true" : "false");
	else if (json_is_array(v)) {
		vp_buf_addc(b, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				vp_buf_adds(b, ", ");
			add_value(b, json_array_get(v, i));
		}
		vp_buf_addc(b, ']');
	}
}

/* "# text" wrapped at 72 columns. */
static void
add_comment(struct vp_buf *b, const char *indent, const char *text)
{
	const char	*p = text, *w;
	size_t		 col = 0, n;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *w != '\0' && *w != ' '; w++)
			;
		n = (size_t)(w - p);
		if (col > 0 && col + 1 + n > 72) {
			vp_buf_addc(b, '\n');
			col = 0;
		}
		if (col == 0) {
			vp_buf_addf(b, "%s#", indent);
			col = strlen(indent) + 1;
		}
		vp_buf_addc(b, ' ');
		vp_buf_add(b, p, n);
		col += 1 + n;
		p = w;
	}
	if (col > 0)
		vp_buf_addc(b, '\n');
}

/* Parse "key=value" settings into flat (line 0); errors into errs. */
static void
parse_sets(const struct site_schema *sch, char *const *sets, size_t nsets,
    struct site_val *flat, struct site_errs *errs)
{
	const struct schema_key	*k;
	const char		*eq, *dym, *p, *c;
	char			 name[128], *why, *item;
	json_t			*v, *e;
	size_t			 i, n;
	int			 ki;

	for (i = 0; i < nsets; i++) {
		if ((eq = strchr(sets[i], '=')) == NULL || eq == sets[i] ||
		    (size_t)(eq - sets[i]) >= sizeof(name)) {
			char *shown = site_shown(sets[i]);

			site_err(errs, SET_FILE, 0, NULL,
			    "'%s': expected KEY=VALUE", shown ? shown : "");
			free(shown);
			continue;
		}
		n = (size_t)(eq - sets[i]);
		memcpy(name, sets[i], n);
		name[n] = '\0';
		if ((ki = site_schema_find(sch, name)) < 0) {
			char *shown = site_shown(name);

			dym = vp_did_you_mean(name, sch->names, sch->nkeys);
			site_err(errs, SET_FILE, 0, shown ? shown : "",
			    "unknown key%s%s%s", dym ? " (did you mean '" : "",
			    dym ? dym : "", dym ? "'?)" : "");
			free(shown);
			continue;
		}
		k = &sch->keys[ki];
		why = NULL;
		if (k->type == ST_LIST) {
			if ((v = json_array()) == NULL) {
				errs->nomem = 1;
				return;
			}
			for (p = eq + 1; *p != '\0'; p = *c ? c + 1 : c) {
				c = p + strcspn(p, ",");
				if ((item = strndup(p, (size_t)(c - p))) ==
				    NULL) {
					errs->nomem = 1;
					break;
				}
				e = site_value_parse(k, k->item, item, 0, &why);
				free(item);
				if (e == NULL)
					break;
				json_array_append_new(v, e);
			}
			if (why != NULL || errs->nomem) {
				json_decref(v);
				v = NULL;
			}
		} else
			v = site_value_parse(k, k->type, eq + 1, 0, &why);
		if (v == NULL) {
			site_err(errs, SET_FILE, 0, k->name, "%s",
			    why ? why : "out of memory");
			free(why);
			flat[ki].line = -1;
			continue;
		}
		json_decref(flat[ki].v);
		flat[ki].v = v;
		flat[ki].line = 0;
	}
}

static int
render(const struct site_schema *sch, const struct site_val *flat,
    const json_t *vars, struct vp_buf *b)
{
	const struct schema_key	*k;
	const json_t		*v, *ev;
	size_t			 g, i, e;
	int			 any;

	vp_buf_adds(b,
	    "# vpai.yml: the site file, one per deployment.\n"
	    "# Written by `vpai init`; edit freely, then run `vpai check`.\n"
	    "# Every key is described in the vpai stack data\n"
	    "# (site-schema.yml).  Secrets are NOT here: they live in the\n"
	    "# vault.\n");
	for (g = 0; g < sch->ngroups; g++) {
		any = 0;
		for (i = 0; i < sch->nkeys; i++) {
			k = &sch->keys[i];
			if (k->group == NULL ||
			    strcmp(k->group, sch->groups[g].name) != 0)
				continue;
			if (!any)
				vp_buf_addf(b, "\n# === %s ===\n",
				    sch->groups[g].title ?
				    sch->groups[g].title : sch->groups[g].name);
			any = 1;
			vp_buf_addc(b, '\n');
			add_comment(b, "", k->description);
			/*
			 * A set value as given; a default expanded when it
			 * refers to other keys; else the plain default (env
			 * defaults go under environments: below).
			 */
			if (flat[i].v != NULL)
				v = flat[i].v;
			else if (json_is_string(k->def) &&
			    strstr(json_string_value(k->def), "{{") != NULL)
				v = json_object_get(vars, k->name);
			else if (strcmp(k->name, "target_env") == 0)
				v = json_object_get(vars, k->name);
			else
				v = k->def;
			vp_buf_addf(b, "%s: ", k->name);
			if ((v == NULL || json_is_null(v)) &&
			    site_type_is_string(k->type))
				vp_buf_adds(b, "\"\"");
			else
				add_value(b, v);
			vp_buf_addc(b, '\n');
		}
	}
	vp_buf_adds(b, "\n# === Per-environment overrides ===\n\n");
	add_comment(b, "", "Keys under environments.<env> replace the keys "
	    "above when deploying that environment (vpai --env ENV, else "
	    "target_env).");
	vp_buf_adds(b, "environments:\n");
	for (e = 0; e < sch->nenvs; e++) {
		any = 0;
		for (i = 0; i < sch->nkeys; i++) {
			k = &sch->keys[i];
			if (flat[i].v != NULL || k->env_defs == NULL ||
			    (ev = json_object_get(k->env_defs, sch->envs[e])) ==
			    NULL)
				continue;
			if (!any)
				vp_buf_addf(b, "  %s:\n", sch->envs[e]);
			any = 1;
			vp_buf_addf(b, "    %s: ", k->name);
			add_value(b, ev);
			vp_buf_addc(b, '\n');
		}
		if (!any)
			vp_buf_addf(b, "  %s: {}\n", sch->envs[e]);
	}
	return b->len == 0 ? VP_ERR_NOMEM : VP_OK;
}

int
site_init_write(const char *path, const char *schema_path,
    char *const *sets, size_t nsets, int force, char **cause)
{
	struct site_schema	*sch = NULL;
	struct site_errs	 errs = SITE_ERRS_INIT;
	struct site_val		*flat = NULL;
	struct vp_buf		 out = VP_BUF_INIT(SITE_MAX_INPUT);
	struct site		*check = NULL;
	json_t			*vars = NULL;
	const char		*env;
	char			*why = NULL;
	size_t			 i;
	int			 r, te;

	if (!force && vp_file_exists(path))
		return vp_fail(cause, VP_ERR_EXISTS, "'%s' already exists",
		    path);
	if ((r = site_schema_load(schema_path, &sch, cause)) != VP_OK)
		return r;
	if ((flat = calloc(sch->nkeys + 1, sizeof(*flat))) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	parse_sets(sch, sets, nsets, flat, &errs);
	env = sch->envs[0];
	if ((te = site_schema_find(sch, "target_env")) >= 0) {
		if (json_is_string(flat[te].v))
			env = json_string_value(flat[te].v);
		else if (json_is_string(sch->keys[te].def))
			env = json_string_value(sch->keys[te].def);
	}
	r = site_resolve(sch, SET_FILE, flat, NULL, env, &errs, &vars, NULL);
	if (errs.n > 0 || errs.nomem) {
		r = site_errs_finish(&errs, errs.nomem ? VP_ERR_NOMEM :
		    VP_ERR_INVALID, cause);
		goto out;
	}
	if (r != VP_OK) {
		r = vp_fail(cause, r, "%s", vp_strerror(r));
		goto out;
	}
	if ((r = render(sch, flat, vars, &out)) != VP_OK) {
		r = vp_fail(cause, r, "cannot format the site file: %s",
		    vp_strerror(r));
		goto out;
	}
	/* What we write must load: check it before touching the disk. */
	if ((r = site_load_mem(path, out.buf, out.len, schema_path, NULL,
	    &check, &why)) != VP_OK) {
		r = vp_fail(cause, VP_ERR_INVALID, "internal error: the "
		    "generated site file does not load: %s", why ? why : "");
		goto out;
	}
	r = vp_file_write_atomic(path, out.buf, out.len, 0644, (uid_t)-1,
	    (gid_t)-1, cause);
 out:
	free(why);
	site_free(check);
	vp_buf_release(&out);
	json_decref(vars);
	if (flat != NULL)
		for (i = 0; i < sch->nkeys; i++)
			json_decref(flat[i].v);
	free(flat);
	site_errs_release(&errs);
	site_schema_free(sch);
	return r;
}
