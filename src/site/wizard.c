/*
 * wizard.c: the questions of `vpai init` (see wizard.h), validated with
 * the site module's own validators.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "site/site.h"
#include "site/site-int.h"
#include "site/wizard.h"

#define WZ_MAX_TRIES	20	/* bad answers before giving up */

static void
say(const struct wizard_io *io, const char *fmt, ...) VP_PRINTF(2, 3);

static void
say(const struct wizard_io *io, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) >= 0) {
		io->write(io->arg, s);
		free(s);
	}
	va_end(ap);
}

static void
answer_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int
wizard_schema_load(const char *path, struct site_schema **out, char **cause)
{
	return site_schema_load(path, out, cause);
}

void
wizard_schema_free(struct site_schema *sch)
{
	site_schema_free(sch);
}

/* The environment the answers so far select. */
static const char *
cur_env(const struct site_schema *sch, const json_t *ans)
{
	const json_t	*v = json_object_get(ans, "target_env");
	int		 te;

	if (json_is_string(v))
		return json_string_value(v);
	if ((te = site_schema_find(sch, "target_env")) >= 0 &&
	    json_is_string(sch->keys[te].def))
		return json_string_value(sch->keys[te].def);
	return sch->envs[0];
}

/*
 * The default of key i as text: the answer if given, else the env
 * default, else the default with "{{ k }}" expanded (recursively).
 */
static char *
default_text(const struct site_schema *sch, const json_t *ans, size_t i,
    int depth)
{
	const struct schema_key	*k = &sch->keys[i];
	const json_t		*v;
	struct vp_buf		 b = VP_BUF_INIT(64u << 10);
	const char		*p, *e;
	char			 nm[128], *t;
	size_t			 n;
	int			 j;

	if ((v = json_object_get(ans, k->name)) != NULL)
		return site_value_text(v);
	if (k->env_defs == NULL ||
	    (v = json_object_get(k->env_defs, cur_env(sch, ans))) == NULL)
		v = k->def;
	if (!json_is_string(v) || strstr(json_string_value(v), "{{") == NULL ||
	    depth > 16)
		return site_value_text(v);
	for (p = json_string_value(v); (e = strstr(p, "{{")) != NULL; ) {
		vp_buf_add(&b, p, (size_t)(e - p));
		p = e + 2;
		if ((e = strstr(p, "}}")) == NULL)
			break;
		while (*p == ' ')
			p++;
		for (n = (size_t)(e - p); n > 0 && p[n - 1] == ' '; n--)
			;
		if (n < sizeof(nm)) {
			memcpy(nm, p, n);
			nm[n] = '\0';
			if ((j = site_schema_find(sch, nm)) >= 0 &&
			    (t = default_text(sch, ans, (size_t)j,
			    depth + 1)) != NULL) {
				vp_buf_adds(&b, t);
				free(t);
			}
		}
		p = e + 2;
	}
	vp_buf_adds(&b, p);
	return vp_buf_detach(&b, NULL);
}

/*
 * Check answer v for key ki against the cross-key rules, with the
 * answers so far and the defaults for the rest.  Returns the reason
 * (allocated) or NULL if fine.  *nomem on ENOMEM.
 */
static char *
cross_check(const struct site_schema *sch, const json_t *ans, size_t ki,
    json_t *v, int *nomem)
{
	struct site_errs	 errs = SITE_ERRS_INIT;
	struct site_val		*flat;
	json_t			*vars = NULL;
	char			 pfx[160], *why = NULL, *line, *nl;
	size_t			 i, pl;
	int			 r;

	if ((flat = calloc(sch->nkeys + 1, sizeof(*flat))) == NULL) {
		*nomem = 1;
		return NULL;
	}
	for (i = 0; i < sch->nkeys; i++) {
		flat[i].v = i == ki ? v :
		    json_object_get(ans, sch->keys[i].name);
		flat[i].line = flat[i].v != NULL ? 1 : 0;
	}
	r = site_resolve(sch, NULL, flat, NULL, cur_env(sch, ans), &errs,
	    &vars, NULL);
	json_decref(vars);
	free(flat);
	if (errs.nomem) {
		*nomem = 1;
		goto out;
	}
	if (r == VP_OK || errs.buf.len == 0)
		goto out;
	snprintf(pfx, sizeof(pfx), "key '%s': ", sch->keys[ki].name);
	pl = strlen(pfx);
	for (line = errs.buf.buf; line != NULL && *line != '\0';
	    line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (strncmp(line, pfx, pl) == 0) {
			why = nl ? strndup(line + pl,
			    (size_t)(nl - line - pl)) : strdup(line + pl);
			if (why == NULL)
				*nomem = 1;
			break;
		}
	}
 out:
	site_errs_release(&errs);
	return why;
}

