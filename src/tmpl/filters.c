/*
 * filters.c: the filters and tests of the template language.
 *
 * A filter gets its input (never NULL; `default` is done in eval.c), its
 * arguments by position (NULL when not given; already evaluated), and
 * returns a new reference in *out.  Errors carry the filter's position.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tmpl/tmpl-int.h"

static int
ferr(struct ectx *c, const struct node *n, const char *what, const json_t *v)
{
	return tmpl_errat(c, n, VP_ERR_INVALID, "filter '%s': %s, got %s",
	    tmpl_filters[n->op].name, what, value_type(v));
}

static int
nomem(struct ectx *c)
{
	return vp_fail(c->cause, VP_ERR_NOMEM, "out of memory");
}

/* A value could not be turned into a string (or memory ran out). */
static int
conv_fail(struct ectx *c, const struct node *n)
{
	return tmpl_errat(c, n, VP_ERR_INVALID, "filter '%s': cannot convert "
	    "the value to a string (too large or too deep)",
	    tmpl_filters[n->op].name);
}

/* A string view of v: borrowed for strings, else rendered into *tmp. */
static const char *
strview(const json_t *v, json_t **tmp, size_t *len)
{
	*tmp = NULL;
	if (!json_is_string(v)) {
		if ((*tmp = value_to_string(v)) == NULL)
			return NULL;
		v = *tmp;
	}
	*len = json_string_length(v);
	return json_string_value(v);
}

static int
set_out(struct ectx *c, json_t **out, json_t *v)
{
	if ((*out = v) == NULL)
		return nomem(c);
	return VP_OK;
}

static int
map_bytes(struct ectx *c, const struct node *n, json_t *in, json_t **out,
    int upper)
{
	json_t		*tmp;
	const char	*s;
	char		*d;
	size_t		 len, i;

	if ((s = strview(in, &tmp, &len)) == NULL)
		return conv_fail(c, n);
	if ((d = malloc(len + 1)) == NULL) {
		json_decref(tmp);
		return nomem(c);
	}
	for (i = 0; i < len; i++) {
		d[i] = s[i];
		if (upper && s[i] >= 'a' && s[i] <= 'z')
			d[i] = s[i] - 'a' + 'A';
		else if (!upper && s[i] >= 'A' && s[i] <= 'Z')
			d[i] = s[i] - 'A' + 'a';
	}
	*out = json_stringn_nocheck(d, len);
	free(d);
	json_decref(tmp);
	return *out ? VP_OK : nomem(c);
}

static int
f_lower(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	(void)args;
	return map_bytes(c, n, in, out, 0);
}

static int
f_upper(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	(void)args;
	return map_bytes(c, n, in, out, 1);
}

static int
f_join(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	struct vp_buf	 b = VP_BUF_INIT(TMPL_MAX_VALUE);
	json_t		*tmp = NULL;
	const char	*sep = "";
	size_t		 seplen = 0, i;
	int		 r = VP_OK;

	if (!json_is_array(in))
		return ferr(c, n, "expected a list", in);
	if (args[0] != NULL &&
	    (sep = strview(args[0], &tmp, &seplen)) == NULL)
		return conv_fail(c, n);
	for (i = 0; r == 0 && i < json_array_size(in); i++) {
		if (i > 0)
			r = vp_buf_add(&b, sep, seplen);
		if (r == 0)
			r = value_render(&b, json_array_get(in, i));
	}
	json_decref(tmp);
	if (r != 0) {
		vp_buf_release(&b);
		return r == VP_ERR_NOMEM ? nomem(c) : tmpl_errat(c, n, r,
		    "filter 'join': result too large or too deep");
	}
	*out = json_stringn_nocheck(b.buf, b.len);
	vp_buf_release(&b);
	return *out ? VP_OK : nomem(c);
}

