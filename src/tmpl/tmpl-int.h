/*
 * tmpl-int.h: internals of the template engine, shared by lex.c, parse.c,
 * eval.c, value.c and filters.c.  Not for use outside src/tmpl/.
 *
 * Pipeline: the lexer cuts the source into tokens (text, tag delimiters,
 * expression tokens) with whitespace control already applied; the parser
 * builds an AST of `struct node`; the evaluator walks it with jansson
 * values.  The template owns a copy of the source: tokens and text nodes
 * point into it.
 */
#ifndef VP_TMPL_INT_H
#define VP_TMPL_INT_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"

#define TMPL_MAX_SRC		(8u << 20)	/* template source cap */
#define TMPL_MAX_BLOCK_DEPTH	64		/* nested if/for */
#define TMPL_MAX_EXPR_DEPTH	128		/* expression tree depth */
#define TMPL_MAX_ITERATIONS	1000000ul	/* loop iterations per render */
#define TMPL_MAX_VALUE_DEPTH	256		/* nesting when printing values */
#define TMPL_MAX_VALUE		(4u << 20)	/* one intermediate string */

enum tk {
	TK_EOF,
	TK_TEXT,
	TK_VAR_BEGIN,		/* {{ */
	TK_VAR_END,		/* }} */
	TK_BLOCK_BEGIN,		/* {% */
	TK_BLOCK_END,		/* %} */
	TK_NAME,
	TK_STR,			/* p/len span the quotes */
	TK_INT,
	TK_FLOAT,
	TK_OP,			/* p/len is the operator text */
};

struct tok {
	enum tk		 kind;
	int		 line, col;
	const char	*p;
	size_t		 len;
};

int	tmpl_lex(const char *name, const char *src, size_t len,
	    struct tok **toks, size_t *ntoks, char **cause);

enum nk {
	/* statements */
	N_BODY,		/* v[]: statements */
	N_TEXT,		/* sp/slen: literal text */
	N_OUT,		/* a: expression */
	N_IF,		/* a: cond, b: body, c: else (N_BODY or N_IF) */
	N_FOR,		/* name[, name2] in a: b body, c else body */
	N_SET,		/* name = a */
	/* expressions */
	E_LIT,		/* lit */
	E_LIST,		/* v[] */
	E_DICT,		/* v[]: key, value, key, value... */
	E_NAME,		/* name */
	E_ATTR,		/* a.name */
	E_INDEX,	/* a[b] */
	E_METHOD,	/* a.name(v[]), op = method */
	E_FILTER,	/* a|name(v[]), op = filter index */
	E_TEST,		/* a is [not] name, op = test index, flag = negated */
	E_NOT,		/* not a */
	E_NEG,		/* -a */
	E_POS,		/* +a */
	E_BIN,		/* a op b */
	E_AND,		/* a and b */
	E_OR,		/* a or b */
	E_COND,		/* a if b else c (c may be NULL) */
};

enum binop {
	OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_CAT,
	OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_NOTIN,
};

enum method { M_ITEMS, M_KEYS, M_VALUES, M_GET };

struct node {
	enum nk		 kind;
	int		 op;
	int		 flag;
	int		 line, col;
	int		 depth;		/* height of the subtree */
	const char	*sp;		/* source span (borrowed from tmpl) */
	size_t		 slen;
	char		*name, *name2;	/* owned */
	json_t		*lit;		/* owned reference */
	struct node	*a, *b, *c;
	struct node	**v;
	size_t		 nv, av;
};

void	node_free(struct node *);

struct tmpl {
	char		*name;
	char		*src;
	size_t		 len;
	struct node	*root;
};

/* Evaluation context. */
struct ectx {
	const struct tmpl	*t;
	const json_t		*vars;
	struct vp_buf		*out;
	json_t			*scope[TMPL_MAX_BLOCK_DEPTH + 2];
	int			 nscope;
	const struct node	*undef;		/* last undefined reference */
	unsigned long		 iters;
	char			**cause;
};

int	tmpl_errat(const struct ectx *, const struct node *, int r,
	    const char *fmt, ...) VP_PRINTF(4, 5);
int	tmpl_undef_error(const struct ectx *, const struct node *);

/* value.c */
const char *value_type(const json_t *);
int	value_truthy(const json_t *);
int	value_equal(const json_t *, const json_t *);
/* <0, 0, >0 in *res; VP_ERR_INVALID when not comparable. */
int	value_compare(const json_t *, const json_t *, int *res);
/* Append the rendering of v as `{{ v }}` would print it. */
int	value_render(struct vp_buf *, const json_t *);
/* Same, into a new jansson string. NULL on error. */
json_t	*value_to_string(const json_t *);
/* Compact JSON with sorted keys and Python float formatting. */
int	value_to_json(struct vp_buf *, const json_t *);
int	value_fmt_real(struct vp_buf *, double);
/* New array of [key, value] pairs (or of keys) in sorted key order. */
json_t	*value_sorted_items(const json_t *obj, int pairs, int casefold);

/* filters.c */
typedef int (*filter_fn)(struct ectx *, const struct node *, json_t *in,
    json_t **args, json_t **out);

struct filter_def {
	const char	*name;
	filter_fn	 fn;
	int		 minargs, maxargs;
	const char	*params[4];
};

extern const struct filter_def tmpl_filters[];
extern const size_t tmpl_nfilters;
int	filter_lookup(const char *name, size_t len);
extern const char *const tmpl_filter_names[];

struct test_def {
	const char	*name;
	int		 lenient;	/* accepts undefined */
	int		 (*fn)(const json_t *);	/* NULL input = undefined */
};

extern const struct test_def tmpl_tests[];
extern const size_t tmpl_ntests;
int	test_lookup(const char *name, size_t len);
extern const char *const tmpl_test_names[];

#define FILTER_DEFAULT	0	/* index of `default` in tmpl_filters */
#define FILTER_D	1	/* its alias `d` */

#endif
