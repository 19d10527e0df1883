/*
 * eval.c: walk the AST with jansson values.
 *
 * eval() returns a new reference in *v, or NULL when the expression is
 * undefined (then c->undef is the node that was undefined).  need() is
 * eval() where undefined is an error; only `default`, `is defined`, the
 * base of an attribute/index access and the branches of `a if c else b`
 * use eval() directly.  Recursion follows the AST, whose height the
 * parser capped.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tmpl/tmpl.h"
#include "tmpl/tmpl-int.h"

static int eval(struct ectx *, const struct node *, json_t **);
static int exec(struct ectx *, const struct node *);

int
tmpl_errat(const struct ectx *c, const struct node *n, int r,
    const char *fmt, ...)
{
	va_list	 ap;
	char	*m = NULL;

	if (c->cause == NULL)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (m == NULL)
		return vp_fail(c->cause, VP_ERR_NOMEM, "out of memory");
	vp_fail(c->cause, r, "%s:%d:%d: %s", c->t->name, n->line, n->col, m);
	free(m);
	return r;
}

int
tmpl_undef_error(const struct ectx *c, const struct node *n)
{
	size_t	len = n->slen;
	int	i;

	/* Show the reference as written, on one line and not too long. */
	for (i = 0; (size_t)i < len; i++)
		if (n->sp[i] == '\n') {
			len = i;
			break;
		}
	if (len > 64)
		return tmpl_errat(c, n, VP_ERR_NOTFOUND,
		    "undefined variable '%.61s...'", n->sp);
	return tmpl_errat(c, n, VP_ERR_NOTFOUND, "undefined variable '%.*s'",
	    (int)len, n->sp);
}

static int
nomem(struct ectx *c)
{
	return vp_fail(c->cause, VP_ERR_NOMEM, "out of memory");
}

static int
need(struct ectx *c, const struct node *n, json_t **v)
{
	int r;

	if ((r = eval(c, n, v)) != 0)
		return r;
	if (*v == NULL)
		return tmpl_undef_error(c, c->undef ? c->undef : n);
	return VP_OK;
}

static json_t *
lookup(const struct ectx *c, const char *name)
{
	json_t	*v;
	int	 i;

	for (i = c->nscope - 1; i >= 0; i--)
		if ((v = json_object_get(c->scope[i], name)) != NULL)
			return v;
	return json_object_get(c->vars, name);
}

/* ---- arithmetic ---- */

static int
num(const json_t *v, int *isint, json_int_t *i, double *d)
{
	if (json_is_integer(v)) {
		*isint = 1;
		*i = json_integer_value(v);
		*d = (double)*i;
	} else if (json_is_boolean(v)) {
		*isint = 1;
		*i = json_is_true(v);
		*d = (double)*i;
	} else if (json_is_real(v)) {
		*isint = 0;
		*d = json_real_value(v);
	} else
		return 0;
	return 1;
}

static const char *const opnames[] = {
	"+", "-", "*", "/", "//", "%", "**", "~", "==", "!=", "<", "<=",
	">", ">=", "in", "not in",
};

static int
type_error(struct ectx *c, const struct node *n, const json_t *a,
    const json_t *b)
{
	return tmpl_errat(c, n, VP_ERR_INVALID,
	    "unsupported operand types for '%s': '%s' and '%s'",
	    opnames[n->op], value_type(a), value_type(b));
}

static int
real_result(struct ectx *c, const struct node *n, double d, json_t **v)
{
	if (!isfinite(d))
		return tmpl_errat(c, n, VP_ERR_INVALID,
		    "numeric overflow in '%s'", opnames[n->op]);
	if ((*v = json_real(d)) == NULL)
		return nomem(c);
	return VP_OK;
}

static int
int_result(struct ectx *c, json_int_t i, json_t **v)
{
	if ((*v = json_integer(i)) == NULL)
		return nomem(c);
	return VP_OK;
}

