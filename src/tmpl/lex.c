/*
 * lex.c: cut a template into tokens.
 *
 * Whitespace control is applied here, as Jinja2's lexer does: a '-' after
 * an opening delimiter strips all whitespace before the tag, a '-' before
 * a closing delimiter strips all whitespace after it, and (Ansible's
 * trim_blocks=True) the single newline right after a block or comment tag
 * is dropped.  Text tokens are slices of the source with that applied.
 * `{% raw %}...{% endraw %}` becomes one text token.
 */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "tmpl/tmpl-int.h"

struct lexer {
	const char	*name;
	const char	*s;
	size_t		 len, i;
	int		 line, col;
	struct tok	*toks;
	size_t		 ntoks, atoks;
	char		**cause;
};

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

static int
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Move the cursor n bytes forward, tracking line and (character) column. */
static void
advance(struct lexer *L, size_t n)
{
	unsigned char c;

	while (n-- > 0 && L->i < L->len) {
		c = (unsigned char)L->s[L->i++];
		if (c == '\n') {
			L->line++;
			L->col = 1;
		} else if ((c & 0xc0) != 0x80)
			L->col++;
	}
}

static int
emit(struct lexer *L, enum tk kind, int line, int col, const char *p,
    size_t len)
{
	struct tok	*nt;
	size_t		 n;

	if (L->ntoks == L->atoks) {
		n = L->atoks ? L->atoks * 2 : 64;
		if ((nt = reallocarray(L->toks, n, sizeof(*nt))) == NULL)
			return vp_fail(L->cause, VP_ERR_NOMEM, "out of memory");
		L->toks = nt;
		L->atoks = n;
	}
	nt = &L->toks[L->ntoks++];
	nt->kind = kind;
	nt->line = line;
	nt->col = col;
	nt->p = p;
	nt->len = len;
	return VP_OK;
}

static int
lex_fail(struct lexer *L, int line, int col, const char *fmt, const char *a)
{
	return vp_fail(L->cause, VP_ERR_PARSE, "%s:%d:%d: %s%s%s", L->name,
	    line, col, fmt, a ? a : "", a ? "'" : "");
}

/* Position of the next "{{", "{%" or "{#" at or after i, or len. */
static size_t
next_tag(const struct lexer *L, size_t i)
{
	const char *p;

	while (i + 1 < L->len) {
		p = memchr(L->s + i, '{', L->len - i - 1);
		if (p == NULL)
			break;
		i = p - L->s;
		if (p[1] == '{' || p[1] == '%' || p[1] == '#')
			return i;
		i++;
	}
	return L->len;
}

/*
 * Emit the text s[from, to) with whitespace control: lstrip after a '-'
 * close, drop one newline after a block close, rstrip before a '-' open.
 */
static int
emit_text(struct lexer *L, size_t from, size_t to, int lstrip, int trimnl,
    int rstrip)
{
	if (lstrip) {
		while (from < to && is_ws(L->s[from]))
			from++;
	} else if (trimnl) {
		if (from < to && L->s[from] == '\n')
			from++;
		else if (from + 1 < to && L->s[from] == '\r' &&
		    L->s[from + 1] == '\n')
			from += 2;
	}
	if (rstrip)
		while (to > from && is_ws(L->s[to - 1]))
			to--;
	if (to == from)
		return VP_OK;
	/* Position: where the raw text starts (the cursor is still there). */
	return emit(L, TK_TEXT, L->line, L->col, L->s + from, to - from);
}

static int
lex_string(struct lexer *L)
{
	char	q = L->s[L->i];
	size_t	j = L->i + 1;

	while (j < L->len && L->s[j] != q) {
		if (L->s[j] == '\\' && j + 1 < L->len)
			j++;
		j++;
	}
	if (j >= L->len)
		return lex_fail(L, L->line, L->col, "unterminated string",
		    NULL);
	if (emit(L, TK_STR, L->line, L->col, L->s + L->i, j + 1 - L->i) != 0)
		return VP_ERR_NOMEM;
	advance(L, j + 1 - L->i);
	return VP_OK;
}

