/*
 * cmd-restore.c: `vpai restore`: put a verified backup set back, with a
 * safety backup first and the services health-gated after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "backup/backup.h"
#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/opt.h"
#include "site/site.h"

extern const struct vp_cmd vp_cmd_restore;

struct rctx {
	const struct vp_ctx	*ctx;
	int			 yes;
};

static void
progress(void *arg, const char *art, const char *msg)
{
	const struct rctx	*c = arg;

	if (!c->ctx->quiet)
		fprintf(stderr, "restore: %-16s %s\n", art, msg);
}

static int
confirm(void *arg, const char *plan)
{
	const struct rctx	*c = arg;
	char			 line[64];

	printf("%s", plan);
	if (c->yes)
		return 1;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "vpai restore: stdin is not a terminal: "
		    "confirm with --yes\n");
		return 0;
	}
	printf("A safety backup of the current state is taken first.\n"
	    "Replace the data above? Type 'yes' to go on: ");
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return strcmp(line, "yes\n") == 0;
}

static int
restore_cmd(struct vp_ctx *ctx, int argc, char **argv)
{
	struct vp_pipeline	 p = VP_PIPELINE_INIT;
	struct vp_pipeline_opts	 po;
	struct restore_opts	 o = RESTORE_OPTS_INIT;
	struct rctx		 rc;
	const char		*sfile = NULL, *pwfile = NULL, *onlys = NULL;
	const char		*ropt = NULL;
	const char		*repo = NULL, *dir = NULL, *from = NULL;
	const json_t		*vars;
	char			**pos = NULL, *cause = NULL, **only = NULL;
	char			*safety = NULL;
	size_t			 nonly = 0;
	int			 npos = 0, r, yes = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING(0, "from", &from, "DIR|SNAPSHOT",
		    "a backup set directory, or a restic snapshot id or "
		    "'latest' (default: the newest local set)"),
		VP_OPT_STRING(0, "only", &onlys, "ARTIFACT[,..]",
		    "pg, pg:n8n, pg:litellm, pg:openclaw, redis, n8n, "
		    "n8n:workflow, n8n:credentials, configs"),
		VP_OPT_BOOL('y', "yes", &yes, "do not ask for confirmation"),
		VP_OPT_STRING(0, "dir", &dir, "DIR",
		    "backup directory (default: <stack_root>/backups)"),
		VP_OPT_STRING(0, "restic", &repo, "REPO",
		    "restic repository (else $RESTIC_REPOSITORY)"),
		VP_OPT_STRING(0, "restic-option", &ropt, "K=V",
		    "a restic -o option (e.g. sftp.command=...)"),
		VP_OPT_STRING(0, "secrets", &sfile, "FILE",
		    "plain secrets YAML instead of the vault (tests)"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "vault password file"),
		VP_OPT_END()
	};

	r = vp_cmd_parse(&vp_cmd_restore, argc, argv, opts, 0, &pos, &npos);
	free(pos);
	if (r != VP_OK)
		return r == VP_OPT_HELP ? VP_OK : r;
	memset(&po, 0, sizeof(po));
	po.secrets_file = sfile;
	po.vault_password_file = pwfile;
	po.no_render = 1;
	if (onlys != NULL && (r = backup_split(onlys, &only, &nonly)) != 0)
		goto out;
	if ((r = vp_pipeline_load(ctx, &po, &p, &cause)) != 0)
		goto out;
	vars = site_vars(p.site);
	o.project = json_string_value(json_object_get(vars, "project_name"));
	o.stack_root = json_string_value(json_object_get(vars, "stack_root"));
	if (o.project == NULL || o.stack_root == NULL) {
		r = vp_fail(&cause, VP_ERR_INVALID, "site: project_name and "
		    "stack_root are required");
		goto out;
	}
	rc.ctx = ctx;
	rc.yes = yes;
	o.backup_dir = dir;
	o.from = from;
	o.restic_repo = repo ? repo : getenv("RESTIC_REPOSITORY");
	o.restic_option = ropt;
	o.secrets = p.secrets;
	o.only = only;
	o.nonly = nonly;
	o.progress = progress;
	o.confirm = confirm;
	o.arg = &rc;
	if ((r = restore_run(&o, &safety, &cause)) != 0)
		goto out;
	printf("restored; the state before the restore is kept in %s\n",
	    safety);
 out:
	if (r != 0)
		vp_cmd_error("restore", r, cause);
	free(safety);
	backup_strv_free(only, nonly);
	vp_pipeline_release(&p);
	return r;
}

const struct vp_cmd vp_cmd_restore = {
	"restore",
	"restore a verified backup set (local or restic), safety backup first",
	"restore [--from DIR|SNAPSHOT] [--only ARTIFACT,..] [--yes]",
	"Shows what will be replaced and asks for confirmation (--yes for\n"
	"scripts), takes a safety backup of the current state, stops the\n"
	"services that use the data, restores, then starts and health-gates\n"
	"them.  n8n exports, Qdrant collections (snapshot upload) and Grafana\n"
	"dashboards (dashboard import) go back through the running services'\n"
	"APIs, each checked after.  A failure midway names the safety set that\n"
	"puts the previous state back.  See docs/BACKUP.md.\n",
	restore_cmd,
};