static int
arith(struct ectx *c, const struct node *n, const json_t *a, const json_t *b,
    json_t **v)
{
	json_int_t	ia = 0, ib = 0, ir, k;
	double		da, db;
	int		aint, bint;

	if (!num(a, &aint, &ia, &da) || !num(b, &bint, &ib, &db))
		return type_error(c, n, a, b);
	if (aint && bint) {
		switch (n->op) {
		case OP_ADD:
			if (__builtin_add_overflow(ia, ib, &ir))
				goto overflow;
			return int_result(c, ir, v);
		case OP_SUB:
			if (__builtin_sub_overflow(ia, ib, &ir))
				goto overflow;
			return int_result(c, ir, v);
		case OP_MUL:
			if (__builtin_mul_overflow(ia, ib, &ir))
				goto overflow;
			return int_result(c, ir, v);
		case OP_FLOORDIV:
		case OP_MOD:
			if (ib == 0)
				goto divzero;
			if (ia == LLONG_MIN && ib == -1) {
				if (n->op == OP_MOD)
					return int_result(c, 0, v);
				goto overflow;
			}
			ir = ia / ib;
			k = ia % ib;
			if (k != 0 && ((k < 0) != (ib < 0))) {
				ir--;
				k += ib;
			}
			return int_result(c, n->op == OP_MOD ? k : ir, v);
		case OP_POW:
			if (ib < 0)
				break;
			for (ir = 1, k = 0; k < ib; k++) {
				if (__builtin_mul_overflow(ir, ia, &ir))
					goto overflow;
				if (ir == 0 || ir == 1)
					break;
			}
			if (ir == 1 && ia == -1 && ib % 2 == 1)
				ir = -1;
			return int_result(c, ir, v);
		default:
			break;
		}
	}
	switch (n->op) {
	case OP_ADD:
		return real_result(c, n, da + db, v);
	case OP_SUB:
		return real_result(c, n, da - db, v);
	case OP_MUL:
		return real_result(c, n, da * db, v);
	case OP_DIV:
		if (db == 0.0)
			goto divzero;
		return real_result(c, n, da / db, v);
	case OP_FLOORDIV:
		if (db == 0.0)
			goto divzero;
		return real_result(c, n, floor(da / db), v);
	case OP_MOD:
		if (db == 0.0)
			goto divzero;
		da = fmod(da, db);
		if (da != 0.0 && ((da < 0) != (db < 0)))
			da += db;
		return real_result(c, n, da, v);
	case OP_POW:
		return real_result(c, n, pow(da, db), v);
	default:
		return type_error(c, n, a, b);
	}
 overflow:
	return tmpl_errat(c, n, VP_ERR_INVALID, "integer overflow in '%s'",
	    opnames[n->op]);
 divzero:
	return tmpl_errat(c, n, VP_ERR_INVALID, "division by zero");
}

static int
concat(struct ectx *c, const struct node *n, const json_t *a, const json_t *b,
    json_t **v)
{
	struct vp_buf	bb = VP_BUF_INIT(TMPL_MAX_VALUE);
	int		r;

	if ((r = value_render(&bb, a)) != 0 ||
	    (r = value_render(&bb, b)) != 0) {
		vp_buf_release(&bb);
		return r == VP_ERR_NOMEM ? nomem(c) : tmpl_errat(c, n, r,
		    "string too large or too deep");
	}
	*v = json_stringn_nocheck(bb.buf, bb.len);
	vp_buf_release(&bb);
	return *v ? VP_OK : nomem(c);
}

/* Python's str * int (either order; bools count as ints). */
static int
repeat(struct ectx *c, const struct node *n, const json_t *a,
    const json_t *b, json_t **v)
{
	struct vp_buf	 bb = VP_BUF_INIT(TMPL_MAX_VALUE);
	const json_t	*s = json_is_string(a) ? a : b;
	const json_t	*k = s == a ? b : a;
	json_int_t	 i, times;
	int		 r = VP_OK;

	if (!json_is_integer(k) && !json_is_boolean(k))
		return type_error(c, n, a, b);
	times = json_is_integer(k) ? json_integer_value(k) : json_is_true(k);
	if (json_string_length(s) == 0)
		times = 0;
	if (times > 0 && json_string_length(s) > TMPL_MAX_VALUE / (size_t)times)
		return tmpl_errat(c, n, VP_ERR_TOOBIG, "string too large");
	for (i = 0; r == 0 && i < times; i++)
		r = vp_buf_add(&bb, json_string_value(s),
		    json_string_length(s));
	if (r != 0)
		return r == VP_ERR_NOMEM ? nomem(c) : tmpl_errat(c, n, r,
		    "string too large");
	*v = json_stringn_nocheck(bb.buf, bb.len);
	vp_buf_release(&bb);
	return *v ? VP_OK : nomem(c);
}