static int
lex_number(struct lexer *L)
{
	size_t		j = L->i, k;
	enum tk		kind = TK_INT;

	while (j < L->len && is_digit(L->s[j]))
		j++;
	if (j + 1 < L->len && L->s[j] == '.' && is_digit(L->s[j + 1])) {
		kind = TK_FLOAT;
		j++;
		while (j < L->len && is_digit(L->s[j]))
			j++;
	}
	if (j < L->len && (L->s[j] == 'e' || L->s[j] == 'E')) {
		k = j + 1;
		if (k < L->len && (L->s[k] == '+' || L->s[k] == '-'))
			k++;
		if (k < L->len && is_digit(L->s[k])) {
			kind = TK_FLOAT;
			j = k;
			while (j < L->len && is_digit(L->s[j]))
				j++;
		}
	}
	if (emit(L, kind, L->line, L->col, L->s + L->i, j - L->i) != 0)
		return VP_ERR_NOMEM;
	advance(L, j - L->i);
	return VP_OK;
}

static const char *const ops2[] = { "//", "**", "==", "!=", "<=", ">=" };
static const char ops1[] = "+-*/%~<>=()[]{},.:|";

/*
 * Lex the inside of a {{ }} or {% %} tag, up to and including its closing
 * delimiter.  *dash is set when the close was preceded by '-'.
 */
static int
lex_tag(struct lexer *L, char close, int tline, int tcol, int *dash)
{
	const char	*s = L->s;
	size_t		 k;
	int		 braces = 0;
	char		 c, other = close == '}' ? '%' : '}';

	for (;;) {
		while (L->i < L->len && is_ws(s[L->i]))
			advance(L, 1);
		if (L->i >= L->len)
			return lex_fail(L, tline, tcol, close == '}' ?
			    "unclosed tag '{{' (expected '}}')" :
			    "unclosed tag '{%' (expected '%}')", NULL);
		c = s[L->i];
		if (c == '-' && L->i + 2 < L->len && s[L->i + 1] == close &&
		    s[L->i + 2] == '}') {
			*dash = 1;
			advance(L, 1);
			c = close;
		} else
			*dash = 0;
		if (c == close && L->i + 1 < L->len && s[L->i + 1] == '}') {
			if (emit(L, close == '}' ? TK_VAR_END : TK_BLOCK_END,
			    L->line, L->col, s + L->i, 2) != 0)
				return VP_ERR_NOMEM;
			advance(L, 2);
			return VP_OK;
		}
		if (c == other && braces == 0 && L->i + 1 < L->len &&
		    s[L->i + 1] == '}')
			return lex_fail(L, L->line, L->col, close == '}' ?
			    "expected '}}', got '%}'" :
			    "expected '%}', got '}}'", NULL);
		if (c == '{')
			braces++;
		else if (c == '}' && braces > 0)
			braces--;
		if (is_alpha(c)) {
			k = L->i;
			while (k < L->len && (is_alpha(s[k]) || is_digit(s[k])))
				k++;
			if (emit(L, TK_NAME, L->line, L->col, s + L->i,
			    k - L->i) != 0)
				return VP_ERR_NOMEM;
			advance(L, k - L->i);
			continue;
		}
		if (is_digit(c)) {
			if (lex_number(L) != 0)
				return VP_ERR_PARSE;
			continue;
		}
		if (c == '\'' || c == '"') {
			if (lex_string(L) != 0)
				return VP_ERR_PARSE;
			continue;
		}
		for (k = 0; k < sizeof(ops2) / sizeof(ops2[0]); k++)
			if (L->i + 1 < L->len && s[L->i] == ops2[k][0] &&
			    s[L->i + 1] == ops2[k][1])
				break;
		if (k < sizeof(ops2) / sizeof(ops2[0])) {
			if (emit(L, TK_OP, L->line, L->col, s + L->i, 2) != 0)
				return VP_ERR_NOMEM;
			advance(L, 2);
			continue;
		}
		if (c != '\0' && strchr(ops1, c) != NULL) {
			if (emit(L, TK_OP, L->line, L->col, s + L->i, 1) != 0)
				return VP_ERR_NOMEM;
			advance(L, 1);
			continue;
		}
		{
			char b[2] = { c, '\0' };

			if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
				return lex_fail(L, L->line, L->col,
				    "unexpected character in tag", NULL);
			return lex_fail(L, L->line, L->col,
			    "unexpected character '", b);
		}
	}
}

/*
 * If the block tag at L->i (just after "{%" and an optional '-') is
 * `raw`, consume through the matching `{% endraw %}` and emit its content
 * as text.  *israw tells whether it was.
 */