/* Jinja2's indent(width=4, first=False, blank=False). */
static int
f_indent(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	struct vp_buf	 b = VP_BUF_INIT(TMPL_MAX_VALUE);
	json_t		*tmp;
	const char	*s, *ind = "    ", *e;
	size_t		 len, ilen = 4, ll;
	int		 first, blank, r = VP_OK, lineno = 0;
	json_int_t	 w;

	first = args[1] != NULL && value_truthy(args[1]);
	blank = args[2] != NULL && value_truthy(args[2]);
	if (args[0] != NULL && json_is_integer(args[0])) {
		w = json_integer_value(args[0]);
		if (w < 0 || w > 256)
			return tmpl_errat(c, n, VP_ERR_INVALID,
			    "filter 'indent': width %" JSON_INTEGER_FORMAT
			    " out of range 0..256", w);
		ind = "                                                        "
		    "                                                        "
		    "                                                        "
		    "                                                        "
		    "                                                        ";
		ilen = (size_t)w;
		if (ilen > strlen(ind))
			return tmpl_errat(c, n, VP_ERR_INVALID,
			    "filter 'indent': width out of range");
	} else if (args[0] != NULL && json_is_string(args[0])) {
		ind = json_string_value(args[0]);
		ilen = json_string_length(args[0]);
	} else if (args[0] != NULL)
		return ferr(c, n, "width must be an int or a string", args[0]);
	if ((s = strview(in, &tmp, &len)) == NULL)
		return conv_fail(c, n);
	/* Every line but the first (unless `first`), blank lines only
	 * with `blank`; a trailing newline stays as it is. */
	e = s + len;
	while (r == 0 && s < e) {
		const char *nl = memchr(s, '\n', e - s);

		ll = nl ? (size_t)(nl - s) : (size_t)(e - s);
		if ((lineno > 0 || first) && (ll > 0 || blank ||
		    (lineno == 0 && first)))
			r = vp_buf_add(&b, ind, ilen);
		if (r == 0)
			r = vp_buf_add(&b, s, ll + (nl != NULL));
		s += ll + (nl != NULL);
		lineno++;
	}
	if (r == 0 && len == 0 && first)
		r = vp_buf_add(&b, ind, ilen);
	else if (r == 0 && blank && len > 0 && e[-1] == '\n')
		r = vp_buf_add(&b, ind, ilen);
	json_decref(tmp);
	if (r != 0)
		return r == VP_ERR_NOMEM ? nomem(c) : tmpl_errat(c, n, r,
		    "filter 'indent': result too large");
	*out = json_stringn_nocheck(b.buf, b.len);
	vp_buf_release(&b);
	return *out ? VP_OK : nomem(c);
}

static int
f_to_json(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	struct vp_buf	b = VP_BUF_INIT(TMPL_MAX_VALUE);
	int		r;

	(void)args;
	if ((r = value_to_json(&b, in)) != 0) {
		vp_buf_release(&b);
		return r == VP_ERR_NOMEM ? nomem(c) : tmpl_errat(c, n, r,
		    "filter 'to_json': value too large or too deep");
	}
	*out = json_stringn_nocheck(b.buf, b.len);
	vp_buf_release(&b);
	return *out ? VP_OK : nomem(c);
}

/* Python's shlex.quote (what Ansible's `quote` is). */
static int
f_quote(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_";
	struct vp_buf	 b = VP_BUF_INIT(TMPL_MAX_VALUE);
	json_t		*tmp;
	const char	*s;
	size_t		 len, i;
	int		 r = VP_OK, plain = 1;

	(void)args;
	if ((s = strview(in, &tmp, &len)) == NULL)
		return conv_fail(c, n);
	for (i = 0; i < len; i++)
		if (s[i] == '\0' || strchr(safe, s[i]) == NULL)
			plain = 0;
	if (len > 0 && plain)
		r = vp_buf_add(&b, s, len);
	else {
		r = vp_buf_addc(&b, '\'');
		for (i = 0; r == 0 && i < len; i++)
			r = s[i] == '\'' ? vp_buf_adds(&b, "'\"'\"'") :
			    vp_buf_addc(&b, s[i]);
		if (r == 0)
			r = vp_buf_addc(&b, '\'');
	}
	json_decref(tmp);
	if (r != 0)
		return r == VP_ERR_NOMEM ? nomem(c) : tmpl_errat(c, n, r,
		    "filter 'quote': result too large");
	*out = json_stringn_nocheck(b.buf, b.len);
	vp_buf_release(&b);
	return *out ? VP_OK : nomem(c);
}

