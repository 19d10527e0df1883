/*
 * parse.c: recursive-descent parser from tokens to an AST.
 *
 * Statement nesting (if/for) is capped at TMPL_MAX_BLOCK_DEPTH, expression
 * recursion and the height of every expression tree at
 * TMPL_MAX_EXPR_DEPTH, so neither the parser, the evaluator nor
 * node_free() can recurse without bound on hostile input.
 *
 * Expression precedence, loosest first (as Jinja2):
 *	a if c else b;  or;  and;  not;  == != < <= > >= in, not in;
 *	+ -;  ~;  * / // %;  **;  unary - +;  then postfix . [] () | is
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/opt.h"
#include "tmpl/tmpl.h"
#include "tmpl/tmpl-int.h"

struct parser {
	struct tmpl	*t;
	struct tok	*toks;
	size_t		 ntoks, i;
	int		 bdepth;	/* block nesting */
	int		 edepth;	/* expression recursion */
	int		 r;		/* first error */
	char		**cause;
};

static const char *const tags[] = {
	"if", "elif", "else", "endif", "for", "endfor", "set", "raw",
	"endraw",
};

static struct node *parse_expr(struct parser *);
static struct node *parse_body(struct parser *, const char *const *ends,
    size_t nends, const struct tok **endtok);

/*
 * Recursion follows a, b and v[] (bounded by the parser's caps); the c
 * link, which chains elif after elif without bound, is followed in a loop.
 */
void
node_free(struct node *n)
{
	struct node	*next;
	size_t		 i;

	while (n != NULL) {
		node_free(n->a);
		node_free(n->b);
		for (i = 0; i < n->nv; i++)
			node_free(n->v[i]);
		next = n->c;
		free(n->v);
		free(n->name);
		free(n->name2);
		json_decref(n->lit);
		free(n);
		n = next;
	}
}

/* ---- helpers ---- */

static const struct tok *
peek(const struct parser *P)
{
	return &P->toks[P->i];
}

static const struct tok *
next(struct parser *P)
{
	const struct tok *k = &P->toks[P->i];

	if (k->kind != TK_EOF)
		P->i++;
	return k;
}

static int
tok_is(const struct tok *k, enum tk kind, const char *s)
{
	size_t n;

	if (k->kind != kind)
		return 0;
	if (s == NULL)
		return 1;
	n = strlen(s);
	return k->len == n && memcmp(k->p, s, n) == 0;
}

static int
is_op(const struct parser *P, const char *s)
{
	return tok_is(peek(P), TK_OP, s);
}

static int
is_name(const struct parser *P, const char *s)
{
	return tok_is(peek(P), TK_NAME, s);
}

static int
accept_op(struct parser *P, const char *s)
{
	if (!is_op(P, s))
		return 0;
	next(P);
	return 1;
}

static int
accept_name(struct parser *P, const char *s)
{
	if (!is_name(P, s))
		return 0;
	next(P);
	return 1;
}

static int
perr(struct parser *P, const struct tok *k, const char *fmt, ...)
    VP_PRINTF(3, 4);

static int
perr(struct parser *P, const struct tok *k, const char *fmt, ...)
{
	va_list	 ap;
	char	*m = NULL;
	int	 r;

	if (P->r != 0 || P->cause == NULL) {
		if (P->r == 0)
			P->r = VP_ERR_PARSE;
		return P->r;		/* keep the first error */
	}
	P->r = VP_ERR_PARSE;
	va_start(ap, fmt);
	r = vasprintf(&m, fmt, ap);
	va_end(ap);
	if (r < 0)
		return P->r = vp_fail(P->cause, VP_ERR_NOMEM, "out of memory");
	vp_fail(P->cause, VP_ERR_PARSE, "%s:%d:%d: %s", P->t->name, k->line,
	    k->col, m);
	free(m);
	return VP_ERR_PARSE;
}

/* Describe a token for "expected X, got Y" messages. */
static const char *
tok_desc(const struct tok *k, char *b, size_t bl)
{
	switch (k->kind) {
	case TK_EOF:
		return "end of template";
	case TK_VAR_END:
		return "'}}'";
	case TK_BLOCK_END:
		return "'%}'";
	case TK_STR:
		return "a string";
	case TK_INT:
	case TK_FLOAT:
		return "a number";
	default:
		snprintf(b, bl, "'%.*s'", (int)(k->len > 32 ? 32 : k->len),
		    k->p);
		return b;
	}
}

static void *
nomem(struct parser *P)
{
	if (P->r == 0)
		P->r = vp_fail(P->cause, VP_ERR_NOMEM, "out of memory");
	return NULL;
}