static int
lex_raw(struct lexer *L, int tline, int tcol, int *israw, int *dash)
{
	const char	*s = L->s;
	size_t		 j = L->i, from, k, e;
	int		 rdash, edash;

	*israw = 0;
	while (j < L->len && is_ws(s[j]))
		j++;
	if (L->len - j < 3 || memcmp(s + j, "raw", 3) != 0)
		return VP_OK;
	j += 3;
	if (j < L->len && (is_alpha(s[j]) || is_digit(s[j])))
		return VP_OK;
	while (j < L->len && is_ws(s[j]))
		j++;
	rdash = 0;
	if (j < L->len && s[j] == '-') {
		rdash = 1;
		j++;
	}
	if (L->len - j < 2 || s[j] != '%' || s[j + 1] != '}')
		return lex_fail(L, tline, tcol, "expected '%}' after 'raw'",
		    NULL);
	*israw = 1;
	from = j + 2;
	/* Find "{%" [-] ws* "endraw" ws* [-] "%}". */
	for (k = from; (k = next_tag(L, k)) < L->len; k++) {
		if (s[k + 1] != '%')
			continue;
		e = k + 2;
		edash = 0;
		if (e < L->len && s[e] == '-') {
			edash = 1;
			e++;
		}
		while (e < L->len && is_ws(s[e]))
			e++;
		if (L->len - e < 6 || memcmp(s + e, "endraw", 6) != 0)
			continue;
		e += 6;
		while (e < L->len && is_ws(s[e]))
			e++;
		*dash = 0;
		if (e < L->len && s[e] == '-') {
			*dash = 1;
			e++;
		}
		if (L->len - e < 2 || s[e] != '%' || s[e + 1] != '}')
			continue;
		if (emit_text(L, from, k, rdash, 1, edash) != 0)
			return VP_ERR_NOMEM;
		advance(L, e + 2 - L->i);
		return VP_OK;
	}
	return lex_fail(L, tline, tcol, "unclosed 'raw' block", NULL);
}

int
tmpl_lex(const char *name, const char *src, size_t len, struct tok **toks,
    size_t *ntoks, char **cause)
{
	struct lexer	 L;
	size_t		 j, c;
	int		 r = VP_OK, lstrip = 0, trimnl = 0;
	int		 rstrip, dash = 0, israw;
	int		 tline, tcol;
	char		 kind;

	memset(&L, 0, sizeof(L));
	L.name = name;
	L.s = src;
	L.len = len;
	L.line = 1;
	L.col = 1;
	L.cause = cause;

	while (L.i < L.len) {
		j = next_tag(&L, L.i);
		rstrip = j + 2 < L.len && src[j + 2] == '-';
		if ((r = emit_text(&L, L.i, j, lstrip, trimnl, rstrip)) != 0)
			goto out;
		advance(&L, j - L.i);
		if (L.i >= L.len)
			break;
		tline = L.line;
		tcol = L.col;
		kind = src[L.i + 1];
		advance(&L, rstrip ? 3 : 2);
		if (kind == '#') {
			for (c = L.i; c + 1 < L.len; c++)
				if (src[c] == '#' && src[c + 1] == '}')
					break;
			if (c + 1 >= L.len) {
				r = lex_fail(&L, tline, tcol,
				    "unclosed comment", NULL);
				goto out;
			}
			lstrip = c > L.i && src[c - 1] == '-';
			trimnl = !lstrip;
			advance(&L, c + 2 - L.i);
			continue;
		}
		if (kind == '%') {
			if ((r = lex_raw(&L, tline, tcol, &israw, &dash)) != 0)
				goto out;
			if (israw) {
				lstrip = dash;
				trimnl = !dash;
				continue;
			}
		}
		if ((r = emit(&L, kind == '{' ? TK_VAR_BEGIN : TK_BLOCK_BEGIN,
		    tline, tcol, src + j, 2)) != 0)
			goto out;
		if ((r = lex_tag(&L, kind == '{' ? '}' : '%', tline, tcol,
		    &dash)) != 0)
			goto out;
		lstrip = dash;
		trimnl = !dash && kind == '%';
	}
	r = emit(&L, TK_EOF, L.line, L.col, src + L.len, 0);
 out:
	if (r != 0) {
		free(L.toks);
		L.toks = NULL;
		L.ntoks = 0;
	}
	*toks = L.toks;
	*ntoks = L.ntoks;
	return r;
}
