/*
 * tmpl.h: the Jinja2 subset used by the stack's templates.
 *
 * Supported: {{ expr }}, {% if %}/{% elif %}/{% else %}/{% endif %},
 * {% for x in list %} / {% for k, v in map|dictsort %} /
 * {% for k, v in map.items() %} / {% for k in map %} (with an optional
 * {% else %} for empty sequences) with loop.index, loop.index0,
 * loop.revindex, loop.revindex0, loop.first, loop.last, loop.length,
 * {% set x = expr %} (inside a for loop, local to the iteration, as
 * Jinja2), {# comments #}, {% raw %}...{% endraw %},
 * whitespace control with '-' ({%- -%}, {{- -}}, {#- -#}), inline
 * `a if c else b` (a missing `else` gives ""), comparisons
 * (== != < <= > >= in, not in; not chained), and/or/not (returning an
 * operand, as Python), + - * / // % ** (ints stay ints, overflow is an
 * error, / gives a float), ~, string/number/bool/none/list/dict literals
 * (true/True, false/False, none/None), attribute and index access
 * (x.y, x['y'], x[0], x[-1], x.0), the methods items(), keys(),
 * values(), get(k[, d]) on dicts, tests `is [not] defined/undefined/none/
 * string/number/integer/boolean/mapping/sequence`, and the filters
 * default(d[, boolean]) (alias d), lower, upper (ASCII), join(sep),
 * indent(width=4, first=false, blank=false) as Jinja2, to_json (alias
 * tojson), quote, b64encode, replace(old, new[, count]), int([default]),
 * string, length (alias count), trim, dictsort([case_sensitive, by='key',
 * reverse]), items.
 *
 * Whitespace: as Jinja2 with Ansible's settings: trim_blocks is ON (the
 * single newline, "\n" or "\r\n", right after a {% %} or {# #} tag is
 * dropped; not after {{ }}), lstrip_blocks is off, a '-' inside a
 * delimiter strips all whitespace on that side, and a trailing newline
 * of the template is kept.  Newlines are not normalised.
 *
 * Values are jansson values.  `{{ v }}` prints strings as they are, ints
 * and floats as Python's str() (1.5, 0.75, 1e+16, 2.0), true/false as
 * True/False, null as None, and lists/dicts as compact JSON with sorted
 * keys.  to_json is the same compact sorted JSON for any value.  quote is
 * Python's shlex.quote (Ansible's `quote`): strings made only of
 * [A-Za-z0-9@%+=:,./_-] are left alone, others are single-quoted.
 * Dicts are always iterated in sorted key order (bytewise; dictsort
 * sorts case-insensitively like Jinja2), so output never depends on the
 * order of the input.
 *
 * Using an undefined variable, attribute or index anywhere except under
 * `default` or `is [not] defined` is an error (VP_ERR_NOTFOUND) whose
 * cause reads "NAME:LINE:COL: undefined variable 'x'" where x is the
 * reference as written ('site.domain', 'list[7]') and LINE:COL (1-based,
 * columns in characters) where it starts; an attribute of an undefined
 * value is itself undefined, so `a.b.c | default(1)` works.  Every other
 * error also starts with "NAME:LINE:COL: ": syntax errors (VP_ERR_PARSE,
 * "expected '%}', got 'x'", "unclosed 'if' block opened at 3:1",
 * "unknown filter 'uper' (did you mean 'upper'?)") and type errors
 * (VP_ERR_INVALID).
 *
 * Caps (hostile templates cannot exhaust the stack or memory): source
 * 8 MiB, 64 nested blocks, expression height 128, 1,000,000 loop
 * iterations per render (VP_ERR_TOOBIG), 4 MiB per intermediate string,
 * and the output by `out`'s vp_buf cap (VP_ERR_TOOBIG; as with any
 * vp_buf, `out` is then released).
 *
 * Ownership: tmpl_parse() returns a new template that the caller frees
 * with tmpl_free() (NULL is fine); it copies `src`.  A parsed template
 * is read-only and can be evaluated any number of times.  `vars` is
 * borrowed (may be NULL); output is appended to `out`.  On error,
 * *cause (if cause is not NULL) is set to an allocated message.
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
