/*
 * cmd.h: the command table entry and the shared context.
 *
 * One file per subcommand (src/cmd/cmd-<name>.c) defines one
 * `const struct vp_cmd vp_cmd_<name>` and lists it in main.c's table.
 * Only code under src/cmd/ and main.c prints to the terminal.
 */
#ifndef VP_CMD_H
#define VP_CMD_H

#include <stdio.h>

#include "core/err.h"
#include "core/opt.h"

struct vp_ctx {
	const char	*site_dir;	/* -C DIR, default "." */
	const char	*site_file;	/* --site FILE, default DIR/vpai.yml */
	const char	*stack_dir;	/* stack data: $VPAI_STACK_DIR or built-in */
	int		 verbose;
	int		 quiet;
	int		 color;		/* stderr is a tty and NO_COLOR unset */
};

struct vp_cmd {
	const char	*name;
	const char	*summary;	/* one line for `vpai help` */
	const char	*usage;		/* "render [-o DIR] [--env ENV]" */
	const char	*help;		/* longer text after usage, or NULL */
	int		(*run)(struct vp_ctx *, int argc, char **argv);
};

/*
 * Report an error the standard way: "vpai <cmd>: <cause or strerror>".
 * Frees cause.  Returns r.
 */
int	vp_cmd_error(const char *cmd, int r, char *cause);

/* Print usage + options for a command (for --help and usage errors). */
void	vp_cmd_usage(FILE *, const struct vp_cmd *, const void *opts);

/*
 * Parse a command's options the standard way.  Returns VP_OPT_HELP after
 * printing the help to stdout (the caller then returns VP_OK); VP_OK with
 * the positional arguments in *pos (free the array, not its strings); or
 * an error that is already reported, with the usage, on stderr.  More than
 * maxpos positional arguments is a usage error.
 */
int	vp_cmd_parse(const struct vp_cmd *, int argc, char **argv,
	    const struct vp_option *opts, int maxpos, char ***pos, int *npos);

/* Look up a command by exact name or unique prefix; NULL if none. */
const struct vp_cmd *vp_cmd_find(const char *name);

#endif
