/*
 * prune.h: bundle files of an earlier apply that the stack no longer has.
 *
 * A full local apply records every bundle file it manages, with its
 * SHA-256, in <stack_root>/.vpai-bundle.json (0600).  The next full apply
 * compares that record with the new bundle: a recorded file the bundle no
 * longer has (the configs of a service switched off) is stale.  A stale
 * file still holding the recorded bytes is removed (and its directory when
 * that leaves it empty); one edited since (other bytes) is kept and named,
 * so nothing the operator wrote is ever deleted; nothing that vpai did not
 * record is ever looked at.
 *
 *	struct deploy_stale st = DEPLOY_STALE_INIT;
 *	deploy_stale_find(b, root, &st, &cause);     before bundle_write
 *	bundle_write(b, root, ...);
 *	deploy_stale_remove(root, &st, &cause);      after the files are in place
 *	deploy_bundle_record(b, root, &cause);
 *	deploy_stale_release(&st);
 */
#ifndef VP_DEPLOY_PRUNE_H
#define VP_DEPLOY_PRUNE_H

#include <stddef.h>

#include "core/child.h"
#include "stack/stack.h"

#define DEPLOY_BUNDLE_RECORD	".vpai-bundle.json"

struct deploy_stale {
	struct vp_argv	remove;		/* relative paths still as recorded */
	struct vp_argv	edited;		/* relative paths changed since: kept */
	size_t		nremoved;	/* set by deploy_stale_remove() */
};
#define DEPLOY_STALE_INIT	{ VP_ARGV_INIT, VP_ARGV_INIT, 0 }

/* Fill st from the record in root (none: nothing stale). */
int	deploy_stale_find(const struct bundle *, const char *root,
	    struct deploy_stale *st, char **cause);
/* Unlink st->remove (a file already gone is fine), then empty parents. */
int	deploy_stale_remove(const char *root, struct deploy_stale *st,
	    char **cause);
/* Write the record of b's files (atomic, 0600, only when it changed). */
int	deploy_bundle_record(const struct bundle *, const char *root,
	    char **cause);
void	deploy_stale_release(struct deploy_stale *);

#endif