static int
f_b64encode(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	json_t			*tmp;
	const unsigned char	*s;
	char			*d;
	size_t			 len, i, o = 0;
	unsigned long		 v;

	(void)args;
	if ((s = (const unsigned char *)strview(in, &tmp, &len)) == NULL)
		return conv_fail(c, n);
	if ((d = malloc((len + 2) / 3 * 4 + 1)) == NULL) {
		json_decref(tmp);
		return nomem(c);
	}
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)s[i] << 16 | s[i + 1] << 8 | s[i + 2];
		d[o++] = tab[v >> 18 & 63];
		d[o++] = tab[v >> 12 & 63];
		d[o++] = tab[v >> 6 & 63];
		d[o++] = tab[v & 63];
	}
	if (i < len) {
		v = (unsigned long)s[i] << 16;
		if (i + 1 < len)
			v |= s[i + 1] << 8;
		d[o++] = tab[v >> 18 & 63];
		d[o++] = tab[v >> 12 & 63];
		d[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
		d[o++] = '=';
	}
	*out = json_stringn_nocheck(d, o);
	free(d);
	json_decref(tmp);
	return *out ? VP_OK : nomem(c);
}

static int
f_replace(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	struct vp_buf	 b = VP_BUF_INIT(TMPL_MAX_VALUE);
	json_t		*t0, *t1 = NULL, *t2 = NULL;
	const char	*s, *a, *w, *e, *p;
	size_t		 len, alen, wlen;
	json_int_t	 count = -1;
	int		 r = VP_OK;

	if (args[2] != NULL) {
		if (!json_is_integer(args[2]))
			return ferr(c, n, "count must be an int", args[2]);
		count = json_integer_value(args[2]);
	}
	if ((s = strview(in, &t0, &len)) == NULL ||
	    (a = strview(args[0], &t1, &alen)) == NULL ||
	    (w = strview(args[1], &t2, &wlen)) == NULL) {
		r = conv_fail(c, n);
		goto out;
	}
	e = s + len;
	if (alen == 0) {
		/* Python: insert between characters (UTF-8 aware). */
		for (p = s; r == 0; ) {
			if (count-- != 0)
				r = vp_buf_add(&b, w, wlen);
			if (p >= e || r != 0)
				break;
			do
				r = vp_buf_addc(&b, *p++);
			while (r == 0 && p < e && ((unsigned char)*p & 0xc0) ==
			    0x80);
		}
	} else {
		for (p = s; r == 0 && p < e; ) {
			const char *m = count != 0 ? memmem(p, e - p, a, alen) :
			    NULL;

			if (m == NULL) {
				r = vp_buf_add(&b, p, e - p);
				break;
			}
			if ((r = vp_buf_add(&b, p, m - p)) == 0)
				r = vp_buf_add(&b, w, wlen);
			p = m + alen;
			count--;
		}
	}
	if (r != 0) {
		r = r == VP_ERR_NOMEM ? nomem(c) : tmpl_errat(c, n, r,
		    "filter 'replace': result too large");
		goto out;
	}
	if ((*out = json_stringn_nocheck(b.buf, b.len)) == NULL)
		r = nomem(c);
 out:
	vp_buf_release(&b);
	json_decref(t0);
	json_decref(t1);
	json_decref(t2);
	return r;
}