static int
contains(struct ectx *c, const struct node *n, const json_t *a,
    const json_t *b, int *res)
{
	size_t i;

	*res = 0;
	switch (json_typeof(b)) {
	case JSON_STRING:
		if (!json_is_string(a))
			return tmpl_errat(c, n, VP_ERR_INVALID, "'in <str>' "
			    "needs a str on the left, got '%s'",
			    value_type(a));
		*res = json_string_length(a) == 0 ||
		    memmem(json_string_value(b), json_string_length(b),
		    json_string_value(a), json_string_length(a)) != NULL;
		return VP_OK;
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(b); i++)
			if (value_equal(a, json_array_get(b, i))) {
				*res = 1;
				break;
			}
		return VP_OK;
	case JSON_OBJECT:
		*res = json_is_string(a) &&
		    json_object_getn(b, json_string_value(a),
		    json_string_length(a)) != NULL;
		return VP_OK;
	default:
		return tmpl_errat(c, n, VP_ERR_INVALID, "argument of type "
		    "'%s' is not iterable", value_type(b));
	}
}

static int
binop(struct ectx *c, const struct node *n, json_t **v)
{
	json_t	*a = NULL, *b = NULL;
	int	 r, res = 0;

	if ((r = need(c, n->a, &a)) != 0 || (r = need(c, n->b, &b)) != 0)
		goto out;
	switch (n->op) {
	case OP_ADD:
		if (json_is_string(a) && json_is_string(b)) {
			r = concat(c, n, a, b, v);
			goto out;
		}
		if (json_is_array(a) && json_is_array(b)) {
			if ((*v = json_copy(a)) == NULL ||
			    json_array_extend(*v, b) != 0)
				r = nomem(c);
			goto out;
		}
		r = arith(c, n, a, b, v);
		goto out;
	case OP_CAT:
		r = concat(c, n, a, b, v);
		goto out;
	case OP_MUL:
		if (json_is_string(a) || json_is_string(b)) {
			r = repeat(c, n, a, b, v);
			goto out;
		}
		r = arith(c, n, a, b, v);
		goto out;
	case OP_EQ:
	case OP_NE:
		res = value_equal(a, b) == (n->op == OP_EQ);
		break;
	case OP_LT:
	case OP_LE:
	case OP_GT:
	case OP_GE:
		if (value_compare(a, b, &res) != 0) {
			r = tmpl_errat(c, n, VP_ERR_INVALID, "cannot compare "
			    "'%s' and '%s' with '%s'", value_type(a),
			    value_type(b), opnames[n->op]);
			goto out;
		}
		res = n->op == OP_LT ? res < 0 : n->op == OP_LE ? res <= 0 :
		    n->op == OP_GT ? res > 0 : res >= 0;
		break;
	case OP_IN:
	case OP_NOTIN:
		if ((r = contains(c, n, a, b, &res)) != 0)
			goto out;
		if (n->op == OP_NOTIN)
			res = !res;
		break;
	default:
		r = arith(c, n, a, b, v);
		goto out;
	}
	*v = json_boolean(res);
 out:
	json_decref(a);
	json_decref(b);
	return r;
}

/* ---- access ---- */

static int
getattr(struct ectx *c, const struct node *n, json_t **v)
{
	json_t		*base = NULL, *idx = NULL, *x = NULL;
	json_int_t	 i;
	int		 r;

	*v = NULL;
	if ((r = eval(c, n->a, &base)) != 0 || base == NULL)
		return r;
	if (n->kind == E_ATTR) {
		if (json_is_object(base))
			x = json_object_get(base, n->name);
	} else {
		if (n->b == NULL)
			idx = json_incref(n->lit);
		else if ((r = need(c, n->b, &idx)) != 0)
			goto out;
		if (json_is_object(base) && json_is_string(idx))
			x = json_object_getn(base, json_string_value(idx),
			    json_string_length(idx));
		else if (json_is_array(base) && json_is_integer(idx)) {
			i = json_integer_value(idx);
			if (i < 0)
				i += (json_int_t)json_array_size(base);
			if (i >= 0)
				x = json_array_get(base, (size_t)i);
		}
	}
	if (x == NULL)
		c->undef = n;
	*v = json_incref(x);
 out:
	json_decref(base);
	json_decref(idx);
	return r;
}

