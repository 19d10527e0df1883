/*
 * releases.h: the release hook shared by `vpai apply` (cmd-releases.c).
 */
#ifndef VP_CMD_RELEASES_H
#define VP_CMD_RELEASES_H

#include "cmd/cmd.h"
#include "cmd/pipeline.h"

/*
 * After a successful apply: record a release of p's bundle deployed as
 * project on root (deploy/release.h) and say its id unless quiet.  The
 * vault hashed is secrets_file when given, else <site_dir>/secrets.vault.
 */
int	vp_release_after_apply(const struct vp_ctx *, const char *root,
	    const char *project, const struct vp_pipeline *p,
	    const char *secrets_file, char **cause);

#endif