/* Jinja2's int(value, default=0): ints, floats truncated, numeric strings. */
static int
f_int(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	char		*buf, *end;
	const char	*s;
	long long	 ll;
	double		 d;
	int		 ok = 0;

	(void)n;
	if (json_is_integer(in)) {
		*out = json_incref(in);
		return VP_OK;
	}
	if (json_is_boolean(in))
		return set_out(c, out, json_integer(json_is_true(in)));
	if (json_is_real(in)) {
		d = json_real_value(in);
		if (d > -9.2e18 && d < 9.2e18)
			return set_out(c, out, json_integer((json_int_t)d));
	} else if (json_is_string(in)) {
		s = json_string_value(in);
		if ((buf = strdup(s)) == NULL)
			return nomem(c);
		errno = 0;
		ll = strtoll(buf, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n')
			end++;
		if (errno == 0 && end != buf && *end == '\0') {
			ok = 1;
		} else {
			errno = 0;
			d = strtod(buf, &end);
			while (*end == ' ' || *end == '\t' || *end == '\n')
				end++;
			if (errno == 0 && end != buf && *end == '\0' &&
			    d > -9.2e18 && d < 9.2e18) {
				ok = 1;
				ll = (long long)d;
			}
		}
		free(buf);
		if (ok)
			return set_out(c, out, json_integer(ll));
	}
	if (args[0] != NULL) {
		*out = json_incref(args[0]);
		return VP_OK;
	}
	return set_out(c, out, json_integer(0));
}

static int
f_string(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	(void)args;
	if ((*out = value_to_string(in)) == NULL)
		return conv_fail(c, n);
	return VP_OK;
}

static int
f_length(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	const char	*s;
	size_t		 len, i, cp = 0;

	(void)args;
	switch (json_typeof(in)) {
	case JSON_STRING:
		s = json_string_value(in);
		len = json_string_length(in);
		for (i = 0; i < len; i++)
			if (((unsigned char)s[i] & 0xc0) != 0x80)
				cp++;
		return set_out(c, out, json_integer((json_int_t)cp));
	case JSON_ARRAY:
		return set_out(c, out,
		    json_integer((json_int_t)json_array_size(in)));
	case JSON_OBJECT:
		return set_out(c, out,
		    json_integer((json_int_t)json_object_size(in)));
	default:
		return ferr(c, n, "expected a string, list or dict", in);
	}
}

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	    ch == '\v' || ch == '\f';
}

static int
f_trim(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	json_t		*tmp;
	const char	*s, *e;
	size_t		 len;

	(void)args;
	if ((s = strview(in, &tmp, &len)) == NULL)
		return conv_fail(c, n);
	e = s + len;
	while (s < e && is_space(*s))
		s++;
	while (e > s && is_space(e[-1]))
		e--;
	*out = json_stringn_nocheck(s, e - s);
	json_decref(tmp);
	return *out ? VP_OK : nomem(c);
}

static int
f_dictsort(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	json_t	*items, *tmp;
	size_t	 i, j, len;
	int	 casesens, rev;

	if (!json_is_object(in))
		return ferr(c, n, "expected a dict", in);
	casesens = args[0] != NULL && value_truthy(args[0]);
	rev = args[2] != NULL && value_truthy(args[2]);
	if (args[1] != NULL && !(json_is_string(args[1]) &&
	    strcmp(json_string_value(args[1]), "key") == 0))
		return ferr(c, n, "only by='key' is supported", args[1]);
	if ((items = value_sorted_items(in, 1, !casesens)) == NULL)
		return nomem(c);
	if (rev) {
		len = json_array_size(items);
		for (i = 0, j = len ? len - 1 : 0; i < j; i++, j--) {
			tmp = json_incref(json_array_get(items, i));
			json_array_set(items, i, json_array_get(items, j));
			json_array_set_new(items, j, tmp);
		}
	}
	*out = items;
	return VP_OK;
}