static int
method(struct ectx *c, const struct node *n, json_t **v)
{
	static const char *const names[] = { "items", "keys", "values", "get" };
	json_t	*base = NULL, *k = NULL, *x;
	size_t	 i;
	int	 r;

	if ((r = need(c, n->a, &base)) != 0)
		return r;
	if (!json_is_object(base)) {
		r = tmpl_errat(c, n, VP_ERR_INVALID, "'%s()' needs a dict, "
		    "got '%s'", names[n->op], value_type(base));
		goto out;
	}
	switch (n->op) {
	case M_ITEMS:
	case M_KEYS:
		*v = value_sorted_items(base, n->op == M_ITEMS, 0);
		break;
	case M_VALUES:
		if ((*v = value_sorted_items(base, 1, 0)) == NULL)
			break;
		for (i = 0; i < json_array_size(*v); i++)
			json_array_set(*v, i,
			    json_array_get(json_array_get(*v, i), 1));
		break;
	default:
		if ((r = need(c, n->v[0], &k)) != 0)
			goto out;
		x = json_is_string(k) ? json_object_getn(base,
		    json_string_value(k), json_string_length(k)) : NULL;
		if (x != NULL)
			*v = json_incref(x);
		else if (n->nv > 1 && n->v[1] != NULL) {
			r = eval(c, n->v[1], v);
			goto out;
		} else
			*v = json_null();
		break;
	}
	if (*v == NULL)
		r = nomem(c);
 out:
	json_decref(base);
	json_decref(k);
	return r;
}

static int
filter(struct ectx *c, const struct node *n, json_t **v)
{
	const struct filter_def	*fd = &tmpl_filters[n->op];
	json_t			*in = NULL;
	json_t			*args[4] = { NULL, NULL, NULL, NULL };
	size_t			 i;
	int			 r;

	if (n->op == FILTER_DEFAULT || n->op == FILTER_D) {
		/*
		 * default(d, boolean): the input may be undefined, and so
		 * may d (then the result is undefined, reported where used).
		 */
		if ((r = eval(c, n->a, &in)) != 0)
			goto out;
		if (n->nv > 1 && n->v[1] != NULL &&
		    (r = need(c, n->v[1], &args[1])) != 0)
			goto out;
		if (in != NULL && (!value_truthy(args[1]) ||
		    value_truthy(in))) {
			*v = in;
			in = NULL;
		} else if (n->nv > 0 && n->v[0] != NULL)
			r = eval(c, n->v[0], v);
		else if ((*v = json_string("")) == NULL)
			r = nomem(c);
		goto out;
	}
	if ((r = need(c, n->a, &in)) != 0)
		goto out;
	for (i = 0; i < n->nv && i < 4; i++)
		if (n->v[i] != NULL && (r = need(c, n->v[i], &args[i])) != 0)
			goto out;
	r = fd->fn(c, n, in, args, v);
 out:
	json_decref(in);
	for (i = 0; i < 4; i++)
		json_decref(args[i]);
	return r;
}

