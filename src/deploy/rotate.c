/*
 * rotate.c: live secret rotation (rotate.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/child.h"
#include "core/opt.h"
#include "deploy/rotate.h"
#include "vault/vault.h"

/*
 * How each secret is rotated.  Others in the catalogue are refused with
 * the reason below.
 */
static const struct {
	const char	*name;
	enum rotate_how	 how;
	const char	*role;
} methods[] = {
	{ "postgresql_password", ROTATE_PG_ROLE, "postgres" },
	{ "n8n_db_password", ROTATE_PG_ROLE, "n8n" },
	{ "litellm_db_password", ROTATE_PG_ROLE, "litellm" },
	{ "openclaw_db_password", ROTATE_PG_ROLE, "openclaw" },
	{ "redis_password", ROTATE_RERENDER, NULL },
	{ "qdrant_api_key", ROTATE_RERENDER, NULL },
	{ "litellm_master_key", ROTATE_RERENDER, NULL },
	{ "litellm_ui_password", ROTATE_RERENDER, NULL },
	{ "openclaw_api_key", ROTATE_RERENDER, NULL },
	{ "n8n_basic_auth_password", ROTATE_RERENDER, NULL },
};
#define NMETHODS	(sizeof(methods) / sizeof(methods[0]))

static const struct {
	const char	*name;
	const char	*why;
} unsupported[] = {
	{ "grafana_admin_password", "Grafana reads it only on its first "
	    "boot; it must be changed through Grafana's admin API, which the "
	    "local image set's stand-in does not provide yet" },
	{ "n8n_owner_password", "it is the n8n owner's login, stored in "
	    "n8n's database: change it in n8n's UI, then `vpai vault set`" },
};
#define NUNSUPPORTED	(sizeof(unsupported) / sizeof(unsupported[0]))

void
rotate_sel_release(struct rotate_sel *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int
sel_add(struct rotate_sel *s, size_t m)
{
	struct rotate_item	*t;
	size_t			 i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, methods[m].name) == 0)
			return VP_OK;
	if ((t = realloc(s->v, (s->n + 1) * sizeof(*t))) == NULL)
		return VP_ERR_NOMEM;
	s->v = t;
	if ((t[s->n].name = strdup(methods[m].name)) == NULL)
		return VP_ERR_NOMEM;
	t[s->n].how = methods[m].how;
	t[s->n].role = methods[m].role;
	s->n++;
	return VP_OK;
}

/* The refusal for a catalogue secret that has no method. */
static int
refuse(const json_t *cat, const char *name, char **cause)
{
	const json_t	*e = secrets_catalogue_get(cat, name);
	const char	*why, *kind;
	size_t		 i;

	if (secrets_catalogue_pinned(cat, name)) {
		why = json_string_value(json_object_get(e, "why"));
		return vp_fail(cause, VP_ERR_REFUSED, "secret '%s' is not "
		    "rotatable: %s", name, why ? why : "rotatable: false in "
		    "the catalogue");
	}
	kind = json_string_value(json_object_get(e, "kind"));
	if (kind != NULL && strcmp(kind, "external") == 0)
		return vp_fail(cause, VP_ERR_REFUSED, "secret '%s' is issued "
		    "by an outside provider: get a new one there, then `vpai "
		    "vault set %s`", name, name);
	for (i = 0; i < NUNSUPPORTED; i++)
		if (strcmp(unsupported[i].name, name) == 0)
			return vp_fail(cause, VP_ERR_REFUSED, "secret '%s' "
			    "cannot be rotated live: %s", name,
			    unsupported[i].why);
	return vp_fail(cause, VP_ERR_REFUSED, "secret '%s' cannot be rotated "
	    "live by vpai", name);
}