static int
f_items(struct ectx *c, const struct node *n, json_t *in, json_t **args,
    json_t **out)
{
	(void)args;
	if (!json_is_object(in))
		return ferr(c, n, "expected a dict", in);
	return set_out(c, out, value_sorted_items(in, 1, 0));
}

/* FILTER_DEFAULT and FILTER_D index the first two entries. */
const struct filter_def tmpl_filters[] = {
	/* default needs undefined inputs and lazy arguments: eval.c. */
	{ "default", NULL, 0, 2, { "default_value", "boolean" } },
	{ "d", NULL, 0, 2, { "default_value", "boolean" } },
	{ "lower", f_lower, 0, 0, { NULL } },
	{ "upper", f_upper, 0, 0, { NULL } },
	{ "join", f_join, 0, 1, { "d" } },
	{ "indent", f_indent, 0, 3, { "width", "first", "blank" } },
	{ "to_json", f_to_json, 0, 0, { NULL } },
	{ "tojson", f_to_json, 0, 0, { NULL } },
	{ "quote", f_quote, 0, 0, { NULL } },
	{ "b64encode", f_b64encode, 0, 0, { NULL } },
	{ "replace", f_replace, 2, 3, { "old", "new", "count" } },
	{ "int", f_int, 0, 1, { "default" } },
	{ "string", f_string, 0, 0, { NULL } },
	{ "length", f_length, 0, 0, { NULL } },
	{ "count", f_length, 0, 0, { NULL } },
	{ "trim", f_trim, 0, 0, { NULL } },
	{ "dictsort", f_dictsort, 0, 3, { "case_sensitive", "by", "reverse" } },
	{ "items", f_items, 0, 0, { NULL } },
};
const size_t tmpl_nfilters = sizeof(tmpl_filters) / sizeof(tmpl_filters[0]);

const char *const tmpl_filter_names[] = {
	"default", "d", "lower", "upper", "join", "indent", "to_json",
	"tojson", "quote", "b64encode", "replace", "int", "string", "length",
	"count", "trim", "dictsort", "items",
};

int
filter_lookup(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < tmpl_nfilters; i++)
		if (strlen(tmpl_filters[i].name) == len &&
		    memcmp(tmpl_filters[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* ---- tests ---- */

static int
t_defined(const json_t *v)
{
	return v != NULL;
}

static int
t_undefined(const json_t *v)
{
	return v == NULL;
}

static int
t_none(const json_t *v)
{
	return json_is_null(v);
}

static int
t_string(const json_t *v)
{
	return json_is_string(v);
}

/* As Python's isinstance(v, Number): bools are numbers too. */
static int
t_number(const json_t *v)
{
	return json_is_number(v) || json_is_boolean(v);
}

static int
t_integer(const json_t *v)
{
	return json_is_integer(v);
}

static int
t_boolean(const json_t *v)
{
	return json_is_boolean(v);
}

static int
t_mapping(const json_t *v)
{
	return json_is_object(v);
}

static int
t_sequence(const json_t *v)
{
	return json_is_array(v) || json_is_string(v) || json_is_object(v);
}

const struct test_def tmpl_tests[] = {
	{ "defined", 1, t_defined },
	{ "undefined", 1, t_undefined },
	{ "none", 0, t_none },
	{ "string", 0, t_string },
	{ "number", 0, t_number },
	{ "integer", 0, t_integer },
	{ "boolean", 0, t_boolean },
	{ "mapping", 0, t_mapping },
	{ "sequence", 0, t_sequence },
};
const size_t tmpl_ntests = sizeof(tmpl_tests) / sizeof(tmpl_tests[0]);

const char *const tmpl_test_names[] = {
	"defined", "undefined", "none", "string", "number", "integer",
	"boolean", "mapping", "sequence",
};

int
test_lookup(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < tmpl_ntests; i++)
		if (strlen(tmpl_tests[i].name) == len &&
		    memcmp(tmpl_tests[i].name, name, len) == 0)
			return (int)i;
	return -1;
}
