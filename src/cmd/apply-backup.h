/*
 * apply-backup.h: what `vpai apply` does for backups before it deploys
 * (src/cmd/apply-backup.c, docs/BACKUP.md):
 *	- installs the daily backup cron job of the site
 *	  (<cron dir>/<project>-backup, cron dir $VPAI_CRON_DIR or
 *	  /etc/cron.d), rewritten only when its content changes;
 *	- takes the pre-update backup of the data of every stateful service
 *	  whose image changes, before any container is recreated, and leaves
 *	  it pending for the release that the apply records.
 */
#ifndef VP_CMD_APPLY_BACKUP_H
#define VP_CMD_APPLY_BACKUP_H

#include "cmd/cmd.h"
#include "cmd/pipeline.h"
#include "deploy/deploy.h"

struct vp_apply_backup {
	const struct vp_pipeline	*p;	/* NULL: --compose, nothing done */
	const struct deploy_opts	*o;	/* project, compose, only */
	const char			*root;	/* the stack root */
	const char			*vault_pw_file;	/* --vault-password-file */
	const char			*secrets_file;	/* --secrets (tests) */
	int				 no_backup;	/* --no-backup */
};

/*
 * Returns non-zero only when the pre-update backup failed (nothing has
 * been changed then); a cron file that cannot be written is a warning.
 * Nothing is done when docker runs on another host (vp_child_is_remote:
 * there the host role backup-config installs the cron).  Prints its
 * progress unless ctx->quiet.
 */
int	vp_apply_backup(const struct vp_ctx *, const struct vp_apply_backup *,
	    char **cause);

#endif