static int
ask_key(const struct site_schema *sch, const struct schema_key *k,
    size_t ki, const json_t *current, json_t *ans,
    const struct wizard_io *io, char **cause)
{
	const json_t	*cv;
	char		*def = NULL, *line = NULL, *why = NULL;
	char		*prompt = NULL, *shown = NULL;
	const char	*text;
	json_t		*v = NULL;
	int		 r = VP_OK, tries, nomem = 0;

	if (current != NULL && (cv = json_object_get(current, k->name)) !=
	    NULL)
		def = site_value_text(cv);
	else
		def = default_text(sch, ans, ki, 0);
	if (def == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	shown = site_shown(def);
	if (asprintf(&prompt, "%s [%s]: ", k->question ? k->question :
	    k->name, shown ? shown : "") < 0) {
		prompt = NULL;
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (tries = 0; ; tries++) {
		if (tries >= WZ_MAX_TRIES) {
			r = vp_fail(cause, VP_ERR_INVALID, "key '%s': too "
			    "many invalid answers", k->name);
			goto out;
		}
		answer_free(line);
		line = NULL;
		if ((r = io->read_line(io->arg, prompt, 0, &line, cause)) !=
		    VP_OK)
			goto out;
		if (strcmp(line, "?") == 0) {
			say(io, "  %s (%s: %s)\n", k->description ?
			    k->description : "", k->name,
			    site_type_name(k->type));
			if (k->type == ST_ENUM) {
				size_t i;

				say(io, "  one of:");
				for (i = 0; i < k->nvalues; i++)
					say(io, " %s", k->values[i]);
				say(io, "\n");
			}
			tries--;
			continue;
		}
		text = line[0] == '\0' ? def : strcmp(line, "-") == 0 ? "" :
		    line;
		free(why);
		why = NULL;
		if (k->type == ST_LIST) {
			r = vp_fail(cause, VP_ERR_INVALID, "key '%s': list "
			    "keys are not asked by the wizard", k->name);
			goto out;
		}
		if ((v = site_value_parse(k, k->type, text, 0, &why)) ==
		    NULL) {
			if (why == NULL) {
				r = vp_fail(cause, VP_ERR_NOMEM,
				    "out of memory");
				goto out;
			}
			say(io, "  invalid: %s\n", why);
			continue;
		}
		why = cross_check(sch, ans, ki, v, &nomem);
		if (nomem) {
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (why != NULL) {
			say(io, "  invalid: %s\n", why);
			json_decref(v);
			v = NULL;
			continue;
		}
		break;
	}
	if (json_object_set_new(ans, k->name, v) != 0) {
		v = NULL;
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	v = NULL;
 out:
	json_decref(v);
	answer_free(line);
	free(why);
	free(prompt);
	free(shown);
	free(def);
	return r;
}

int
wizard_site(const struct site_schema *sch, const json_t *current,
    const struct wizard_io *io, json_t **answers, char **cause)
{
	const struct schema_key	*k;
	json_t			*ans;
	size_t			 g, i;
	int			 r = VP_OK, any;

	*answers = NULL;
	if ((ans = json_object()) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	say(io, "Answer each question; Enter keeps the value in [brackets], "
	    "'?' explains it, '-' empties an optional value.\n");
	for (g = 0; g <= sch->ngroups; g++) {
		any = 0;
		for (i = 0; i < sch->nkeys; i++) {
			k = &sch->keys[i];
			/* Last round: keys of no known group. */
			if (g < sch->ngroups ? (k->group == NULL ||
			    strcmp(k->group, sch->groups[g].name) != 0) :
			    json_object_get(ans, k->name) != NULL)
				continue;
			if (!any && g < sch->ngroups)
				say(io, "\n== %s ==\n", sch->groups[g].title ?
				    sch->groups[g].title : sch->groups[g].name);
			any = 1;
			if ((r = ask_key(sch, k, i, current, ans, io,
			    cause)) != VP_OK)
				goto out;
		}
	}
	*answers = ans;
	ans = NULL;
 out:
	json_decref(ans);
	return r;
}

int
wizard_sets(const struct site_schema *sch, const json_t *answers,
    struct vp_argv *sets, char **cause)
{
	json_t	*none;
	char	*def, *val;
	size_t	 i;
	int	 r = VP_OK, same;

	if ((none = json_object()) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	/* The env defaults depend on target_env: take it first. */
	if (json_object_get(answers, "target_env") != NULL &&
	    json_object_set(none, "target_env",
	    json_object_get(answers, "target_env")) != 0) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sch->nkeys; i++) {
		if (json_object_get(answers, sch->keys[i].name) == NULL)
			continue;
		def = default_text(sch, none, i, 0);
		val = site_value_text(json_object_get(answers,
		    sch->keys[i].name));
		if (def == NULL || val == NULL) {
			free(def);
			free(val);
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		same = strcmp(def, val) == 0;
		if (!same && vp_argv_pushf(sets, "%s=%s", sch->keys[i].name,
		    val) != VP_OK)
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		/* Later defaults follow this key's chosen value. */
		if (r == VP_OK && !same)
			json_object_set(none, sch->keys[i].name,
			    json_object_get(answers, sch->keys[i].name));
		free(def);
		free(val);
		if (r != VP_OK)
			goto out;
	}
 out:
	json_decref(none);
	return r;
}

/* Append s as a YAML double-quoted scalar (as init.c writes them). */
static void
add_yaml(struct vp_buf *b, const json_t *v)
{
	const char *s;

	if (!json_is_string(v)) {
		char *t = site_value_text(v);

		vp_buf_adds(b, t ? t : "null");
		free(t);
		return;
	}
	vp_buf_addc(b, '"');
	for (s = json_string_value(v); *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			vp_buf_addf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			vp_buf_addf(b, "\\x%02x", (unsigned char)*s);
		else
			vp_buf_addc(b, *s);
	}
	vp_buf_addc(b, '"');
}

/* Does line (up to its end) hold "<indent>key:"? */
static int
line_has_key(const char *line, const char *key)
{
	size_t n = strlen(key);

	while (*line == ' ')
		line++;
	return strncmp(line, key, n) == 0 && line[n] == ':';
}

int
wizard_update(const struct site_schema *sch, const char *name,
    const char *text, size_t len, const json_t *answers,
    struct vp_argv *changed, struct vp_buf *out, char **cause)
{
	struct site	*old = NULL, *check = NULL;
	struct vp_buf	 tail = VP_BUF_INIT(SITE_MAX_INPUT);
	const json_t	*vars, *av;
	const char	*p, *end, *eol;
	int		*rep = NULL, lineno, r;
	char		*a = NULL, *b = NULL, *why = NULL;
	size_t		 i, nch = 0;

	if ((r = site_load_schema(sch, name, text, len, NULL, &old, cause)) !=
	    VP_OK)
		return r;
	vars = site_vars(old);
	if ((rep = calloc(sch->nkeys + 1, sizeof(*rep))) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < sch->nkeys; i++) {
		if ((av = json_object_get(answers, sch->keys[i].name)) == NULL)
			continue;
		free(a);
		free(b);
		a = site_value_text(av);
		b = site_value_text(json_object_get(vars, sch->keys[i].name));
		if (a == NULL || b == NULL) {
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (strcmp(a, b) == 0)
			continue;
		nch++;
		if (vp_argv_push(changed, sch->keys[i].name) != VP_OK) {
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		rep[i] = site_key_line(old, sch->keys[i].name);
		if (rep[i] <= 0) {
			vp_buf_addf(&tail, "%s: ", sch->keys[i].name);
			add_yaml(&tail, av);
			vp_buf_addc(&tail, '\n');
		}
	}
	if (nch == 0)
		goto out;
	end = text + len;
	for (p = text, lineno = 1; p < end; p = eol, lineno++) {
		eol = memchr(p, '\n', (size_t)(end - p));
		eol = eol ? eol + 1 : end;
		for (i = 0; i < sch->nkeys; i++)
			if (rep[i] == lineno)
				break;
		if (i < sch->nkeys && line_has_key(p, sch->keys[i].name)) {
			vp_buf_add(out, p, (size_t)(strchr(p, ':') - p + 1));
			vp_buf_addc(out, ' ');
			add_yaml(out, json_object_get(answers,
			    sch->keys[i].name));
			vp_buf_addc(out, '\n');
		} else {
			vp_buf_add(out, p, (size_t)(eol - p));
			if (eol == end && (eol == p || eol[-1] != '\n'))
				vp_buf_addc(out, '\n');
		}
	}
	vp_buf_add(out, tail.buf, tail.len);
	if (out->len == 0) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* What we write must load and give exactly the answers. */
	if ((r = site_load_schema(sch, name, out->buf, out->len, NULL, &check,
	    &why)) != VP_OK) {
		r = vp_fail(cause, VP_ERR_INVALID, "%s: cannot update the "
		    "file in place (%s); edit it by hand", name,
		    why ? why : "");
		goto out;
	}
	for (i = 0; i < sch->nkeys; i++) {
		if ((av = json_object_get(answers, sch->keys[i].name)) == NULL)
			continue;
		free(a);
		free(b);
		a = site_value_text(av);
		b = site_value_text(json_object_get(site_vars(check),
		    sch->keys[i].name));
		if (a == NULL || b == NULL) {
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (strcmp(a, b) != 0) {
			r = vp_fail(cause, VP_ERR_INVALID, "%s: key '%s': "
			    "cannot update the value in place; edit the file "
			    "by hand", name, sch->keys[i].name);
			goto out;
		}
	}
 out:
	if (r != VP_OK)
		vp_buf_release(out);
	free(a);
	free(b);
	free(why);
	free(rep);
	vp_buf_release(&tail);
	site_free(check);
	site_free(old);
	return r;
}

int
wizard_secrets(const json_t *cat, json_t *secrets,
    const struct wizard_io *io, char **cause)
{
	const char	*name, *kind, *pat, *desc;
	const json_t	*e, *cur;
	json_t		*v;
	char		*prompt = NULL, *line = NULL;
	regex_t		 re;
	int		 r = VP_OK, has_re, tries, bad;

	say(io, "\n== External API keys and tokens ==\n"
	    "Typing is not echoed.  Enter keeps the current value (or leaves "
	    "it empty for later), '-' empties it, '?' explains it.\n");
	json_object_foreach((json_t *)cat, name, e) {
		kind = json_string_value(json_object_get(e, "kind"));
		if (kind == NULL || strcmp(kind, "external") != 0)
			continue;
		pat = json_string_value(json_object_get(e, "pattern"));
		desc = json_string_value(json_object_get(e, "description"));
		cur = json_object_get(secrets, name);
		has_re = pat != NULL && regcomp(&re, pat,
		    REG_EXTENDED | REG_NOSUB) == 0;
		free(prompt);
		if (asprintf(&prompt, "%s (%s) [%s]: ", desc ? desc : name,
		    name, json_string_length(cur) > 0 ? "set, Enter keeps" :
		    "empty") < 0) {
			prompt = NULL;
			r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		}
		for (tries = 0; r == VP_OK; tries++) {
			if (tries >= WZ_MAX_TRIES) {
				r = vp_fail(cause, VP_ERR_INVALID, "secret "
				    "'%s': too many invalid answers", name);
				break;
			}
			answer_free(line);
			line = NULL;
			if ((r = io->read_line(io->arg, prompt, 1, &line,
			    cause)) != VP_OK)
				break;
			if (strcmp(line, "?") == 0) {
				say(io, "  %s: %s%s%s\n", name,
				    desc ? desc : "", pat ? "; expected " : "",
				    pat ? pat : "");
				tries--;
				continue;
			}
			if (line[0] == '\0') {
				if (cur == NULL && json_object_set_new(secrets,
				    name, json_string("")) != 0)
					r = vp_fail(cause, VP_ERR_NOMEM,
					    "out of memory");
				break;
			}
			if (strcmp(line, "-") == 0)
				line[0] = '\0';
			bad = line[0] != '\0' && has_re &&
			    regexec(&re, line, 0, NULL, 0) != 0;
			if (bad) {
				say(io, "  invalid: '%s' values look like %s "
				    "(the value is not shown); type it again "
				    "or leave it empty\n", name, pat);
				continue;
			}
			if ((v = json_string(line)) == NULL) {
				say(io, "  invalid: '%s' is not valid UTF-8; "
				    "type it again\n", name);
				continue;
			}
			if (json_object_set_new(secrets, name, v) != 0)
				r = vp_fail(cause, VP_ERR_NOMEM,
				    "out of memory");
			break;
		}
		if (has_re)
			regfree(&re);
		if (r != VP_OK)
			break;
	}
	answer_free(line);
	free(prompt);
	return r;
}
