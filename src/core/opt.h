/*
 * opt.h: declarative per-command option tables (as git's parse-options).
 *
 *	int dry = 0; const char *env = "prod"; struct vp_argv sets = VP_ARGV_INIT;
 *	const struct vp_option opts[] = {
 *		VP_OPT_BOOL('n', "dry-run", &dry, "show the plan, change nothing"),
 *		VP_OPT_STRING('e', "env", &env, "ENV", "prod or preprod"),
 *		VP_OPT_LIST(0, "set", &sets, "K=V", "set a site key (repeatable)"),
 *		VP_OPT_END()
 *	};
 *	r = vp_opt_parse(argc, argv, opts, &pos, &npos, &cause);
 *
 * `--help`/`-h` is always accepted and returns VP_OPT_HELP.  Unknown
 * options are VP_ERR_USAGE with a "did you mean" when one is close.
 * `--` ends option parsing.  Positional arguments are collected in order.
 */
#ifndef VP_OPT_H
#define VP_OPT_H

#include <stdio.h>

#include "core/child.h"

enum vp_opt_type { VP_OPT_T_END, VP_OPT_T_BOOL, VP_OPT_T_COUNT,
	VP_OPT_T_STRING, VP_OPT_T_INT, VP_OPT_T_LIST };

struct vp_option {
	enum vp_opt_type	 type;
	int			 shrt;
	const char		*lng;
	void			*value;
	const char		*argname;
	const char		*help;
};

#define VP_OPT_BOOL(s, l, v, h)		{ VP_OPT_T_BOOL, s, l, v, NULL, h }
#define VP_OPT_COUNT(s, l, v, h)	{ VP_OPT_T_COUNT, s, l, v, NULL, h }
#define VP_OPT_STRING(s, l, v, a, h)	{ VP_OPT_T_STRING, s, l, v, a, h }
#define VP_OPT_INT(s, l, v, a, h)	{ VP_OPT_T_INT, s, l, v, a, h }
#define VP_OPT_LIST(s, l, v, a, h)	{ VP_OPT_T_LIST, s, l, v, a, h }
#define VP_OPT_END()			{ VP_OPT_T_END, 0, NULL, NULL, NULL, NULL }

#define VP_OPT_HELP	1

/*
 * Parse argv[1..argc-1].  Positional arguments are stored in pos (borrowed
 * pointers into argv, NULL-terminated, caller frees the array only).
 */
int	vp_opt_parse(int argc, char **argv, const struct vp_option *opts,
	    char ***pos, int *npos, char **cause);

/* Print the option table, aligned, for --help. */
void	vp_opt_usage(FILE *, const struct vp_option *);

/* Levenshtein distance, capped; used for "did you mean" everywhere. */
int	vp_edit_distance(const char *a, const char *b);

/* Return the candidate closest to word (distance <= 2 or prefix), or NULL. */
const char *vp_did_you_mean(const char *word, const char *const *cands,
	    size_t n);

#endif