static struct node *
mk(struct parser *P, enum nk kind, const struct tok *at)
{
	struct node *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return nomem(P);
	n->kind = kind;
	n->line = at->line;
	n->col = at->col;
	n->sp = at->p;
	n->slen = at->len;
	n->depth = 1;
	return n;
}

/*
 * Recompute n's height from its children; fail (freeing n) past the cap.
 */
static struct node *
seal(struct parser *P, struct node *n)
{
	int	 d = 0;
	size_t	 i;

	if (n == NULL)
		return NULL;
	if (n->a && n->a->depth > d)
		d = n->a->depth;
	if (n->b && n->b->depth > d)
		d = n->b->depth;
	if (n->c && n->c->depth > d)
		d = n->c->depth;
	for (i = 0; i < n->nv; i++)
		if (n->v[i] && n->v[i]->depth > d)
			d = n->v[i]->depth;
	n->depth = d + 1;
	if (n->kind >= E_LIT && n->depth > TMPL_MAX_EXPR_DEPTH) {
		struct tok at = { TK_OP, n->line, n->col, NULL, 0 };

		perr(P, &at, "expression too deeply nested (max %d)",
		    TMPL_MAX_EXPR_DEPTH);
		node_free(n);
		return NULL;
	}
	return n;
}

static int
push(struct parser *P, struct node *n, struct node *child)
{
	struct node	**nv;
	size_t		  a;

	if (n->nv == n->av) {
		a = n->av ? n->av * 2 : 4;
		if ((nv = reallocarray(n->v, a, sizeof(*nv))) == NULL) {
			nomem(P);
			return VP_ERR_NOMEM;
		}
		n->v = nv;
		n->av = a;
	}
	n->v[n->nv++] = child;
	return VP_OK;
}

static char *
tokdup(struct parser *P, const struct tok *k)
{
	char *s;

	if ((s = strndup(k->p, k->len)) == NULL)
		return nomem(P);
	return s;
}

/* Span from the start of `from` to the end of token `to`. */
static void
span(struct node *n, const struct node *from, const struct tok *to)
{
	n->line = from->line;
	n->col = from->col;
	n->sp = from->sp;
	n->slen = (size_t)(to->p + to->len - from->sp);
}

static int
enter(struct parser *P)
{
	if (++P->edepth > TMPL_MAX_EXPR_DEPTH) {
		perr(P, peek(P), "expression too deeply nested (max %d)",
		    TMPL_MAX_EXPR_DEPTH);
		return -1;
	}
	return 0;
}

/* ---- literals ---- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a quoted string token (Python escapes) and append to b. */
static int
unquote(struct vp_buf *b, const struct tok *k)
{
	const char	*s = k->p + 1, *e = k->p + k->len - 1;
	char		 c;
	int		 r, h1, h2;

	for (; s < e; s++) {
		if (*s != '\\' || s + 1 >= e) {
			if ((r = vp_buf_addc(b, *s)) != 0)
				return r;
			continue;
		}
		s++;
		switch (*s) {
		case 'n': c = '\n'; break;
		case 't': c = '\t'; break;
		case 'r': c = '\r'; break;
		case '0': c = '\0'; break;
		case '\\': c = '\\'; break;
		case '\'': c = '\''; break;
		case '"': c = '"'; break;
		case 'x':
			if (s + 2 < e && (h1 = hexval(s[1])) >= 0 &&
			    (h2 = hexval(s[2])) >= 0 && h1 < 8) {
				c = (char)(h1 * 16 + h2);
				s += 2;
				break;
			}
			/* FALLTHROUGH */
		default:
			if ((r = vp_buf_addc(b, '\\')) != 0)
				return r;
			c = *s;
			break;
		}
		if ((r = vp_buf_addc(b, c)) != 0)
			return r;
	}
	return VP_OK;
}

static struct node *
parse_string(struct parser *P)
{
	struct vp_buf	 b = VP_BUF_INIT(TMPL_MAX_SRC);
	const struct tok *k = peek(P);
	struct node	*n;

	if ((n = mk(P, E_LIT, k)) == NULL)
		return NULL;
	/* Adjacent string literals concatenate, as in Python. */
	while (peek(P)->kind == TK_STR) {
		if (unquote(&b, next(P)) != 0) {
			node_free(n);
			return nomem(P);
		}
	}
	n->lit = json_stringn_nocheck(b.buf, b.len);
	vp_buf_release(&b);
	if (n->lit == NULL) {
		node_free(n);
		return nomem(P);
	}
	return n;
}

