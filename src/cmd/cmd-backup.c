/*
 * cmd-backup.c: `vpai backup`: every artifact produced and verified on
 * its own, a manifest, the restic off-site copy, the heartbeat.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backup/backup.h"
#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "core/opt.h"
#include "site/site.h"

extern const struct vp_cmd vp_cmd_backup;

static void
progress(void *arg, const char *art, const char *msg)
{
	const struct vp_ctx	*ctx = arg;

	if (!ctx->quiet)
		fprintf(stderr, "backup: %-16s %s\n", art, msg);
}

static int
backup_cmd(struct vp_ctx *ctx, int argc, char **argv)
{
	struct vp_pipeline	 p = VP_PIPELINE_INIT;
	struct vp_pipeline_opts	 po;
	struct backup_opts	 o = BACKUP_OPTS_INIT;
	struct backup_report	 rep = BACKUP_REPORT_INIT;
	const char		*sfile = NULL, *pwfile = NULL, *onlys = NULL;
	const char		*ropt = NULL;
	const char		*repo = NULL, *dir = NULL, *hb;
	const json_t		*vars;
	char			**pos = NULL, *cause = NULL, **only = NULL;
	size_t			 nonly = 0, i;
	int			 npos = 0, r, hot = 0, json = 0;
	const struct vp_option	 opts[] = {
		VP_OPT_STRING(0, "only", &onlys, "ARTIFACT[,..]",
		    "pg, pg:n8n, pg:litellm, pg:openclaw, redis, qdrant, n8n, "
		    "n8n:workflow, n8n:credentials, grafana, configs"),
		VP_OPT_STRING(0, "dir", &dir, "DIR",
		    "backup directory (default: <stack_root>/backups)"),
		VP_OPT_STRING(0, "restic", &repo, "REPO",
		    "restic repository for the off-site copy (else "
		    "$RESTIC_REPOSITORY; none: no copy)"),
		VP_OPT_INT(0, "hot-days", &hot, "N",
		    "local sets kept (days, default 3)"),
		VP_OPT_BOOL(0, "json", &json, "print the manifest"),
		VP_OPT_STRING(0, "restic-option", &ropt, "K=V",
		    "a restic -o option (e.g. sftp.command=...)"),
		VP_OPT_STRING(0, "secrets", &sfile, "FILE",
		    "plain secrets YAML instead of the vault (tests)"),
		VP_OPT_STRING(0, "vault-password-file", &pwfile, "FILE",
		    "vault password file"),
		VP_OPT_END()
	};

	r = vp_cmd_parse(&vp_cmd_backup, argc, argv, opts, 0, &pos, &npos);
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
	o.backup_dir = dir;
	o.secrets = p.secrets;
	o.restic_repo = repo ? repo : getenv("RESTIC_REPOSITORY");
	o.restic_option = ropt;
	/*
	 * The push URL carries a token: environment or vault, not argv;
	 * the site key backup_heartbeat_url is still read when the vault's
	 * backup_heartbeat_push_url is empty.
	 */
	hb = getenv("VPAI_HEARTBEAT_URL");
	if (hb == NULL || *hb == '\0')
		hb = json_string_value(json_object_get(p.secrets,
		    "backup_heartbeat_push_url"));
	if (hb == NULL || *hb == '\0')
		hb = json_string_value(json_object_get(vars,
		    "backup_heartbeat_url"));
	o.heartbeat_url = hb != NULL && *hb != '\0' ? hb : NULL;
	o.only = only;
	o.nonly = nonly;
	o.hot_days = hot;
	o.progress = progress;
	o.arg = ctx;
	if ((r = backup_run(&o, &rep, &cause)) != 0)
		goto out;
	if (json) {
		json_t	*m = backup_manifest(&rep, NULL);

		json_dumpf(m, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(m);
	}
	printf("backup %s: %zu artifacts, %zu failed, %.1f s\n", rep.dir,
	    rep.n, rep.nfailed, rep.elapsed);
	for (i = 0; i < rep.n; i++)
		printf("  %-16s %s\n", rep.v[i].name, rep.v[i].ok ?
		    (rep.v[i].verified ? rep.v[i].verified : "ok") :
		    rep.v[i].error);
	if (rep.restic_snapshot != NULL)
		printf("restic snapshot %s (GFS forget applied)\n",
		    rep.restic_snapshot);
	if (rep.pruned > 0)
		printf("hot retention: %d old sets removed\n", rep.pruned);
	if (o.heartbeat_url != NULL)
		printf("heartbeat: %s\n", rep.heartbeat == 1 ? "pinged" :
		    rep.heartbeat == -1 ? "ping failed" : "not pinged");
	if (rep.nfailed > 0 || rep.restic_error != NULL) {
		struct vp_buf	 b = VP_BUF_INIT(1 << 16);

		for (i = 0; i < rep.n; i++)
			if (!rep.v[i].ok)
				vp_buf_addf(&b, "%s%s", b.len ? ", " : "",
				    rep.v[i].name);
		if (rep.restic_error != NULL)
			vp_buf_addf(&b, "%srestic (%s)", b.len ? ", " : "",
			    rep.restic_error);
		r = vp_fail(&cause, VP_ERR_CHILD, "failed artifacts: %s",
		    b.buf);
		vp_buf_release(&b);
	}
 out:
	if (r != 0)
		vp_cmd_error("backup", r, cause);
	backup_report_release(&rep);
	backup_strv_free(only, nonly);
	vp_pipeline_release(&p);
	return r;
}

const struct vp_cmd vp_cmd_backup = {
	"backup",
	"produce, verify and copy off-site every backup artifact",
	"backup [--only ARTIFACT,..] [--restic REPO] [--dir DIR] [--json]",
	"Each artifact (pg_dump per database, Redis RDB, Qdrant snapshot, n8n\n"
	"workflows and encrypted credentials, Grafana dashboards, configs) is\n"
	"produced and verified on its own; a failure never stops the others.\n"
	"Exit status is non-zero naming every failed artifact; the heartbeat\n"
	"($VPAI_HEARTBEAT_URL, else the vault's backup_heartbeat_push_url,\n"
	"else the site's backup_heartbeat_url) is pinged\n"
	"only when all passed.  See docs/BACKUP.md.\n",
	backup_cmd,
};
