/*
 * cmd-init.c: `vpai init`, write a new site file (vpai.yml).
 *
 * Only --non-interactive exists for now: every key takes its schema
 * default unless set with --set KEY=VALUE.  The interactive wizard comes
 * later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/file.h"
#include "core/opt.h"
#include "site/site.h"

extern const struct vp_cmd vp_cmd_init;

static int
init_run(struct vp_ctx *ctx, int argc, char **argv)
{
	struct vp_argv	 sets = VP_ARGV_INIT;
	const char	*output = NULL;
	char		**pos = NULL, *cause = NULL, *path = NULL,
			*schema = NULL;
	int		 nonint = 0, force = 0, npos = 0, r;
	const struct vp_option opts[] = {
		VP_OPT_BOOL(0, "non-interactive", &nonint,
		    "take defaults and --set values, ask nothing"),
		VP_OPT_LIST(0, "set", &sets, "KEY=VALUE",
		    "set a site key (repeatable)"),
		VP_OPT_BOOL('f', "force", &force,
		    "overwrite an existing site file"),
		VP_OPT_STRING('o', "output", &output, "FILE",
		    "write FILE (default: the site file, DIR/vpai.yml)"),
		VP_OPT_END()
	};

	r = vp_opt_parse(argc, argv, opts, &pos, &npos, &cause);
	if (r == VP_OPT_HELP) {
		vp_cmd_usage(stdout, &vp_cmd_init, opts);
		r = VP_OK;
		goto out;
	}
	if (r != VP_OK) {
		r = vp_cmd_error("init", r, cause);
		cause = NULL;
		vp_cmd_usage(stderr, &vp_cmd_init, opts);
		goto out;
	}
	if (npos > 0) {
		fprintf(stderr, "vpai init: unexpected argument '%s'\n",
		    pos[0]);
		vp_cmd_usage(stderr, &vp_cmd_init, opts);
		r = VP_ERR_USAGE;
		goto out;
	}
	if (!nonint) {
		fprintf(stderr, "vpai init: the interactive wizard is not "
		    "available yet; use --non-interactive [--set KEY=VALUE "
		    "...]\n");
		vp_cmd_usage(stderr, &vp_cmd_init, opts);
		r = VP_ERR_USAGE;
		goto out;
	}
	if (output == NULL)
		output = ctx->site_file;
	if (output == NULL) {
		if ((path = vp_path_join(ctx->site_dir, "vpai.yml")) == NULL) {
			r = vp_cmd_error("init", VP_ERR_NOMEM, NULL);
			goto out;
		}
		output = path;
	}
	if ((schema = vp_path_join(ctx->stack_dir, "site-schema.yml")) ==
	    NULL) {
		r = vp_cmd_error("init", VP_ERR_NOMEM, NULL);
		goto out;
	}
	r = site_init_write(output, schema, sets.v, sets.n, force, &cause);
	if (r == VP_ERR_EXISTS) {
		fprintf(stderr, "vpai init: %s (use --force to overwrite)\n",
		    cause);
		goto out;
	}
	if (r != VP_OK) {
		r = vp_cmd_error("init", r, cause);
		cause = NULL;
		goto out;
	}
	if (!ctx->quiet)
		printf("wrote %s\n", output);
 out:
	free(cause);
	free(path);
	free(schema);
	free(pos);
	vp_argv_release(&sets);
	return r;
}

const struct vp_cmd vp_cmd_init = {
	"init", "write a new site file (vpai.yml)",
	"init --non-interactive [--set KEY=VALUE ...] [--force] [-o FILE]",
	"Writes every site key, grouped and commented, with the schema\n"
	"defaults and the --set values (validated as on load).  The default\n"
	"site deploys on this machine as vpai.localhost with Caddy's internal\n"
	"CA; for a VPS set at least target=ssh, domain_name, prod_ip and\n"
	"caddy_tls=acme.  Refuses to overwrite an existing file without\n"
	"--force.\n",
	init_run
};