static struct node *
parse_number(struct parser *P)
{
	const struct tok	*k = next(P);
	struct node		*n;
	char			 b[64], *end;
	long long		 ll = 0;
	double			 d = 0;

	if (k->len >= sizeof(b)) {
		perr(P, k, "number literal too long");
		return NULL;
	}
	memcpy(b, k->p, k->len);
	b[k->len] = '\0';
	errno = 0;
	if (k->kind == TK_INT) {
		ll = strtoll(b, &end, 10);
		if (errno != 0 || *end != '\0') {
			perr(P, k, "integer literal '%s' out of range", b);
			return NULL;
		}
	} else {
		d = strtod(b, &end);
		if (errno != 0 || *end != '\0') {
			perr(P, k, "float literal '%s' out of range", b);
			return NULL;
		}
	}
	if ((n = mk(P, E_LIT, k)) == NULL)
		return NULL;
	n->lit = k->kind == TK_INT ? json_integer(ll) : json_real(d);
	if (n->lit == NULL) {
		node_free(n);
		return nomem(P);
	}
	return n;
}

/* Comma-separated expressions up to `close`, pushed onto n->v. */
static int
parse_seq(struct parser *P, struct node *n, const char *close, int pairs)
{
	struct node	*e;
	char		 b[48];

	while (!accept_op(P, close)) {
		if ((e = parse_expr(P)) == NULL || push(P, n, e) != 0) {
			node_free(e);
			return VP_ERR_PARSE;
		}
		if (pairs) {
			if (!accept_op(P, ":"))
				return perr(P, peek(P), "expected ':', got %s",
				    tok_desc(peek(P), b, sizeof(b)));
			if ((e = parse_expr(P)) == NULL ||
			    push(P, n, e) != 0) {
				node_free(e);
				return VP_ERR_PARSE;
			}
		}
		if (accept_op(P, close))
			break;
		if (!accept_op(P, ","))
			return perr(P, peek(P), "expected ',' or '%s', got %s",
			    close, tok_desc(peek(P), b, sizeof(b)));
	}
	return VP_OK;
}

static struct node *
parse_primary(struct parser *P)
{
	const struct tok	*k = peek(P);
	struct node		*n;
	char			 b[48];

	switch (k->kind) {
	case TK_STR:
		return parse_string(P);
	case TK_INT:
	case TK_FLOAT:
		return parse_number(P);
	case TK_NAME:
		next(P);
		if ((n = mk(P, E_LIT, k)) == NULL)
			return NULL;
		if (tok_is(k, TK_NAME, "true") || tok_is(k, TK_NAME, "True"))
			n->lit = json_true();
		else if (tok_is(k, TK_NAME, "false") ||
		    tok_is(k, TK_NAME, "False"))
			n->lit = json_false();
		else if (tok_is(k, TK_NAME, "none") ||
		    tok_is(k, TK_NAME, "None"))
			n->lit = json_null();
		else {
			n->kind = E_NAME;
			if ((n->name = tokdup(P, k)) == NULL) {
				node_free(n);
				return NULL;
			}
			if (is_op(P, "(")) {
				perr(P, k, "unknown function '%s'", n->name);
				node_free(n);
				return NULL;
			}
		}
		return n;
	case TK_OP:
		if (tok_is(k, TK_OP, "(")) {
			next(P);
			if ((n = parse_expr(P)) == NULL)
				return NULL;
			if (!accept_op(P, ")")) {
				perr(P, peek(P), "expected ')', got %s",
				    tok_desc(peek(P), b, sizeof(b)));
				node_free(n);
				return NULL;
			}
			return n;
		}
		if (tok_is(k, TK_OP, "[") || tok_is(k, TK_OP, "{")) {
			next(P);
			if ((n = mk(P, k->p[0] == '[' ? E_LIST : E_DICT,
			    k)) == NULL)
				return NULL;
			if (parse_seq(P, n, k->p[0] == '[' ? "]" : "}",
			    k->p[0] == '{') != 0) {
				node_free(n);
				return NULL;
			}
			return seal(P, n);
		}
		break;
	default:
		break;
	}
	perr(P, k, "expected an expression, got %s", tok_desc(k, b, sizeof(b)));
	return NULL;
}

static const char *const methods[] = { "items", "keys", "values", "get" };

