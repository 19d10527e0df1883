/*
 * main.c: the command table and shared setup, nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/opt.h"

#ifndef VPAI_DATADIR
#define VPAI_DATADIR "/usr/share/vpai/stack"
#endif
#define VPAI_VERSION "0.1.0"

extern const struct vp_cmd vp_cmd_version;
extern const struct vp_cmd vp_cmd_help;
extern const struct vp_cmd vp_cmd_init;
extern const struct vp_cmd vp_cmd_render;
extern const struct vp_cmd vp_cmd_check;
extern const struct vp_cmd vp_cmd_vault;
extern const struct vp_cmd vp_cmd_host;
extern const struct vp_cmd vp_cmd_plan;
extern const struct vp_cmd vp_cmd_converge;
extern const struct vp_cmd vp_cmd_apply;
extern const struct vp_cmd vp_cmd_status;
extern const struct vp_cmd vp_cmd_smoke;
extern const struct vp_cmd vp_cmd_releases;
extern const struct vp_cmd vp_cmd_rollback;
extern const struct vp_cmd vp_cmd_rotate_secrets;
extern const struct vp_cmd vp_cmd_backup;
extern const struct vp_cmd vp_cmd_restore;

static const struct vp_cmd *const cmd_table[] = {
	&vp_cmd_help,
	&vp_cmd_init,
	&vp_cmd_render,
	&vp_cmd_check,
	&vp_cmd_vault,
	&vp_cmd_host,
	&vp_cmd_plan,
	&vp_cmd_converge,
	&vp_cmd_apply,
	&vp_cmd_status,
	&vp_cmd_smoke,
	&vp_cmd_releases,
	&vp_cmd_rollback,
	&vp_cmd_rotate_secrets,
	&vp_cmd_backup,
	&vp_cmd_restore,
	&vp_cmd_version,
	NULL
};

static const char *const main_usage =
    "usage: vpai [-C DIR] [--site FILE] [-v|-q] <command> [<args>]\n";

int
vp_cmd_error(const char *cmd, int r, char *cause)
{
	fprintf(stderr, "vpai %s: %s\n", cmd, cause ? cause : vp_strerror(r));
	free(cause);
	return r;
}

void
vp_cmd_usage(FILE *f, const struct vp_cmd *c, const void *opts)
{
	fprintf(f, "usage: vpai %s\n\n%s\n", c->usage, c->summary);
	if (c->help != NULL)
		fprintf(f, "\n%s", c->help);
	if (opts != NULL) {
		fprintf(f, "\noptions:\n");
		vp_opt_usage(f, opts);
	}
}

int
vp_cmd_parse(const struct vp_cmd *c, int argc, char **argv,
    const struct vp_option *opts, int maxpos, char ***pos, int *npos)
{
	char	*cause = NULL;
	int	 r;

	*pos = NULL;
	*npos = 0;
	r = vp_opt_parse(argc, argv, opts, pos, npos, &cause);
	if (r == VP_OPT_HELP) {
		vp_cmd_usage(stdout, c, opts);
		return VP_OPT_HELP;
	}
	if (r == VP_OK && *npos > maxpos) {
		r = vp_fail(&cause, VP_ERR_USAGE, "unexpected argument '%s'",
		    (*pos)[maxpos]);
		free(*pos);
		*pos = NULL;
		*npos = 0;
	}
	if (r != VP_OK) {
		vp_cmd_error(c->name, r, cause);
		vp_cmd_usage(stderr, c, opts);
	}
	return r;
}

const struct vp_cmd *
vp_cmd_find(const char *name)
{
	const struct vp_cmd	*const *c, *hit = NULL;
	size_t			 len = strlen(name);
	int			 n = 0;

	for (c = cmd_table; *c != NULL; c++) {
		if (strcmp((*c)->name, name) == 0)
			return *c;
		if (strncmp((*c)->name, name, len) == 0) {
			hit = *c;
			n++;
		}
	}
	return n == 1 ? hit : NULL;
}

static void
list_commands(FILE *f)
{
	const struct vp_cmd *const *c;

	fprintf(f, "%s\ncommands:\n", main_usage);
	for (c = cmd_table; *c != NULL; c++)
		fprintf(f, "  %-16s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "\nRun 'vpai <command> --help' for a command's options.\n"
	    "Exit codes: docs/EXIT-CODES.md.\n");
}

static int
help_run(struct vp_ctx *ctx, int argc, char **argv)
{
	const struct vp_cmd *c;

	(void)ctx;
	if (argc < 2) {
		list_commands(stdout);
		return VP_OK;
	}
	if ((c = vp_cmd_find(argv[1])) == NULL) {
		fprintf(stderr, "vpai help: no command '%s'\n", argv[1]);
		return VP_ERR_USAGE;
	}
	{
		char *args[] = { (char *)c->name, (char *)"--help", NULL };

		return c->run(ctx, 2, args);
	}
}

const struct vp_cmd vp_cmd_help = {
	"help", "list commands, or show one command's help", "help [COMMAND]",
	NULL, help_run
};

static int
version_run(struct vp_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	printf("vpai %s\nstack data: %s\n", VPAI_VERSION, ctx->stack_dir);
	return VP_OK;
}

const struct vp_cmd vp_cmd_version = {
	"version", "print the version and where the stack data is",
	"version", NULL, version_run
};

static int
ambiguous(const char *name)
{
	const struct vp_cmd	*const *c, *cands[32];
	const char		*names[32], *m;
	size_t			 n = 0, len = strlen(name);

	for (c = cmd_table; *c != NULL && n < 32; c++)
		names[n++] = (*c)->name;
	n = 0;
	for (c = cmd_table; *c != NULL && n < 32; c++)
		if (strncmp((*c)->name, name, len) == 0)
			cands[n++] = *c;
	if (n > 1) {
		fprintf(stderr, "vpai: '%s' is ambiguous:", name);
		while (n-- > 0)
			fprintf(stderr, " %s", cands[n]->name);
		fputc('\n', stderr);
		return VP_ERR_USAGE;
	}
	for (n = 0, c = cmd_table; *c != NULL; c++)
		n++;
	m = vp_did_you_mean(name, names, n);
	fprintf(stderr, "vpai: '%s' is not a command%s%s%s\n", name,
	    m ? " (did you mean '" : "", m ? m : "", m ? "'?)" : "");
	return VP_ERR_USAGE;
}

int
main(int argc, char **argv)
{
	struct vp_ctx		 ctx = { ".", NULL, NULL, 0, 0, 0 };
	const struct vp_cmd	*c;
	const char		*env;
	int			 i, r;

	ctx.stack_dir = (env = getenv("VPAI_STACK_DIR")) && *env ? env :
	    VPAI_DATADIR;
	ctx.color = isatty(2) && getenv("NO_COLOR") == NULL;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-C") == 0 && i + 1 < argc)
			ctx.site_dir = argv[++i];
		else if (strcmp(argv[i], "--site") == 0 && i + 1 < argc)
			ctx.site_file = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			ctx.verbose++;
		else if (strcmp(argv[i], "-q") == 0)
			ctx.quiet = 1;
		else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			list_commands(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("vpai %s\n", VPAI_VERSION);
			return 0;
		} else {
			fprintf(stderr, "vpai: unknown option '%s'\n%s",
			    argv[i], main_usage);
			return vp_exit_code(VP_ERR_USAGE);
		}
	}
	if (i >= argc) {
		list_commands(stderr);
		return vp_exit_code(VP_ERR_USAGE);
	}
	if ((c = vp_cmd_find(argv[i])) == NULL)
		return vp_exit_code(ambiguous(argv[i]));
	r = c->run(&ctx, argc - i, argv + i);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vpai: write failure on standard output\n");
		r = VP_ERR_IO;
	}
	return vp_exit_code(r);
}
