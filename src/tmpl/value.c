/*
 * value.c: Python-like semantics for jansson values: truthiness,
 * equality, ordering, str() rendering and deterministic JSON output.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tmpl/tmpl-int.h"

const char *
value_type(const json_t *v)
{
	if (v == NULL)
		return "undefined";
	switch (json_typeof(v)) {
	case JSON_STRING:
		return "str";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_NULL:
		return "NoneType";
	case JSON_ARRAY:
		return "list";
	case JSON_OBJECT:
		return "dict";
	}
	return "unknown";
}

int
value_truthy(const json_t *v)
{
	if (v == NULL)
		return 0;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	case JSON_TRUE:
		return 1;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	default:
		return 0;
	}
}

/* Numbers, with bools as 0/1 as in Python. */
static int
as_number(const json_t *v, int *isint, json_int_t *i, double *d)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
		*isint = 1;
		*i = json_integer_value(v);
		*d = (double)*i;
		return 1;
	case JSON_REAL:
		*isint = 0;
		*d = json_real_value(v);
		return 1;
	case JSON_TRUE:
	case JSON_FALSE:
		*isint = 1;
		*i = json_is_true(v);
		*d = (double)*i;
		return 1;
	default:
		return 0;
	}
}

static int
num_cmp(const json_t *a, const json_t *b, int *res)
{
	json_int_t	ia = 0, ib = 0;
	double		da, db;
	int		aint, bint;

	if (!as_number(a, &aint, &ia, &da) || !as_number(b, &bint, &ib, &db))
		return 0;
	if (aint && bint)
		*res = ia < ib ? -1 : ia > ib;
	else
		*res = da < db ? -1 : da > db;
	return 1;
}

int
value_equal(const json_t *a, const json_t *b)
{
	int res;

	if (a == NULL || b == NULL)
		return a == b;
	if (num_cmp(a, b, &res))
		return res == 0;
	return json_equal((json_t *)a, (json_t *)b);
}

int
value_compare(const json_t *a, const json_t *b, int *res)
{
	size_t	la, lb;
	int	c;

	if (num_cmp(a, b, res))
		return VP_OK;
	if (json_is_string(a) && json_is_string(b)) {
		la = json_string_length(a);
		lb = json_string_length(b);
		c = memcmp(json_string_value(a), json_string_value(b),
		    la < lb ? la : lb);
		*res = c != 0 ? (c < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
		return VP_OK;
	}
	return VP_ERR_INVALID;
}

/*
 * Python's repr() of a float: the shortest digits that round-trip,
 * positional for exponents in [-4, 16), scientific otherwise.
 */
int
value_fmt_real(struct vp_buf *b, double d)
{
	char	 e[40], digits[24], *p;
	int	 prec, exp, nd, i, r;

	if (isnan(d))
		return vp_buf_adds(b, "nan");
	if (isinf(d))
		return vp_buf_adds(b, d < 0 ? "-inf" : "inf");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	p = e;
	if (*p == '-') {
		if ((r = vp_buf_addc(b, '-')) != 0)
			return r;
		p++;
	}
	for (nd = 0; *p != 'e' && *p != '\0'; p++)
		if (*p != '.' && nd < (int)sizeof(digits) - 1)
			digits[nd++] = *p;
	digits[nd] = '\0';
	exp = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		digits[--nd] = '\0';
	if (exp < -4 || exp >= 16) {
		if ((r = vp_buf_addc(b, digits[0])) != 0)
			return r;
		if (nd > 1 && (r = vp_buf_addf(b, ".%s", digits + 1)) != 0)
			return r;
		return vp_buf_addf(b, "e%c%02d", exp < 0 ? '-' : '+',
		    exp < 0 ? -exp : exp);
	}
	if (exp < 0) {
		if ((r = vp_buf_adds(b, "0.")) != 0)
			return r;
		for (i = 0; i < -exp - 1; i++)
			if ((r = vp_buf_addc(b, '0')) != 0)
				return r;
		return vp_buf_adds(b, digits);
	}
	for (i = 0; i <= exp; i++)
		if ((r = vp_buf_addc(b, i < nd ? digits[i] : '0')) != 0)
			return r;
	if ((r = vp_buf_addc(b, '.')) != 0)
		return r;
	if (nd <= exp + 1)
		return vp_buf_addc(b, '0');
	return vp_buf_adds(b, digits + exp + 1);
}

static int
json_str(struct vp_buf *b, const char *s, size_t n)
{
	size_t	i, from = 0;
	int	r;
	unsigned char c;

	if ((r = vp_buf_addc(b, '"')) != 0)
		return r;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if ((r = vp_buf_add(b, s + from, i - from)) != 0)
			return r;
		from = i + 1;
		switch (c) {
		case '"': r = vp_buf_adds(b, "\\\""); break;
		case '\\': r = vp_buf_adds(b, "\\\\"); break;
		case '\n': r = vp_buf_adds(b, "\\n"); break;
		case '\r': r = vp_buf_adds(b, "\\r"); break;
		case '\t': r = vp_buf_adds(b, "\\t"); break;
		case '\b': r = vp_buf_adds(b, "\\b"); break;
		case '\f': r = vp_buf_adds(b, "\\f"); break;
		default: r = vp_buf_addf(b, "\\u%04x", c); break;
		}
		if (r != 0)
			return r;
	}
	if ((r = vp_buf_add(b, s + from, n - from)) != 0)
		return r;
	return vp_buf_addc(b, '"');
}

struct kv {
	const char	*key;
	size_t		 len;
	json_t		*val;
};

static int
kvcmp(const void *a, const void *b)
{
	const struct kv	*x = a, *y = b;
	int		 c;

	c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
	return c != 0 ? c : (x->len < y->len ? -1 : x->len > y->len);
}