static int
eval(struct ectx *c, const struct node *n, json_t **v)
{
	json_t	*a = NULL, *b = NULL;
	size_t	 i;
	int	 r = VP_OK, ii;
	double	 d;

	*v = NULL;
	switch (n->kind) {
	case E_LIT:
		*v = json_incref(n->lit);
		return VP_OK;
	case E_LIST:
		if ((*v = json_array()) == NULL)
			return nomem(c);
		for (i = 0; i < n->nv; i++) {
			if ((r = need(c, n->v[i], &a)) != 0)
				break;
			if (json_array_append_new(*v, a) != 0) {
				r = nomem(c);
				break;
			}
		}
		break;
	case E_DICT:
		if ((*v = json_object()) == NULL)
			return nomem(c);
		for (i = 0; i + 1 < n->nv; i += 2) {
			if ((r = need(c, n->v[i], &a)) != 0)
				break;
			if (!json_is_string(a)) {
				r = tmpl_errat(c, n->v[i], VP_ERR_INVALID,
				    "dict keys must be strings, got '%s'",
				    value_type(a));
				break;
			}
			if ((r = need(c, n->v[i + 1], &b)) != 0)
				break;
			if (json_object_setn_new_nocheck(*v,
			    json_string_value(a), json_string_length(a),
			    b) != 0) {
				b = NULL;
				r = nomem(c);
				break;
			}
			b = NULL;
			json_decref(a);
			a = NULL;
		}
		json_decref(a);
		break;
	case E_NAME:
		if ((*v = json_incref(lookup(c, n->name))) == NULL)
			c->undef = n;
		return VP_OK;
	case E_ATTR:
	case E_INDEX:
		return getattr(c, n, v);
	case E_METHOD:
		return method(c, n, v);
	case E_FILTER:
		return filter(c, n, v);
	case E_TEST:
		if (tmpl_tests[n->op].lenient)
			r = eval(c, n->a, &a);
		else
			r = need(c, n->a, &a);
		if (r == 0)
			*v = json_boolean(tmpl_tests[n->op].fn(a) != n->flag);
		json_decref(a);
		return r;
	case E_NOT:
		if ((r = need(c, n->a, &a)) == 0)
			*v = json_boolean(!value_truthy(a));
		json_decref(a);
		return r;
	case E_NEG:
	case E_POS:
		if ((r = need(c, n->a, &a)) != 0)
			return r;
		if (json_is_integer(a) || json_is_boolean(a)) {
			json_int_t x = json_is_integer(a) ?
			    json_integer_value(a) : json_is_true(a);

			if (n->kind == E_NEG && x == LLONG_MIN)
				r = tmpl_errat(c, n, VP_ERR_INVALID,
				    "integer overflow in '-'");
			else if ((*v = json_integer(n->kind == E_NEG ? -x :
			    x)) == NULL)
				r = nomem(c);
		} else if (json_is_real(a)) {
			d = json_real_value(a);
			if ((*v = json_real(n->kind == E_NEG ? -d : d)) == NULL)
				r = nomem(c);
		} else
			r = tmpl_errat(c, n, VP_ERR_INVALID, "bad operand type "
			    "for unary '%c': '%s'", n->kind == E_NEG ? '-' :
			    '+', value_type(a));
		json_decref(a);
		return r;
	case E_BIN:
		return binop(c, n, v);
	case E_AND:
	case E_OR:
		if ((r = need(c, n->a, &a)) != 0)
			return r;
		ii = value_truthy(a);
		if (ii == (n->kind == E_OR)) {
			*v = a;
			return VP_OK;
		}
		json_decref(a);
		return need(c, n->b, v);
	case E_COND:
		if ((r = need(c, n->b, &a)) != 0)
			return r;
		ii = value_truthy(a);
		json_decref(a);
		if (ii)
			return eval(c, n->a, v);
		if (n->c != NULL)
			return eval(c, n->c, v);
		if ((*v = json_string("")) == NULL)
			return nomem(c);
		return VP_OK;
	default:
		return tmpl_errat(c, n, VP_ERR_INVALID, "not an expression");
	}
	if (r != 0) {
		json_decref(*v);
		*v = NULL;
	}
	return r;
}

/* ---- statements ---- */

static int
out_error(struct ectx *c, const struct node *n, int r)
{
	if (r == VP_ERR_NOMEM)
		return nomem(c);
	if (r == VP_ERR_INVALID)
		return tmpl_errat(c, n, r, "value nested deeper than %d levels",
		    TMPL_MAX_VALUE_DEPTH);
	return tmpl_errat(c, n, r, "output larger than %zu bytes",
	    c->out->cap);
}

