/* opt.c: option tables, usage, "did you mean". */
#include <stdlib.h>
#include <string.h>

#include "core/opt.h"

int
vp_edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j;
	int	row[64], prev, tmp, best;

	if (la >= 63 || lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = (int)i;
		for (j = 1; j <= lb; j++) {
			tmp = row[j];
			best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *
vp_did_you_mean(const char *word, const char *const *cands, size_t n)
{
	const char	*best = NULL;
	int		 bd = 3, d;
	size_t		 i, wl = strlen(word);

	for (i = 0; i < n; i++) {
		d = vp_edit_distance(word, cands[i]);
		if (wl >= 3 && strncmp(cands[i], word, wl) == 0 && d > 1)
			d = 2;
		if (d < bd) {
			bd = d;
			best = cands[i];
		}
	}
	return best;
}

static const struct vp_option *
find_long(const struct vp_option *o, const char *name, size_t len)
{
	for (; o->type != VP_OPT_T_END; o++)
		if (o->lng && strlen(o->lng) == len &&
		    strncmp(o->lng, name, len) == 0)
			return o;
	return NULL;
}

static const struct vp_option *
find_short(const struct vp_option *o, int c)
{
	for (; o->type != VP_OPT_T_END; o++)
		if (o->shrt == c)
			return o;
	return NULL;
}

static int
unknown_long(const struct vp_option *opts, const char *name, size_t len,
    char **cause)
{
	const char		*cands[128], *m;
	const struct vp_option	*o;
	size_t			 n = 0;
	char			 w[64];

	snprintf(w, sizeof(w), "%.*s", (int)(len < 63 ? len : 63), name);
	for (o = opts; o->type != VP_OPT_T_END && n < 127; o++)
		if (o->lng)
			cands[n++] = o->lng;
	cands[n++] = "help";
	if ((m = vp_did_you_mean(w, cands, n)) != NULL)
		return vp_fail(cause, VP_ERR_USAGE,
		    "unknown option '--%s' (did you mean '--%s'?)", w, m);
	return vp_fail(cause, VP_ERR_USAGE, "unknown option '--%s'", w);
}

static int
set_value(const struct vp_option *o, const char *val, const char *shown,
    char **cause)
{
	char	*end;
	long	 l;

	switch (o->type) {
	case VP_OPT_T_BOOL:
		*(int *)o->value = 1;
		return VP_OK;
	case VP_OPT_T_COUNT:
		(*(int *)o->value)++;
		return VP_OK;
	case VP_OPT_T_STRING:
		*(const char **)o->value = val;
		return VP_OK;
	case VP_OPT_T_INT:
		l = strtol(val, &end, 10);
		if (*val == '\0' || *end != '\0' || l < -2147483647L ||
		    l > 2147483647L)
			return vp_fail(cause, VP_ERR_USAGE,
			    "option '%s' expects an integer, not '%s'", shown,
			    val);
		*(int *)o->value = (int)l;
		return VP_OK;
	case VP_OPT_T_LIST:
		return vp_argv_push((struct vp_argv *)o->value, val);
	case VP_OPT_T_END:
		break;
	}
	return VP_ERR_USAGE;
}

static int
takes_arg(const struct vp_option *o)
{
	return o->type == VP_OPT_T_STRING || o->type == VP_OPT_T_INT ||
	    o->type == VP_OPT_T_LIST;
}

int
vp_opt_parse(int argc, char **argv, const struct vp_option *opts,
    char ***posp, int *nposp, char **cause)
{
	const struct vp_option	*o;
	char			**pos, shown[80];
	const char		*a, *eq, *val;
	int			 i, j, npos = 0, r = VP_OK, only_pos = 0;

	if ((pos = calloc((size_t)argc + 1, sizeof(*pos))) == NULL)
		return vp_fail(cause, VP_ERR_NOMEM, "out of memory");
	for (i = 1; i < argc && r == VP_OK; i++) {
		a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			pos[npos++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			r = VP_OPT_HELP;
			break;
		}
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			o = find_long(opts, a + 2,
			    eq ? (size_t)(eq - a - 2) : strlen(a + 2));
			if (o == NULL) {
				r = unknown_long(opts, a + 2,
				    eq ? (size_t)(eq - a - 2) : strlen(a + 2),
				    cause);
				break;
			}
			snprintf(shown, sizeof(shown), "--%s", o->lng);
			if (!takes_arg(o) && eq != NULL) {
				r = vp_fail(cause, VP_ERR_USAGE,
				    "option '%s' takes no value", shown);
				break;
			}
			val = eq ? eq + 1 : NULL;
			if (takes_arg(o) && val == NULL) {
				if (i + 1 >= argc) {
					r = vp_fail(cause, VP_ERR_USAGE,
					    "option '%s' requires a value",
					    shown);
					break;
				}
				val = argv[++i];
			}
			r = set_value(o, val, shown, cause);
			continue;
		}
		for (j = 1; a[j] != '\0' && r == VP_OK; j++) {
			if ((o = find_short(opts, a[j])) == NULL) {
				r = vp_fail(cause, VP_ERR_USAGE,
				    "unknown option '-%c'", a[j]);
				break;
			}
			snprintf(shown, sizeof(shown), "-%c", a[j]);
			if (!takes_arg(o)) {
				r = set_value(o, NULL, shown, cause);
				continue;
			}
			if (a[j + 1] != '\0')
				val = a + j + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				r = vp_fail(cause, VP_ERR_USAGE,
				    "option '%s' requires a value", shown);
				break;
			}
			r = set_value(o, val, shown, cause);
			break;
		}
	}
	if (r != VP_OK) {
		free(pos);
		return r;
	}
	*posp = pos;
	*nposp = npos;
	return VP_OK;
}

void
vp_opt_usage(FILE *f, const struct vp_option *o)
{
	char	left[96];

	for (; o->type != VP_OPT_T_END; o++) {
		if (o->shrt && o->lng)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->shrt,
			    o->lng, o->argname ? " " : "",
			    o->argname ? o->argname : "");
		else if (o->lng)
			snprintf(left, sizeof(left), "    --%s%s%s", o->lng,
			    o->argname ? " " : "",
			    o->argname ? o->argname : "");
		else
			snprintf(left, sizeof(left), "-%c%s%s", o->shrt,
			    o->argname ? " " : "",
			    o->argname ? o->argname : "");
		if (strlen(left) > 28)
			fprintf(f, "  %s\n  %-28s %s\n", left, "", o->help);
		else
			fprintf(f, "  %-28s %s\n", left, o->help);
	}
	fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
}
