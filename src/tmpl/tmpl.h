/*
 * tmpl.h: the Jinja2 subset used by the stack's templates.
 *
 * Supported: {{ expr }}, {% if %}/{% elif %}/{% else %}/{% endif %},
 * {% for x in list %} / {% for k, v in map|dictsort %} / {% for k in map %}
 * with loop.index/loop.first/loop.last, {% set x = expr %}, {# comments #},
 * whitespace control with '-' ({%- -%}, {{- -}}), inline `a if c else b`,
 * comparisons (== != < <= > >= in, not in), and/or/not, + - * / %, ~,
 * string/number/bool/none/list literals, attribute and index access, tests
 * `is defined`/`is not defined`/`is none`, and the filters default(d),
 * lower, upper, join(sep), indent(n[, first]), to_json, quote, b64encode,
 * replace(a, b), int, string, length, trim, dictsort, items.
 *
 * Values are jansson values.  Using an undefined variable or attribute
 * anywhere except under `default` or `is defined` is an error whose cause
 * reads "NAME:LINE:COL: undefined variable 'x'".
 *
 * Ownership: tmpl_parse() returns a new template that the caller frees
 * with tmpl_free(); `vars` is borrowed; output is appended to `out`.
 */
#ifndef VP_TMPL_H
#define VP_TMPL_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"

struct tmpl;

int	tmpl_parse(const char *name, const char *src, size_t len,
	    struct tmpl **out, char **cause);
int	tmpl_eval(const struct tmpl *, const json_t *vars, struct vp_buf *out,
	    char **cause);
void	tmpl_free(struct tmpl *);

/* tmpl_parse + tmpl_eval + tmpl_free. */
int	tmpl_render(const char *name, const char *src, size_t len,
	    const json_t *vars, struct vp_buf *out, char **cause);

#endif