int
rotate_select(const json_t *cat, const json_t *secrets, char *const *names,
    size_t n, struct rotate_sel *s, char **cause)
{
	const char	**cands = NULL, *k, *dym;
	const json_t	*v, *all = json_object_get(cat, "secrets");
	size_t		  i, m, nc = 0;
	int		  r = VP_OK;

	if (!json_is_object(all))
		all = cat;
	if (n == 0) {
		for (m = 0; m < NMETHODS; m++) {
			v = json_object_get(secrets, methods[m].name);
			if (secrets_catalogue_get(cat, methods[m].name) !=
			    NULL && json_is_string(v) &&
			    json_string_length(v) > 0 &&
			    (r = sel_add(s, m)) != 0)
				return r;
		}
		return VP_OK;
	}
	for (i = 0; i < n; i++) {
		if (secrets_catalogue_get(cat, names[i]) == NULL) {
			if ((cands = calloc(json_object_size(all) + 1,
			    sizeof(*cands))) == NULL)
				return VP_ERR_NOMEM;
			nc = 0;
			json_object_foreach((json_t *)all, k, v)
				cands[nc++] = k;
			dym = vp_did_you_mean(names[i], cands, nc);
			r = vp_fail(cause, VP_ERR_NOTFOUND, "unknown secret "
			    "'%s'%s%s%s", names[i], dym ? " (did you mean '" :
			    "", dym ? dym : "", dym ? "'?)" : "");
			free(cands);
			return r;
		}
		for (m = 0; m < NMETHODS; m++)
			if (strcmp(methods[m].name, names[i]) == 0)
				break;
		if (m == NMETHODS)
			return refuse(cat, names[i], cause);
		if ((r = sel_add(s, m)) != 0)
			return r;
	}
	return r;
}

int
rotate_generate(const json_t *cat, const json_t *secrets,
    const struct rotate_sel *s, json_t **out, char **cause)
{
	json_t	*c;
	size_t	 i;
	int	 r;

	*out = NULL;
	if ((c = json_deep_copy(secrets)) == NULL)
		return VP_ERR_NOMEM;
	for (i = 0; i < s->n; i++)
		json_object_del(c, s->v[i].name);
	if ((r = secrets_generate_missing(cat, c, NULL, cause)) != 0) {
		json_decref(c);
		return r;
	}
	*out = c;
	return VP_OK;
}

int
rotate_has_pg(const struct rotate_sel *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].how == ROTATE_PG_ROLE)
			return 1;
	return 0;
}

/* 'value' as an SQL string literal: quotes doubled. */
static int
add_literal(struct vp_buf *b, const char *v)
{
	int	r;

	if ((r = vp_buf_addc(b, '\'')) != 0)
		return r;
	for (; *v != '\0'; v++)
		if ((*v == '\'' && (r = vp_buf_addc(b, '\'')) != 0) ||
		    (r = vp_buf_addc(b, *v)) != 0)
			return r;
	return vp_buf_addc(b, '\'');
}

int
rotate_pg_roles(const char *ctr, const struct rotate_sel *s,
    const json_t *values, char **cause)
{
	struct vp_child	 c = VP_CHILD_INIT;
	struct vp_buf	 sql = VP_BUF_INIT(1u << 16);
	const char	*v;
	size_t		 i;
	int		 r;

	if (!rotate_has_pg(s))
		return VP_OK;
	if ((r = vp_buf_adds(&sql, "SET log_statement = 'none';\n"
	    "SET log_min_error_statement = 'panic';\n"
	    "SET log_min_duration_statement = -1;\nBEGIN;\n")) != 0)
		goto out;
	for (i = 0; i < s->n; i++) {
		if (s->v[i].how != ROTATE_PG_ROLE)
			continue;
		v = json_string_value(json_object_get(values, s->v[i].name));
		if (v == NULL || *v == '\0') {
			r = vp_fail(cause, VP_ERR_INVALID, "secret '%s': no "
			    "value", s->v[i].name);
			goto out;
		}
		/* Role names come from the table above: plain identifiers. */
		if ((r = vp_buf_addf(&sql, "ALTER ROLE \"%s\" PASSWORD ",
		    s->v[i].role)) != 0 || (r = add_literal(&sql, v)) != 0 ||
		    (r = vp_buf_adds(&sql, ";\n")) != 0)
			goto out;
	}
	if ((r = vp_buf_adds(&sql, "COMMIT;\n")) != 0)
		goto out;
	if ((r = vp_argv_pushl(&c.args, "docker", "exec", "-i", ctr, "psql",
	    "-X", "-q", "-U", "postgres", "-d", "postgres", "-v",
	    "ON_ERROR_STOP=1", NULL)) != 0)
		goto out;
	c.in = sql.buf;
	c.in_len = sql.len;
	c.timeout_ms = 60000;
	if ((r = vp_child_run(&c, cause)) < 0)
		goto out;
	if (r > 0) {
		/* psql's message names the failing statement's error, never
		 * the statement itself (no -e / ECHO). */
		r = vp_fail(cause, VP_ERR_CHILD, "ALTER ROLE in container "
		    "'%.12s' failed (exit %d): %.300s", ctr, r, c.err.buf);
		goto out;
	}
 out:
	vp_buf_release_secure(&sql);
	vp_child_release(&c);
	return r;
}