/* Filter or test arguments: positional, then name=value. */
static int
parse_args(struct parser *P, struct node *n, const struct filter_def *fd)
{
	const struct tok	*k;
	struct node		*e;
	size_t			 pos = 0, j;
	int			 kw = 0;
	char			 b[48];

	while (!accept_op(P, ")")) {
		k = peek(P);
		if (k->kind == TK_NAME && fd != NULL &&
		    tok_is(&P->toks[P->i + 1], TK_OP, "=")) {
			for (j = 0; j < 4 && fd->params[j]; j++)
				if (strlen(fd->params[j]) == k->len &&
				    memcmp(fd->params[j], k->p, k->len) == 0)
					break;
			if (j == 4 || fd->params[j] == NULL)
				return perr(P, k, "filter '%s' has no "
				    "argument '%.*s'", fd->name, (int)k->len,
				    k->p);
			next(P);
			next(P);
			kw = 1;
		} else if (kw)
			return perr(P, k, "positional argument after "
			    "keyword argument");
		else
			j = pos++;
		if ((e = parse_expr(P)) == NULL)
			return VP_ERR_PARSE;
		while (n->nv <= j)
			if (push(P, n, NULL) != 0) {
				node_free(e);
				return VP_ERR_NOMEM;
			}
		if (n->v[j] != NULL) {
			node_free(e);
			return perr(P, k, "argument given twice");
		}
		n->v[j] = e;
		if (accept_op(P, ")"))
			break;
		if (!accept_op(P, ","))
			return perr(P, peek(P), "expected ',' or ')', got %s",
			    tok_desc(peek(P), b, sizeof(b)));
	}
	return VP_OK;
}

static struct node *
parse_filter(struct parser *P, struct node *in)
{
	const struct tok		*k = peek(P);
	const struct filter_def		*fd;
	const char			*m;
	struct node			*n;
	char				 w[64];
	int				 fi;

	if (k->kind != TK_NAME) {
		perr(P, k, "expected a filter name after '|'");
		goto fail;
	}
	next(P);
	if ((fi = filter_lookup(k->p, k->len)) < 0) {
		snprintf(w, sizeof(w), "%.*s", (int)k->len, k->p);
		m = vp_did_you_mean(w, tmpl_filter_names, tmpl_nfilters);
		if (m != NULL)
			perr(P, k, "unknown filter '%s' (did you mean '%s'?)",
			    w, m);
		else
			perr(P, k, "unknown filter '%s'", w);
		goto fail;
	}
	fd = &tmpl_filters[fi];
	if ((n = mk(P, E_FILTER, k)) == NULL)
		goto fail;
	n->a = in;
	n->op = fi;
	if (accept_op(P, "(") && parse_args(P, n, fd) != 0) {
		node_free(n);
		return NULL;
	}
	if ((int)n->nv > fd->maxargs) {
		perr(P, k, "filter '%s' takes at most %d argument%s", fd->name,
		    fd->maxargs, fd->maxargs == 1 ? "" : "s");
		node_free(n);
		return NULL;
	}
	if ((int)n->nv < fd->minargs || (fd->minargs > 0 && n->v[0] == NULL)) {
		perr(P, k, "filter '%s' needs %d argument%s", fd->name,
		    fd->minargs, fd->minargs == 1 ? "" : "s");
		node_free(n);
		return NULL;
	}
	return seal(P, n);
 fail:
	node_free(in);
	return NULL;
}

static struct node *
parse_test(struct parser *P, struct node *in)
{
	const struct tok	*k;
	const char		*m;
	struct node		*n;
	char			 w[64];
	int			 neg, ti;

	neg = accept_name(P, "not");
	k = peek(P);
	if (k->kind != TK_NAME) {
		perr(P, k, "expected a test name after 'is'");
		goto fail;
	}
	next(P);
	/* `is none` and `is None` are the same test. */
	if (tok_is(k, TK_NAME, "None"))
		ti = test_lookup("none", 4);
	else
		ti = test_lookup(k->p, k->len);
	if (ti < 0) {
		snprintf(w, sizeof(w), "%.*s", (int)k->len, k->p);
		m = vp_did_you_mean(w, tmpl_test_names, tmpl_ntests);
		if (m != NULL)
			perr(P, k, "unknown test '%s' (did you mean '%s'?)",
			    w, m);
		else
			perr(P, k, "unknown test '%s'", w);
		goto fail;
	}
	if ((n = mk(P, E_TEST, k)) == NULL)
		goto fail;
	n->a = in;
	n->op = ti;
	n->flag = neg;
	return seal(P, n);
 fail:
	node_free(in);
	return NULL;
}