/* Entries of an object, sorted bytewise by key; caller frees the array. */
static struct kv *
sorted_kv(const json_t *o, size_t *n)
{
	struct kv	*k;
	const char	*key;
	size_t		 klen, i = 0;
	json_t		*v;

	*n = json_object_size(o);
	if ((k = calloc(*n ? *n : 1, sizeof(*k))) == NULL)
		return NULL;
	json_object_keylen_foreach((json_t *)o, key, klen, v) {
		k[i].key = key;
		k[i].len = klen;
		k[i].val = v;
		i++;
	}
	qsort(k, *n, sizeof(*k), kvcmp);
	return k;
}

static int
to_json(struct vp_buf *b, const json_t *v, int depth)
{
	struct kv	*kv;
	size_t		 i, n;
	int		 r;

	if (depth > TMPL_MAX_VALUE_DEPTH)
		return VP_ERR_INVALID;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return json_str(b, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return vp_buf_addf(b, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	case JSON_REAL:
		return value_fmt_real(b, json_real_value(v));
	case JSON_TRUE:
		return vp_buf_adds(b, "true");
	case JSON_FALSE:
		return vp_buf_adds(b, "false");
	case JSON_NULL:
		return vp_buf_adds(b, "null");
	case JSON_ARRAY:
		if ((r = vp_buf_addc(b, '[')) != 0)
			return r;
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0 && (r = vp_buf_addc(b, ',')) != 0)
				return r;
			if ((r = to_json(b, json_array_get(v, i),
			    depth + 1)) != 0)
				return r;
		}
		return vp_buf_addc(b, ']');
	case JSON_OBJECT:
		if ((kv = sorted_kv(v, &n)) == NULL)
			return VP_ERR_NOMEM;
		r = vp_buf_addc(b, '{');
		for (i = 0; r == 0 && i < n; i++) {
			if (i > 0 && (r = vp_buf_addc(b, ',')) != 0)
				break;
			if ((r = json_str(b, kv[i].key, kv[i].len)) != 0 ||
			    (r = vp_buf_addc(b, ':')) != 0)
				break;
			r = to_json(b, kv[i].val, depth + 1);
		}
		free(kv);
		if (r == 0)
			r = vp_buf_addc(b, '}');
		return r;
	}
	return VP_ERR_INVALID;
}

int
value_to_json(struct vp_buf *b, const json_t *v)
{
	return to_json(b, v, 0);
}

int
value_render(struct vp_buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return vp_buf_add(b, json_string_value(v),
		    json_string_length(v));
	case JSON_INTEGER:
		return vp_buf_addf(b, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	case JSON_REAL:
		return value_fmt_real(b, json_real_value(v));
	case JSON_TRUE:
		return vp_buf_adds(b, "True");
	case JSON_FALSE:
		return vp_buf_adds(b, "False");
	case JSON_NULL:
		return vp_buf_adds(b, "None");
	default:
		return to_json(b, v, 0);
	}
}

json_t *
value_to_string(const json_t *v)
{
	struct vp_buf	 b = VP_BUF_INIT(TMPL_MAX_VALUE);
	json_t		*s;

	if (json_is_string(v))
		return json_incref((json_t *)v);
	if (value_render(&b, v) != 0) {
		vp_buf_release(&b);
		return NULL;
	}
	s = json_stringn_nocheck(b.buf, b.len);
	vp_buf_release(&b);
	return s;
}

static int
casecmp_key(const void *a, const void *b)
{
	const json_t	*ka = json_array_get(*(json_t *const *)a, 0);
	const json_t	*kb = json_array_get(*(json_t *const *)b, 0);
	const char	*x = json_string_value(ka);
	const char	*y = json_string_value(kb);
	size_t		 lx = json_string_length(ka);
	size_t		 ly = json_string_length(kb);
	size_t		 i;
	int		 c;

	for (i = 0; i < lx && i < ly; i++) {
		c = tolower((unsigned char)x[i]) - tolower((unsigned char)y[i]);
		if (c != 0)
			return c;
	}
	if (lx != ly)
		return lx < ly ? -1 : 1;
	c = memcmp(x, y, lx);
	return c;
}

json_t *
value_sorted_items(const json_t *obj, int pairs, int casefold)
{
	struct kv	 *kv;
	json_t		 *out, *e, *k, **tmp;
	size_t		  i, n;

	if ((kv = sorted_kv(obj, &n)) == NULL)
		return NULL;
	if ((out = json_array()) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		if ((k = json_stringn_nocheck(kv[i].key, kv[i].len)) == NULL)
			goto fail;
		if (pairs) {
			if ((e = json_array()) == NULL) {
				json_decref(k);
				goto fail;
			}
			if (json_array_append_new(e, k) != 0 ||
			    json_array_append(e, kv[i].val) != 0) {
				json_decref(e);
				goto fail;
			}
		} else
			e = k;
		if (json_array_append_new(out, e) != 0)
			goto fail;
	}
	if (casefold && pairs && n > 1) {
		/* Re-sort case-insensitively (as Jinja2's dictsort). */
		if ((tmp = calloc(n, sizeof(*tmp))) == NULL)
			goto fail;
		for (i = 0; i < n; i++)
			tmp[i] = json_incref(json_array_get(out, i));
		qsort(tmp, n, sizeof(*tmp), casecmp_key);
		json_array_clear(out);
		for (i = 0; i < n; i++)
			if (json_array_append_new(out, tmp[i]) != 0) {
				while (++i < n)
					json_decref(tmp[i]);
				free(tmp);
				goto fail;
			}
		free(tmp);
	}
	free(kv);
	return out;
 fail:
	free(kv);
	json_decref(out);
	return NULL;
}