static int
exec_for(struct ectx *c, const struct node *n)
{
	json_t		*iter = NULL, *items = NULL;
	json_t		*scope = NULL, *loop = NULL;
	json_t		*it, *idx, *idx0, *rev, *rev0;
	size_t		 i, len;
	int		 r;

	if ((r = need(c, n->a, &iter)) != 0)
		return r;
	if (json_is_array(iter))
		items = json_incref(iter);
	else if (json_is_object(iter))
		items = value_sorted_items(iter, n->name2 != NULL, 0);
	else {
		r = tmpl_errat(c, n->a, VP_ERR_INVALID, "cannot iterate over "
		    "'%s'", value_type(iter));
		goto out;
	}
	if (items == NULL) {
		r = nomem(c);
		goto out;
	}
	if ((len = json_array_size(items)) == 0) {
		if (n->c != NULL)
			r = exec(c, n->c);
		goto out;
	}
	if (c->nscope >= (int)(sizeof(c->scope) / sizeof(c->scope[0]))) {
		r = tmpl_errat(c, n, VP_ERR_TOOBIG, "loops nested too deeply");
		goto out;
	}
	/* One `loop` object per loop, its integers updated in place. */
	if ((scope = json_object()) == NULL || (loop = json_object()) == NULL ||
	    json_object_set(scope, "loop", loop) != 0 ||
	    json_object_set_new_nocheck(loop, "index",
	    idx = json_integer(1)) != 0 ||
	    json_object_set_new_nocheck(loop, "index0",
	    idx0 = json_integer(0)) != 0 ||
	    json_object_set_new_nocheck(loop, "revindex",
	    rev = json_integer(1)) != 0 ||
	    json_object_set_new_nocheck(loop, "revindex0",
	    rev0 = json_integer(0)) != 0 ||
	    json_object_set_new_nocheck(loop, "length",
	    json_integer((json_int_t)len)) != 0) {
		r = nomem(c);
		goto out;
	}
	c->scope[c->nscope++] = scope;
	for (i = 0; i < len; i++) {
		if (++c->iters > TMPL_MAX_ITERATIONS) {
			r = tmpl_errat(c, n, VP_ERR_TOOBIG, "more than %lu "
			    "loop iterations", TMPL_MAX_ITERATIONS);
			break;
		}
		/* Each iteration starts afresh: no `set` from the last. */
		if (i > 0 && (json_object_size(scope) > 2u +
		    (n->name2 != NULL) || json_object_get(scope, "loop") !=
		    loop) && (json_object_clear(scope) != 0 ||
		    json_object_set(scope, "loop", loop) != 0)) {
			r = nomem(c);
			break;
		}
		json_integer_set(idx, (json_int_t)i + 1);
		json_integer_set(idx0, (json_int_t)i);
		json_integer_set(rev, (json_int_t)(len - i));
		json_integer_set(rev0, (json_int_t)(len - i - 1));
		if (json_object_set_new_nocheck(loop, "first",
		    json_boolean(i == 0)) != 0 ||
		    json_object_set_new_nocheck(loop, "last",
		    json_boolean(i + 1 == len)) != 0) {
			r = nomem(c);
			break;
		}
		it = json_array_get(items, i);
		if (n->name2 != NULL) {
			if (!json_is_array(it) || json_array_size(it) != 2) {
				r = tmpl_errat(c, n, VP_ERR_INVALID, "cannot "
				    "unpack '%s' into '%s, %s'",
				    value_type(it), n->name, n->name2);
				break;
			}
			if (json_object_set(scope, n->name,
			    json_array_get(it, 0)) != 0 ||
			    json_object_set(scope, n->name2,
			    json_array_get(it, 1)) != 0) {
				r = nomem(c);
				break;
			}
		} else if (json_object_set(scope, n->name, it) != 0) {
			r = nomem(c);
			break;
		}
		if ((r = exec(c, n->b)) != 0)
			break;
	}
	c->nscope--;
 out:
	json_decref(iter);
	json_decref(items);
	json_decref(scope);
	json_decref(loop);
	return r;
}

static int
exec(struct ectx *c, const struct node *n)
{
	json_t	*v = NULL;
	size_t	 i;
	int	 r = VP_OK;

	switch (n->kind) {
	case N_BODY:
		for (i = 0; r == 0 && i < n->nv; i++)
			r = exec(c, n->v[i]);
		return r;
	case N_TEXT:
		if ((r = vp_buf_add(c->out, n->sp, n->slen)) != 0)
			return out_error(c, n, r);
		return VP_OK;
	case N_OUT:
		if ((r = need(c, n->a, &v)) != 0)
			return r;
		if ((r = value_render(c->out, v)) != 0)
			r = out_error(c, n, r);
		json_decref(v);
		return r;
	case N_IF:
		/* Walk the elif chain in a loop: it has no length cap. */
		for (; n != NULL && n->kind == N_IF; n = n->c) {
			if ((r = need(c, n->a, &v)) != 0)
				return r;
			i = value_truthy(v);
			json_decref(v);
			if (i)
				return exec(c, n->b);
		}
		return n != NULL ? exec(c, n) : VP_OK;
	case N_FOR:
		return exec_for(c, n);
	case N_SET:
		if ((r = need(c, n->a, &v)) != 0)
			return r;
		if (json_object_set_new(c->scope[c->nscope - 1], n->name,
		    v) != 0)
			return nomem(c);
		return VP_OK;
	default:
		return tmpl_errat(c, n, VP_ERR_INVALID, "not a statement");
	}
}

int
tmpl_eval(const struct tmpl *t, const json_t *vars, struct vp_buf *out,
    char **cause)
{
	struct ectx	c;
	int		r;

	memset(&c, 0, sizeof(c));
	c.t = t;
	c.vars = vars;
	c.out = out;
	c.cause = cause;
	if ((c.scope[0] = json_object()) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	c.nscope = 1;
	r = exec(&c, t->root);
	json_decref(c.scope[0]);
	return r;
}

int
tmpl_render(const char *name, const char *src, size_t len,
    const json_t *vars, struct vp_buf *out, char **cause)
{
	struct tmpl	*t = NULL;
	int		 r;

	if ((r = tmpl_parse(name, src, len, &t, cause)) != 0)
		return r;
	r = tmpl_eval(t, vars, out, cause);
	tmpl_free(t);
	return r;
}