static struct node *
parse_postfix(struct parser *P)
{
	const struct tok	*k;
	struct node		*n, *x;
	char			 b[48];
	size_t			 mi;

	if ((n = parse_primary(P)) == NULL)
		return NULL;
	for (;;) {
		k = peek(P);
		if (tok_is(k, TK_OP, ".")) {
			next(P);
			k = next(P);
			if (k->kind != TK_NAME && k->kind != TK_INT) {
				perr(P, k, "expected an attribute name after "
				    "'.', got %s", tok_desc(k, b, sizeof(b)));
				goto fail;
			}
			if (is_op(P, "(")) {
				for (mi = 0; mi < 4; mi++)
					if (tok_is(k, TK_NAME, methods[mi]))
						break;
				if (mi == 4) {
					perr(P, k, "unknown method '%.*s' "
					    "(supported: items, keys, values, "
					    "get)", (int)k->len, k->p);
					goto fail;
				}
				next(P);
				if ((x = mk(P, E_METHOD, k)) == NULL)
					goto fail;
				x->a = n;
				n = x;
				x->op = (int)mi;
				if (parse_args(P, x, NULL) != 0)
					goto fail;
				if ((mi != M_GET && x->nv != 0) ||
				    (mi == M_GET && (x->nv < 1 || x->nv > 2))) {
					perr(P, k, "wrong number of arguments "
					    "to '%s()'", methods[mi]);
					goto fail;
				}
				span(x, x->a, &P->toks[P->i - 1]);
			} else {
				if ((x = mk(P, E_ATTR, k)) == NULL)
					goto fail;
				x->a = n;
				n = x;
				if ((x->name = tokdup(P, k)) == NULL)
					goto fail;
				if (k->kind == TK_INT) {
					x->kind = E_INDEX;
					x->lit = json_integer(strtoll(x->name,
					    NULL, 10));
				}
				span(x, x->a, k);
			}
		} else if (tok_is(k, TK_OP, "[")) {
			next(P);
			if ((x = mk(P, E_INDEX, k)) == NULL)
				goto fail;
			x->a = n;
			n = x;
			if ((x->b = parse_expr(P)) == NULL)
				goto fail;
			k = peek(P);
			if (!accept_op(P, "]")) {
				perr(P, k, "expected ']', got %s",
				    tok_desc(k, b, sizeof(b)));
				goto fail;
			}
			span(x, x->a, k);
		} else if (tok_is(k, TK_OP, "(")) {
			perr(P, k, "only the methods items(), keys(), values() "
			    "and get() can be called");
			goto fail;
		} else
			break;
		if ((n = seal(P, n)) == NULL)
			return NULL;
	}
	return n;
 fail:
	node_free(n);
	return NULL;
}

static struct node *
parse_filters(struct parser *P, struct node *n)
{
	while (n != NULL) {
		if (accept_op(P, "|"))
			n = parse_filter(P, n);
		else if (accept_name(P, "is"))
			n = parse_test(P, n);
		else
			break;
	}
	return n;
}

static struct node *
parse_unary(struct parser *P, int filters)
{
	const struct tok	*k = peek(P);
	struct node		*n;

	if (enter(P) != 0)
		return NULL;
	if (tok_is(k, TK_OP, "-") || tok_is(k, TK_OP, "+")) {
		next(P);
		if ((n = mk(P, k->p[0] == '-' ? E_NEG : E_POS, k)) == NULL)
			return NULL;
		if ((n->a = parse_unary(P, 0)) == NULL) {
			node_free(n);
			return NULL;
		}
		n = seal(P, n);
	} else
		n = parse_postfix(P);
	if (filters)
		n = parse_filters(P, n);
	P->edepth--;
	return n;
}

static struct node *
binary(struct parser *P, enum nk kind, int op, const struct tok *k,
    struct node *l, struct node *r)
{
	struct node *n;

	if (l == NULL || r == NULL || (n = mk(P, kind, k)) == NULL) {
		node_free(l);
		node_free(r);
		return NULL;
	}
	n->op = op;
	n->a = l;
	n->b = r;
	return seal(P, n);
}

static struct node *
parse_pow(struct parser *P)
{
	const struct tok	*k;
	struct node		*n;

	n = parse_unary(P, 1);
	while (n != NULL && is_op(P, "**")) {
		k = next(P);
		n = binary(P, E_BIN, OP_POW, k, n, parse_unary(P, 1));
	}
	return n;
}

static struct node *
parse_mul(struct parser *P)
{
	const struct tok	*k;
	struct node		*n;
	int			 op;

	n = parse_pow(P);
	while (n != NULL) {
		k = peek(P);
		if (tok_is(k, TK_OP, "*"))
			op = OP_MUL;
		else if (tok_is(k, TK_OP, "/"))
			op = OP_DIV;
		else if (tok_is(k, TK_OP, "//"))
			op = OP_FLOORDIV;
		else if (tok_is(k, TK_OP, "%"))
			op = OP_MOD;
		else
			break;
		next(P);
		n = binary(P, E_BIN, op, k, n, parse_pow(P));
	}
	return n;
}

static struct node *
parse_concat(struct parser *P)
{
	const struct tok	*k;
	struct node		*n;

	n = parse_mul(P);
	while (n != NULL && is_op(P, "~")) {
		k = next(P);
		n = binary(P, E_BIN, OP_CAT, k, n, parse_mul(P));
	}
	return n;
}

static struct node *
parse_add(struct parser *P)
{
	const struct tok	*k;
	struct node		*n;

	n = parse_concat(P);
	while (n != NULL && (is_op(P, "+") || is_op(P, "-"))) {
		k = next(P);
		n = binary(P, E_BIN, k->p[0] == '+' ? OP_ADD : OP_SUB, k, n,
		    parse_concat(P));
	}
	return n;
}

static int
cmp_op(struct parser *P, int *op)
{
	const struct tok *k = peek(P);

	if (tok_is(k, TK_OP, "=="))
		*op = OP_EQ;
	else if (tok_is(k, TK_OP, "!="))
		*op = OP_NE;
	else if (tok_is(k, TK_OP, "<"))
		*op = OP_LT;
	else if (tok_is(k, TK_OP, "<="))
		*op = OP_LE;
	else if (tok_is(k, TK_OP, ">"))
		*op = OP_GT;
	else if (tok_is(k, TK_OP, ">="))
		*op = OP_GE;
	else if (tok_is(k, TK_NAME, "in"))
		*op = OP_IN;
	else if (tok_is(k, TK_NAME, "not") &&
	    tok_is(&P->toks[P->i + 1], TK_NAME, "in"))
		*op = OP_NOTIN;
	else
		return 0;
	return 1;
}

static struct node *
parse_compare(struct parser *P)
{
	const struct tok	*k;
	struct node		*n;
	int			 op;

	if ((n = parse_add(P)) == NULL || !cmp_op(P, &op))
		return n;
	k = next(P);
	if (op == OP_NOTIN)
		next(P);
	n = binary(P, E_BIN, op, k, n, parse_add(P));
	if (n != NULL && cmp_op(P, &op)) {
		perr(P, peek(P), "chained comparisons are not supported; "
		    "use 'and'");
		node_free(n);
		return NULL;
	}
	return n;
}

static struct node *
parse_not(struct parser *P)
{
	const struct tok	*k = peek(P);
	struct node		*n;

	if (!tok_is(k, TK_NAME, "not"))
		return parse_compare(P);
	if (enter(P) != 0)
		return NULL;
	next(P);
	if ((n = mk(P, E_NOT, k)) != NULL) {
		if ((n->a = parse_not(P)) == NULL) {
			node_free(n);
			n = NULL;
		} else
			n = seal(P, n);
	}
	P->edepth--;
	return n;
}

static struct node *
parse_and(struct parser *P)
{
	const struct tok	*k;
	struct node		*n;

	n = parse_not(P);
	while (n != NULL && is_name(P, "and")) {
		k = next(P);
		n = binary(P, E_AND, 0, k, n, parse_not(P));
	}
	return n;
}

static struct node *
parse_or(struct parser *P)
{
	const struct tok	*k;
	struct node		*n;

	n = parse_and(P);
	while (n != NULL && is_name(P, "or")) {
		k = next(P);
		n = binary(P, E_OR, 0, k, n, parse_and(P));
	}
	return n;
}

static struct node *
parse_expr(struct parser *P)
{
	const struct tok	*k;
	struct node		*n, *c;

	if (enter(P) != 0)
		return NULL;
	n = parse_or(P);
	if (n != NULL && is_name(P, "if")) {
		k = next(P);
		if ((c = mk(P, E_COND, k)) == NULL) {
			node_free(n);
			n = NULL;
			goto out;
		}
		c->a = n;
		n = c;
		if ((c->b = parse_or(P)) == NULL) {
			node_free(n);
			n = NULL;
			goto out;
		}
		if (accept_name(P, "else") && (c->c = parse_expr(P)) == NULL) {
			node_free(n);
			n = NULL;
			goto out;
		}
		n = seal(P, n);
	}
 out:
	P->edepth--;
	return n;
}

/* ---- statements ---- */

static int
expect_end(struct parser *P, enum tk kind)
{
	const struct tok	*k = peek(P);
	char			 b[48];

	if (k->kind == kind) {
		next(P);
		return VP_OK;
	}
	return perr(P, k, "expected %s, got %s",
	    kind == TK_VAR_END ? "'}}'" : "'%}'", tok_desc(k, b, sizeof(b)));
}

static int
block_enter(struct parser *P, const struct tok *k)
{
	if (++P->bdepth > TMPL_MAX_BLOCK_DEPTH)
		return perr(P, k, "blocks too deeply nested (max %d)",
		    TMPL_MAX_BLOCK_DEPTH);
	return VP_OK;
}

static struct node *
parse_if(struct parser *P, const struct tok *kw)
{
	static const char *const ends[] = { "elif", "else", "endif" };
	const struct tok	*end, *k;
	struct node		*top, *cur, *n;

	if (block_enter(P, kw) != 0)
		return NULL;
	if ((top = mk(P, N_IF, kw)) == NULL)
		return NULL;
	cur = top;
	for (;;) {
		if ((cur->a = parse_expr(P)) == NULL ||
		    expect_end(P, TK_BLOCK_END) != 0)
			goto fail;
		if ((cur->b = parse_body(P, ends, 3, &end)) == NULL)
			goto fail;
		if (end == NULL) {
			perr(P, peek(P), "unclosed 'if' block opened at %d:%d",
			    kw->line, kw->col);
			goto fail;
		}
		if (tok_is(end, TK_NAME, "elif")) {
			if ((n = mk(P, N_IF, end)) == NULL)
				goto fail;
			cur->c = n;
			cur = n;
			continue;
		}
		if (tok_is(end, TK_NAME, "else")) {
			if (expect_end(P, TK_BLOCK_END) != 0)
				goto fail;
			if ((cur->c = parse_body(P, ends + 2, 1, &k)) == NULL)
				goto fail;
			if (k == NULL) {
				perr(P, peek(P), "unclosed 'if' block opened "
				    "at %d:%d", kw->line, kw->col);
				goto fail;
			}
		}
		break;
	}
	if (expect_end(P, TK_BLOCK_END) != 0)
		goto fail;
	P->bdepth--;
	return top;
 fail:
	node_free(top);
	return NULL;
}

static struct node *
parse_for(struct parser *P, const struct tok *kw)
{
	static const char *const ends[] = { "else", "endfor" };
	const struct tok	*end, *k;
	struct node		*n;
	char			 b[48];

	if (block_enter(P, kw) != 0)
		return NULL;
	if ((n = mk(P, N_FOR, kw)) == NULL)
		return NULL;
	k = next(P);
	if (k->kind != TK_NAME) {
		perr(P, k, "expected a loop variable, got %s",
		    tok_desc(k, b, sizeof(b)));
		goto fail;
	}
	if ((n->name = tokdup(P, k)) == NULL)
		goto fail;
	if (accept_op(P, ",")) {
		k = next(P);
		if (k->kind != TK_NAME) {
			perr(P, k, "expected a loop variable, got %s",
			    tok_desc(k, b, sizeof(b)));
			goto fail;
		}
		if ((n->name2 = tokdup(P, k)) == NULL)
			goto fail;
	}
	if (!accept_name(P, "in")) {
		perr(P, peek(P), "expected 'in', got %s",
		    tok_desc(peek(P), b, sizeof(b)));
		goto fail;
	}
	if ((n->a = parse_expr(P)) == NULL || expect_end(P, TK_BLOCK_END) != 0)
		goto fail;
	if ((n->b = parse_body(P, ends, 2, &end)) == NULL)
		goto fail;
	if (end != NULL && tok_is(end, TK_NAME, "else")) {
		if (expect_end(P, TK_BLOCK_END) != 0)
			goto fail;
		if ((n->c = parse_body(P, ends + 1, 1, &end)) == NULL)
			goto fail;
	}
	if (end == NULL) {
		perr(P, peek(P), "unclosed 'for' block opened at %d:%d",
		    kw->line, kw->col);
		goto fail;
	}
	if (expect_end(P, TK_BLOCK_END) != 0)
		goto fail;
	P->bdepth--;
	return n;
 fail:
	node_free(n);
	return NULL;
}

static struct node *
parse_set(struct parser *P, const struct tok *kw)
{
	const struct tok	*k = next(P);
	struct node		*n;
	char			 b[48];

	if (k->kind != TK_NAME) {
		perr(P, k, "expected a variable name, got %s",
		    tok_desc(k, b, sizeof(b)));
		return NULL;
	}
	if ((n = mk(P, N_SET, kw)) == NULL)
		return NULL;
	if ((n->name = tokdup(P, k)) == NULL)
		goto fail;
	if (!accept_op(P, "=")) {
		perr(P, peek(P), "expected '=', got %s",
		    tok_desc(peek(P), b, sizeof(b)));
		goto fail;
	}
	if ((n->a = parse_expr(P)) == NULL || expect_end(P, TK_BLOCK_END) != 0)
		goto fail;
	return n;
 fail:
	node_free(n);
	return NULL;
}

/*
 * Parse statements until a block tag whose keyword is one of ends[] (then
 * *endtok is that keyword, consumed, with the rest of the tag unread) or
 * the end of the template (then *endtok is NULL).
 */
static struct node *
parse_body(struct parser *P, const char *const *ends, size_t nends,
    const struct tok **endtok)
{
	const struct tok	*k, *kw;
	struct node		*body, *n;
	const char		*m;
	char			 w[64], b[48];
	size_t			 i;

	*endtok = NULL;
	if ((body = mk(P, N_BODY, peek(P))) == NULL)
		return NULL;
	for (;;) {
		k = next(P);
		n = NULL;
		switch (k->kind) {
		case TK_EOF:
			return body;
		case TK_TEXT:
			if ((n = mk(P, N_TEXT, k)) == NULL)
				goto fail;
			break;
		case TK_VAR_BEGIN:
			if ((n = mk(P, N_OUT, k)) == NULL)
				goto fail;
			if ((n->a = parse_expr(P)) == NULL ||
			    expect_end(P, TK_VAR_END) != 0)
				goto fail;
			break;
		case TK_BLOCK_BEGIN:
			kw = next(P);
			if (kw->kind != TK_NAME) {
				perr(P, kw, "expected a tag name, got %s",
				    tok_desc(kw, b, sizeof(b)));
				goto fail;
			}
			for (i = 0; i < nends; i++)
				if (tok_is(kw, TK_NAME, ends[i])) {
					*endtok = kw;
					return body;
				}
			if (tok_is(kw, TK_NAME, "if"))
				n = parse_if(P, kw);
			else if (tok_is(kw, TK_NAME, "for"))
				n = parse_for(P, kw);
			else if (tok_is(kw, TK_NAME, "set"))
				n = parse_set(P, kw);
			else {
				snprintf(w, sizeof(w), "%.*s", (int)kw->len,
				    kw->p);
				if (strcmp(w, "elif") == 0 ||
				    strcmp(w, "else") == 0 ||
				    strcmp(w, "endif") == 0 ||
				    strcmp(w, "endfor") == 0) {
					if (nends > 0)
						perr(P, kw, "unexpected '%s', "
						    "expected '%s'", w,
						    ends[nends - 1]);
					else
						perr(P, kw, "unexpected '%s'",
						    w);
				} else if ((m = vp_did_you_mean(w, tags,
				    sizeof(tags) / sizeof(tags[0]))) != NULL)
					perr(P, kw, "unknown tag '%s' (did you "
					    "mean '%s'?)", w, m);
				else
					perr(P, kw, "unknown tag '%s'", w);
				goto fail;
			}
			if (n == NULL)
				goto fail;
			break;
		default:
			perr(P, k, "unexpected %s", tok_desc(k, b, sizeof(b)));
			goto fail;
		}
		if (push(P, body, n) != 0)
			goto fail;
	}
 fail:
	node_free(n);
	node_free(body);
	return NULL;
}

int
tmpl_parse(const char *name, const char *src, size_t len, struct tmpl **out,
    char **cause)
{
	struct parser		 P;
	struct tmpl		*t = NULL;
	const struct tok	*end;
	int			 r;

	*out = NULL;
	memset(&P, 0, sizeof(P));
	if (name == NULL)
		name = "<template>";
	if (len > TMPL_MAX_SRC)
		return vp_fail(cause, VP_ERR_TOOBIG,
		    "%s: template larger than %u bytes", name, TMPL_MAX_SRC);
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->name = strdup(name)) == NULL ||
	    (t->src = malloc(len + 1)) == NULL) {
		r = vp_fail(cause, VP_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (len > 0)
		memcpy(t->src, src, len);
	t->src[len] = '\0';
	t->len = len;
	if ((r = tmpl_lex(t->name, t->src, len, &P.toks, &P.ntoks, cause)) != 0)
		goto out;
	P.t = t;
	P.cause = cause;
	if ((t->root = parse_body(&P, NULL, 0, &end)) == NULL) {
		r = P.r != 0 ? P.r : VP_ERR_PARSE;
		goto out;
	}
	*out = t;
	t = NULL;
	r = VP_OK;
 out:
	free(P.toks);
	tmpl_free(t);
	return r;
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	node_free(t->root);
	free(t->name);
	free(t->src);
	free(t);
}
